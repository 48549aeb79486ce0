"""A private X display for the engines that need one (WebKitGTK always; Firefox for WebGL).

Owns starting Xvfb on a free display number and always stopping it. Must not: touch the caller's
$DISPLAY or any display it did not start.

Measured here: ``Xvfb -displayfd`` reports its display in 0.1-0.7 s. Headless Firefox has no WebGL
(``getContext("webgl")`` is null: no GL provider without a display); under Xvfb it renders WebGL with
Mesa's llvmpipe, so the Firefox engine runs on a private Xvfb by default.
"""

from __future__ import annotations

import os
import select
import subprocess
import time

from .base import EngineError, executable


class Xvfb:
    """A private X server on a free display number; ``stop()`` (or leaving ``with``) ends it."""

    def __init__(self, *, xvfb: str = "Xvfb", timeout_s: float = 10.0) -> None:
        exe = executable(xvfb)
        if exe is None:
            raise EngineError("Xvfb is not installed (apt-get install -y xvfb).")
        read_end, write_end = os.pipe()
        try:
            self.process = subprocess.Popen(
                [exe, "-displayfd", str(write_end), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                pass_fds=(write_end,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            os.close(write_end)
        # Xvfb writes the number, then a newline, in two writes, and dies (EPIPE) if the pipe closes
        # in between: read up to the newline.
        text, deadline = b"", time.monotonic() + timeout_s
        try:
            while not text.endswith(b"\n") and time.monotonic() < deadline:
                ready, _, _ = select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))
                chunk = os.read(read_end, 32) if ready else b""
                if not chunk:
                    break
                text += chunk
        finally:
            os.close(read_end)
        number = text.decode(errors="replace").strip()
        if not number.isdigit():
            self.stop()
            raise EngineError(f"Xvfb did not report a display within {timeout_s:g} s.")
        self.display = f":{number}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def __enter__(self) -> "Xvfb":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["Xvfb"]
