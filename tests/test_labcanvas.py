"""Tests for cors_lab.labcanvas: pixels drawn and read back, origin-clean from the model, bytes to ipycanvas.

Headless: no frontend runs. What LabCanvas sends to ipycanvas is read from ipycanvas's own
hold_canvas() batch before it is flushed (nothing is patched).
"""

import base64
import contextlib
import io
import json
from dataclasses import dataclass, field

import ipywidgets
import numpy as np
import pytest
from ipycanvas import hold_canvas
from ipycanvas.canvas import _CANVAS_MANAGER, COMMANDS
from PIL import Image

from cors_lab.errors import IndexSizeError, InvalidStateError, SecurityError, UsageError
from cors_lab.labcanvas import (
    CanvasCaptureStream,
    LabCanvas,
    LabImageBitmap,
    LabPattern,
    create_image_bitmap,
    parse_css_color,
    serialize_color,
)

TAINTED_GET = (
    "Failed to execute 'getImageData' on 'CanvasRenderingContext2D': The canvas has been tainted by cross-origin data."
)
TAINTED_TO_DATA_URL = "Failed to execute 'toDataURL' on 'HTMLCanvasElement': Tainted canvases may not be exported."
TAINTED_TO_BLOB = "Failed to execute 'toBlob' on 'HTMLCanvasElement': Tainted canvases may not be exported."
TAINTED_CAPTURE = "Failed to execute 'captureStream' on 'HTMLCanvasElement': Canvas is not origin-clean."
BROKEN_DRAW = (
    "Failed to execute 'drawImage' on 'CanvasRenderingContext2D': The HTMLImageElement provided is in the 'broken' state."
)

RED, GREEN, BLUE, YELLOW = (255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255), (255, 255, 0, 255)
CLEAR = (0, 0, 0, 0)


# --- Small stand-ins for assets.DecodedImage and the kernel browser's load result ------------------


@dataclass(frozen=True)
class Pixels:
    """DecodedImage-like: width, height, rgba bytes row by row."""

    width: int
    height: int
    rgba: bytes = field(repr=False)
    format: str = "png"


@dataclass(frozen=True)
class Loaded:
    """Load-result-like: what the kernel browser hands over after an <img> load."""

    decoded: Pixels | None
    response_tainting: str | None = "basic"
    state: str = "completely available"


def pixels(rows):
    """Pixels from rows of RGBA tuples."""
    array = np.array(rows, dtype=np.uint8)
    return Pixels(array.shape[1], array.shape[0], array.tobytes())


QUAD = pixels([[RED, GREEN], [BLUE, YELLOW]])  # 2 x 2
QUAD_ARRAY = np.array([[RED, GREEN], [BLUE, YELLOW]], dtype=np.uint8)


def same_origin(image=QUAD):
    return Loaded(image, "basic")


def cors(image=QUAD):
    return Loaded(image, "cors")


def opaque(image=QUAD):
    return Loaded(image, "opaque")


BROKEN = Loaded(None, None, "broken")


def tainted(width=4, height=4):
    canvas = LabCanvas(width, height)
    canvas.draw_image(opaque())
    assert canvas.origin_clean is False
    return canvas


@contextlib.contextmanager
def sent_to_ipycanvas():
    """Collect the commands and buffers ipycanvas is about to send, from its own hold_canvas batch."""
    record = {}
    with hold_canvas():
        yield record
        commands, buffers = list(_CANVAS_MANAGER._commands_cache), list(_CANVAS_MANAGER._buffers_cache)
    names = {index: name for name, index in COMMANDS.items()}
    calls, at = [], 0
    for command in commands:
        count = command[2] if len(command) == 3 else 0
        calls.append((names[command[0]], command[1], buffers[at : at + count]))
        at += count
    record["calls"] = calls


