"""Tests for cors_lab.spec.images: MIME sniffing for images, and load or error for a cut-short image."""

import pytest

from cors_lab.errors import DecodeError
from cors_lab.spec.images import (
    EVENT_FOR_STATE,
    IMAGE_TYPE_PATTERNS,
    describe_non_image,
    image_state_when_fetched,
    image_type_pattern,
    is_xml_mime_type,
    looks_like_svg,
    mime_type_essence,
    pattern_matches,
    preview,
    sniff_image_format,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 16
SVG = b'<?xml version="1.0"?>\n<!-- made by hand -->\n<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'
AVIF = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 8
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
HTML_PAGE = b"<!DOCTYPE html><html><body>404</body></html>"


# --- MIME types -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type, essence",
    [
        pytest.param("image/png", "image/png", id="essence-plain"),
        pytest.param("Image/SVG+XML; charset=utf-8", "image/svg+xml", id="essence-lowercased-parameters-dropped"),
        pytest.param("  image/jpeg ;q=1", "image/jpeg", id="essence-trimmed"),
        pytest.param(None, None, id="essence-no-content-type"),
    ],
)
def test_mime_type_essence(content_type, essence):
    assert mime_type_essence(content_type) == essence


@pytest.mark.parametrize(
    "essence, xml",
    [
        pytest.param("image/svg+xml", True, id="xml-mime-type-plus-xml"),
        pytest.param("text/xml", True, id="xml-mime-type-text-xml"),
        pytest.param("application/xml", True, id="xml-mime-type-application-xml"),
        pytest.param("application/atom+xml", True, id="xml-mime-type-any-plus-xml"),
        pytest.param("image/png", False, id="xml-mime-type-not-png"),
        pytest.param("text/html", False, id="xml-mime-type-not-html"),
    ],
)
def test_is_xml_mime_type(essence, xml):
    assert is_xml_mime_type(essence) is xml


# --- The image type pattern matching algorithm --------------------------------------------------------


@pytest.mark.parametrize("row", IMAGE_TYPE_PATTERNS, ids=lambda row: f"image-type-pattern-{row.format}-{row.pattern[:4].hex()}")
def test_every_row_of_the_table_matches_its_own_pattern(row):
    assert len(row.pattern) == len(row.mask)  # pattern matching, step 1
    assert image_type_pattern(row.pattern + b"rest") == row.format
    assert row.mime_type.startswith("image/")


@pytest.mark.parametrize(
    "data, fmt",
    [
        pytest.param(PNG, "png", id="image-type-pattern-png"),
        pytest.param(JPEG, "jpeg", id="image-type-pattern-jpeg"),
        pytest.param(b"GIF87a...", "gif", id="image-type-pattern-gif87a"),
        pytest.param(b"GIF89a...", "gif", id="image-type-pattern-gif89a"),
        pytest.param(b"BM" + b"\x00" * 20, "bmp", id="image-type-pattern-bmp"),
        pytest.param(b"\x00\x00\x01\x00\x01\x00", "ico", id="image-type-pattern-ico"),
        pytest.param(b"\x00\x00\x02\x00\x01\x00", "cur", id="image-type-pattern-cursor"),
        pytest.param(WEBP, "webp", id="image-type-pattern-webp-mask-skips-size-bytes"),
        pytest.param(b"RIFF\xff\xff\xff\xffWEBPVP8L", "webp", id="image-type-pattern-webp-any-size"),
        pytest.param(b"RIFF\x24\x00\x00\x00WAVEfmt ", None, id="image-type-pattern-riff-wave-is-no-image"),
        pytest.param(b"\x89PNG", None, id="pattern-matching-step2-input-shorter-than-pattern"),
        pytest.param(b" \x89PNG\r\n\x1a\n", None, id="pattern-matching-no-leading-bytes-ignored"),
        pytest.param(SVG, None, id="image-type-pattern-svg-has-no-row"),
        pytest.param(AVIF, None, id="image-type-pattern-avif-has-no-row"),
        pytest.param(b"", None, id="image-type-pattern-empty"),
    ],
)
def test_image_type_pattern(data, fmt):
    assert image_type_pattern(data) == fmt


