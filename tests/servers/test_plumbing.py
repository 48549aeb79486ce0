"""cors_lab.servers.plumbing over real loopback sockets: binding, framing, keep-alive, security, robustness."""

from __future__ import annotations

import builtins
import errno
import http.client
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from cors_lab.assets import get_asset
from cors_lab.errors import UsageError
from cors_lab.servers import Lab, plumbing, start
from cors_lab.servers.plumbing import LabServer
from cors_lab.servers.responses import Answer, framed
from cors_lab.spec.headers import HeaderList

KERNEL_UA = "cors-lab-kernel/0.1"


def get(url: str, headers: dict[str, str] | None = None, method: str = "GET", timeout: float = 10):
    """(status, [(name, value), ...] as sent, body) with http.client: duplicates kept, no redirects."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target, headers={"User-Agent": KERNEL_UA, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def raw(port: int, target: bytes, extra: bytes = b"") -> bytes:
    """Send an exact request line (any bytes) and return the whole raw response."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra + b"\r\n")
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def values(headers, name):
    return [v for n, v in headers if n.lower() == name.lower()]


# -- binding ----------------------------------------------------------------------------------------


def _listening_addresses(port: int) -> set[str]:
    """Local addresses listening on port, from the kernel's own table (/proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr, hexport = local.split(":")
            if int(hexport, 16) == port and state == "0A":  # 0A = LISTEN
                found.add(addr)
    return found


IPV4_LOOPBACK, IPV6_LOOPBACK = "0100007F", "00000000000000000000000001000000"  # /proc/net/tcp{,6} hex


def test_listens_on_loopback_only(lab):
    # Every origin on 127.0.0.1; a localhost origin also on [::1], the same port (a browser may try
    # either for "localhost", and no other program may answer there). Never 0.0.0.0 or [::].
    for o in lab.origins:
        assert o.address[0] == "127.0.0.1"
        assert o._server.socket.getsockname()[0] == "127.0.0.1"
        assert o._server.socket.family == socket.AF_INET
        if o.host == "localhost" and o.ipv6_note is None:
            assert _listening_addresses(o.port) == {IPV4_LOOPBACK, IPV6_LOOPBACK}
            assert o.addresses == (("127.0.0.1", o.port), ("::1", o.port))
        else:
            assert _listening_addresses(o.port) == {IPV4_LOOPBACK}
            assert o.addresses == (("127.0.0.1", o.port),)


# -- the sockets send what exchange() answers ------------------------------------------------------


def test_sockets_send_what_exchange_answers(lab, ask):
    # The answer and log tests use `ask` (LabOrigin.exchange, no socket); this pins them to the wire.
    urls = [
        lab.cdn.url("picture.png", acao=["*", "null"], vary="Origin", cache="max-age=60", nosniff=True),
        lab.cdn.url("picture.gif", apache=True, status=404, truncate=20),
        lab.cdn.url("picture.png", to=lab.other.url("picture.png"), status=307, acao="*"),
        lab.other.login_url("bob", samesite="None", acao=lab.site.origin, acac=True),
        lab.site.logout_url(),
        f"{lab.cdn.origin}/img/picture.png?status=9",
        f"{lab.cdn.origin}/nope",
        f"{lab.site.origin}/probe?x=1",
        lab.site.probe_url(),
    ]
    sent = {"Origin": lab.site.origin, "Cookie": "cors_lab_user=alice; other=1"}
    for url in urls:
        wire_status, wire_headers, wire_body = get(url, sent)
        status, headers, body = ask(url, sent)
        undated = [(n, v) for n, v in headers if n != "Date"]
        assert (wire_status, [(n, v) for n, v in wire_headers if n != "Date"], wire_body) == (status, undated, body), url
    wire_log, own_log = lab.log()[0::2], lab.log()[1::2]
    assert [(e.server, e.path, e.status, e.origin, e.cookies, e.other_cookies) for e in wire_log] == [
        (e.server, e.path, e.status, e.origin, e.cookies, e.other_cookies) for e in own_log
    ]


# -- framing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses(lab, status):
    got, headers, body = get(lab.cdn.url("picture.png", status=status))
    assert got == status and body == b""
    assert values(headers, "Content-Length") == []


def test_head_has_headers_but_no_body(lab):
    status, headers, body = get(lab.cdn.url("picture.png", acao="*"), method="HEAD")
    assert status == 200 and body == b""
    assert values(headers, "Content-Length") == [str(len(get_asset("picture.png").body))]
    assert values(headers, "Access-Control-Allow-Origin") == ["*"]


def test_keep_alive_reuses_one_connection(lab):
    conn = http.client.HTTPConnection("127.0.0.1", lab.cdn.port, timeout=10)
    try:
        conn.request("GET", "/img/picture.png")
        first = conn.getresponse()
        first.read()
        sock = conn.sock
        conn.request("GET", "/img/picture.jpg?acao=*")
        second = conn.getresponse()
        assert second.read() == get_asset("picture.jpg").body
        assert conn.sock is sock and first.version == 11 and second.status == 200
    finally:
        conn.close()


# -- security ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "acao=*%0d%0aX-Evil:%201",
        "acao=*%0aX-Evil:%201",
        "acao=*%0dX-Evil:%201",
        "acao=*%00X-Evil",
        "vary=Origin%0d%0aX-Evil:%201",
        "cache=x%0d%0aX-Evil:%201",
        "ctype=image/png%0d%0aX-Evil:%201",
        "acac=true%0d%0aX-Evil:%201",
        "X-Evil%0d%0aX-Evil:%201=1",
    ],
)
def test_crlf_knob_is_400_and_not_echoed_as_a_header(lab, query):
    response = raw(lab.cdn.port, f"/img/picture.png?{query}".encode())
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"X-Evil" not in head and b"Access-Control-Allow-Origin" not in head
    assert b"\r" not in body and body.count(b"\n") == 1


TRAVERSALS = [
    b"/img/../servers.py",
    b"/img/../../pyproject.toml",
    b"/img/%2e%2e/%2e%2e/pyproject.toml",
    b"/img/%2E%2E%2F%2E%2E%2Fpyproject.toml",
    b"/img/..%2fservers.py",
    b"/img/..%2F..%2F..%2Fetc%2Fpasswd",
    b"/img%2fpicture.png",
    b"/img/%2fetc/passwd",
    b"/img//etc/passwd",
    b"//etc/passwd",
    b"/etc/passwd",
    b"/img/..\\..\\pyproject.toml",
    b"/img/%5c..%5cpyproject.toml",
    b"/img/picture.png%00",
    b"/img/picture.png%00.png",
    b"/img/picture.png\x00",
    b"/img/picture.png/..",
    b"/img/./picture.png",
    b"/img/%70icture.png",
    b"/img/PICTURE.PNG",
    b"/img/",
    b"/img",
    b"/",
    b"/assets/picture.png",
    b"/cors_lab/servers.py",
    b"http://127.0.0.1/etc/passwd",
    b"/img/C:\\Windows\\win.ini",
]


@pytest.mark.parametrize("target", TRAVERSALS, ids=[t.decode("latin-1").replace("\x00", "<NUL>") for t in TRAVERSALS])
def test_path_traversal_is_404_and_reads_no_file(lab, target, monkeypatch):
    opened: list[object] = []
    real_open, real_os_open = builtins.open, os.open
    monkeypatch.setattr(builtins, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    monkeypatch.setattr(os, "open", lambda *a, **k: opened.append(a[0]) or real_os_open(*a, **k))
    response = raw(lab.cdn.port, target, extra=b"Origin: http://127.0.0.1:1\r\n")
    monkeypatch.undo()
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert status in (400, 404), head  # 400 only when http.server rejects the request line itself
    assert b"[tool" not in body and b"root:" not in body and b"import" not in body
    assert opened == []


def test_server_prints_nothing_per_request(lab, capfd):
    get(lab.cdn.url("picture.png"))
    get(f"{lab.cdn.origin}/nope")
    get(f"{lab.cdn.origin}/img/picture.png?status=9")
    raw(lab.cdn.port, b"/img/picture.png\x01")
    with socket.create_connection(("127.0.0.1", lab.cdn.port)) as s:  # a client that hangs up mid-request
        s.sendall(b"GET /img/picture.png?delay=0.2 HTTP/1.1\r\nHost: x\r\n\r\n")
    with socket.create_connection(("127.0.0.1", lab.cdn.port)) as s:  # garbage
        s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n")
        s.recv(1000)
    time.sleep(0.5)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


# -- robustness -------------------------------------------------------------------------------------


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.slow
def test_start_stop_cycles_leak_nothing():
    # Warm up everything lazily created once per process (asset cache, imports).
    with start() as lab:
        get(lab.cdn.url("picture.png"))
    threads, fds = threading.active_count(), _open_fds()
    for i in range(100):
        lab = start(host="localhost" if i % 2 else "127.0.0.1")
        assert get(lab.cdn.url("picture.png", acao="*"))[0] == 200
        idle = http.client.HTTPConnection("127.0.0.1", lab.other.port, timeout=10)  # left open on purpose
        idle.request("GET", "/img/picture.png")
        idle.getresponse().read()
        lab.stop()
        idle.close()
    assert threading.active_count() == threads
    assert _open_fds() == fds


@pytest.mark.slow
def test_stop_is_prompt_with_delayed_and_idle_connections():
    lab = Lab()
    threads = threading.active_count()
    idle = socket.create_connection(("127.0.0.1", lab.cdn.port))
    slow = socket.create_connection(("127.0.0.1", lab.cdn.port))
    slow.sendall(b"GET /img/picture.png?delay=30 HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.2)
    assert threading.active_count() >= threads + 2
    t0 = time.monotonic()
    lab.stop()
    assert time.monotonic() - t0 < 2
    assert threading.active_count() == threads - 3  # the three serve loops and both connections are gone
    idle.close()
    slow.close()


@pytest.mark.slow
def test_slow_knob_with_client_timeout_returns_promptly(lab):
    t0 = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(lab.cdn.url("picture.png", delay=20), timeout=0.5)
    assert time.monotonic() - t0 < 2
    # The server is still fine, and its other connections are not held up by the sleeper.
    t0 = time.monotonic()
    assert get(lab.cdn.url("picture.png"))[0] == 200
    assert time.monotonic() - t0 < 1


@pytest.mark.slow
def test_load_50_clients_2000_requests(lab):
    urls = [lab.cdn.url("picture.png", acao="*"), lab.site.url("picture.jpg"), lab.other.url("secret.png", vary="Origin")]
    per_client = 40  # 50 clients x 40 = 2000 requests
    barrier = threading.Barrier(50)

    def client(i: int) -> int:
        ok = 0
        conns = {}
        barrier.wait()
        try:
            for n in range(per_client):
                url = urlsplit(urls[(i + n) % len(urls)])
                conn = conns.get(url.port) or conns.setdefault(
                    url.port, http.client.HTTPConnection("127.0.0.1", url.port, timeout=30)
                )
                conn.request("GET", f"{url.path}?{url.query}", headers={"Origin": "http://127.0.0.1:1"})
                resp = conn.getresponse()
                body = resp.read()
                ok += resp.status == 200 and len(body) > 0
        finally:
            for conn in conns.values():
                conn.close()
        return ok

    t0 = time.monotonic()
    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(client, range(50)))
    elapsed = time.monotonic() - t0
    assert sum(results) == 2000
    assert elapsed < 60, f"2000 requests took {elapsed:.1f} s"
    assert len(lab.log()) == 2000
    assert all(e.status == 200 for e in lab.log())
    assert sum(o._server.errors for o in lab.origins) == 0



# -- hostile clients: a header deadline, a connection cap, an accept loop that never dies ------------


def _plain_server(**kwargs) -> LabServer:
    """A LabServer whose every answer is 200 "ok" (the lab's framing), for the socket-level tests."""

    def handle(request, wait):
        return framed(Answer(200, HeaderList([("Content-Type", "text/plain")]), body=b"ok"), closing=request.closing)

    return LabServer(name="t", handle=handle, **kwargs)


def _ok(port: int, host: str = "127.0.0.1") -> int:
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", "/")
        return conn.getresponse().status
    finally:
        conn.close()


def _wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.slow
def test_a_request_head_dripping_past_the_header_timeout_is_hung_up_on():
    server = _plain_server(header_timeout=0.5)
    try:
        slow = socket.create_connection(("127.0.0.1", server.server_port), timeout=10)
        started = time.monotonic()
        closed = None
        for byte in b"GET / HTTP/1.1\r\nX-Slow: " + b"a" * 100:
            try:
                slow.sendall(bytes([byte]))
                time.sleep(0.05)  # every byte well within any per-read timeout
                if slow.recv(1, socket.MSG_DONTWAIT) == b"":
                    closed = time.monotonic() - started
                    break
            except BlockingIOError:
                continue
            except OSError:
                closed = time.monotonic() - started
                break
        slow.close()
        assert closed is not None and closed < 5
        assert server.evicted == 1 and _ok(server.server_port) == 200
    finally:
        server.stop()


@pytest.mark.slow
def test_past_the_connection_cap_the_longest_waiting_connection_makes_room():
    server = _plain_server(max_connections=4)
    idle = [socket.create_connection(("127.0.0.1", server.server_port), timeout=10) for _ in range(4)]
    try:
        assert _wait_until(lambda: len(server._conns) == 4)
        assert _ok(server.server_port) == 200  # a fifth connection: the oldest idle one was closed
        assert idle[0].recv(1) == b""
        assert server.evicted == 1 and server.refused == 0
    finally:
        for s in idle:
            s.close()
        server.stop()


@pytest.mark.slow
def test_past_the_connection_cap_with_every_connection_busy_a_newcomer_gets_503():
    release = threading.Event()

    def handle(request, wait):
        release.wait(10)
        return framed(Answer(200, HeaderList(), body=b"ok"))

    server = LabServer(name="t", handle=handle, max_connections=2)
    busy = []
    try:
        for _ in range(2):
            s = socket.create_connection(("127.0.0.1", server.server_port), timeout=10)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            busy.append(s)
        assert _wait_until(lambda: all(c.waiting_since is None for c in server._conns.values()) and len(server._conns) == 2)
        answer = raw(server.server_port, b"/")
        assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n") and b"Retry-After: 1" in answer
        assert b"already has 2 connections open" in answer and server.refused == 1
    finally:
        release.set()
        for s in busy:
            s.close()
        server.stop()


def test_the_accept_loop_survives_a_thread_that_cannot_start(monkeypatch):
    server = _plain_server()
    real_start = threading.Thread.start
    failures = []

    def start_once_fails(self, *args, **kwargs):
        if self.name == "cors-lab-t-conn" and not failures:
            failures.append(1)
            raise RuntimeError("can't start new thread")
        return real_start(self, *args, **kwargs)

    monkeypatch.setattr(threading.Thread, "start", start_once_fails)
    try:
        first = raw(server.server_port, b"/")
        assert first.startswith(b"HTTP/1.1 503 ") and b"could not start a thread" in first
        assert [_ok(server.server_port) for _ in range(3)] == [200, 200, 200]
        assert server.alive and server.refused == 1
    finally:
        monkeypatch.undo()
        server.stop()  # the connection that never got a thread is not joined


def test_a_dead_accept_loop_refuses_connections_and_says_it_is_not_alive(monkeypatch):
    server = _plain_server()
    port = server.server_port

    def broken():
        raise OSError("the selector broke")

    monkeypatch.setattr(server, "_sweep", broken)
    assert _wait_until(lambda: not server.alive)
    assert "the selector broke" in server.failure
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).recv(1)
    server.stop()


