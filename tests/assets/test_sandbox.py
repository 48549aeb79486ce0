"""Tests for cors_lab.assets.sandbox: untrusted bytes decoded in a worker's child, where a runaway cannot hurt."""

from __future__ import annotations

import io
import os
import signal
import time
import warnings

import pytest
from hostile_corpus import ico, png, png_claiming
from PIL import Image

from cors_lab.assets import ASSET_NAMES, decode_image, get_asset, picture_image, sandbox
from cors_lab.assets import decoding as decoding_module
from cors_lab.assets.pictures import is_lab_picture
from cors_lab.errors import DecodeError, UsageError

REQUEST = {"content_type": None, "max_pixels": 16_000_000, "partial": False, "memory": sandbox.MEMORY_BUDGET}


FORMATS = {"png": "PNG", "jpg": "JPEG", "gif": "GIF", "webp": "WEBP", "avif": "AVIF", "bmp": "BMP", "ico": "ICO"}


def _copy(name: str) -> tuple[bytes, str]:
    """The lab's picture re-encoded with other settings: equal pixels, bytes the lab never made."""
    asset = get_asset(name)
    if name.endswith(".svg"):
        return asset.body.replace(b"<title>", b"<title>A copy: "), asset.content_type
    fmt = FORMATS[name.rsplit(".", 1)[1]]
    image = Image.open(io.BytesIO(asset.body))
    image.load()
    out = io.BytesIO()
    image.save(out, fmt, **({"sizes": [image.size]} if fmt == "ICO" else {}))
    data = out.getvalue()
    return (data if data != asset.body else data + b"\0"), asset.content_type


@pytest.mark.parametrize("name", [n for n in ASSET_NAMES if n != "secret.png"])
def test_worker_decodes_what_this_process_decodes(name):
    data, content_type = _copy(name)
    assert not is_lab_picture(data)
    here = decoding_module.decode_bytes(data, content_type=content_type, max_pixels=16_000_000, partial=False)
    there = decode_image(data, content_type=content_type)
    assert (there.width, there.height, there.format, there.complete) == (here.width, here.height, here.format, here.complete)
    assert there.rgba == here.rgba


def test_lab_pictures_and_their_prefixes_skip_the_worker(monkeypatch):
    def no_worker(*args, **kwargs):
        raise AssertionError("the lab's own picture went to the worker")

    monkeypatch.setattr(sandbox, "decode", no_worker)
    body = get_asset("picture.png").body
    assert decode_image(body).width == 64
    assert decode_image(body[: len(body) // 2], partial=True).complete is False  # the truncate knob's answer
    assert is_lab_picture(get_asset("secret.png", user="alice").body)
    assert not is_lab_picture(body + b"\0")


def test_decode_errors_come_back_with_their_kind_and_message():
    with pytest.raises(DecodeError, match="says it is 100000 x 100000") as info:
        decode_image(png_claiming(100000, 100000))
    assert info.value.kind == "too-large"


def test_warnings_of_the_child_reach_the_caller():
    # Pillow warns when an ICO entry is not the size its directory says.
    data = ico([(16, 16, png(20, 20))])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        decode_image(data)
    assert any("expected size" in str(w.message) and w.category is UserWarning for w in caught)


def test_usage_errors_stay_usage_errors():
    with pytest.raises(UsageError, match="timeout"):
        decode_image(png(2, 2), timeout=0)
    with pytest.raises(UsageError, match="timeout"):
        decode_image(png(2, 2), timeout=1000)


# -- how a child may end: run in a child of this process, with decode_bytes replaced ------------


def _run(monkeypatch, replacement, *, timeout: float = 5.0):
    monkeypatch.setattr(decoding_module, "decode_bytes", replacement)
    header, payload = sandbox._run_child(b"data", {**REQUEST, "timeout": timeout})
    if header["status"] == "relay":
        header, payload = sandbox._split_message(payload)
    return header, sandbox._error(header, timeout) if header["status"] != "ok" else None


def test_a_runaway_allocation_is_a_memory_error_in_the_child(monkeypatch):
    header, err = _run(monkeypatch, lambda *a, **k: bytearray(4 * sandbox.MEMORY_BUDGET))
    assert header["status"] == "memory"
    assert err.kind == "too-large" and "256 MB" in str(err)


def test_an_abort_is_reported_with_what_the_child_said(monkeypatch):
    def abort(*args, **kwargs):
        os.write(2, b"memory allocation of 1600000000 bytes failed\n")
        os.abort()

    header, err = _run(monkeypatch, abort)
    assert header["status"] == "crashed" and header["signal"] == signal.SIGABRT
    assert err.kind == "too-large" and "memory allocation of 1600000000 bytes failed" in str(err)


def test_a_segfault_is_a_damaged_image(monkeypatch):
    header, err = _run(monkeypatch, lambda *a, **k: os.kill(os.getpid(), signal.SIGSEGV))
    assert header["status"] == "crashed"
    assert err.kind == "damaged" and "SIGSEGV" in str(err) and "the kernel is fine" in str(err)


def test_a_decode_past_its_deadline_is_killed(monkeypatch):
    started = time.monotonic()
    header, err = _run(monkeypatch, lambda *a, **k: time.sleep(30), timeout=0.3)
    assert header["status"] == "timeout" and time.monotonic() - started < 10
    assert err.kind == "too-slow" and "0.3 s" in str(err)


def test_an_unexpected_exception_is_a_damaged_image(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug in a decoder")

    header, err = _run(monkeypatch, broken)
    assert header["status"] == "exception" and err.kind == "damaged" and "a bug in a decoder" in str(err)


# -- the worker process ----------------------------------------------------------------------


def test_a_killed_worker_is_replaced():
    decode_image(png(3, 3))
    proc = sandbox._worker.proc
    assert proc is not None and proc.poll() is None
    proc.kill()
    proc.wait(5)
    assert decode_image(png(4, 4)).width == 4  # a new worker
    assert sandbox._worker.proc is not proc


def test_shutdown_stops_the_worker_and_the_next_decode_starts_one():
    decode_image(png(3, 3))
    proc = sandbox._worker.proc
    sandbox.shutdown()
    assert proc.poll() is not None and sandbox._worker.proc is None
    assert decode_image(png(5, 5)).width == 5


def test_without_a_worker_images_are_decoded_here_after_one_warning(monkeypatch):
    monkeypatch.setattr(sandbox._worker, "unavailable", "testing")
    monkeypatch.setattr(sandbox._worker, "warned", False, raising=False)
    with pytest.warns(RuntimeWarning, match="decodes images in the kernel itself"):
        assert decode_image(png(6, 6)).width == 6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert decode_image(png(7, 7)).width == 7


def test_equal_pixels_of_the_picture_from_the_worker():
    data, _ = _copy("picture.png")
    decoded = decode_image(data)
    assert decoded.to_pil().tobytes() == picture_image().tobytes()
