"""Processes the e2e tests start: launch them, find them by a marker in their environment, stop them,
measure them.

Owns `Service` (a server launched in its own session, logged to a file, marked with an environment
variable that every process it starts inherits, and swept on stop), the sweep that ends whatever
still carries the marker after a graceful stop, and a peak-memory sampler. Must not touch a process
it did not start: only marked processes are signalled.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import subprocess
import threading
import time
from pathlib import Path

import psutil

MARKER = "CORS_LAB_E2E_MARK"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def new_marker() -> str:
    return f"e2e-{os.getpid()}-{secrets.token_hex(4)}"


def marked(mark: str) -> list[psutil.Process]:
    """Every live process whose environment holds ``CORS_LAB_E2E_MARK=<mark>`` (root reads every user's)."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get(MARKER) == mark and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def describe(procs: list[psutil.Process]) -> list[str]:
    out = []
    for p in procs:
        try:
            out.append(f"{p.pid} {p.username()} {' '.join(p.cmdline())[:160]}")
        except psutil.Error:
            out.append(f"{p.pid} (gone)")
    return out


def sweep(mark: str, *, grace: float = 5.0) -> list[str]:
    """End every process still carrying ``mark`` (TERM, then KILL); returns what was found, described."""
    left = marked(mark)
    found = describe(left)
    for p in left:
        try:
            p.send_signal(signal.SIGTERM)
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(left, timeout=grace)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=grace)
    still = marked(mark)
    if still:
        raise RuntimeError(f"processes marked {mark} survived SIGKILL: {describe(still)}")
    return found


def _libc():
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None


_LIBC = _libc()  # loaded here, not in the forked child (no dlopen between fork and exec)


def die_with_parent() -> None:
    """A ``preexec_fn``: the child gets SIGTERM when the test process dies (killed by a CI timeout, say),
    so a server never outlives the run that started it. Linux's PR_SET_PDEATHSIG; a no-op elsewhere."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def stop_group(proc, *, grace: float = 20.0) -> None:
    """SIGTERM a ``subprocess.Popen`` started with ``start_new_session=True`` (its group), then SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


class Service:
    """A server a fixture starts: ``_launch`` it, ``tail()`` its log, ``stop()`` it and everything it started.

    Subclasses set ``name``, ``log_path`` and ``secret`` (a password or token kept out of ``tail``).
    ``start_s`` is the time from launch to ready; ``leftovers`` what the sweep after the server's own
    shutdown still found (empty when the server cleaned up after itself).
    """

    name = "server"

    def __init__(self) -> None:
        self.mark = new_marker()
        self.secret = ""
        self.log_path: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.start_s: float | None = None
        self.leftovers: list[str] = []
        self._log = None

    def _launch(self, cmd: list[str], *, env: dict[str, str], cwd: Path, ready, timeout: float) -> None:
        """Start ``cmd`` and wait until ``ready()`` is true; stops it and raises with the log's tail if not."""
        self._log = open(self.log_path, "w")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=cwd, env={**env, MARKER: self.mark}, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent)
        try:
            wait_until(lambda: self._running() and ready(), timeout=timeout, what=f"{self.name} answering")
        except Exception as err:
            self.stop()
            raise RuntimeError(f"{self.name} did not start: {err}\n{self.tail()}") from err
        except BaseException:  # Ctrl-C: stop it, and let the interrupt through as it is
            self.stop()
            raise
        self.start_s = time.perf_counter() - t0

    def _running(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
        return True

    def tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except (OSError, AttributeError):
            return ""
        text = "\n".join(text.splitlines()[-lines:])
        return text.replace(self.secret, "<secret>") if self.secret else text

    def stop(self, *, grace: float = 30) -> None:
        """SIGTERM (the server's own shutdown), SIGKILL after ``grace`` s, then sweep the marked processes."""
        if self.proc is not None:
            stop_group(self.proc, grace=grace)
            self.proc = None
        self.leftovers = sweep(self.mark)
        if self._log is not None:
            self._log.close()
            self._log = None


class PeakMemory:
    """Samples the proportional set size (PSS) of this process's descendants every ``every`` seconds.

    Everything the e2e tests start (hub, proxy, single-user server, kernels, Chromium, Playwright's
    driver) descends from the pytest process, so the sum is what one test costs the machine. PSS, not
    RSS: Chromium's processes share most of their pages. ``peak_mb``/``peak_parts`` hold the worst sample.
    """

    def __init__(self, *, every: float = 0.5) -> None:
        self.every = every
        self.peak_mb = 0.0
        self.peak_parts: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-memory", daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def sample(self) -> dict[str, float]:
        parts: dict[str, float] = {}
        for p in psutil.Process().children(recursive=True):
            try:
                name = _kind(p.cmdline())
                parts[name] = parts.get(name, 0.0) + p.memory_full_info().pss / 2**20
            except psutil.Error:
                continue
        return parts

    def _run(self) -> None:
        while not self._stop.is_set():
            parts = self.sample()
            total = sum(parts.values())
            if total > self.peak_mb:
                self.peak_mb, self.peak_parts = total, {k: round(v) for k, v in sorted(parts.items())}
            self._stop.wait(self.every)


def _kind(cmdline: list[str]) -> str:
    text = " ".join(cmdline)
    for needle, name in (("chrom", "chromium"), ("playwright", "playwright driver"),
                         ("configurable-http-proxy", "proxy"), ("jupyterhub-singleuser", "single-user server"),
                         ("jupyterhub", "hub"), ("ipykernel", "kernels"), ("jupyter", "jupyter server")):
        if needle in text:
            return name
    return "other"


def wait_until(predicate, *, timeout: float, every: float = 0.25, what: str = "condition"):
    """Poll ``predicate`` until it returns a true value (returned) or ``timeout`` seconds pass (TimeoutError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:g} s")
        time.sleep(every)
