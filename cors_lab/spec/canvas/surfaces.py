"""Canvas bitmaps and their origin-clean flag: what taints a canvas, what cleans it, what reads it.

Owns <canvas> with a "2d" or "bitmaprenderer" context, OffscreenCanvas, patterns, readback
(getImageData, toDataURL, toBlob, captureStream, convertToBlob) and createImageBitmap. Every surface
belongs to an engine ``profile`` (profiles.py; default "chromium"), which decides what cleans a
tainted bitmap and the exceptions' texts. Pure: stdlib only, no pixels, no I/O. The sources they
draw come from sources.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import IndexSizeError, InvalidStateError, SecurityError, UsageError
from ..profiles import DEFAULT_PROFILE, Profile, get_profile
from .sources import (
    CANVAS_IMAGE_SOURCE_KINDS,
    FIXES,
    UNUSABLE_TEXT,
    ImageBitmap,
    ImageSource,
    check_usability,
    describe_source,
    dom_message,
    is_not_origin_clean,
    note,
    source_size,
)


@dataclass(frozen=True)
class CanvasPattern:
    """A pattern; it records at creation whether its image was origin-clean.

    Spec: https://html.spec.whatwg.org/multipage/canvas.html#canvaspattern
    """

    origin_clean: bool
    repetition: str = "repeat"


@dataclass(frozen=True)
class Readback:
    """What a successful readback returns: "ImageData", "Blob" or "MediaStream", and its size."""

    what: str
    width: int
    height: int



# --- Canvases -------------------------------------------------------------------------------------


class Surface:
    """A bitmap with an origin-clean flag, a size and a log of the rules applied to it."""

    kind = "canvas"
    ELEMENT = "HTMLCanvasElement"

    def __init__(self, width: int = 300, height: int = 150, *, log: list[str] | None = None,
                 profile: str | Profile = DEFAULT_PROFILE) -> None:
        if width < 0 or height < 0:
            raise UsageError(f"A canvas size cannot be negative ({width}x{height}).")
        self.profile = get_profile(profile)
        self.width = width
        self.height = height
        # "Initially, when the canvas element is created, its bitmap's origin-clean flag must be set to true."
        self.origin_clean = True
        self.painted = False  # anything drawn into the bitmap yet (for run_operation's report)
        self.log: list[str] = log if log is not None else []

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.width}x{self.height}, origin_clean={self.origin_clean})"

    def _message(self, exception: str, *, reason: str, method: str, interface: str, text: str) -> str:
        return dom_message(self.profile, exception, reason=reason, method=method, interface=interface, text=text)

    def _taint(self, call: str, rule: str, why: str) -> None:
        was = self.origin_clean
        self.origin_clean = False
        note(self.log, f"{call}: {why}; origin-clean {'becomes' if was else 'stays'} false", rule)

    def set_width(self, width: int) -> None:
        """Set `canvas.width`: new bitmap dimensions, which also reset the origin-clean flag to true.

        Spec: https://html.spec.whatwg.org/multipage/canvas.html#concept-canvas-set-bitmap-dimensions
        """
        self._set_bitmap_dimensions(width, self.height, "width")

    def set_height(self, height: int) -> None:
        """Set `canvas.height`; see `set_width`.

        Spec: https://html.spec.whatwg.org/multipage/canvas.html#concept-canvas-set-bitmap-dimensions
        """
        self._set_bitmap_dimensions(self.width, height, "height")

    def _set_bitmap_dimensions(self, width: int, height: int, which: str) -> None:
        if width < 0 or height < 0:
            raise UsageError(f"A canvas size cannot be negative ({width}x{height}).")
        # 1. Reset the rendering context to its default state.
        self._reset_drawing_state()
        # 2. Resize the output bitmap to the new width and height (and clear it to transparent black).
        self.width, self.height = width, height
        self.painted = False
        # The bitmap's origin-clean flag is reset to true, even when the value is unchanged: current
        # WPT expects it (html/semantics/embedded-content/the-canvas-element/security.reset.cross.html,
        # "Resetting the canvas state resets the origin-clean flag"), the spec's own non-normative
        # security section says so (whatwg/html#2660; the normative steps do not mention the flag yet),
        # Chromium 156 does it (measured; Blink's OffscreenCanvas::SetSize also sets origin_clean_ =
        # true) and WebKit changed to it after 2.50 (WebKit/WebKit#65571). Older WPT copies
        # (security.reset.sub.html) assert the opposite: "does not reset the origin-clean flag".
        value = width if which == "width" else height
        if not self.origin_clean and self._keeps_taint_on_resize():
            # Deviation "width-reset-keeps-taint" (Firefox ESR 153, WebKitGTK 2.50; for a bitmaprenderer
            # canvas also "bitmaprenderer-keeps-taint", Chromium 156).
            note(self.log, f"canvas.{which} = {value}: the bitmap is cleared but {self.profile.engine} keeps "
                           "origin-clean false", "set-bitmap-dimensions")
            return
        self.origin_clean = True
        text = f"canvas.{which} = {value}: the bitmap is cleared and origin-clean is true again"
        note(self.log, text, "set-bitmap-dimensions")

    def _keeps_taint_on_resize(self) -> bool:
        return self.profile.has("width-reset-keeps-taint")

    def _reset_drawing_state(self) -> None:
        pass

    # A canvas is itself a CanvasImageSource (canvas-to-canvas): kind, width, height, origin_clean.


class Context2D(Surface):
    """The 2D rendering context's drawing and readback, shared by <canvas> and OffscreenCanvas."""

    CONTEXT = "CanvasRenderingContext2D"

    def __init__(self, width: int = 300, height: int = 150, *, log: list[str] | None = None,
                 profile: str | Profile = DEFAULT_PROFILE) -> None:
        super().__init__(width, height, log=log, profile=profile)
        self._reset_drawing_state()

    def _reset_drawing_state(self) -> None:
        self._fill_style: str | CanvasPattern = "#000000"
        self._stroke_style: str | CanvasPattern = "#000000"

    def draw_image(self, image) -> None:
        """ctx.drawImage(image, 0, 0): paint the image; taint the bitmap if the image is not origin-clean.

        Spec: https://html.spec.whatwg.org/multipage/canvas.html#dom-context-2d-drawimage
        """
        call = f"drawImage({CANVAS_IMAGE_SOURCE_KINDS.get(getattr(image, 'kind', ''), '?')})"
        # 2. Let usability be the result of checking the usability of image.
        usability = check_usability(image, method="drawImage", interface=self.CONTEXT, log=self.log,
                                    profile=self.profile)
        # 3. If usability is bad, then return (without drawing anything).
        if usability == "bad":
            note(self.log, f"{call}: nothing is drawn and origin-clean is unchanged", "drawImage")
            return
        # 5. If one of the sw or sh arguments is zero, then return. Nothing is painted.
        #    (An <img> of zero size was already "bad" at step 3; an ImageBitmap from a 0xN
        #    OffscreenCanvas gets here.)
        width, height = source_size(image)
        if width == 0 or height == 0:
            note(self.log, f"{call}: the source is {width}x{height}, so nothing is painted", "drawImage")
            return
        # 6. Paint the region of the image argument ... (no pixels in this model)
        self.painted = True
        # 7. If image is not origin-clean, then set the CanvasRenderingContext2D's origin-clean flag to false.
        if is_not_origin_clean(image):
            self._taint(call, "drawImage", f"{describe_source(image)} is not origin-clean")
        else:
            note(self.log, f"{call}: {describe_source(image)} is origin-clean; the canvas keeps its flag", "drawImage")

    def create_pattern(self, image, repetition: str = "repeat") -> CanvasPattern | None:
        """ctx.createPattern(image, repetition): a pattern that remembers if its image was origin-clean.

        Spec: https://html.spec.whatwg.org/multipage/canvas.html#dom-context-2d-createpattern
        """
        call = f"createPattern({CANVAS_IMAGE_SOURCE_KINDS.get(getattr(image, 'kind', ''), '?')})"
        # 1. Let usability be the result of checking the usability of image.
        usability = check_usability(image, method="createPattern", interface=self.CONTEXT, log=self.log,
                                    profile=self.profile)
        # 2. If usability is bad, then return null.
        if usability == "bad":
            note(self.log, f"{call}: returns null", "createPattern")
            return None
        # 4. If repetition is the empty string, then set it to "repeat".
        repetition = repetition or "repeat"
        # 5. If repetition is not identical to one of "repeat", "repeat-x", "repeat-y", or "no-repeat",
        #    then throw a "SyntaxError" DOMException.
        # Deviation: the kit has no SyntaxError class; a bad repetition raises UsageError instead.
        if repetition not in ("repeat", "repeat-x", "repeat-y", "no-repeat"):
            raise UsageError(
                f"The provided type ('{repetition}') is not one of 'repeat', 'no-repeat', 'repeat-x', or "
                "'repeat-y' (the browser throws SyntaxError)."
            )
        # 6. Let pattern be a new CanvasPattern object with the image image ...
        # 7. If image is not origin-clean, then mark pattern as not origin-clean.
        # ("Modifying the image used when creating a CanvasPattern object after calling the
        # createPattern() method must not affect the pattern(s) rendered by the CanvasPattern object.")
        clean = not is_not_origin_clean(image)
        note(
            self.log,
            f"{call}: {describe_source(image)} is {'origin-clean' if clean else 'not origin-clean'}, so the pattern is "
            f"marked {'origin-clean' if clean else 'not origin-clean'} now, once",
            "createPattern",
        )
        # 8. Return pattern.
        return CanvasPattern(origin_clean=clean, repetition=repetition)

    @property
    def fill_style(self) -> str | CanvasPattern:
        return self._fill_style

    @fill_style.setter
    def fill_style(self, value: str | CanvasPattern | None) -> None:
        """Spec: https://html.spec.whatwg.org/multipage/canvas.html#dom-context-2d-fillstyle"""
        self._fill_style = self._set_style("fillStyle", value, self._fill_style)

    @property
    def stroke_style(self) -> str | CanvasPattern:
        return self._stroke_style

    @stroke_style.setter
    def stroke_style(self, value: str | CanvasPattern | None) -> None:
        """Spec: https://html.spec.whatwg.org/multipage/canvas.html#dom-context-2d-strokestyle"""
        self._stroke_style = self._set_style("strokeStyle", value, self._stroke_style)

    def _set_style(self, name: str, value, current):
        # 1. If the given value is a string, then: ... (parse it as a color; if that fails, return)
        if value is None or isinstance(value, str):
            # Deviation: colors are not parsed; null (what createPattern returns when the image is
            # "bad") is a string "null" to the setter, which is not a color, so it is ignored.
            return current if value is None else value
        # 2. If the given value is a CanvasPattern object that is marked as not origin-clean, then
        #    set this's origin-clean flag to false.  (At assignment: nothing needs to be painted.)
        if not value.origin_clean:
            self._taint(f"{name} = pattern", name, "the pattern is marked not origin-clean")
        else:
            note(self.log, f"{name} = pattern: the pattern is origin-clean; the canvas keeps its flag", name)
        # 3. Set this's fill style (or stroke style) to the given value.
        return value

    def fill_rect(self, x: float = 0, y: float = 0, w: float | None = None, h: float | None = None) -> None:
        """ctx.fillRect(): paints with the fill style; the flag changed already when the style was set.

        Spec: https://html.spec.whatwg.org/multipage/canvas.html#dom-context-2d-fillrect
        """
        w = self.width if w is None else w
        h = self.height if h is None else h
        if w and h and self.width and self.height:
            self.painted = True
        note(self.log, "fillRect(): painting never changes origin-clean", "fillRect")

    def clear_rect(self, x: float = 0, y: float = 0, w: float | None = None, h: float | None = None) -> None:
        """ctx.clearRect(): clears pixels to transparent black but does NOT make the canvas clean again.

        Spec: https://html.spec.whatwg.org/multipage/canvas.html#dom-context-2d-clearrect
        """
        # "clear all pixels on the output bitmap in the intersection of the specified rectangle and the
        # current clipping region to a transparent black". The origin-clean flag is not touched.
        note(self.log, "clearRect(): pixels are cleared, origin-clean is not reset", "clearRect")

    def reset(self) -> None:
        """ctx.reset(): resets the context state and clears the bitmap, and with it origin-clean (WPT).

        Spec: https://html.spec.whatwg.org/multipage/canvas.html#dom-context-2d-reset
        """
        # "The reset() method steps are to reset the rendering context to its default state." Current
        # WPT (web-platform-tests/wpt#55389, from Servo) counts the origin-clean flag in that state.
        self._reset_drawing_state()
        self.painted = False
        if self.profile.has("reset-keeps-taint"):
            # Deviation "reset-keeps-taint" (Chromium 156, Firefox ESR 153, WebKitGTK 2.50, measured).
            note(self.log, f"reset(): context state and pixels are reset; {self.profile.engine} keeps "
                           "origin-clean as it was", "reset")
            return
        self.origin_clean = True
        note(self.log, "reset(): context state and pixels are reset, and origin-clean is true again", "reset")

    def _check_readable(self, call: str) -> None:
        if not self.origin_clean:
            note(self.log, f"{call}: origin-clean is false, so SecurityError", "getImageData")
            raise SecurityError(
                self._message("SecurityError", reason="tainted", method="getImageData", interface=self.CONTEXT,
                              text="The canvas has been tainted by cross-origin data."),
                fix=FIXES["tainted"],
            )

    def get_image_data(self, sx: int, sy: int, sw: int, sh: int) -> Readback:
        """ctx.getImageData(sx, sy, sw, sh): SecurityError if tainted, else IndexSizeError for a zero size.

        Spec: https://html.spec.whatwg.org/multipage/canvas.html#dom-context-2d-getimagedata
        """
        call = f"getImageData({sx}, {sy}, {sw}, {sh})"
        # Deviation "getimagedata-security-before-size" (Chromium 156, Firefox ESR 153; not WebKitGTK
        # 2.50): origin-clean is checked before the size (Blink's BaseRenderingContext2D::
        # getImageDataInternal; measured: getImageData(0, 0, 0, 4) on a tainted canvas throws
        # SecurityError). On a clean canvas every order agrees.
        if self.profile.has("getimagedata-security-before-size"):
            self._check_readable(call)
        # 1. If either the sw or sh arguments are zero, then throw an "IndexSizeError" DOMException.
        if not sw or not sh:
            which = "width" if not sw else "height"
            note(self.log, f"{call}: the source {which} is 0, so IndexSizeError", "getImageData")
            raise IndexSizeError(
                self._message("IndexSizeError", reason="index-size", method="getImageData", interface=self.CONTEXT,
                              text=f"The source {which} is 0."),
                fix=FIXES["index-size"],
            )
        # 2. If the CanvasRenderingContext2D's origin-clean flag is set to false, then throw a
        #    "SecurityError" DOMException.
        self._check_readable(call)
        note(self.log, f"{call}: origin-clean is true, the pixels are returned", "getImageData")
        return Readback("ImageData", abs(sw), abs(sh))


