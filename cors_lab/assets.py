"""The lab's pictures, and decoding image bytes the way a browser's ``<img>`` does.

Owns the one recognisable test picture (in PNG, JPEG, GIF, WebP, AVIF, BMP, ICO and SVG), the
per-user "secret" picture, the pixel values a learner should read back, and ``decode_image``.
It does no network I/O and keeps no global state but an in-memory cache of the encoded pictures.

The picture, 64 x 48, four quadrants with a white square and a black centre (the "lab mark")::

    +----------------+----------------+
    |      red       |     green      |
    |          +-----+-----+          |
    |          |   white   |          |
    +----------+   +---+   +----------+
    |          |   |blk|   |          |
    |          +-----+-----+          |
    |      blue      |     yellow     |
    +----------------+----------------+
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import math
import re
import struct
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from .errors import DecodeError, UsageError

RGBA = tuple[int, int, int, int]

WIDTH, HEIGHT = 64, 48

# Colours chosen to survive JPEG, WebP and AVIF (mid-saturated, no channel near a clipping edge
# except white and black); the shapes are whole pixels, so the SVG rasterises to the same pixels.
RED = (220, 50, 47, 255)
GREEN = (40, 160, 60, 255)
BLUE = (38, 110, 210, 255)
YELLOW = (240, 200, 40, 255)
WHITE = (255, 255, 255, 255)
BLACK = (0, 0, 0, 255)

# (x, y, width, height, colour), painted in order: the same table as the SVG below.
_SHAPES = (
    (0, 0, 32, 24, RED),
    (32, 0, 32, 24, GREEN),
    (0, 24, 32, 24, BLUE),
    (32, 24, 32, 24, YELLOW),
    (24, 16, 16, 16, WHITE),
    (29, 21, 6, 6, BLACK),
)

# Named sample points, each at least 3 pixels from any colour edge (lossy codecs blur edges).
SAMPLE_POINTS: dict[str, tuple[int, int]] = {
    "red quadrant": (8, 8),
    "green quadrant": (56, 8),
    "blue quadrant": (8, 40),
    "yellow quadrant": (56, 40),
    "white mark": (26, 18),
    "black centre": (31, 23),
}

EXPECTED: dict[str, RGBA] = {
    "red quadrant": RED,
    "green quadrant": GREEN,
    "blue quadrant": BLUE,
    "yellow quadrant": YELLOW,
    "white mark": WHITE,
    "black centre": BLACK,
}

# The hand-written SVG of the same picture. crispEdges keeps the rectangle edges unblended.
PICTURE_SVG = """\
<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48" viewBox="0 0 64 48"
     shape-rendering="crispEdges">
  <title>The cors-lab picture: four quadrants and the lab mark</title>
  <rect x="0"  y="0"  width="32" height="24" fill="rgb(220,50,47)"/>
  <rect x="32" y="0"  width="32" height="24" fill="rgb(40,160,60)"/>
  <rect x="0"  y="24" width="32" height="24" fill="rgb(38,110,210)"/>
  <rect x="32" y="24" width="32" height="24" fill="rgb(240,200,40)"/>
  <rect x="24" y="16" width="16" height="16" fill="#ffffff"/>
  <rect x="29" y="21" width="6"  height="6"  fill="#000000"/>