def replay(calls, width, height):
    """Apply clearRect / putImageData / clear calls to a blank RGBA frame, as the frontend would."""
    frame = np.zeros((height, width, 4), dtype=np.uint8)
    for name, args, buffers in calls:
        if name == "clear":
            frame[...] = 0
        elif name == "clearRect":
            x, y, w, h = args
            frame[y : y + h, x : x + w] = 0
        elif name == "putImageData":
            x, y = args
            tile = np.array(Image.open(io.BytesIO(bytes(buffers[0]))).convert("RGBA"))
            h, w = tile.shape[:2]
            # The frontend draws the PNG with drawImage (source-over); LabCanvas cleared under it.
            opaque_px = tile[..., 3] > 0
            frame[y : y + h, x : x + w][opaque_px] = tile[opaque_px]
    return frame


# --- draw_image: pixels -----------------------------------------------------------------------------


def test_draw_image_at_offset():
    canvas = LabCanvas(5, 4)
    canvas.draw_image(QUAD, 3, 1)
    got = canvas.get_image_data(0, 0, 5, 4)
    expected = np.zeros((4, 5, 4), dtype=np.uint8)
    expected[1:3, 3:5] = QUAD_ARRAY
    assert got.dtype == np.uint8 and got.shape == (4, 5, 4)
    np.testing.assert_array_equal(got, expected)


def test_draw_image_scaled_2x_is_nearest_neighbour():
    canvas = LabCanvas(6, 6)
    canvas.draw_image(QUAD, 1, 1, 4, 4)
    got = canvas.get_image_data(1, 1, 4, 4)
    np.testing.assert_array_equal(got, np.repeat(np.repeat(QUAD_ARRAY, 2, axis=0), 2, axis=1))
    assert tuple(canvas.get_image_data(0, 0, 1, 1)[0, 0]) == CLEAR
    assert tuple(canvas.get_image_data(5, 5, 1, 1)[0, 0]) == CLEAR


def test_draw_image_scaled_3x_by_2x():
    canvas = LabCanvas(6, 4)
    canvas.draw_image(QUAD, 0, 0, 6, 4)
    got = canvas.get_image_data(0, 0, 6, 4)
    np.testing.assert_array_equal(got, np.repeat(np.repeat(QUAD_ARRAY, 2, axis=0), 3, axis=1))


def test_draw_image_clipped_at_the_edges():
    canvas = LabCanvas(3, 3)
    canvas.draw_image(QUAD, -1, 2)
    got = canvas.get_image_data(0, 0, 3, 3)
    assert tuple(got[2, 0]) == GREEN
    assert got[:2].sum() == 0 and got[2, 1:].sum() == 0


def test_draw_image_negative_size_moves_the_rectangle_without_mirroring():
    canvas = LabCanvas(4, 4)
    canvas.draw_image(QUAD, 4, 4, -2, -2)
    np.testing.assert_array_equal(canvas.get_image_data(2, 2, 2, 2), QUAD_ARRAY)


def test_draw_image_composites_source_over():
    canvas = LabCanvas(1, 1)
    canvas.draw_image(pixels([[RED]]))
    canvas.draw_image(pixels([[(0, 0, 255, 128)]]))
    assert tuple(canvas.get_image_data(0, 0, 1, 1)[0, 0]) == (127, 0, 128, 255)


def test_draw_image_accepts_a_bare_decoded_image_as_same_origin():
    canvas = LabCanvas(2, 2)
    canvas.draw_image(QUAD)
    assert canvas.origin_clean is True
    assert 'response tainting "basic"' in canvas.log[-1]


def test_draw_image_accepts_the_real_decoded_image():
    assets = pytest.importorskip("cors_lab.assets")
    decoded = assets.DecodedImage(2, 2, "png", QUAD_ARRAY.tobytes())
    canvas = LabCanvas(2, 2)
    canvas.draw_image(decoded)
    np.testing.assert_array_equal(canvas.get_image_data(0, 0, 2, 2), QUAD_ARRAY)


def test_draw_image_needs_both_dw_and_dh():
    with pytest.raises(UsageError, match="both dw and dh"):
        LabCanvas(2, 2).draw_image(QUAD, 0, 0, 4)


