"""The sockets under one lab origin: an HTTP/1.1 server on 127.0.0.1:0, one thread per connection.

Owns binding (127.0.0.1, an ephemeral port; for a ``localhost`` origin also [::1] on the same port),
the accept loop, keep-alive, reading a request into a `Request`, writing an `Answer`, and a stop
that wakes delayed answers, hangs up every connection and joins every thread. It survives hostile
clients: the accept loop never dies (a connection it cannot serve gets a 503), a request head must
arrive within `HEADER_TIMEOUT` seconds however slowly it drips, at most `MAX_CONNECTIONS` are open
(past that the connection idle longest is closed, else the newcomer gets a 503), and a body sent
with a GET is read only when its Content-Length says how long it is. Must not: decide an answer or
keep a log (its ``handle`` callable does both).
"""

from __future__ import annotations

import errno
import http
import http.server
import selectors
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import UsageError
from ..spec.headers import check_header
from .log import Request
from .responses import NO_BODY_STATUSES, Answer, body_problem

__all__ = ["BIND_ADDRESS", "BIND_ADDRESS_V6", "HEADER_TIMEOUT", "MAX_CONNECTIONS", "LabServer"]

BIND_ADDRESS = "127.0.0.1"  # every lab server listens here
BIND_ADDRESS_V6 = "::1"  # and a localhost origin here too, on the same port
MAX_DRAINED_BODY = 65536
HEADER_TIMEOUT = 10.0  # seconds for a request head to arrive (and for an idle keep-alive connection)
MAX_CONNECTIONS = 128  # open connections per origin
_SWEEP = 0.25  # seconds between two looks at the connections' deadlines
_REFUSED_LINGER = 1.0  # seconds a refused connection is read (and dropped) before it is closed
_REFUSED_KEPT = 64  # refused connections read at once; past that they are closed at once
_PORT_ATTEMPTS = 8  # ephemeral ports tried before giving up on one free on both families


@dataclass
class _Connection:
    sock: socket.socket
    thread: threading.Thread
    waiting_since: float | None  # monotonic time it began waiting for a request head; None = answering
    closing: bool = False