@pytest.mark.parametrize("head", [
    b"Transfer-Encoding: chunked",
    b"Transfer-Encoding: gzip, chunked",
    b"Content-Length: 5\r\nContent-Length: 6",
    b"Content-Length: -1",
    b"Content-Length: 0x10",
], ids=["chunked", "gzip-chunked", "two-lengths", "negative", "hex"])
def test_a_body_that_cannot_be_skipped_is_400_and_the_connection_closes(lab, head):
    smuggled = b"GET /img/picture.png?acao=SMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", lab.cdn.port), timeout=10) as s:
        s.sendall(b"GET /img/picture.png HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n\r\n" + smuggled)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400 ") and b"Connection: close\r\n" in answer
    assert answer.count(b"HTTP/1.1 ") == 1 and b"SMUGGLED" not in answer
    assert lab.cdn.log[-1].status == 400


def test_a_small_counted_body_is_skipped_and_keep_alive_goes_on(lab):
    with socket.create_connection(("127.0.0.1", lab.cdn.port), timeout=10) as s:
        s.sendall(b"GET /img/picture.png HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                  b"GET /img/picture.png HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.count(b"HTTP/1.1 200 OK") == 2


@pytest.mark.parametrize("value", ["a\x0bb", "a\x1fb", "a\x7fb", "a\x01"])
def test_a_header_with_a_control_character_is_never_sent(value):
    # The knobs refuse these first; this is the last gate, for any answer the server is handed.
    server = LabServer(name="t", handle=lambda request, wait: framed(Answer(200, HeaderList([("X-Bad", value)]), body=b"x")))
    try:
        answer = raw(server.server_port, b"/")
        head = answer.partition(b"\r\n\r\n")[0]
        assert head.startswith(b"HTTP/1.1 500 ") and b"X-Bad" not in head
        assert not any(b < 0x20 and b not in (0x0D, 0x0A) for b in head)
    finally:
        server.stop()


@pytest.mark.parametrize("query", ["acao=a%0BX-Injected:%20yes", "vary=a%01", "cache=%7F", "ctype=a%1Fb", "acac=%09%0B"])
def test_control_character_knob_is_400_and_nothing_of_it_is_sent(lab, query):
    answer = raw(lab.cdn.port, f"/img/picture.png?{query}".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"control character" in body
    assert not any(b < 0x20 and b not in (0x0D, 0x0A) for b in head)


# -- localhost on both loopback families ------------------------------------------------------


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
def test_a_localhost_origin_answers_on_both_loopback_families():
    with Lab(host="localhost") as lab:
        for o in (lab.site, lab.cdn):
            assert o.ipv6_note is None and ("::1", o.port) in o.addresses
            for host in ("::1", "127.0.0.1"):
                conn = http.client.HTTPConnection(host, o.port, timeout=10)
                conn.request("GET", "/img/picture.png")
                assert conn.getresponse().status == 200
                conn.close()
        assert lab.other.host == "127.0.0.1" and lab.other.addresses == (("127.0.0.1", lab.other.port),)
        assert [e.server for e in lab.log()] == ["site", "site", "cdn", "cdn"]


def test_a_taken_ipv6_port_means_another_port(monkeypatch):
    taken = []

    def listen_v6(port, backlog):
        if not taken:
            taken.append(port)
            raise OSError(errno.EADDRINUSE, "Address already in use")
        return real(port, backlog)

    real = plumbing._listen_v6
    monkeypatch.setattr(plumbing, "_listen_v6", listen_v6)
    if not _has_ipv6_loopback():
        pytest.skip("this machine has no IPv6 loopback (::1)")
    server = _plain_server(ipv6=True)
    try:
        assert server.server_port != taken[0] and server.ipv6_socket is not None
    finally:
        server.stop()


def test_refuses_to_start_when_the_ipv6_side_is_always_taken(monkeypatch):
    def taken(port, backlog):
        raise OSError(errno.EADDRINUSE, "Address already in use")

    monkeypatch.setattr(plumbing, "_listen_v6", taken)
    threads = threading.active_count()
    with pytest.raises(UsageError, match=r"free on both 127\.0\.0\.1 and \[::1\].*host='127\.0\.0\.1'"):
        Lab(host="localhost")
    assert threading.active_count() == threads


def test_without_ipv6_localhost_is_served_on_ipv4_and_says_so(monkeypatch):
    def unavailable(port, backlog):
        raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")

    monkeypatch.setattr(plumbing, "_listen_v6", unavailable)
    with Lab(host="localhost") as lab:
        assert "no IPv6 loopback" in lab.site.ipv6_note and "IPv4 (127.0.0.1) only" in lab.site.ipv6_note
        assert lab.site.addresses == (("127.0.0.1", lab.site.port),)
        assert get(lab.site.url("picture.png"))[0] == 200
