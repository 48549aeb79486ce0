"""Canvas origin-clean rules: which image sources are origin-clean, what taints or cleans a bitmap,
and which checks throw before any pixel is read.

The HTML canvas side of cross-origin images, one owner per module (import them all from here):

- ``sources.py``: image sources (<img>, <video>, ImageBitmap), the usability check, "is not
  origin-clean", the rule -> anchor table and Chromium's exception texts;
- ``surfaces.py``: <canvas> ("2d", "bitmaprenderer"), OffscreenCanvas, patterns, readback and
  createImageBitmap;
- ``webgl.py``: WebGL's texImage2D, which refuses instead of tainting;
- ``probe.py``: ``run_operation``, the predictor's view of one live-probe operation.

Pure: stdlib only, no pixels, no I/O. Exceptions carry Chromium's console text and a fix in plain words.
"""

from __future__ import annotations

from .probe import OPERATIONS, OperationResult, check_operation, run_operation
from .sources import (
    CANVAS_IMAGE_SOURCE_KINDS,
    FIXES,
    HTML,
    IMAGE_STATE_USABILITY,
    IMAGE_STATES,
    RESPONSE_TAINTING_CORS_SAME_ORIGIN,
    SPEC,
    UNUSABLE_TEXT,
    WEBGL,
    ImageBitmap,
    ImageSource,
    check_usability,
    is_not_origin_clean,
)
from .surfaces import (
    BitmapRendererCanvas,
    Canvas,
    CanvasPattern,
    OffscreenCanvas,
    Readback,
    create_image_bitmap,
)
from .webgl import WebGLCanvas

__all__ = [
    "CANVAS_IMAGE_SOURCE_KINDS",
    "FIXES",
    "HTML",
    "IMAGE_STATES",
    "IMAGE_STATE_USABILITY",
    "OPERATIONS",
    "RESPONSE_TAINTING_CORS_SAME_ORIGIN",
    "SPEC",
    "UNUSABLE_TEXT",
    "WEBGL",
    "BitmapRendererCanvas",
    "Canvas",
    "CanvasPattern",
    "ImageBitmap",
    "ImageSource",
    "OffscreenCanvas",
    "OperationResult",
    "Readback",
    "WebGLCanvas",
    "check_operation",
    "check_usability",
    "create_image_bitmap",
    "is_not_origin_clean",
    "run_operation",
]
