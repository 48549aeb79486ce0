"""One interface for the real browser engines: start, an isolated context per scenario, a trial, stop.

Owns what every engine shares (Chromium, Firefox ESR, WebKitGTK): the page side (``page.js``: trial.js
in a lab page, or in an opaque-origin sandboxed srcdoc frame answering postMessage), timeouts on every
wait, console capture, timings, the conversion of a trial result into an `Outcome`
(``cors_lab.trial.outcome_from_trial``, the one the live probe uses), the record of the settings an
engine ran with, and the two ways scenarios are kept apart:

- ``Engine.context()``: a new context with nothing in it (no cache, cookies or storage), the strong
  way, one per scenario in ``Engine.run``; costs 0.2-1.5 s a scenario depending on the engine;
- ``Engine.runner()``: one context reused for scenario after scenario, each isolated from the ones
  before by `ScenarioRunner` (cookies deleted, storage writers get a new context, and every scenario's
  URLs are its own so cache entries cannot meet): the conformance suite's way, 5-10x cheaper.

Must not: serve or intercept requests, or decide what *should* happen (``cors_lab.spec``). A subclass
adds only how to launch its browser, make an isolated context, navigate, run a script and delete cookies.

The trial spec is `cors_lab.trial.Trial` ``{url, crossorigin, operation, timeout_ms}`` (or the same dict).
"""

from __future__ import annotations

import abc
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterable, Iterator, Mapping
from urllib.parse import urlsplit

from ..errors import CorsLabError, UsageError
from ..outcome import Outcome
from ..trial import Trial, as_trial, outcome_from_trial, trial_source

PAGE_JS = Path(__file__).with_name("page.js")
DEFAULT_TIMEOUT_MS = 5000
# Extra time the Python side waits beyond the trial's own timeout before calling the browser stuck.
GRACE_MS = 5000
# An opaque-origin page is a sandboxed srcdoc frame inside this top page unless the caller names one.
BLANK = "about:blank"
# Renames (history.replaceState) one document takes before the page is loaded afresh instead: WebKit
# throws SecurityError "Attempt to use history.replaceState() more than 100 times per 10 seconds"
# (measured in WebKitGTK 2.50 running the matrix alone; Firefox allows 200), and each new document
# counts from zero.
RENAMES_PER_DOCUMENT = 90