class ElementExports:
    """toDataURL, toBlob and captureStream: the exports every <canvas> element has."""

    def to_data_url(self, type: str = "image/png") -> str:
        """canvas.toDataURL(): SecurityError if tainted; "data:," for a bitmap with no pixels.

        Spec: https://html.spec.whatwg.org/multipage/canvas.html#dom-canvas-todataurl
        """
        # 1. If this canvas element's bitmap's origin-clean flag is set to false, then throw a
        #    "SecurityError" DOMException.
        if not self.origin_clean:
            note(self.log, "toDataURL(): origin-clean is false, so SecurityError", "toDataURL")
            raise SecurityError(
                self._message("SecurityError", reason="tainted", method="toDataURL", interface="HTMLCanvasElement",
                              text="Tainted canvases may not be exported."),
                fix=FIXES["tainted"],
            )
        # 2. If this canvas element's bitmap has no pixels (i.e. either its horizontal dimension or
        #    its vertical dimension is zero), then return the string "data:,".
        if not self.width or not self.height:
            note(self.log, 'toDataURL(): the bitmap has no pixels, so "data:,"', "toDataURL")
            return "data:,"
        # 3-5. Serialize the bitmap as a file; return a data: URL.
        # Deviation: no pixels are encoded; the URL stands in for the real one.
        note(self.log, "toDataURL(): origin-clean is true, a data: URL is returned", "toDataURL")
        return f"data:{type};base64,..."

    def to_blob(self, type: str = "image/png") -> Readback | None:
        """canvas.toBlob(callback): SecurityError if tainted; the callback gets null for no pixels.

        Spec: https://html.spec.whatwg.org/multipage/canvas.html#dom-canvas-toblob
        """
        # 1. If this canvas element's bitmap's origin-clean flag is set to false, then throw a
        #    "SecurityError" DOMException.
        if not self.origin_clean:
            note(self.log, "toBlob(): origin-clean is false, so SecurityError", "toBlob")
            raise SecurityError(
                self._message("SecurityError", reason="tainted", method="toBlob", interface="HTMLCanvasElement",
                              text="Tainted canvases may not be exported."),
                fix=FIXES["tainted"],
            )
        # 2-3. Let result be null; if the bitmap has pixels, set result to a copy of the bitmap.
        # 4. ... invoke callback with « result » (a Blob, or null).
        # Deviation: the callback's argument is returned instead of being queued as a task.
        if not self.width or not self.height:
            note(self.log, "toBlob(): the bitmap has no pixels, so the callback gets null", "toBlob")
            return None
        note(self.log, "toBlob(): origin-clean is true, the callback gets a Blob", "toBlob")
        return Readback("Blob", self.width, self.height)

    def capture_stream(self, frame_rate: float | None = None) -> Readback:
        """canvas.captureStream(): SecurityError if the canvas is not origin-clean.

        Spec: https://w3c.github.io/mediacapture-fromelement/#dom-htmlcanvaselement-capturestream
        """
        # The canvas "is not origin-clean" -> throw a "SecurityError" DOMException (paraphrased: the
        # Media Capture from DOM Elements draft has worded this step several ways).
        if not self.origin_clean:
            note(self.log, "captureStream(): origin-clean is false, so SecurityError", "captureStream")
            raise SecurityError(
                self._message("SecurityError", reason="tainted", method="captureStream", interface="HTMLCanvasElement",
                              text="Canvas is not origin-clean."),
                fix=FIXES["tainted"],
            )
        note(self.log, "captureStream(): origin-clean is true, a MediaStream is returned", "captureStream")
        return Readback("MediaStream", self.width, self.height)


