"""cors-lab: learn cross-origin images and tainted canvases by doing, in Jupyter.

    from cors_lab import predict
    predict(page="https://a.test", chain=[("https://b.test/cat.png", 200, [])]).readback  # 'SecurityError'

The pure core (`predict`, `Outcome`, the errors) loads with the package and needs only the standard
library; the engines (`Browser`, `LabCanvas`, `LiveProbe`, `compare`, `Lab`, `start`, `LocalStorage`)
load on first use (PEP 562), so ``import cors_lab`` costs little and a tool calling `predict` never
imports numpy, requests, Pillow or the widget stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    CorsLabError,
    InvalidStateError,
    NetworkError,
    QuotaExceededError,
    SecurityError,
    UsageError,
)
from .outcome import Outcome
from .predict import OPERATIONS, predict

if TYPE_CHECKING:  # what the lazy names are, for type checkers and editors
    from .browser import Browser
    from .comparison import compare
    from .labcanvas import LabCanvas
    from .live import LiveProbe
    from .servers import Lab, start
    from .storage import LocalStorage

__all__ = [
    "Browser",
    "CorsLabError",
    "InvalidStateError",
    "Lab",
    "LabCanvas",
    "LiveProbe",
    "LocalStorage",
    "NetworkError",
    "OPERATIONS",
    "Outcome",
    "QuotaExceededError",
    "SecurityError",
    "UsageError",
    "compare",
    "predict",
    "start",
]
__version__ = "0.1.0"

# The engines, loaded on first use: public name -> the module that owns it.
LAZY = {
    "Browser": "browser",
    "Lab": "servers",
    "LabCanvas": "labcanvas",
    "LiveProbe": "live",
    "LocalStorage": "storage",
    "compare": "comparison",
    "start": "servers",
}


def __getattr__(name: str) -> Any:
    if name not in LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{LAZY[name]}", __name__), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(LAZY))