class BrowserUnavailable(CorsLabError, RuntimeError):
    """No browser (or no driver for it) to run; ``reason`` says what is missing and how to get it."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class EngineUnavailable(BrowserUnavailable):
    """This engine cannot run here; ``reason`` says what is missing, ``install`` the command that fixes it."""

    def __init__(self, engine: str, reason: str, install: str) -> None:
        self.engine = engine
        self.install = install
        super().__init__(f"{engine}: {reason} Install: {install}")


class EngineError(CorsLabError, RuntimeError):
    """The engine did not do what the driver asked (a navigation or script timed out, the browser died)."""


@dataclass(frozen=True)
class EngineSettings:
    """The browser settings a run measured, so a result is never quoted without them.

    ``profile``: "regular" (a fresh, non-private profile, as a new user has) or "private"/"ephemeral";
    ``third_party_cookies`` and ``storage_partitioning``: the engine's policy in its own words and
    preference names; ``isolation``: how one scenario is kept from seeing another's cache, cookies and
    storage; ``changed``: every setting the kit changed from the engine's defaults, with why.
    """

    engine: str
    version: str
    profile: str
    third_party_cookies: str
    storage_partitioning: str
    isolation: str
    display: str
    changed: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["changed"] = dict(self.changed)
        out["notes"] = list(self.notes)
        return out


def executable(candidate: str | None) -> str | None:
    """``candidate`` if it is an executable file (a bare name is looked up on PATH), else None."""
    if not candidate:
        return None
    path = candidate if os.sep in candidate else shutil.which(candidate)
    return path if path and os.path.isfile(path) and os.access(path, os.X_OK) else None


def find_executable(env: str, candidates: Iterable[str]) -> str | None:
    """$env when set (None if that is not executable: never a silent fallback), else the first candidate."""
    wanted = os.environ.get(env)
    if wanted:
        return executable(wanted)
    return next((found for found in map(executable, candidates) if found), None)


def missing_executable(env: str, found: str | None, what: str) -> str | None:
    """Why ``what`` is missing (naming $env when that points nowhere), or None when ``found``."""
    if found:
        return None
    wanted = os.environ.get(env)
    if wanted:
        return f"${env}={wanted!r} is not an executable file (point it at {what} or unset it)."
    return f"No {what} found."


def page_script() -> str:
    """page.js, as shipped with the package."""
    return PAGE_JS.read_text(encoding="utf-8")


class EngineContext(abc.ABC):
    """One isolated browsing context (no cache, cookies or storage from any other context) with one tab.

    Subclasses implement the driver primitives; everything else is shared. ``dirty`` becomes True once
    the context may hold state that `forget_cookies` cannot remove (storage written by a trial or by
    `evaluate`): a `ScenarioRunner` then replaces it.
    """

    def __init__(self, engine: "Engine") -> None:
        self.engine = engine
        self.opaque = False
        self.ready_on: str | None = None  # the page_url trial.js was made callable for
        self.console: list[dict[str, str]] = []
        self.created_ms = 0.0
        self.dirty = False
        self.hosts: set[str] = set()  # hosts of the pages opened (where a page could have set cookies)
        self.on_blank = True  # the tab shows about:blank (a new tab's first document, or navigated there)
        self.document: str | None = None  # the URL the current document has (after any replaceState)
        self._has_trial = False  # trial.js is defined in the current (top) document
        self._rename: str | None = None  # history.replaceState to this URL with the next script call
        self._renames = 0  # renames the current document has had

    # -- driver primitives -------------------------------------------------------------------------

    @abc.abstractmethod
    def _goto(self, url: str, *, timeout_ms: int) -> None:
        """Navigate the tab and wait for the load event; EngineError after timeout_ms."""

    @abc.abstractmethod
    def _script(self, command: str, payload: Mapping[str, Any], *, timeout_ms: int) -> Any:
        """Run page.js with [command, payload] in the top document; EngineError after timeout_ms."""

    @abc.abstractmethod
    def _png(self) -> bytes:
        """What the tab shows (its viewport), as PNG bytes."""

    @abc.abstractmethod
    def resize(self, width: int, height: int) -> None:
        """Size the window (Chromium: the viewport) to ``width`` x ``height`` CSS pixels."""

    def screenshot(self, path: "str | os.PathLike[str]") -> str:
        """Save what the tab shows as a PNG at ``path`` (for e2e tests and reports); returns the path."""
        data = self._png()
        with open(path, "wb") as f:
            f.write(data)
        return str(path)

    @abc.abstractmethod
    def _console_take(self) -> list[dict[str, str]]:
        """Console messages [{"type", "text", "url"}] since the page was opened or since the last take,
        which are then forgotten (always [] where the engine exposes none)."""

    @abc.abstractmethod
    def _forget_cookies(self) -> bool:
        """Delete this context's cookies; False when this engine cannot be sure every one is gone."""

    @abc.abstractmethod
    def close(self) -> None:
        """End the context; never raises."""

    # -- shared behaviour ----------------------------------------------------------------------------

    def forget_cookies(self) -> bool:
        """Delete every cookie this context holds (its cache and storage stay); False if it cannot.

        Cookies are the one kind of state a lab scenario leaves behind (its /login page sets one);
        `ScenarioRunner` calls this between scenarios and replaces the context when it returns False.
        """
        return not self.dirty and self._forget_cookies()

    def open(self, page_url: str, *, top_url: str | None = None, navigate: bool = True) -> dict[str, float]:
        """Make the trial callable on ``page_url``'s origin, or in an opaque-origin page for ``"null"``.

        ``page_url`` is any URL on the page's origin (an image or a 404 page will do: only its origin
        and, for the Referer, its URL matter); ``"null"`` is a ``<iframe sandbox="allow-scripts"
        srcdoc>`` inside ``top_url`` (default: about:blank, the tab's first document when it has not
        navigated yet). ``navigate`` False, when the current document has the page's origin already,
        gives that document the page's URL with ``history.replaceState`` instead of loading it (the
        Referer's source is the document's URL; nothing else of the page is used), with the next
        script call. trial.js itself is injected with the first trial (the same round trip).
        Returns {"navigate_ms", "inject_ms"}.
        """
        grace = self.engine.timeout_ms + GRACE_MS
        t0 = time.perf_counter()
        target = (top_url or BLANK) if page_url == "null" else page_url
        host = urlsplit(target).hostname
        if host:
            self.hosts.add(host)
        if not navigate and target != BLANK and self.document and _origin(self.document) == _origin(target) \
                and self._renames < RENAMES_PER_DOCUMENT:
            self._rename = target
            self._renames += 1
        # A new tab's first document is about:blank already. Chromium treats a *navigated* about:blank
        # as a public, non-secure page (Local Network Access), whose frames may not load loopback
        # images, unlike the first one: reused contexts should give a top_url on the lab's origin.
        elif target != BLANK or not self.on_blank:
            self._goto(target, timeout_ms=grace)
            self._has_trial, self._rename, self._renames = False, None, 0
        self.on_blank = target == BLANK
        self.document = None if target == BLANK else target
        t1 = time.perf_counter()
        if page_url == "null":
            answer = self._script("open-sandbox", self._with_rename({"source": self.engine.trial_js, "waitMs": GRACE_MS}),
                                  timeout_ms=2 * GRACE_MS)
            if not isinstance(answer, dict) or "error" in answer:
                raise EngineError(f"{self.engine.name} could not prepare the page {page_url!r}: {answer!r}")
        self.opaque = page_url == "null"
        self.ready_on = page_url
        t2 = time.perf_counter()
        return {"navigate_ms": (t1 - t0) * 1000, "inject_ms": (t2 - t1) * 1000}

    def _with_rename(self, payload: dict[str, Any]) -> dict[str, Any]:
        if self._rename:
            payload["url"], self._rename = self._rename, None
        return payload

    def trial(self, scenario: Trial | Mapping[str, Any], *, timing: Mapping[str, float] | None = None,
              t_start: float | None = None) -> Outcome:
        """Run one trial in the page opened last; an `Outcome` with ``engine`` = the engine's name."""
        if self.ready_on is None:
            raise UsageError("Open a page first: context.open(page_url).")
        s = as_trial(scenario)
        t_start = time.perf_counter() if t_start is None else t_start
        timeout_ms = s.timeout_ms if s.timeout_ms is not None else self.engine.timeout_ms
        payload = self._with_rename({"spec": s.spec(timeout_ms), "opaque": self.opaque, "waitMs": timeout_ms + GRACE_MS})
        if not self.opaque and not self._has_trial:
            payload["source"] = self.engine.trial_js
        if s.operation == "localStorage":
            self.dirty = True  # the guide's save writes this origin's localStorage
        t0 = time.perf_counter()
        result = self._script("trial", payload, timeout_ms=timeout_ms + 2 * GRACE_MS)
        t1 = time.perf_counter()
        if not isinstance(result, dict) or "error" in result:
            raise EngineError(f"trial.js failed in {self.engine.name} for {s}: {result!r}")
        self._has_trial = self._has_trial or not self.opaque
        console = self._console_take()
        if result.get("load") == "error" and not console and self.engine.has_console:
            # An engine's CORS explanation may reach its console just after the error event; one beat.
            time.sleep(0.05)
            console = self._console_take()
        self.console = console
        outcome = outcome_from_trial(result, url=s.url, crossorigin=s.crossorigin, operation=s.operation, extra={
            "page_url": self.ready_on,
            "timing": dict(timing or {}, trial_ms=(t1 - t0) * 1000, in_page_ms=result.get("elapsed_ms")),
            "console_messages": console,
            "engine_version": self.engine.version,
        })
        return outcome.with_engine(self.engine.name, console="\n".join(m["text"] for m in console),
                                   elapsed_ms=(time.perf_counter() - t_start) * 1000)

    def evaluate(self, fn: str, arg: Any = None, *, timeout_ms: int | None = None) -> Any:
        """``(fn)(arg)`` in the top document, awaited, like Playwright's ``page.evaluate``; JSON back.

        A JavaScript exception becomes EngineError naming it. The context counts as ``dirty`` after
        this (the function may have written storage).
        """
        self.dirty = True
        wait = (timeout_ms or self.engine.timeout_ms) + GRACE_MS
        answer = self._script("evaluate", self._with_rename({"fn": fn, "arg": arg}), timeout_ms=wait)
        if not isinstance(answer, dict) or "error" in answer:
            raise EngineError(f"evaluate failed in {self.engine.name}: {answer!r}")
        return answer["value"]

    def webgl_renderer(self) -> str | None:
        """The WebGL renderer string in the page opened last (None: no WebGL, texImage2D says NoWebGL)."""
        answer = self._script("webgl-renderer", {}, timeout_ms=self.engine.timeout_ms + GRACE_MS)
        if not isinstance(answer, dict) or "error" in answer:
            raise EngineError(f"{self.engine.name} could not ask for WebGL: {answer!r}")
        return answer["value"]


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