</svg>
"""

# Format -> (asset name, Content-Type, largest per-channel error a decoder may show).
# Lossy tolerances are about 4x what Pillow 13's codecs show at these qualities.
_FORMATS: dict[str, tuple[str, str, int]] = {
    "png": ("picture.png", "image/png", 0),
    "jpeg": ("picture.jpg", "image/jpeg", 12),
    "gif": ("picture.gif", "image/gif", 0),
    "webp": ("picture.webp", "image/webp", 12),
    "avif": ("picture.avif", "image/avif", 12),
    "bmp": ("picture.bmp", "image/bmp", 0),
    "ico": ("picture.ico", "image/x-icon", 0),
    "svg": ("picture.svg", "image/svg+xml", 2),
}
_BY_NAME = {name: fmt for fmt, (name, _, _) in _FORMATS.items()}
# Everything expected_pixels accepts: format, asset name, extension, Content-Type.
_LOOKUP = {
    **{fmt: fmt for fmt in _FORMATS},
    **_BY_NAME,
    **{name.rsplit(".", 1)[1]: fmt for name, fmt in _BY_NAME.items()},
    **{content_type: fmt for fmt, (_, content_type, _) in _FORMATS.items()},
    "image/vnd.microsoft.icon": "ico",
}

SECRET_NAME = "secret.png"
ASSET_NAMES: tuple[str, ...] = tuple(name for name, _, _ in _FORMATS.values()) + (SECRET_NAME,)

LOGGED_OUT_GREY: RGBA = (128, 128, 128, 255)


@dataclass(frozen=True)
class Asset:
    """One file the lab servers can send: its name, bytes and ``Content-Type``."""

    name: str
    body: bytes = field(repr=False)
    content_type: str

    def __repr__(self) -> str:
        return f"Asset({self.name!r}, {len(self.body)} bytes, {self.content_type!r})"


def get_asset(name: str, *, user: str | None = None) -> Asset:
    """The asset called ``name`` (one of ``ASSET_NAMES``); ``KeyError`` for any other name.

    ``user`` matters only for "secret.png": the user named by the login cookie, or None when
    logged out. The pixels then tell who is logged in, which is exactly what a cross-origin page
    must not be able to read back from a canvas.
    """
    if name == SECRET_NAME:
        return Asset(name, _secret_png(user), "image/png")
    if name not in _BY_NAME:
        raise KeyError(f"No lab asset {name!r}; the assets are: {', '.join(ASSET_NAMES)}.")
    fmt = _BY_NAME[name]
    return Asset(name, _encode_picture(fmt), _FORMATS[fmt][1])


def expected_pixels(fmt: str) -> tuple[int, dict[tuple[int, int], RGBA]]:
    """``(tolerance, {(x, y): rgba})`` for the picture in ``fmt``.

    ``fmt`` is a format ("png", "jpeg"), an extension ("jpg"), an asset name ("picture.jpg") or a
    Content-Type. Tolerance is the largest difference allowed in any channel: 0 for lossless
    formats, more for lossy ones (JPEG, WebP and AVIF change pixels a little by design).
    """
    key = _LOOKUP.get(fmt.strip().lower()) if isinstance(fmt, str) else None
    if key is None:
        raise KeyError(f"No expected pixels for {fmt!r}; the formats are: {', '.join(_FORMATS)}.")
    samples = {SAMPLE_POINTS[label]: EXPECTED[label] for label in SAMPLE_POINTS}
    return _FORMATS[key][2], samples


def secret_color(user: str | None) -> RGBA:
    """The background colour of "secret.png" for ``user``: grey when logged out, else one per user."""
    if user is None:
        return LOGGED_OUT_GREY
    digest = hashlib.sha256(user.encode("utf-8", "surrogatepass")).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536
    # Saturated enough never to look grey, dark enough for a white initial to stand out.
    r, g, b = _hsv_to_rgb(hue, 0.7, 0.6)
    return (r, g, b, 255)


def picture_image() -> Image.Image:
    """The picture as a fresh Pillow RGBA image (the source every raster format is encoded from)."""
    image = Image.new("RGBA", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    for x, y, w, h, colour in _SHAPES:
        draw.rectangle((x, y, x + w - 1, y + h - 1), fill=colour)
    return image


# --- encoding -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _encode_picture(fmt: str) -> bytes:
    if fmt == "svg":
        return PICTURE_SVG.encode("utf-8")
    image = picture_image().convert("RGB")
    out = io.BytesIO()
    if fmt == "png":
        image.save(out, "PNG", optimize=True)
    elif fmt == "jpeg":
        image.save(out, "JPEG", quality=90)
    elif fmt == "gif":
        # Six colours: an adaptive palette keeps every one exactly.
        image.convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(out, "GIF")
    elif fmt == "webp":
        image.save(out, "WEBP", quality=90)
    elif fmt == "avif":
        image.save(out, "AVIF", quality=90)
    elif fmt == "bmp":
        image.save(out, "BMP")
    elif fmt == "ico":
        image.save(out, "ICO", sizes=[(WIDTH, HEIGHT)])
    else:  # pragma: no cover - _FORMATS and this chain are kept in step by the tests
        raise KeyError(fmt)
    return out.getvalue()


@functools.lru_cache(maxsize=256)
def _secret_png(user: str | None) -> bytes:
    colour = secret_color(user)
    image = Image.new("RGB", (WIDTH, HEIGHT), colour[:3])
    draw = ImageDraw.Draw(image)
    if user is None:
        # A closed padlock and "logged out".
        draw.rectangle((26, 12, 37, 21), outline=(90, 90, 90), width=2)
        draw.rectangle((22, 19, 41, 31), fill=(90, 90, 90))
        _text(draw, (32, 40), "logged out", 10, (60, 60, 60))
    else:
        initial = (user.strip()[:1] or "?").upper()
        _text(draw, (32, 24), initial, 34, (255, 255, 255))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _text(draw: ImageDraw.ImageDraw, centre: tuple[int, int], text: str, size: int, fill) -> None:
    font = ImageFont.load_default(size=size)
    if isinstance(font, ImageFont.FreeTypeFont):
        draw.text(centre, text, font=font, fill=fill, anchor="mm")
    else:  # pragma: no cover - a Pillow built without FreeType has only a small bitmap font
        draw.text((centre[0] - 3 * len(text), centre[1] - 5), text, font=font, fill=fill)


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[int, int, int]:
    i = int(h * 6) % 6
    f = h * 6 - int(h * 6)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return round(r * 255), round(g * 255), round(b * 255)


# --- decoding -------------------------------------------------------------------------------


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
_NAMES = {
    "png": "PNG", "jpeg": "JPEG", "gif": "GIF", "webp": "WebP", "avif": "AVIF",
    "bmp": "BMP", "ico": "ICO", "cur": "CUR", "svg": "SVG",
}  # fmt: skip
SUPPORTED = "PNG, JPEG, GIF, WebP, AVIF, BMP, ICO and SVG"
SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


def decode_image(
    data: bytes, *, content_type: str | None = None, max_pixels: int = 16_000_000, partial: bool = False
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

    Spec: https://mimesniff.spec.whatwg.org/#rules-for-sniffing-images-specifically
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise UsageError(f"decode_image needs the response body as bytes, not {type(data).__name__}.")
    data = bytes(data)
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
        raise UsageError(f"max_pixels must be a positive int, not {max_pixels!r}.")
    # Pillow warns past its own MAX_IMAGE_PIXELS; staying under it keeps its warning out of sight.
    limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    if not data:
        raise DecodeError(
            "The response body is empty (0 bytes), so there is no image: the <img> fires 'error'.\n"
            "Fix: check the URL and the status (a 204, a HEAD request or an empty file give no body).",
            kind="empty",
        )
    fmt = _sniff(data, content_type)
    if fmt == "svg":
        return _decode_svg(data, limit)
    return _decode_raster(data, fmt, limit, partial=partial)


def _essence(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    return content_type.split(";", 1)[0].strip().lower()


def _is_xml_mime(essence: str) -> bool:
    # Spec: https://mimesniff.spec.whatwg.org/#xml-mime-type
    return essence.endswith("+xml") or essence in ("text/xml", "application/xml")


# Spec: https://mimesniff.spec.whatwg.org/#image-type-pattern-matching-algorithm
# (byte pattern, format); "?" bytes of the WebP pattern are matched by the check below.
_IMAGE_PATTERNS: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\x01\x00", "ico"),
    (b"\x00\x00\x02\x00", "cur"),
    (b"BM", "bmp"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
)

# Formats a browser may know but the lab does not decode (as in Chromium and Firefox today).
_UNSUPPORTED: tuple[tuple[bytes, str], ...] = (
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\xff\x0a", "a JPEG XL image"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "a JPEG XL image"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 image"),
    (b"8BPS", "a Photoshop (PSD) file"),
    (b"qoif", "a QOI image"),
    (b"\x76\x2f\x31\x01", "an OpenEXR image"),
)


def _ftyp_brands(data: bytes) -> set[bytes]:
    """The major and compatible brands of an ISO-BMFF 'ftyp' box at the start, if any."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return set()
    size = struct.unpack(">I", data[:4])[0]
    end = min(size if size >= 16 else 16, len(data))
    return {data[8:12]} | {data[i : i + 4] for i in range(16, end - 3, 4)}


