"""Tests for cors_lab.assets.svgbounds: what an SVG may ask the renderer for, checked before rendering."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
from hostile_corpus import png, svg, svg_filter_region, svg_nested, svg_ref_chain, svg_use_chain, svg_use_fanout

from cors_lab.assets import decode_image, svgbounds
from cors_lab.assets.decoding import decode_bytes
from cors_lab.errors import DecodeError

LIMIT = 16_000_000
SVG_TYPE = "image/svg+xml"


def check(data: bytes, limit: int = LIMIT) -> None:
    """The checks decode_image runs before rendering, for an SVG drawn at its own size."""
    root = svgbounds.parse(data)
    width, height = svgbounds.svg_size(root)
    svgbounds.check_tree(root, canvas=(int(width), int(height)), limit=limit)


def refused(data: bytes, match: str, limit: int = LIMIT) -> DecodeError:
    with pytest.raises(DecodeError, match=match) as info:
        check(data, limit)
    assert info.value.kind == "too-large"
    return info.value


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


# --- parsing with limits ------------------------------------------------------------------------


def test_parse_refuses_deep_nesting_while_parsing():
    refused(svg_nested(svgbounds.MAX_DEPTH + 5), "nested more than 96 deep")


def test_parse_refuses_too_many_elements():
    body = "<rect/>" * (svgbounds.MAX_PARSED_ELEMENTS + 1)
    refused(svg(10, 10, body), "more than 200,000 elements")


def test_parse_refuses_entity_expansion_past_the_text_budget():
    entity = "x" * 100_000
    doc = f'<!DOCTYPE svg [<!ENTITY a "{entity}">]><svg xmlns="http://www.w3.org/2000/svg">' + "<text>&a;</text>" * 50 + "</svg>"
    refused(doc.encode(), "entities expanded")


def test_parse_malformed_is_parse_error():
    with pytest.raises(ET.ParseError):
        svgbounds.parse(b"<svg")


# --- filter regions -----------------------------------------------------------------------------


def test_issue_filter_region_is_refused_before_rendering():
    err = refused(svg_filter_region(4000), r'filter id="f" region would need a buffer of 20,000 x 20,000')
    assert "more than the lab's limit of 16,000,000 pixels" in str(err)


@pytest.mark.parametrize("units, region", [
    ('x="-10%" y="-10%" width="120%" height="120%"', "default"),
    ('filterUnits="userSpaceOnUse" x="-10" y="-10" width="120" height="120"', "user space"),
])
def test_ordinary_filters_pass(units, region):
    check(svg(100, 100, f'<filter id="f" {units}><feGaussianBlur stdDeviation="3"/></filter>'
                        '<circle cx="50" cy="50" r="30" filter="url(#f)"/>'))


def test_filter_region_in_user_space_counts_transforms():
    body = ('<filter id="f" filterUnits="userSpaceOnUse" x="0" y="0" width="10" height="10"><feFlood/></filter>'
            '<g transform="scale(1000)"><rect width="10" height="10" filter="url(#f)"/></g>')
    check(svg(4000, 4000, body), limit=10**9)  # 10 x 10 user units scaled 1000 times: 1e8 pixels
    refused(svg(4000, 4000, body), "filter", limit=10**7)
    check(svg(100, 100, body), limit=10**7)  # on a 100 x 100 canvas resvg clips the region to 500 x 500


def test_filter_region_of_an_unknown_box_is_bounded_by_resvgs_clip():
    # Text has no box we can compute exactly: the region is at most 5 x 5 canvases (resvg's clip).
    body = '<filter id="f"><feFlood/></filter><text filter="url(#f)">hi</text>'
    check(svg(100, 100, body), limit=250_000)
    refused(svg(100, 100, body).replace(b'<text', b'<text font-size="100000"'), "filter", limit=200_000)


def test_filter_set_by_a_style_attribute_or_sheet_counts():
    region = 'x="-1000%" y="-1000%" width="2100%" height="2100%"'
    inline = svg(4000, 4000, f'<filter id="f" {region}><feFlood/></filter><rect width="4000" height="4000" style="filter: url(#f)"/>')
    sheet = svg(4000, 4000, f'<style>/* a comment */ @media screen {{ .big {{ filter: url(#f) }} }}</style>'
                            f'<filter id="f" {region}><feFlood/></filter><rect class="big" width="4000" height="4000"/>')
    refused(inline, "filter")
    refused(sheet, "filter")


# --- pattern tiles ------------------------------------------------------------------------------


@pytest.mark.parametrize("attrs", [
    'width="100000" height="100000" patternUnits="userSpaceOnUse"',
    'width="1" height="1" patternUnits="userSpaceOnUse" patternTransform="scale(100000)"',
    'width="1000" height="1000"',  # objectBoundingBox: 1000 boxes of 100 x 100
])
def test_huge_pattern_tiles_are_refused(attrs):
    refused(svg(100, 100, f'<pattern id="p" {attrs}><rect width="1" height="1"/></pattern>'
                          '<rect width="100" height="100" fill="url(#p)"/>'), "pattern tile")


def test_pattern_attributes_are_inherited_through_href():
    body = ('<pattern id="base" width="100000" height="100000" patternUnits="userSpaceOnUse"><rect width="1" height="1"/></pattern>'
            '<pattern id="p" href="#base"/><rect width="100" height="100" fill="url(#p)"/>')
    refused(svg(100, 100, body), "pattern tile")


def test_ordinary_pattern_passes_and_renders():
    data = svg(20, 20, '<pattern id="p" width="4" height="4" patternUnits="userSpaceOnUse"><rect width="2" height="2" fill="red"/>'
                       '</pattern><rect width="20" height="20" fill="url(#p)"/>')
    decoded = decode_image(data, content_type=SVG_TYPE)
    assert decoded.pixel(0, 0) == (255, 0, 0, 255) and decoded.pixel(3, 3)[3] == 0


# --- embedded images ----------------------------------------------------------------------------


@pytest.mark.parametrize("element", ["image", "feImage"])
def test_embedded_raster_over_the_limit_is_refused(element):
    href = data_url(png(5000, 5000), "image/png")
    body = (f'<image href="{href}" width="10" height="10"/>' if element == "image" else
            f'<filter id="f"><feImage href="{href}"/></filter><rect width="10" height="10" filter="url(#f)"/>')
    refused(svg(10, 10, body), "embedded PNG image would need a buffer of 5,000 x 5,000")


def test_embedded_raster_as_xlink_and_percent_encoded_data_url():
    inner = svg(9000, 9000, "<rect/>")
    body = f'<image xlink:href="data:image/svg+xml,{quote(inner)}" width="10" height="10"/>'
    check(svg(10, 10, body))  # drawn at 10 x 10: fine
    refused(svg(10, 10, body.replace('width="10" height="10"', 'width="5000" height="5000"')), "embedded SVG image")


def test_embedded_svg_is_checked_at_the_size_it_is_drawn():
    inner = svg_filter_region(4000)
    check(svg(64, 64, f'<image href="{data_url(inner, SVG_TYPE)}" width="64" height="64"/>'))
    refused(svg(4000, 4000, f'<image href="{data_url(inner, SVG_TYPE)}" width="4000" height="4000"/>'), "filter")


def test_embedded_svgs_nest_two_deep_at_most():
    inner = svg(10, 10, "<rect/>")
    for _ in range(3):
        inner = svg(10, 10, f'<image href="{data_url(inner, SVG_TYPE)}" width="10" height="10"/>')
    refused(inner, "SVG images inside SVG images more than 2 deep")


# --- depth and size of the expanded tree --------------------------------------------------------


@pytest.mark.parametrize("data", [svg_use_chain(60), svg_ref_chain(60, "mask"), svg_ref_chain(60, "pattern")],
                         ids=["use", "mask", "pattern"])
def test_reference_chains_count_as_nesting(data):
    refused(data, "nested")


def test_use_fanout_counts_every_copy():
    refused(svg_use_fanout(5), "more than 50,000 elements")
    check(svg_use_fanout(3))  # 1,000 rectangles


def test_reference_cycles_are_not_followed():
    body = '<g id="a"><use href="#b"/></g><g id="b"><use href="#a"/></g><use href="#a"/>'
    check(svg(10, 10, body))  # no endless walk
    # Deviation: resvg refuses an SVG with a <use> cycle outright (browsers draw the rest of it).
    with pytest.raises(DecodeError, match="nodes limit"):
        decode_image(svg(10, 10, body + '<rect width="1" height="1"/>'), content_type=SVG_TYPE)


def test_content_of_defs_counts_only_where_it_is_used():
    defs = "".join(f'<mask id="m{i}"><rect width="5" height="5" fill="white"/></mask>' for i in range(5000))
    check(svg(10, 10, f"<defs>{defs}</defs><rect width='10' height='10' mask='url(#m1)'/>"))


# --- geometry helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("", svgbounds.IDENTITY),
    ("translate(10, 20)", (1, 0, 0, 1, 10, 20)),
    ("scale(2) translate(1 1)", (2, 0, 0, 2, 2, 2)),
    ("matrix(1 2 3 4 5 6)", (1, 2, 3, 4, 5, 6)),
    ("rotate(90)", (0, 1, -1, 0, 0, 0)),
    ("rotate(", svgbounds.IDENTITY),
    ("rotate(" * 10_000, svgbounds.IDENTITY),  # read in one pass, however many open parentheses
], ids=["empty", "translate", "scale-translate", "matrix", "rotate", "unclosed", "many-unclosed"])
def test_parse_transform(text, expected):
    assert svgbounds.parse_transform(text) == pytest.approx(expected, abs=1e-12)


def test_path_points_hold_the_path():
    points = list(svgbounds._path_points("M10 10 l5 5 h-20 V-3 C0 0 100 100 1 1 a5 5 0 1 1 10 0 z"))
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    assert min(xs) <= -5 and max(xs) >= 100 and min(ys) <= -3 and max(ys) >= 100


def test_decode_bytes_runs_the_same_checks():
    with pytest.raises(DecodeError, match="filter"):
        decode_bytes(svg_filter_region(4000), content_type=SVG_TYPE, max_pixels=LIMIT, partial=False)
