"""The trial: one canvas experiment as a real page runs it — what is asked, how, and what came back.

Owns the names an experiment may run (the model's canvas operations, plus the guide's localStorage
save that only a real page can run), the one validation of an experiment (`Trial`), the in-page
source ``trial.js``, the message that asks a page for a trial, and the conversion of trial.js's
result into an ``Outcome(engine="browser")``. The Chromium harness, the live probe and `predict`'s
operation list all use it. Pure: stdlib only, no I/O beyond reading the kit's own ``trial.js``.

The postMessage protocol, for a page the requester cannot call into (an opaque-origin sandboxed
frame, or the lab's probe page on another origin); trial.js's ``corsLabServe`` (the one responder) answers:

    requester -> page   {type: "cors-lab-trial", id, spec}     spec = Trial.spec(): the argument of
                                                               trial.js's corsLabTrial(spec)
    page -> requester   {type: "cors-lab-ready", page, operations}   once, when the page listens
                        {type: "cors-lab-result", id, result}        result: what corsLabTrial resolved to

Both requesters — live.js's ``trialMessage`` and the harness's sandbox script — build the request
from a spec made by `Trial.spec`, with the ``id`` the answer is matched on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import CorsLabError, UsageError
from .outcome import LOADS, READBACKS, Outcome
from .spec.canvas import OPERATIONS, check_operation
from .spec.fetch import check_crossorigin

TRIAL_JS = Path(__file__).with_name("trial.js")
# The names trial.js understands (its globalThis.corsLabOperations; a test keeps the two equal): the
# model's operations, plus the guide's localStorage save, which only a real page can run.
TRIAL_OPERATIONS = OPERATIONS + ("localStorage",)
# The ``type`` of each message of the protocol above.
TRIAL_MESSAGE = "cors-lab-trial"
READY_MESSAGE = "cors-lab-ready"
RESULT_MESSAGE = "cors-lab-result"
TRIAL_KEYS = ("url", "crossorigin", "operation", "timeout_ms", "misplaced")
# Where a learner may wrongly put "anonymous" instead of the <img>'s crossorigin attribute (misconceptions
# the course busts): trial.js sets the value there, and the image is requested as with no attribute.
MISPLACED = ("canvas.crossOrigin", "ctx.crossOrigin", "img.origin")


class TrialError(CorsLabError, RuntimeError):
    """A page gave no trial result: it failed, or sent something that is not one; the message says which."""


def check_trial_operation(operation: object) -> str:
    """``operation`` if a real page can run it (`TRIAL_OPERATIONS`); else UsageError naming them."""
    return check_operation(operation, TRIAL_OPERATIONS)


def trial_source() -> str:
    """trial.js, as shipped with the package."""
    return TRIAL_JS.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Trial:
    """One experiment: load ``url`` with this crossorigin attribute, then run ``operation``.

    ``crossorigin`` None means the attribute is absent; any string is set with ``setAttribute``
    (so ``"foo"`` stays ``"foo"`` and means Anonymous). ``timeout_ms`` None: the runner's default.
    ``misplaced`` (one of `MISPLACED`) sets "anonymous" on that property instead of the attribute
    (``crossorigin`` must then be None, and the operation getImageData).
    """

    url: str
    crossorigin: str | None = None
    operation: str = "getImageData"
    timeout_ms: int | None = None
    misplaced: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url or any(ch in self.url for ch in "\r\n\0"):
            raise UsageError(f"url must be one line, e.g. lab.cdn.url('picture.png'); got {self.url!r}.")
        check_crossorigin(self.crossorigin)
        check_trial_operation(self.operation)
        if self.misplaced is not None and (self.misplaced not in MISPLACED or self.crossorigin is not None
                                           or self.operation != "getImageData"):
            raise UsageError(f"misplaced is one of {', '.join(MISPLACED)}, with crossorigin None and the "
                             f"operation getImageData; got {self.misplaced!r}, {self.crossorigin!r}, {self.operation!r}.")

    def spec(self, default_timeout_ms: int) -> dict[str, Any]:
        """The argument of trial.js's ``corsLabTrial(spec)``, and the ``spec`` of a trial message."""
        timeout_ms = default_timeout_ms if self.timeout_ms is None else self.timeout_ms
        spec = {"url": self.url, "crossorigin": self.crossorigin, "operation": self.operation,
                "timeoutMs": timeout_ms}
        if self.misplaced is not None:
            spec["misplaced"] = self.misplaced
        return spec


def as_trial(obj: Trial | Mapping[str, Any]) -> Trial:
    """A `Trial` from itself or a dict ``{url, crossorigin, operation[, timeout_ms]}``."""
    if isinstance(obj, Trial):
        return obj
    if isinstance(obj, Mapping):
        unknown = set(obj) - set(TRIAL_KEYS)
        if unknown:
            raise UsageError(f"Unknown scenario keys {sorted(unknown)}; use {sorted(TRIAL_KEYS)}.")
        return Trial(**obj)
    raise UsageError(f"A scenario is a Trial or a dict with url, crossorigin, operation; got {obj!r}.")


def outcome_from_trial(
    result: Mapping[str, Any],
    *,
    url: str,
    crossorigin: str | None,
    operation: str,
    extra: Mapping[str, Any] | None = None,
    console: str = "",
    elapsed_ms: float | None = None,
) -> Outcome:
    """A trial.js result (``{load, readback, exception, message, page, pixel, steps, ...}``) as an Outcome.

    ``elapsed_ms`` None keeps the page's own timing; ``console`` is the browser's console text, if
    the runner saw it. Raises `TrialError` when the result is not a trial result (a broken page,
    another script).
    """
    if not isinstance(result, Mapping):
        raise TrialError(f"The probe page sent {type(result).__name__}, not a trial result.")
    load, readback = result.get("load"), result.get("readback")
    if load not in LOADS or readback not in READBACKS:
        raise TrialError(f"The probe page sent an unexpected result: load={load!r}, readback={readback!r}.")
    pixel = result.get("pixel")
    details = {
        "in_page_ms": result.get("elapsed_ms"),
        "gl_error": result.get("gl_error"),
        "probe_message": result.get("probe_message"),
        "timed_out": result.get("message") == "timeout",
        **dict(extra or {}),
    }
    return Outcome(
        load=load,
        readback=readback,
        exception=result.get("exception"),
        engine="browser",
        page=str(result.get("page") or ""),
        url=url,
        crossorigin=crossorigin,
        operation=operation,
        message=result.get("message"),
        origin_clean=result.get("origin_clean_guess"),
        console=console,
        steps=tuple(str(s) for s in result.get("steps") or ()),
        pixel=tuple(int(v) for v in pixel) if pixel else None,
        elapsed_ms=result.get("elapsed_ms") if elapsed_ms is None else elapsed_ms,
        extra=details,
    )


__all__ = [
    "MISPLACED",
    "OPERATIONS",
    "READY_MESSAGE",
    "RESULT_MESSAGE",
    "TRIAL_JS",
    "TRIAL_MESSAGE",
    "TRIAL_OPERATIONS",
    "Trial",
    "TrialError",
    "as_trial",
    "check_crossorigin",
    "check_operation",
    "check_trial_operation",
    "outcome_from_trial",
    "trial_source",
]
