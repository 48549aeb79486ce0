"""cors_lab.servers.plumbing over real loopback sockets: binding, framing, keep-alive, security, robustness."""

from __future__ import annotations

import builtins
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
from cors_lab.servers import Lab, start

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


def test_listens_on_127_0_0_1_only(lab):
    for o in lab.origins:
        assert o.address[0] == "127.0.0.1"
        assert o._server.socket.getsockname()[0] == "127.0.0.1"
        assert o._server.socket.family == socket.AF_INET
        # 0100007F is 127.0.0.1 in /proc/net/tcp's little-endian hex; never 00000000 (0.0.0.0) or ::.
        assert _listening_addresses(o.port) == {"0100007F"}


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

