"""Image bytes as the MIME Sniffing and HTML standards see them: which format, and load or error.

Owns the rules for sniffing images specifically (the image type pattern table, XML MIME types,
"SVG is never sniffed from bytes"), the kit's few additions to them (AVIF, formats browsers do not
decode, naming what a non-image is), and HTML's outcome for an image whose bytes stopped early.
Pure: stdlib only, bytes in, a format name or DecodeError out; pixels are decoded elsewhere
(cors_lab.assets.decoding, with Pillow and resvg).
"""

from __future__ import annotations

import json
import re
import struct
from typing import NamedTuple

from ..errors import DecodeError
from .profiles import DEFAULT_PROFILE, Profile, get_profile

MIMESNIFF = "https://mimesniff.spec.whatwg.org/"
HTML = "https://html.spec.whatwg.org/multipage/"

# Format -> the name a learner knows it by.
FORMAT_NAMES = {
    "png": "PNG", "jpeg": "JPEG", "gif": "GIF", "webp": "WebP", "avif": "AVIF",
    "bmp": "BMP", "ico": "ICO", "cur": "CUR", "svg": "SVG",
}  # fmt: skip
SUPPORTED = "PNG, JPEG, GIF, WebP, AVIF, BMP, ICO and SVG"


class ImagePattern(NamedTuple):
    """One row of the image type pattern table: byte pattern, pattern mask, MIME type, format."""

    pattern: bytes
    mask: bytes
    mime_type: str
    format: str


# https://mimesniff.spec.whatwg.org/#image-type-pattern-matching-algorithm, the table in order
# (no row ignores leading bytes). The WebP row's mask skips the four RIFF size bytes.
IMAGE_TYPE_PATTERNS: tuple[ImagePattern, ...] = (
    ImagePattern(b"\x00\x00\x01\x00", b"\xff" * 4, "image/x-icon", "ico"),  # a Windows Icon signature
    ImagePattern(b"\x00\x00\x02\x00", b"\xff" * 4, "image/x-icon", "cur"),  # a Windows Cursor signature
    ImagePattern(b"BM", b"\xff" * 2, "image/bmp", "bmp"),
    ImagePattern(b"GIF87a", b"\xff" * 6, "image/gif", "gif"),
    ImagePattern(b"GIF89a", b"\xff" * 6, "image/gif", "gif"),
    ImagePattern(b"RIFF\x00\x00\x00\x00WEBPVP", b"\xff" * 4 + b"\x00" * 4 + b"\xff" * 6, "image/webp", "webp"),
    ImagePattern(b"\x89PNG\r\n\x1a\n", b"\xff" * 8, "image/png", "png"),
    ImagePattern(b"\xff\xd8\xff", b"\xff" * 3, "image/jpeg", "jpeg"),
)

# Formats a browser may know but the lab does not decode (as in Chromium and Firefox today).
UNSUPPORTED_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\xff\x0a", "a JPEG XL image"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "a JPEG XL image"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 image"),
    (b"8BPS", "a Photoshop (PSD) file"),
    (b"qoif", "a QOI image"),
    (b"\x76\x2f\x31\x01", "an OpenEXR image"),
)
AVIF_BRANDS = frozenset({b"avif", b"avis"})
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})

# HTML's image request states at the end of the response body -> the event the <img> fires.
# https://html.spec.whatwg.org/multipage/images.html#img-req-state
EVENT_FOR_STATE = {"completely available": "load", "broken": "error"}


# --- MIME types -----------------------------------------------------------------------------------


def mime_type_essence(content_type: str | None) -> str | None:
    """The essence ("type/subtype", lower case) of a Content-Type value; None when there is none.

    Deviation: not the full MIME type parser: the text before ";", trimmed and lower-cased.
    Spec: https://mimesniff.spec.whatwg.org/#mime-type-essence
    """
    if content_type is None:
        return None
    # "The essence of a MIME type mimeType is mimeType's type, followed by U+002F (/), followed by
    #  mimeType's subtype."  (Type and subtype are ASCII-lowercased when parsed.)
    return content_type.split(";", 1)[0].strip().lower()


def is_xml_mime_type(essence: str) -> bool:
    """Spec: https://mimesniff.spec.whatwg.org/#xml-mime-type"""
    # "An XML MIME type is any MIME type whose subtype ends in "+xml" or whose essence is "text/xml"
    #  or "application/xml"."
    return essence.endswith("+xml") or essence in ("text/xml", "application/xml")


# --- Pattern matching -----------------------------------------------------------------------------