def test_draw_image_refuses_what_is_no_image_source():
    with pytest.raises(UsageError, match="Cannot draw"):
        LabCanvas(2, 2).draw_image("https://b.test/cat.png")


def test_draw_image_refuses_non_finite_positions():
    with pytest.raises(UsageError, match="finite"):
        LabCanvas(2, 2).draw_image(QUAD, float("nan"))


# --- origin-clean, decided by the model ---------------------------------------------------------------


def test_get_image_data_after_opaque_image_raises_security_error():
    canvas = LabCanvas(2, 2)
    canvas.draw_image(opaque())
    assert canvas.origin_clean is False
    with pytest.raises(SecurityError) as info:
        canvas.get_image_data(0, 0, 2, 2)
    assert info.value.name == "SecurityError"
    assert info.value.message == TAINTED_GET
    assert str(info.value).startswith(TAINTED_GET + "\nFix: ")


@pytest.mark.parametrize("tainting", ["basic", "cors"])
def test_cors_same_origin_images_stay_readable(tainting):
    canvas = LabCanvas(2, 2)
    canvas.draw_image(Loaded(QUAD, tainting))
    assert canvas.origin_clean is True
    np.testing.assert_array_equal(canvas.get_image_data(0, 0, 2, 2), QUAD_ARRAY)


def test_a_tainted_canvas_still_shows_its_picture():
    canvas = LabCanvas(2, 2)
    with sent_to_ipycanvas() as sent:
        canvas.draw_image(opaque())
    np.testing.assert_array_equal(replay(sent["calls"], 2, 2), QUAD_ARRAY)


@pytest.mark.parametrize(
    "call, message",
    [
        pytest.param(lambda c: c.to_data_url(), TAINTED_TO_DATA_URL, id="toDataURL"),
        pytest.param(lambda c: c.to_blob(), TAINTED_TO_BLOB, id="toBlob"),
        pytest.param(lambda c: c.capture_stream(), TAINTED_CAPTURE, id="captureStream"),
    ],
)
def test_exports_of_a_tainted_canvas_raise_security_error(call, message):
    with pytest.raises(SecurityError) as info:
        call(tainted())
    assert info.value.name == "SecurityError" and info.value.message == message


def test_broken_image_raises_invalid_state_error_and_draws_nothing():
    canvas = LabCanvas(2, 2)
    with pytest.raises(InvalidStateError) as info:
        canvas.draw_image(BROKEN)
    assert info.value.name == "InvalidStateError" and info.value.message == BROKEN_DRAW
    assert canvas.origin_clean is True
    assert canvas.get_image_data(0, 0, 2, 2).sum() == 0


def test_image_not_loaded_yet_draws_nothing_and_does_not_taint():
    canvas = LabCanvas(2, 2)
    canvas.draw_image(Loaded(QUAD, "opaque", "partially available"))
    assert canvas.origin_clean is True
    assert canvas.get_image_data(0, 0, 2, 2).sum() == 0


def test_get_image_data_of_zero_size_raises_index_size_error():
    with pytest.raises(IndexSizeError):
        LabCanvas(2, 2).get_image_data(0, 0, 0, 2)


def test_get_image_data_outside_the_canvas_is_transparent_black():
    canvas = LabCanvas(2, 2)
    canvas.draw_image(QUAD)
    got = canvas.get_image_data(-1, -1, 3, 3)
    assert got.shape == (3, 3, 4)
    assert got[0].sum() == 0 and got[:, 0].sum() == 0
    np.testing.assert_array_equal(got[1:, 1:], QUAD_ARRAY)


# --- exports: real bytes -------------------------------------------------------------------------------


def decode_data_url(url, mime="image/png"):
    prefix = f"data:{mime};base64,"
    assert url.startswith(prefix)
    return np.array(Image.open(io.BytesIO(base64.b64decode(url[len(prefix) :]))))


