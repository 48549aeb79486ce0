"""Canvas sequences: rules that one image and one operation never show, in the model and in real engines.

Owns the named sequences — what cleans a tainted canvas (width, height, clearRect, reset()), patterns,
ImageBitmap and bitmaprenderer, getImageData's check order — each as a few steps on the canvas model
of an engine profile (here) and as the same steps in a real page (sequences.js). The result of a
sequence is its final readback: "ok" or the DOMException's name. `run_in_engine` runs them all in one
page of a started engine. Decides nothing itself: the rules are cors_lab.spec.canvas's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import DOMException, UsageError
from .spec import canvas as m
from .spec.profiles import DEFAULT_PROFILE, Profile, get_profile

SEQUENCES_JS = Path(__file__).with_name("sequences.js")
WAIT_MS = 5000


def _x() -> m.ImageSource:
    """A cross-origin image loaded without crossorigin: it taints."""
    return m.ImageSource(response_tainting="opaque", width=4, height=4)


def _s() -> m.ImageSource:
    """A same-origin image: clean."""
    return m.ImageSource(response_tainting="basic", width=4, height=4)


def _read(c) -> str:
    try:
        c.to_data_url()
        return "ok"
    except DOMException as err:
        return err.name


def _tainted(p: Profile) -> m.Canvas:
    c = m.Canvas(4, 4, profile=p)
    c.draw_image(_x())
    return c


def _pattern_assigned_then_replaced(p: Profile) -> str:
    c = m.Canvas(4, 4, profile=p)
    c.fill_style = c.create_pattern(_x())
    c.fill_style = "red"
    return _read(c)


def _pattern_created_not_assigned(p: Profile) -> str:
    c = m.Canvas(4, 4, profile=p)
    c.create_pattern(_x())
    return _read(c)


def _pattern_captures_clean_source(p: Profile) -> str:
    b, a = m.Canvas(4, 4, profile=p), m.Canvas(4, 4, profile=p)
    b.draw_image(_s())
    pattern = a.create_pattern(b)
    b.draw_image(_x())
    a.fill_style = pattern
    a.fill_rect(0, 0, 4, 4)
    return _read(a)


def _width_reset(p: Profile) -> str:
    c = _tainted(p)
    c.set_width(4)
    return _read(c)


def _height_reset(p: Profile) -> str:
    c = _tainted(p)
    c.set_height(4)
    return _read(c)


def _clear_rect(p: Profile) -> str:
    c = _tainted(p)
    c.clear_rect(0, 0, 4, 4)
    return _read(c)


def _ctx_reset(p: Profile) -> str:
    c = _tainted(p)
    c.reset()
    return _read(c)


def _get_image_data_zero_width(p: Profile) -> str:
    c = _tainted(p)
    try:
        c.get_image_data(0, 0, 0, 4)
        return "ok"
    except DOMException as err:
        return err.name


def _bitmaprenderer(p: Profile) -> m.BitmapRendererCanvas:
    c = m.BitmapRendererCanvas(4, 4, profile=p)
    c.transfer_from_image_bitmap(m.create_image_bitmap(_x(), profile=p))
    return c


def _bitmaprenderer_tainted(p: Profile) -> str:
    return _read(_bitmaprenderer(p))


def _bitmap_of_tainted_canvas(p: Profile) -> str:
    a = m.Canvas(4, 4, profile=p)
    a.draw_image(m.create_image_bitmap(_tainted(p), profile=p))
    return _read(a)


def _bitmaprenderer_null_after_tainted(p: Profile) -> str:
    c = _bitmaprenderer(p)
    c.transfer_from_image_bitmap(None)
    return _read(c)


def _bitmaprenderer_width_after_tainted(p: Profile) -> str:
    c = _bitmaprenderer(p)
    c.set_width(4)
    return _read(c)


def _bitmaprenderer_clean_after_tainted(p: Profile) -> str:
    c = _bitmaprenderer(p)
    c.transfer_from_image_bitmap(m.create_image_bitmap(_s(), profile=p))
    return _read(c)


# name -> the model's steps (sequences.js has the page's, under the same name; a test keeps them equal).
SEQUENCES: dict[str, Callable[[Profile], str]] = {
    "pattern-assigned-then-replaced-still-taints": _pattern_assigned_then_replaced,
    "pattern-created-not-assigned-stays-clean": _pattern_created_not_assigned,
    "pattern-captures-clean-source-at-creation": _pattern_captures_clean_source,
    "width-reset-cleans": _width_reset,
    "height-reset-cleans": _height_reset,
    "clearRect-keeps-taint": _clear_rect,
    "ctx-reset-keeps-taint": _ctx_reset,
    "getImageData-zero-width-on-tainted": _get_image_data_zero_width,
    "bitmaprenderer-takes-tainted-bitmap": _bitmaprenderer_tainted,
    "bitmap-of-tainted-canvas-taints": _bitmap_of_tainted_canvas,
    "bitmaprenderer-null-after-tainted": _bitmaprenderer_null_after_tainted,
    "bitmaprenderer-width-after-tainted": _bitmaprenderer_width_after_tainted,
    "bitmaprenderer-clean-bitmap-after-tainted": _bitmaprenderer_clean_after_tainted,
}


def model(name: str, *, profile: str | Profile = DEFAULT_PROFILE) -> str:
    """The sequence ``name`` on the canvas model of ``profile``: "ok" or the DOMException's name."""
    if name not in SEQUENCES:
        raise UsageError(f"Unknown sequence {name!r}; use one of {', '.join(SEQUENCES)}.")
    return SEQUENCES[name](get_profile(profile))


def sequences_source() -> str:
    """sequences.js, as shipped with the package."""
    return SEQUENCES_JS.read_text(encoding="utf-8")


def run_in_engine(engine: Any, lab: Any, *, names: list[str] | None = None) -> dict[str, str]:
    """Every sequence (or ``names``) in one page of ``engine`` (a started cors_lab.engines Engine) on
    ``lab``'s site origin, with a cdn image as X; {name: "ok" | exception name | "error: ..."}."""
    names = list(SEQUENCES) if names is None else names
    x = lab.cdn.url("picture.png", nonce="sequence-x")
    s = lab.site.url("picture.png", nonce="sequence-s")
    with engine.context() as ctx:
        ctx.open(lab.site.url("picture.png", nonce="sequence-page"))
        return ctx.evaluate(sequences_source(), [x, s, names, WAIT_MS], timeout_ms=2 * WAIT_MS)


__all__ = ["SEQUENCES", "SEQUENCES_JS", "model", "run_in_engine", "sequences_source"]