def _sniff(data: bytes, content_type: str | None) -> str:
    essence = _essence(content_type)
    # 1. If the supplied MIME type is an XML MIME type, return the supplied MIME type.
    if essence is not None and _is_xml_mime(essence):
        if essence == "image/svg+xml":
            return "svg"
        raise DecodeError(
            f"The image was served as {essence!r}. An XML type is used as it is, without sniffing,"
            " and an <img> shows XML only when it is SVG served as 'image/svg+xml'.\n"
            "Fix: serve SVG with 'Content-Type: image/svg+xml'.",
            kind="unsupported",
        )
    # 2. Let image-type-matched be the result of the image type pattern matching algorithm.
    for pattern, fmt in _IMAGE_PATTERNS:
        if data.startswith(pattern):
            return fmt
    if data[:4] == b"RIFF" and data[8:14] == b"WEBPVP":
        return "webp"
    # Deviation: AVIF is not in the mimesniff table; browsers that decode AVIF recognise the
    # ISO-BMFF 'ftyp' box with an 'avif' (still) or 'avis' (sequence) brand, and so does the lab.
    brands = _ftyp_brands(data)
    if brands & {b"avif", b"avis"}:
        return "avif"
    # 3-4. No image pattern matched: the browser has no image decoder for these bytes.
    if brands & {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}:
        raise _unsupported("a HEIC/HEIF image (the iPhone photo format)")
    if brands:
        raise DecodeError(
            "These bytes are an MP4/QuickTime-style media file (ISO-BMFF), not an image; an <img>"
            " fires 'error'.\nFix: show video with <video>, or serve an image format: " + SUPPORTED + ".",
            kind="not-an-image",
        )
    for pattern, what in _UNSUPPORTED:
        if data.startswith(pattern):
            raise _unsupported(what)
    if _looks_like_svg(data):
        if essence is None:
            # Deviation: with no Content-Type at all (bytes from a file) the lab accepts SVG by its
            # bytes; a browser loading a file: URL decides by the file name instead.
            return "svg"
        raise DecodeError(
            f"These bytes are an SVG image, but it was served as {content_type!r}. Browsers sniff"
            " raster images from their bytes, but never SVG: an <img> renders SVG only when the"
            " server says 'Content-Type: image/svg+xml', so here it fires 'error'.\n"
            "Fix: serve .svg files with 'Content-Type: image/svg+xml'.",
            kind="svg-content-type",
        )
    what = _describe_non_image(data)
    if what:
        raise DecodeError(
            f"The response is not an image: it looks like {what} (it starts with"
            f" {_preview(data)}). The <img> fires 'error'. A server often sends an HTML error or"
            " login page with status 200 where an image was expected.\n"
            "Fix: open the URL in a browser tab to see what it returns, and correct the URL or the"
            " server.",
            kind="not-an-image",
        )
    raise DecodeError(
        f"The bytes match no image format a browser decodes (they start with {_preview(data)}),"
        f" so the <img> fires 'error'. The lab decodes {SUPPORTED}, as browsers do.\n"
        "Fix: check that the URL points at an image file and that it was sent unchanged.",
        kind="unsupported",
    )


