"""WebKitGTK as a lab engine: Debian's ``WebKitWebDriver`` + ``MiniBrowser``, through Selenium, under Xvfb.

Owns finding the driver, the browser and Xvfb, starting a private X server (and always stopping it),
one WebDriver session per scenario (that is the isolation: see below) and keeping the next session
warm. Must not: download anything (Selenium Manager is never asked: both paths are given), or run
without a display of its own unless told which one to use.

Measured here (WebKitGTK 2.50.6 from Debian, Selenium 4.51, 2 cores shared with other jobs):
- One WebKitWebDriver per live session (it refuses a second: "Maximum number of active sessions");
  a new session (a new MiniBrowser process) 320-420 ms on a quiet machine, 1-2 s at load average
  8-14; its quit 60-70 ms; its first navigation ~250 ms, later ones ~100 ms. A whole scenario:
  median 0.8-1.5 s, bound by the session start. MiniBrowser's ``--headless`` hung here, so the
  engine starts ``Xvfb -displayfd``.
- Isolation: MiniBrowser in ``--automation`` mode always uses an *ephemeral* website data manager
  (WebKit's Tools/MiniBrowser/gtk/main.c: ``(privateMode || automationMode) ?
  webkit_website_data_manager_new_ephemeral() : ...``): cache, cookies and storage live in memory
  and die with the process, so a new session per scenario is a clean profile. A new window in the
  same session shares them (measured), and WebDriver has no command that empties the HTTP cache.
  With ``prestart`` the next session starts (and shows about:blank, which spawns its web process) in
  a thread while the current scenario runs. That is ``Engine.run``'s isolation; `Engine.runner()`
  keeps one session and deletes cookies between scenarios instead (WebDriver's Delete All Cookies, 2-6
  ms, reaches the current document's host only, so a session that opened pages on another host is
  replaced): navigation 55-140 ms + trial 10-70 ms a scenario at load average 7.
- Third parties, with MiniBrowser's defaults (cookies policy no-third-party, ITP off): a cookie set
  by a cross-site image response is not stored; a ``SameSite=None; Secure`` cookie is not stored at
  all on http://localhost (a Lax one is); a cross-site iframe's localStorage works
  (tools/measure_engines.py --third-party).
- No console capture: WebKitWebDriver 2.50 has no log endpoint and no WebDriver BiDi (a session
  asking for ``webSocketUrl`` is refused), and MiniBrowser's
  ``--enable-write-console-messages-to-stdout`` does not reach the automation view.
See https://webkitgtk.org/reference/webkit2gtk/stable/ and
https://www.selenium.dev/documentation/webdriver/browsers/ (WebKitGTK).
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Mapping
from urllib.parse import urlsplit

from .base import (
    GRACE_MS,
    Engine,
    EngineContext,
    EngineError,
    EngineSettings,
    executable,
    find_executable,
    missing_executable,
)
from .display import Xvfb

DRIVER_ENV = "CORS_LAB_WEBKIT_DRIVER"
BROWSER_ENV = "CORS_LAB_WEBKIT_BROWSER"
DEBIAN_DRIVER = "/usr/bin/WebKitWebDriver"
BROWSER_GLOBS = ("/usr/lib/*/webkit2gtk-4.1/MiniBrowser", "/usr/lib/*/webkitgtk-6.0/MiniBrowser",
                 "/usr/libexec/webkit2gtk-4.1/MiniBrowser")
INSTALL = "apt-get install -y webkit2gtk-driver xvfb && pip install selenium"
COOKIE_POLICIES = ("always", "never", "no-third-party")
_SESSION_WAIT_S = 60
COOKIE_WAIT_S = 2.0  # how long forget_cookies waits for WebKit's cookie store to be empty


def find_driver() -> str | None:
    """$CORS_LAB_WEBKIT_DRIVER (no fallback when set), else Debian's WebKitWebDriver, else one on PATH."""
    return find_executable(DRIVER_ENV, (DEBIAN_DRIVER, "WebKitWebDriver"))


def find_browser() -> str | None:
    """$CORS_LAB_WEBKIT_BROWSER (no fallback when set), else WebKitGTK's MiniBrowser where Debian puts it."""
    return find_executable(BROWSER_ENV, [p for pattern in BROWSER_GLOBS for p in sorted(glob.glob(pattern))])


