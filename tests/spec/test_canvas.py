"""Tests for cors_lab.spec.canvas: origin-clean sources, usability checks, taint, readback, run_operation."""

import pytest

from cors_lab.errors import IndexSizeError, InvalidStateError, SecurityError, UsageError
from cors_lab.spec.canvas import (
    IMAGE_STATE_USABILITY,
    OPERATIONS,
    RESPONSE_TAINTING_CORS_SAME_ORIGIN,
    SPEC,
    BitmapRendererCanvas,
    Canvas,
    CanvasPattern,
    ImageBitmap,
    ImageSource,
    OffscreenCanvas,
    OperationResult,
    Readback,
    WebGLCanvas,
    check_usability,
    create_image_bitmap,
    is_not_origin_clean,
    run_operation,
)

CLEAN = ImageSource(response_tainting="basic", width=4, height=3)
CORS = ImageSource(response_tainting="cors", width=4, height=3)
CROSS = ImageSource(response_tainting="opaque", width=4, height=3)
BROKEN = ImageSource(state="broken")
BROKEN_CROSS = ImageSource(state="broken", response_tainting="opaque")
UNAVAILABLE = ImageSource(state="unavailable", width=4, height=3)
PARTIAL = ImageSource(state="partially available", width=4, height=3)
DATA_URL = ImageSource.data_url(width=4, height=3)
# Loaded images of zero size (an SVG with width="0" and/or height="0" loads like this in Chromium 156).
ZERO = ImageSource(width=0, height=0)
ZERO_CROSS = ImageSource(response_tainting="opaque", width=0, height=0)
ZERO_WIDTH = ImageSource(width=0, height=10)
ZERO_HEIGHT = ImageSource(width=10, height=0)

TAINTED_READ = "Failed to execute 'getImageData' on 'CanvasRenderingContext2D': The canvas has been tainted by cross-origin data."
BROKEN_DRAW = "Failed to execute 'drawImage' on 'CanvasRenderingContext2D': The HTMLImageElement provided is in the 'broken' state."
BROKEN_DRAW_OFFSCREEN = (
    "Failed to execute 'drawImage' on 'OffscreenCanvasRenderingContext2D': "
    "The HTMLImageElement provided is in the 'broken' state."
)


def tainted_canvas(width=4, height=3):
    c = Canvas(width, height)
    c.draw_image(CROSS)
    assert c.origin_clean is False
    return c


# --- Tables -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tainting, same_origin",
    [
        pytest.param("basic", True, id="cors-same-origin-basic"),
        pytest.param("cors", True, id="cors-same-origin-cors"),
        pytest.param("opaque", False, id="cors-cross-origin-opaque"),
    ],
)
def test_response_tainting_table(tainting, same_origin):
    assert RESPONSE_TAINTING_CORS_SAME_ORIGIN[tainting] is same_origin
    assert ImageSource(response_tainting=tainting).cors_same_origin is same_origin


def test_data_url_image_is_cors_same_origin():
    assert DATA_URL.response_tainting == "basic"
    assert DATA_URL.cors_same_origin and DATA_URL.origin_clean


def test_operations_tuple():
    assert isinstance(OPERATIONS, tuple)
    assert OPERATIONS == (
        "drawImage", "getImageData", "toDataURL", "toBlob", "captureStream", "convertToBlob",
        "texImage2D", "createImageBitmap", "pattern", "canvas-to-canvas", "transferToImageBitmap",
    )
    assert "localStorage" not in OPERATIONS


def test_image_state_usability_table_covers_every_state():
    assert set(IMAGE_STATE_USABILITY) == {"unavailable", "partially available", "completely available", "broken"}


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"kind": "canvas"}, id="usage-kind-not-img-or-video"),
        pytest.param({"state": "loading"}, id="usage-unknown-state"),
        pytest.param({"response_tainting": "opaqueredirect"}, id="usage-unknown-tainting"),
        pytest.param({"width": -1}, id="usage-negative-size"),
    ],
)
def test_image_source_refuses_bad_arguments(kwargs):
    with pytest.raises(UsageError):
        ImageSource(**kwargs)


# --- The image argument is not origin-clean if ---------------------------------------------------------


def _tainted_bitmap():
    return ImageBitmap(width=2, height=2, origin_clean=False)


@pytest.mark.parametrize(
    "make, not_clean",
    [
        pytest.param(lambda: CLEAN, False, id="not-origin-clean-img-basic-is-clean"),
        pytest.param(lambda: CORS, False, id="not-origin-clean-img-cors-is-clean"),
        pytest.param(lambda: CROSS, True, id="not-origin-clean-img-cors-cross-origin"),
        pytest.param(lambda: DATA_URL, False, id="not-origin-clean-img-data-url-clean"),
        pytest.param(lambda: ImageSource(kind="video", response_tainting="opaque"), True, id="not-origin-clean-video-media-data"),
        pytest.param(lambda: ImageSource(kind="video", response_tainting="cors"), False, id="not-origin-clean-video-cors-clean"),
        pytest.param(lambda: Canvas(2, 2), False, id="not-origin-clean-canvas-flag-true"),
        pytest.param(lambda: tainted_canvas(), True, id="not-origin-clean-canvas-flag-false"),
        pytest.param(lambda: ImageBitmap(width=2, height=2), False, id="not-origin-clean-bitmap-flag-true"),
        pytest.param(_tainted_bitmap, True, id="not-origin-clean-bitmap-flag-false"),
        pytest.param(lambda: OffscreenCanvas(2, 2), False, id="not-origin-clean-offscreen-flag-true"),
    ],
)
def test_is_not_origin_clean(make, not_clean):
    assert is_not_origin_clean(make()) is not_clean


