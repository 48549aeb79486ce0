"""cors_lab.servers over real loopback sockets: knobs, log, security, robustness."""

from __future__ import annotations

import builtins
import http.client
import os
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from cors_lab import servers
from cors_lab.assets import ASSET_NAMES, get_asset
from cors_lab.errors import UsageError
from cors_lab.servers import Lab, LogEntry, RequestLog, encode_knobs, parse_knobs, start

KERNEL_UA = "cors-lab-kernel/0.1"
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"
FOREIGN_COOKIES = "_xsrf=SECRETXSRF; username-127-0-0-1-8888=SECRETAUTH"


@pytest.fixture(scope="module")
def lab():
    with Lab() as lab:
        yield lab


@pytest.fixture(autouse=True)
def _clean_log(request):
    if "lab" in request.fixturenames:
        request.getfixturevalue("lab").clear_log()


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


# -- start, origins, binding -------------------------------------------------------------------


def test_start_is_idempotent_and_stoppable():
    lab = start()
    try:
        assert start() is lab
        assert lab.running
        with pytest.raises(UsageError, match="already running"):
            start(host="localhost")
    finally:
        lab.stop()
    assert not lab.running
    lab.stop()  # idempotent
    with start() as again:
        assert again is not lab and again.running
    assert not again.running


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "::1", "example.com", "", None, "LOCALHOST"])
def test_start_refuses_other_hosts(host):
    with pytest.raises(UsageError, match=r"'127\.0\.0\.1' or 'localhost'"):
        start(host=host)


@pytest.mark.parametrize("host, other", [("127.0.0.1", "localhost"), ("localhost", "127.0.0.1")])
def test_three_origins_site_cdn_other(host, other):
    with Lab(host=host) as lab:
        assert [o.label for o in lab.origins] == ["site", "cdn", "other"]
        assert lab.site.origin == f"http://{host}:{lab.site.port}"
        assert lab.cdn.origin == f"http://{host}:{lab.cdn.port}"
        assert lab.other.origin == f"http://{other}:{lab.other.port}"
        assert len({o.port for o in lab.origins}) == 3
        assert lab["cdn"] is lab.cdn and str(lab.cdn) == lab.cdn.origin
        for o in lab.origins:
            assert requests.get(o.url("picture.png"), timeout=10).status_code == 200


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


# -- URL builder ---------------------------------------------------------------------------------


def test_url_builds_knobs_in_table_order(lab):
    url = lab.cdn.url("picture.png", cache="max-age=3600", vary="Origin", acac=True, acao="*")
    assert url == f"{lab.cdn.origin}/img/picture.png?acao=*&acac=true&vary=Origin&cache=max-age%3D3600"
    assert lab.cdn.url("picture.png") == f"{lab.cdn.origin}/img/picture.png"
    assert lab.site.url("picture.gif", acao=["*", "http://a.test"]).endswith("?acao=*&acao=http://a.test")
    assert lab.site.url("picture.png", acac="True").endswith("?acac=True")
    assert lab.site.url("picture.png", apache=True, nosniff=True).endswith("?apache=1&nosniff=1")
    assert lab.site.url("picture.png", apache=False, acao=None).endswith("/img/picture.png")
    assert lab.site.url("picture.png", acao="a&b=c+d#e").endswith("?acao=a%26b%3Dc%2Bd%23e")
    assert lab.site.url("picture.png", delay=0.5, truncate=10, status=404).endswith("?status=404&delay=0.5&truncate=10")


def test_url_nonce_true_is_fresh(lab):
    a, b = lab.site.url("picture.png", nonce=True), lab.site.url("picture.png", nonce=True)
    assert a != b and "nonce=" in a
    assert lab.site.url("picture.png", nonce=7).endswith("?nonce=7")