class WebKitContext(EngineContext):
    """One WebDriver session: a MiniBrowser process with its own ephemeral cache, cookies and storage."""

    def __init__(self, engine: "WebKitEngine", driver: Any) -> None:
        super().__init__(engine)
        self.driver = driver
        self._script_timeout_ms: int | None = None
        self._page_load_ms: int | None = None

    def _goto(self, url: str, *, timeout_ms: int) -> None:
        from selenium.common.exceptions import WebDriverException

        try:
            if timeout_ms != self._page_load_ms:
                self.driver.set_page_load_timeout(timeout_ms / 1000)
                self._page_load_ms = timeout_ms
            self.driver.get(url)
        except WebDriverException as e:
            raise EngineError(f"WebKit could not open {url}: {type(e).__name__}: {e.msg}") from e

    def _script(self, command: str, payload: Mapping[str, Any], *, timeout_ms: int) -> Any:
        from selenium.common.exceptions import WebDriverException

        try:
            if timeout_ms != self._script_timeout_ms:
                self.driver.set_script_timeout(timeout_ms / 1000)
                self._script_timeout_ms = timeout_ms
            return self.driver.execute_async_script(self.engine.page_js, command, dict(payload))
        except WebDriverException as e:
            raise EngineError(f"WebKit page script {command!r} failed: {type(e).__name__}: {e.msg}") from e

    def _png(self) -> bytes:
        return self.driver.get_screenshot_as_png()

    def resize(self, width: int, height: int) -> None:
        self.driver.set_window_size(width, height)

    def _console_take(self) -> list[dict[str, str]]:
        return []

    def _forget_cookies(self) -> bool:
        # WebDriver's Delete All Cookies reaches the current document's host only. Only a page can have
        # set a cookie here (the lab's /login; lab images set none), so that is enough while every page
        # opened since the last deletion was on the current document's host.
        from selenium.common.exceptions import WebDriverException

        if not self.hosts:
            return True
        try:
            current = urlsplit(self.driver.current_url).hostname
            if self.hosts != {current}:
                return False
            self.driver.delete_all_cookies()
            # The deletion reaches the network process a little later: under load (average 15-20) a
            # request right after it still carried the cookie, and a cookie set right after it was
            # deleted too (measured). Wait until the store says it is empty.
            deadline = time.monotonic() + COOKIE_WAIT_S
            while self.driver.get_cookies():
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.01)
        except WebDriverException:
            return False
        self.hosts = set()
        return True

    def close(self) -> None:
        self.engine._quit(self.driver)


