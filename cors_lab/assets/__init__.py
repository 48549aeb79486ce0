"""The lab's pictures, and decoding image bytes the way a browser's ``<img>`` does.

``cors_lab.assets`` is the one place to import them from; the package is split by owner:

- ``pictures.py``: the test picture in every format, the per-user secret, the pixels to expect;
- ``decoding.py``: ``decode_image`` and ``DecodedImage`` (Pillow for rasters, resvg for SVG);
- ``dimensions.py``: the width and height an image file's header claims, and whether it ends early.

The rules they follow (MIME sniffing, when a truncated image still loads) are in cors_lab.spec.images.
"""

from __future__ import annotations

from .decoding import SUPPORTED, SVG_NS, DecodedImage, decode_image
from .pictures import (
    ASSET_NAMES,
    BLACK,
    BLUE,
    EXPECTED,
    GREEN,
    HEIGHT,
    LOGGED_OUT_GREY,
    PICTURE_SVG,
    RED,
    RGBA,
    SAMPLE_POINTS,
    SECRET_NAME,
    WHITE,
    WIDTH,
    YELLOW,
    Asset,
    expected_pixels,
    get_asset,
    picture_image,
    secret_color,
)

__all__ = [
    "ASSET_NAMES",
    "BLACK",
    "BLUE",
    "EXPECTED",
    "GREEN",
    "HEIGHT",
    "LOGGED_OUT_GREY",
    "PICTURE_SVG",
    "RED",
    "RGBA",
    "SAMPLE_POINTS",
    "SECRET_NAME",
    "SUPPORTED",
    "SVG_NS",
    "WHITE",
    "WIDTH",
    "YELLOW",
    "Asset",
    "DecodedImage",
    "decode_image",
    "expected_pixels",
    "get_asset",
    "picture_image",
    "secret_color",
]
