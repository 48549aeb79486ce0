"""The learner's Python environment on the test hub: a venv any user can read, cached by requirements.

Owns building it (Debian's /usr/bin/python3, never a Python under /root, which other users cannot
read; uv installs into it where the test requirements brought uv, else its own pip), installing what
Binder installs (binder/requirements.txt, which pulls in requirements.txt) plus the hub's own
``jupyterhub`` for ``jupyterhub-singleuser``, and installing the kit NON-editable from a snapshot of this
checkout, as a teacher's ``pip install`` would. Must not: install the kit in editable mode, or reuse a
venv whose requirements changed.

The venv lives in ``$CORS_LAB_E2E_CACHE`` (default /var/tmp/cors-lab-e2e) as ``venv-<hash>``, the hash
of the requirement lines and the base Python's version: a fresh machine builds it once (uv or pip
needs PyPI then), later runs reuse it. The kit itself is reinstalled on every use (it changes with every
commit), under an exclusive lock held while the hub runs, so two sessions never swap it under each other.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

BASE_PYTHON = "/usr/bin/python3"
CACHE_ENV = "CORS_LAB_E2E_CACHE"
DEFAULT_CACHE = "/var/tmp/cors-lab-e2e"
LOCK_WAIT_S = 1200
BUILD_TIMEOUT_S = 1500
# Build tools for the non-editable install of the kit without build isolation (which would download them).
BUILD_TOOLS = ("setuptools>=68", "wheel")
# What a snapshot of the kit needs for `pip install .`.
PACKAGE_FILES = ("pyproject.toml", "README.md", "cors_lab")


def requirement_lines(path: Path) -> list[str]:
    """The requirement lines of ``path`` with ``-r`` files followed, editable and local-path lines dropped."""
    lines: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")):
            lines += requirement_lines(path.parent / line.split(None, 1)[1])
        elif line.startswith(("-e ", "--editable ")) or line in (".", "./"):
            continue  # the kit: installed separately, non-editable
        else:
            lines.append(line)
    return lines


def uv_binary() -> str | None:
    """The uv executable of the ``uv`` package (requirements-test.txt), or uv on PATH; None without either."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without what would leak the test runner's Python into the venv's pip or the hub's users."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PIP_USER", "PYENV_VERSION")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_ROOT_USER_ACTION="ignore", **extra)
    return env


class LearnerVenv:
    """A cached venv for the hub's users; use as a context manager (it holds the venv's lock).

    ``build_s`` is the time the venv took to build (None: reused from the cache), ``install_s`` the
    time to install the kit into it.
    """

    def __init__(self, root: Path, *, hub_version: str, cache: Path | None = None) -> None:
        self.root = root
        self.cache = Path(cache or os.environ.get(CACHE_ENV) or DEFAULT_CACHE)
        self.requirements = [*requirement_lines(root / "binder" / "requirements.txt"),
                             f"jupyterhub=={hub_version}", *BUILD_TOOLS]
        self.hash = self._hash()
        self.path = self.cache / f"venv-{self.hash}"
        self.python = self.path / "bin" / "python"
        self.build_s: float | None = None
        self.install_s: float | None = None
        self._lock = None

    def _hash(self) -> str:
        version = subprocess.run([BASE_PYTHON, "-c", "import sys; print(sys.version)"], capture_output=True,
                                 text=True, check=True, timeout=30).stdout
        text = "\n".join(["v1", version.strip(), *sorted(self.requirements)])
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def bin(self, name: str) -> str:
        return str(self.path / "bin" / name)

    def __enter__(self) -> LearnerVenv:
        self.cache.mkdir(parents=True, exist_ok=True)
        self.cache.chmod(0o755)
        self._lock = open(self.cache / f"venv-{self.hash}.lock", "w")
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self._lock.close()
                    raise TimeoutError(f"{self.path} stayed locked by another test run for {LOCK_WAIT_S} s")
                time.sleep(2)
        try:
            self._build()
            self._install_kit()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def _build(self) -> None:
        stamp = self.path / ".cors-lab-e2e-complete"
        if stamp.exists() and stamp.read_text() == self.hash and self.python.exists():
            return
        t0 = time.perf_counter()
        shutil.rmtree(self.path, ignore_errors=True)
        subprocess.run([BASE_PYTHON, "-m", "venv", str(self.path)], check=True, timeout=120, env=clean_env())
        reqs = self.path / "requirements-e2e.txt"
        reqs.write_text("\n".join(self.requirements) + "\n")
        self._install("-r", str(reqs), timeout=BUILD_TIMEOUT_S)
        _readable(self.path)
        stamp.write_text(self.hash)
        self.build_s = time.perf_counter() - t0

    def _install_kit(self) -> None:
        """``pip install --no-deps <snapshot>``: the checkout as it is now, copied, installed non-editable."""
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="cors-lab-kit-") as tmp:
            for name in PACKAGE_FILES:
                src, dst = self.root / name, Path(tmp) / name
                if src.is_dir():
                    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                else:
                    shutil.copy2(src, dst)
            self._install("--no-deps", "--no-build-isolation", "--reinstall", tmp, timeout=300)
        _readable(self.path)
        self.install_s = time.perf_counter() - t0

    def _install(self, *args: str, timeout: float) -> None:
        """``pip install -q ARGS`` into the venv: through uv where the test requirements installed it (its
        parallel downloads build a cold venv several times faster), else the venv's own pip."""
        uv = uv_binary()
        if uv:  # copies, not links into root's cache; bytecode compiled as pip does
            cmd = [uv, "pip", "install", "-q", "--python", str(self.python), "--link-mode", "copy", "--compile-bytecode"]
        else:
            cmd = [str(self.python), "-m", "pip", "install", "-q"]
        args = tuple("--force-reinstall" if a == "--reinstall" and not uv else a for a in args)
        done = subprocess.run([*cmd, *args], capture_output=True, text=True, check=False,
                              timeout=timeout, env=clean_env(), cwd=self.cache)
        if done.returncode:
            raise RuntimeError(f"{cmd[0]} install {' '.join(args[:3])} ... failed ({done.returncode}):\n{done.stderr[-3000:]}")

    def server_extensions(self) -> str:
        """``jupyter server extension list`` as the learner's server sees it (does pip enable the kit's?)."""
        done = subprocess.run([self.bin("jupyter"), "server", "extension", "list"], capture_output=True, check=False,
                              text=True, timeout=120, env=clean_env(), cwd="/")
        return done.stdout + done.stderr


def _readable(path: Path) -> None:
    """Every file readable and every directory searchable by every user (the hub's users run from here)."""
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                mode = os.stat(p).st_mode
                os.chmod(p, mode | 0o444 | (0o111 if mode & 0o100 or os.path.isdir(p) else 0))
    os.chmod(path, 0o755)