class Canvas(ElementExports, Context2D):
    """A <canvas> element with a "2d" context: drawing, patterns, readback, and a source itself.

    Spec: https://html.spec.whatwg.org/multipage/canvas.html#the-canvas-element
    """

    kind = "canvas"
    ELEMENT = "HTMLCanvasElement"
    CONTEXT = "CanvasRenderingContext2D"


class OffscreenCanvas(Context2D):
    """An OffscreenCanvas with a "2d" context: convertToBlob and transferToImageBitmap.

    Spec: https://html.spec.whatwg.org/multipage/canvas.html#the-offscreencanvas-interface
    """

    kind = "offscreen"
    ELEMENT = "OffscreenCanvas"
    CONTEXT = "OffscreenCanvasRenderingContext2D"

    def convert_to_blob(self, type: str = "image/png") -> Readback:
        """offscreen.convertToBlob(): rejects with SecurityError if tainted, IndexSizeError if empty.

        Spec: https://html.spec.whatwg.org/multipage/canvas.html#dom-offscreencanvas-converttoblob
        """
        # Deviation: a rejected promise is raised as the exception it rejects with.
        # 2. If this's context mode is 2d and the rendering context's output bitmap's origin-clean flag
        #    is set to false, then return a promise rejected with a "SecurityError" DOMException.
        #    (Before the size check, here and in Blink's OffscreenCanvas::convertToBlob.)
        if not self.origin_clean:
            note(self.log, "convertToBlob(): origin-clean is false, so it rejects with SecurityError", "convertToBlob")
            # Chromium's current text; older builds said "Tainted OffscreenCanvas may not be exported."
            raise SecurityError(
                self._message("SecurityError", reason="tainted", method="convertToBlob", interface="OffscreenCanvas",
                              text="A tainted OffscreenCanvas may not be exported."),
                fix=FIXES["tainted"],
            )
        # 3. If this's bitmap has no pixels (i.e., either its horizontal dimension or its vertical
        #    dimension is zero) then return a promise rejected with an "IndexSizeError" DOMException.
        if not self.width or not self.height:
            note(self.log, "convertToBlob(): the bitmap has no pixels, so IndexSizeError", "convertToBlob")
            raise IndexSizeError(
                self._message("IndexSizeError", reason="offscreen-zero", method="convertToBlob",
                              interface="OffscreenCanvas", text="The size of the OffscreenCanvas is zero."),
                fix=FIXES["offscreen-zero"],
            )
        note(self.log, "convertToBlob(): origin-clean is true, the promise resolves with a Blob", "convertToBlob")
        return Readback("Blob", self.width, self.height)

    def transfer_to_image_bitmap(self) -> ImageBitmap:
        """offscreen.transferToImageBitmap(): an ImageBitmap of the bitmap, with its origin-clean flag.

        Spec: https://html.spec.whatwg.org/multipage/canvas.html#dom-offscreencanvas-transfertoimagebitmap
        """
        # 3. Let image be a newly created ImageBitmap object that references the same underlying
        #    bitmap data as this OffscreenCanvas object's bitmap.  (The origin-clean flag is part of it.)
        image = ImageBitmap(width=self.width, height=self.height, origin_clean=self.origin_clean)
        # 4. Set this OffscreenCanvas object's bitmap to reference a newly created bitmap of the same
        #    dimensions ... with its pixels initialized to transparent black ...
        self.painted = False
        # Deviation: the OffscreenCanvas keeps its origin-clean flag, as Blink does
        # (OffscreenCanvasRenderingContext2D::TransferToImageBitmap copies OriginClean() onto the
        # bitmap and only discards the pixels); the spec's "newly created bitmap" leaves this open.
        note(
            self.log,
            f"transferToImageBitmap(): the ImageBitmap takes the bitmap and its origin-clean flag "
            f"({str(self.origin_clean).lower()})",
            "transferToImageBitmap",
        )
        # 5. Return image.
        return image


