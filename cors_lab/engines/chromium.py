"""Chromium as a lab engine: Debian's ``chromium`` driven by Playwright, the same interface as the others.

Owns finding a Chromium, launching it with the flags that work on a closed loopback-only machine and
as close to a regular user's Chromium as Playwright allows, one browser context per fresh context,
console capture, and the record of the settings it ran with. Must not: route or intercept requests
(Playwright's interception adds CORS headers by itself), serve anything, or download a browser.

Measured here (Chromium 156.0.8078.108 from Debian, Playwright 1.65.2, 2 cores shared with other jobs,
load average 2-7; 24 scenarios = 12 operations x {same-origin, cross-origin}):
- Start-up: Playwright driver 290-505 ms + Chromium launch 175-390 ms (``startup`` splits them).
- Fresh browser context per scenario: median 200 ms (270-390 ms under heavier load). Of that, the new
  page is ~115 ms (a renderer process is spawned; a new page in a *shared* context costs the same),
  new_context ~30 ms, navigation ~40 ms, injecting trial.js ~10-15 ms, the trial ~15 ms.
  `Engine.runner()` reuses one page: navigation + trial ~60-130 ms a scenario (load average 6).
- One shared document (``fresh_context=False``): median 4-7 ms per scenario; in the page, ~0.5-1.5 ms
  per trial (the first trial in a document ~10-15 ms, texImage2D ~7-10 ms).
- WebGL works headless with the RECIPES flags alone, ``--disable-gpu`` included: the GPU process runs
  ``--use-angle=swiftshader-webgl`` ("ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) ...),
  SwiftShader driver)"). We pass ``--enable-unsafe-swiftshader`` anyway (Playwright does too) so other
  Chromium builds do not fall back to "no WebGL". `Engine.webgl_renderer()` reports it.
- Third-party (cross-site) cookies are blocked by default, in Playwright's contexts *and* in a fresh
  persistent profile: that is this Chromium's default. Only a persistent profile whose Preferences
  say ``profile.cookie_controls_mode: 0`` sent a ``SameSite=None; Secure`` cookie cross-site
  (``third_party_cookies=True`` uses one; CDP's ``Network.setCookieControls`` did not change it).
- Playwright starts Chromium with ``--disable-features=...,ThirdPartyStoragePartitioning,HttpsUpgrades,
  ...``: a cross-site iframe's ``localStorage`` then throws SecurityError ("Access is denied for this
  document"), where a regular Chromium gives it partitioned storage. A later ``--disable-features``
  replaces Playwright's (measured: the iframe's localStorage then works), so the engine passes its own
  list (``DISABLED_FEATURES``): only features that make background network noise or browser UI, none
  that a web page can observe. ``playwright_defaults=True`` keeps Playwright's list instead.
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
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..errors import UsageError
from .base import (
    DEFAULT_TIMEOUT_MS,
    Engine,
    EngineContext,
    EngineError,
    EngineSettings,
    executable,
)

CHROMIUM_ENV = "CORS_LAB_CHROMIUM"
DEBIAN_CHROMIUM = "/usr/bin/chromium"
INSTALL = "apt-get install -y chromium && pip install playwright (its browser download is not needed)"
# Without the background-networking flags Chromium floods a closed network with refused connections.
LAUNCH_ARGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-unsafe-swiftshader",  # WebGL on SwiftShader (texImage2D); Playwright passes it too
)
# Replaces Playwright's own --disable-features (see the module docstring): background requests to
# Google services and browser UI only. Left ON, as in a regular Chromium: ThirdPartyStoragePartitioning,
# HttpsUpgrades, HttpsFirstBalancedModeAutoEnable, PaintHolding, AvoidCorsURLLoaderRestartOnRedirect.
DISABLED_FEATURES = (
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "MediaRouter",
    "LensOverlay",
    "DestroyProfileOnBrowserClose",
    "AvoidUnnecessaryBeforeUnloadCheckSync",
)
LAUNCH_WHY = {
    "--disable-gpu": "no GPU here; WebGL still runs on SwiftShader",
    "--disable-background-networking": "no requests to Google services on a closed network",
    "--disable-component-update": "no component downloads",
    "--disable-sync": "no sign-in sync",
    "--no-first-run": "no first-run pages",
    "--enable-unsafe-swiftshader": "WebGL (texImage2D) on SwiftShader, as Playwright does",
    "--disable-features": "replaces Playwright's list with background-network and UI features only, so "
                          "third-party storage partitioning and HTTPS upgrades stay on as in a regular Chromium",
}
# The profile preference that lets cross-site cookies through (0 = allow, 1 = block in incognito, 2 = block).
_ALLOW_THIRD_PARTY_COOKIES = {"profile": {"cookie_controls_mode": 0}}
PLAYWRIGHT_JS = Path(__file__).with_name("playwright.js")


# --- Finding a browser ----------------------------------------------------------------------------


def _playwright_installed_chromium() -> str | None:
    """Playwright's own download, if one exists (never downloaded here; looked up without the driver)."""
    root = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or os.path.expanduser("~/.cache/ms-playwright")
    patterns = ("chromium-*/chrome-linux*/chrome", "chromium_headless_shell-*/chrome-linux*/headless_shell")
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(root, pattern)), reverse=True):
            if executable(path):
                return path
    return None


