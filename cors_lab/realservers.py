"""Debian's apache2 and nginx as this process's own children, serving the lab's pictures with a given config.

Owns: a private root per server (config file, pid file, logs, a document root holding the lab's
picture files under ``/img/``), a free loopback port, the server in the foreground as a child process
(as ``nobody`` when Python runs as root), stopping it and checking that no process of it is left.
Must not: write to /etc or /var, start or stop a system service, listen anywhere but 127.0.0.1, or
decide what an answer should be (``tools/compare_servers.py`` compares the answers with the lab's).

The configs are ``realservers_conf/apache2.conf`` and ``nginx.conf``: Debian's stock files reduced to
one site, with the kit's snippet pasted where a learner would paste it. The tests' fixture
``real_servers`` (tests/conftest.py) and notebook 05 (`apache_or_lab`) start servers through here.

    server = start_apache(server_snippet=serverconf.GUIDE_APACHE_RULE, modules=DEBIAN_DEFAULT_MODULES)
    server.url("/img/picture.png"); server.access_log(); server.stop()
"""

from __future__ import annotations

import atexit
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .assets import ASSET_NAMES, get_asset
from .errors import CorsLabError

CONF_DIR = Path(__file__).with_name("realservers_conf")
INSTALL = "apt-get install -y apache2 nginx"
BINARIES = {"apache": "apache2", "nginx": "nginx"}
BINARY_ENV = {"apache": "CORS_LAB_APACHE2", "nginx": "CORS_LAB_NGINX"}  # another binary, or none
# What Debian's apache2 package enables on install (apache2.postinst, plus the MPM and authn/authz
# cores): no headers, no rewrite, no expires. A snippet that needs more says "a2enmod ...".
DEBIAN_DEFAULT_MODULES = (
    "mpm_event", "authz_core", "authn_core", "authz_host", "auth_basic", "access_compat", "authn_file",
    "authz_user", "alias", "dir", "autoindex", "env", "mime", "negotiation", "setenvif", "filter",
    "deflate", "status", "reqtimeout",
)
APACHE_MODULES_DIR = Path("/etc/apache2/mods-available")
FILE_AGE = 30 * 24 * 3600  # the pictures' age on disk: a month-old file, as on most real sites
START_TIMEOUT = 15.0
LOG_SETTLE = 0.1  # seconds an access log must stay the same before it is read as complete
STOP_TIMEOUT = 10.0
UNPRIVILEGED = "nobody"  # who the servers run as when Python runs as root


class ServerStartError(CorsLabError, RuntimeError):
    """The server refused its config or did not come up; the message holds its own error output."""


def binary(kind: str) -> str | None:
    """The path of Debian's ``apache2`` or ``nginx`` binary (or of ``$CORS_LAB_APACHE2`` /
    ``$CORS_LAB_NGINX`` when set: a path that is not executable means none), or None."""
    name = BINARIES[kind]
    wanted = os.environ.get(BINARY_ENV[kind])
    if wanted is not None:
        return wanted if os.path.isfile(wanted) and os.access(wanted, os.X_OK) else None
    return shutil.which(name) or next((p for p in (f"/usr/sbin/{name}",) if os.access(p, os.X_OK)), None)


def unavailable_reason(kind: str) -> str | None:
    """Why ``kind`` ("apache" or "nginx") cannot run here, with the install command; None if it can."""
    name = BINARIES[kind]
    if binary(kind) is None:
        if os.environ.get(BINARY_ENV[kind]) is not None:
            return f"${BINARY_ENV[kind]}={os.environ[BINARY_ENV[kind]]!r} is not an executable file: point it at {name} or unset it."
        return f"No {name} found (tried {name} on PATH and /usr/sbin/{name}): {INSTALL}"
    if kind == "apache":
        missing = [m for m in DEBIAN_DEFAULT_MODULES if not (APACHE_MODULES_DIR / f"{m}.load").is_file()]
        if missing:
            return f"Debian's apache2 module files are missing ({', '.join(missing)} in {APACHE_MODULES_DIR}): {INSTALL}"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class AccessLogLine:
    """One request as the server's access log saw it (None for an absent header)."""

    method: str
    target: str
    status: int
    origin: str | None
    acao: str | None  # the first Access-Control-Allow-Origin line the server sent
    if_none_match: str | None
    if_modified_since: str | None
    mode: str | None  # Sec-Fetch-Mode