def test_is_not_origin_clean_refuses_non_sources():
    with pytest.raises(UsageError):
        is_not_origin_clean(object())


# --- Check the usability of the image argument ---------------------------------------------------------


@pytest.mark.parametrize(
    "image, verdict",
    [
        pytest.param(CLEAN, "good", id="usability-img-completely-available-good"),
        pytest.param(ZERO, "bad", id="usability-img-natural-size-zero-bad"),
        pytest.param(ZERO_WIDTH, "bad", id="usability-img-natural-width-zero-bad"),
        pytest.param(ZERO_HEIGHT, "bad", id="usability-img-natural-height-zero-bad"),
        pytest.param(ZERO_CROSS, "bad", id="usability-img-zero-size-cross-origin-bad"),
        pytest.param(CROSS, "good", id="usability-cross-origin-is-still-usable"),
        pytest.param(UNAVAILABLE, "bad", id="usability-img-unavailable-not-fully-decodable-bad"),
        pytest.param(PARTIAL, "bad", id="usability-img-partially-available-bad"),
        pytest.param(ImageSource(kind="video", state="unavailable"), "bad", id="usability-video-have-nothing-bad"),
        pytest.param(ImageSource(kind="video"), "good", id="usability-video-with-frame-good"),
        pytest.param(Canvas(1, 1), "good", id="usability-canvas-nonzero-good"),
        pytest.param(ImageBitmap(width=1, height=1), "good", id="usability-bitmap-attached-good"),
    ],
)
def test_check_usability_verdicts(image, verdict):
    assert check_usability(image) == verdict


@pytest.mark.parametrize(
    "image, method, text",
    [
        pytest.param(BROKEN, "drawImage", "The HTMLImageElement provided is in the 'broken' state.", id="usability-img-broken-drawImage-InvalidStateError"),
        pytest.param(BROKEN, "createPattern", "Source image is in the 'broken' state.", id="usability-img-broken-createPattern-InvalidStateError"),
        pytest.param(Canvas(0, 5), "drawImage", "The image argument is a canvas element with a width or height of 0.", id="usability-canvas-zero-width-InvalidStateError"),
        pytest.param(Canvas(5, 0), "drawImage", "The image argument is a canvas element with a width or height of 0.", id="usability-canvas-zero-height-InvalidStateError"),
        pytest.param(OffscreenCanvas(0, 0), "drawImage", "The image argument is a canvas element with a width or height of 0.", id="usability-offscreen-zero-InvalidStateError"),
        pytest.param(ImageBitmap(width=1, height=1, detached=True), "drawImage", "The image source is detached.", id="usability-bitmap-detached-InvalidStateError"),
    ],
)
def test_check_usability_throws(image, method, text):
    with pytest.raises(InvalidStateError) as info:
        check_usability(image, method=method)
    assert info.value.message == f"Failed to execute '{method}' on 'CanvasRenderingContext2D': {text}"
    assert info.value.fix  # a plain-words fix for the learner
    assert "Fix:" in str(info.value)


def test_check_usability_refuses_non_sources():
    with pytest.raises(UsageError):
        check_usability("cat.png")


# --- drawImage ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image, origin_clean, painted",
    [
        pytest.param(CLEAN, True, True, id="drawImage-step7-clean-image-keeps-flag"),
        pytest.param(CORS, True, True, id="drawImage-step7-cors-image-keeps-flag"),
        pytest.param(CROSS, False, True, id="drawImage-step7-cross-origin-taints"),
        pytest.param(DATA_URL, True, True, id="drawImage-step7-data-url-keeps-flag"),
        pytest.param(UNAVAILABLE, True, False, id="drawImage-step3-bad-draws-nothing"),
        pytest.param(ImageSource(state="unavailable", response_tainting="opaque"), True, False, id="drawImage-step3-bad-cross-origin-does-not-taint"),
        pytest.param(ZERO_CROSS, True, False, id="drawImage-step3-zero-size-image-is-bad-draws-nothing-no-taint"),
        pytest.param(ZERO_WIDTH, True, False, id="drawImage-step3-zero-width-image-draws-nothing"),
    ],
)
def test_draw_image(image, origin_clean, painted):
    c = Canvas(4, 3)
    c.draw_image(image)
    assert (c.origin_clean, c.painted) == (origin_clean, painted)


def test_draw_image_broken_raises_invalid_state_error():
    c = Canvas(4, 3)
    with pytest.raises(InvalidStateError) as info:
        c.draw_image(BROKEN)
    assert info.value.message == BROKEN_DRAW
    assert c.origin_clean is True