def pattern_matches(data: bytes, pattern: bytes, mask: bytes) -> bool:
    """Spec: https://mimesniff.spec.whatwg.org/#pattern-matching-algorithm (no ignored bytes)"""
    # 1. Assert: pattern's length is equal to mask's length.
    assert len(pattern) == len(mask)
    # 2. If input's length is less than pattern's length, return false.
    if len(data) < len(pattern):
        return False
    # 3-4. (No image row ignores leading bytes, so s stays 0.)
    # 6. While p < pattern's length: 6.1 Let maskedData be the result of applying the bitwise AND
    #    operator to input[s] and mask[p]. 6.2 If maskedData is not equal to pattern[p], return false.
    # 7. Return true.
    return all(data[i] & mask[i] == pattern[i] for i in range(len(pattern)))


def image_type_pattern(data: bytes) -> str | None:
    """The format whose row of the image type pattern table ``data`` matches, or None.

    Spec: https://mimesniff.spec.whatwg.org/#image-type-pattern-matching-algorithm
    """
    # 1. Execute the following steps for each row row in the following table:
    for row in IMAGE_TYPE_PATTERNS:
        # 1.1 Let patternMatched be the result of the pattern matching algorithm given input, ...
        # 1.2 If patternMatched is true, return the value in the fourth column of row.
        if pattern_matches(data, row.pattern, row.mask):
            return row.format
    # 2. Return undefined.
    return None


def ftyp_brands(data: bytes) -> set[bytes]:
    """The major and compatible brands of an ISO-BMFF 'ftyp' box at the start, if any."""
    if len(data) < 16 or data[4:8] != b"ftyp":
        return set()
    size = struct.unpack(">I", data[:4])[0]
    end = min(size if size >= 16 else 16, len(data))
    return {data[8:12]} | {data[i : i + 4] for i in range(16, end - 3, 4)}


