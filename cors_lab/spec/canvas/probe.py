"""The predictor's view of one probe: each operation the live browser probe runs, run in the model.

Owns OPERATIONS (what the probe can run), its one validity check, and run_operation, which builds
the canvases the probe builds and reports the exception, the flag read and the rules applied.
Pure: stdlib only, no pixels, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import DOMException, UsageError
from ..profiles import DEFAULT_PROFILE, Profile, get_profile
from .sources import ImageSource, note, source_size
from .surfaces import Canvas, OffscreenCanvas, create_image_bitmap
from .webgl import GL_ERROR_CODES, WebGLCanvas

# What the live probe can run; `run_operation` performs each exactly as the probe does.
OPERATIONS = (
    "drawImage",
    "getImageData",
    "toDataURL",
    "toBlob",
    "captureStream",
    "convertToBlob",
    "texImage2D",
    "createImageBitmap",
    "pattern",
    "canvas-to-canvas",
    "transferToImageBitmap",
)


def check_operation(operation: object, operations: tuple[str, ...] = OPERATIONS) -> str:
    """``operation`` if it is one of ``operations``; else UsageError naming them all (the one check)."""
    if operation not in operations:
        raise UsageError(f"Unknown operation {operation!r}. Use one of: {', '.join(operations)}.")
    return operation  # type: ignore[return-value]


# --- The predictor's view of one probe ------------------------------------------------------------


@dataclass(frozen=True)
class OperationResult:
    """What one probe operation did.

    exception: the DOMException name raised (or rejected with), else None.
    message: that exception's message in the profile's engine; for texImage2D's GL errors, the console warning.
    origin_clean: the flag of the canvas finally read, or None when nothing was painted into it.
    steps: short lines naming each rule applied, with its spec anchor.
    gl_error: texImage2D only: the code gl.getError() returns right after the upload (0: NO_ERROR).
    """

    exception: str | None
    message: str | None
    origin_clean: bool | None
    steps: list[str] = field(default_factory=list)
    gl_error: int | None = None


def run_operation(operation: str, source, *, profile: str | Profile = DEFAULT_PROFILE) -> OperationResult:
    """Perform `operation` on `source` exactly as the live browser probe does, in the model of ``profile``.

    The probe makes a canvas the source's natural size (at least 1x1) and, for the plain canvas
    operations, draws the source at (0, 0) before the operation.

    Spec: https://html.spec.whatwg.org/multipage/canvas.html#security-with-canvas-elements
    """
    check_operation(operation)
    engine = get_profile(profile)
    log: list[str] = []
    if isinstance(source, ImageSource):
        verdict = "CORS-same-origin" if source.cors_same_origin else "CORS-cross-origin"
        text = f'source: response tainting "{source.response_tainting}" makes the image data {verdict}'
        note(log, f'{text}; its state is "{source.state}"', "cors-same-origin")
    # The probe's canvas is the source's natural size, at least 1x1 (trial.js's sizeOf): a broken image
    # that throws nothing (WebKit's, see check_usability) leaves a 1x1 canvas to read.
    width, height = (max(1, n) for n in source_size(source))
    read = None  # the surface whose origin-clean flag is reported
    message = None
    gl_error = None
    try:
        if operation in ("drawImage", "getImageData", "toDataURL", "toBlob", "captureStream"):
            read = Canvas(width, height, log=log, profile=engine)
            read.draw_image(source)
            if operation == "getImageData":
                read.get_image_data(0, 0, width, height)
            elif operation == "toDataURL":
                read.to_data_url()
            elif operation == "toBlob":
                read.to_blob()
            elif operation == "captureStream":
                read.capture_stream()
        elif operation == "convertToBlob":
            read = OffscreenCanvas(width, height, log=log, profile=engine)
            read.draw_image(source)
            read.convert_to_blob()
        elif operation == "texImage2D":
            read = WebGLCanvas(width, height, log=log, profile=engine)
            try:
                read.tex_image_2d(source)
            finally:
                gl_error = GL_ERROR_CODES[read.get_error()]
            if read.console:
                message = read.console[-1]
        elif operation == "createImageBitmap":
            bitmap = create_image_bitmap(source, log=log, profile=engine)
            read = Canvas(bitmap.width, bitmap.height, log=log, profile=engine)
            read.draw_image(bitmap)
            read.get_image_data(0, 0, bitmap.width, bitmap.height)
        elif operation == "pattern":
            read = Canvas(width, height, log=log, profile=engine)
            pattern = read.create_pattern(source, "repeat")
            read.fill_style = pattern
            read.fill_rect(0, 0, width, height)
            read.get_image_data(0, 0, width, height)
        elif operation == "canvas-to-canvas":
            b = Canvas(width, height, log=log, profile=engine)
            b.draw_image(source)
            read = Canvas(width, height, log=log, profile=engine)
            read.draw_image(b)
            read.get_image_data(0, 0, width, height)
        elif operation == "transferToImageBitmap":
            offscreen = OffscreenCanvas(width, height, log=log, profile=engine)
            offscreen.draw_image(source)
            bitmap = offscreen.transfer_to_image_bitmap()
            read = Canvas(width, height, log=log, profile=engine)
            read.draw_image(bitmap)
            read.get_image_data(0, 0, width, height)
    except DOMException as err:
        return OperationResult(err.name, err.message, _flag(read), log, gl_error)
    return OperationResult(None, message, _flag(read), log, gl_error)


def _flag(surface) -> bool | None:
    if surface is None or not surface.painted:
        return None
    return surface.origin_clean