class ScenarioRunner:
    """Scenario after scenario in one reused context, each isolated from every one before it.

    ``run(trials, page_url=...)`` runs one scenario (its trials in order, each in a new document on
    ``page_url``, sharing the cache: the cache lessons). Before each scenario the runner makes sure
    nothing of the previous ones can be seen:

    - cookies: deleted (`EngineContext.forget_cookies`);
    - storage: only a trial of the guide's save ("localStorage") or an ``evaluate`` writes it; such a
      context is replaced by a new one (so is one whose cookies the engine cannot delete for certain);
    - HTTP and image caches: kept. Their entries are keyed by URL, so a scenario can only meet entries
      for URLs it loads itself; callers give every scenario URLs of its own (conformance puts a nonce
      in every image and page URL; tests/test_scenarios.py checks that no two scenarios share one).
      A scenario that must start with an empty cache whatever its URLs passes ``fresh=True``.

    tests/engines/test_engines.py proves each point per engine (cookie, storage and the cache control).
    """

    def __init__(self, engine: "Engine") -> None:
        self.engine = engine
        self.context: EngineContext | None = None
        self.fresh_contexts = 0  # how many contexts were made (1 + replacements)

    def _context(self, *, fresh: bool) -> tuple[EngineContext, float]:
        t0 = time.perf_counter()
        ctx = self.context
        if ctx is not None and (fresh or not ctx.forget_cookies()):
            ctx.close()
            ctx = None
        if ctx is None:
            ctx = self.context = self.engine._new_context()
            self.fresh_contexts += 1
        return ctx, (time.perf_counter() - t0) * 1000

    def run(self, trials: Iterable[Trial | Mapping[str, Any]], *, page_url: str, top_url: str | None = None,
            fresh: bool = False, navigate: bool = True) -> list[Outcome]:
        """One scenario: its trials in order, isolated from the scenarios before.

        ``navigate`` True loads ``page_url`` (or ``top_url``) for every trial; False reuses the
        current document when it has that origin, renamed to the page's URL (see `EngineContext.open`):
        what a page that only has to *be* on an origin needs, several times cheaper. A page whose
        loading matters (a login page setting a cookie) needs ``navigate`` True.
        """
        items = [as_trial(t) for t in trials]
        t_start = time.perf_counter()
        ctx, isolation_ms = self._context(fresh=fresh)
        out = []
        for i, trial in enumerate(items):
            t0 = t_start if i == 0 else time.perf_counter()
            timing = {"isolation_ms": isolation_ms if i == 0 else 0.0}
            timing.update(ctx.open(page_url, top_url=top_url, navigate=navigate))
            out.append(ctx.trial(trial, timing=timing, t_start=t0))
        return out

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None


