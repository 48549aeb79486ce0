"""Firefox ESR as a lab engine: Debian's ``firefox-esr`` driven by Mozilla's own ``marionette_driver``.

Owns finding Firefox, launching it on a fresh regular (non-private) profile on a private Xvfb, the
preferences the kit restores, per-scenario isolation, and reading Firefox's console (where its CORS
explanations go). Must not: download a browser, or change a preference that decides a CORS, cookie,
cache or canvas rule.

Measured here (Firefox ESR 153.8.0 from Debian, marionette-driver 3.7.1, 2 cores shared with other jobs):
- Start-up (a new profile, the Marionette handshake): 2.5-6 s.
- Headless Firefox (MOZ_HEADLESS) has no WebGL here: ``getContext("webgl")`` is null, so texImage2D
  could not be measured. On Xvfb it renders WebGL with Mesa's llvmpipe, as a desktop without a GPU
  would; so the default is a private Xvfb, and ``headless=True`` is the exception.
- Isolation, the default (``isolation="clear"``): one browser, and before each scenario its tab goes
  to about:blank and ``Services.clearData.deleteData(CLEAR_ALL)`` runs in the chrome context (HTTP
  and image caches, cookies, DOM storage, preflight and auth caches, HSTS...): about:blank 50-110 ms +
  clearing 20-70 ms; a whole scenario (isolation, navigation, injection, trial) median 260-470 ms
  at load average 2-12 (Chromium's fresh context in the same runs: 390-630 ms). ``isolation=
  "restart"`` starts a new Firefox on a new profile per scenario (median 5.9-8.1 s each) and exists
  to check the cheap way against. `Engine.runner()` skips both: ``Services.cookies.removeAll()``
  (8-17 ms) between scenarios; navigation (110-250 ms at load average 7-15, the biggest cost: an
  image document is slower to "load" than a 404 page) + injection and trial in one script call.
- Third parties, with Firefox's defaults (cookieBehavior 5, Total Cookie Protection): a cookie set
  by a cross-site image response is stored in that top-level site's partition and sent back to the
  same third party, but not at a first-party visit; a first-party ``SameSite=None`` cookie is not
  sent to it as a third party; a cross-site iframe's localStorage works
  (tools/measure_engines.py --third-party).
- Playwright's Firefox (WebDriver BiDi ``moz-firefox`` channel) cannot make a context with this
  Firefox, and geckodriver is not packaged by Debian; Marionette is what Firefox itself ships.
- Marionette runs a script with ``sandbox=None`` in a scope whose ``globalThis`` is not the page's:
  page.js uses ``window`` and an indirect ``window.eval`` so trial.js lands on the page's own global.
- Firefox's CORS explanations ("Cross-Origin Request Blocked: ... (Reason: CORS header
  'Access-Control-Allow-Origin' missing). Status code: 200.") go to ``Services.console`` with inner
  window id 0: the console is reset before each trial and read after it.
See https://firefox-source-docs.mozilla.org/testing/marionette/ and
https://searchfox.org/mozilla-esr153/source/toolkit/components/cleardata/nsIClearDataService.idl
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

from .base import (
    GRACE_MS,
    Engine,
    EngineContext,
    EngineError,
    EngineSettings,
    find_executable,
    missing_executable,
)
from .display import Xvfb

FIREFOX_ENV = "CORS_LAB_FIREFOX"
CANDIDATES = ("/usr/bin/firefox-esr", "firefox-esr", "firefox")
INSTALL = "apt-get install -y firefox-esr && pip install marionette-driver"
# marionette_driver's profile turns tracking protection off in private windows (Firefox: on), and
# Firefox then files its Enhanced Tracking Protection under "custom"; the kit restores both, so every
# content-blocking preference is Firefox's "standard" default (checked: no other one differs).
PREFS = {"privacy.trackingprotection.pbmode.enabled": True, "browser.contentblocking.category": "standard"}
PREF_WHY = {
    "privacy.trackingprotection.pbmode.enabled": "true: Firefox's default, which marionette_driver turns off",
    "browser.contentblocking.category": "'standard': Firefox's default Enhanced Tracking Protection",
}
# Read back after start: the settings a result depends on.
REPORTED_PREFS = (
    "network.cookie.cookieBehavior",
    "network.cookie.sameSite.laxByDefault",
    "browser.contentblocking.category",
    "privacy.trackingprotection.enabled",
    "browser.privatebrowsing.autostart",
    "privacy.partition.bloburl_per_partition_key",
    "privacy.dynamic_firstparty.use_site",
    "browser.cache.disk.enable",
    "webgl.disabled",
)
COOKIE_BEHAVIOURS = {
    0: "all cookies accepted",
    1: "third-party cookies rejected",
    2: "all cookies rejected",
    3: "third-party cookies rejected unless the site was visited",
    4: "cookies of known trackers rejected",
    5: "Total Cookie Protection: trackers rejected, every other third-party cookie partitioned by top-level site",
}

CHROME_JS = Path(__file__).with_name("firefox_chrome.js")


def find_firefox() -> str | None:
    """$CORS_LAB_FIREFOX (None if not executable, no fallback), else Debian's firefox-esr, else firefox."""
    return find_executable(FIREFOX_ENV, CANDIDATES)