def _parse_log_line(line: str) -> AccessLogLine:
    # Apache writes a header's " and \\ as \\" and \\\\; nginx writes " as \\x22.
    line = line.replace('\\"', '"').replace("\\x22", '"').replace("\\\\", "\\")
    fields = [None if f == "-" else f for f in line.rstrip("\n").split("\t")]
    method, target, status, *rest = fields
    return AccessLogLine(method or "", target or "", int(status or 0), *rest)


_running: weakref.WeakSet[RealServer] = weakref.WeakSet()


class RealServer:
    """A running apache2 or nginx in its own root; ``stop()`` (or leaving ``with``) ends it.

    A server still running when Python exits (a script that died half-way) is stopped then too.
    """

    def __init__(self, kind: str, *, root: Path, port: int, config: str, process: subprocess.Popen) -> None:
        self.kind = kind
        self.root = root
        self.port = port
        self.config = config  # the whole config file as the server read it
        self.process = process
        self.origin = f"http://127.0.0.1:{port}"
        _running.add(self)

    def url(self, path: str) -> str:
        return self.origin + path

    def access_log(self, *, settle: float = LOG_SETTLE) -> list[AccessLogLine]:
        """The requests logged so far. A server writes a request's line only after its answer went
        out, so the file is read until it has not grown for ``settle`` seconds (at most 10 times that)."""
        path = self.root / "logs" / "access.log"
        deadline = time.monotonic() + 10 * settle
        text = path.read_text() if path.exists() else ""
        while time.monotonic() < deadline:
            time.sleep(settle)
            again = path.read_text() if path.exists() else ""
            if again == text:
                break
            text = again
        return [_parse_log_line(line) for line in text.splitlines() if line]

    def error_log(self) -> str:
        parts = [p.read_text(errors="replace") for p in (self.root / "logs" / "error.log", self.root / "logs" / "stderr.log") if p.exists()]
        return "".join(parts)

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, *, keep_root: bool = False) -> None:
        """Stop the whole process group, wait for it, fail if any process of it is left; remove the root."""
        pgid = self.process.pid
        if self.process.poll() is None:
            _signal_group(pgid, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _signal_group(pgid, signal.SIGKILL)
                self.process.wait(STOP_TIMEOUT)
        _running.discard(self)
        left = _wait_group_gone(pgid, STOP_TIMEOUT)
        if left:
            _signal_group(pgid, signal.SIGKILL)
            raise AssertionError(f"{self.kind} left processes behind after stop: {left}")
        if not keep_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> RealServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<RealServer {self.kind} {self.origin}{'' if self.running else ' stopped'}>"


@atexit.register
def _stop_all() -> None:
    for server in list(_running):
        server.stop()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def group_members(pgid: int) -> list[int]:
    """The live processes of process group ``pgid`` (a stopped server must have none)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state ppid pgrp ...
            members.append(int(entry))
    return members


def _wait_group_gone(pgid: int, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        members = group_members(pgid)
        if not members or time.monotonic() > deadline:
            return members
        time.sleep(0.02)


def _fill(template: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        template = template.replace(f"@{name}@", value)
    return template


def _make_root(kind: str, *, age: float, mtime: float | None) -> tuple[Path, Path]:
    root = Path(tempfile.mkdtemp(prefix=f"cors-lab-{kind}-"))
    for sub in ("run", "logs", "tmp", "htdocs/img"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    docroot = root / "htdocs"
    mtime = time.time() - age if mtime is None else mtime
    for name in ASSET_NAMES:
        path = docroot / "img" / name
        path.write_bytes(get_asset(name).body)
        os.utime(path, (mtime, mtime))
    return root, docroot


def _drop_privileges(root: Path) -> dict[str, object]:
    """Popen arguments that run the server unprivileged: as ``nobody`` when we are root."""
    if os.geteuid() != 0:
        return {}
    user = pwd.getpwnam(UNPRIVILEGED)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [dirpath] + [os.path.join(dirpath, n) for n in dirnames + filenames]:
            os.chown(name, user.pw_uid, user.pw_gid)
    root.chmod(0o755)
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _launch(kind: str, root: Path, port: int, config: str, argv: list[str]) -> RealServer:
    (root / ("apache2.conf" if kind == "apache" else "nginx.conf")).write_text(config)
    privileges = _drop_privileges(root)
    with open(root / "logs" / "stderr.log", "wb") as output:  # the child keeps its own copy
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,  # its own process group: stop() ends every child and checks
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"},
            cwd=root,
            **privileges,
        )
    server = RealServer(kind, root=root, port=port, config=config, process=process)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            text = server.error_log()
            server.stop()
            raise ServerStartError(f"{kind} exited with status {process.returncode}:\n{text}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            if time.monotonic() > deadline:
                text = server.error_log()
                server.stop()
                raise ServerStartError(f"{kind} did not listen on 127.0.0.1:{port} within {START_TIMEOUT:g} s:\n{text}") from None
            time.sleep(0.01)


def _apache_module_lines(modules: tuple[str, ...]) -> str:
    lines = []
    for module in modules:
        for ext in ("load", "conf"):
            path = APACHE_MODULES_DIR / f"{module}.{ext}"
            if path.is_file():
                lines.append(f'Include "{path}"')
            elif ext == "load":
                raise ServerStartError(f"No Apache module {module!r} ({path} is missing).")
    return "\n".join(lines)


def _start(kind: str, argv: list[str], *, age: float, mtime: float | None, fill: dict[str, str]) -> RealServer:
    """Make a root, fill the kind's config template, launch; a port taken meanwhile gets another try."""
    template = (CONF_DIR / ("apache2.conf" if kind == "apache" else "nginx.conf")).read_text()
    for attempt in range(3):
        root, docroot = _make_root(kind, age=age, mtime=mtime)
        port = free_port()
        config = _fill(template, {"ROOT": str(root), "PORT": str(port), "DOCROOT": str(docroot), **fill})
        config_path = str(root / ("apache2.conf" if kind == "apache" else "nginx.conf"))
        try:
            return _launch(kind, root, port, config, [a.replace("@ROOT@", str(root)).replace("@CONF@", config_path) for a in argv])
        except ServerStartError as err:
            shutil.rmtree(root, ignore_errors=True)
            if "Address already in use" not in str(err) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def start_apache(
    *,
    server_snippet: str = "",
    directory_snippet: str = "",
    site: str = "",
    modules: tuple[str, ...] = DEBIAN_DEFAULT_MODULES,
    age: float = FILE_AGE,
    mtime: float | None = None,
) -> RealServer:
    """Debian's apache2 with ``server_snippet`` in the server config and ``directory_snippet`` in
    ``<Directory .../img>`` (where a ``.htaccess`` would apply), ``site`` lines before both, and
    ``modules`` enabled (Debian's defaults unless told; pass more for what ``a2enmod`` would add).
    The pictures' files are ``age`` seconds old, or dated ``mtime`` (POSIX seconds) when given."""
    path = binary("apache")
    if path is None:
        raise ServerStartError(unavailable_reason("apache"))
    fill = {"MODULES": _apache_module_lines(tuple(dict.fromkeys(modules))), "SITE": site,
            "SERVER_SNIPPET": server_snippet, "DIRECTORY_SNIPPET": directory_snippet}
    return _start("apache", [path, "-d", "@ROOT@", "-f", "@CONF@", "-DFOREGROUND"], age=age, mtime=mtime, fill=fill)


def start_nginx(*, http_snippet: str = "", server_snippet: str = "", site: str = "", age: float = FILE_AGE,
                mtime: float | None = None) -> RealServer:
    """Debian's nginx with ``http_snippet`` in ``http {}`` and ``server_snippet`` (after ``site``) in ``server {}``."""
    path = binary("nginx")
    if path is None:
        raise ServerStartError(unavailable_reason("nginx"))
    fill = {"SITE": site, "HTTP_SNIPPET": http_snippet, "SERVER_SNIPPET": server_snippet}
    return _start("nginx", [path, "-p", "@ROOT@", "-e", "@ROOT@/logs/error.log", "-c", "@CONF@"], age=age, mtime=mtime, fill=fill)


# --- A lesson's server: real Apache where installed, the lab standing in elsewhere -----------------

_lesson_numbers = itertools.count(1)


@dataclass(frozen=True)
class LessonConfig:
    """An Apache config for a lesson, the modules ``a2enmod`` adds to Debian's, and the lab's knobs
    that do what it does."""

    apache: str
    a2enmod: tuple[str, ...]
    knobs: Mapping[str, object]

    def __str__(self) -> str:
        mods = f"sudo a2enmod {' '.join(self.a2enmod)}" if self.a2enmod else "none: Debian's defaults, no mod_headers"
        return f"{self.apache}\n# modules enabled: {mods}\n# the lab's knobs for the same: {dict(self.knobs)}"


def _guide_with(*lines: str) -> str:
    from .serverconf import GUIDE_APACHE_RULE

    return "\n".join((GUIDE_APACHE_RULE, *lines))


# The cache lesson of notebook 05: the guide's block on Debian's Apache, as is and with one line
# more. tests/test_realservers.py runs each in Chromium and in the kernel on Apache and on the lab.
CACHE_LESSON = {
    "stock Debian": LessonConfig(_guide_with(), (), {}),
    "mod_headers on": LessonConfig(_guide_with(), ("headers",), {"apache": True}),
    "no-cache": LessonConfig(_guide_with('Header set Cache-Control "no-cache"'), ("headers",),
                             {"apache": True, "cache": "no-cache"}),
    "Vary: Origin": LessonConfig(_guide_with('Header merge Vary "Origin"'), ("headers",),
                                 {"apache": True, "vary": "Origin"}),
    "max-age=3600": LessonConfig(_guide_with('Header set Cache-Control "max-age=3600"'), ("headers",),
                                 {"apache": True, "cache": "max-age=3600"}),
}


class LessonServer:
    """The pictures served by Debian's apache2 with one config, or by the lab standing in for it.

    ``kind`` is "apache" or "lab"; ``url(name)`` a picture's URL; ``requests()`` the image requests
    it received as ``(status, Origin, Access-Control-Allow-Origin)`` (None = absent), the same
    shape from either, so a notebook's output does not depend on which one answered.
    """

    def __init__(self, *, kind: str, config: str, knobs: Mapping[str, object], lab: Any,
                 server: RealServer | None = None) -> None:
        self.kind = kind
        self.config = config  # the Apache config served (or that the lab stands in for)
        self.knobs = dict(knobs)  # the lab's knobs that do what the config does
        self.lab = lab
        self.server = server
        self._nonce = f"lesson{next(_lesson_numbers)}-{os.getpid()}"

    @property
    def name(self) -> str:
        return "Debian's apache2" if self.kind == "apache" else "the lab (no apache2 here)"

    def url(self, name: str) -> str:
        if self.server is not None:
            return self.server.url(f"/img/{name}")
        return self.lab.cdn.url(name, nonce=self._nonce, **self.knobs)

    def requests(self) -> list[tuple[int, str | None, str | None]]:
        if self.server is not None:
            return [(e.status, e.origin, e.acao) for e in self.server.access_log() if e.target.startswith("/img/")]
        return [(e.status, e.origin, e.header("Access-Control-Allow-Origin")) for e in self.lab.cdn.log
                if e.path.startswith("/img/") and self._nonce in e.path]

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def __enter__(self) -> LessonServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<LessonServer {self.name}>"


def apache_or_lab(lesson: LessonConfig, *, lab: Any) -> LessonServer:
    """Debian's apache2 serving ``lesson.apache`` (Debian's default modules plus ``lesson.a2enmod``),
    its pictures dated as the lab's are; or, where no apache2 is installed, the lab serving
    ``lesson.knobs``, which do what that config does (`CACHE_LESSON`'s pairs are tested both ways)."""
    from .servers.validators import FILE_DATE

    if unavailable_reason("apache") is None:
        server = start_apache(server_snippet=lesson.apache, modules=DEBIAN_DEFAULT_MODULES + lesson.a2enmod,
                              mtime=FILE_DATE)
        return LessonServer(kind="apache", config=lesson.apache, knobs=lesson.knobs, lab=lab, server=server)
    return LessonServer(kind="lab", config=lesson.apache, knobs=lesson.knobs, lab=lab)