def test_draw_image_taint_is_sticky():
    c = tainted_canvas()
    c.draw_image(CLEAN)
    assert c.origin_clean is False


# --- Patterns and fill/stroke styles -------------------------------------------------------------------


def test_create_pattern_marks_not_origin_clean():
    assert Canvas(1, 1).create_pattern(CROSS) == CanvasPattern(origin_clean=False, repetition="repeat")


def test_create_pattern_alone_does_not_taint():
    c = Canvas(4, 3)
    c.create_pattern(CROSS)
    assert c.origin_clean is True


def test_fill_style_setter_taints_at_assignment():
    c = Canvas(4, 3)
    c.fill_style = c.create_pattern(CROSS)
    assert c.origin_clean is False and c.painted is False  # nothing filled yet


def test_stroke_style_setter_taints_at_assignment():
    c = Canvas(4, 3)
    c.stroke_style = c.create_pattern(CROSS)
    assert c.origin_clean is False


def test_fill_style_clean_pattern_keeps_flag():
    c = Canvas(4, 3)
    c.fill_style = c.create_pattern(CLEAN)
    c.fill_rect()
    assert c.origin_clean is True and c.painted is True


def test_clean_pattern_does_not_clean_a_tainted_canvas():
    c = tainted_canvas()
    c.fill_style = c.create_pattern(CLEAN)
    assert c.origin_clean is False


def test_pattern_captured_at_creation_stays_clean_after_source_is_tainted():
    b = Canvas(4, 3)
    pattern = Canvas(1, 1).create_pattern(b)  # made while B is clean
    b.draw_image(CROSS)  # B is tainted afterwards
    assert b.origin_clean is False and pattern.origin_clean is True
    a = Canvas(4, 3)
    a.fill_style = pattern
    a.fill_rect()
    assert a.origin_clean is True
    assert a.get_image_data(0, 0, 4, 3).what == "ImageData"


def test_pattern_from_tainted_canvas_taints_at_assignment():
    a = Canvas(4, 3)
    pattern = a.create_pattern(tainted_canvas())
    assert a.origin_clean is True
    a.fill_style = pattern
    assert a.origin_clean is False


@pytest.mark.parametrize(
    "image",
    [
        pytest.param(UNAVAILABLE, id="createPattern-step2-bad-returns-null"),
        pytest.param(ImageSource(kind="video", state="unavailable"), id="createPattern-step2-video-no-frame-null"),
        pytest.param(ZERO, id="createPattern-step2-zero-size-image-null"),
        pytest.param(ZERO_HEIGHT, id="createPattern-step2-zero-height-image-null"),
        pytest.param(ZERO_CROSS, id="createPattern-step2-zero-size-cross-origin-null"),
    ],
)
def test_create_pattern_bad_returns_none(image):
    assert Canvas(1, 1).create_pattern(image) is None


def test_zero_size_cross_origin_image_leaves_the_canvas_clean():
    # Measured in Chromium 156 (2026-11-29): drawImage and createPattern of a cross-origin 0x0 SVG,
    # loaded without CORS, leave the canvas readable: usability is bad before anything can taint.
    c = Canvas(4, 4)
    c.draw_image(ZERO_CROSS)
    c.fill_style = c.create_pattern(ZERO_CROSS)  # null: the setter ignores it
    c.fill_rect()
    assert c.origin_clean is True
    assert c.get_image_data(0, 0, 1, 1) == Readback("ImageData", 1, 1)


@pytest.mark.parametrize(
    "image, text",
    [
        pytest.param(BROKEN, "Source image is in the 'broken' state.", id="createPattern-broken-InvalidStateError"),
        pytest.param(Canvas(0, 0), "The image argument is a canvas element with a width or height of 0.", id="createPattern-zero-size-canvas-InvalidStateError"),
        pytest.param(ImageBitmap(width=1, height=1, detached=True), "The image source is detached.", id="createPattern-detached-bitmap-InvalidStateError"),
    ],
)
def test_create_pattern_unusable(image, text):
    with pytest.raises(InvalidStateError) as info:
        Canvas(1, 1).create_pattern(image)
    assert info.value.message == f"Failed to execute 'createPattern' on 'CanvasRenderingContext2D': {text}"


@pytest.mark.parametrize(
    "repetition, kept",
    [
        pytest.param("", "repeat", id="createPattern-step4-empty-is-repeat"),
        pytest.param("no-repeat", "no-repeat", id="createPattern-step5-no-repeat-kept"),
    ],
)
def test_create_pattern_repetition(repetition, kept):
    assert Canvas(1, 1).create_pattern(CLEAN, repetition).repetition == kept


def test_create_pattern_bad_repetition_is_usage_error_deviation():
    # Deviation pinned: the browser throws SyntaxError; the kit has no such class.
    with pytest.raises(UsageError, match="SyntaxError"):
        Canvas(1, 1).create_pattern(CLEAN, "bogus")


def test_fill_style_null_is_ignored():
    c = Canvas(1, 1)
    c.fill_style = None
    assert c.fill_style == "#000000" and c.origin_clean is True


