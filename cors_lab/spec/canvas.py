"""Canvas origin-clean rules: which image sources are origin-clean, what taints or cleans a bitmap,
and which checks throw before any pixel is read.

Owns the HTML canvas side of cross-origin images: the image argument's usability and origin-clean
test, 2D drawing, patterns, readback (getImageData, toDataURL, toBlob, captureStream), OffscreenCanvas,
ImageBitmap and WebGL's texImage2D, plus `run_operation`, the predictor's view of one probe.
Pure: stdlib only, no pixels, no I/O. Exceptions carry Chromium's console text and a fix in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import DOMException, IndexSizeError, InvalidStateError, SecurityError, UsageError

HTML = "https://html.spec.whatwg.org/multipage/"
WEBGL = "https://registry.khronos.org/webgl/specs/latest/1.0/"

# Rule name -> spec anchor. Steps and docstrings cite these; `run_operation` shows them to learners.
SPEC = {
    "cors-same-origin": HTML + "urls-and-fetching.html#cors-same-origin",
    "img-state": HTML + "images.html#img-req-state",
    "not-origin-clean": HTML + "canvas.html#the-image-argument-is-not-origin-clean",
    "usability": HTML + "canvas.html#check-the-usability-of-the-image-argument",
    "security": HTML + "canvas.html#security-with-canvas-elements",
    "drawImage": HTML + "canvas.html#dom-context-2d-drawimage",
    "createPattern": HTML + "canvas.html#dom-context-2d-createpattern",
    "fillStyle": HTML + "canvas.html#dom-context-2d-fillstyle",
    "strokeStyle": HTML + "canvas.html#dom-context-2d-strokestyle",
    "fillRect": HTML + "canvas.html#dom-context-2d-fillrect",
    "clearRect": HTML + "canvas.html#dom-context-2d-clearrect",
    "reset": HTML + "canvas.html#dom-context-2d-reset",
    "set-bitmap-dimensions": HTML + "canvas.html#concept-canvas-set-bitmap-dimensions",
    "getImageData": HTML + "canvas.html#dom-context-2d-getimagedata",
    "toDataURL": HTML + "canvas.html#dom-canvas-todataurl",
    "toBlob": HTML + "canvas.html#dom-canvas-toblob",
    "captureStream": "https://w3c.github.io/mediacapture-fromelement/#dom-htmlcanvaselement-capturestream",
    "convertToBlob": HTML + "canvas.html#dom-offscreencanvas-converttoblob",
    "transferToImageBitmap": HTML + "canvas.html#dom-offscreencanvas-transfertoimagebitmap",
    "createImageBitmap": HTML + "imagebitmap-and-animations.html#dom-createimagebitmap",
    "transferFromImageBitmap": HTML + "canvas.html#dom-imagebitmaprenderingcontext-transferfromimagebitmap",
    "texImage2D": WEBGL + "#TEXIMAGE2D_HTML",
    "webgl-origin-restrictions": WEBGL + "#ORIGIN_RESTRICTIONS",
}

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

# --- Tables ---------------------------------------------------------------------------------------

# https://html.spec.whatwg.org/multipage/urls-and-fetching.html#cors-same-origin
# "A response whose type is "basic", "cors", or "default" is CORS-same-origin. A response whose type
# is "opaque" or "opaqueredirect" is CORS-cross-origin." Response tainting picks the filtered type:
# https://fetch.spec.whatwg.org/#concept-request-response-tainting  (tainting -> CORS-same-origin)
RESPONSE_TAINTING_CORS_SAME_ORIGIN = {"basic": True, "cors": True, "opaque": False}

# https://html.spec.whatwg.org/multipage/images.html#img-req-state  (an image request's state)
IMAGE_STATES = ("unavailable", "partially available", "completely available", "broken")

# https://html.spec.whatwg.org/multipage/canvas.html#check-the-usability-of-the-image-argument
# HTMLOrSVGImageElement, by its current request's state: "If image's current request's state is
# broken, then throw an "InvalidStateError" DOMException. If image is not fully decodable, then
# return bad." Otherwise (step 2) "Return good" -- unless its size is zero (see check_usability).
IMAGE_STATE_USABILITY = {
    "unavailable": "bad",
    "partially available": "bad",
    "completely available": "good",
    "broken": "InvalidStateError",
}

CANVAS_IMAGE_SOURCE_KINDS = {
    "img": "HTMLImageElement",  # HTMLOrSVGImageElement: <img> and SVG <image>, SVG files included
    "video": "HTMLVideoElement",
    "canvas": "HTMLCanvasElement",
    "offscreen": "OffscreenCanvas",
    "bitmap": "ImageBitmap",
}

# Chromium's InvalidStateError texts when the image argument is unusable, per reason and method.
# Measured in Chromium 156.0.8078.108 on 2026-11-29 (an <img> whose load failed, one not loaded yet,
# and loaded 0x0, 0x10 and 10x0 SVG images): "broken" for drawImage, createPattern and
# createImageBitmap, "bad" (not loaded yet) and "zero-size image" for createImageBitmap.
# Zero-size canvas and detached bitmap: BaseRenderingContext2D (read, not measured here).
UNUSABLE_TEXT = {
    "broken": {
        "drawImage": "The HTMLImageElement provided is in the 'broken' state.",
        "createPattern": "Source image is in the 'broken' state.",
        "createImageBitmap": "The HTMLImageElement provided is in the 'broken' state.",
    },
    "bad": {"createImageBitmap": "The image source is not usable."},
    "zero-size image": {
        "width": "The image source's width is 0.",
        "height": "The image source's height is 0.",
    },
    "zero-size canvas": "The image argument is a canvas element with a width or height of 0.",
    "detached": "The image source is detached.",
}

# Plain-words fixes, attached to every exception as `fix=`.
FIXES = {
    "tainted": (
        "The canvas holds pixels from another origin that were fetched without CORS. Load the image "
        'with crossorigin="anonymous" (img.crossOrigin = "anonymous" before setting src) and have its '
        "server answer with Access-Control-Allow-Origin, or serve it from the page's own origin. Then "
        "draw it on a fresh canvas: a tainted canvas stays tainted until its width or height is set."
    ),
    "broken": (
        "The image failed to load: a network error, an HTTP error, an undecodable file, or a failed "
        'CORS check when crossorigin is set (no or wrong Access-Control-Allow-Origin). Draw only after '
        "the load event, and handle the error event."
    ),
    "bad": "The image has not loaded yet. Wait for its load event (or await img.decode()) first.",
    "zero-size image": (
        "The image has no pixels: its natural width or height is 0 (an SVG with width=\"0\" or "
        'height="0" loads like this). Give the image a size above 0.'
    ),
    "zero-size canvas": "Give the source canvas a width and height above 0 before drawing it.",
    "detached": "This ImageBitmap was closed or transferred. Make a new one with createImageBitmap().",
    "index-size": "Ask for at least one pixel: width and height must not be 0.",
    "offscreen-zero": "Give the OffscreenCanvas a width and height above 0 before exporting it.",
    "webgl": (
        "WebGL refuses cross-origin pixels outright instead of tainting. Load the image with "
        'crossorigin="anonymous" and have its server send Access-Control-Allow-Origin, or serve it '
        "from the page's own origin."
    ),
}


def _failed(method: str, interface: str, text: str) -> str:
    """Chromium's DOMException message shape."""
    return f"Failed to execute '{method}' on '{interface}': {text}"