class BitmapRendererCanvas(ElementExports, Surface):
    """A <canvas> with a "bitmaprenderer" context (ImageBitmapRenderingContext).

    Spec: https://html.spec.whatwg.org/multipage/canvas.html#imagebitmaprenderingcontext
    """

    kind = "canvas"
    CONTEXT = "ImageBitmapRenderingContext"

    def transfer_from_image_bitmap(self, bitmap: ImageBitmap | None) -> None:
        """ctx.transferFromImageBitmap(bitmap): the canvas shows the bitmap and takes its origin-clean flag.

        Spec: https://html.spec.whatwg.org/multipage/canvas.html#dom-imagebitmaprenderingcontext-transferfromimagebitmap
        """
        # 2. If bitmap is null, then run the steps to set an ImageBitmapRenderingContext's output
        #    bitmap, with bitmapContext as the context argument and no bitmap argument, then return.
        #    (Those steps: output bitmap transparent black; "Set the output bitmap's origin-clean flag
        #    to true.")
        if bitmap is None:
            self.painted = False
            if self.profile.has("bitmaprenderer-keeps-taint"):
                # Deviation "bitmaprenderer-keeps-taint" (Chromium 156, Firefox ESR 153; see below).
                flag = "true" if self.origin_clean else f"still false ({self.profile.engine} never cleans this canvas)"
            else:
                self.origin_clean = True
                flag = "true"
            note(self.log, f"transferFromImageBitmap(null): blank bitmap, origin-clean {flag}", "transferFromImageBitmap")
            return
        # 3. If the value of bitmap's [[Detached]] internal slot is set to true, then throw an
        #    "InvalidStateError" DOMException.
        if bitmap.detached:
            text = "transferFromImageBitmap(): the ImageBitmap is detached, so InvalidStateError"
            note(self.log, text, "transferFromImageBitmap")
            raise InvalidStateError(
                self._message("InvalidStateError", reason="detached", method="transferFromImageBitmap",
                              interface=self.CONTEXT, text="The input ImageBitmap has been detached."),
                fix=FIXES["detached"],
            )
        # 4. Run the steps to set an ImageBitmapRenderingContext's output bitmap ... referring to
        #    bitmap's underlying bitmap data  (its origin-clean flag comes with it).
        # Deviation "bitmaprenderer-keeps-taint" (Chromium 156, Firefox ESR 153): the spec gives the
        # canvas the bitmap's flag, so a clean bitmap after a tainted one (or null, or a new width)
        # cleans it, as WebKitGTK 2.50 does. Chromium only ever taints a bitmaprenderer canvas
        # (ImageBitmapRenderingContext::transferFromImageBitmap calls SetOriginTainted() and nothing
        # resets it), and so does Firefox: measured for a clean bitmap, null and canvas.width alike
        # (cors_lab/sequences.py). No bug for it is known to us.
        if self.profile.has("bitmaprenderer-keeps-taint"):
            self.origin_clean = self.origin_clean and bitmap.origin_clean
            how = "a tainted bitmap taints the canvas for good"
        else:
            self.origin_clean = bitmap.origin_clean
            how = "the canvas takes the bitmap's flag"
        self.painted = True
        flag = str(self.origin_clean).lower()
        note(self.log, f"transferFromImageBitmap(): {how}; origin-clean is {flag}", "transferFromImageBitmap")
        # 5. Set the value of bitmap's [[Detached]] internal slot to true. 6. Unset bitmap's bitmap data.
        bitmap.close()

    def _keeps_taint_on_resize(self) -> bool:
        # The spec runs "set an ImageBitmapRenderingContext's output bitmap" with no bitmap here, which
        # sets origin-clean to true. Deviations: "bitmaprenderer-keeps-taint" (Chromium 156, Firefox ESR
        # 153) and "width-reset-keeps-taint" (WebKitGTK 2.50, here as for a 2D canvas), measured.
        return self.profile.has("bitmaprenderer-keeps-taint") or super()._keeps_taint_on_resize()



