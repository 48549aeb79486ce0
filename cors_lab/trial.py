"""The trial: one canvas experiment as every engine runs it — its operations, their checks, its source.

Owns the names an experiment may run (the model's canvas operations, plus the guide's localStorage
save that only a real page can run), the one validation of an experiment's arguments, and the
in-page source ``trial.js`` that the Chromium harness, the live probe and the probe page all load.
Pure: stdlib only, no I/O beyond reading the kit's own ``trial.js``.
"""

from __future__ import annotations

from pathlib import Path

from .spec.canvas import OPERATIONS, check_operation
from .spec.fetch import check_crossorigin

TRIAL_JS = Path(__file__).with_name("trial.js")
# The names trial.js understands (its globalThis.corsLabOperations; a test keeps the two equal): the
# model's operations, plus the guide's localStorage save, which only a real page can run.
TRIAL_OPERATIONS = OPERATIONS + ("localStorage",)


def check_trial_operation(operation: object) -> str:
    """``operation`` if a real page can run it (`TRIAL_OPERATIONS`); else UsageError naming them."""
    return check_operation(operation, TRIAL_OPERATIONS)


def trial_source() -> str:
    """trial.js, as shipped with the package."""
    return TRIAL_JS.read_text(encoding="utf-8")


__all__ = ["OPERATIONS", "TRIAL_JS", "TRIAL_OPERATIONS", "check_crossorigin", "check_operation",
           "check_trial_operation", "trial_source"]