def _note(log: list[str] | None, text: str, rule: str) -> None:
    if log is not None:
        log.append(f"{text} ({SPEC[rule]})")


# --- Image sources --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ImageSource:
    """An <img> (HTMLImageElement, SVG images included) or a <video>, as far as a canvas cares.

    `response_tainting` is Fetch's ("basic" | "cors" | "opaque"); `width`/`height` are the decoded
    natural size. A data: URL image is fetched with "basic" tainting: see `ImageSource.data_url`.

    Spec: https://html.spec.whatwg.org/multipage/canvas.html#canvasimagesource
    """

    kind: str = "img"
    state: str = "completely available"
    response_tainting: str = "basic"
    width: int = 1
    height: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ("img", "video"):
            raise UsageError(
                f"ImageSource kind must be 'img' or 'video', not {self.kind!r}; "
                "use Canvas, OffscreenCanvas or ImageBitmap for the other sources."
            )
        if self.state not in IMAGE_STATES:
            raise UsageError(f"Image state must be one of {IMAGE_STATES}, not {self.state!r}.")
        if self.response_tainting not in RESPONSE_TAINTING_CORS_SAME_ORIGIN:
            raise UsageError(
                f"response_tainting must be one of {tuple(RESPONSE_TAINTING_CORS_SAME_ORIGIN)}, "
                f"not {self.response_tainting!r}."
            )
        if self.width < 0 or self.height < 0:
            raise UsageError(f"An image size cannot be negative ({self.width}x{self.height}).")

    @classmethod
    def data_url(cls, *, width: int = 1, height: int = 1, state: str = "completely available") -> ImageSource:
        """An image whose src is a data: URL: CORS-same-origin to every page.

        Spec: https://fetch.spec.whatwg.org/#main-fetch
        """
        # Main fetch: "request's current URL's scheme is "data"" -> "Set request's response
        # tainting to "basic"", whatever the mode; a basic response is CORS-same-origin.
        return cls(state=state, response_tainting="basic", width=width, height=height)

    @property
    def cors_same_origin(self) -> bool:
        """Spec: https://html.spec.whatwg.org/multipage/urls-and-fetching.html#cors-same-origin"""
        return RESPONSE_TAINTING_CORS_SAME_ORIGIN[self.response_tainting]

    @property
    def origin_clean(self) -> bool:
        """True unless the image data is CORS-cross-origin (see `is_not_origin_clean`)."""
        return not is_not_origin_clean(self)

    @property
    def natural_width(self) -> int:
        # Deviation: a broken or unavailable image reports a natural size of 0x0, as <img> does
        # before its dimensions are known; "partially available" already knows them.
        return self.width if self.state in ("partially available", "completely available") else 0

    @property
    def natural_height(self) -> int:
        return self.height if self.state in ("partially available", "completely available") else 0