def _unsupported(what: str) -> DecodeError:
    return DecodeError(
        f"These bytes are {what}, a format that Chromium and Firefox do not decode in an <img>,"
        f" so it fires 'error'. The lab decodes {SUPPORTED}.\n"
        "Fix: convert the file to PNG, JPEG, WebP or AVIF.",
        kind="unsupported",
    )


def _preview(data: bytes) -> str:
    """The first bytes as a learner would recognise them: text if they are text, else hex."""
    text = _text_head(data)
    if text is not None:
        text = " ".join(text.split())
        return repr(text[:24]) + ("..." if len(text) > 24 else "")
    return " ".join(f"{b:02x}" for b in data[:8]) + (" ..." if len(data) > 8 else "")


def _text_head(data: bytes) -> str | None:
    head = data[:1024]
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom) :].decode(codec, "ignore")
    text = head.decode("utf-8", "ignore")
    if not head or len(text.encode("utf-8")) < len(head) - 4:
        return None  # mostly not UTF-8: binary
    if any(ord(c) < 32 and c not in "\t\n\r\f" for c in text):
        return None
    return text


def _looks_like_svg(data: bytes) -> bool:
    text = _text_head(data)
    if text is None:
        return False
    text = re.sub(r"<\?xml.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(\[.*?\])?\s*>", "", text.lstrip(), flags=re.S)
    return text.lstrip().startswith("<svg")


