"""Where this kernel is served from: the Jupyter server that started it, and the names it goes by.

Owns finding that server (JupyterHub's ``JUPYTERHUB_SERVICE_URL``, else the server-info file
``jpserver-<pid>.json`` of an ancestor process in Jupyter's runtime directory), the host name a
browser uses for it on this machine (what ``cors_lab.start()`` follows), and the server's public
address behind JupyterHub when the hub says it (``JUPYTERHUB_PUBLIC_URL``). Stdlib only, no network.
Must not: read or show the server's token (the info file holds one), or guess: no match, no server.

    server = find_server()          # JupyterServer(url="http://localhost:8888/", base_url="/", ...) or None
    browser_host()                  # ("localhost", "Jupyter's own address, http://localhost:8888/")
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

__all__ = ["LOOPBACK_HOSTS", "JupyterServer", "browser_host", "find_server", "public_base"]

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
DEFAULT_HOST = "127.0.0.1"
# Addresses a server may listen on that a client on the same machine reaches as 127.0.0.1.
_WILDCARDS = ("", "0.0.0.0", "::", "[::]")
_ANCESTORS = 6  # how far up the process tree a kernel launched through wrappers may sit


@dataclass(frozen=True)
class JupyterServer:
    """The Jupyter server of this kernel, as the kernel reaches it (never its token).

    ``url`` ends with ``base_url`` (``http://127.0.0.1:8888/user/ada/``); ``hostname`` is the host
    name in the server's own URL (what Jupyter prints and opens the browser at); ``source`` says how
    it was found.
    """

    url: str
    base_url: str
    hostname: str
    source: str


def find_server(environ: Mapping[str, str] | None = None, *, runtime_dir: str | os.PathLike[str] | None = None,
                pid: int | None = None) -> JupyterServer | None:
    """The Jupyter server that runs this kernel, or None when none can be told for sure.

    On JupyterHub (and Binder) the single-user server's own address is ``JUPYTERHUB_SERVICE_URL``.
    Elsewhere Jupyter writes ``jpserver-<pid>.json`` into its runtime directory; the one whose pid is
    this process's parent (or a near ancestor: kernels may be started through a wrapper) is ours.
    """
    env = os.environ if environ is None else environ
    service = env.get("JUPYTERHUB_SERVICE_URL", "")
    if service.startswith(("http://", "https://")):
        url = _reachable(service)
        return JupyterServer(url=url, base_url=urlsplit(url).path or "/", hostname=urlsplit(url).hostname or "",
                             source="JUPYTERHUB_SERVICE_URL")
    folder = Path(runtime_dir) if runtime_dir is not None else _runtime_dir(env)
    if folder is None:
        return None
    ancestors = _ancestors(os.getpid() if pid is None else pid)
    for depth, ancestor in enumerate(ancestors):
        info = _read_info(folder / f"jpserver-{ancestor}.json")
        if info is not None:
            url = _reachable(str(info["url"]))
            base = str(info.get("base_url") or urlsplit(url).path or "/")
            return JupyterServer(url=url, base_url=base, hostname=urlsplit(str(info["url"])).hostname or "",
                                 source=f"{folder / f'jpserver-{ancestor}.json'} (the kernel's "
                                        f"{'parent' if depth == 0 else 'ancestor'} process)")
    return None


def browser_host(server: JupyterServer | None = None, *, environ: Mapping[str, str] | None = None
                 ) -> tuple[str, str]:
    """(host name, why): the loopback name this machine's browser uses for Jupyter, for the lab's URLs.

    Jupyter opens the browser at its own address (``http://localhost:8888/lab`` by default,
    ``http://127.0.0.1:...`` with ``--ip=127.0.0.1``); the lab uses the same name so its pages are
    same-site with the notebook page. Without a loopback server address: 127.0.0.1.
    """
    found = find_server(environ) if server is None else server
    if found is not None and found.hostname in LOOPBACK_HOSTS:
        return found.hostname, f"the name in Jupyter's own address ({_without_path(found.url)})"
    if found is None:
        return DEFAULT_HOST, "the default: no Jupyter server was found for this kernel"
    return DEFAULT_HOST, f"the default: Jupyter's address ({_without_path(found.url)}) is not a loopback name"


def public_base(environ: Mapping[str, str] | None = None) -> str | None:
    """The server's address as browsers reach it, when JupyterHub says (``JUPYTERHUB_PUBLIC_URL``), else None."""
    env = os.environ if environ is None else environ
    url = env.get("JUPYTERHUB_PUBLIC_URL", "")
    if not url.startswith(("http://", "https://")):
        return None
    return url if url.endswith("/") else url + "/"


# -- helpers -----------------------------------------------------------------------------------------

def _reachable(url: str) -> str:
    """``url`` with a wildcard listening address replaced by 127.0.0.1, ending with "/"."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host in _WILDCARDS:
        netloc = "127.0.0.1" + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=netloc)
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _without_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def _runtime_dir(env: Mapping[str, str]) -> Path | None:
    if env.get("JUPYTER_RUNTIME_DIR"):
        return Path(env["JUPYTER_RUNTIME_DIR"])
    try:
        from jupyter_core.paths import jupyter_runtime_dir
    except ImportError:  # no Jupyter here at all
        return None
    return Path(jupyter_runtime_dir())


def _ancestors(pid: int) -> list[int]:
    """The parent, grandparent, ... of ``pid`` (Linux's /proc; elsewhere only this process's parent)."""
    chain: list[int] = []
    current = pid
    for _ in range(_ANCESTORS):
        parent = _parent_of(current)
        if parent is None or parent <= 1 or parent in chain:
            break
        chain.append(parent)
        current = parent
    return chain


def _parent_of(pid: int) -> int | None:
    if pid == os.getpid():
        return os.getppid()
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses; split after the last ")".
    fields = stat.rsplit(")", 1)[-1].split()
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


def _read_info(path: Path) -> dict | None:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not str(info.get("url", "")).startswith(("http://", "https://")):
        return None
    return {"url": info["url"], "base_url": info.get("base_url")}  # never the token
