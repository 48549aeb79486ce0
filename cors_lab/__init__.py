"""cors-lab: learn cross-origin images and tainted canvases by doing, in Jupyter.

    from cors_lab import predict
    predict(page="https://a.test", chain=[("https://b.test/cat.png", 200, [])]).readback  # 'SecurityError'
"""

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
from .browser import Browser
from .labcanvas import LabCanvas
from .comparison import compare
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
