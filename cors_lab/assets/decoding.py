"""Decoding image bytes to RGBA the way a browser's ``<img>`` does (Pillow for rasters, resvg for SVG).

Owns ``decode_image`` and ``DecodedImage``: the format comes from cors_lab.spec.images (MIME
sniffing), the size from dimensions.py, whether a truncated image still loads from the spec's
update-the-image-data rule, and what an SVG may ask the renderer for from svgbounds.py. Bytes the
lab did not make itself are decoded in a worker process (sandbox.py), where a runaway decoder
cannot take the kernel down. No network I/O; the learner-facing DecodeError names what went wrong.
"""

from __future__ import annotations

import io
import math
import struct
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import DecodeError, UsageError
from ..spec import images as spec_images
from ..spec.profiles import DEFAULT_PROFILE, Profile, get_profile
from . import svgbounds
from .dimensions import header_size, looks_truncated
from .pictures import is_lab_picture

RGBA = tuple[int, int, int, int]


@dataclass(frozen=True)
class DecodedImage:
    """Decoded pixels: ``rgba`` holds ``width * height`` RGBA quadruples, row by row from the top."""

    width: int
    height: int
    format: str  # "png", "jpeg", "gif", "webp", "avif", "bmp", "ico", "cur" or "svg"
    rgba: bytes = field(repr=False)
    complete: bool = True  # False: the file was truncated; missing pixels are transparent black

    def pixel(self, x: int, y: int) -> RGBA:
        """The (r, g, b, a) at column ``x``, row ``y``, like one pixel of ``getImageData``."""
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise IndexError(f"Pixel ({x}, {y}) is outside the {self.width}x{self.height} image.")
        i = (y * self.width + x) * 4
        r, g, b, a = self.rgba[i : i + 4]
        return (r, g, b, a)

    def to_pil(self) -> Image.Image:
        """A new Pillow RGBA image of these pixels."""
        return Image.frombytes("RGBA", (self.width, self.height), self.rgba)


_PIL_FORMATS = {
    "png": "PNG", "jpeg": "JPEG", "gif": "GIF", "webp": "WEBP",
    "avif": "AVIF", "bmp": "BMP", "ico": "ICO", "cur": "CUR",
}  # fmt: skip
_NAMES = spec_images.FORMAT_NAMES
SUPPORTED = spec_images.SUPPORTED
SVG_NS = svgbounds.SVG_NS
_XLINK_HREF = svgbounds.XLINK_HREF
DECODE_TIMEOUT = 5.0  # seconds, like the kernel browser's whole image load