# --- Setting width/height cleans; clearRect and reset() do not ----------------------------------------


@pytest.mark.parametrize(
    "action, origin_clean",
    [
        pytest.param(lambda c: c.set_width(10), True, id="set-bitmap-dimensions-width-resets-origin-clean"),
        pytest.param(lambda c: c.set_height(10), True, id="set-bitmap-dimensions-height-resets-origin-clean"),
        pytest.param(lambda c: c.set_width(c.width), True, id="set-bitmap-dimensions-same-value-still-resets"),
        pytest.param(lambda c: c.clear_rect(0, 0, c.width, c.height), False, id="clearRect-does-not-clean"),
        pytest.param(lambda c: c.reset(), False, id="reset-does-not-clean-chromium-156"),
        pytest.param(lambda c: c.fill_rect(), False, id="fillRect-does-not-clean"),
    ],
)
def test_what_cleans_a_tainted_canvas(action, origin_clean):
    c = tainted_canvas()
    action(c)
    assert c.origin_clean is origin_clean
    if origin_clean:
        assert c.to_data_url().startswith("data:")
    else:
        with pytest.raises(SecurityError):
            c.to_data_url()


def test_set_width_resets_context_state_and_pixels():
    c = Canvas(4, 3)
    c.fill_style = c.create_pattern(CROSS)
    c.fill_rect()
    c.set_width(8)
    assert (c.width, c.height, c.fill_style, c.painted, c.origin_clean) == (8, 3, "#000000", False, True)


def test_reset_restores_fill_style_but_keeps_taint():
    c = Canvas(4, 3)
    c.fill_style = c.create_pattern(CROSS)
    c.reset()
    assert c.fill_style == "#000000" and c.origin_clean is False


def test_offscreen_set_width_resets_origin_clean():
    o = OffscreenCanvas(4, 3)
    o.draw_image(CROSS)
    o.set_height(3)
    assert o.origin_clean is True
    assert o.convert_to_blob().what == "Blob"


def test_set_width_logs_the_rule():
    c = tainted_canvas()
    c.set_width(4)
    assert SPEC["set-bitmap-dimensions"] in c.log[-1]


def test_negative_canvas_size_is_usage_error():
    with pytest.raises(UsageError):
        Canvas(-1, 1)
    with pytest.raises(UsageError):
        Canvas(1, 1).set_height(-3)


# --- getImageData, toDataURL, toBlob, captureStream ----------------------------------------------------


@pytest.mark.parametrize(
    "sw, sh, message",
    [
        pytest.param(0, 3, "Failed to execute 'getImageData' on 'CanvasRenderingContext2D': The source width is 0.", id="getImageData-step1-zero-width-IndexSizeError"),
        pytest.param(4, 0, "Failed to execute 'getImageData' on 'CanvasRenderingContext2D': The source height is 0.", id="getImageData-step1-zero-height-IndexSizeError"),
    ],
)
def test_get_image_data_index_size_error_on_clean_canvas(sw, sh, message):
    canvas = Canvas(4, 3)
    with pytest.raises(IndexSizeError) as info:
        canvas.get_image_data(0, 0, sw, sh)
    assert info.value.message == message


@pytest.mark.parametrize("sw, sh", [pytest.param(0, 3, id="zero-width"), pytest.param(4, 0, id="zero-height")])
def test_get_image_data_deviation_chromium_checks_taint_before_size(sw, sh):
    # Deviation pinned: the standard throws IndexSizeError first (step 1); Chromium 156, measured here,
    # throws SecurityError first on a tainted canvas, and the kit teaches what the browser does.
    with pytest.raises(SecurityError):
        tainted_canvas().get_image_data(0, 0, sw, sh)


def test_get_image_data_tainted_security_error():
    with pytest.raises(SecurityError) as info:
        tainted_canvas().get_image_data(0, 0, 4, 3)
    assert info.value.message == TAINTED_READ
    assert "crossorigin" in info.value.fix


def test_get_image_data_negative_size_is_fine():
    assert Canvas(4, 3).get_image_data(4, 3, -4, -3) == Readback("ImageData", 4, 3)


@pytest.mark.parametrize(
    "call, message",
    [
        pytest.param(lambda c: c.to_data_url(), "Failed to execute 'toDataURL' on 'HTMLCanvasElement': Tainted canvases may not be exported.", id="toDataURL-step1-SecurityError"),
        pytest.param(lambda c: c.to_blob(), "Failed to execute 'toBlob' on 'HTMLCanvasElement': Tainted canvases may not be exported.", id="toBlob-step1-SecurityError"),
        pytest.param(lambda c: c.capture_stream(), "Failed to execute 'captureStream' on 'HTMLCanvasElement': Canvas is not origin-clean.", id="captureStream-SecurityError"),
    ],
)
def test_exports_refuse_tainted_canvas(call, message):
    with pytest.raises(SecurityError) as info:
        call(tainted_canvas())
    assert info.value.message == message


def test_to_data_url_is_a_stand_in_deviation():
    # Deviation pinned: no pixels are encoded.
    assert Canvas(4, 3).to_data_url() == "data:image/png;base64,..."