def find_chromium() -> str | None:
    """The Chromium to drive: $CORS_LAB_CHROMIUM, /usr/bin/chromium, `chromium` on PATH, Playwright's.

    An explicit $CORS_LAB_CHROMIUM that is not executable gives None (see `browser_unavailable_reason`)
    rather than silently falling back to another browser.
    """
    wanted = os.environ.get(CHROMIUM_ENV)
    if wanted:
        return executable(wanted)
    for candidate in (DEBIAN_CHROMIUM, "chromium", "chromium-browser"):
        found = executable(candidate)
        if found:
            return found
    return _playwright_installed_chromium()


def browser_unavailable_reason() -> str | None:
    """Why Chromium cannot run here, in one sentence with the fix; None when it can.

    Cheap: imports Playwright and looks for an executable, but launches nothing.
    """
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed: pip install playwright (its browser download is not needed)."
    wanted = os.environ.get(CHROMIUM_ENV)
    if wanted and not executable(wanted):
        return f"${CHROMIUM_ENV}={wanted!r} is not an executable file: point it at a Chromium binary or unset it."
    if find_chromium() is None:
        return (
            "No Chromium found (tried $CORS_LAB_CHROMIUM, /usr/bin/chromium, chromium on PATH, Playwright's "
            "download): apt-get install chromium, or set CORS_LAB_CHROMIUM to a Chromium binary."
        )
    return None


# --- One Playwright per thread ---------------------------------------------------------------------
# Playwright's sync API runs its own event loop in the calling thread, so a second sync_playwright() in
# the same thread fails. Engines in one thread share one driver, counted, and stop it with the last.
_THREAD = threading.local()


def _acquire_playwright() -> Any:
    entry = getattr(_THREAD, "playwright", None)
    if entry is not None:
        entry[1] += 1
        return entry[0]
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise UsageError(
            "The Chromium engine uses Playwright's sync API, which cannot run inside a running asyncio loop "
            "(a Jupyter cell): run it in a thread, or from a script or test."
        )
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    _THREAD.playwright = [playwright, 1]
    return playwright


def _release_playwright() -> None:
    entry = getattr(_THREAD, "playwright", None)
    if entry is None:
        return
    entry[1] -= 1
    if entry[1] <= 0:
        _THREAD.playwright = None
        entry[0].stop()


# --- Contexts ---------------------------------------------------------------------------------------


