"""Run trial.js in Debian's Chromium through Playwright, over real servers, and report `Outcome`s.

Owns: finding a Chromium, launching it with the flags that work on a closed loopback-only machine,
one browser context per scenario (cache isolation), opaque-origin pages, console capture, timings.
Must not: route or intercept requests (Playwright's interception adds CORS headers by itself), serve
anything (the lab servers or a test's own servers do), or decide what *should* happen (cors_lab.spec).

Measured here (Chromium 156.0.8078.108 from Debian, Playwright 1.65.2, 2 cores shared with other jobs,
load average 2-7; 24 scenarios = 12 operations x {same-origin, cross-origin}):
- Start-up: Playwright driver 290-505 ms + Chromium launch 175-390 ms (``startup`` splits them).
- Fresh browser context per scenario: median 200 ms (270-390 ms under heavier load). Of that, the new
  page is ~115 ms (a renderer process is spawned; a new page in a *shared* context costs the same),
  new_context ~30 ms, navigation ~40 ms, injecting trial.js ~10-15 ms, the trial ~15 ms.
- One shared document (``fresh_context=False``): median 4-7 ms per scenario; in the page, ~0.5-1.5 ms
  per trial (the first trial in a document ~10-15 ms, texImage2D ~7-10 ms).
- Opaque-origin page (sandboxed srcdoc iframe, postMessage): fresh median ~215 ms, shared ~5 ms.
- WebGL works headless with the RECIPES flags alone, ``--disable-gpu`` included: the GPU process runs
  ``--use-angle=swiftshader-webgl`` and WEBGL_debug_renderer_info reports "ANGLE (Google, Vulkan 1.3.0
  (SwiftShader Device (Subzero) ...), SwiftShader driver)". It still works with Playwright's own
  ``--enable-unsafe-swiftshader`` removed; we pass that flag anyway (Playwright does too) so other
  Chromium builds do not fall back to "no WebGL". ``ChromiumHarness.webgl_renderer()`` reports it.
- Third-party (cross-site) cookies are blocked by default, in Playwright's contexts *and* in a fresh
  persistent profile. Only a persistent profile whose Preferences say ``profile.cookie_controls_mode: 0``
  sent a ``SameSite=None; Secure`` cookie cross-site (``third_party_cookies=True`` uses one; CDP's
  ``Network.setCookieControls`` did not change it).
- Playwright starts Chromium with ``--disable-features=...,ThirdPartyStoragePartitioning,...``. That is
  why a cross-site iframe's ``localStorage`` throws SecurityError under Playwright; with that feature
  left on (a normal Chrome), the same iframe got a working, partitioned ``localStorage``. Third-party
  *storage* results from this harness do not carry over to a learner's browser; cookie results do.
- Chromium's CORS explanation ("... has been blocked by CORS policy: No 'Access-Control-Allow-Origin'
  header is present ...") reaches Playwright only as a console message, before ``evaluate`` returns.
See https://playwright.dev/python/docs/api/class-browsertype#browser-type-launch and
https://chromium.googlesource.com/chromium/src/+/HEAD/net/dns/README.md (``--host-resolver-rules``).
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .errors import CorsLabError, UsageError
from .outcome import Outcome
from .trial import TRIAL_OPERATIONS, Trial, TrialError, as_trial, outcome_from_trial, trial_source

CHROMIUM_ENV = "CORS_LAB_CHROMIUM"
DEBIAN_CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium floods a closed network with refused connections.
LAUNCH_ARGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-unsafe-swiftshader",  # WebGL on SwiftShader (texImage2D); Playwright passes it too
)
DEFAULT_TIMEOUT_MS = 5000
# Extra time the Python side waits beyond the trial's own timeout before calling the browser stuck.
_GRACE_MS = 5000
# The profile preference that lets cross-site cookies through (0 = allow, 1 = block in incognito, 2 = block).
_ALLOW_THIRD_PARTY_COOKIES = {"profile": {"cookie_controls_mode": 0}}
# The harness's earlier names for the trial (cors_lab.trial owns it).
Scenario = Trial
as_scenario = as_trial


class BrowserUnavailable(CorsLabError, RuntimeError):
    """No Chromium (or no Playwright) to drive; ``reason`` says what is missing and how to get it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