def decode_image(
    data: bytes,
    *,
    content_type: str | None = None,
    max_pixels: int = 16_000_000,
    partial: bool = False,
    timeout: float = DECODE_TIMEOUT,
    profile: str | Profile = DEFAULT_PROFILE,
) -> DecodedImage:
    """Decode image bytes to RGBA as a browser's ``<img>`` would, or raise ``DecodeError``.

    Like a browser, the format comes from the bytes (raster formats are sniffed and the
    Content-Type is ignored), except that SVG is used only when ``content_type`` is
    ``image/svg+xml``. ``content_type=None`` means "unknown" (a file from disk): then SVG is
    recognised from its bytes too. Images whose header claims more than ``max_pixels`` pixels are
    refused before any pixel is decoded (a decompression bomb); the limit never exceeds Pillow's
    own ``Image.MAX_IMAGE_PIXELS``, so Pillow's bomb warning cannot fire. With ``partial=True`` a
    truncated raster image whose size is known decodes to what arrived (``complete=False``), as a
    browser's ``<img>`` does; the kernel browser asks for that.

    Every buffer an SVG would need (its filter regions, pattern tiles, embedded images) is held to
    ``max_pixels`` too, before rendering. Bytes that are not one of the lab's own pictures are
    decoded in a worker process with a memory limit and ``timeout`` seconds: an image that needs
    more ends in a DecodeError ("too-large" or "too-slow"), never in a dead kernel.

    Spec: https://mimesniff.spec.whatwg.org/#rules-for-sniffing-images-specifically
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise UsageError(f"decode_image needs the response body as bytes, not {type(data).__name__}.")
    data = bytes(data)
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
        raise UsageError(f"max_pixels must be a positive int, not {max_pixels!r}.")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 120:
        raise UsageError(f"timeout must be a number of seconds between 0 and 120, not {timeout!r}.")
    if not data or is_lab_picture(data):
        # The lab's own pictures (or what is left of one after the truncate knob) are known to be
        # small: decoding them here keeps the common case fast.
        return decode_bytes(data, content_type=content_type, max_pixels=max_pixels, partial=partial, profile=profile)
    from . import sandbox

    return sandbox.decode(data, content_type=content_type, max_pixels=max_pixels, partial=partial, timeout=timeout,
                          profile=get_profile(profile).name)


def decode_bytes(data: bytes, *, content_type: str | None, max_pixels: int, partial: bool,
                 profile: str | Profile = DEFAULT_PROFILE) -> DecodedImage:
    """``decode_image`` in this very process, with no time or memory limit but the pixel limit.

    For bytes known to be harmless, and for the worker process (sandbox.py), which runs it.
    """
    # Pillow warns past its own MAX_IMAGE_PIXELS; staying under it keeps its warning out of sight.
    limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    if not data:
        raise DecodeError(
            "The response body is empty (0 bytes), so there is no image: the <img> fires 'error'.\n"
            "Fix: check the URL and the status (a 204, a HEAD request or an empty file give no body).",
            kind="empty",
        )
    fmt = spec_images.sniff_image_format(data, content_type, profile=profile)
    if fmt == "svg":
        return _decode_svg(data, limit)
    return _decode_raster(data, fmt, limit, partial=partial, profile=profile)


# --- raster decoding ------------------------------------------------------------------------


_TRUNCATED_LOCK = threading.Lock()


def _partial(data: bytes, fmt: str, size: tuple[int, int]) -> DecodedImage:
    """A truncated image whose size is known: what decodes of it, the rest transparent black.

    Such an image loads (cors_lab.spec.images.image_state_when_fetched says why).
    """
    from PIL import ImageFile

    width, height = size
    try:
        with _TRUNCATED_LOCK:  # Pillow's switch is global: hold it only around our own decode
            before, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, True
            try:
                with Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[fmt]]) as image:
                    image.load()
                    rgba = image.convert("RGBA")
            finally:
                ImageFile.LOAD_TRUNCATED_IMAGES = before
        if rgba.size == (width, height):
            return DecodedImage(width, height, fmt, rgba.tobytes(), complete=False)
    except Exception:  # noqa: BLE001 - nothing decodable: every pixel stays transparent
        pass
    return DecodedImage(width, height, fmt, bytes(width * height * 4), complete=False)


def _decode_raster(data: bytes, fmt: str, limit: int, *, partial: bool = False,
                   profile: str | Profile = DEFAULT_PROFILE) -> DecodedImage:
    name = _NAMES[fmt]
    size = header_size(data, fmt)
    # HTML's update the image data: without its dimensions the image is broken (the <img> fires
    # error); with them it loads, however much of the rest arrived. Whether they are known is
    # Chromium's decoder's rule (spec_images.size_known, measured), not just a readable header.
    known = size is not None and spec_images.size_known(fmt, data, profile=profile)
    if spec_images.image_state_when_fetched(dimensions_known=known) == "broken":
        if looks_truncated(data, fmt):
            raise _truncated(name)
        raise DecodeError(
            f"This starts like a {name} image, but its header is damaged: the size cannot be read,"
            " so the <img> fires 'error'.\nFix: re-save or re-export the image.",
            kind="damaged",
        )
    _check_size(size, limit, name)
    try:
        with Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[fmt]]) as image:
            # Belt and braces: Pillow's idea of the size after reading the header.
            _check_size(image.size, limit, name)
            image.load()
            # Browsers honour EXIF orientation (CSS image-orientation: from-image, the default):
            # https://drafts.csswg.org/css-images-3/#the-image-orientation
            image = ImageOps.exif_transpose(image) if fmt in ("jpeg", "webp", "png", "avif") else image
            if image.mode.startswith("I"):
                # 16-bit grey: keep the top 8 bits, as a browser's 8-bit canvas does.
                image = image.convert("I").point(lambda v: v * (1 / 256), "L")
            rgba = image.convert("RGBA")
    except DecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(size, limit, name) from None
    except (OSError, SyntaxError, ValueError, EOFError, UnidentifiedImageError, struct.error, IndexError) as err:
        if looks_truncated(data, fmt) or "truncat" in str(err).lower():
            # The header arrived, so the <img> is "completely available" and fires load with what
            # decodes (see above); decode_image does that only for a caller that asks (partial=True).
            if partial:
                return _partial(data, fmt, size)
            raise _truncated(name) from None
        raise DecodeError(
            f"This starts like a {name} image, but it is damaged and cannot be decoded ({err}),"
            " so the <img> fires 'error'.\nFix: re-save or re-export the image.",
            kind="damaged",
        ) from None
    return DecodedImage(rgba.width, rgba.height, fmt, rgba.tobytes())


def _check_size(size: tuple[int, int], limit: int, name: str) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise DecodeError(
            f"The {name} header says the image is {width}x{height} pixels: an image with no pixels"
            " cannot be decoded, so the <img> fires 'error'.\nFix: re-export the image.",
            kind="damaged",
        )
    if width * height > limit:
        raise _too_large(size, limit, name)


def _too_large(size: tuple[int, int], limit: int, name: str) -> DecodeError:
    width, height = size
    pixels = width * height
    return DecodeError(
        f"The {name} image says it is {width} x {height} = {pixels:,} pixels ({_human(pixels * 4)}"
        f" as RGBA), more than the lab's limit of {limit:,} pixels. A few bytes that ask the"
        " decoder for gigabytes are a 'decompression bomb', so the lab refuses it before decoding"
        " a single pixel.\nFix: use a smaller image, or raise max_pixels if you trust this one.",
        kind="too-large",
    )


def _human(size: int) -> str:
    if size >= 2**100:
        return f"about 10^{len(str(size)) - 1} bytes"
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size} bytes"


def _truncated(name: str) -> DecodeError:
    return DecodeError(
        f"This {name} image is truncated: the file ends before its last pixels, so the decoder"
        " stops and the <img> fires 'error'. Downloads cut short, a wrong Content-Length or a"
        " server that stops sending all do this.\nFix: download the image again, or check the"
        " server's Content-Length.",
        kind="truncated",
    )



# --- SVG ------------------------------------------------------------------------------------


def _decode_svg(data: bytes, limit: int) -> DecodedImage:
    try:
        import resvg_py
    except ImportError:  # pragma: no cover - resvg-py is a dependency
        raise DecodeError(
            "Decoding SVG needs the 'resvg-py' package.\nFix: pip install resvg-py", kind="unsupported"
        ) from None
    root = _parse_svg(data)
    width, height = svgbounds.svg_size(root)
    # Deviation: Chromium 156 loads an SVG whose width or height is 0 (measured 2026-11-29 with
    # 0x0, 0x10 and 10x0 SVGs: load fires, naturalWidth/naturalHeight report the 0) and HTML agrees:
    # its dimensions are known. The lab refuses it here, so the kernel browser says "error" where
    # Chromium says "load"; the canvas model (cors_lab.spec.canvas) handles a loaded 0x0 image as
    # Chromium does (unusable: createPattern null, drawImage draws nothing).
    if not (math.isfinite(width) and math.isfinite(height)) or width <= 0 or height <= 0:
        raise DecodeError(
            f"The SVG's size is {width:g}x{height:g}: an image with no area cannot be drawn, so the"
            " <img> fires 'error'.\nFix: give the <svg> element a positive width and height (or a"
            " viewBox).",
            kind="damaged",
        )
    box = (math.ceil(width), math.ceil(height))
    _check_size(box, limit, "SVG")
    # Every buffer the renderer would allocate, and how deep it would recurse, checked first.
    svgbounds.check_tree(root, canvas=box, limit=limit)
    # Spec (SVG in <img> is "secure animated mode"): no external resources are fetched.
    # resvg would read files named by href from the local disk; keep only in-document and data:.
    for element in root.iter():
        for attr in ("href", _XLINK_HREF):
            value = element.get(attr)
            if value is not None and not value.strip().startswith(("#", "data:")):
                del element.attrib[attr]
    try:
        text = ET.tostring(root, encoding="unicode")
        # width/height bound the output: resvg fits the drawing into this box, never beyond.
        # dpi=96: CSS's 96 pixels per inch (resvg-py's default of 0 makes "1in" a zero size).
        png = resvg_py.svg_to_bytes(svg_string=text, width=box[0], height=box[1], dpi=96)
    except (KeyboardInterrupt, SystemExit):  # pragma: no cover
        raise
    except BaseException as err:  # resvg reports bad SVG as ValueError; a Rust panic is BaseException
        raise DecodeError(
            f"This SVG cannot be rendered ({err}), so the <img> fires 'error'.\n"
            "Fix: open the file in a browser tab and check its markup.",
            kind="damaged",
        ) from None
    with Image.open(io.BytesIO(png), formats=["PNG"]) as image:
        rgba = image.convert("RGBA")
    return DecodedImage(rgba.width, rgba.height, "svg", rgba.tobytes())


def _parse_svg(data: bytes) -> ET.Element:
    try:
        root = svgbounds.parse(data)
    except ET.ParseError as err:
        what = spec_images.describe_non_image(data) if not spec_images.looks_like_svg(data) else None
        fmt = spec_images.image_type_pattern(data)
        looks = f"a {_NAMES[fmt]} image" if fmt else what
        also = f" It looks like {looks}: browsers trust Content-Type: image/svg+xml and do not sniff." if looks else ""
        raise DecodeError(
            f"This SVG is not well-formed XML ({err}), so the browser shows nothing and the <img>"
            f" fires 'error'.{also}\nFix: open the file in a browser tab to see the XML error.",
            kind="damaged",
        ) from None
    except RecursionError:
        raise DecodeError("This SVG is nested too deeply to parse.", kind="damaged") from None
    if root.tag == f"{{{SVG_NS}}}svg":
        return root
    if root.tag == "svg":
        raise DecodeError(
            "This <svg> has no xmlns=\"http://www.w3.org/2000/svg\". Served as an image it is parsed"
            " as XML, where an element without the SVG namespace is not SVG, so the <img> fires"
            " 'error' (the same markup inline in HTML works, which is why this surprises people).\n"
            "Fix: add xmlns=\"http://www.w3.org/2000/svg\" to the <svg> element.",
            kind="damaged",
        )
    tag = root.tag.rsplit("}", 1)[-1]
    raise DecodeError(
        f"This XML document's root element is <{tag}>, not <svg>, so it is no SVG image and the"
        " <img> fires 'error'.\nFix: check the URL points at an .svg file.",
        kind="not-an-image",
    )
