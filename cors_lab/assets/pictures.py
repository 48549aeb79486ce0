"""The lab's pictures: the test picture in every format, the per-user secret, the expected pixels.

Owns the one recognisable test picture (in PNG, JPEG, GIF, WebP, AVIF, BMP, ICO and SVG), the
per-user "secret" picture and the pixel values a learner should read back, and knows which bytes
it made (`is_lab_picture`). It does no network I/O and keeps no global state but an in-memory
cache of the encoded pictures. Decoding is decoding.py.

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
import threading
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageFont

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


_MADE: dict[bytes, None] = {}  # every picture this process encoded, oldest first (an ordered set)
_MADE_LIMIT = 512
_MADE_LOCK = threading.Lock()


def _made(body: bytes) -> bytes:
    with _MADE_LOCK:
        _MADE[body] = None
        while len(_MADE) > _MADE_LIMIT:
            del _MADE[next(iter(_MADE))]
    return body


def is_lab_picture(data: bytes) -> bool:
    """Whether ``data`` is a picture this process made (or the start of one: the truncate knob's).

    Such bytes are known to decode to at most the picture's own 64 x 48 pixels.
    """
    with _MADE_LOCK:
        bodies = list(_MADE)
    return any(len(data) <= len(body) and body.startswith(data) for body in bodies)


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
        return _made(PICTURE_SVG.encode("utf-8"))
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
    return _made(out.getvalue())


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
    return _made(out.getvalue())


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