# --- Finding a browser ----------------------------------------------------------------------------


def _executable(candidate: str) -> str | None:
    path = candidate if os.sep in candidate else shutil.which(candidate)
    if path and os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    return None


def _playwright_installed_chromium() -> str | None:
    """Playwright's own download, if one exists (never downloaded here; looked up without the driver)."""
    root = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or os.path.expanduser("~/.cache/ms-playwright")
    patterns = ("chromium-*/chrome-linux*/chrome", "chromium_headless_shell-*/chrome-linux*/headless_shell")
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(root, pattern)), reverse=True):
            if _executable(path):
                return path
    return None


def find_chromium() -> str | None:
    """The Chromium to drive: $CORS_LAB_CHROMIUM, /usr/bin/chromium, `chromium` on PATH, Playwright's.

    An explicit $CORS_LAB_CHROMIUM that is not executable gives None (see `browser_unavailable_reason`)
    rather than silently falling back to another browser.
    """
    wanted = os.environ.get(CHROMIUM_ENV)
    if wanted:
        return _executable(wanted)
    for candidate in (DEBIAN_CHROMIUM, "chromium", "chromium-browser"):
        found = _executable(candidate)
        if found:
            return found
    return _playwright_installed_chromium()


def browser_unavailable_reason() -> str | None:
    """Why the browser tier cannot run here, in one sentence with the fix; None when it can.

    Cheap: imports Playwright and looks for an executable, but launches nothing.
    """
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed: pip install playwright (its browser download is not needed)."
    wanted = os.environ.get(CHROMIUM_ENV)
    if wanted and not _executable(wanted):
        return f"${CHROMIUM_ENV}={wanted!r} is not an executable file: point it at a Chromium binary or unset it."
    if find_chromium() is None:
        return (
            "No Chromium found (tried $CORS_LAB_CHROMIUM, /usr/bin/chromium, chromium on PATH, Playwright's "
            "download): apt-get install chromium, or set CORS_LAB_CHROMIUM to a Chromium binary."
        )
    return None


# --- One Playwright per thread ---------------------------------------------------------------------
# Playwright's sync API runs its own event loop in the calling thread, so a second sync_playwright() in
# the same thread fails. Harnesses in one thread share one driver, counted, and stop it with the last.
_THREAD = threading.local()


def _acquire_playwright() -> tuple[Any, bool]:
    """(the thread's Playwright, whether this call started it)."""
    entry = getattr(_THREAD, "playwright", None)
    if entry is not None:
        entry[1] += 1
        return entry[0], False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise UsageError(
            "ChromiumHarness uses Playwright's sync API, which cannot run inside a running asyncio loop "
            "(a Jupyter cell): run it in a thread, or from a script or test."
        )
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    _THREAD.playwright = [playwright, 1]
    return playwright, True


def _release_playwright() -> None:
    entry = getattr(_THREAD, "playwright", None)
    if entry is None:
        return
    entry[1] -= 1
    if entry[1] <= 0:
        _THREAD.playwright = None
        entry[0].stop()


# --- The page side --------------------------------------------------------------------------------

# Run in the top page (cors_lab/harness.js: one object of functions, evaluated by name): the sandboxed
# srcdoc iframe holding trial.js and its responder, one trial asked of it, the WebGL renderer string.
_PAGE_HELPERS = Path(__file__).with_name("harness.js").read_text(encoding="utf-8")
_OPEN_SANDBOX = f"({_PAGE_HELPERS}).openSandbox"
_ASK_SANDBOX = f"({_PAGE_HELPERS}).askSandbox"
_WEBGL_RENDERER = f"({_PAGE_HELPERS}).webglRenderer"
_RUN_SCRIPT_FRAME = f"({_PAGE_HELPERS}).runScriptFrame"


