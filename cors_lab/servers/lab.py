"""A lab: three loopback origins (site, cdn, other), their URL builders, request logs and life cycle.

Owns `Lab`, `LabOrigin`, `start` (one lab per process) and stopping every lab at exit. Each origin
answers through `cors_lab.servers.responses` and records into its own log; `LabOrigin.exchange` does
exactly what its server does for one request, without a socket. Must not: bind anything but the
loopback (127.0.0.1, and [::1] too for a ``localhost`` origin, so no other program can answer for
it there), or redirect anywhere but the lab's own origins (``parse_knobs`` refuses it).
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence

from .. import hosting
from ..errors import UsageError
from .knobs import KNOBS, encode_knobs, parse_knobs, query_string
from .log import LogBook, Request, RequestLog, log_entry
from .plumbing import LabServer
from .probe import PROBE_PATH
from .responses import ASSET_PREFIX, Answer, answer, asset_names, framed

__all__ = ["ALLOWED_HOSTS", "Lab", "LabOrigin", "running_lab", "start"]

ALLOWED_HOSTS = hosting.LOOPBACK_HOSTS


class LabOrigin:
    """One origin of the lab: a server on 127.0.0.1 addressed by ``origin`` (e.g. http://localhost:PORT).

    A ``localhost`` origin listens on [::1] too, on the same port (``addresses`` lists both), because
    a browser may try either for "localhost"; ``ipv6_note`` says so when the machine has no IPv6.
    """

    def __init__(self, lab: Lab, label: str, host: str) -> None:
        self.lab = lab
        self.label = label
        self.host = host
        self._log = LogBook()
        self._server = LabServer(name=label, handle=self.exchange, ipv6=host == "localhost")
        self.address: tuple[str, int] = self._server.server_address[:2]  # what the IPv4 socket is bound to
        self.port: int = self.address[1]
        self.addresses: tuple[tuple[str, int], ...] = (self.address,) + (
            (self._server.ipv6_socket.getsockname()[:2],) if self._server.ipv6_socket is not None else ())
        self.ipv6_note: str | None = self._server.ipv6_note

    @property
    def origin(self) -> str:
        """``http://HOST:PORT``: the same server under the name the lab uses now (see `Lab.use_host`)."""
        return f"http://{self.host}:{self.port}"

    @property
    def aliases(self) -> frozenset[str]:
        """This server's origin under every loopback name: all reach the same socket on 127.0.0.1."""
        return frozenset(f"http://{name}:{self.port}" for name in ALLOWED_HOSTS)

    # URLs ---------------------------------------------------------------------------------------

    def url(self, name: str, **knobs: object) -> str:
        """The URL of asset ``name`` on this origin with the given knobs (``print(cors_lab.servers.KNOBS)``).

        >>> lab.cdn.url("picture.png", acao="*", vary="Origin")   # doctest: +SKIP
        'http://127.0.0.1:41235/img/picture.png?acao=*&vary=Origin'
        """
        names = asset_names()
        if name not in names:
            raise UsageError(f"No asset {name!r}; the lab serves {', '.join(names)}.")
        for k in knobs:
            if k in KNOBS and KNOBS[k].login_only:
                raise UsageError(f"Knob {k} only works on /login: use lab.{self.label}.login_url(...).")
        return self._build(f"{ASSET_PREFIX}{name}", "img", knobs)

    def login_url(self, user: str, *, samesite: str = "Lax", **knobs: object) -> str:
        """``/login?user=...``: answers with ``Set-Cookie: cors_lab_user=<user>; Path=/; SameSite=...``."""
        return self._build("/login", "login", {"user": user, "samesite": samesite if samesite != "Lax" else None, **knobs})

    def probe_url(self) -> str:
        """``/probe``: the live probe's page on this origin (``cors_lab.live.LiveProbe`` embeds it)."""
        return f"{self.origin}{PROBE_PATH}"

    def logout_url(self, **knobs: object) -> str:
        """``/logout``: answers with a ``Set-Cookie`` that deletes ``cors_lab_user``."""
        return self._build("/logout", "logout", knobs)

    def _build(self, path: str, endpoint: str, knobs: Mapping[str, object]) -> str:
        pairs = encode_knobs(knobs)
        parse_knobs(pairs, endpoint=endpoint, allowed_origins=self.lab.origin_names)
        return f"{self.origin}{path}" + (f"?{query_string(pairs)}" if pairs else "")

    # Requests -----------------------------------------------------------------------------------

    def exchange(self, request: Request, wait: Callable[[float], object] | None = None) -> Answer:
        """Answer ``request`` and log it, exactly as this origin's server does, but with no socket.

        The server calls this for every request it reads; tests and transports may call it directly.
        ``wait(seconds)`` sleeps for a ``delay`` knob (default: until this origin stops, at most that long).
        """
        names = self.lab.origin_names
        result = answer(request, lab_origins=names)
        if result.delay:
            (wait or self._server.stop_event.wait)(result.delay)
        result = framed(result, closing=request.closing, now=request.arrived + result.delay)
        entry = log_entry(request, server=self.label, status=result.status, headers=result.headers,
                          error=result.error, lab_origins=names)
        self._log.append(entry)
        return result

    # Log ----------------------------------------------------------------------------------------

    @property
    def log(self) -> RequestLog:
        """A snapshot of the requests this origin received, oldest first (the last `LOG_LIMIT`, within
        `LOG_BYTES` of text; each value clipped at `LOG_FIELD` characters)."""
        return self._log.snapshot()

    def clear_log(self) -> None:
        self._log.clear()

    # Life ---------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while the server accepts and answers (False once stopped, or if it ever failed)."""
        return self._server.alive

    def _stop(self) -> None:
        self._server.stop()

    def __str__(self) -> str:
        return self.origin

    def __repr__(self) -> str:
        state = "" if self.running else " stopped"
        return f"<LabOrigin {self.label} {self.origin}{state}>"


def _other_host(host: str) -> str:
    return "localhost" if host == "127.0.0.1" else "127.0.0.1"


def _check_host(host: object) -> str:
    if host not in ALLOWED_HOSTS:
        raise UsageError(
            f"host must be '127.0.0.1' or 'localhost' (the name your browser used for JupyterLab); got {host!r}. "
            "The lab only ever listens on 127.0.0.1."
        )
    return host  # type: ignore[return-value]


_labs: weakref.WeakSet[Lab] = weakref.WeakSet()


class Lab:
    """Three loopback origins (``site``, ``cdn``, ``other``) and their request logs.

    Use ``cors_lab.servers.start()`` in notebooks (one lab per kernel); ``Lab()`` makes an extra one.
    A context manager: ``with start() as lab: ...`` stops it on exit.
    """

    def __init__(self, *, host: str = "127.0.0.1", host_why: str = "given") -> None:
        self.host = _check_host(host)
        self.host_why = host_why  # why this name: "given", or what start() followed
        self.origins: tuple[LabOrigin, ...] = ()
        self.origin_names: frozenset[str] = frozenset()  # until all three are up, no redirect target
        self._watchers: list[weakref.WeakMethod] = []
        made: list[LabOrigin] = []
        try:
            for label, name in (("site", host), ("cdn", host), ("other", _other_host(host))):
                made.append(LabOrigin(self, label, name))
        except BaseException:
            for o in made:
                o._stop()
            raise
        self.site, self.cdn, self.other = made
        self.origins = tuple(made)
        # Every loopback name of each port: a URL built before `use_host` still redirects within the lab.
        self.origin_names = frozenset(name for o in made for name in o.aliases)
        _labs.add(self)

    # -- names and watchers ----------------------------------------------------------------------

    def use_host(self, host: str, *, why: str = "given") -> Lab:
        """Address the same three servers by the other loopback name (``"localhost"`` or ``"127.0.0.1"``).

        Nothing restarts: ports, logs and servers stay; ``site``/``cdn`` take ``host`` and ``other`` the
        other name, so the lab stays same-site with a page at ``host``. Widgets built on this lab (the
        live probe, the panel) follow. Returns the lab.
        """
        host = _check_host(host)
        if host != self.host:
            self.host, self.host_why = host, why
            for origin, name in zip(self.origins, (host, host, _other_host(host))):
                origin.host = name
            self._tell("host")
        return self

    def watch(self, method: Callable[[str], object]) -> None:
        """Call ``method(event)`` ("host" after `use_host`, "stop" after `stop`); held weakly, so a
        widget that is gone is not kept alive. ``method`` must be a bound method."""
        self._watchers.append(weakref.WeakMethod(method))

    def _tell(self, event: str) -> None:
        alive = []
        for ref in self._watchers:
            method = ref()
            if method is not None:
                alive.append(ref)
                try:
                    method(event)
                except Exception:  # noqa: BLE001 - a watcher reports its own errors; the lab goes on
                    pass
        self._watchers = alive

    def __getitem__(self, label: str) -> LabOrigin:
        for o in self.origins:
            if o.label == label:
                return o
        raise KeyError(f"{label!r}: a lab's origins are 'site', 'cdn' and 'other'")

    @property
    def running(self) -> bool:
        """True while all three origins serve; a lab with one dead origin is not running."""
        return bool(self.origins) and all(o.running for o in self.origins)

    def chain(
        self,
        hops: Sequence[LabOrigin | str],
        name: str,
        *,
        status: int = 302,
        hop_knobs: Mapping[str, object] | Sequence[Mapping[str, object]] | None = None,
        **knobs: object,
    ) -> str:
        """A redirect chain through ``hops`` ending at asset ``name`` on the last hop.

        The last hop gets ``knobs``; each earlier hop redirects to the next with ``status`` and
        ``hop_knobs`` (one mapping for every hop, or a list with one per redirecting hop)::

            lab.chain([lab.cdn, lab.other, lab.site], "picture.png", acao="*", hop_knobs={"acao": "*"})
        """
        origins = [self[h] if isinstance(h, str) else h for h in hops]
        if not origins or any(not isinstance(o, LabOrigin) or o.lab is not self for o in origins):
            raise UsageError("chain() needs a list of this lab's origins, e.g. [lab.cdn, lab.other, lab.site].")
        redirects = len(origins) - 1
        if hop_knobs is None:
            per_hop: list[Mapping[str, object]] = [{}] * redirects
        elif isinstance(hop_knobs, Mapping):
            per_hop = [hop_knobs] * redirects
        else:
            per_hop = list(hop_knobs)
            if len(per_hop) != redirects:
                raise UsageError(f"hop_knobs has {len(per_hop)} entries for {redirects} redirecting hops; give one per hop.")
        url = origins[-1].url(name, **knobs)
        for origin, extra in zip(reversed(origins[:-1]), reversed(per_hop)):
            if "to" in extra:
                raise UsageError("hop_knobs may not set 'to': chain() links the hops itself.")
            url = origin.url(name, **{"status": status, **extra, "to": url})
        return url

    def log(self) -> RequestLog:
        """Every origin's requests merged, oldest first."""
        entries = [e for o in self.origins for e in o.log]
        return RequestLog(sorted(entries, key=lambda e: (e.time, e.seq)))

    def clear_log(self) -> None:
        for o in self.origins:
            o.clear_log()

    def stop(self) -> None:
        """Stop all three servers (idempotent). Open connections are closed, threads joined."""
        global _running
        was_running = self.running
        for o in self.origins:
            o._stop()
        with _start_lock:
            if _running is self:
                _running = None
        if was_running:
            self._tell("stop")

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "" if self.running else (" stopped" if all(not o.running for o in self.origins) else " broken")
        return f"<Lab site={self.site.origin} cdn={self.cdn.origin} other={self.other.origin}{state}>"


_start_lock = threading.Lock()
_running: Lab | None = None


def start(*, host: str | None = None) -> Lab:
    """Start the lab's three servers, or return the lab already running in this process.

    ``host`` is the name pages use for the lab: ``"127.0.0.1"`` or ``"localhost"``, the one in your
    browser's address bar, so the lab is same-site with the notebook page. ``None`` (the default)
    follows Jupyter: the name in the address of the Jupyter server that runs this kernel (the address
    Jupyter opens your browser at), else 127.0.0.1 (``lab.host_why`` says which). Either way the
    servers listen on 127.0.0.1 only, on free ports; ``lab.other`` uses the other name.

    With a lab already running, ``start(host=...)`` with the other name renames it in place
    (`Lab.use_host`): same servers, and the widgets built on it follow.
    """
    global _running
    if host is not None:
        _check_host(host)
    with _start_lock:
        if _running is not None and _running.running:
            if host is not None and _running.host != host:
                _running.use_host(host)
            return _running
        if _running is not None:  # stopped, or one of its servers failed: never hand that one out
            for o in _running.origins:
                o._stop()
        why = "given"
        if host is None:
            host, why = hosting.browser_host()
        _running = Lab(host=host, host_why=why)
        return _running


def running_lab() -> Lab | None:
    """The lab `start` returns now, if one is running (for widgets whose own lab was stopped)."""
    with _start_lock:
        return _running if _running is not None and _running.running else None


@atexit.register
def _stop_all() -> None:
    for lab in list(_labs):
        lab.stop()