@pytest.mark.parametrize(
    "knobs, message",
    [
        ({"acoa": "*"}, "Unknown knob 'acoa'"),
        ({"acao": "*\r\nX-Evil: 1"}, "line break"),
        ({"acao": ["*", "a\nb"]}, "line break"),
        ({"acao": "\x00"}, "NUL"),
        ({"acao": 5}, "string or a list"),
        ({"acac": 1}, "True"),
        ({"vary": "Origin\r\n"}, "line break"),
        ({"status": 99}, "200-599"),
        ({"status": 100}, "interim"),
        ({"status": 600}, "200-599"),
        ({"status": "404"}, "int"),
        ({"status": True}, "int"),
        ({"status": 302}, "needs to="),
        ({"status": 200, "to": "SITE"}, "status must be one of"),
        ({"delay": 31}, "0 to 30"),
        ({"delay": -1}, "0 to 30"),
        ({"delay": float("nan")}, "0 to 30"),
        ({"delay": "1"}, "number"),
        ({"truncate": -1}, "byte count"),
        ({"apache": "yes"}, "flag"),
        ({"user": "alice"}, "only works on /login"),
    ],
)
def test_url_refuses_bad_knobs_before_any_request(lab, knobs, message):
    knobs = {k: (lab.site.origin + "/" if v == "SITE" else v) for k, v in knobs.items()}
    with pytest.raises(UsageError, match=re.escape(message)):
        lab.cdn.url("picture.png", **knobs)
    assert lab.log() == []


def test_url_refuses_unknown_asset(lab):
    with pytest.raises(UsageError, match="No asset 'nope.png'"):
        lab.cdn.url("nope.png")


@pytest.mark.parametrize(
    "to",
    [
        "http://evil.test/picture.png",
        "https://127.0.0.1/",
        "//evil.test/",
        "/img/picture.png",
        "javascript:alert(1)",
    ],
)
def test_url_refuses_redirect_off_the_lab(lab, to):
    with pytest.raises(UsageError, match="to"):
        lab.cdn.url("picture.png", to=to)


def test_url_refuses_lookalike_redirects(lab):
    for to in (f"{lab.site.origin}@evil.test/", f"{lab.site.origin}.evil.test/", f"{lab.site.origin}0/",
               f"{lab.site.origin}\\@evil.test/", f"{lab.site.origin}/ x"):
        with pytest.raises(UsageError):
            lab.cdn.url("picture.png", to=to)


def test_parse_and_encode_agree():
    pairs = encode_knobs({"acao": ["*", "null"], "acac": "True", "status": 404, "delay": 1.5, "ctype": ""})
    k = parse_knobs(pairs)
    assert (k.acao, k.acac, k.status, k.delay, k.ctype) == (("*", "null"), "True", 404, 1.5, "")
    assert parse_knobs("apache&nosniff=1").apache and parse_knobs("apache&nosniff=1").nosniff
    assert parse_knobs("apache=0").apache is False
    assert parse_knobs("").final_status == 200
    assert parse_knobs("to=http://a:1/").final_status == 302


# -- knobs over the wire -------------------------------------------------------------------------


def test_plain_image_is_the_asset(lab):
    for name in ASSET_NAMES:
        status, headers, body = get(lab.cdn.url(name))
        asset = get_asset(name)
        assert status == 200
        assert body == asset.body
        assert values(headers, "Content-Type") == [asset.content_type]
        assert values(headers, "Content-Length") == [str(len(asset.body))]
        assert values(headers, "Access-Control-Allow-Origin") == []
        assert values(headers, "Vary") == [] and values(headers, "Cache-Control") == []


def test_acao_raw_values_and_several_lines(lab):
    _, headers, _ = get(lab.cdn.url("picture.png", acao="*"))
    assert values(headers, "Access-Control-Allow-Origin") == ["*"]
    _, headers, _ = get(lab.cdn.url("picture.png", acao=["*", f"{lab.site.origin}/"]))
    assert values(headers, "Access-Control-Allow-Origin") == ["*", f"{lab.site.origin}/"]
    _, headers, _ = get(lab.cdn.url("picture.png", acao="null"))
    assert values(headers, "Access-Control-Allow-Origin") == ["null"]
    status, headers, _ = get(f"{lab.cdn.origin}/img/picture.png?acao=")
    assert status == 200 and values(headers, "Access-Control-Allow-Origin") == [""]


def test_acac_is_sent_raw(lab):
    _, headers, _ = get(lab.cdn.url("picture.png", acac=True))
    assert values(headers, "Access-Control-Allow-Credentials") == ["true"]
    _, headers, _ = get(lab.cdn.url("picture.png", acac="True"))
    assert values(headers, "Access-Control-Allow-Credentials") == ["True"]


def test_vary_and_cache(lab):
    _, headers, _ = get(lab.cdn.url("picture.png", vary=["Origin", "Cookie"], cache="max-age=3600"))
    assert values(headers, "Vary") == ["Origin", "Cookie"]
    assert values(headers, "Cache-Control") == ["max-age=3600"]