@dataclass
class _Session:
    """One browser context with one page, its console, and how the trial is reached in it."""

    context: Any
    page: Any
    owns_context: bool
    console: list[dict[str, str]] = field(default_factory=list)
    opaque: bool = False
    ready_on: str | None = None  # the page_url the trial was injected for


class ChromiumHarness:
    """Playwright driving Chromium over real servers; use as a context manager.

    ``host_rules`` maps host names to loopback ports (``{"a.test": 8443}``) or to ``"host:port"``
    strings, through ``--host-resolver-rules``; with https lab servers pass ``ignore_https_errors=True``
    (self-signed certificates). ``third_party_cookies`` False (the default) is Chromium's own default
    under Playwright: cross-site cookies are blocked. True uses a persistent profile that allows them,
    so every "fresh context" is that one profile with its HTTP cache cleared and ``cookies`` re-set.
    ``cookies`` (Playwright cookie dicts) are added to every context before its first navigation.
    """

    def __init__(
        self,
        *,
        executable: str | None = None,
        host_rules: Mapping[str, int | str] | None = None,
        ignore_https_errors: bool = False,
        third_party_cookies: bool = False,
        cookies: Sequence[Mapping[str, Any]] = (),
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        extra_args: Iterable[str] = (),
    ) -> None:
        self.executable = executable
        self.host_rules = dict(host_rules or {})
        self.ignore_https_errors = ignore_https_errors
        self.third_party_cookies = third_party_cookies
        self.cookies = [dict(c) for c in cookies]
        self.timeout_ms = timeout_ms
        self.launch_args = LAUNCH_ARGS + tuple(self._host_rule_args()) + tuple(extra_args)
        self.startup: dict[str, float] = {}
        self._playwright: Any = None
        self._browser: Any = None
        self._persistent: Any = None
        self._profile_dir: str | None = None
        self._source = trial_source()

    # -- life cycle --

    @property
    def startup_ms(self) -> float | None:
        """Milliseconds from start() to a usable browser (Playwright driver + Chromium launch)."""
        return self.startup.get("total_ms")

    def _host_rule_args(self) -> list[str]:
        if not self.host_rules:
            return []
        rules = []
        for host, target in self.host_rules.items():
            target = f"127.0.0.1:{target}" if isinstance(target, int) else str(target)
            rules.append(f"MAP {host} {target}")
        return ["--host-resolver-rules=" + ",".join(rules)]

    def start(self) -> "ChromiumHarness":
        if self._playwright is not None:
            return self
        reason = browser_unavailable_reason() if self.executable is None else None
        if reason:
            raise BrowserUnavailable(reason)
        executable = self.executable or find_chromium()
        t0 = time.perf_counter()
        # driver_ms is ~0 when another harness in this thread already started Playwright.
        self._playwright, _ = _acquire_playwright()
        t1 = time.perf_counter()
        try:
            if self.third_party_cookies:
                self._profile_dir = tempfile.mkdtemp(prefix="cors-lab-profile-")
                os.makedirs(os.path.join(self._profile_dir, "Default"))
                with open(os.path.join(self._profile_dir, "Default", "Preferences"), "w") as f:
                    json.dump(_ALLOW_THIRD_PARTY_COOKIES, f)
                self._persistent = self._playwright.chromium.launch_persistent_context(
                    self._profile_dir,
                    executable_path=executable,
                    args=list(self.launch_args),
                    ignore_https_errors=self.ignore_https_errors,
                )
            else:
                self._browser = self._playwright.chromium.launch(executable_path=executable, args=list(self.launch_args))
        except Exception as e:
            self.close()
            raise BrowserUnavailable(f"Chromium at {executable} did not start: {e}") from e
        t2 = time.perf_counter()
        self.startup = {
            "driver_ms": (t1 - t0) * 1000,
            "launch_ms": (t2 - t1) * 1000,
            "total_ms": (t2 - t0) * 1000,
        }
        self.executable = executable
        return self

    def close(self) -> None:
        for thing in (self._persistent, self._browser):
            if thing is not None:
                try:
                    thing.close()
                except Exception:  # the browser may already be gone; closing must not raise
                    pass
        self._persistent = self._browser = None
        if self._playwright is not None:
            self._playwright = None
            _release_playwright()
        if self._profile_dir:
            shutil.rmtree(self._profile_dir, ignore_errors=True)
            self._profile_dir = None

    def __enter__(self) -> "ChromiumHarness":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def version(self) -> str | None:
        if self._browser is not None:
            return self._browser.version
        if self._persistent is not None and self._persistent.browser is not None:
            return self._persistent.browser.version
        return None

    # -- contexts --

    def _require_started(self) -> None:
        if self._playwright is None:
            raise UsageError("The harness is not started: use `with ChromiumHarness() as h:` or call h.start().")

    def _open(self, *, fresh: bool) -> _Session:
        self._require_started()
        if self._persistent is not None:
            context, owns = self._persistent, False
            if fresh:
                # One profile only: "fresh" = its HTTP cache emptied and its cookies reset.
                context.clear_cookies()
            page = context.new_page()
            if fresh:
                cdp = context.new_cdp_session(page)
                cdp.send("Network.clearBrowserCache")
                cdp.detach()
        else:
            context, owns = self._browser.new_context(ignore_https_errors=self.ignore_https_errors), True
            page = context.new_page()
        if self.cookies:
            context.add_cookies(self.cookies)
        session = _Session(context, page, owns)

        def on_console(message: Any) -> None:
            session.console.append({"type": message.type, "text": message.text, "url": message.location.get("url", "")})

        page.on("console", on_console)
        page.on("pageerror", lambda error: session.console.append({"type": "pageerror", "text": str(error), "url": ""}))
        return session

    def _close(self, session: _Session) -> None:
        try:
            if session.owns_context:
                session.context.close()
            else:
                session.page.close()
        except Exception:  # closing a context whose page crashed must not hide the result
            pass

    def _navigate(self, session: _Session, page_url: str, *, top_url: str | None) -> dict[str, float]:
        """Open page_url (or, for "null", a sandboxed srcdoc iframe) and make the trial callable there."""
        t0 = time.perf_counter()
        if page_url == "null":
            if top_url:
                session.page.goto(top_url)
            t1 = time.perf_counter()
            source = self._source.replace("</script", "<\\/script")
            session.page.evaluate(_OPEN_SANDBOX, [source, _GRACE_MS])
            session.opaque = True
        else:
            session.page.goto(page_url)
            t1 = time.perf_counter()
            # evaluate, not a <script> tag: works in any document (an image, a 404 text page) and under CSP.
            session.page.evaluate(self._source)
            session.opaque = False
        session.ready_on = page_url
        t2 = time.perf_counter()
        return {"navigate_ms": (t1 - t0) * 1000, "inject_ms": (t2 - t1) * 1000}

    def _trial(self, session: _Session, trial: Trial, *, page_url: str, timing: dict[str, float],
               t_start: float) -> Outcome:
        timeout_ms = trial.timeout_ms if trial.timeout_ms is not None else self.timeout_ms
        spec = trial.spec(timeout_ms)
        session.console.clear()
        t0 = time.perf_counter()
        if session.opaque:
            result = session.page.evaluate(_ASK_SANDBOX, [spec, timeout_ms + _GRACE_MS])
        else:
            result = session.page.evaluate("spec => globalThis.corsLabTrial(spec)", spec)
        if isinstance(result, dict) and result.get("load") == "error" and not session.console:
            # Chromium's CORS explanation normally arrives before evaluate returns; give it one beat.
            session.page.wait_for_timeout(50)
        t1 = time.perf_counter()
        if not isinstance(result, dict) or "error" in result:
            raise TrialError(f"trial.js failed for {trial}: {result!r}")
        timing = dict(timing, trial_ms=(t1 - t0) * 1000, in_page_ms=result.get("elapsed_ms"))
        console = list(session.console)
        return outcome_from_trial(
            result, url=trial.url, crossorigin=trial.crossorigin, operation=trial.operation,
            extra={"page_url": page_url, "timing": timing, "console_messages": console},
            console="\n".join(m["text"] for m in console),
            elapsed_ms=(time.perf_counter() - t_start) * 1000,
        )

    # -- public runs --

    def run(
        self,
        scenarios: Iterable[Trial | Mapping[str, Any]],
        *,
        page_url: str,
        fresh_context: bool = True,
        top_url: str | None = None,
    ) -> list[Outcome]:
        """Run each scenario from a page on ``page_url``'s origin; one `Outcome` per scenario, in order.

        ``page_url`` is any URL on the page's origin (an image or a 404 page will do: only its origin
        matters), or ``"null"`` for an opaque-origin page: a ``<iframe sandbox="allow-scripts" srcdoc>``
        inside ``top_url`` (default about:blank). ``fresh_context`` True gives every scenario its own
        browser context (empty HTTP cache, cookies, storage); False runs them all in one document,
        which is several times faster but shares every cache. ``Outcome.elapsed_ms`` is the wall time
        of the scenario including context and navigation; ``extra["timing"]`` splits it.
        """
        items = [as_trial(s) for s in scenarios]
        if fresh_context:
            return [self._run_fresh(s, page_url=page_url, top_url=top_url) for s in items]
        return self.run_sequence(items, page_url=page_url, same_document=True, top_url=top_url)

    def run_one(self, url: str, *, page_url: str, crossorigin: str | None = None,
                operation: str = "getImageData", timeout_ms: int | None = None) -> Outcome:
        """One scenario in a fresh context."""
        return self.run([Trial(url, crossorigin, operation, timeout_ms)], page_url=page_url)[0]

    def _run_fresh(self, scenario: Trial, *, page_url: str, top_url: str | None) -> Outcome:
        t0 = time.perf_counter()
        session = self._open(fresh=True)
        try:
            timing = {"context_ms": (time.perf_counter() - t0) * 1000}
            timing.update(self._navigate(session, page_url, top_url=top_url))
            return self._trial(session, scenario, page_url=page_url, timing=timing, t_start=t0)
        finally:
            self._close(session)

    def run_sequence(
        self,
        scenarios: Iterable[Trial | Mapping[str, Any]],
        *,
        page_url: str,
        same_document: bool = False,
        top_url: str | None = None,
    ) -> list[Outcome]:
        """Run scenarios in order in ONE browser context, so they share its HTTP cache (cache lessons).

        By default each scenario gets a new document (``page_url`` navigated again); with
        ``same_document`` they all run in one document, which also shares the document's own image
        cache, as in a single notebook page.
        """
        items = [as_trial(s) for s in scenarios]
        session = self._open(fresh=True)
        outcomes = []
        try:
            for scenario in items:
                t0 = time.perf_counter()
                timing: dict[str, float] = {"context_ms": 0.0}
                if not same_document or session.ready_on != page_url:
                    timing.update(self._navigate(session, page_url, top_url=top_url))
                outcomes.append(self._trial(session, scenario, page_url=page_url, timing=timing, t_start=t0))
        finally:
            self._close(session)
        return outcomes

    def script_frame(self, srcdoc: str, *, wait_ms: int) -> Any:
        """Run the page ``srcdoc`` in a sandboxed frame (origin null) of a fresh context; what it posts.

        The page ends by posting ``{type: "cors-lab-script-result", result}`` to its parent (the JavaScript
        exercise's page, `cors_lab.jscheck`); after ``wait_ms`` the answer is ``{"error": ...}``.
        """
        session = self._open(fresh=True)
        try:
            return session.page.evaluate(_RUN_SCRIPT_FRAME, [srcdoc, wait_ms])
        finally:
            self._close(session)

    def webgl_renderer(self) -> str | None:
        """The WebGL renderer string in a fresh page (None: no WebGL context, so texImage2D reports NoWebGL)."""
        session = self._open(fresh=True)
        try:
            return session.page.evaluate(_WEBGL_RENDERER)
        finally:
            self._close(session)


__all__ = [
    "BrowserUnavailable",
    "ChromiumHarness",
    "Scenario",
    "TRIAL_OPERATIONS",
    "as_scenario",
    "browser_unavailable_reason",
    "find_chromium",
    "trial_source",
]
