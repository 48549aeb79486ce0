"""The Chromium harness's names, kept for callers written before the engines package.

`ChromiumHarness` is `cors_lab.engines.chromium.ChromiumEngine` (the same class: every engine runs
trial.js through one interface, `cors_lab.engines.base.Engine`); `Scenario` is `cors_lab.trial.Trial`.
New code imports from ``cors_lab.engines`` and ``cors_lab.trial``.
"""

from __future__ import annotations

from .engines.base import DEFAULT_TIMEOUT_MS, BrowserUnavailable
from .engines.chromium import (
    CHROMIUM_ENV,
    DEBIAN_CHROMIUM,
    LAUNCH_ARGS,
    ChromiumEngine,
    browser_unavailable_reason,
    find_chromium,
)
from .trial import TRIAL_OPERATIONS, Trial, as_trial, trial_source

ChromiumHarness = ChromiumEngine
Scenario = Trial
as_scenario = as_trial

__all__ = [
    "BrowserUnavailable",
    "CHROMIUM_ENV",
    "ChromiumHarness",
    "DEBIAN_CHROMIUM",
    "DEFAULT_TIMEOUT_MS",
    "LAUNCH_ARGS",
    "Scenario",
    "TRIAL_OPERATIONS",
    "as_scenario",
    "browser_unavailable_reason",
    "find_chromium",
    "trial_source",
]