def test_to_data_url_decodes_back_to_the_raster():
    canvas = LabCanvas(3, 2)
    canvas.draw_image(QUAD, 1, 0)
    canvas.fill_style = "rgba(0, 0, 0, 0.5)"
    canvas.fill_rect(0, 1, 1, 1)
    decoded = decode_data_url(canvas.to_data_url())
    np.testing.assert_array_equal(decoded, canvas.get_image_data(0, 0, 3, 2))


def test_to_blob_is_png_bytes_of_the_raster():
    canvas = LabCanvas(2, 2)
    canvas.draw_image(QUAD)
    blob = canvas.to_blob()
    assert blob.startswith(b"\x89PNG\r\n\x1a\n")
    np.testing.assert_array_equal(np.array(Image.open(io.BytesIO(blob))), QUAD_ARRAY)


def test_to_data_url_jpeg_is_composited_on_black():
    canvas = LabCanvas(8, 8)
    canvas.fill_style = "#ffffff"
    canvas.fill_rect(0, 0, 8, 4)  # the lower half stays transparent: black in a JPEG
    decoded = decode_data_url(canvas.to_data_url("image/jpeg"), "image/jpeg")
    assert decoded.shape == (8, 8, 3)
    assert decoded[:3].min() > 230 and decoded[5:].max() < 25


def test_unknown_export_type_falls_back_to_png():
    assert LabCanvas(1, 1).to_data_url("image/x-bogus").startswith("data:image/png;base64,")


def test_zero_size_canvas_exports_nothing():
    canvas = LabCanvas(0, 5)
    assert canvas.to_data_url() == "data:,"
    assert canvas.to_blob() is None


def test_capture_stream_of_a_clean_canvas():
    stream = LabCanvas(4, 3).capture_stream(30)
    assert stream == CanvasCaptureStream(4, 3, 30)
    assert stream.kind == "MediaStream"


# --- fill styles and patterns --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, rgba, serialized",
    [
        pytest.param("#f00", (255, 0, 0, 1.0), "#ff0000", id="hex3"),
        pytest.param("#00FF00", (0, 255, 0, 1.0), "#00ff00", id="hex6"),
        pytest.param("#0000ff80", (0, 0, 255, 128 / 255), "rgba(0, 0, 255, 0.502)", id="hex8"),
        pytest.param("rgb(0, 0, 255)", (0, 0, 255, 1.0), "#0000ff", id="rgb"),
        pytest.param("rgba(255, 0, 0, 0.5)", (255, 0, 0, 0.5), "rgba(255, 0, 0, 0.5)", id="rgba"),
        pytest.param("rgb(100% 0% 0% / 25%)", (255, 0, 0, 0.25), "rgba(255, 0, 0, 0.25)", id="rgb-space-syntax"),
        pytest.param("rgb(300, -5, 12.6)", (255, 0, 13, 1.0), "#ff000d", id="rgb-clamped-rounded"),
        pytest.param("hsl(120, 100%, 50%)", (0, 255, 0, 1.0), "#00ff00", id="hsl"),
        pytest.param(" Red ", (255, 0, 0, 1.0), "#ff0000", id="name"),
        pytest.param("rebeccapurple", (102, 51, 153, 1.0), "#663399", id="name-css4"),
        pytest.param("transparent", (0, 0, 0, 0.0), "rgba(0, 0, 0, 0)", id="transparent"),
    ],
)
def test_parse_css_color(text, rgba, serialized):
    assert parse_css_color(text) == pytest.approx(rgba)
    assert serialize_color(parse_css_color(text)) == serialized
    canvas = LabCanvas(1, 1)
    canvas.fill_style = text
    assert canvas.fill_style == serialized


@pytest.mark.parametrize("text", ["blu", "#12345", "rgb(1, 2)", "rgb(1 2 3 /)", "hsl(0, 1, 1)", ""])
def test_unreadable_colour_is_ignored_with_a_warning(text):
    canvas = LabCanvas(1, 1)
    canvas.fill_style = "red"
    assert parse_css_color(text) is None
    with pytest.warns(UserWarning, match="ignored"):
        canvas.fill_style = text
    assert canvas.fill_style == "#ff0000"