def test_broken_or_unavailable_image_has_zero_natural_size_deviation():
    assert (BROKEN.natural_width, UNAVAILABLE.natural_height, PARTIAL.natural_width) == (0, 0, 4)


def test_to_data_url_empty_bitmap_is_data_comma():
    assert Canvas(0, 5).to_data_url() == "data:,"


def test_to_blob_empty_bitmap_gives_null():
    assert Canvas(5, 0).to_blob() is None


def test_tainted_empty_canvas_still_refuses_to_data_url():
    c = tainted_canvas()
    c.width = 0  # bypass set_width on purpose: the flag check comes first (step 1)
    with pytest.raises(SecurityError):
        c.to_data_url()


@pytest.mark.parametrize(
    "call, what",
    [
        pytest.param(lambda c: c.to_blob(), "Blob", id="toBlob-clean-gives-blob"),
        pytest.param(lambda c: c.capture_stream(), "MediaStream", id="captureStream-clean-gives-stream"),
        pytest.param(lambda c: c.get_image_data(0, 0, 4, 3), "ImageData", id="getImageData-clean-gives-pixels"),
    ],
)
def test_exports_of_clean_canvas(call, what):
    c = Canvas(4, 3)
    c.draw_image(CORS)
    assert call(c).what == what


# --- Canvas-to-canvas propagation ----------------------------------------------------------------------


def test_canvas_to_canvas_propagates_taint():
    a = Canvas(4, 3)
    a.draw_image(tainted_canvas())
    assert a.origin_clean is False


def test_canvas_to_canvas_chain_of_three():
    c = Canvas(4, 3)
    b = Canvas(4, 3)
    b.draw_image(tainted_canvas())
    c.draw_image(b)
    assert c.origin_clean is False


def test_canvas_to_canvas_clean_stays_clean():
    b = Canvas(4, 3)
    b.draw_image(CLEAN)
    a = Canvas(4, 3)
    a.draw_image(b)
    assert a.origin_clean is True


def test_offscreen_canvas_as_source_propagates_taint():
    o = OffscreenCanvas(4, 3)
    o.draw_image(CROSS)
    a = Canvas(4, 3)
    a.draw_image(o)
    assert a.origin_clean is False


def test_zero_size_canvas_source_drawImage_invalid_state():
    with pytest.raises(InvalidStateError) as info:
        Canvas(4, 3).draw_image(Canvas(0, 3))
    assert info.value.message.endswith("The image argument is a canvas element with a width or height of 0.")


def test_cleaned_source_canvas_draws_clean():
    b = tainted_canvas()
    b.set_width(4)
    a = Canvas(4, 3)
    a.draw_image(b)
    assert a.origin_clean is True


# --- ImageBitmap, OffscreenCanvas and bitmaprenderer ---------------------------------------------------


@pytest.mark.parametrize(
    "make, origin_clean",
    [
        pytest.param(lambda: CLEAN, True, id="createImageBitmap-img-clean"),
        pytest.param(lambda: CROSS, False, id="createImageBitmap-img-not-origin-clean"),
        pytest.param(lambda: DATA_URL, True, id="createImageBitmap-data-url-clean"),
        pytest.param(lambda: tainted_canvas(), False, id="createImageBitmap-canvas-copies-flag-false"),
        pytest.param(lambda: Canvas(2, 2), True, id="createImageBitmap-canvas-copies-flag-true"),
        pytest.param(_tainted_bitmap, False, id="createImageBitmap-bitmap-copies-flag"),
        pytest.param(lambda: ImageSource(kind="video", response_tainting="opaque"), False, id="createImageBitmap-video-not-origin-clean"),
    ],
)
def test_create_image_bitmap_propagates_origin_clean(make, origin_clean):
    assert create_image_bitmap(make()).origin_clean is origin_clean


def test_bitmap_propagation_taints_the_canvas_it_is_drawn_into():
    a = Canvas(4, 3)
    a.draw_image(create_image_bitmap(CROSS))
    assert a.origin_clean is False


@pytest.mark.parametrize(
    "image, text",
    [
        pytest.param(BROKEN, "The HTMLImageElement provided is in the 'broken' state.", id="createImageBitmap-broken-InvalidStateError"),
        pytest.param(UNAVAILABLE, "The image source is not usable.", id="createImageBitmap-step3-bad-InvalidStateError"),
        pytest.param(ZERO, "The image source's width is 0.", id="createImageBitmap-step3-zero-size-image-InvalidStateError"),
        pytest.param(ZERO_HEIGHT, "The image source's height is 0.", id="createImageBitmap-step3-zero-height-image-InvalidStateError"),
        pytest.param(Canvas(0, 0), "The image argument is a canvas element with a width or height of 0.", id="createImageBitmap-zero-size-canvas-InvalidStateError"),
        pytest.param(ImageBitmap(width=1, height=1, detached=True), "The image source is detached.", id="createImageBitmap-detached-InvalidStateError"),
    ],
)
def test_create_image_bitmap_unusable(image, text):
    with pytest.raises(InvalidStateError) as info:
        create_image_bitmap(image)
    assert info.value.message == f"Failed to execute 'createImageBitmap' on 'Window': {text}"