@pytest.mark.parametrize(
    "origin, expected",
    [
        ("http://127.0.0.1:9", ["*"]),  # SetEnvIf Origin ":" IS_CORS
        ("https://a.test", ["*"]),
        ("null", []),  # opaque origins have no ":": the guide's rule sends nothing
        (None, []),  # no Origin header (an <img> without crossorigin)
        ("a.test", []),
    ],
    ids=["tuple-origin", "https-origin", "null-origin", "absent-origin", "no-colon"],
)
def test_apache_rule(lab, origin, expected):
    headers = {} if origin is None else {"Origin": origin}
    for name in ASSET_NAMES:
        _, got, _ = get(lab.cdn.url(name, apache=True), headers)
        assert values(got, "Access-Control-Allow-Origin") == expected, name


def test_apache_rule_only_for_image_paths_and_2xx(lab):
    origin = {"Origin": lab.site.origin}
    _, headers, _ = get(lab.cdn.login_url("alice", apache=True), origin)  # /login: not an image path
    assert values(headers, "Access-Control-Allow-Origin") == []
    _, headers, _ = get(lab.cdn.url("picture.png", apache=True, status=404), origin)  # Header set: 2xx only
    assert values(headers, "Access-Control-Allow-Origin") == []
    _, headers, _ = get(lab.cdn.url("picture.png", apache=True, to=lab.site.url("picture.png")), origin)
    assert values(headers, "Access-Control-Allow-Origin") == []
    _, headers, _ = get(lab.cdn.url("picture.png", apache=True, acao=["http://x", "http://y"]), origin)
    assert values(headers, "Access-Control-Allow-Origin") == ["*"]  # "Header set" replaces
    _, headers, _ = get(lab.cdn.url("picture.png", apache=True, acao="http://x"))
    assert values(headers, "Access-Control-Allow-Origin") == ["http://x"]  # rule did not fire


@pytest.mark.parametrize("status", [200, 201, 203, 400, 403, 404, 418, 500, 503, 599])
def test_status_keeps_the_image_body(lab, status):
    got, headers, body = get(lab.cdn.url("picture.png", status=status, acao="*"))
    assert got == status
    assert body == get_asset("picture.png").body
    assert values(headers, "Access-Control-Allow-Origin") == ["*"]


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses(lab, status):
    got, headers, body = get(lab.cdn.url("picture.png", status=status))
    assert got == status and body == b""
    assert values(headers, "Content-Length") == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_status_and_location(lab, status):
    target = lab.other.url("picture.png", acao="*")
    got, headers, body = get(lab.cdn.url("picture.png", to=target, status=status, acao="*"))
    assert got == status and body == b""
    assert values(headers, "Location") == [target]
    assert values(headers, "Access-Control-Allow-Origin") == ["*"]
    assert values(headers, "Content-Length") == ["0"]


def test_redirect_defaults_to_302(lab):
    got, headers, _ = get(lab.cdn.url("picture.png", to=lab.site.url("picture.png")))
    assert got == 302 and values(headers, "Location") == [lab.site.url("picture.png")]


@pytest.mark.parametrize(
    "query",
    [
        "to=http://evil.test/x.png",
        "to=http://127.0.0.1:1/img/picture.png",
        "to=https://evil.test/",
        "to=//evil.test/",
        "to=/img/picture.png",
        "to=http://evil.test%0d%0aX-Evil:%201",
    ],
)
def test_server_refuses_open_redirects(lab, query):
    status, headers, body = get(f"{lab.cdn.origin}/img/picture.png?{query}")
    assert status == 400
    assert values(headers, "Location") == []
    assert b"to" in body


def test_server_refuses_lookalike_redirect(lab):
    for to in (f"{lab.site.origin}@evil.test/", f"{lab.site.origin}.evil.test/", f"{lab.site.origin}0/"):
        status, headers, _ = get(f"{lab.cdn.origin}/img/picture.png?to={to}")
        assert status == 400 and values(headers, "Location") == []