@dataclass(kw_only=True, eq=False)
class ImageBitmap:
    """An ImageBitmap: a bitmap with its own origin-clean flag; `close()` detaches it.

    Spec: https://html.spec.whatwg.org/multipage/imagebitmap-and-animations.html#imagebitmap
    """

    width: int
    height: int
    origin_clean: bool = True
    detached: bool = False

    kind = "bitmap"

    def close(self) -> None:
        """Spec: https://html.spec.whatwg.org/multipage/imagebitmap-and-animations.html#dom-imagebitmap-close"""
        # 1. Set this's [[Detached]] internal slot value to true. 2. Unset this's bitmap data.
        # (width and height then return 0.)
        self.detached = True
        self.width = self.height = 0


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


def _size(image) -> tuple[int, int]:
    if isinstance(image, ImageSource):
        return image.natural_width, image.natural_height
    return image.width, image.height


def _describe(image) -> str:
    if isinstance(image, ImageSource):
        kind = "image" if image.kind == "img" else "video"
        return f'the {kind} (response tainting "{image.response_tainting}")'
    return {"canvas": "the canvas", "offscreen": "the OffscreenCanvas", "bitmap": "the ImageBitmap"}[image.kind]


def is_not_origin_clean(image) -> bool:
    """Whether drawing `image` would taint a canvas.

    Spec: https://html.spec.whatwg.org/multipage/canvas.html#the-image-argument-is-not-origin-clean
    """
    kind = getattr(image, "kind", None)
    # "An object image is not origin-clean if, switching on image's type:"
    if kind == "img":
        # HTMLOrSVGImageElement: "image's current request's image data is CORS-cross-origin."
        return not image.cors_same_origin
    if kind == "video":
        # HTMLVideoElement: "image's media data is CORS-cross-origin."
        return not image.cors_same_origin
    if kind in ("canvas", "offscreen", "bitmap"):
        # HTMLCanvasElement, ImageBitmap, OffscreenCanvas: "image's bitmap's origin-clean flag is false."
        return not image.origin_clean
    raise UsageError(f"Not a CanvasImageSource: {image!r}. Pass an ImageSource, a canvas or an ImageBitmap.")


def check_usability(
    image, *, method: str = "drawImage", interface: str = "CanvasRenderingContext2D", log: list[str] | None = None
) -> str:
    """Check the usability of the image argument: "good", "bad" (draw nothing) or InvalidStateError.

    Spec: https://html.spec.whatwg.org/multipage/canvas.html#check-the-usability-of-the-image-argument
    """
    if getattr(image, "kind", None) not in CANVAS_IMAGE_SOURCE_KINDS:
        raise UsageError(f"Not a CanvasImageSource: {image!r}. Pass an ImageSource, a canvas or an ImageBitmap.")
    call = f"{method}({CANVAS_IMAGE_SOURCE_KINDS[image.kind]})"
    # 1. Switch on image:
    if image.kind == "img":
        # HTMLOrSVGImageElement: "If image's current request's state is broken, then throw an
        # "InvalidStateError" DOMException. If image is not fully decodable, then return bad."
        verdict = IMAGE_STATE_USABILITY[image.state]
        if verdict == "InvalidStateError":
            _note(log, f'{call}: the image\'s state is "broken", so InvalidStateError', "usability")
            text = UNUSABLE_TEXT["broken"].get(method, UNUSABLE_TEXT["broken"]["drawImage"])
            raise InvalidStateError(_failed(method, interface, text), fix=FIXES["broken"])
        if verdict == "bad":
            _note(log, f'{call}: the image is "{image.state}", not fully decodable: usability is bad', "usability")
            return verdict
        # "If image has a natural width or natural height (or both) equal to zero, then return bad."
        # Chromium 156 agrees (measured 2026-11-29 with 0x0, 0x10 and 10x0 SVG images, which load):
        # createPattern returns null, drawImage draws nothing and leaves the canvas clean even for
        # a cross-origin image, and createImageBitmap rejects with InvalidStateError.
        if image.natural_width == 0 or image.natural_height == 0:
            size = f"{image.natural_width}x{image.natural_height}"
            _note(log, f"{call}: the image's natural size is {size}, so usability is bad", "usability")
            return "bad"
        return verdict
    if image.kind == "video":
        # HTMLVideoElement: "If image's readyState attribute is either HAVE_NOTHING or HAVE_METADATA,
        # then return bad."
        # Deviation: readyState is not modelled; a video is usable exactly when "completely available".
        if image.state != "completely available":
            _note(log, f"{call}: the video has no current frame: usability is bad", "usability")
            return "bad"
    if image.kind in ("canvas", "offscreen"):
        # HTMLCanvasElement, OffscreenCanvas: "If image has either a horizontal dimension or a
        # vertical dimension equal to zero, then throw an "InvalidStateError" DOMException."
        if image.width == 0 or image.height == 0:
            _note(log, f"{call}: the source canvas is {image.width}x{image.height}, so InvalidStateError", "usability")
            raise InvalidStateError(
                _failed(method, interface, UNUSABLE_TEXT["zero-size canvas"]), fix=FIXES["zero-size canvas"]
            )
    if image.kind == "bitmap":
        # ImageBitmap: "If image's [[Detached]] internal slot value is set to true, then throw an
        # "InvalidStateError" DOMException."
        if image.detached:
            _note(log, f"{call}: the ImageBitmap is detached, so InvalidStateError", "usability")
            raise InvalidStateError(_failed(method, interface, UNUSABLE_TEXT["detached"]), fix=FIXES["detached"])
    # 2. Return good.
    return "good"