def test_image_bitmap_close_detaches():
    bitmap = ImageBitmap(width=3, height=2)
    bitmap.close()
    assert (bitmap.detached, bitmap.width, bitmap.height) == (True, 0, 0)
    with pytest.raises(InvalidStateError):
        Canvas(1, 1).draw_image(bitmap)


@pytest.mark.parametrize(
    "source, origin_clean",
    [
        pytest.param(CLEAN, True, id="transferToImageBitmap-step3-bitmap-inherits-clean"),
        pytest.param(CROSS, False, id="transferToImageBitmap-step3-bitmap-inherits-tainted"),
    ],
)
def test_transfer_to_image_bitmap_inherits_flag(source, origin_clean):
    o = OffscreenCanvas(4, 3)
    o.draw_image(source)
    bitmap = o.transfer_to_image_bitmap()
    assert (bitmap.origin_clean, bitmap.width, bitmap.height) == (origin_clean, 4, 3)


def test_transfer_to_image_bitmap_offscreen_keeps_flag_deviation():
    # Deviation pinned: Blink keeps the OffscreenCanvas tainted after the transfer.
    o = OffscreenCanvas(4, 3)
    o.draw_image(CROSS)
    o.transfer_to_image_bitmap()
    assert o.origin_clean is False and o.painted is False


@pytest.mark.parametrize(
    "bitmaps, origin_clean",
    [
        pytest.param([ImageBitmap(width=2, height=2)], True, id="transferFromImageBitmap-step4-clean-bitmap"),
        pytest.param([ImageBitmap(width=2, height=2, origin_clean=False)], False, id="transferFromImageBitmap-step4-takes-tainted-flag"),
        pytest.param(
            [ImageBitmap(width=2, height=2, origin_clean=False), ImageBitmap(width=2, height=2)],
            False,
            id="transferFromImageBitmap-deviation-chromium-taint-is-sticky",
        ),
        pytest.param([ImageBitmap(width=2, height=2, origin_clean=False), None], False,
                     id="transferFromImageBitmap-deviation-null-does-not-clean-in-chromium"),
    ],
)
def test_transfer_from_image_bitmap(bitmaps, origin_clean):
    c = BitmapRendererCanvas(2, 2)
    for bitmap in bitmaps:
        c.transfer_from_image_bitmap(bitmap)
    assert c.origin_clean is origin_clean


def test_transfer_from_image_bitmap_detaches_the_bitmap():
    c = BitmapRendererCanvas(2, 2)
    bitmap = ImageBitmap(width=2, height=2, origin_clean=False)
    c.transfer_from_image_bitmap(bitmap)
    assert bitmap.detached
    with pytest.raises(SecurityError) as info:
        c.to_data_url()
    assert info.value.message.startswith("Failed to execute 'toDataURL' on 'HTMLCanvasElement'")


def test_transfer_from_detached_bitmap_invalid_state():
    bitmap = ImageBitmap(width=2, height=2)
    bitmap.close()
    with pytest.raises(InvalidStateError) as info:
        BitmapRendererCanvas(2, 2).transfer_from_image_bitmap(bitmap)
    assert info.value.message == (
        "Failed to execute 'transferFromImageBitmap' on 'ImageBitmapRenderingContext': "
        "The input ImageBitmap has been detached."
    )


def test_bitmaprenderer_set_width_deviation_stays_tainted():
    # Deviation pinned: the spec cleans here; Chromium 156 (measured) keeps the canvas tainted.
    c = BitmapRendererCanvas(2, 2)
    c.transfer_from_image_bitmap(ImageBitmap(width=2, height=2, origin_clean=False))
    c.set_width(2)
    assert c.origin_clean is False
    clean = BitmapRendererCanvas(2, 2)
    clean.set_width(2)
    assert clean.origin_clean is True


@pytest.mark.parametrize(
    "make_offscreen, exception, message",
    [
        pytest.param(
            lambda: OffscreenCanvas(0, 0),
            IndexSizeError,
            "Failed to execute 'convertToBlob' on 'OffscreenCanvas': The size of the OffscreenCanvas is zero.",
            id="convertToBlob-step3-no-pixels-IndexSizeError",
        ),
    ],
)
def test_convert_to_blob_zero(make_offscreen, exception, message):
    with pytest.raises(exception) as info:
        make_offscreen().convert_to_blob()
    assert info.value.message == message


def test_convert_to_blob_security_error_before_index_size_error():
    o = OffscreenCanvas(4, 3)
    o.draw_image(CROSS)
    o.width = 0  # a tainted, empty bitmap (bypassing set_width, which would clean it)
    with pytest.raises(SecurityError) as info:
        o.convert_to_blob()
    assert info.value.message == (
        "Failed to execute 'convertToBlob' on 'OffscreenCanvas': A tainted OffscreenCanvas may not be exported."
    )


def test_offscreen_get_image_data_names_its_context():
    o = OffscreenCanvas(4, 3)
    o.draw_image(CROSS)
    with pytest.raises(SecurityError) as info:
        o.get_image_data(0, 0, 4, 3)
    assert "'OffscreenCanvasRenderingContext2D'" in info.value.message