def test_chain_across_origins(lab):
    url = lab.chain([lab.cdn, lab.other, lab.site], "picture.png", acao="*", hop_knobs={"acao": "*"})
    r = requests.get(url, timeout=10, headers={"User-Agent": KERNEL_UA})
    assert r.status_code == 200 and r.content == get_asset("picture.png").body
    assert [urlsplit(h.url).port for h in r.history] == [lab.cdn.port, lab.other.port]
    assert r.url == lab.site.url("picture.png", acao="*")
    hops = [(e.server, e.status, e.header("Access-Control-Allow-Origin")) for e in lab.log()]
    assert hops == [("cdn", 302, "*"), ("other", 302, "*"), ("site", 200, "*")]


def test_chain_per_hop_knobs_and_status(lab):
    url = lab.chain(
        ["site", "other", "cdn"], "picture.gif", status=307, hop_knobs=[{"acao": "*"}, {"status": 301}], acao="null"
    )
    r = requests.get(url, timeout=10)
    assert [h.status_code for h in r.history] == [307, 301]
    assert r.history[0].headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in r.history[1].headers
    assert r.headers["Access-Control-Allow-Origin"] == "null"
    assert lab.chain([lab.cdn], "picture.png", acao="*") == lab.cdn.url("picture.png", acao="*")


def test_chain_refuses_bad_shapes(lab):
    with Lab() as foreign:
        with pytest.raises(UsageError):
            lab.chain([lab.cdn, foreign.cdn], "picture.png")
    with pytest.raises(UsageError, match="one per hop"):
        lab.chain([lab.cdn, lab.site], "picture.png", hop_knobs=[{}, {}])
    with pytest.raises(UsageError, match="may not set 'to'"):
        lab.chain([lab.cdn, lab.site], "picture.png", hop_knobs={"to": lab.site.url("picture.png")})
    with pytest.raises(UsageError):
        lab.chain([], "picture.png")


def test_delay(lab):
    t0 = time.monotonic()
    status, _, _ = get(lab.cdn.url("picture.png", delay=0.4))
    assert status == 200 and 0.35 <= time.monotonic() - t0 < 5


@pytest.mark.parametrize("delay", ["31", "-1", "nan", "inf", "1e3", "abc", ""])
def test_server_refuses_bad_delay(lab, delay):
    t0 = time.monotonic()
    status, _, body = get(f"{lab.cdn.origin}/img/picture.png?delay={delay}")
    assert status == 400 and b"delay" in body and time.monotonic() - t0 < 5


def test_ctype_wrong_or_absent(lab):
    _, headers, _ = get(lab.cdn.url("picture.png", ctype="text/html"))
    assert values(headers, "Content-Type") == ["text/html"]
    _, headers, body = get(lab.cdn.url("picture.png", ctype=""))
    assert values(headers, "Content-Type") == [] and body == get_asset("picture.png").body


def test_truncate(lab):
    full = get_asset("picture.png").body
    _, headers, body = get(lab.cdn.url("picture.png", truncate=10))
    assert body == full[:10] and values(headers, "Content-Length") == ["10"]
    _, _, body = get(lab.cdn.url("picture.png", truncate=len(full) + 100))
    assert body == full
    _, _, body = get(lab.cdn.url("picture.png", truncate=0))
    assert body == b""


def test_nosniff_and_nonce(lab):
    _, headers, _ = get(lab.cdn.url("picture.png", nosniff=True, nonce="x1"))
    assert values(headers, "X-Content-Type-Options") == ["nosniff"]


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


# -- login, cookies, secret.png -----------------------------------------------------------------


def test_login_sets_the_lab_cookie(lab):
    status, headers, body = get(lab.cdn.login_url("alice"))
    assert status == 200 and b"alice" in body
    assert values(headers, "Set-Cookie") == ["cors_lab_user=alice; Path=/; SameSite=Lax"]
    assert lab.cdn.login_url("alice") == f"{lab.cdn.origin}/login?user=alice"


@pytest.mark.parametrize("samesite, cookie", [("Strict", "SameSite=Strict"), ("none", "SameSite=None; Secure")])
def test_login_samesite(lab, samesite, cookie):
    _, headers, _ = get(lab.other.login_url("bob", samesite=samesite))
    assert values(headers, "Set-Cookie") == [f"cors_lab_user=bob; Path=/; {cookie}"]


def test_logout_clears_the_cookie(lab):
    _, headers, _ = get(lab.cdn.logout_url())
    assert values(headers, "Set-Cookie") == ["cors_lab_user=; Path=/; Max-Age=0; SameSite=Lax"]