class Engine(abc.ABC):
    """A real browser engine over real servers; use as a context manager.

    ``name`` ("chromium", "firefox", "webkit") becomes ``Outcome.engine``; ``version`` and ``settings``
    say what was measured. Every `context()` is isolated from every other (``settings.isolation`` says
    how); `runner()` isolates scenarios more cheaply inside one context (see `ScenarioRunner`).
    """

    name: ClassVar[str]
    install: ClassVar[str]  # the command that makes `unavailable_reason` return None
    has_console: ClassVar[bool] = True  # whether console messages (CORS explanations) are captured

    def __init__(self, *, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        if not (isinstance(timeout_ms, int) and 100 <= timeout_ms <= 60_000):
            raise UsageError(f"timeout_ms must be an int between 100 and 60000, not {timeout_ms!r}.")
        self.timeout_ms = timeout_ms
        self.trial_js = trial_source()
        self.page_js = page_script()
        self.startup: dict[str, float] = {}
        self.version: str | None = None
        self._started = False

    # -- what subclasses provide -----------------------------------------------------------------------

    @classmethod
    @abc.abstractmethod
    def unavailable_reason(cls) -> str | None:
        """Why this engine cannot run here (one sentence), or None. Cheap: launches nothing."""

    @abc.abstractmethod
    def _launch(self) -> None:
        """Start the browser (and whatever it needs); sets ``self.version``."""

    @abc.abstractmethod
    def _shutdown(self) -> None:
        """Stop everything _launch started; never raises."""

    @abc.abstractmethod
    def _new_context(self) -> EngineContext:
        """A new isolated context."""

    @property
    @abc.abstractmethod
    def settings(self) -> EngineSettings:
        """The settings this engine runs with (valid after start)."""

    # -- life cycle -----------------------------------------------------------------------------------

    def _unavailable(self, reason: str) -> EngineUnavailable:
        return EngineUnavailable(self.name, reason, self.install)

    def _why_unavailable(self) -> str | None:
        """`unavailable_reason` for this instance (an engine given an explicit executable overrides it)."""
        return self.unavailable_reason()

    def start(self) -> "Engine":
        if self._started:
            return self
        reason = self._why_unavailable()
        if reason:
            raise self._unavailable(reason)
        t0 = time.perf_counter()
        try:
            self._launch()
        except EngineUnavailable:
            self._shutdown()
            raise
        except UsageError:
            self._shutdown()
            raise
        except Exception as e:
            self._shutdown()
            raise self._unavailable(f"the browser did not start: {type(e).__name__}: {e}.") from e
        self.startup["total_ms"] = (time.perf_counter() - t0) * 1000
        self._started = True
        return self

    def stop(self) -> None:
        self._started = False
        self._shutdown()

    def __enter__(self) -> "Engine":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def startup_ms(self) -> float | None:
        return self.startup.get("total_ms")

    def _require_started(self) -> None:
        if not self._started:
            raise UsageError(f"The {self.name} engine is not started: use `with {type(self).__name__}() as e:`.")

    @contextmanager
    def context(self) -> Iterator[EngineContext]:
        """An isolated context, closed on leaving the block."""
        self._require_started()
        t0 = time.perf_counter()
        ctx = self._new_context()
        ctx.created_ms = (time.perf_counter() - t0) * 1000
        try:
            yield ctx
        finally:
            ctx.close()

    @contextmanager
    def runner(self) -> Iterator[ScenarioRunner]:
        """A `ScenarioRunner`: many scenarios in one reused context, each isolated from the last."""
        self._require_started()
        runner = ScenarioRunner(self)
        try:
            yield runner
        finally:
            runner.close()

    # -- runs ------------------------------------------------------------------------------------------

    def run(self, scenarios: Iterable[Trial | Mapping[str, Any]], *, page_url: str,
            top_url: str | None = None, fresh_context: bool = True) -> list[Outcome]:
        """Run each scenario from a page on ``page_url``'s origin (``"null"``: opaque); one Outcome each.

        ``fresh_context`` True gives every scenario its own isolated context; False runs them all in
        one document (faster, but they share every cache). ``Outcome.elapsed_ms`` is the scenario's
        wall time including context and navigation; ``extra["timing"]`` splits it.
        """
        items = [as_trial(s) for s in scenarios]
        if not fresh_context:
            return self.run_sequence(items, page_url=page_url, top_url=top_url, same_document=True)
        out = []
        for s in items:
            t0 = time.perf_counter()
            with self.context() as ctx:
                timing = {"context_ms": ctx.created_ms}
                timing.update(ctx.open(page_url, top_url=top_url))
                out.append(ctx.trial(s, timing=timing, t_start=t0))
        return out

    def run_one(self, url: str, *, page_url: str, crossorigin: str | None = None,
                operation: str = "getImageData", timeout_ms: int | None = None) -> Outcome:
        """One scenario in a fresh context."""
        return self.run([Trial(url, crossorigin, operation, timeout_ms)], page_url=page_url)[0]

    def run_sequence(self, scenarios: Iterable[Trial | Mapping[str, Any]], *, page_url: str,
                     top_url: str | None = None, same_document: bool = False) -> list[Outcome]:
        """Run scenarios in order in ONE context, so they share its HTTP cache (the cache lessons).

        Each scenario gets a new document unless ``same_document`` (which also shares the document's
        own list of available images, as in one notebook page).
        """
        items = [as_trial(s) for s in scenarios]
        out = []
        t_ctx = time.perf_counter()
        with self.context() as ctx:
            for i, s in enumerate(items):
                t0 = t_ctx if i == 0 else time.perf_counter()
                timing = {"context_ms": ctx.created_ms if i == 0 else 0.0}
                if not same_document or ctx.ready_on != page_url:
                    timing.update(ctx.open(page_url, top_url=top_url))
                out.append(ctx.trial(s, timing=timing, t_start=t0))
        return out

    def evaluate(self, fn: str, arg: Any = None, *, page_url: str) -> Any:
        """``(fn)(arg)`` on a page at ``page_url`` in a fresh context (``"null"`` is not supported)."""
        with self.context() as ctx:
            ctx.open(page_url)
            return ctx.evaluate(fn, arg)

    def webgl_renderer(self, *, page_url: str = BLANK) -> str | None:
        """The WebGL renderer string in a fresh context (None: no WebGL, so texImage2D reports NoWebGL)."""
        with self.context() as ctx:
            if page_url != BLANK:
                ctx.open(page_url)
            return ctx.webgl_renderer()

    def __repr__(self) -> str:
        state = f"{self.version or '?'}, started" if self._started else "stopped"
        return f"<{type(self).__name__} {state}>"


__all__ = ["BLANK", "DEFAULT_TIMEOUT_MS", "BrowserUnavailable", "Engine", "EngineContext", "EngineError",
           "EngineSettings", "EngineUnavailable", "GRACE_MS", "PAGE_JS", "ScenarioRunner", "executable",
           "find_executable", "missing_executable", "page_script"]
