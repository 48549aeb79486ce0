"""Decoding untrusted bytes in a child process, where a runaway decoder cannot take the kernel down.

Owns the decoder worker: a small Python process, started on first use and kept warm, that forks
one child per image. The child lowers its own address-space limit (RLIMIT_AS) to what it already
uses plus `MEMORY_BUDGET`, and decodes with decoding.decode_bytes; the worker kills it at its
deadline and reports how it ended. A MemoryError, a Rust abort ("memory allocation of N bytes
failed"), a stack overflow or an endless filter ends that child only: the caller gets a DecodeError
saying which. Must not: decide any image rule (decoding.py does, inside the child).

Where no worker can run (no ``os.fork``, as on Windows, or it cannot start), images are decoded in
the calling process after one warning that says so, with the pixel limits but no memory limit.
Where /proc/self/status is missing (macOS), the child keeps its deadline but gets no RLIMIT_AS.

    python -m cors_lab.assets.sandbox       # the worker itself: requests on stdin, answers on stdout
"""

from __future__ import annotations

import atexit
import faulthandler
import json
import math
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

from ..errors import DecodeError, UsageError

__all__ = ["MEMORY_BUDGET", "decode", "shutdown"]

MEMORY_BUDGET = 256 * 1024 * 1024  # bytes of address space one decode may add to the worker's own
START_TIMEOUT = 30.0  # seconds for the worker to import Pillow and resvg and say it is ready
_GRACE = 2.0  # seconds the worker may take beyond a decode's deadline to fork, kill and answer
_STDERR_KEPT = 4096  # bytes of a crashed child's stderr kept for the message
_HEAD = struct.Struct(">Q")  # every message: 8-byte length of a JSON header, the header, a payload


# --- framing (both sides) ---------------------------------------------------------------------


def _frame(header: dict, payload: bytes = b"") -> bytes:
    head = json.dumps({**header, "n": len(payload)}).encode()
    return _HEAD.pack(len(head)) + head


def _read_exact(fd: int, n: int, deadline: float | None) -> bytearray:
    """Exactly ``n`` bytes from ``fd``; TimeoutError past ``deadline`` (monotonic), EOFError on EOF."""
    out = bytearray(n)
    view = memoryview(out)
    got = 0
    while got < n:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError
        k = os.readv(fd, [view[got:]])
        if k == 0:
            raise EOFError
        got += k
    return out


def _read_message(fd: int, deadline: float | None) -> tuple[dict, bytearray]:
    (size,) = _HEAD.unpack(_read_exact(fd, _HEAD.size, deadline))
    header = json.loads(bytes(_read_exact(fd, size, deadline)))
    return header, _read_exact(fd, header["n"], deadline)


def _split_message(raw: bytes | bytearray) -> tuple[dict, bytes]:
    """A whole message already read: its header and payload."""
    (size,) = _HEAD.unpack_from(raw, 0)
    header = json.loads(bytes(raw[_HEAD.size : _HEAD.size + size]))
    return header, bytes(raw[_HEAD.size + size :])


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# --- the caller's side ------------------------------------------------------------------------