@pytest.mark.parametrize("query", ["", "user=", "user=a%20b", "user=" + "x" * 33, "user=%3Cb%3E", "user=a&samesite=Lax2"])
def test_login_refuses_bad_users(lab, query):
    status, headers, _ = get(f"{lab.cdn.origin}/login?{query}")
    assert status == 400 and values(headers, "Set-Cookie") == []


def test_login_is_cross_origin_readable_with_knobs(lab):
    _, headers, _ = get(lab.cdn.login_url("alice", acao=lab.site.origin, acac=True))
    assert values(headers, "Access-Control-Allow-Origin") == [lab.site.origin]
    assert values(headers, "Access-Control-Allow-Credentials") == ["true"]


def test_secret_depends_on_the_user_cookie(lab):
    with requests.Session() as s:
        anonymous = s.get(lab.cdn.url("secret.png"), timeout=10).content
        s.get(lab.cdn.login_url("alice"), timeout=10)
        assert s.cookies.get("cors_lab_user") == "alice"
        alice = s.get(lab.cdn.url("secret.png"), timeout=10).content
        s.get(lab.cdn.logout_url(), timeout=10)
        after = s.get(lab.cdn.url("secret.png"), timeout=10).content
    assert anonymous == get_asset("secret.png").body == after
    assert alice == get_asset("secret.png", user="alice").body
    assert alice != anonymous
    _, _, bob = get(lab.cdn.url("secret.png"), {"Cookie": f"{FOREIGN_COOKIES}; cors_lab_user=bob"})
    assert bob == get_asset("secret.png", user="bob").body


# -- bad knobs over the wire --------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, reason",
    [
        ("acoa=*", "Unknown knob"),
        ("status=99", "200-599"),
        ("status=600", "200-599"),
        ("status=150", "interim"),
        ("status=abc", "a number"),
        ("status=302", "to="),
        ("status=200&status=404", "once"),
        ("delay=60", "0 to 30"),
        ("truncate=-5", "byte count"),
        ("apache=yes", "flag"),
        ("user=alice", "/login"),
        ("acao=%ff", "UTF-8"),
    ],
)
def test_bad_knob_is_400_with_a_reason(lab, query, reason):
    status, headers, body = get(f"{lab.cdn.origin}/img/picture.png?{query}")
    assert status == 400
    assert values(headers, "Content-Type") == ["text/plain; charset=utf-8"]
    assert body.startswith(b"400 Bad Request: ") and reason.encode() in body
    assert body.count(b"\n") == 1  # one line
    entry = lab.cdn.log[-1]
    assert entry.status == 400 and reason in entry.error


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


# -- path traversal -------------------------------------------------------------------------------

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


def test_query_knobs_do_not_unlock_unknown_paths(lab):
    status, headers, _ = get(f"{lab.cdn.origin}/img/../x.png?acao=*")
    assert status == 404 and values(headers, "Access-Control-Allow-Origin") == []


# -- the log -------------------------------------------------------------------------------------


def test_log_entry_fields(lab):
    url = lab.cdn.url("picture.png", acao="*")
    get(
        url,
        {
            "User-Agent": BROWSER_UA,
            "Origin": lab.site.origin,
            "Referer": lab.site.origin + "/page.html",
            "Sec-Fetch-Mode": "cors",
            "Sec-Fetch-Dest": "image",
            "Sec-Fetch-Site": "same-site",
            "Accept": "image/avif,image/webp,*/*",
            "Cookie": f"{FOREIGN_COOKIES}; cors_lab_user=alice",
        },
    )
    (entry,) = lab.cdn.log
    assert isinstance(entry, LogEntry)
    assert entry.server == "cdn" and entry.client == "browser" and entry.method == "GET"
    assert entry.path == urlsplit(url).path + "?" + urlsplit(url).query
    assert entry.origin == lab.site.origin
    assert entry.referer == lab.site.origin + "/page.html"
    assert entry.sec_fetch == {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "image", "Sec-Fetch-Site": "same-site"}
    assert entry.mode == "cors"
    assert entry.accept == "image/avif,image/webp,*/*"
    assert entry.cookies == {"cors_lab_user": "alice"} and entry.other_cookies == 2
    assert entry.status == 200 and entry.error is None
    assert entry.header("Access-Control-Allow-Origin") == "*"
    assert entry.header("Content-Type") == get_asset("picture.png").content_type
    assert abs(entry.time - time.time()) < 10


