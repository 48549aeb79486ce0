"""Canvas image sources: which are usable, which are origin-clean, and how their checks fail.

Owns the CanvasImageSource side of the canvas rules (an <img> or <video> by its request state and
response tainting, an ImageBitmap), check the usability of the image argument, "is not
origin-clean", the rule-name -> anchor table every canvas log line cites, and Chromium's texts and
plain-words fixes for the exceptions (other engines' texts: profiles.py, through `dom_message`).
Pure: stdlib only, no pixels, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import InvalidStateError, UsageError
from ..profiles import DEFAULT_PROFILE, Profile, get_profile

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


def dom_message(profile: str | Profile, exception: str, *, reason: str, method: str, interface: str, text: str) -> str:
    """The message of the DOMException ``exception`` in the engine ``profile``.

    ``text`` is Chromium's, which Chromium shows as "Failed to execute 'method' on 'interface': text";
    ``reason`` ("tainted", "broken", "bad", ...) picks another engine's text (profiles.py).
    """
    return get_profile(profile).message(exception, reason=reason, method=method, interface=interface, chromium=text)


def note(log: list[str] | None, text: str, rule: str) -> None:
    """Append "text (anchor of rule)" to ``log`` (a canvas's list of the rules applied), if any."""
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
    broken_by: str | None = None  # for a broken image: "network" (the fetch failed) or "decode"

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
        if self.broken_by not in (None, "network", "decode"):
            raise UsageError(f"broken_by must be 'network', 'decode' or None, not {self.broken_by!r}.")

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



def source_size(image) -> tuple[int, int]:
    """The source's width and height as drawing sees them (an <img>'s natural size)."""
    if isinstance(image, ImageSource):
        return image.natural_width, image.natural_height
    return image.width, image.height


def describe_source(image) -> str:
    """A few words naming the source for a log line, e.g. 'the image (response tainting "cors")'."""
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
    image, *, method: str = "drawImage", interface: str = "CanvasRenderingContext2D", log: list[str] | None = None,
    profile: str | Profile = DEFAULT_PROFILE,
) -> str:
    """Check the usability of the image argument: "good", "bad" (draw nothing) or InvalidStateError.

    Spec: https://html.spec.whatwg.org/multipage/canvas.html#check-the-usability-of-the-image-argument
    """
    engine = get_profile(profile)
    if getattr(image, "kind", None) not in CANVAS_IMAGE_SOURCE_KINDS:
        raise UsageError(f"Not a CanvasImageSource: {image!r}. Pass an ImageSource, a canvas or an ImageBitmap.")
    call = f"{method}({CANVAS_IMAGE_SOURCE_KINDS[image.kind]})"
    # 1. Switch on image:
    if image.kind == "img":
        # HTMLOrSVGImageElement: "If image's current request's state is broken, then throw an
        # "InvalidStateError" DOMException. If image is not fully decodable, then return bad."
        verdict = IMAGE_STATE_USABILITY[image.state]
        if verdict == "InvalidStateError" and image.broken_by == "network" and engine.has("network-error-image-not-broken"):
            # Deviation "network-error-image-not-broken" (WebKitGTK 2.50): an image whose fetch failed
            # is "bad" (nothing drawn, nothing thrown); only an undecodable one throws.
            note(log, f"{call}: the image's fetch failed; {engine.engine} treats it as not usable, not broken: "
                      "usability is bad", "usability")
            return "bad"
        if verdict == "InvalidStateError":
            note(log, f'{call}: the image\'s state is "broken", so InvalidStateError', "usability")
            text = UNUSABLE_TEXT["broken"].get(method, UNUSABLE_TEXT["broken"]["drawImage"])
            raise InvalidStateError(dom_message(engine, "InvalidStateError", reason="broken", method=method,
                                                interface=interface, text=text), fix=FIXES["broken"])
        if verdict == "bad":
            note(log, f'{call}: the image is "{image.state}", not fully decodable: usability is bad', "usability")
            return verdict
        # "If image has a natural width or natural height (or both) equal to zero, then return bad."
        # Chromium 156 agrees (measured 2026-11-29 with 0x0, 0x10 and 10x0 SVG images, which load):
        # createPattern returns null, drawImage draws nothing and leaves the canvas clean even for
        # a cross-origin image, and createImageBitmap rejects with InvalidStateError.
        if image.natural_width == 0 or image.natural_height == 0:
            size = f"{image.natural_width}x{image.natural_height}"
            note(log, f"{call}: the image's natural size is {size}, so usability is bad", "usability")
            return "bad"
        return verdict
    if image.kind == "video":
        # HTMLVideoElement: "If image's readyState attribute is either HAVE_NOTHING or HAVE_METADATA,
        # then return bad."
        # Deviation: readyState is not modelled; a video is usable exactly when "completely available".
        if image.state != "completely available":
            note(log, f"{call}: the video has no current frame: usability is bad", "usability")
            return "bad"
    if image.kind in ("canvas", "offscreen"):
        # HTMLCanvasElement, OffscreenCanvas: "If image has either a horizontal dimension or a
        # vertical dimension equal to zero, then throw an "InvalidStateError" DOMException."
        if image.width == 0 or image.height == 0:
            note(log, f"{call}: the source canvas is {image.width}x{image.height}, so InvalidStateError", "usability")
            raise InvalidStateError(
                dom_message(engine, "InvalidStateError", reason="zero-size canvas", method=method, interface=interface,
                            text=UNUSABLE_TEXT["zero-size canvas"]),
                fix=FIXES["zero-size canvas"],
            )
    if image.kind == "bitmap":
        # ImageBitmap: "If image's [[Detached]] internal slot value is set to true, then throw an
        # "InvalidStateError" DOMException."
        if image.detached:
            note(log, f"{call}: the ImageBitmap is detached, so InvalidStateError", "usability")
            raise InvalidStateError(dom_message(engine, "InvalidStateError", reason="detached", method=method,
                                                interface=interface, text=UNUSABLE_TEXT["detached"]),
                                    fix=FIXES["detached"])
    # 2. Return good.
    return "good"
