"""One interface for the real browser engines: start, an isolated context per scenario, a trial, stop.

Owns what every WebDriver-driven engine shares: the page side (``page.js``: trial.js in a lab page, or
in an opaque-origin sandboxed srcdoc frame answering postMessage), timeouts on every wait, console
capture, timings, the conversion of a trial result into an `Outcome` (``cors_lab.live.outcome_from_trial``,
the one the live probe uses) and the record of the settings an engine ran with.
Must not: serve or intercept requests, or decide what *should* happen (``cors_lab.spec``). A subclass
adds only how to launch its browser, make an isolated context, navigate and run a script.

The trial spec is `cors_lab.harness.Scenario` ``{url, crossorigin, operation, timeout_ms}`` (or the same
dict): one spec for Chromium and the engines here.
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

from ..errors import CorsLabError, UsageError
from ..harness import BrowserUnavailable, Scenario, as_scenario
from ..outcome import Outcome
from ..trial import trial_source

PAGE_JS = Path(__file__).with_name("page.js")
DEFAULT_TIMEOUT_MS = 5000
# Extra time the Python side waits beyond the trial's own timeout before calling the browser stuck.
GRACE_MS = 5000
# An opaque-origin page is a sandboxed srcdoc frame inside this top page unless the caller names one.
BLANK = "about:blank"


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

    Subclasses implement the four driver primitives; everything else is shared.
    """

    def __init__(self, engine: "Engine") -> None:
        self.engine = engine
        self.opaque = False
        self.ready_on: str | None = None  # the page_url trial.js was made callable for
        self.console: list[dict[str, str]] = []
        self.created_ms = 0.0

    # -- driver primitives -------------------------------------------------------------------------

    @abc.abstractmethod
    def _goto(self, url: str, *, timeout_ms: int) -> None:
        """Navigate the tab and wait for the load event; EngineError after timeout_ms."""

    @abc.abstractmethod
    def _script(self, command: str, payload: Mapping[str, Any], *, timeout_ms: int) -> Any:
        """Run page.js with [command, payload] in the top document; EngineError after timeout_ms."""

    @abc.abstractmethod
    def _console_reset(self) -> None:
        """Forget the console messages seen so far (a no-op where the engine exposes none)."""

    @abc.abstractmethod
    def _console_read(self) -> list[dict[str, str]]:
        """Console messages since the last reset: [{"type", "text", "url"}]."""

    @abc.abstractmethod
    def close(self) -> None:
        """End the context; never raises."""

    # -- shared behaviour ----------------------------------------------------------------------------

    def open(self, page_url: str, *, top_url: str | None = None) -> dict[str, float]:
        """Make the trial callable on ``page_url``'s origin, or in an opaque-origin page for ``"null"``.

        ``page_url`` is any URL on the page's origin (an image or a 404 page will do: only its origin
        matters); ``"null"`` is a ``<iframe sandbox="allow-scripts" srcdoc>`` inside ``top_url``
        (default about:blank). Returns {"navigate_ms", "inject_ms"}.
        """
        grace = self.engine.timeout_ms + GRACE_MS
        t0 = time.perf_counter()
        if page_url == "null":
            self._goto(top_url or BLANK, timeout_ms=grace)
            t1 = time.perf_counter()
            answer = self._script("open-sandbox", {"source": self.engine.trial_js, "waitMs": GRACE_MS},
                                  timeout_ms=2 * GRACE_MS)
            self.opaque = True
        else:
            self._goto(page_url, timeout_ms=grace)
            t1 = time.perf_counter()
            answer = self._script("inject", {"source": self.engine.trial_js}, timeout_ms=grace)
            self.opaque = False
        if not isinstance(answer, dict) or "error" in answer:
            raise EngineError(f"{self.engine.name} could not prepare the page {page_url!r}: {answer!r}")
        self.ready_on = page_url
        t2 = time.perf_counter()
        return {"navigate_ms": (t1 - t0) * 1000, "inject_ms": (t2 - t1) * 1000}

    def trial(self, scenario: Scenario | Mapping[str, Any], *, timing: Mapping[str, float] | None = None,
              t_start: float | None = None) -> Outcome:
        """Run one trial in the page opened last; an `Outcome` with ``engine`` = the engine's name."""
        from ..live import (
            outcome_from_trial,  # the live probe's conversion; widgets load on first use
        )

        if self.ready_on is None:
            raise UsageError("Open a page first: context.open(page_url).")
        s = as_scenario(scenario)
        t_start = time.perf_counter() if t_start is None else t_start
        timeout_ms = s.timeout_ms if s.timeout_ms is not None else self.engine.timeout_ms
        spec = {"url": s.url, "crossorigin": s.crossorigin, "operation": s.operation, "timeoutMs": timeout_ms}
        self._console_reset()
        t0 = time.perf_counter()
        result = self._script("trial", {"spec": spec, "opaque": self.opaque, "waitMs": timeout_ms + GRACE_MS},
                              timeout_ms=timeout_ms + 2 * GRACE_MS)
        t1 = time.perf_counter()
        if not isinstance(result, dict) or "error" in result:
            raise EngineError(f"trial.js failed in {self.engine.name} for {s}: {result!r}")
        console = self._console_read()
        if result.get("load") == "error" and not console and self.engine.has_console:
            # An engine's CORS explanation may reach its console just after the error event; one beat.
            time.sleep(0.05)
            console = self._console_read()
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

        A JavaScript exception becomes EngineError naming it.
        """
        wait = (timeout_ms or self.engine.timeout_ms) + GRACE_MS
        answer = self._script("evaluate", {"fn": fn, "arg": arg}, timeout_ms=wait)
        if not isinstance(answer, dict) or "error" in answer:
            raise EngineError(f"evaluate failed in {self.engine.name}: {answer!r}")
        return answer["value"]


class Engine(abc.ABC):
    """A real browser engine over real servers; use as a context manager.

    ``name`` ("firefox", "webkit") becomes ``Outcome.engine``; ``version`` and ``settings`` say what
    was measured. Every `context()` is isolated from every other (``settings.isolation`` says how).
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

    def start(self) -> "Engine":
        if self._started:
            return self
        reason = self.unavailable_reason()
        if reason:
            raise EngineUnavailable(self.name, reason, self.install)
        t0 = time.perf_counter()
        try:
            self._launch()
        except EngineUnavailable:
            self._shutdown()
            raise
        except Exception as e:
            self._shutdown()
            raise EngineUnavailable(self.name, f"the browser did not start: {type(e).__name__}: {e}.",
                                    self.install) from e
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

    # -- runs (the same shape as ChromiumHarness) ------------------------------------------------------

    def run(self, scenarios: Iterable[Scenario | Mapping[str, Any]], *, page_url: str,
            top_url: str | None = None, fresh_context: bool = True) -> list[Outcome]:
        """Run each scenario from a page on ``page_url``'s origin (``"null"``: opaque); one Outcome each.

        ``fresh_context`` True gives every scenario its own isolated context; False runs them all in
        one document (faster, but they share every cache). ``Outcome.elapsed_ms`` is the scenario's
        wall time including context and navigation; ``extra["timing"]`` splits it.
        """
        items = [as_scenario(s) for s in scenarios]
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
        return self.run([Scenario(url, crossorigin, operation, timeout_ms)], page_url=page_url)[0]

    def run_sequence(self, scenarios: Iterable[Scenario | Mapping[str, Any]], *, page_url: str,
                     top_url: str | None = None, same_document: bool = False) -> list[Outcome]:
        """Run scenarios in order in ONE context, so they share its HTTP cache (the cache lessons).

        Each scenario gets a new document unless ``same_document`` (which also shares the document's
        own list of available images, as in one notebook page).
        """
        items = [as_scenario(s) for s in scenarios]
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

    def __repr__(self) -> str:
        state = f"{self.version or '?'}, started" if self._started else "stopped"
        return f"<{type(self).__name__} {state}>"


__all__ = ["BLANK", "DEFAULT_TIMEOUT_MS", "Engine", "EngineContext", "EngineError", "EngineSettings",
           "EngineUnavailable", "GRACE_MS", "PAGE_JS", "executable", "find_executable", "missing_executable",
           "page_script"]