def test_fill_rect_with_colour_paints_real_pixels():
    canvas = LabCanvas(4, 3)
    canvas.fill_style = "#00ff00"
    canvas.fill_rect(1, 1, 2, 5)
    got = canvas.get_image_data(0, 0, 4, 3)
    assert (got[1:, 1:3] == GREEN).all()
    assert got[0].sum() == 0 and got[:, 0].sum() == 0 and got[:, 3].sum() == 0


def test_default_fill_style_is_opaque_black():
    canvas = LabCanvas(1, 1)
    assert canvas.fill_style == "#000000"
    canvas.fill_rect(0, 0, 1, 1)
    assert tuple(canvas.get_image_data(0, 0, 1, 1)[0, 0]) == (0, 0, 0, 255)


def test_pattern_fill_tiles_pixels_from_the_canvas_origin():
    canvas = LabCanvas(5, 3)
    pattern = canvas.create_pattern(QUAD)
    assert isinstance(pattern, LabPattern) and pattern.origin_clean and pattern.repetition == "repeat"
    canvas.fill_style = pattern
    assert canvas.fill_style is pattern
    canvas.fill_rect(0, 0, 5, 3)
    expected = np.tile(QUAD_ARRAY, (2, 3, 1))[:3, :5]
    np.testing.assert_array_equal(canvas.get_image_data(0, 0, 5, 3), expected)


@pytest.mark.parametrize(
    "repetition, painted",
    [
        pytest.param("repeat-x", lambda y, x: y < 2, id="repeat-x"),
        pytest.param("repeat-y", lambda y, x: x < 2, id="repeat-y"),
        pytest.param("no-repeat", lambda y, x: y < 2 and x < 2, id="no-repeat"),
    ],
)
def test_pattern_repetition(repetition, painted):
    canvas = LabCanvas(4, 4)
    canvas.fill_style = canvas.create_pattern(QUAD, repetition)
    canvas.fill_rect()
    got = canvas.get_image_data()
    for y in range(4):
        for x in range(4):
            expected = tuple(QUAD_ARRAY[y % 2, x % 2]) if painted(y, x) else CLEAR
            assert tuple(got[y, x]) == expected, (y, x)


def test_pattern_keeps_the_pixels_it_was_made_from():
    source = LabCanvas(2, 2)
    source.draw_image(QUAD)
    pattern = source.create_pattern(source)
    source.clear_rect()
    target = LabCanvas(2, 2)
    target.fill_style = pattern
    target.fill_rect()
    np.testing.assert_array_equal(target.get_image_data(), QUAD_ARRAY)


def test_cross_origin_pattern_taints_at_assignment_not_creation():
    canvas = LabCanvas(4, 4)
    pattern = canvas.create_pattern(opaque())
    assert canvas.origin_clean is True and pattern.origin_clean is False
    canvas.fill_style = pattern
    assert canvas.origin_clean is False  # before any fill_rect
    assert "fillStyle = pattern" in canvas.log[-1]
    canvas.fill_rect(0, 0, 2, 2)
    with pytest.raises(SecurityError, match="tainted by cross-origin data"):
        canvas.get_image_data(0, 0, 1, 1)


def test_create_pattern_of_an_image_not_loaded_yet_is_null_and_ignored():
    canvas = LabCanvas(1, 1)
    canvas.fill_style = "red"
    pattern = canvas.create_pattern(Loaded(None, None, "unavailable"))
    assert pattern is None
    canvas.fill_style = pattern
    assert canvas.fill_style == "#ff0000"


def test_fill_style_refuses_other_types():
    with pytest.raises(UsageError):
        LabCanvas(1, 1).fill_style = 0xFF0000


# --- canvas-to-canvas and ImageBitmap --------------------------------------------------------------