class ChromiumContext(EngineContext):
    """One Playwright browser context with one page (or, with a persistent profile, a page in it)."""

    def __init__(self, engine: "ChromiumEngine", context: Any, page: Any, *, owns_context: bool) -> None:
        super().__init__(engine)
        self.context = context
        self.page = page
        self.owns_context = owns_context
        self._messages: list[dict[str, str]] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self._messages.append({"type": "pageerror", "text": str(error), "url": ""}))

    def _on_console(self, message: Any) -> None:
        self._messages.append({"type": message.type, "text": message.text, "url": message.location.get("url", "")})

    def _goto(self, url: str, *, timeout_ms: int) -> None:
        from playwright.sync_api import Error as PlaywrightError

        self._messages.clear()
        try:
            self.page.goto(url, timeout=timeout_ms, wait_until="load")
        except PlaywrightError as e:
            raise EngineError(f"Chromium could not open {url}: {e.message.splitlines()[0]}") from e

    def _png(self) -> bytes:
        return self.page.screenshot()

    def resize(self, width: int, height: int) -> None:
        self.page.set_viewport_size({"width": width, "height": height})

    def _script(self, command: str, payload: Mapping[str, Any], *, timeout_ms: int) -> Any:
        # page.evaluate has no timeout of its own; every page.js command ends within its own waitMs.
        from playwright.sync_api import Error as PlaywrightError

        try:
            return self.page.evaluate(self.engine.playwright_js, [command, dict(payload)])
        except PlaywrightError as e:
            raise EngineError(f"Chromium page script {command!r} failed: {e.message.splitlines()[0]}") from e

    def _console_take(self) -> list[dict[str, str]]:
        taken, self._messages = self._messages, []
        return taken

    def _forget_cookies(self) -> bool:
        self.context.clear_cookies()
        if self.engine.cookies:
            self.context.add_cookies(self.engine.cookies)
        return True

    def close(self) -> None:
        try:
            if self.owns_context:
                self.context.close()
            else:
                self.page.close()
        except Exception:  # closing a context whose page crashed must not hide the result
            pass