class _Worker:
    """The warm worker process, one per kernel; one decode at a time."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.lock = threading.Lock()
        self.unavailable: str | None = None  # why images are decoded in this process instead

    def _start(self) -> None:
        package_parent = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cors_lab.assets.sandbox"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env, close_fds=True, start_new_session=True,  # a Ctrl-C in a terminal is the kernel's, not ours
        )
        try:
            header, _ = _read_message(self.proc.stdout.fileno(), time.monotonic() + START_TIMEOUT)
        except (TimeoutError, EOFError, ValueError):
            self.stop()
            raise OSError("the decoder worker did not start") from None
        if header.get("status") != "ready":  # pragma: no cover - the worker's first message
            self.stop()
            raise OSError(f"the decoder worker said {header!r}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            proc.kill()
        except OSError:  # pragma: no cover - already gone
            pass
        proc.wait(5)
        for f in (proc.stdin, proc.stdout):
            try:
                f.close()
            except OSError:  # pragma: no cover
                pass

    def request(self, data: bytes, options: dict, timeout: float) -> tuple[dict, bytearray]:
        with self.lock:
            for attempt in (1, 2):
                if self.proc is None or self.proc.poll() is not None:
                    self.stop()
                    self._start()
                proc = self.proc
                try:
                    _write_all(proc.stdin.fileno(), _frame({**options, "timeout": timeout}, data) + data)
                except OSError:  # the worker died between two decodes: start a new one, once
                    self.stop()
                    if attempt == 2:
                        raise
                    continue
                try:
                    return _read_message(proc.stdout.fileno(), time.monotonic() + timeout + _GRACE)
                except TimeoutError:
                    self.stop()  # it no longer answers in time: the next decode starts a new one
                    return {"status": "timeout"}, bytearray()
                except (EOFError, ValueError):
                    self.stop()
                    return {"status": "lost"}, bytearray()
        raise AssertionError("unreachable")  # pragma: no cover


_worker = _Worker()


def shutdown() -> None:
    """Stop the worker process (it starts again on the next decode)."""
    with _worker.lock:
        _worker.stop()


atexit.register(shutdown)


def decode(data: bytes, *, content_type: str | None, max_pixels: int, partial: bool, timeout: float,
           profile: str = "chromium"):
    """decoding.decode_bytes in a child process with MEMORY_BUDGET and ``timeout``; a DecodedImage."""
    from .decoding import DecodedImage, decode_bytes

    options = {"content_type": content_type, "max_pixels": max_pixels, "partial": partial, "memory": MEMORY_BUDGET,
               "profile": profile}
    if _worker.unavailable is None and not hasattr(os, "fork"):
        _worker.unavailable = "this system cannot fork processes"
    if _worker.unavailable is None:
        try:
            header, payload = _worker.request(data, options, timeout)
        except OSError as err:
            _worker.unavailable = str(err)
    if _worker.unavailable is not None:
        if not getattr(_worker, "warned", False):
            _worker.warned = True  # type: ignore[attr-defined]
            warnings.warn(f"cors-lab decodes images in the kernel itself ({_worker.unavailable}): an image that"
                          " needs too much memory can stop the kernel.", RuntimeWarning, stacklevel=3)
        return decode_bytes(data, content_type=content_type, max_pixels=max_pixels, partial=partial, profile=profile)
    for category, message in header.get("warnings", ()):
        warnings.warn(message, _warning_class(category), stacklevel=3)
    status = header["status"]
    if status == "ok":
        rgba = bytes(payload)
        del payload
        return DecodedImage(header["width"], header["height"], header["format"], rgba, complete=header["complete"])
    raise _error(header, timeout)


def _warning_class(name: str) -> type[Warning]:
    import builtins

    from PIL import Image

    found = getattr(builtins, name, None) or getattr(Image, name, None)
    return found if isinstance(found, type) and issubclass(found, Warning) else UserWarning


def _error(header: dict, timeout: float) -> Exception:
    status = header["status"]
    megabytes = MEMORY_BUDGET // (1024 * 1024)
    if status == "error":
        cls = UsageError if header.get("error") == "UsageError" else DecodeError
        return cls(header["message"], kind=header.get("kind", "")) if cls is DecodeError else cls(header["message"])
    memory_fix = ("\nFix: use a smaller image. A few bytes that make a decoder allocate gigabytes are a"
                  " 'decompression bomb'; the lab decodes in a separate process so the kernel survives them.")
    if status == "memory" or "memory allocation" in header.get("stderr", ""):
        said = header.get("stderr", "").strip().splitlines()[:1]
        why = f" ({said[0]})" if said else ""
        return DecodeError(
            f"Decoding this image needed more than the {megabytes} MB of memory the lab gives one image{why},"
            " so the decoder was stopped and the <img> fires 'error'." + memory_fix,
            kind="too-large",
        )
    if status == "timeout":
        return DecodeError(
            f"Decoding this image took longer than {timeout:g} s, so the lab stopped the decoder and the <img>"
            " fires 'error'. Huge drawings and some SVG filters (feMorphology, feConvolveMatrix, feTurbulence,"
            " large blurs) can take that long.\nFix: simplify the image, or pass a longer timeout if you trust it.",
            kind="too-slow",
        )
    if status == "lost":
        return DecodeError(
            "The decoder worker stopped while decoding this image (something outside the lab killed it),"
            " so the <img> fires 'error'; the kernel is fine and the next image starts a new worker.",
            kind="damaged",
        )
    if status == "crashed":
        number = header.get("signal")
        name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else f"signal {number}"
        hint = ", probably a stack overflow from deep nesting" if name == "SIGSEGV" else ""
        return DecodeError(
            f"The decoder crashed on this image ({name}{hint}), so the <img> fires 'error'; the kernel is fine."
            "\nFix: re-save the image with another program, or check it was not made to crash decoders.",
            kind="damaged",
        )
    return DecodeError(
        f"The decoder failed on this image ({header.get('type', status)}: {header.get('message', '')}), so the"
        " <img> fires 'error'.\nFix: re-save or re-export the image.",
        kind="damaged",
    )


# --- the worker's side ------------------------------------------------------------------------


def _address_space() -> int:
    """Bytes of address space this process maps now (VmSize), or 0 where /proc cannot tell."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return 0