def test_canvas_to_canvas_copies_pixels_and_propagates_taint():
    clean_b = LabCanvas(2, 2)
    clean_b.draw_image(QUAD)
    a = LabCanvas(3, 3)
    a.draw_image(clean_b, 1, 1)
    assert a.origin_clean is True
    np.testing.assert_array_equal(a.get_image_data(1, 1, 2, 2), QUAD_ARRAY)

    tainted_b = tainted(2, 2)
    a.draw_image(tainted_b)
    assert a.origin_clean is False
    assert "the canvas is not origin-clean" in a.log[-1]
    with pytest.raises(SecurityError):
        a.get_image_data(0, 0, 1, 1)


def test_zero_size_canvas_as_a_source_raises_invalid_state_error():
    with pytest.raises(InvalidStateError, match="width or height of 0"):
        LabCanvas(2, 2).draw_image(LabCanvas(0, 2))


def test_drawing_a_canvas_into_itself():
    canvas = LabCanvas(4, 2)
    canvas.draw_image(QUAD)
    canvas.draw_image(canvas, 2, 0)
    np.testing.assert_array_equal(canvas.get_image_data(2, 0, 2, 2), QUAD_ARRAY)


def test_image_bitmap_carries_pixels_and_origin_clean():
    clean = create_image_bitmap(cors())
    assert isinstance(clean, LabImageBitmap)
    assert (clean.width, clean.height, clean.origin_clean) == (2, 2, True)
    canvas = LabCanvas(2, 2)
    canvas.draw_image(clean)
    assert canvas.origin_clean is True
    np.testing.assert_array_equal(canvas.get_image_data(), QUAD_ARRAY)

    cross = create_image_bitmap(opaque())
    assert cross.origin_clean is False
    canvas.draw_image(cross)
    assert canvas.origin_clean is False


def test_image_bitmap_from_a_tainted_canvas_is_not_origin_clean():
    bitmap = create_image_bitmap(tainted(2, 2))
    assert bitmap.origin_clean is False
    canvas = LabCanvas(2, 2)
    canvas.draw_image(bitmap)
    assert canvas.origin_clean is False


def test_closed_image_bitmap_raises_invalid_state_error():
    bitmap = create_image_bitmap(QUAD)
    bitmap.close()
    assert (bitmap.width, bitmap.height) == (0, 0)
    with pytest.raises(InvalidStateError, match="detached"):
        LabCanvas(2, 2).draw_image(bitmap)


def test_image_bitmap_of_a_broken_image_raises_invalid_state_error():
    with pytest.raises(InvalidStateError):
        create_image_bitmap(BROKEN)


# --- what resets and what does not ---------------------------------------------------------------------


@pytest.mark.parametrize("side", ["width", "height"])
def test_setting_width_or_height_cleans_and_clears(side):
    canvas = tainted(4, 4)
    setattr(canvas, side, 4)  # even the same value
    assert "origin-clean is true again" in canvas.log[-1]
    assert canvas.origin_clean is True
    assert (canvas.width, canvas.height) == (4, 4)
    assert canvas.get_image_data(0, 0, 4, 4).sum() == 0


def test_resize_changes_the_raster_and_the_widget():
    canvas = tainted(4, 4)
    canvas.fill_style = "red"
    canvas.width = 6
    assert canvas.fill_style == "#000000"  # the context state is reset too
    assert canvas.get_image_data().shape == (4, 6, 4)
    assert (canvas.widget.width, canvas.widget.height) == (6, 4)


def test_negative_size_is_refused():
    with pytest.raises(UsageError):
        LabCanvas(2, 2).width = -1


def test_clear_rect_clears_but_keeps_the_taint():
    canvas = tainted(2, 2)
    canvas.clear_rect(0, 0, 2, 2)
    assert canvas.origin_clean is False
    with pytest.raises(SecurityError):
        canvas.get_image_data(0, 0, 2, 2)


def test_clear_rect_clears_pixels():
    canvas = LabCanvas(2, 2)
    canvas.draw_image(QUAD)
    canvas.clear_rect(1, 0, 1, 2)
    got = canvas.get_image_data()
    np.testing.assert_array_equal(got[:, 0], QUAD_ARRAY[:, 0])
    assert got[:, 1].sum() == 0