@contextmanager
def _environment(**values: str | None) -> Iterator[None]:
    """os.environ with ``values`` set (None: left as it is) inside the block, restored after."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is not None:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _Browser:
    """One Firefox process on its own fresh profile, with its Marionette session."""

    def __init__(self, executable: str, *, prefs: Mapping[str, Any], display: str | None, timeout_ms: int) -> None:
        from marionette_driver.marionette import Marionette

        self.workdir = tempfile.mkdtemp(prefix="cors-lab-firefox-")
        self.log = os.path.join(self.workdir, "gecko.log")
        self.page_load_ms = timeout_ms + GRACE_MS
        self.marionette: Any = None
        self.chrome_js = CHROME_JS.read_text(encoding="utf-8")
        failure = None
        try:
            # app= skips mozversion's probe of the binary (and its stdout logging); port=0: a free port.
            # The socket timeout bounds every Marionette call, the start-up handshake included.
            # marionette_driver gives Firefox a copy of os.environ and has no parameter for it, so the
            # display is set in os.environ for the moment of the launch only.
            with _environment(DISPLAY=display):
                self.marionette = Marionette(bin=executable, app="fxdesktop", headless=display is None, port=0,
                                             gecko_log=self.log, prefs=dict(prefs), workspace=self.workdir,
                                             socket_timeout=max(60, (timeout_ms + 4 * GRACE_MS) / 1000),
                                             startup_timeout=60)
            self.marionette.start_session()
            self.marionette.timeout.page_load = self.page_load_ms / 1000
        except Exception as e:
            failure = f"{type(e).__name__}: {e}"
        if failure:
            # Raised outside the except block: a chained traceback would keep the dead profile's objects
            # alive until interpreter exit, where mozprofile's __del__ fails noisily.
            tail = self.log_tail()
            self.close()
            raise EngineError(f"Firefox did not start: {failure}{tail}")

    def log_tail(self, lines: int = 8) -> str:
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                text = f.read().strip().splitlines()[-lines:]
        except OSError:
            return ""
        return ("\ngecko.log ends:\n" + "\n".join(text)) if text else ""

    @property
    def version(self) -> str:
        return str(self.marionette.session_capabilities.get("browserVersion", "?"))

    def chrome(self, command: str, payload: Mapping[str, Any] | None = None) -> Any:
        """Run firefox_chrome.js's ``command`` with privileges (Marionette's chrome context)."""
        with self.marionette.using_context("chrome"):
            answer = self.marionette.execute_async_script(self.chrome_js, script_args=[command, dict(payload or {})],
                                                          script_timeout=GRACE_MS)
        if isinstance(answer, dict) and "error" in answer:
            raise EngineError(f"Firefox chrome script {command!r} failed: {answer['error']}")
        return answer

    def close(self) -> None:
        if self.marionette is not None:
            try:
                self.marionette.cleanup()
            except Exception:  # the browser may already be gone; closing must not raise
                pass
            self.marionette = None
        shutil.rmtree(self.workdir, ignore_errors=True)


class FirefoxContext(EngineContext):
    """The one tab of a Firefox whose site data was just cleared (or a whole new Firefox)."""

    def __init__(self, engine: "FirefoxEngine", browser: _Browser, *, owns_browser: bool) -> None:
        super().__init__(engine)
        self.browser = browser
        self.owns_browser = owns_browser
        self.isolation_ms: dict[str, float] = {}
        if not owns_browser:
            t0 = time.perf_counter()
            self._goto("about:blank", timeout_ms=browser.page_load_ms)  # the old document stops loading
            t1 = time.perf_counter()
            browser.chrome("clear")
            self.isolation_ms = {"blank_ms": (t1 - t0) * 1000, "clear_ms": (time.perf_counter() - t1) * 1000}

    def _goto(self, url: str, *, timeout_ms: int) -> None:
        from marionette_driver import errors

        m = self.browser.marionette
        if timeout_ms != self.browser.page_load_ms:
            m.timeout.page_load = timeout_ms / 1000
            self.browser.page_load_ms = timeout_ms
        try:
            m.navigate(url)
        except errors.MarionetteException as e:
            raise EngineError(f"Firefox could not open {url}: {type(e).__name__}: {e}") from e

    def _script(self, command: str, payload: Mapping[str, Any], *, timeout_ms: int) -> Any:
        from marionette_driver import errors

        try:
            return self.browser.marionette.execute_async_script(
                self.engine.page_js, script_args=[command, dict(payload)], sandbox=None, script_timeout=timeout_ms)
        except errors.MarionetteException as e:
            raise EngineError(f"Firefox page script {command!r} failed: {type(e).__name__}: {e}") from e

    def _png(self) -> bytes:
        return self.browser.marionette.screenshot(format="binary")

    def resize(self, width: int, height: int) -> None:
        self.browser.marionette.set_window_rect(x=0, y=0, width=width, height=height)

    def _console_take(self) -> list[dict[str, str]]:
        return list(self.browser.chrome("console-take") or [])

    def _forget_cookies(self) -> bool:
        return self.browser.chrome("forget-cookies") == 0

    def close(self) -> None:
        self.engine._context_closed(self)


class FirefoxEngine(Engine):
    """Firefox ESR over real servers, through Marionette; use as a context manager.

    ``isolation="clear"`` (default) clears every kind of site data in one browser before each scenario;
    ``"restart"`` starts a new Firefox on a new profile for each (slow; a cross-check). Firefox runs on
    a private Xvfb (``display`` None), or on the X display named (":99"); ``headless`` True runs it
    without any display instead, where it has no WebGL (texImage2D reports NoWebGL). ``prefs`` adds
    Firefox preferences (say why in your results).
    """

    name = "firefox"
    install = INSTALL

    def __init__(self, *, executable: str | None = None, isolation: str = "clear", headless: bool = False,
                 display: str | None = None, prefs: Mapping[str, Any] | None = None, timeout_ms: int = 5000) -> None:
        super().__init__(timeout_ms=timeout_ms)
        if isolation not in ("clear", "restart"):
            raise EngineError(f"isolation must be 'clear' or 'restart', not {isolation!r}.")
        self.executable = executable
        self.isolation = isolation
        self.headless = headless
        self.display = display
        self._xvfb: Xvfb | None = None
        self.prefs = {**PREFS, **dict(prefs or {})}
        self.prefs_seen: dict[str, Any] = {}
        self._browser: _Browser | None = None
        self._open: FirefoxContext | None = None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            import marionette_driver.marionette  # noqa: F401
        except ImportError:
            return "Mozilla's marionette_driver is not installed."
        return missing_executable(FIREFOX_ENV, find_firefox(), "a Firefox (tried /usr/bin/firefox-esr, "
                                  "firefox-esr and firefox on PATH)")

    def _spawn(self) -> _Browser:
        display = None if self.headless else (self._xvfb.display if self._xvfb else self.display)
        return _Browser(self.executable, prefs=self.prefs, display=display, timeout_ms=self.timeout_ms)

    def _launch(self) -> None:
        if self.executable is None:
            self.executable = find_firefox()
        t0 = time.perf_counter()
        if not self.headless and self.display is None:
            self._xvfb = Xvfb()
            self.startup["xvfb_ms"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        self._browser = self._spawn()
        self.startup["launch_ms"] = (time.perf_counter() - t0) * 1000
        self.version = self._browser.version
        self.prefs_seen = dict(self._browser.chrome("prefs", {"names": list(REPORTED_PREFS)}))

    def _shutdown(self) -> None:
        if self._open is not None and self._open.owns_browser:
            self._open.browser.close()
        self._open = None
        if self._browser is not None:
            self._browser.close()
            self._browser = None
        if self._xvfb is not None:
            self._xvfb.stop()
            self._xvfb = None

    def _new_context(self) -> FirefoxContext:
        if self._open is not None:
            raise EngineError("One Firefox context at a time: leave the open one's `with` block first.")
        if self.isolation == "restart":
            ctx = FirefoxContext(self, self._spawn(), owns_browser=True)
        else:
            ctx = FirefoxContext(self, self._browser, owns_browser=False)
        self._open = ctx
        return ctx

    def _context_closed(self, ctx: FirefoxContext) -> None:
        if ctx.owns_browser:
            ctx.browser.close()
        if self._open is ctx:
            self._open = None

    @property
    def settings(self) -> EngineSettings:
        p = self.prefs_seen
        behaviour = p.get("network.cookie.cookieBehavior")
        return EngineSettings(
            engine=self.name,
            version=self.version or "?",
            profile="regular: a new, non-private profile (browser.privatebrowsing.autostart "
                    f"{p.get('browser.privatebrowsing.autostart')}), HTTP disk cache "
                    f"{'on' if p.get('browser.cache.disk.enable') else 'off'}",
            third_party_cookies=f"network.cookie.cookieBehavior {behaviour}: "
                                f"{COOKIE_BEHAVIOURS.get(behaviour, 'unknown')}; Enhanced Tracking Protection "
                                f"{p.get('browser.contentblocking.category')!r}; SameSite=Lax by default "
                                f"{p.get('network.cookie.sameSite.laxByDefault')}",
            storage_partitioning="State Partitioning (on with cookieBehavior 5): third-party cookies, storage "
                                 "and caches keyed by top-level site; measured for cookies, and a cross-site "
                                 "iframe's localStorage works",
            isolation=("fresh: one browser; about:blank, then Services.clearData CLEAR_ALL"
                       if self.isolation == "clear" else "fresh: a new Firefox on a new profile")
                      + "; runner(): Services.cookies.removeAll() before each scenario, a fresh context after "
                        "storage writes, unique URLs per scenario",
            display=("headless (MOZ_HEADLESS): no WebGL" if self.headless else
                     f"Xvfb {self._xvfb.display}" if self._xvfb else f"X display {self.display}"),
            changed={**{k: PREF_WHY.get(k, repr(v)) for k, v in self.prefs.items()},
                     "(marionette_driver)": "its automation profile: no updates, telemetry, first-run pages "
                                            "or network pings; none of its preferences touch cookies, caches, "
                                            "CORS or canvas"},
            notes=("Console: Services.console (errors and warnings, CORS explanations included); "
                   "console.log calls are not captured.",),
        )


__all__ = ["FIREFOX_ENV", "FirefoxContext", "FirefoxEngine", "INSTALL", "find_firefox"]