# --- WebGL texImage2D ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, text",
    [
        pytest.param(lambda: CROSS, "The image element contains cross-origin data, and may not be loaded.", id="texImage2D-img-cross-origin-SecurityError"),
        pytest.param(lambda: ZERO_CROSS, "The image element contains cross-origin data, and may not be loaded.", id="texImage2D-zero-size-cross-origin-taint-checked-first"),
        pytest.param(lambda: ImageSource(kind="video", response_tainting="opaque"), "The video element contains cross-origin data, and may not be loaded.", id="texImage2D-video-cross-origin-SecurityError"),
        pytest.param(lambda: tainted_canvas(), "Tainted canvases may not be loaded.", id="texImage2D-tainted-canvas-SecurityError"),
        pytest.param(_tainted_bitmap, "The ImageBitmap contains cross-origin data, and may not be loaded.", id="texImage2D-tainted-bitmap-SecurityError"),
    ],
)
def test_tex_image_2d_security_error(make, text):
    gl = WebGLCanvas(4, 3)
    with pytest.raises(SecurityError) as info:
        gl.tex_image_2d(make())
    assert info.value.message == f"Failed to execute 'texImage2D' on 'WebGLRenderingContext': {text}"
    assert gl.origin_clean is True  # WebGL refuses; it never taints


@pytest.mark.parametrize(
    "make, console",
    [
        pytest.param(lambda: BROKEN, "WebGL: INVALID_VALUE: texImage2D: invalid image", id="texImage2D-broken-image-GL-INVALID_VALUE-no-exception"),
        pytest.param(lambda: BROKEN_CROSS, "WebGL: INVALID_VALUE: texImage2D: invalid image", id="texImage2D-broken-checked-before-taint"),
        pytest.param(lambda: UNAVAILABLE, "WebGL: INVALID_VALUE: texImage2D: invalid image", id="texImage2D-unavailable-GL-INVALID_VALUE"),
        pytest.param(lambda: ImageSource(kind="video", state="unavailable"), "WebGL: INVALID_VALUE: texImage2D: no video", id="texImage2D-video-no-frame-GL-INVALID_VALUE"),
        pytest.param(lambda: ImageBitmap(width=1, height=1, detached=True), "WebGL: INVALID_VALUE: texImage2D: The source data has been detached.", id="texImage2D-detached-bitmap-GL-INVALID_VALUE"),
        pytest.param(lambda: ZERO, "WebGL: INVALID_VALUE: texImage2D: bad image data", id="texImage2D-zero-size-img-GL-INVALID_VALUE"),
        pytest.param(lambda: ZERO_WIDTH, "WebGL: INVALID_VALUE: texImage2D: bad image data", id="texImage2D-zero-width-img-GL-INVALID_VALUE"),
    ],
)
def test_tex_image_2d_gl_errors(make, console):
    gl = WebGLCanvas(4, 3)
    assert gl.tex_image_2d(make()) is None  # no exception
    assert gl.console == [console]
    assert gl.get_error() == "INVALID_VALUE"
    assert gl.get_error() == "NO_ERROR"
    assert gl.painted is False


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: CLEAN, id="texImage2D-clean-img-uploads"),
        pytest.param(lambda: CORS, id="texImage2D-cors-img-uploads"),
        pytest.param(lambda: DATA_URL, id="texImage2D-data-url-uploads"),
        pytest.param(lambda: Canvas(2, 2), id="texImage2D-clean-canvas-uploads"),
        pytest.param(lambda: ImageBitmap(width=2, height=2), id="texImage2D-clean-bitmap-uploads"),
    ],
)
def test_tex_image_2d_uploads(make):
    gl = WebGLCanvas(4, 3)
    gl.tex_image_2d(make())
    assert gl.get_error() == "NO_ERROR" and gl.painted and gl.origin_clean


# --- run_operation: every operation x {clean, cross-origin, broken} -----------------------------------

_EXPORT = {
    "toDataURL": "Failed to execute 'toDataURL' on 'HTMLCanvasElement': Tainted canvases may not be exported.",
    "toBlob": "Failed to execute 'toBlob' on 'HTMLCanvasElement': Tainted canvases may not be exported.",
    "captureStream": "Failed to execute 'captureStream' on 'HTMLCanvasElement': Canvas is not origin-clean.",
    "convertToBlob": "Failed to execute 'convertToBlob' on 'OffscreenCanvas': A tainted OffscreenCanvas may not be exported.",
    "texImage2D": "Failed to execute 'texImage2D' on 'WebGLRenderingContext': The image element contains cross-origin data, and may not be loaded.",
}