def create_image_bitmap(image, *, log: list[str] | None = None, profile: str | Profile = DEFAULT_PROFILE) -> ImageBitmap:
    """createImageBitmap(image): a bitmap that carries the image's origin-clean flag.

    Spec: https://html.spec.whatwg.org/multipage/imagebitmap-and-animations.html#dom-createimagebitmap
    """
    call = f"createImageBitmap({CANVAS_IMAGE_SOURCE_KINDS.get(getattr(image, 'kind', ''), '?')})"
    # Deviation: the promise's rejection is raised as the exception it rejects with.
    # 3. Check the usability of the image argument. If this throws an exception or returns bad, then
    #    return a promise rejected with an "InvalidStateError" DOMException.
    usability = check_usability(image, method="createImageBitmap", interface="Window", log=log, profile=profile)
    if usability == "bad":
        note(log, f"{call}: usability is bad, so the promise rejects with InvalidStateError", "createImageBitmap")
        reason, text, fix = "bad", UNUSABLE_TEXT["bad"]["createImageBitmap"], FIXES["bad"]
        if isinstance(image, ImageSource) and image.state == "completely available":
            # Loaded, but zero-size: Chromium names the zero dimension (width first).
            zero = "width" if image.natural_width == 0 else "height"
            reason, text, fix = "zero-size image", UNUSABLE_TEXT["zero-size image"][zero], FIXES["zero-size image"]
        raise InvalidStateError(dom_message(profile, "InvalidStateError", reason=reason, method="createImageBitmap",
                                            interface="Window", text=text), fix=fix)
    width, height = source_size(image)
    # HTMLOrSVGImageElement / HTMLVideoElement: "If image is not origin-clean, then set the
    # origin-clean flag of imageBitmap's bitmap to false."  HTMLCanvasElement, OffscreenCanvas,
    # ImageBitmap: "Set the origin-clean flag of the imageBitmap's bitmap to the same value as the
    # origin-clean flag of image's bitmap."  Both say: the bitmap is clean iff the image is.
    clean = not is_not_origin_clean(image)
    note(
        log,
        f"{call}: the ImageBitmap's origin-clean flag copies {describe_source(image)}'s ({str(clean).lower()})",
        "createImageBitmap",
    )
    return ImageBitmap(width=width, height=height, origin_clean=clean)