def test_reset_clears_pixels_and_style_but_keeps_the_taint():
    canvas = tainted(2, 2)
    canvas.fill_style = "red"
    canvas.reset()
    assert canvas.origin_clean is False
    assert canvas.fill_style == "#000000"
    canvas.width = 2
    assert canvas.get_image_data().sum() == 0


# --- the widget, and what it is sent ----------------------------------------------------------------


def test_it_holds_a_displayable_dom_widget():
    canvas = LabCanvas(4, 3)
    assert isinstance(canvas.widget, ipywidgets.DOMWidget)
    assert (canvas.widget.width, canvas.widget.height) == (4, 3)
    bundle = canvas._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == canvas.widget.model_id
    assert bundle["text/plain"] == canvas.status()
    ipywidgets.HBox([canvas.widget])  # fits in a layout


def test_ipython_displays_it_as_the_widget():
    from IPython.core.formatters import DisplayFormatter

    canvas = LabCanvas(2, 2)
    data, _ = DisplayFormatter().format(canvas)
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"].startswith("LabCanvas 2x2, origin-clean: true")


def test_it_never_sends_a_url_to_ipycanvas():
    canvas = LabCanvas(4, 4)
    with sent_to_ipycanvas() as sent:
        canvas.draw_image(QUAD)
        canvas.draw_image(opaque(), 2, 2, 2, 2)
        other = LabCanvas(2, 2)
        other.draw_image(cors())
        canvas.draw_image(other, 0, 2)
        canvas.draw_image(create_image_bitmap(QUAD), 2, 0)
        canvas.fill_style = canvas.create_pattern(QUAD)
        canvas.fill_rect(0, 0, 1, 1)
        canvas.clear_rect(3, 3, 1, 1)
        canvas.width = 4
        canvas.draw_image(QUAD)
        canvas.reset()
        canvas.draw_image(QUAD, 1, 1)
    calls = sent["calls"]
    assert {name for name, _, _ in calls} <= {"switchCanvas", "clear", "clearRect", "putImageData"}
    for name, args, buffers in calls:
        if name == "switchCanvas":
            # The only string ever sent: which canvas widget the next commands are for.
            assert len(args) == 1 and args[0].startswith("IPY_MODEL_")
            continue
        assert not any(isinstance(arg, str) for arg in args), (name, args)
        assert "://" not in json.dumps(args) and "data:" not in json.dumps(args)
        if name == "putImageData":
            (buffer,) = buffers
            assert bytes(buffer).startswith(b"\x89PNG\r\n\x1a\n")
    assert any(name == "putImageData" for name, _, _ in calls)


def test_what_is_sent_replays_to_the_raster():
    canvas = LabCanvas(4, 4)
    with sent_to_ipycanvas() as sent:
        canvas.fill_style = "rgba(255, 0, 0, 0.5)"
        canvas.fill_rect(0, 0, 4, 4)
        canvas.draw_image(QUAD, 1, 1, 2, 2)
        canvas.draw_image(pixels([[(0, 255, 0, 100)]]), 0, 0)
        canvas.clear_rect(3, 0, 1, 4)
    mine = [(n, a, b) for n, a, b in sent["calls"] if n != "switchCanvas"]
    np.testing.assert_array_equal(replay(mine, 4, 4), canvas.get_image_data())


# --- status ---------------------------------------------------------------------------------------------


def test_status_names_size_flag_and_last_rule():
    canvas = LabCanvas(3, 2)
    assert canvas.status() == "LabCanvas 3x2, origin-clean: true\nlast rule: none yet: a new canvas is origin-clean"
    canvas.draw_image(opaque())
    status = canvas.status()
    assert status.startswith("LabCanvas 3x2, origin-clean: false (tainted)\nlast rule: drawImage(HTMLImageElement)")
    assert "https://html.spec.whatwg.org/multipage/canvas.html#dom-context-2d-drawimage" in status
    assert repr(canvas) == "LabCanvas(3x2, origin_clean=False)"