def test_pattern_matches_applies_the_mask():
    assert pattern_matches(b"\x0f", b"\x0f", b"\x0f")
    assert pattern_matches(b"\xff", b"\x0f", b"\x0f")  # the high bits are masked away
    assert not pattern_matches(b"\xf0", b"\x0f", b"\x0f")


# --- Rules for sniffing images specifically ----------------------------------------------------------


@pytest.mark.parametrize(
    "data, content_type, fmt",
    [
        pytest.param(SVG, "image/svg+xml", "svg", id="sniff-images-step1-svg-type-is-used-as-is"),
        pytest.param(PNG, "image/svg+xml", "svg", id="sniff-images-step1-xml-type-does-not-sniff-raster"),
        pytest.param(PNG, "image/jpeg", "png", id="sniff-images-step3-bytes-beat-the-content-type"),
        pytest.param(JPEG, "image/png; charset=x", "jpeg", id="sniff-images-step3-jpeg-labelled-png"),
        pytest.param(PNG, "text/html", "png", id="sniff-images-step3-any-type-is-sniffed"),
        pytest.param(PNG, None, "png", id="sniff-images-step3-no-content-type"),
        pytest.param(WEBP, "application/octet-stream", "webp", id="sniff-images-step3-webp"),
        pytest.param(AVIF, "image/avif", "avif", id="sniff-images-deviation-avif-ftyp-brand"),
        pytest.param(SVG, None, "svg", id="sniff-images-deviation-svg-from-a-file-without-type"),
        pytest.param(PNG, "text/xml", "png", id="sniff-images-step1-deviation-xml-type-still-sniffed"),
        pytest.param(PNG, "application/rss+xml", "png", id="sniff-images-step1-deviation-any-xml-type-sniffed"),
        pytest.param(PNG, "", "png", id="sniff-images-step3-response-without-content-type"),
    ],
)
def test_sniff_image_format(data, content_type, fmt):
    assert sniff_image_format(data, content_type) == fmt


@pytest.mark.parametrize(
    "data, content_type, kind, words",
    [
        pytest.param(SVG, "text/xml", "svg-content-type", "served as 'text/xml'", id="sniff-images-svg-served-as-xml"),
        pytest.param(SVG, "", "svg-content-type", "no Content-Type at all", id="sniff-images-svg-served-without-type"),
        pytest.param(SVG, "image/png", "svg-content-type", "never SVG", id="sniff-images-svg-never-sniffed-from-bytes"),
        pytest.param(SVG, "text/plain", "svg-content-type", "never SVG", id="sniff-images-svg-served-as-text"),
        pytest.param(HEIC, "image/heic", "unsupported", "HEIC", id="sniff-images-step4-heic-not-decoded"),
        pytest.param(MP4, "video/mp4", "not-an-image", "ISO-BMFF", id="sniff-images-step4-mp4-is-media"),
        pytest.param(b"II*\x00" + b"\x00" * 8, "image/tiff", "unsupported", "TIFF", id="sniff-images-step4-tiff-not-decoded"),
        pytest.param(HTML_PAGE, "image/png", "not-an-image", "an HTML page", id="sniff-images-step4-html-page"),
        pytest.param(b"\x01\x02\x03\x04\x05", "image/png", "unsupported", "01 02 03 04 05", id="sniff-images-step4-garbage"),
    ],
)
def test_sniff_image_format_refuses(data, content_type, kind, words):
    with pytest.raises(DecodeError) as info:
        sniff_image_format(data, content_type)
    assert info.value.kind == kind
    assert words in str(info.value)
    assert "Fix:" in str(info.value)


