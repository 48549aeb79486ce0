"""cors_lab.harness: trial.js in Debian's Chromium over the test's own loopback servers.

The servers here are tiny `http.server`s written for this file (not cors_lab.servers): "site" is the
page's origin, "cdn" a foreign origin on another port. Every knob is in the query string:
``acao=<value>`` adds Access-Control-Allow-Origin, ``acac`` adds Access-Control-Allow-Credentials: true,
``echo`` answers ACAO with the request's Origin only when one was sent, ``max_age=N`` adds
Cache-Control, ``vary`` adds Vary: Origin. ``/img.png`` is a 2x2 PNG, ``/page.html`` an HTML page,
``/broken.png`` an image/png that is not a PNG, anything else a text 404.
"""

from __future__ import annotations

import http.server
import ssl
import struct
import subprocess
import threading
import time
import zlib
from urllib.parse import parse_qs, urlsplit

import pytest

from cors_lab.harness import (
    CHROMIUM_ENV,
    BrowserUnavailable,
    ChromiumHarness,
    browser_unavailable_reason,
    find_chromium,
)
from cors_lab.trial import TRIAL_OPERATIONS, Trial

REASON = browser_unavailable_reason()
needs_browser = [pytest.mark.browser, pytest.mark.skipif(REASON is not None, reason=REASON or "")]


def browser_test(fn):
    for mark in needs_browser:
        fn = mark(fn)
    return fn


COLOUR = (10, 200, 30, 255)
READBACK_OPERATIONS = [op for op in TRIAL_OPERATIONS if op != "drawImage"]


def png(width: int = 2, height: int = 2, rgba: tuple[int, int, int, int] = COLOUR) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(rgba) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


IMAGE = png()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep pytest output clean; requests go to server.log instead
        pass

    def do_GET(self):
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        self.server.log.append((self.path, dict(self.headers.items())))
        if parts.path == "/img.png":
            status, ctype, body = 200, "image/png", IMAGE
        elif parts.path == "/broken.png":
            status, ctype, body = 200, "image/png", b"this is not a PNG"
        elif parts.path == "/page.html":
            status, ctype, body = 200, "text/html; charset=utf-8", b"<!doctype html><title>site</title><p>site"
        else:
            status, ctype, body = 404, "text/plain; charset=utf-8", b"not found"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if "acao" in query:
            self.send_header("Access-Control-Allow-Origin", query["acao"][0])
        if "echo" in query and self.headers.get("Origin") is not None:
            self.send_header("Access-Control-Allow-Origin", self.headers["Origin"])
        if "acac" in query:
            self.send_header("Access-Control-Allow-Credentials", "true")
        if "max_age" in query:
            self.send_header("Cache-Control", f"max-age={int(query['max_age'][0])}")
        else:
            self.send_header("Cache-Control", "no-store")
        if "vary" in query:
            self.send_header("Vary", "Origin")
        self.end_headers()
        self.wfile.write(body)


class Server:
    def __init__(self, *, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None):
        self.httpd = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.log = []
        self.port = self.httpd.server_address[1]
        self.origin = f"{'https' if tls else 'http'}://{host}:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def log(self):
        return self.httpd.log

    def url(self, path: str) -> str:
        return self.origin + path

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def site():
    server = Server()
    yield server
    server.close()


@pytest.fixture(scope="module")
def cdn():
    server = Server()
    yield server
    server.close()


@pytest.fixture(scope="module")
def harness():
    if REASON is not None:
        pytest.skip(REASON)
    with ChromiumHarness() as h:
        yield h


def one(harness, url, *, page, crossorigin=None, operation="getImageData", **kw):
    return harness.run([Trial(url, crossorigin, operation, kw.pop("timeout_ms", None))], page_url=page, **kw)[0]


# --- No browser needed --------------------------------------------------------------------------


