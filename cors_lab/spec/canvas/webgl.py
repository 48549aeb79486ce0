"""WebGL's texImage2D: it refuses a source that is not origin-clean (SecurityError) and never taints.

Owns WebGLCanvas: the upload checks in Chromium's order, its GL errors (INVALID_VALUE, no
exception; the codes getError() returns) and console warnings, per engine profile. Pure: stdlib
only, no pixels, no I/O.
"""

from __future__ import annotations

from ...errors import SecurityError, UsageError
from ..profiles import DEFAULT_PROFILE, FIREFOX_WEBGL_CONSOLE, Profile
from .sources import FIXES, describe_source, is_not_origin_clean, note
from .surfaces import ElementExports, Surface

# What gl.getError() returns for each GL error name (WebGL 1.0, section 5.14 "WebGL context").
GL_ERROR_CODES = {"NO_ERROR": 0, "INVALID_ENUM": 0x0500, "INVALID_VALUE": 0x0501, "INVALID_OPERATION": 0x0502,
                  "OUT_OF_MEMORY": 0x0505, "INVALID_FRAMEBUFFER_OPERATION": 0x0506, "CONTEXT_LOST_WEBGL": 0x9242}


class WebGLCanvas(ElementExports, Surface):
    """A <canvas> with a "webgl" context: texImage2D refuses what would taint, and never taints.

    Spec: https://registry.khronos.org/webgl/specs/latest/1.0/#ORIGIN_RESTRICTIONS
    """

    kind = "canvas"
    CONTEXT = "WebGLRenderingContext"

    def __init__(self, width: int = 300, height: int = 150, *, log: list[str] | None = None,
                 profile: str | Profile = DEFAULT_PROFILE) -> None:
        super().__init__(width, height, log=log, profile=profile)
        self.errors: list[str] = []  # synthesized GL errors, oldest first (what getError() returns)
        self.console: list[str] = []  # Chromium's console warnings, e.g. "WebGL: INVALID_VALUE: ..."

    def get_error(self) -> str:
        """gl.getError(): the oldest recorded GL error name, or "NO_ERROR"."""
        return self.errors.pop(0) if self.errors else "NO_ERROR"

    def _gl_error(self, error: str, description: str) -> None:
        # Blink's SynthesizeGLError: records the error for getError() and prints
        # "WebGL: <ERROR>: <function>: <description>" to the console. No exception.
        if error not in self.errors:
            self.errors.append(error)
        self.console.append(f"WebGL: {error}: texImage2D: {description}")
        note(self.log, f"texImage2D(): GL error {error} ({description}); no exception, no texture", "texImage2D")

    def _security_error(self, text: str) -> None:
        note(self.log, "texImage2D(): the source is not origin-clean, so SecurityError", "webgl-origin-restrictions")
        raise SecurityError(self._message("SecurityError", reason="tainted", method="texImage2D", interface=self.CONTEXT,
                                          text=text), fix=FIXES["webgl"])

    def tex_image_2d(self, source) -> None:
        """gl.texImage2D(target, level, internalformat, format, type, source): upload or refuse.

        A source that is not origin-clean throws SecurityError; a broken image is a GL error
        (INVALID_VALUE), not an exception. Spec: https://registry.khronos.org/webgl/specs/latest/1.0/#TEXIMAGE2D_HTML
        """
        # "If this function is called with an HTMLImageElement or HTMLVideoElement whose origin
        # differs from the origin of the containing Document, or with an HTMLCanvasElement,
        # ImageBitmap or OffscreenCanvas whose bitmap's origin-clean flag is set to false, a
        # SECURITY_ERR exception must be thrown." The spec says nothing of broken images; Chromium
        # (WebGLRenderingContextBase::ValidateHTMLImageElement) synthesizes INVALID_VALUE "invalid
        # image" when the image resource has no response URL (a network error: CORS, ORB, an
        # unreachable server), then checks the taint for any image with a response, decoded or not,
        # then TexImageImpl says "bad image data" when nothing decodes.
        kind = source.kind
        if kind == "img":
            # Deviation: an image that was never fetched maps to "invalid image" too (an <img> with
            # no src at all would say "no image"). The GL error is INVALID_VALUE in every case.
            if source.state in ("unavailable", "broken"):
                if self.profile.has("teximage2d-broken-image-uploads-zeros"):
                    # Choice "teximage2d-broken-image-uploads-zeros" (Firefox ESR 153): no GL error.
                    self.console.append(FIREFOX_WEBGL_CONSOLE["no-data"])
                    note(self.log, f"texImage2D(): the image has no data; {self.profile.engine} uploads zeros, no GL "
                                   "error", "texImage2D")
                    return None
                if source.state == "unavailable" or source.broken_by == "network":
                    return self._gl_error("INVALID_VALUE", "invalid image")
            # Measured in Chromium 156 (2026-11-30): an opaque (no-cors, cross-origin) response that
            # does not decode throws SecurityError, as a decoded one does.
            if is_not_origin_clean(source):
                return self._security_error("The image element contains cross-origin data, and may not be loaded.")
            if source.state == "broken":
                # Deviation "teximage2d-undecodable-image-no-error" (WebKitGTK 2.50): no GL error.
                if self.profile.has("teximage2d-undecodable-image-no-error"):
                    note(self.log, "texImage2D(): the image did not decode; WebKit uploads nothing, no GL error",
                         "texImage2D")
                    return None
                return self._gl_error("INVALID_VALUE", "bad image data")
            # A loaded image of zero size: TexImageImpl finds no pixels, "bad image data" (measured in
            # Chromium 156 on 2026-11-29 with 0x0, 0x10 and 10x0 SVG images; the taint check comes first).
            if source.natural_width == 0 or source.natural_height == 0:
                return self._gl_error("INVALID_VALUE", "bad image data")
        elif kind == "video":
            # ValidateHTMLVideoElement: no videoWidth/videoHeight -> INVALID_VALUE "no video".
            if source.state != "completely available":
                return self._gl_error("INVALID_VALUE", "no video")
            if is_not_origin_clean(source):
                return self._security_error("The video element contains cross-origin data, and may not be loaded.")
        elif kind in ("canvas", "offscreen"):
            # ValidateCanvasRenderingContextHost.
            if is_not_origin_clean(source):
                return self._security_error("Tainted canvases may not be loaded.")
        elif kind == "bitmap":
            # ValidateImageBitmap; "If this function is called with an ImageBitmap that has been
            # neutered, an INVALID_VALUE error is generated."
            if source.detached:
                return self._gl_error("INVALID_VALUE", "The source data has been detached.")
            if is_not_origin_clean(source):
                return self._security_error("The ImageBitmap contains cross-origin data, and may not be loaded.")
        else:
            raise UsageError(f"Not a TexImageSource: {source!r}.")
        # The upload itself. WebGL cannot be tainted: "Due to WebGL's same-origin restrictions, it is
        # not possible to taint the origin using the WebGL API" (Blink, ReadPixelsHelper).
        self.painted = True
        note(self.log, f"texImage2D(): {describe_source(source)} is origin-clean, the texture is uploaded", "texImage2D")