# --- Canvases -------------------------------------------------------------------------------------


class _Surface:
    """A bitmap with an origin-clean flag, a size and a log of the rules applied to it."""

    kind = "canvas"
    ELEMENT = "HTMLCanvasElement"

    def __init__(self, width: int = 300, height: int = 150, *, log: list[str] | None = None) -> None:
        if width < 0 or height < 0:
            raise UsageError(f"A canvas size cannot be negative ({width}x{height}).")
        self.width = width
        self.height = height
        # "Initially, when the canvas element is created, its bitmap's origin-clean flag must be set to true."
        self.origin_clean = True
        self.painted = False  # anything drawn into the bitmap yet (for run_operation's report)
        self.log: list[str] = log if log is not None else []

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.width}x{self.height}, origin_clean={self.origin_clean})"

    def _taint(self, call: str, rule: str, why: str) -> None:
        was = self.origin_clean
        self.origin_clean = False
        _note(self.log, f"{call}: {why}; origin-clean {'becomes' if was else 'stays'} false", rule)

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
        # Deviation (documented, not normative yet): the bitmap's origin-clean flag is reset to true,
        # even when the value is unchanged. Chromium 156 does this (measured here; Blink's
        # OffscreenCanvas::SetSize also sets origin_clean_ = true), current WPT expects it
        # (html/semantics/embedded-content/the-canvas-element/security.reset.cross.html, "Resetting
        # the canvas state resets the origin-clean flag"), WebKit aligned in 2026 and the spec's own
        # non-normative security section says so (whatwg/html#2660). Older WPT copies
        # (security.reset.sub.html) assert the opposite: "does not reset the origin-clean flag".
        self.origin_clean = True
        value = width if which == "width" else height
        text = f"canvas.{which} = {value}: the bitmap is cleared and origin-clean is true again"
        _note(self.log, text, "set-bitmap-dimensions")

    def _reset_drawing_state(self) -> None:
        pass

    # A canvas is itself a CanvasImageSource (canvas-to-canvas): kind, width, height, origin_clean.