@pytest.mark.parametrize("ua, client", [(KERNEL_UA, "kernel"), (BROWSER_UA, "browser"), ("curl/8.0", "other"), ("", "other")])
def test_log_client_kind(lab, ua, client):
    get(lab.site.url("picture.png"), {"User-Agent": ua})
    assert lab.site.log[-1].client == client


def test_log_keeps_absent_origin_distinct_from_null(lab):
    get(lab.cdn.url("picture.png"))
    get(lab.cdn.url("picture.png"), {"Origin": "null"})
    absent, null = lab.cdn.log
    assert absent.origin is None and null.origin == "null"
    table = lab.cdn.log.table()
    assert "(absent)" in table and "null" in table


def test_log_redacts_query_of_foreign_referer(lab):
    get(lab.cdn.url("picture.png"), {"Referer": "http://127.0.0.1:8888/lab/tree/x.ipynb?token=SECRETTOKEN"})
    assert lab.cdn.log[-1].referer == "http://127.0.0.1:8888/lab/tree/x.ipynb?[query not logged]"
    assert "SECRETTOKEN" not in repr(lab.cdn.log)


def test_log_never_keeps_foreign_cookies(lab):
    get(lab.cdn.url("picture.png", acao="*"), {"Cookie": f"{FOREIGN_COOKIES}; cors_lab_user=alice"})
    get(lab.cdn.url("picture.png"), {"Cookie": FOREIGN_COOKIES})
    get(f"{lab.cdn.origin}/../x", {"Cookie": FOREIGN_COOKIES})  # 404s are logged too
    get(f"{lab.cdn.origin}/img/picture.png?status=1", {"Cookie": FOREIGN_COOKIES})
    log = lab.log()
    assert [e.other_cookies for e in log] == [2, 2, 2, 2]
    renderings = [repr(log), str(log), log.table(), log._repr_html_(), *(repr(e) for e in log), repr(vars(log[0]))]
    for text in renderings:
        for secret in ("SECRETXSRF", "SECRETAUTH", "_xsrf", "username-127-0-0-1-8888"):
            assert secret not in text
    assert "cors_lab_user=alice" in log.table() and "+2 other" in log.table()


def test_log_merged_by_time_and_cleared(lab):
    get(lab.site.url("picture.png"))
    get(lab.cdn.url("picture.png"))
    get(lab.other.url("picture.png"))
    get(lab.site.url("picture.gif"))
    merged = lab.log()
    assert isinstance(merged, RequestLog)
    assert [e.server for e in merged] == ["site", "cdn", "other", "site"]
    assert [e.time for e in merged] == sorted(e.time for e in merged)
    assert len(lab.site.log) == 2
    lab.site.clear_log()
    assert lab.site.log == [] and len(lab.log()) == 2
    lab.clear_log()
    assert lab.log() == []
    assert "no requests yet" in lab.log().table() and "no requests yet" in lab.log()._repr_html_()


def test_log_tables_render_and_escape(lab):
    get(lab.cdn.url("picture.png", acao="<b>x</b>"), {"Origin": "<script>", "Cookie": "cors_lab_user=<i>"})
    log = lab.log()
    text = log.table()
    lines = text.splitlines()
    assert lines[0].split() == ["time", "server", "client", "method", "status", "path", "Origin", "mode", "ACAO", "cookies"]
    assert "<b>x</b>" in text
    page = log._repr_html_()
    assert page.startswith('<table class="cors-lab-log">')
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;x&lt;/b&gt;" in page

    class Printer:
        def __init__(self):
            self.out = []

        def text(self, s):
            self.out.append(s)

    p = Printer()
    log._repr_pretty_(p, False)
    assert p.out == [text]


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


# -- robustness ----------------------------------------------------------------------------------


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


def test_every_knob_is_documented_in_the_module_table():
    doc = servers.__doc__
    for name in servers.KNOBS:
        assert re.search(rf"^{name}\s+``", doc, re.M), name
    assert set(servers.__all__) <= set(dir(servers))


def test_reprs(lab):
    assert repr(lab) == f"<Lab site={lab.site.origin} cdn={lab.cdn.origin} other={lab.other.origin}>"
    assert repr(lab.cdn) == f"<LabOrigin cdn {lab.cdn.origin}>"