# (operation, source, exception, message, origin_clean)
RUN = [
    # clean source: everything reads back, the final canvas is origin-clean
    *[pytest.param(op, CLEAN, None, None, True, id=f"run-{op}-clean") for op in OPERATIONS],
    # cross-origin (opaque) source
    pytest.param("drawImage", CROSS, None, None, False, id="run-drawImage-cross-origin-taints-silently"),
    pytest.param("getImageData", CROSS, "SecurityError", TAINTED_READ, False, id="run-getImageData-cross-origin-SecurityError"),
    pytest.param("toDataURL", CROSS, "SecurityError", _EXPORT["toDataURL"], False, id="run-toDataURL-cross-origin-SecurityError"),
    pytest.param("toBlob", CROSS, "SecurityError", _EXPORT["toBlob"], False, id="run-toBlob-cross-origin-SecurityError"),
    pytest.param("captureStream", CROSS, "SecurityError", _EXPORT["captureStream"], False, id="run-captureStream-cross-origin-SecurityError"),
    pytest.param("convertToBlob", CROSS, "SecurityError", _EXPORT["convertToBlob"], False, id="run-convertToBlob-cross-origin-SecurityError"),
    pytest.param("texImage2D", CROSS, "SecurityError", _EXPORT["texImage2D"], None, id="run-texImage2D-cross-origin-SecurityError-nothing-uploaded"),
    pytest.param("createImageBitmap", CROSS, "SecurityError", TAINTED_READ, False, id="run-createImageBitmap-cross-origin-bitmap-taints"),
    pytest.param("pattern", CROSS, "SecurityError", TAINTED_READ, False, id="run-pattern-cross-origin-fillStyle-taints"),
    pytest.param("canvas-to-canvas", CROSS, "SecurityError", TAINTED_READ, False, id="run-canvas-to-canvas-cross-origin-propagates"),
    pytest.param("transferToImageBitmap", CROSS, "SecurityError", TAINTED_READ, False, id="run-transferToImageBitmap-cross-origin-propagates"),
    # broken image
    *[
        pytest.param(op, BROKEN, "InvalidStateError", BROKEN_DRAW, None, id=f"run-{op}-broken-drawImage-InvalidStateError")
        for op in ("drawImage", "getImageData", "toDataURL", "toBlob", "captureStream", "canvas-to-canvas")
    ],
    pytest.param("convertToBlob", BROKEN, "InvalidStateError", BROKEN_DRAW_OFFSCREEN, None, id="run-convertToBlob-broken-InvalidStateError"),
    pytest.param("transferToImageBitmap", BROKEN, "InvalidStateError", BROKEN_DRAW_OFFSCREEN, None, id="run-transferToImageBitmap-broken-InvalidStateError"),
    pytest.param("texImage2D", BROKEN, None, "WebGL: INVALID_VALUE: texImage2D: invalid image", None, id="run-texImage2D-broken-GL-error-not-exception"),
    pytest.param(
        "createImageBitmap", BROKEN, "InvalidStateError",
        "Failed to execute 'createImageBitmap' on 'Window': The HTMLImageElement provided is in the 'broken' state.", None,
        id="run-createImageBitmap-broken-rejects-InvalidStateError",
    ),
    pytest.param(
        "pattern", BROKEN, "InvalidStateError",
        "Failed to execute 'createPattern' on 'CanvasRenderingContext2D': Source image is in the 'broken' state.", None,
        id="run-pattern-broken-createPattern-InvalidStateError",
    ),
    # more sources
    pytest.param("getImageData", CORS, None, None, True, id="run-getImageData-cors-response-readable"),
    pytest.param("getImageData", DATA_URL, None, None, True, id="run-getImageData-data-url-readable"),
    pytest.param("texImage2D", BROKEN_CROSS, None, "WebGL: INVALID_VALUE: texImage2D: invalid image", None, id="run-texImage2D-broken-cross-origin-GL-error"),
    # The probe's canvas is at least 1x1 (trial.js's sizeOf), so an image with no size reads a blank pixel.
    pytest.param("getImageData", UNAVAILABLE, None, None, None,
                 id="run-getImageData-unavailable-bad-draws-nothing-then-reads-1x1"),
    pytest.param("pattern", UNAVAILABLE, None, None, True, id="run-pattern-unavailable-null-pattern"),
    pytest.param("toDataURL", UNAVAILABLE, None, None, None, id="run-toDataURL-unavailable-nothing-drawn"),
]


@pytest.mark.parametrize("operation, source, exception, message, origin_clean", RUN)
def test_run_operation(operation, source, exception, message, origin_clean):
    result = run_operation(operation, source)
    assert isinstance(result, OperationResult)
    assert (result.exception, result.message, result.origin_clean) == (exception, message, origin_clean)
    assert result.steps and all("https://" in step for step in result.steps)


def test_run_operation_steps_name_the_rules():
    steps = run_operation("pattern", CROSS).steps
    assert steps[0].startswith('source: response tainting "opaque"')
    assert any(SPEC["createPattern"] in s for s in steps)
    assert any(SPEC["fillStyle"] in s and "becomes false" in s for s in steps)
    assert SPEC["getImageData"] in steps[-1]


def test_run_operation_accepts_canvas_sources():
    result = run_operation("getImageData", tainted_canvas())
    assert (result.exception, result.origin_clean) == ("SecurityError", False)


def test_run_operation_unknown_operation():
    with pytest.raises(UsageError, match="localStorage"):
        run_operation("localStorage", CLEAN)