class WebKitEngine(Engine):
    """WebKitGTK's MiniBrowser over real servers, through WebKitWebDriver; use as a context manager.

    ``display`` None starts a private Xvfb; a string (":99") uses that X display instead.
    ``cookies_policy`` is MiniBrowser's ``--cookies-policy`` (None keeps its default, "no-third-party");
    ``itp`` True adds ``--enable-itp`` (Intelligent Tracking Prevention; MiniBrowser's default is off).
    ``prestart`` starts the next scenario's session in a thread while the current one runs.
    """

    name = "webkit"
    install = INSTALL
    has_console = False

    def __init__(self, *, driver: str | None = None, browser: str | None = None, display: str | None = None,
                 cookies_policy: str | None = None, itp: bool = False, prestart: bool = True,
                 accept_insecure_certs: bool = False, timeout_ms: int = 5000) -> None:
        super().__init__(timeout_ms=timeout_ms)
        if cookies_policy is not None and cookies_policy not in COOKIE_POLICIES:
            raise EngineError(f"cookies_policy must be one of {', '.join(COOKIE_POLICIES)} or None.")
        self.driver_path = driver
        self.browser_path = browser
        self.display = display
        self.cookies_policy = cookies_policy
        self.itp = itp
        self.prestart = prestart
        self.accept_insecure_certs = accept_insecure_certs
        self.session_ms: list[float] = []  # how long each new session took to start
        self._xvfb: Xvfb | None = None
        self._services: list[Any] = []  # WebKitWebDriver processes; each holds one session at most
        self._busy: dict[int, Any] = {}  # id(driver) -> the service it runs on
        self._env: dict[str, str] = {}
        self._log: Any = None
        self._workdir: str | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._spare: Future | None = None
        self._lock = threading.Lock()

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            import selenium.webdriver  # noqa: F401
        except ImportError:
            return "Selenium is not installed."
        for env, found, what in ((DRIVER_ENV, find_driver(), "WebKitWebDriver"),
                                 (BROWSER_ENV, find_browser(), "WebKitGTK's MiniBrowser")):
            problem = missing_executable(env, found, what)
            if problem:
                return problem
        if executable("Xvfb") is None:
            return "No Xvfb found: WebKitGTK needs an X display."
        return None

    # -- life cycle -----------------------------------------------------------------------------------

    def _arguments(self) -> list[str]:
        args = ["--automation"]
        if self.cookies_policy:
            args.append(f"--cookies-policy={self.cookies_policy}")
        if self.itp:
            args.append("--enable-itp")
        return args

    def _options(self) -> Any:
        from selenium.webdriver.webkitgtk.options import Options

        options = Options()
        options.binary_location = self.browser_path
        for arg in self._arguments():
            options.add_argument(arg)
        options.accept_insecure_certs = self.accept_insecure_certs
        return options

    def _launch(self) -> None:

        self.driver_path = self.driver_path or find_driver()
        self.browser_path = self.browser_path or find_browser()
        t0 = time.perf_counter()
        if self.display is None:
            self._xvfb = Xvfb()
        t1 = time.perf_counter()
        self._workdir = tempfile.mkdtemp(prefix="cors-lab-webkit-")
        self._log = open(os.path.join(self._workdir, "webkitwebdriver.log"), "w", encoding="utf-8")
        env = dict(os.environ, DISPLAY=self._xvfb.display if self._xvfb else self.display)
        self._env = env
        self._start_service()
        t2 = time.perf_counter()
        first = self._new_session()
        self.version = str(first.capabilities.get("browserVersion", "?"))
        self.startup.update(xvfb_ms=(t1 - t0) * 1000, driver_ms=(t2 - t1) * 1000, session_ms=self.session_ms[-1])
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cors-lab-webkit")
        self._spare = Future()
        self._spare.set_result(first)

    def _start_service(self) -> Any:
        from selenium.webdriver.webkitgtk.service import Service

        service = Service(executable_path=self.driver_path, log_output=self._log, env=self._env)
        service.start()
        self._services.append(service)
        return service

    def _free_service(self) -> Any:
        """A WebKitWebDriver with no session (it refuses a second one: "Maximum number of active sessions")."""
        with self._lock:
            busy = {id(s) for s in self._busy.values()}
            for service in self._services:
                if id(service) not in busy:
                    return service
        return self._start_service()

    def _new_session(self) -> Any:
        from selenium import webdriver
        from selenium.webdriver.remote.client_config import ClientConfig

        service = self._free_service()
        # Selenium's HTTP client waits forever by default; a browser that never connects must not hang us.
        config = ClientConfig(service.service_url, timeout=max(_SESSION_WAIT_S, (self.timeout_ms + 4 * GRACE_MS) // 1000))
        t0 = time.perf_counter()
        with self._lock:
            self._busy[id(service)] = service  # reserved while the session starts
        try:
            driver = webdriver.Remote(command_executor=service.service_url, options=self._options(), client_config=config)
        finally:
            with self._lock:
                del self._busy[id(service)]
        with self._lock:
            self._busy[id(driver)] = service
            self.session_ms.append((time.perf_counter() - t0) * 1000)
        return driver

    def _warm_session(self) -> Any:
        """A new session that has already shown about:blank: its web process exists (measured: the first
        navigation of a new MiniBrowser costs ~250 ms, a later one ~100 ms)."""
        driver = self._new_session()
        try:
            driver.get("about:blank")
        except Exception:  # a spare that cannot navigate is still a spare; the scenario will say more
            pass
        return driver

    def _quit(self, driver: Any) -> None:
        try:
            driver.quit()
        except Exception:  # the browser may already be gone; closing must not raise
            pass
        with self._lock:
            self._busy.pop(id(driver), None)

    def _shutdown(self) -> None:
        if self._spare is not None:
            try:
                self._quit(self._spare.result(timeout=_SESSION_WAIT_S))
            except Exception:  # a spare that failed to start has nothing to quit
                pass
            self._spare = None
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        for service in self._services:
            try:
                service.stop()
            except Exception:  # a driver that already exited
                pass
        self._services = []
        self._busy = {}
        if self._xvfb is not None:
            self._xvfb.stop()
            self._xvfb = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def _new_context(self) -> WebKitContext:
        spare, self._spare = self._spare, None
        try:
            driver = spare.result(timeout=_SESSION_WAIT_S) if spare is not None else self._new_session()
        except Exception as e:
            raise EngineError(f"WebKit did not start a session: {type(e).__name__}: {e}") from e
        if self.prestart and self._pool is not None:
            self._spare = self._pool.submit(self._warm_session)
        return WebKitContext(self, driver)

    @property
    def settings(self) -> EngineSettings:
        return EngineSettings(
            engine=self.name,
            version=self.version or "?",
            profile="ephemeral: MiniBrowser's automation mode always uses an ephemeral website data manager "
                    "(in-memory cache, cookies and storage, as WebKit's private browsing); no persistent "
                    "profile can be driven",
            third_party_cookies=f"--cookies-policy {self.cookies_policy or 'no-third-party (MiniBrowser default)'}; "
                                f"Intelligent Tracking Prevention {'on (--enable-itp)' if self.itp else 'off (MiniBrowser default)'}",
            storage_partitioning="WebKit's own, not configurable in MiniBrowser: a cross-site iframe's "
                                 "localStorage works (measured); whether it is partitioned was not measured",
            isolation="fresh: a new WebDriver session (a new MiniBrowser process, a new ephemeral data store)"
                      + (", the next one prestarted in a thread" if self.prestart else "")
                      + "; runner(): one session, cookies deleted before each scenario (a new session after "
                        "storage writes or pages on two hosts), unique URLs per scenario",
            display=f"Xvfb {self._xvfb.display}" if self._xvfb else f"X display {self.display}",
            changed={arg: "MiniBrowser argument" for arg in self._arguments()},
            notes=("Console messages are not captured (no log endpoint or BiDi in WebKitWebDriver 2.50).",
                   "navigator.userAgent says Version/60.5 Safari/605.1.15: MiniBrowser's, not Safari's."),
        )


__all__ = ["INSTALL", "WebKitContext", "WebKitEngine", "find_browser", "find_driver"]