def _child(data: bytes, request: dict, out: int) -> None:
    """In the forked child: limit memory and CPU, decode, write one message to ``out``."""
    import resource

    from .decoding import decode_bytes

    used = _address_space()
    if used:
        limit = used + int(request["memory"])
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu = math.ceil(float(request["timeout"])) + 2  # a backstop: the worker kills it at the deadline
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            image = decode_bytes(data, content_type=request["content_type"], max_pixels=int(request["max_pixels"]),
                                 partial=bool(request["partial"]), profile=str(request.get("profile", "chromium")))
            header = {"status": "ok", "width": image.width, "height": image.height, "format": image.format,
                      "complete": image.complete}
            payload = image.rgba
        except (DecodeError, UsageError) as err:
            header = {"status": "error", "error": type(err).__name__, "message": str(err),
                      "kind": getattr(err, "kind", "")}
            payload = b""
        except MemoryError:
            header, payload = {"status": "memory"}, b""
        except Exception as err:  # noqa: BLE001 - reported to the caller as a damaged image
            header, payload = {"status": "exception", "type": type(err).__name__, "message": str(err)[:300]}, b""
    header["warnings"] = [(w.category.__name__, str(w.message)) for w in caught]
    _write_all(out, _frame(header, payload))
    _write_all(out, payload)


def _run_child(data: bytes, request: dict) -> tuple[dict, bytearray]:
    """Fork a child to decode, wait for it at most ``request["timeout"]`` seconds; its message or why not."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, measured by the tests through the worker
        code = 0
        try:
            faulthandler.disable()  # a crash is reported through the exit status, not a dump
            os.close(out_r)
            os.close(err_r)
            os.dup2(err_w, 2)
            _child(data, request, out_w)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(out_w)
    os.close(err_w)
    deadline = time.monotonic() + float(request["timeout"])
    result, stderr, open_fds, timed_out = bytearray(), bytearray(), {out_r, err_r}, False
    while open_fds:
        wait = deadline - time.monotonic()
        ready = select.select(list(open_fds), [], [], max(wait, 0))[0] if wait > 0 else []
        if not ready:
            timed_out = True
            break
        for fd in ready:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                open_fds.discard(fd)
            elif fd == out_r:
                result += chunk
            elif len(stderr) < _STDERR_KEPT:
                stderr += chunk[: _STDERR_KEPT - len(stderr)]
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(out_r)
    os.close(err_r)
    if timed_out:
        return {"status": "timeout"}, bytearray()
    if os.WIFSIGNALED(status) or os.WEXITSTATUS(status) != 0 or len(result) < _HEAD.size:
        signum = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        return {"status": "crashed", "signal": signum, "exit": os.WEXITSTATUS(status) if signum is None else None,
                "stderr": stderr.decode("utf-8", "replace")}, bytearray()
    return {"status": "relay"}, result


_WARM_UP_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="2" height="2"><rect width="1" height="1"/></svg>'


def serve() -> None:
    """The worker: load the decoders once, then answer one request at a time until stdin closes."""
    # Answers go to a private copy of stdout; anything a library prints goes nowhere.
    stdin, stdout = sys.stdin.fileno(), os.dup(sys.stdout.fileno())
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    from PIL import Image

    from . import decoding  # Pillow, its plugins and resvg, loaded once for every child

    Image.init()
    decoding.decode_bytes(_WARM_UP_SVG, content_type="image/svg+xml", max_pixels=64, partial=False)
    _write_all(stdout, _frame({"status": "ready"}))
    while True:
        try:
            request, data = _read_message(stdin, None)
        except (EOFError, ValueError):
            return
        answer, raw = _run_child(bytes(data), request)
        del data
        if answer["status"] == "relay":
            _write_all(stdout, raw)  # the child's own message, header and pixels
        else:
            _write_all(stdout, _frame(answer))
        del raw


if __name__ == "__main__":
    serve()