def sniff_image_format(data: bytes, content_type: str | None, *, profile: str | Profile = DEFAULT_PROFILE) -> str:
    """The format an ``<img>`` decodes ``data`` as, given its Content-Type; else DecodeError saying why.

    Raster formats are sniffed from the bytes whatever the Content-Type says; SVG only ever comes
    from the Content-Type ``image/svg+xml``. ``content_type=""`` is a response with no Content-Type
    header (then SVG fails: it is never sniffed); ``None`` means "unknown", a file from disk: then
    SVG is recognised from its bytes too.
    Spec: https://mimesniff.spec.whatwg.org/#rules-for-sniffing-images-specifically
    """
    essence = mime_type_essence(content_type)
    engine = get_profile(profile)
    # Choice "media-types-not-images" (WebKitGTK 2.50): these types go to PDF or media code, never to
    # an image decoder (measured: a PNG served as application/pdf, video/mp4, video/webm, video/ogg or
    # multipart/x-mixed-replace fires error; as audio/* it loads).
    if essence and engine.has("media-types-not-images") and (
            essence in ("application/pdf", "multipart/x-mixed-replace") or essence.startswith("video/")):
        raise DecodeError(
            f"This engine never shows a response served as {essence!r} as an image, whatever its bytes: the <img> "
            "fires 'error'.\nFix: serve the image with its own type (image/png, image/jpeg, ...).",
            kind="not-an-image",
        )
    # 1. If the supplied MIME type is an XML MIME type, the computed MIME type is the supplied MIME
    #    type. Abort these steps.
    # Deviation: the engines keep only image/svg+xml from this step: their image decoder is chosen
    # by the bytes for any other type (measured: a PNG or GIF served as text/xml, application/xml
    # or application/rss+xml loads; served as image/svg+xml it fires error in Chromium and WebKit).
    # Deviation "svg-type-sniffs-raster" (Firefox ESR 153): raster bytes win over image/svg+xml too.
    if essence == "image/svg+xml" and not (engine.has("svg-type-sniffs-raster") and image_type_pattern(data)):
        return "svg"
    # 2. Let image-type-matched be the result of executing the image type pattern matching
    #    algorithm with the resource header as the byte sequence to be matched.
    matched = image_type_pattern(data)
    # 3. If image-type-matched is not undefined, the computed MIME type is image-type-matched.
    if matched is not None:
        return matched
    # Deviation: AVIF is not in the mimesniff table; browsers that decode AVIF recognise the
    # ISO-BMFF 'ftyp' box with an 'avif' (still) or 'avis' (sequence) brand, and so does the lab.
    brands = ftyp_brands(data)
    if brands & AVIF_BRANDS:
        return "avif"
    # 4. The computed MIME type is the supplied MIME type: no image pattern matched, so the
    #    browser has no image decoder for these bytes. What follows only names what they are.
    if brands & HEIF_BRANDS:
        raise _unsupported("a HEIC/HEIF image (the iPhone photo format)")
    if brands:
        raise DecodeError(
            "These bytes are an MP4/QuickTime-style media file (ISO-BMFF), not an image; an <img>"
            " fires 'error'.\nFix: show video with <video>, or serve an image format: " + SUPPORTED + ".",
            kind="not-an-image",
        )
    for signature, what in UNSUPPORTED_SIGNATURES:
        if data.startswith(signature):
            raise _unsupported(what)
    if looks_like_svg(data):
        if content_type is None:
            # Deviation: with no Content-Type at all (bytes from a file) the lab accepts SVG by its
            # bytes; a browser loading a file: URL decides by the file name instead.
            return "svg"
        # SVG has no row in the image type pattern table: it is never sniffed from bytes.
        served = f"served as {content_type!r}" if essence else "served with no Content-Type at all"
        raise DecodeError(
            f"These bytes are an SVG image, but it was {served}. Browsers sniff"
            " raster images from their bytes, but never SVG: an <img> renders SVG only when the"
            " server says 'Content-Type: image/svg+xml', so here it fires 'error'.\n"
            "Fix: serve .svg files with 'Content-Type: image/svg+xml'.",
            kind="svg-content-type",
        )
    what = describe_non_image(data)
    if what:
        raise DecodeError(
            f"The response is not an image: it looks like {what} (it starts with"
            f" {preview(data)}). The <img> fires 'error'. A server often sends an HTML error or"
            " login page with status 200 where an image was expected.\n"
            "Fix: open the URL in a browser tab to see what it returns, and correct the URL or the"
            " server.",
            kind="not-an-image",
        )
    raise DecodeError(
        f"The bytes match no image format a browser decodes (they start with {preview(data)}),"
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


# --- What the bytes are when they are not an image ------------------------------------------------


def preview(data: bytes) -> str:
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


def looks_like_svg(data: bytes) -> bool:
    """Whether the bytes are text whose first element (after prolog and comments) is ``<svg``."""
    text = _text_head(data)
    if text is None:
        return False
    text = re.sub(r"<\?xml.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(\[.*?\])?\s*>", "", text.lstrip(), flags=re.S)
    return text.lstrip().startswith("<svg")


# https://mimesniff.spec.whatwg.org/#rules-for-identifying-an-unknown-mime-type (the HTML rows:
# "<!DOCTYPE HTML", "<HTML", ... "<!--", each followed by a tag-terminating byte)
HTML_STARTS = (
    "<!doctype html", "<html", "<head", "<script", "<iframe", "<h1", "<div", "<font", "<table",
    "<a", "<style", "<title", "<b", "<body", "<br", "<p", "<!--",
)  # fmt: skip


def describe_non_image(data: bytes) -> str | None:
    """What non-image bytes look like ("an HTML page", "a PDF document", ...), or None for binary."""
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
    for start in HTML_STARTS:
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


# --- Update the image data: load or error ---------------------------------------------------------


def image_state_when_fetched(*, dimensions_known: bool) -> str:
    """The ``<img>``'s request state once its response body has ended: "completely available" or "broken".

    Whether every pixel decoded does not matter: a truncated image whose header (its width and
    height) arrived is completely available and fires ``load``, showing what arrived (measured:
    Chromium 156 loads a PNG cut after 60 bytes). Only an image whose dimensions cannot be
    obtained is broken and fires ``error``. ``EVENT_FOR_STATE`` gives the event.
    Spec: https://html.spec.whatwg.org/multipage/images.html#update-the-image-data
    """
    # While the body arrives: "If the user agent is able to determine image request's image's width
    # and height, and image request is the current request, prepare image request for presentation
    # given the img element and set image request's state to partially available."
    # "Otherwise, if the user agent is able to determine that image request's image is corrupted in
    # some fatal way such that the image dimensions cannot be obtained, and image request is the
    # current request: Abort the image request for image request. ... fire an event named error at
    # the img element."
    if not dimensions_known:
        return "broken"
    # When the body ends, an image whose dimensions are known becomes "completely available" ("The
    # user agent has obtained all of the image data and at least the image dimensions are
    # available") and the img element fires "load".
    return "completely available"


# --- When the size is known: Chromium's decoders, measured ------------------------------------------
# "If the user agent is able to determine image request's image's width and height" (above) is a
# decoder's business: each format says its size somewhere in its first bytes, and Chromium's decoder
# for it reads a little more than that before it reports the size. Measured with Chromium
# 156.0.8078.108 on 2026-11-30 by tools/measure_truncation.py: every lab picture cut to every length
# (BMP to 400 bytes), loaded no-cors and with crossorigin; the rule below reproduces each format's
# threshold exactly, and is read from the bytes, so it holds for other files of the format too.
SIZE_MEASURED_WITH = "Chromium 156.0.8078.108"


def _png_after(data: bytes) -> int | None:
    # The 8-byte signature, the IHDR chunk (length, type, 13 bytes of data, CRC), then the next
    # chunk's length and type: 8 + 25 + 8.
    return 41 if data[12:16] == b"IHDR" else None


def _gif_after(data: bytes) -> int | None:
    # Header and logical screen descriptor (13 bytes), the global colour table, whole extension
    # blocks, then the first image descriptor up to its height (separator, left, top, width, height).
    pos = 13 + ((3 << ((data[10] & 7) + 1)) if data[10] & 0x80 else 0)
    while pos < len(data):
        block = data[pos]
        if block == 0x21:  # an extension: its label, then sub-blocks up to a zero length
            pos += 2
            while data[pos]:
                pos += data[pos] + 1
            pos += 1
        elif block == 0x2C:
            return pos + 9
        else:
            return None
    return None


def _jpeg_after(data: bytes) -> int | None:
    # Every marker segment up to and including the start-of-scan (SOS, FFDA) segment's header:
    # libjpeg's jpeg_read_header() stops there.
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = struct.unpack_from(">H", data, pos + 2)[0]
        if marker == 0xDA:
            return pos + 2 + length
        pos += 2 + length
    return None


def _webp_after(data: bytes) -> int | None:
    # RIFF header (12), the first chunk's header (8), then the frame header that holds the size:
    # "VP8 " 10 bytes (measured), "VP8L" 5 bytes and "VP8X" 10 bytes (not measured: the lab's
    # picture is lossy).
    return {b"VP8 ": 30, b"VP8L": 25, b"VP8X": 30}.get(bytes(data[12:16]))


def _box_end(data: bytes, kind: bytes) -> int | None:
    # Walk the top-level ISO-BMFF boxes: the end of the first box of this kind (None: not there yet).
    pos = 0
    while pos + 8 <= len(data):
        size, name = struct.unpack_from(">I4s", data, pos)
        if size < 8:
            return None
        if name == kind:
            return pos + size
        pos += size
    return None


def _avif_after(data: bytes) -> int | None:
    # Every top-level box up to the end of the whole 'meta' box (libavif parses meta before it
    # reports the size; the 'ispe' property inside it arrives earlier but is not enough).
    return _box_end(data, b"meta")


def _avif_whole_after(data: bytes) -> int | None:
    # Every top-level box up to the end of the 'mdat' box, the pixels themselves: the whole file.
    return _box_end(data, b"mdat")


def _gif_descriptor_after(data: bytes) -> int | None:
    # As _gif_after, and the image descriptor's last byte (its packed fields) too.
    need = _gif_after(data)
    return None if need is None else need + 1


def _gif_screen_after(data: bytes) -> int | None:
    # The header and logical screen descriptor (13 bytes, which give the size), and one byte more.
    return 14


def _bmp_after(data: bytes) -> int | None:
    # The 14-byte file header and the whole info header, whose first 4 bytes give its size.
    return 14 + struct.unpack_from("<I", data, 14)[0]


def _ico_after(data: bytes) -> int | None:
    # The 6-byte directory header and one 16-byte entry per image (each entry gives a size).
    count = struct.unpack_from("<H", data, 4)[0]
    return 6 + 16 * count if count else None


class SizeRule(NamedTuple):
    """What must have arrived before Chromium's decoder knows an image's size, as data."""

    needs: str  # in words
    measured: str  # the lab's picture: from how many of its bytes Chromium fired load
    after: object  # (bytes) -> the number of bytes needed, read from the data; None: not readable


# format -> its rule (SVG is not here: an SVG loads only once the whole document parses).
SIZE_RULES: dict[str, SizeRule] = {
    "png": SizeRule("the signature, the IHDR chunk with its CRC, and the next chunk's length and type",
                    "picture.png: load from 41 of 214 bytes", _png_after),
    "gif": SizeRule("the screen descriptor, colour table and extensions, and the first image descriptor to its height",
                    "picture.gif: load from 46 of 353 bytes", _gif_after),
    "jpeg": SizeRule("every marker segment through the start-of-scan header",
                     "picture.jpg: load from 623 of 1033 bytes", _jpeg_after),
    "webp": SizeRule("the RIFF and chunk headers and the frame header", "picture.webp: load from 30 of 222 bytes",
                     _webp_after),
    "avif": SizeRule("the ftyp box and the whole meta box", "picture.avif: load from 267 of 405 bytes", _avif_after),
    "bmp": SizeRule("the file header and the whole info header", "picture.bmp: load from 54 of 9270 bytes", _bmp_after),
    "ico": SizeRule("the directory: its header and every entry", "picture.ico: load from 22 of 265 bytes", _ico_after),
    "cur": SizeRule("the directory: its header and every entry", "as ICO (not measured)", _ico_after),
}


# Where an engine's decoder needs other bytes than Chromium's before it knows the size: deviation name
# -> (format, rule), measured with tools/measure_truncation.py --engine (2026-11-30).
ENGINE_SIZE_RULES: dict[str, tuple[str, SizeRule]] = {
    "gif-size-after-image-descriptor": ("gif", SizeRule(
        "as Chromium, and the first image descriptor's last byte", "picture.gif: load from 47 of 353 bytes",
        _gif_descriptor_after)),
    "gif-size-after-screen-descriptor": ("gif", SizeRule(
        "the header and logical screen descriptor, and one byte more", "picture.gif: load from 14 of 353 bytes",
        _gif_screen_after)),
    "avif-size-after-whole-file": ("avif", SizeRule(
        "every box through the 'mdat' box: the whole file", "picture.avif: load from 405 of 405 bytes",
        _avif_whole_after)),
}


def size_known(fmt: str, data: bytes, *, profile: str | Profile = DEFAULT_PROFILE) -> bool:
    """Whether the engine knows the size of an image of format ``fmt`` from ``data``, a file's first
    bytes (all of them, or what arrived): Chromium's rule of `SIZE_RULES`, or the profile's own
    (`ENGINE_SIZE_RULES`), measured.

    Spec: https://html.spec.whatwg.org/multipage/images.html#update-the-image-data ("able to
    determine image request's image's width and height")
    """
    engine = get_profile(profile)
    rule = SIZE_RULES.get(fmt)
    # Choices "gif-size-after-image-descriptor" (Firefox ESR 153), "gif-size-after-screen-descriptor"
    # (WebKitGTK 2.50), "avif-size-after-whole-file" (both): HTML leaves this to the decoder.
    if fmt == "gif" and engine.has("gif-size-after-image-descriptor"):
        rule = ENGINE_SIZE_RULES["gif-size-after-image-descriptor"][1]
    if fmt == "gif" and engine.has("gif-size-after-screen-descriptor"):
        rule = ENGINE_SIZE_RULES["gif-size-after-screen-descriptor"][1]
    if fmt == "avif" and engine.has("avif-size-after-whole-file"):
        rule = ENGINE_SIZE_RULES["avif-size-after-whole-file"][1]
    if rule is None:
        return True
    try:
        need = rule.after(data)  # type: ignore[operator]
    except (IndexError, struct.error):
        return False
    return need is not None and len(data) >= need


def svg_complete(data: bytes) -> bool:
    """Whether an SVG document arrived whole: its root element ends (``</svg>`` or ``<svg .../>``).

    Chromium parses an SVG image only once its bytes ended; a document cut before its root's end
    tag is not well-formed, so the image is broken (measured: the lab's 598-byte SVG loads from 597
    bytes, its final newline being the only byte not needed).
    Deviation: a pattern, not an XML parser: only the root's end matters here.
    """
    return re.search(rb"(</(?:[A-Za-z_][\w.-]*:)?svg\s*>|<(?:[A-Za-z_][\w.-]*:)?svg\b[^<>]*/>)\s*\Z", data) is not None


def image_loads(data: bytes, content_type: str | None, *, profile: str | Profile = DEFAULT_PROFILE) -> bool:
    """Whether an ``<img>`` fires load for a response body: its format is one an ``<img>`` decodes
    (`sniff_image_format`) and its size is known (`size_known`, `svg_complete`). No pixel is
    decoded: what the model decides from the bytes alone.

    Spec: https://html.spec.whatwg.org/multipage/images.html#update-the-image-data
    """
    if not data:
        return False
    try:
        fmt = sniff_image_format(data, content_type, profile=profile)
    except DecodeError:
        return False
    dimensions_known = svg_complete(data) if fmt == "svg" else size_known(fmt, data, profile=profile)
    return EVENT_FOR_STATE[image_state_when_fetched(dimensions_known=dimensions_known)] == "load"