class LabServer(http.server.HTTPServer):
    """An HTTP/1.1 server on 127.0.0.1:0 that hands each request to ``handle`` and sends its answer.

    ``handle(request, wait)`` returns the `Answer` to send; ``wait(seconds)`` sleeps until the server
    stops, so a delayed answer never holds up ``stop()``. With ``ipv6=True`` (a ``localhost``
    origin) it listens on [::1] too, on the same port; where the machine has no IPv6 loopback it
    listens on IPv4 only and ``ipv6_note`` says so.
    """

    request_queue_size = 128

    def __init__(
        self,
        *,
        name: str,
        handle: Callable[[Request, Callable[[float], object]], Answer],
        ipv6: bool = False,
        max_connections: int = MAX_CONNECTIONS,
        header_timeout: float = HEADER_TIMEOUT,
    ) -> None:
        self.name = name
        self.handle = handle
        self.max_connections = max_connections
        self.header_timeout = header_timeout
        self.stop_event = threading.Event()
        self.errors = 0  # connections that ended in an exception (a client hanging up, mostly)
        self.refused = 0  # connections answered 503: over the cap, or no thread could be started
        self.evicted = 0  # connections closed to make room, or for taking too long with a request head
        self.failure: str | None = None  # why the accept loop stopped, if it ever stops on its own
        self.ipv6_socket: socket.socket | None = None
        self.ipv6_note: str | None = None
        self._conns: dict[socket.socket, _Connection] = {}
        self._conns_lock = threading.Lock()
        self._refused_socks: dict[socket.socket, float] = {}  # answered 503, read until this time, then closed
        self._selector: selectors.BaseSelector | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        try:
            self._bind(ipv6)
        except BaseException:
            self._wake_r.close()
            self._wake_w.close()
            raise
        self._thread = threading.Thread(target=self._serve, name=f"cors-lab-{name}", daemon=True)
        self._thread.start()

    def _bind(self, ipv6: bool) -> None:
        for _ in range(_PORT_ATTEMPTS):
            super().__init__((BIND_ADDRESS, 0), _Handler)
            self.socket.setblocking(False)
            if not ipv6:
                return
            try:
                self.ipv6_socket = _listen_v6(self.server_port, self.request_queue_size)
                return
            except OSError as err:
                if err.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT):
                    self.ipv6_note = (f"this machine has no IPv6 loopback ({err.strerror}), so localhost:{self.server_port}"
                                      " is served on IPv4 (127.0.0.1) only")
                    return
                self.server_close()  # [::1]:PORT belongs to someone else: try another port
        raise UsageError(
            f"Could not find a port free on both 127.0.0.1 and [::1] in {_PORT_ATTEMPTS} tries: another program"
            " holds the IPv6 side, and a browser that tries [::1] first for 'localhost' would reach it instead of"
            " the lab. Stop that program, or use host='127.0.0.1'."
        )

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(), a DNS lookup; we know our name.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def server_close(self) -> None:
        super().server_close()
        if self.ipv6_socket is not None:
            self.ipv6_socket.close()
            self.ipv6_socket = None

    @property
    def alive(self) -> bool:
        """Serving: not stopped, and its accept loop is running."""
        return not self.stop_event.is_set() and self._thread.is_alive() and self.failure is None

    # -- accepting -------------------------------------------------------------------------------

    def _serve(self) -> None:
        try:
            with selectors.DefaultSelector() as sel:
                sel.register(self.socket, selectors.EVENT_READ)
                if self.ipv6_socket is not None:
                    sel.register(self.ipv6_socket, selectors.EVENT_READ)
                sel.register(self._wake_r, selectors.EVENT_READ)
                self._selector = sel
                while not self.stop_event.is_set():
                    events = sel.select(_SWEEP)
                    self._sweep()
                    for key, _ in events:
                        if key.fileobj is self._wake_r:
                            return
                        if key.fileobj in self._refused_socks:
                            self._drain_refused(key.fileobj)  # type: ignore[arg-type]
                        else:
                            self._accept(key.fileobj)  # type: ignore[arg-type]
        except Exception as err:  # noqa: BLE001 - _accept and _sweep catch what they can; this is the rest
            self.failure = f"{type(err).__name__}: {err}"
            if not self.stop_event.is_set():
                self.server_close()  # refuse new connections rather than leave them hanging

    def _accept(self, listener: socket.socket) -> None:
        try:
            request, client_address = listener.accept()
        except OSError as err:  # BlockingIOError after a client gave up; EMFILE: out of descriptors
            if err.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                self.stop_event.wait(0.05)  # the socket stays readable: do not spin
            return
        try:
            request.setblocking(True)
            if not self._make_room():
                self._refuse(request, f"the lab's {self.name} origin already has {self.max_connections} connections open")
                return
            self.process_request(request, client_address)
        except Exception as err:  # noqa: BLE001 - e.g. RuntimeError("can't start new thread"): never die
            with self._conns_lock:
                self._conns.pop(request, None)
            self._refuse(request, f"the server could not start a thread for it ({err})")

    def _make_room(self) -> bool:
        """True when one more connection fits, after closing the one waiting longest if need be."""
        with self._conns_lock:
            open_ = [c for c in self._conns.values() if not c.closing]
            if len(open_) < self.max_connections:
                return True
            waiting = [c for c in open_ if c.waiting_since is not None]
            if not waiting:
                return False
            oldest = min(waiting, key=lambda c: c.waiting_since)  # type: ignore[arg-type, return-value]
            self._hang_up(oldest)
            return True

    def _refuse(self, sock: socket.socket, why: str) -> None:
        """Answer 503 from the accept loop itself (no thread needed), then read and drop what the
        client sends for a moment before closing: closing on unread bytes would reset the
        connection, and the client might never see the answer."""
        self.refused += 1
        body = f"503 Service Unavailable: {why}; try again in a moment.\n".encode()
        head = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}"
                "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n").encode()
        try:
            sock.setblocking(False)
            sock.send(head + body)  # a few hundred bytes: the socket's buffer takes them at once
            sock.shutdown(socket.SHUT_WR)
            if len(self._refused_socks) < _REFUSED_KEPT:
                self._selector.register(sock, selectors.EVENT_READ)
                self._refused_socks[sock] = time.monotonic() + _REFUSED_LINGER
                return
        except (OSError, ValueError, KeyError):
            pass
        sock.close()

    def _drain_refused(self, sock: socket.socket) -> None:
        try:
            if sock.recv(65536):
                return
        except BlockingIOError:
            return
        except OSError:
            pass
        self._close_refused(sock)

    def _close_refused(self, sock: socket.socket) -> None:
        self._refused_socks.pop(sock, None)
        try:
            self._selector.unregister(sock)
        except (KeyError, ValueError):
            pass
        sock.close()

    def _sweep(self) -> None:
        """Hang up on every connection whose request head has not arrived within the header timeout."""
        now = time.monotonic()
        for sock, until in list(self._refused_socks.items()):
            if now > until:
                self._close_refused(sock)
        with self._conns_lock:
            for conn in self._conns.values():
                if not conn.closing and conn.waiting_since is not None and now - conn.waiting_since > self.header_timeout:
                    self._hang_up(conn)

    def _hang_up(self, conn: _Connection) -> None:  # with _conns_lock held
        conn.closing = True
        self.evicted += 1
        try:
            conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def waiting(self, sock: socket.socket, waiting: bool) -> None:
        """The handler says: now waiting for a request head (True), or answering one (False)."""
        with self._conns_lock:
            conn = self._conns.get(sock)
            if conn is not None:
                conn.waiting_since = time.monotonic() if waiting else None

    # -- connections -----------------------------------------------------------------------------

    def process_request(self, request, client_address) -> None:
        thread = threading.Thread(
            target=self._connection, args=(request, client_address), name=f"cors-lab-{self.name}-conn", daemon=True
        )
        with self._conns_lock:
            self._conns[request] = _Connection(request, thread, time.monotonic())
        thread.start()

    def _connection(self, request, client_address) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._conns_lock:
                self._conns.pop(request, None)

    def handle_error(self, request, client_address) -> None:
        # socketserver prints a traceback to stderr here; a client that hangs up is not news.
        self.errors += 1

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, wake delayed answers, hang up every open connection, join every thread."""
        if self.stop_event.is_set():
            return
        self.stop_event.set()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        self._thread.join(timeout)
        for sock in list(self._refused_socks):
            self._refused_socks.pop(sock, None)
            sock.close()
        self.server_close()
        with self._conns_lock:
            conns = list(self._conns.values())
        for conn in conns:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for conn in conns:
            if conn.thread.ident is not None:  # a thread that never started cannot be joined
                conn.thread.join(max(0.0, deadline - time.monotonic()))
        self._wake_r.close()
        self._wake_w.close()


def _listen_v6(port: int, backlog: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((BIND_ADDRESS_V6, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cors-lab"
    sys_version = ""
    timeout = 120  # a backstop for one read or write; LabServer's header deadline comes first
    disable_nagle_algorithm = True
    server: LabServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence per-request output
        pass

    def handle_one_request(self) -> None:
        self.server.waiting(self.connection, True)  # the header deadline runs from here
        super().handle_one_request()

    def do_GET(self) -> None:  # noqa: N802
        self._answer()

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer()

    def _answer(self) -> None:
        arrived = time.time()
        self._drain_body()
        self.server.waiting(self.connection, False)
        request = Request(
            method=self.command,
            target=self.path,
            headers=tuple(self.headers.items()),
            arrived=arrived,
            closing=self.close_connection,
        )
        self._send(self.server.handle(request, self.server.stop_event.wait))

    def _drain_body(self) -> None:
        # A GET with a body would desynchronise keep-alive: read a small one whose length is known;
        # close after answering any other (chunked, a bad or a big Content-Length): never parse it.
        if body_problem(self.headers.items()) is not None:
            self.close_connection = True
            return
        length = self.headers.get("Content-Length")
        if length and int(length) > 0:
            if int(length) <= MAX_DRAINED_BODY:
                self.rfile.read(int(length))
            else:
                self.close_connection = True

    def _send(self, answer: Answer) -> None:
        try:
            for name, value in answer.headers:
                check_header(name, value)  # the knobs were checked already; this is the last gate
        except UsageError as err:
            body = f"500 Internal Server Error: the lab built a header it cannot send ({err})\n".encode("utf-8", "backslashreplace")
            answer = Answer(500, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
                                  ("Connection", "close")], body=body)  # type: ignore[arg-type]
            self.close_connection = True
        try:
            phrase = http.HTTPStatus(answer.status).phrase
        except ValueError:
            phrase = ""
        head = f"HTTP/1.1 {answer.status} {phrase}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in answer.headers) + "\r\n"
        payload = head.encode("latin-1")
        if self.command != "HEAD" and answer.status not in NO_BODY_STATUSES:
            payload += answer.body
        self.wfile.write(payload)
