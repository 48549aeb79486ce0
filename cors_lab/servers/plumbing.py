"""The sockets under one lab origin: an HTTP/1.1 server on 127.0.0.1:0, one thread per connection.

Owns binding (127.0.0.1 only, an ephemeral port), the accept loop, keep-alive, reading a request into
a `Request`, writing an `Answer`, and a stop that wakes delayed answers, hangs up every connection and
joins every thread. Must not: decide an answer or keep a log (its ``handle`` callable does both).
"""

from __future__ import annotations

import http
import http.server
import selectors
import socket
import socketserver
import threading
import time
from collections.abc import Callable

from .log import Request
from .responses import NO_BODY_STATUSES, Answer

__all__ = ["BIND_ADDRESS", "LabServer"]

BIND_ADDRESS = "127.0.0.1"  # the only address any lab server listens on
MAX_DRAINED_BODY = 65536


class LabServer(http.server.HTTPServer):
    """An HTTP/1.1 server on 127.0.0.1:0 that hands each request to ``handle`` and sends its answer.

    ``handle(request, wait)`` returns the `Answer` to send; ``wait(seconds)`` sleeps until the server
    stops, so a delayed answer never holds up ``stop()``.
    """

    request_queue_size = 128

    def __init__(self, *, name: str, handle: Callable[[Request, Callable[[float], object]], Answer]) -> None:
        self.name = name
        self.handle = handle
        self.stop_event = threading.Event()
        self.errors = 0  # connections that ended in an exception (a client hanging up, mostly)
        self._conns: dict[socket.socket, threading.Thread] = {}
        self._conns_lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        try:
            super().__init__((BIND_ADDRESS, 0), _Handler)
        except BaseException:
            self._wake_r.close()
            self._wake_w.close()
            raise
        self.socket.setblocking(False)
        self._thread = threading.Thread(target=self._serve, name=f"cors-lab-{name}", daemon=True)
        self._thread.start()

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(), a DNS lookup; we know our name.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def _serve(self) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(self.socket, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while not self.stop_event.is_set():
                for key, _ in sel.select():
                    if key.fileobj is self._wake_r:
                        return
                    try:
                        request, client_address = self.socket.accept()
                    except OSError:  # BlockingIOError after a client gave up, or EMFILE
                        continue
                    request.setblocking(True)
                    self.process_request(request, client_address)

    def process_request(self, request, client_address) -> None:
        thread = threading.Thread(
            target=self._connection, args=(request, client_address), name=f"cors-lab-{self.name}-conn", daemon=True
        )
        with self._conns_lock:
            self._conns[request] = thread
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
        self.server_close()
        with self._conns_lock:
            conns = list(self._conns.items())
        for sock, _ in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for _, thread in conns:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._wake_r.close()
        self._wake_w.close()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cors-lab"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    disable_nagle_algorithm = True
    server: LabServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence per-request output
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._answer()

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer()

    def _answer(self) -> None:
        arrived = time.time()
        self._drain_body()
        request = Request(
            method=self.command,
            target=self.path,
            headers=tuple(self.headers.items()),
            arrived=arrived,
            closing=self.close_connection,
        )
        self._send(self.server.handle(request, self.server.stop_event.wait))

    def _drain_body(self) -> None:
        # A GET with a body would desynchronise keep-alive; read a small one, close on a big one.
        length = self.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > 0:
            if int(length) <= MAX_DRAINED_BODY:
                self.rfile.read(int(length))
            else:
                self.close_connection = True

    def _send(self, answer: Answer) -> None:
        try:
            phrase = http.HTTPStatus(answer.status).phrase
        except ValueError:
            phrase = ""
        head = f"HTTP/1.1 {answer.status} {phrase}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in answer.headers) + "\r\n"
        payload = head.encode("latin-1")
        if self.command != "HEAD" and answer.status not in NO_BODY_STATUSES:
            payload += answer.body
        self.wfile.write(payload)