# Spec: https://mimesniff.spec.whatwg.org/#rules-for-identifying-an-unknown-mime-type (HTML tags)
_HTML_STARTS = (
    "<!doctype html", "<html", "<head", "<script", "<iframe", "<h1", "<div", "<font", "<table",
    "<a", "<style", "<title", "<b", "<body", "<br", "<p", "<!--",
)  # fmt: skip


def _describe_non_image(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return "a PDF document"
    if data.startswith(b"PK\x03\x04"):
        return "a ZIP archive"
    if data.startswith(b"\x1f\x8b"):
        return "gzip-compressed data (perhaps Content-Encoding was lost on the way)"
    text = _text_head(data)
    if text is None:
        return None
    lowered = text.lstrip().lower()
    for start in _HTML_STARTS:
        # "... followed by a tag-terminating byte" (space or ">").
        if lowered.startswith(start) and lowered[len(start) : len(start) + 1] in ("", " ", ">", "\t", "\n", "\r"):
            return "an HTML page"
    if lowered.startswith("<?xml") or lowered.startswith("<"):
        return "an XML document"
    if lowered[:1] in ("{", "["):
        try:
            json.loads(data.decode("utf-8"))
            return "a JSON document"
        except ValueError:
            pass
    return "plain text"


# --- raster decoding ------------------------------------------------------------------------


_TRUNCATED_LOCK = threading.Lock()


def _partial(data: bytes, fmt: str, size: tuple[int, int]) -> DecodedImage:
    """A truncated image whose size is known: what decodes of it, the rest transparent black.

    HTML fires "error" only when the image is "corrupted in some fatal way such that the image
    dimensions cannot be obtained"; a truncated file whose header arrived is "completely available"
    and fires "load" (measured here: Chromium 156 loads a PNG cut after 60 bytes).
    Spec: https://html.spec.whatwg.org/multipage/images.html#update-the-image-data
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


def _decode_raster(data: bytes, fmt: str, limit: int, *, partial: bool = False) -> DecodedImage:
    name = _NAMES[fmt]
    size = _header_size(data, fmt)
    if size is None:
        if _looks_truncated(data, fmt):
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
        if _looks_truncated(data, fmt) or "truncat" in str(err).lower():
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
        " as RGBA), more than the lab's limit of {limit:,} pixels. A few bytes that ask the"
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


def _u16le(data: bytes, at: int) -> int:
    return struct.unpack_from("<H", data, at)[0]


def _u32le(data: bytes, at: int) -> int:
    return struct.unpack_from("<I", data, at)[0]


def _header_size(data: bytes, fmt: str) -> tuple[int, int] | None:
    """The pixel size an image's header claims, read without decoding anything; None if unreadable."""
    try:
        if fmt == "png":
            # The IHDR chunk comes first: width and height as 4-byte big-endian numbers.
            if data[12:16] != b"IHDR":
                return None
            width, height = struct.unpack_from(">II", data, 16)
            return width, height
        if fmt == "gif":
            return _gif_size(data)
        if fmt == "jpeg":
            return _jpeg_size(data)
        if fmt == "bmp":
            return _dib_size(data, 14, halve_height=False)
        if fmt == "webp":
            return _webp_size(data)
        if fmt in ("ico", "cur"):
            return _ico_size(data)
        if fmt == "avif":
            return _avif_size(data)
    except (struct.error, IndexError):
        return None
    return None  # pragma: no cover


def _gif_size(data: bytes) -> tuple[int, int]:
    # Logical screen, then the first frame's descriptor (Pillow grows the image to fit it).
    width, height = _u16le(data, 6), _u16le(data, 8)
    flags, pos = data[10], 13
    if flags & 0x80:
        pos += 3 << ((flags & 7) + 1)
    while pos < len(data):
        block = data[pos]
        if block == 0x21:  # extension: label, then sub-blocks up to a zero length
            pos += 2
            while data[pos]:
                pos += data[pos] + 1
            pos += 1
        elif block == 0x2C:  # image descriptor: left, top, width, height
            left, top, w, h = struct.unpack_from("<HHHH", data, pos + 1)
            return max(width, left + w), max(height, top + h)
        else:
            break
    return width, height


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or scan data before any frame header
            return None
        length = struct.unpack_from(">H", data, pos + 2)[0]
        # SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack_from(">HH", data, pos + 5)
            return width, height
        pos += 2 + length
    return None


def _dib_size(data: bytes, at: int, *, halve_height: bool) -> tuple[int, int] | None:
    header = _u32le(data, at)
    if header == 12:  # OS/2 BITMAPCOREHEADER
        width, height = _u16le(data, at + 4), _u16le(data, at + 6)
    elif header >= 16:
        width, height = struct.unpack_from("<ii", data, at + 4)
    else:
        return None
    height = abs(height) // 2 if halve_height else abs(height)  # negative = stored top-down
    return abs(width), height


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":  # extended: 24-bit canvas width - 1 and height - 1
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8 ":  # lossy: frame tag, start code 9d 01 2a, 14-bit width and height
        if data[23:26] != b"\x9d\x01\x2a":
            return None
        return _u16le(data, 26) & 0x3FFF, _u16le(data, 28) & 0x3FFF
    if chunk == b"VP8L":  # lossless: signature 0x2f, then 14-bit width - 1 and height - 1
        if data[20] != 0x2F:
            return None
        bits = _u32le(data, 21)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _ico_size(data: bytes) -> tuple[int, int] | None:
    count = _u16le(data, 4)
    if count == 0:
        return None
    best = (0, 0)
    for i in range(count):
        entry = 6 + 16 * i
        width, height = data[entry] or 256, data[entry + 1] or 256
        size, offset = _u32le(data, entry + 8), _u32le(data, entry + 12)
        candidates = [(width, height)]
        # The directory's sizes are one byte each; the embedded PNG or DIB says the real size.
        embedded = data[offset : offset + min(size, 64)]
        if embedded.startswith(b"\x89PNG\r\n\x1a\n") and embedded[12:16] == b"IHDR":
            candidates.append(struct.unpack_from(">II", embedded, 16))
        elif len(embedded) >= 16:
            dib = _dib_size(data, offset, halve_height=True)
            if dib:
                candidates.append(dib)
        for w, h in candidates:
            if w * h > best[0] * best[1]:
                best = (w, h)
    return best


def _iso_boxes(data: bytes, start: int, end: int):
    """(type, payload start, box end) for each ISO-BMFF box in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < header:
            return
        yield kind, pos + header, min(pos + size, end)
        pos += size


def _avif_size(data: bytes) -> tuple[int, int] | None:
    # meta (a full box: 4 bytes of version and flags) > iprp > ipco > ispe: width, height.
    best = None
    for kind, start, end in _iso_boxes(data, 0, len(data)):
        if kind != b"meta":
            continue
        for kind2, start2, end2 in _iso_boxes(data, start + 4, end):
            if kind2 != b"iprp":
                continue
            for kind3, start3, end3 in _iso_boxes(data, start2, end2):
                if kind3 != b"ipco":
                    continue
                for kind4, start4, _ in _iso_boxes(data, start3, end3):
                    if kind4 == b"ispe":
                        size = struct.unpack_from(">II", data, start4 + 4)
                        if best is None or size[0] * size[1] > best[0] * best[1]:
                            best = size
    return best


def _looks_truncated(data: bytes, fmt: str) -> bool:
    """Whether the file's own structure says bytes are missing at the end."""
    try:
        if fmt == "png":
            pos = 8
            while pos + 8 <= len(data):
                length, kind = struct.unpack_from(">I4s", data, pos)
                if kind == b"IEND":
                    return False
                pos += 12 + length
            return True
        if fmt == "jpeg":
            return not data.rstrip(b"\x00").endswith(b"\xff\xd9")
        if fmt == "gif":
            return not data.rstrip(b"\x00").endswith(b"\x3b")
        if fmt == "webp":
            return len(data) < _u32le(data, 4) + 8
        if fmt == "bmp":
            return len(data) < _u32le(data, 2)
        if fmt in ("ico", "cur"):
            for i in range(_u16le(data, 4)):
                entry = 6 + 16 * i
                if _u32le(data, entry + 12) + _u32le(data, entry + 8) > len(data):
                    return True
            return len(data) < 6 + 16 * _u16le(data, 4)
        if fmt == "avif":
            pos = 0
            while pos + 8 <= len(data):
                size = struct.unpack_from(">I", data, pos)[0]
                if size == 1:
                    size = struct.unpack_from(">Q", data, pos + 8)[0]
                elif size == 0:
                    return False
                if size < 8:
                    return False
                pos += size
            return pos > len(data)
    except (struct.error, IndexError):
        return True
    return False


# --- SVG ------------------------------------------------------------------------------------

_LENGTH = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(px|in|cm|mm|pt|pc|em|ex|%)?\s*$")
_UNITS = {None: 1.0, "px": 1.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4, "pt": 4 / 3, "pc": 16.0,
          "em": 16.0, "ex": 8.0}  # fmt: skip


def _decode_svg(data: bytes, limit: int) -> DecodedImage:
    try:
        import resvg_py
    except ImportError:  # pragma: no cover - resvg-py is a dependency
        raise DecodeError(
            "Decoding SVG needs the 'resvg-py' package.\nFix: pip install resvg-py", kind="unsupported"
        ) from None
    root = _parse_svg(data)
    width, height = _svg_size(root)
    if not (math.isfinite(width) and math.isfinite(height)) or width <= 0 or height <= 0:
        raise DecodeError(
            f"The SVG's size is {width:g}x{height:g}: an image with no area cannot be drawn, so the"
            " <img> fires 'error'.\nFix: give the <svg> element a positive width and height (or a"
            " viewBox).",
            kind="damaged",
        )
    box = (math.ceil(width), math.ceil(height))
    _check_size(box, limit, "SVG")
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
        root = ET.fromstring(data)
    except ET.ParseError as err:
        what = _describe_non_image(data) if not _looks_like_svg(data) else None
        looks = next((f"a {_NAMES[f]} image" for p, f in _IMAGE_PATTERNS if data.startswith(p)), what)
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


def _svg_length(value: str | None, reference: float | None) -> float | None:
    """A width or height attribute in CSS pixels; None when absent, unreadable or relative to nothing."""
    if value is None:
        return None
    match = _LENGTH.match(value)
    if not match:
        return None
    number, unit = float(match.group(1)), match.group(2)
    if unit == "%":
        return None if reference is None else reference * number / 100
    return number * _UNITS[unit]


def _svg_size(root: ET.Element) -> tuple[float, float]:
    """The size resvg gives the root <svg>: width/height, else the viewBox's, else 100 x 100."""
    view_box = None
    parts = re.split(r"[\s,]+", (root.get("viewBox") or "").strip())
    if len(parts) == 4:
        try:
            view_box = (float(parts[2]), float(parts[3]))
        except ValueError:
            view_box = None
    width = _svg_length(root.get("width"), view_box[0] if view_box else None)
    height = _svg_length(root.get("height"), view_box[1] if view_box else None)
    # Deviation: with no width, height or viewBox, browsers size an SVG image 300 x 150 (the
    # default object size); resvg uses 100 x 100, and the lab follows resvg.
    if width is None and height is None:
        return view_box if view_box else (100.0, 100.0)
    if width is None:
        width = height * view_box[0] / view_box[1] if view_box and view_box[1] else 100.0
    if height is None:
        height = width * view_box[1] / view_box[0] if view_box and view_box[0] else 100.0
    return width, height
