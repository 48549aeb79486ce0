"""Tests for cors_lab.assets.pictures: the test picture in every format, the secret, expected pixels."""

from __future__ import annotations

import pytest

from cors_lab import assets
from cors_lab.assets import (
    ASSET_NAMES,
    EXPECTED,
    SAMPLE_POINTS,
    Asset,
    decode_image,
    expected_pixels,
    get_asset,
    pictures,
    secret_color,
)

PICTURES = [name for name in ASSET_NAMES if name.startswith("picture.")]


# --- the assets -------------------------------------------------------------------------------


def test_ASSET_NAMES_cover_every_format_and_the_secret():
    extensions = {name.rsplit(".", 1)[1] for name in PICTURES}
    assert extensions == {"png", "jpg", "gif", "webp", "avif", "bmp", "ico", "svg"}
    assert "secret.png" in ASSET_NAMES
    assert len(set(ASSET_NAMES)) == len(ASSET_NAMES)


@pytest.mark.parametrize("name", ASSET_NAMES)
def test_get_asset_returns_a_frozen_asset(name):
    asset = get_asset(name)
    assert isinstance(asset, Asset)
    assert asset.name == name
    assert isinstance(asset.body, bytes) and asset.body
    assert asset.content_type.startswith("image/")
    with pytest.raises(AttributeError):
        asset.body = b""  # type: ignore[misc]
    assert "bytes" in repr(asset) and repr(asset.body[:8]) not in repr(asset)


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("picture.png", "image/png"),
        ("picture.jpg", "image/jpeg"),
        ("picture.gif", "image/gif"),
        ("picture.webp", "image/webp"),
        ("picture.avif", "image/avif"),
        ("picture.bmp", "image/bmp"),
        ("picture.ico", "image/x-icon"),
        ("picture.svg", "image/svg+xml"),
        ("secret.png", "image/png"),
    ],
)
def test_get_asset_content_type(name, content_type):
    assert get_asset(name).content_type == content_type


@pytest.mark.parametrize("name", ["picture.tiff", "", "PICTURE.PNG", "/picture.png", "../secret.png"])
def test_get_asset_unknown_name_is_KeyError(name):
    with pytest.raises(KeyError, match="assets are"):
        get_asset(name)


def test_get_asset_is_cached_and_deterministic():
    assert get_asset("picture.webp").body is get_asset("picture.webp").body
    assert pictures._encode_picture.__wrapped__("png") == get_asset("picture.png").body



@pytest.mark.parametrize("name", ["picture.png", "picture.gif", "picture.bmp", "picture.ico", "picture.svg"])
def test_lossless_formats_match_the_source_pixel_for_pixel(name):
    asset = get_asset(name)
    decoded = decode_image(asset.body, content_type=asset.content_type)
    assert decoded.rgba == assets.picture_image().tobytes()


def test_PICTURE_SVG_draws_the_shapes_table():
    # The hand-written SVG and the raster source are two descriptions of one picture.
    import xml.etree.ElementTree as ET

    rects = ET.fromstring(assets.PICTURE_SVG).findall("{http://www.w3.org/2000/svg}rect")
    drawn = [tuple(int(r.get(a)) for a in ("x", "y", "width", "height")) for r in rects]
    assert drawn == [shape[:4] for shape in pictures._SHAPES]


@pytest.mark.parametrize(
    ("fmt", "tolerance"),
    [("png", 0), ("PNG", 0), ("jpg", 12), ("jpeg", 12), ("picture.jpg", 12), ("image/jpeg", 12),
     ("webp", 12), ("avif", 12), ("gif", 0), ("bmp", 0), ("ico", 0), ("image/x-icon", 0), ("svg", 2),
     ("image/svg+xml", 2)],
)  # fmt: skip
def test_expected_pixels_tolerance(fmt, tolerance):
    assert expected_pixels(fmt)[0] == tolerance


def test_expected_pixels_unknown_format():
    with pytest.raises(KeyError, match="formats are"):
        expected_pixels("tiff")


def test_expected_names_match_sample_points():
    assert set(EXPECTED) == set(SAMPLE_POINTS)
    assert all(len(rgba) == 4 and rgba[3] == 255 for rgba in EXPECTED.values())


def test_decode_image_sniffs_pictures_without_content_type():
    for name in PICTURES:
        fmt = decode_image(get_asset(name).body).format
        assert fmt == {"jpg": "jpeg"}.get(name.rsplit(".", 1)[1], name.rsplit(".", 1)[1])


# --- secret.png -------------------------------------------------------------------------------


def test_secret_png_differs_by_user():
    logged_out = decode_image(get_asset("secret.png").body)
    alice = decode_image(get_asset("secret.png", user="alice").body)
    bob = decode_image(get_asset("secret.png", user="bob").body)
    assert len({logged_out.rgba, alice.rgba, bob.rgba}) == 3
    assert logged_out.pixel(1, 1) == secret_color(None) == assets.LOGGED_OUT_GREY
    assert alice.pixel(1, 1) == secret_color("alice")
    assert bob.pixel(1, 1) == secret_color("bob")
    assert secret_color("alice") != secret_color("bob")


def test_secret_png_draws_the_users_initial():
    alice = decode_image(get_asset("secret.png", user="alice").body)
    background = secret_color("alice")
    centre = [alice.pixel(x, y) for x in range(20, 44) for y in range(10, 38)]
    assert any(p != background for p in centre)  # the "A" is there
    # Same initial, different user: same letter, different colour.
    assert get_asset("secret.png", user="alice").body != get_asset("secret.png", user="anna").body


def test_secret_color_is_never_grey():
    for user in ["alice", "bob", "carol", "", "Zoë", "x" * 100]:
        r, g, b, a = secret_color(user)
        assert a == 255 and max(r, g, b) - min(r, g, b) > 40


def test_picture_ignores_user():
    assert get_asset("picture.png", user="alice").body == get_asset("picture.png").body