@pytest.mark.parametrize(
    "data, svg",
    [
        pytest.param(SVG, True, id="looks-like-svg-after-prolog-and-comment"),
        pytest.param(b"\xef\xbb\xbf<svg/>", True, id="looks-like-svg-after-bom"),
        pytest.param(b'<!DOCTYPE svg [ <!ENTITY x "y"> ]>\n<svg/>', True, id="looks-like-svg-after-doctype-subset"),
        pytest.param(HTML_PAGE, False, id="looks-like-svg-not-html"),
        pytest.param(PNG, False, id="looks-like-svg-not-binary"),
    ],
)
def test_looks_like_svg(data, svg):
    assert looks_like_svg(data) is svg


@pytest.mark.parametrize(
    "data, what",
    [
        pytest.param(HTML_PAGE, "an HTML page", id="unknown-mime-html-doctype"),
        pytest.param(b"  <p>hello", "an HTML page", id="unknown-mime-html-p-tag"),
        pytest.param(b"<pre>x</pre>", "an XML document", id="unknown-mime-pre-is-not-in-the-html-list"),
        pytest.param(b"%PDF-1.7", "a PDF document", id="unknown-mime-pdf"),
        pytest.param(b'{"a": 1}', "a JSON document", id="non-image-json"),
        pytest.param(b"Not Found", "plain text", id="non-image-text"),
        pytest.param(b"\x00\x01\x02\x03" * 8, None, id="non-image-binary-unnamed"),
    ],
)
def test_describe_non_image(data, what):
    assert describe_non_image(data) == what


def test_preview_shows_text_or_hex():
    assert preview(b"Not Found") == "'Not Found'"
    assert preview(bytes(range(10))) == "00 01 02 03 04 05 06 07 ..."


# --- Update the image data: load or error ---------------------------------------------------------------


@pytest.mark.parametrize(
    "dimensions_known, state, event",
    [
        pytest.param(True, "completely available", "load", id="update-image-data-dimensions-known-loads-even-truncated"),
        pytest.param(False, "broken", "error", id="update-image-data-corrupted-no-dimensions-error"),
    ],
)
def test_image_state_when_fetched(dimensions_known, state, event):
    assert image_state_when_fetched(dimensions_known=dimensions_known) == state
    assert EVENT_FOR_STATE[state] == event


# --- When Chromium knows the size (measured), and whether a body loads -----------------------------

from cors_lab.assets import get_asset  # noqa: E402  (the lab's pictures: the files the rule was measured on)
from cors_lab.spec.images import SIZE_RULES, image_loads, size_known, svg_complete  # noqa: E402

# picture -> the first length from which Chromium 156 fired load (tools/measure_truncation.py).
MEASURED_LOAD_FROM = {"picture.png": 41, "picture.gif": 46, "picture.jpg": 623, "picture.webp": 30,
                      "picture.avif": 267, "picture.bmp": 54, "picture.ico": 22}


@pytest.mark.parametrize("name, n", [pytest.param(k, v, id=f"size-known-{k}-from-{v}") for k, v in MEASURED_LOAD_FROM.items()])
def test_size_known_from_the_measured_length(name, n):
    body = get_asset(name).body
    fmt = sniff_image_format(body, None)
    assert fmt in SIZE_RULES
    assert size_known(fmt, body[:n]) and size_known(fmt, body)
    assert not size_known(fmt, body[: n - 1])
    assert image_loads(body[:n], get_asset(name).content_type) and not image_loads(body[: n - 1], get_asset(name).content_type)


@pytest.mark.parametrize(
    "data, content_type, loads",
    [
        pytest.param(b"", "image/png", False, id="image-loads-empty-body-error"),
        pytest.param(HTML_PAGE, "text/html", False, id="image-loads-html-page-error"),
        pytest.param(SVG, "image/svg+xml", True, id="image-loads-svg-served-as-svg"),
        pytest.param(SVG, "", False, id="image-loads-svg-without-content-type-never-sniffed"),
        pytest.param(SVG[:-3], "image/svg+xml", False, id="image-loads-svg-cut-before-root-ends"),
    ],
)
def test_image_loads(data, content_type, loads):
    assert image_loads(data, content_type) is loads


def test_svg_complete_needs_the_root_end():
    assert svg_complete(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>\n")
    assert not svg_complete(b"<svg xmlns='http://www.w3.org/2000/svg'><rect/>")