class _Context2D(_Surface):
    """The 2D rendering context's drawing and readback, shared by <canvas> and OffscreenCanvas."""

    CONTEXT = "CanvasRenderingContext2D"

    def __init__(self, width: int = 300, height: int = 150, *, log: list[str] | None = None) -> None:
        super().__init__(width, height, log=log)
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
        usability = check_usability(image, method="drawImage", interface=self.CONTEXT, log=self.log)
        # 3. If usability is bad, then return (without drawing anything).
        if usability == "bad":
            _note(self.log, f"{call}: nothing is drawn and origin-clean is unchanged", "drawImage")
            return
        # 5. If one of the sw or sh arguments is zero, then return. Nothing is painted.
        #    (An <img> of zero size was already "bad" at step 3; an ImageBitmap from a 0xN
        #    OffscreenCanvas gets here.)
        width, height = _size(image)
        if width == 0 or height == 0:
            _note(self.log, f"{call}: the source is {width}x{height}, so nothing is painted", "drawImage")
            return
        # 6. Paint the region of the image argument ... (no pixels in this model)
        self.painted = True
        # 7. If image is not origin-clean, then set the CanvasRenderingContext2D's origin-clean flag to false.
        if is_not_origin_clean(image):
            self._taint(call, "drawImage", f"{_describe(image)} is not origin-clean")
        else:
            _note(self.log, f"{call}: {_describe(image)} is origin-clean; the canvas keeps its flag", "drawImage")

    def create_pattern(self, image, repetition: str = "repeat") -> CanvasPattern | None:
        """ctx.createPattern(image, repetition): a pattern that remembers if its image was origin-clean.

        Spec: https://html.spec.whatwg.org/multipage/canvas.html#dom-context-2d-createpattern
        """
        call = f"createPattern({CANVAS_IMAGE_SOURCE_KINDS.get(getattr(image, 'kind', ''), '?')})"
        # 1. Let usability be the result of checking the usability of image.
        usability = check_usability(image, method="createPattern", interface=self.CONTEXT, log=self.log)
        # 2. If usability is bad, then return null.
        if usability == "bad":
            _note(self.log, f"{call}: returns null", "createPattern")
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
        _note(
            self.log,
            f"{call}: {_describe(image)} is {'origin-clean' if clean else 'not origin-clean'}, so the pattern is "
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
            _note(self.log, f"{name} = pattern: the pattern is origin-clean; the canvas keeps its flag", name)
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
        _note(self.log, "fillRect(): painting never changes origin-clean", "fillRect")

    def clear_rect(self, x: float = 0, y: float = 0, w: float | None = None, h: float | None = None) -> None:
        """ctx.clearRect(): clears pixels to transparent black but does NOT make the canvas clean again.

        Spec: https://html.spec.whatwg.org/multipage/canvas.html#dom-context-2d-clearrect
        """
        # "clear all pixels on the output bitmap in the intersection of the specified rectangle and the
        # current clipping region to a transparent black". The origin-clean flag is not touched.
        _note(self.log, "clearRect(): pixels are cleared, origin-clean is not reset", "clearRect")

    def reset(self) -> None:
        """ctx.reset(): resets the context state and clears the bitmap; origin-clean stays as it is.

        Spec: https://html.spec.whatwg.org/multipage/canvas.html#dom-context-2d-reset
        """
        # "The reset() method steps are to reset the rendering context to its default state."
        self._reset_drawing_state()
        self.painted = False
        # Deviation: the flag is kept, as Chromium 156 does (measured here). A 2025 WPT change
        # (web-platform-tests/wpt#55389, from Servo) expects reset() to clean the flag too; if
        # Chromium follows, this line is where the model changes.
        _note(self.log, "reset(): context state and pixels are reset, origin-clean is not", "reset")

    def get_image_data(self, sx: int, sy: int, sw: int, sh: int) -> Readback:
        """ctx.getImageData(sx, sy, sw, sh): SecurityError if tainted, else IndexSizeError for a zero size.

        Spec: https://html.spec.whatwg.org/multipage/canvas.html#dom-context-2d-getimagedata
        """
        call = f"getImageData({sx}, {sy}, {sw}, {sh})"
        # Deviation: the standard checks the size first (step 1, IndexSizeError) and origin-clean second
        # (step 2, SecurityError). Chromium checks origin-clean first (BaseRenderingContext2D::
        # getImageDataInternal; measured here in Chromium 156: getImageData(0, 0, 0, 10) on a tainted
        # canvas throws SecurityError). The kit follows the browser; on a clean canvas both agree.
        # 2. If the CanvasRenderingContext2D's origin-clean flag is set to false, then throw a
        #    "SecurityError" DOMException.
        if not self.origin_clean:
            _note(self.log, f"{call}: origin-clean is false, so SecurityError", "getImageData")
            raise SecurityError(
                _failed("getImageData", self.CONTEXT, "The canvas has been tainted by cross-origin data."),
                fix=FIXES["tainted"],
            )
        # 1. If either the sw or sh arguments are zero, then throw an "IndexSizeError" DOMException.
        if not sw or not sh:
            which = "width" if not sw else "height"
            _note(self.log, f"{call}: the source {which} is 0, so IndexSizeError", "getImageData")
            raise IndexSizeError(
                _failed("getImageData", self.CONTEXT, f"The source {which} is 0."),
                fix=FIXES["index-size"],
            )
        _note(self.log, f"{call}: origin-clean is true, the pixels are returned", "getImageData")
        return Readback("ImageData", abs(sw), abs(sh))


class _ElementExports:
    """toDataURL, toBlob and captureStream: the exports every <canvas> element has."""

    def to_data_url(self, type: str = "image/png") -> str:
        """canvas.toDataURL(): SecurityError if tainted; "data:," for a bitmap with no pixels.

        Spec: https://html.spec.whatwg.org/multipage/canvas.html#dom-canvas-todataurl
        """
        # 1. If this canvas element's bitmap's origin-clean flag is set to false, then throw a
        #    "SecurityError" DOMException.
        if not self.origin_clean:
            _note(self.log, "toDataURL(): origin-clean is false, so SecurityError", "toDataURL")
            raise SecurityError(
                _failed("toDataURL", "HTMLCanvasElement", "Tainted canvases may not be exported."), fix=FIXES["tainted"]
            )
        # 2. If this canvas element's bitmap has no pixels (i.e. either its horizontal dimension or
        #    its vertical dimension is zero), then return the string "data:,".
        if not self.width or not self.height:
            _note(self.log, 'toDataURL(): the bitmap has no pixels, so "data:,"', "toDataURL")
            return "data:,"
        # 3-5. Serialize the bitmap as a file; return a data: URL.
        # Deviation: no pixels are encoded; the URL stands in for the real one.
        _note(self.log, "toDataURL(): origin-clean is true, a data: URL is returned", "toDataURL")
        return f"data:{type};base64,..."

    def to_blob(self, type: str = "image/png") -> Readback | None:
        """canvas.toBlob(callback): SecurityError if tainted; the callback gets null for no pixels.

        Spec: https://html.spec.whatwg.org/multipage/canvas.html#dom-canvas-toblob
        """
        # 1. If this canvas element's bitmap's origin-clean flag is set to false, then throw a
        #    "SecurityError" DOMException.
        if not self.origin_clean:
            _note(self.log, "toBlob(): origin-clean is false, so SecurityError", "toBlob")
            raise SecurityError(
                _failed("toBlob", "HTMLCanvasElement", "Tainted canvases may not be exported."), fix=FIXES["tainted"]
            )
        # 2-3. Let result be null; if the bitmap has pixels, set result to a copy of the bitmap.
        # 4. ... invoke callback with « result » (a Blob, or null).
        # Deviation: the callback's argument is returned instead of being queued as a task.
        if not self.width or not self.height:
            _note(self.log, "toBlob(): the bitmap has no pixels, so the callback gets null", "toBlob")
            return None
        _note(self.log, "toBlob(): origin-clean is true, the callback gets a Blob", "toBlob")
        return Readback("Blob", self.width, self.height)

    def capture_stream(self, frame_rate: float | None = None) -> Readback:
        """canvas.captureStream(): SecurityError if the canvas is not origin-clean.

        Spec: https://w3c.github.io/mediacapture-fromelement/#dom-htmlcanvaselement-capturestream
        """
        # The canvas "is not origin-clean" -> throw a "SecurityError" DOMException (paraphrased: the
        # Media Capture from DOM Elements draft has worded this step several ways).
        if not self.origin_clean:
            _note(self.log, "captureStream(): origin-clean is false, so SecurityError", "captureStream")
            raise SecurityError(
                _failed("captureStream", "HTMLCanvasElement", "Canvas is not origin-clean."), fix=FIXES["tainted"]
            )
        _note(self.log, "captureStream(): origin-clean is true, a MediaStream is returned", "captureStream")
        return Readback("MediaStream", self.width, self.height)


class Canvas(_ElementExports, _Context2D):
    """A <canvas> element with a "2d" context: drawing, patterns, readback, and a source itself.

    Spec: https://html.spec.whatwg.org/multipage/canvas.html#the-canvas-element
    """

    kind = "canvas"
    ELEMENT = "HTMLCanvasElement"
    CONTEXT = "CanvasRenderingContext2D"


class OffscreenCanvas(_Context2D):
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
            _note(self.log, "convertToBlob(): origin-clean is false, so it rejects with SecurityError", "convertToBlob")
            # Chromium's current text; older builds said "Tainted OffscreenCanvas may not be exported."
            raise SecurityError(
                _failed("convertToBlob", "OffscreenCanvas", "A tainted OffscreenCanvas may not be exported."),
                fix=FIXES["tainted"],
            )
        # 3. If this's bitmap has no pixels (i.e., either its horizontal dimension or its vertical
        #    dimension is zero) then return a promise rejected with an "IndexSizeError" DOMException.
        if not self.width or not self.height:
            _note(self.log, "convertToBlob(): the bitmap has no pixels, so IndexSizeError", "convertToBlob")
            raise IndexSizeError(
                _failed("convertToBlob", "OffscreenCanvas", "The size of the OffscreenCanvas is zero."),
                fix=FIXES["offscreen-zero"],
            )
        _note(self.log, "convertToBlob(): origin-clean is true, the promise resolves with a Blob", "convertToBlob")
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
        _note(
            self.log,
            f"transferToImageBitmap(): the ImageBitmap takes the bitmap and its origin-clean flag "
            f"({str(self.origin_clean).lower()})",
            "transferToImageBitmap",
        )
        # 5. Return image.
        return image


class BitmapRendererCanvas(_ElementExports, _Surface):
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
            # Deviation: Chromium keeps a tainted bitmaprenderer canvas tainted here (see below).
            self.painted = False
            flag = "true" if self.origin_clean else "still false (Chromium never cleans this canvas)"
            _note(self.log, f"transferFromImageBitmap(null): blank bitmap, origin-clean {flag}", "transferFromImageBitmap")
            return
        # 3. If the value of bitmap's [[Detached]] internal slot is set to true, then throw an
        #    "InvalidStateError" DOMException.
        if bitmap.detached:
            text = "transferFromImageBitmap(): the ImageBitmap is detached, so InvalidStateError"
            _note(self.log, text, "transferFromImageBitmap")
            raise InvalidStateError(
                _failed("transferFromImageBitmap", self.CONTEXT, "The input ImageBitmap has been detached."),
                fix=FIXES["detached"],
            )
        # 4. Run the steps to set an ImageBitmapRenderingContext's output bitmap ... referring to
        #    bitmap's underlying bitmap data  (its origin-clean flag comes with it).
        # Deviation: the spec gives the canvas the bitmap's flag, so a clean bitmap after a tainted
        # one (or null, or a new width) cleans it. Chromium only ever taints a bitmaprenderer canvas
        # (ImageBitmapRenderingContext::transferFromImageBitmap calls SetOriginTainted() and nothing
        # resets it): measured here in Chromium 156 for a clean bitmap, null and canvas.width alike
        # (tests/test_canvas_sequences.py). No Chromium bug for it is known to us. The kit follows
        # the browser, as it must not teach what a browser does not do.
        self.origin_clean = self.origin_clean and bitmap.origin_clean
        self.painted = True
        flag = str(self.origin_clean).lower()
        _note(self.log, f"transferFromImageBitmap(): a tainted bitmap taints the canvas for good; origin-clean is {flag}",
              "transferFromImageBitmap")
        # 5. Set the value of bitmap's [[Detached]] internal slot to true. 6. Unset bitmap's bitmap data.
        bitmap.close()

    def _set_bitmap_dimensions(self, width: int, height: int, which: str) -> None:
        # The spec runs "set an ImageBitmapRenderingContext's output bitmap" with no bitmap here, which
        # sets origin-clean to true. Deviation: Chromium 156 keeps this canvas tainted (measured).
        tainted = not self.origin_clean
        super()._set_bitmap_dimensions(width, height, which)
        if tainted:
            self.origin_clean = False
            _note(self.log, f"canvas.{which}: a bitmaprenderer canvas stays tainted in Chromium", "transferFromImageBitmap")


class WebGLCanvas(_ElementExports, _Surface):
    """A <canvas> with a "webgl" context: texImage2D refuses what would taint, and never taints.

    Spec: https://registry.khronos.org/webgl/specs/latest/1.0/#ORIGIN_RESTRICTIONS
    """

    kind = "canvas"
    CONTEXT = "WebGLRenderingContext"

    def __init__(self, width: int = 300, height: int = 150, *, log: list[str] | None = None) -> None:
        super().__init__(width, height, log=log)
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
        _note(self.log, f"texImage2D(): GL error {error} ({description}); no exception, no texture", "texImage2D")

    def _security_error(self, text: str) -> None:
        _note(self.log, "texImage2D(): the source is not origin-clean, so SecurityError", "webgl-origin-restrictions")
        raise SecurityError(_failed("texImage2D", self.CONTEXT, text), fix=FIXES["webgl"])

    def tex_image_2d(self, source) -> None:
        """gl.texImage2D(target, level, internalformat, format, type, source): upload or refuse.

        A source that is not origin-clean throws SecurityError; a broken image is a GL error
        (INVALID_VALUE), not an exception. Spec: https://registry.khronos.org/webgl/specs/latest/1.0/#TEXIMAGE2D_HTML
        """
        # "If this function is called with an HTMLImageElement or HTMLVideoElement whose origin
        # differs from the origin of the containing Document, or with an HTMLCanvasElement,
        # ImageBitmap or OffscreenCanvas whose bitmap's origin-clean flag is set to false, a
        # SECURITY_ERR exception must be thrown." The spec says nothing of broken images; Chromium
        # (WebGLRenderingContextBase::ValidateHTMLImageElement) synthesizes INVALID_VALUE before the
        # taint check: "no image" without a cached image, "invalid image" when the image resource has
        # no response URL (a network or CORS failure), and TexImageImpl's "bad image data" when
        # nothing decodes.
        kind = source.kind
        if kind == "img":
            # Deviation: every not-yet/never-decoded state maps to "invalid image" (an <img> with
            # no src at all would say "no image"); a decode failure after a good response would say
            # "bad image data". The GL error is INVALID_VALUE in every case.
            if source.state in ("unavailable", "broken"):
                return self._gl_error("INVALID_VALUE", "invalid image")
            if is_not_origin_clean(source):
                return self._security_error("The image element contains cross-origin data, and may not be loaded.")
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
        _note(self.log, f"texImage2D(): {_describe(source)} is origin-clean, the texture is uploaded", "texImage2D")


def create_image_bitmap(image, *, log: list[str] | None = None) -> ImageBitmap:
    """createImageBitmap(image): a bitmap that carries the image's origin-clean flag.

    Spec: https://html.spec.whatwg.org/multipage/imagebitmap-and-animations.html#dom-createimagebitmap
    """
    call = f"createImageBitmap({CANVAS_IMAGE_SOURCE_KINDS.get(getattr(image, 'kind', ''), '?')})"
    # Deviation: the promise's rejection is raised as the exception it rejects with.
    # 3. Check the usability of the image argument. If this throws an exception or returns bad, then
    #    return a promise rejected with an "InvalidStateError" DOMException.
    usability = check_usability(image, method="createImageBitmap", interface="Window", log=log)
    if usability == "bad":
        _note(log, f"{call}: usability is bad, so the promise rejects with InvalidStateError", "createImageBitmap")
        text, fix = UNUSABLE_TEXT["bad"]["createImageBitmap"], FIXES["bad"]
        if isinstance(image, ImageSource) and image.state == "completely available":
            # Loaded, but zero-size: Chromium names the zero dimension (width first).
            zero = "width" if image.natural_width == 0 else "height"
            text, fix = UNUSABLE_TEXT["zero-size image"][zero], FIXES["zero-size image"]
        raise InvalidStateError(_failed("createImageBitmap", "Window", text), fix=fix)
    width, height = _size(image)
    # HTMLOrSVGImageElement / HTMLVideoElement: "If image is not origin-clean, then set the
    # origin-clean flag of imageBitmap's bitmap to false."  HTMLCanvasElement, OffscreenCanvas,
    # ImageBitmap: "Set the origin-clean flag of the imageBitmap's bitmap to the same value as the
    # origin-clean flag of image's bitmap."  Both say: the bitmap is clean iff the image is.
    clean = not is_not_origin_clean(image)
    _note(
        log,
        f"{call}: the ImageBitmap's origin-clean flag copies {_describe(image)}'s ({str(clean).lower()})",
        "createImageBitmap",
    )
    return ImageBitmap(width=width, height=height, origin_clean=clean)


# --- The predictor's view of one probe ------------------------------------------------------------


@dataclass(frozen=True)
class OperationResult:
    """What one probe operation did.

    exception: the DOMException name raised (or rejected with), else None.
    message: that exception's Chromium message; for texImage2D's GL errors, the console warning.
    origin_clean: the flag of the canvas finally read, or None when nothing was painted into it.
    steps: short lines naming each rule applied, with its spec anchor.
    """

    exception: str | None
    message: str | None
    origin_clean: bool | None
    steps: list[str] = field(default_factory=list)


def run_operation(operation: str, source) -> OperationResult:
    """Perform `operation` on `source` exactly as the live browser probe does, in the model.

    The probe makes a canvas the source's natural size and, for the plain canvas operations,
    draws the source at (0, 0) before the operation.

    Spec: https://html.spec.whatwg.org/multipage/canvas.html#security-with-canvas-elements
    """
    check_operation(operation)
    log: list[str] = []
    if isinstance(source, ImageSource):
        verdict = "CORS-same-origin" if source.cors_same_origin else "CORS-cross-origin"
        text = f'source: response tainting "{source.response_tainting}" makes the image data {verdict}'
        _note(log, f'{text}; its state is "{source.state}"', "cors-same-origin")
    width, height = _size(source)
    read = None  # the surface whose origin-clean flag is reported
    message = None
    try:
        if operation in ("drawImage", "getImageData", "toDataURL", "toBlob", "captureStream"):
            read = Canvas(width, height, log=log)
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
            read = OffscreenCanvas(width, height, log=log)
            read.draw_image(source)
            read.convert_to_blob()
        elif operation == "texImage2D":
            read = WebGLCanvas(width, height, log=log)
            read.tex_image_2d(source)
            if read.console:
                message = read.console[-1]
        elif operation == "createImageBitmap":
            bitmap = create_image_bitmap(source, log=log)
            read = Canvas(bitmap.width, bitmap.height, log=log)
            read.draw_image(bitmap)
            read.get_image_data(0, 0, bitmap.width, bitmap.height)
        elif operation == "pattern":
            read = Canvas(width, height, log=log)
            pattern = read.create_pattern(source, "repeat")
            read.fill_style = pattern
            read.fill_rect(0, 0, width, height)
            read.get_image_data(0, 0, width, height)
        elif operation == "canvas-to-canvas":
            b = Canvas(width, height, log=log)
            b.draw_image(source)
            read = Canvas(width, height, log=log)
            read.draw_image(b)
            read.get_image_data(0, 0, width, height)
        elif operation == "transferToImageBitmap":
            offscreen = OffscreenCanvas(width, height, log=log)
            offscreen.draw_image(source)
            bitmap = offscreen.transfer_to_image_bitmap()
            read = Canvas(width, height, log=log)
            read.draw_image(bitmap)
            read.get_image_data(0, 0, width, height)
    except DOMException as err:
        return OperationResult(err.name, err.message, _flag(read), log)
    return OperationResult(None, message, _flag(read), log)


def _flag(surface) -> bool | None:
    if surface is None or not surface.painted:
        return None
    return surface.origin_clean