def test_find_chromium_honours_env_var(monkeypatch, tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv(CHROMIUM_ENV, str(fake))
    assert find_chromium() == str(fake)
    monkeypatch.setenv(CHROMIUM_ENV, str(tmp_path / "missing"))
    assert find_chromium() is None
    assert CHROMIUM_ENV in browser_unavailable_reason()


def test_harness_without_browser_raises_browser_unavailable(monkeypatch, tmp_path):
    monkeypatch.setenv(CHROMIUM_ENV, str(tmp_path / "missing"))
    with pytest.raises(BrowserUnavailable, match="not an executable"):
        ChromiumHarness().start()


# --- Same-origin: every operation reads back --------------------------------------------------------


@browser_test
@pytest.mark.parametrize("operation", TRIAL_OPERATIONS)
def test_same_origin_image_is_readable(harness, site, operation):
    out = one(harness, site.url("/img.png"), page=site.url("/page.html"), operation=operation)
    assert out.verdict == ("load", "ok", None), out.steps
    assert out.engine == "chromium" and out.page == site.origin
    assert out.pixel == COLOUR
    assert out.origin_clean is True
    assert out.requests == ()


# --- Cross-origin without crossorigin: the canvas is tainted ----------------------------------------


@browser_test
def test_cross_origin_no_cors_drawimage_draws_then_readback_fails(harness, site, cdn):
    out = one(harness, cdn.url("/img.png"), page=site.url("/page.html"), operation="drawImage")
    assert out.verdict == ("load", "SecurityError", None)
    assert out.origin_clean is False and out.pixel is None
    assert "tainted" in out.extra["probe_message"]


@browser_test
@pytest.mark.parametrize("operation", READBACK_OPERATIONS)
def test_cross_origin_no_cors_operation_throws_security_error(harness, site, cdn, operation):
    out = one(harness, cdn.url("/img.png"), page=site.url("/page.html"), operation=operation)
    assert out.verdict == ("load", "SecurityError", "SecurityError"), out.steps
    assert out.message and out.pixel is None


@browser_test
def test_cross_origin_texImage2D_message_names_cross_origin_data(harness, site, cdn):
    out = one(harness, cdn.url("/img.png"), page=site.url("/page.html"), operation="texImage2D")
    assert out.exception == "SecurityError"
    assert "cross-origin data" in out.message


@browser_test
def test_localStorage_save_of_tainted_canvas_is_security_error_from_toDataURL(harness, site, cdn):
    out = one(harness, cdn.url("/img.png"), page=site.url("/page.html"), operation="localStorage")
    assert out.verdict == ("load", "SecurityError", "SecurityError")
    assert "toDataURL" in out.message and "Tainted canvases may not be exported" in out.message


# --- The crossorigin attribute ---------------------------------------------------------------------


@browser_test
def test_anonymous_without_acao_fires_error_and_console_explains(harness, site, cdn):
    out = one(harness, cdn.url("/img.png?case=anon-no-acao"), page=site.url("/page.html"), crossorigin="anonymous")
    assert out.load == "error" and out.readback is None
    assert "Access-Control-Allow-Origin" in out.console
    assert "blocked by CORS policy" in out.console


@browser_test
def test_anonymous_with_acao_star_is_readable(harness, site, cdn):
    out = one(harness, cdn.url("/img.png?acao=*"), page=site.url("/page.html"), crossorigin="anonymous")
    assert out.verdict == ("load", "ok", None)
    assert out.pixel == COLOUR


@browser_test
def test_invalid_keyword_foo_behaves_like_anonymous(harness, site, cdn):
    cdn.log.clear()
    readable, blocked = harness.run(
        [
            Trial(cdn.url("/img.png?acao=*&case=foo"), "foo"),
            Trial(cdn.url("/img.png?case=foo-no-acao"), "foo"),
        ],
        page_url=site.url("/page.html"),
    )
    assert readable.verdict == ("load", "ok", None)
    assert blocked.load == "error"
    sent = [headers for path, headers in cdn.log if "case=foo" in path]
    assert sent and all(h.get("Origin") == site.origin for h in sent)  # CORS mode: Origin is sent
    assert 'img.setAttribute("crossorigin", "foo")' in readable.steps


@browser_test
def test_use_credentials_with_acao_star_fires_error(harness, site, cdn):
    out = one(harness, cdn.url("/img.png?acao=*&acac"), page=site.url("/page.html"), crossorigin="use-credentials")
    assert out.load == "error"
    assert "wildcard" in out.console


# --- Broken images ---------------------------------------------------------------------------------

BROKEN = {op: "InvalidStateError" for op in TRIAL_OPERATIONS}
BROKEN["texImage2D"] = None  # no exception: gl.getError() is INVALID_VALUE (1281)


@browser_test
@pytest.mark.parametrize("operation", TRIAL_OPERATIONS)
def test_broken_image_operation(harness, site, operation):
    out = one(harness, site.url("/broken.png"), page=site.url("/page.html"), operation=operation)
    assert out.verdict == ("error", None, BROKEN[operation]), out.steps
    if operation == "texImage2D":
        assert out.extra["gl_error"] == 1281
    else:
        assert "broken" in out.message


@browser_test
def test_cors_failure_makes_image_broken_for_drawImage(harness, site, cdn):
    out = one(harness, cdn.url("/img.png"), page=site.url("/page.html"), crossorigin="anonymous", operation="drawImage")
    assert out.verdict == ("error", None, "InvalidStateError")


# --- Where the page is ------------------------------------------------------------------------------


@browser_test
@pytest.mark.parametrize("page_path", ["/img.png", "/nowhere"], ids=["image-document", "text-404"])
def test_any_url_on_the_origin_can_be_the_page(harness, site, cdn, page_path):
    same, cross = harness.run(
        [Trial(site.url("/img.png")), Trial(cdn.url("/img.png"))], page_url=site.url(page_path)
    )
    assert same.page == site.origin and same.verdict == ("load", "ok", None)
    assert cross.verdict == ("load", "SecurityError", "SecurityError")


@browser_test
def test_opaque_origin_page(harness, site, cdn):
    null_ok, star_ok, exact_fails, plain = harness.run(
        [
            Trial(cdn.url("/img.png?acao=null"), "anonymous"),
            Trial(cdn.url("/img.png?acao=*"), "anonymous"),
            Trial(cdn.url(f"/img.png?acao={site.origin}"), "anonymous"),
            Trial(site.url("/img.png"), None),
        ],
        page_url="null",
    )
    assert null_ok.page == "null"
    assert null_ok.verdict == ("load", "ok", None) and null_ok.pixel == COLOUR
    assert star_ok.verdict == ("load", "ok", None)
    assert exact_fails.load == "error"
    assert "Access-Control-Allow-Origin" in exact_fails.console
    # No URL is same-origin with an opaque origin: a plain load taints.
    assert plain.verdict == ("load", "SecurityError", "SecurityError")


@browser_test
def test_opaque_origin_page_sends_origin_null(harness, cdn):
    cdn.log.clear()
    one(harness, cdn.url("/img.png?acao=null&case=opaque"), page="null", crossorigin="anonymous")
    sent = [headers for path, headers in cdn.log if "case=opaque" in path]
    assert sent and sent[0].get("Origin") == "null"


@browser_test
def test_localStorage_in_opaque_origin_page_is_denied_after_a_readable_draw(harness, cdn):
    out = one(harness, cdn.url("/img.png?acao=*"), page="null", crossorigin="anonymous", operation="localStorage")
    assert out.verdict == ("load", "ok", "SecurityError")
    assert "localStorage" in out.message


# --- Never hang -------------------------------------------------------------------------------------


@browser_test
def test_silent_server_times_out(harness, site, silent):
    t0 = time.perf_counter()
    out = one(harness, silent + "/img.png", page=site.url("/page.html"), timeout_ms=300)
    assert time.perf_counter() - t0 < 5
    assert out.load == "error" and out.message == "timeout"
    assert out.readback is None and out.exception is None


@browser_test
def test_silent_server_times_out_in_opaque_page(harness, silent):
    out = one(harness, silent + "/img.png", page="null", crossorigin="anonymous", timeout_ms=300)
    assert out.load == "error" and out.message == "timeout"


# --- Contexts, caches, timings ----------------------------------------------------------------------


@browser_test
def test_shared_document_agrees_with_fresh_contexts(harness, site, cdn):
    scenarios = [Trial(site.url("/img.png"), None, op) for op in ("getImageData", "toDataURL", "pattern")]
    scenarios += [Trial(cdn.url("/img.png"), None, "getImageData")]
    fresh = harness.run(scenarios, page_url=site.url("/page.html"))
    shared = harness.run(scenarios, page_url=site.url("/page.html"), fresh_context=False)
    assert [o.verdict for o in fresh] == [o.verdict for o in shared]
    # Timings are reported, never asserted on (speed lives in benchmarks/).
    assert all(o.elapsed_ms is not None and o.extra["timing"]["trial_ms"] >= 0 for o in fresh + shared)


@browser_test
def test_http_cache_without_vary_origin_breaks_the_cors_load(harness, site, cdn):
    # DESIGN.md: ACAO only when Origin is present (the h5bp rule), cacheable, no Vary: Origin.
    url = cdn.url(f"/img.png?echo&max_age=3600&n={time.time_ns()}")
    plain, anonymous = harness.run_sequence([Trial(url), Trial(url, "anonymous")], page_url=site.url("/page.html"))
    assert plain.verdict == ("load", "SecurityError", "SecurityError")
    assert anonymous.load == "error"
    # A fresh context has an empty cache: the same CORS load alone is readable.
    assert one(harness, url, page=site.url("/page.html"), crossorigin="anonymous").verdict == ("load", "ok", None)
    # Vary: Origin keeps the two responses apart.
    varied = cdn.url(f"/img.png?echo&max_age=3600&vary&n={time.time_ns()}")
    outs = harness.run_sequence([Trial(varied), Trial(varied, "anonymous")], page_url=site.url("/page.html"))
    assert outs[1].verdict == ("load", "ok", None)


@browser_test
def test_startup_is_measured_and_webgl_is_available(harness):
    assert harness.startup_ms and harness.startup_ms > 0
    assert set(harness.startup) == {"driver_ms", "launch_ms", "total_ms"}
    renderer = harness.webgl_renderer()
    assert renderer, "no WebGL: texImage2D would report NoWebGL"
    assert harness.version and harness.version.split(".")[0].isdigit()


# --- Host names, https and cookies ------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory):
    """Two https servers with one self-signed certificate for a.test and b.test."""
    if REASON is not None:
        pytest.skip(REASON)
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
             "-days", "2", "-subj", "/CN=cors-lab-test", "-addext", "subjectAltName=DNS:a.test,DNS:b.test"],
            check=True, capture_output=True, timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as e:
        pytest.skip(f"openssl could not make a test certificate: {e}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    a, b = Server(tls=context), Server(tls=context)
    yield a, b
    a.close()
    b.close()


COOKIE = {"name": "lab", "value": "1", "domain": "b.test", "path": "/", "secure": True, "sameSite": "None"}


@browser_test
@pytest.mark.parametrize("allowed", [False, True], ids=["default-blocked", "third-party-allowed"])
def test_host_rules_https_and_third_party_cookies(tls_pair, allowed):
    a, b = tls_pair
    with ChromiumHarness(
        host_rules={"a.test": a.port, "b.test": b.port},
        ignore_https_errors=True,
        third_party_cookies=allowed,
        cookies=[COOKIE],
    ) as h:
        b.log.clear()
        out = h.run_one(f"https://b.test/img.png?case=cookie-{allowed}", page_url="https://a.test/page.html")
    assert out.page == "https://a.test"
    assert out.verdict == ("load", "SecurityError", "SecurityError")  # a.test and b.test are cross-origin
    sent = [headers for path, headers in b.log if f"case=cookie-{allowed}" in path]
    assert sent, "the image request never reached b.test"
    assert ("lab=1" in sent[0].get("Cookie", "")) is allowed