class ChromiumEngine(Engine):
    """Debian's Chromium over real servers, through Playwright; use as a context manager.

    ``host_rules`` maps host names to loopback ports (``{"a.test": 8443}``) or to ``"host:port"``
    strings, through ``--host-resolver-rules``; with https lab servers pass ``ignore_https_errors=True``
    (self-signed certificates). ``third_party_cookies`` False (the default) is this Chromium's own
    default: cross-site cookies are blocked. True uses a persistent profile that allows them, so every
    fresh context is that one profile with its HTTP cache cleared and ``cookies`` re-set. ``cookies``
    (Playwright cookie dicts) are added to every context before its first navigation.
    ``playwright_defaults`` True keeps Playwright's feature switches (third-party storage partitioning
    off); ``extra_args`` are appended to the command line.
    """

    name = "chromium"
    install = INSTALL

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
        playwright_defaults: bool = False,
    ) -> None:
        super().__init__(timeout_ms=timeout_ms)
        self.executable = executable
        self.host_rules = dict(host_rules or {})
        self.ignore_https_errors = ignore_https_errors
        self.third_party_cookies = third_party_cookies
        self.cookies = [dict(c) for c in cookies]
        self.playwright_defaults = playwright_defaults
        features = () if playwright_defaults else ("--disable-features=" + ",".join(DISABLED_FEATURES),)
        self.launch_args = LAUNCH_ARGS + features + tuple(self._host_rule_args()) + tuple(extra_args)
        self.playwright_js = PLAYWRIGHT_JS.read_text(encoding="utf-8").replace("/* PAGE_JS */", self.page_js)
        self._playwright: Any = None
        self._browser: Any = None
        self._persistent: Any = None
        self._profile_dir: str | None = None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return browser_unavailable_reason()

    def _host_rule_args(self) -> list[str]:
        if not self.host_rules:
            return []
        rules = []
        for host, target in self.host_rules.items():
            target = f"127.0.0.1:{target}" if isinstance(target, int) else str(target)
            rules.append(f"MAP {host} {target}")
        return ["--host-resolver-rules=" + ",".join(rules)]

    # -- life cycle --

    def _why_unavailable(self) -> str | None:
        if self.executable is None:
            return self.unavailable_reason()
        # An explicit executable skips the search: only it (and Playwright) must exist.
        reason = browser_unavailable_reason()
        if reason and reason.startswith("Playwright"):
            return reason
        return None if executable(self.executable) else f"{self.executable!r} is not an executable file."

    def _launch(self) -> None:
        exe = self.executable or find_chromium()
        t0 = time.perf_counter()
        # driver_ms is ~0 when another engine in this thread already started Playwright.
        self._playwright = _acquire_playwright()
        t1 = time.perf_counter()
        if self.third_party_cookies:
            self._profile_dir = tempfile.mkdtemp(prefix="cors-lab-profile-")
            os.makedirs(os.path.join(self._profile_dir, "Default"))
            with open(os.path.join(self._profile_dir, "Default", "Preferences"), "w", encoding="utf-8") as f:
                json.dump(_ALLOW_THIRD_PARTY_COOKIES, f)
            self._persistent = self._playwright.chromium.launch_persistent_context(
                self._profile_dir, executable_path=exe, args=list(self.launch_args),
                ignore_https_errors=self.ignore_https_errors)
            self.version = self._persistent.browser.version if self._persistent.browser else None
        else:
            self._browser = self._playwright.chromium.launch(executable_path=exe, args=list(self.launch_args))
            self.version = self._browser.version
        t2 = time.perf_counter()
        self.startup.update(driver_ms=(t1 - t0) * 1000, launch_ms=(t2 - t1) * 1000)
        self.executable = exe

    def _shutdown(self) -> None:
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

    def close(self) -> None:
        """The harness's name for `stop`."""
        self.stop()

    def _new_context(self) -> ChromiumContext:
        if self._persistent is not None:
            # One profile only: a fresh context is its cookies reset and its HTTP cache emptied.
            context = self._persistent
            context.clear_cookies()
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.clearBrowserCache")
            cdp.detach()
            ctx = ChromiumContext(self, context, page, owns_context=False)
        else:
            context = self._browser.new_context(ignore_https_errors=self.ignore_https_errors)
            ctx = ChromiumContext(self, context, context.new_page(), owns_context=True)
        if self.cookies:
            context.add_cookies(self.cookies)
        return ctx

    @property
    def settings(self) -> EngineSettings:
        changed = {arg.split("=", 1)[0]: LAUNCH_WHY.get(arg.split("=", 1)[0], "asked for by the caller")
                   for arg in self.launch_args}
        if self.third_party_cookies:
            changed["profile.cookie_controls_mode"] = "0: third-party cookies allowed (asked for)"
        return EngineSettings(
            engine=self.name,
            version=self.version or "?",
            profile=("regular: a new persistent profile allowing third-party cookies" if self.third_party_cookies
                     else "a new Playwright browser context per fresh context (Chromium's incognito-like "
                          "off-the-record profile: in-memory cache, cookies and storage)"),
            third_party_cookies=("allowed (profile.cookie_controls_mode 0)" if self.third_party_cookies else
                                 "blocked: Chromium 156's default, in a fresh profile as in Playwright's contexts"),
            storage_partitioning=("off: Playwright's --disable-features=ThirdPartyStoragePartitioning"
                                  if self.playwright_defaults else
                                  "on (ThirdPartyStoragePartitioning, Chromium's default): a cross-site iframe "
                                  "gets its own partitioned localStorage"),
            isolation="fresh: a new browser context; runner(): one page reused, cookies cleared before each "
                      "scenario, a new context after storage writes, unique URLs per scenario",
            display="headless (Playwright's new headless mode)",
            changed=changed,
            notes=("Playwright also passes its own automation switches (--disable-background-timer-throttling, "
                   "--disable-popup-blocking, --enable-automation ...): none changes a CORS, cookie, cache or "
                   "canvas rule.",),
        )


__all__ = ["CHROMIUM_ENV", "ChromiumContext", "ChromiumEngine", "DEBIAN_CHROMIUM", "DISABLED_FEATURES", "INSTALL",
           "LAUNCH_ARGS", "browser_unavailable_reason", "find_chromium"]
