"""Tests for cors_lab.browser: the kernel browser through injected transports, and over real sockets.

Most tests hand each request to the lab's own answer (`in_process`: ``LabOrigin.exchange``, what the
lab's server does for a request it reads, log entry included) with no socket; the last ones prove the
default transport over real loopback sockets: a round trip with cookies, a dead server, a slow one.
"""

import socket
import time
from urllib.parse import urlsplit

import pytest
from hostile_corpus import HostileServer

from cors_lab import browser as browser_module
from cors_lab import predict
from cors_lab.assets import ASSET_NAMES, expected_pixels, get_asset
from cors_lab.browser import Browser, RawResponse, TransportError
from cors_lab.errors import DecodeError, UsageError
from cors_lab.servers import Lab, Request


@pytest.fixture(scope="module")
def lab():
    with Lab() as running:
        yield running


def in_process(lab):
    """A transport that asks the lab origin itself (its server's own answer and log entry), no socket."""
    origins = {o.origin: o for o in lab.origins}

    def transport(url, headers, timeout):
        parts = urlsplit(url)
        origin = origins.get(f"{parts.scheme}://{parts.netloc}")
        if origin is None:
            raise TransportError(f"the server could not be reached ({url} is not on the lab)")
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        answer = origin.exchange(Request("GET", target, headers=tuple(headers)))
        return RawResponse(answer.status, tuple(answer.headers), answer.body)

    return transport


@pytest.fixture()
def browser(lab):
    lab.clear_log()
    return Browser(lab.site, transport=in_process(lab))


# --- Verdicts agree with predict() and the requests with the spec model --------------------------


CASES = [
    pytest.param(None, {}, id="no-cors-no-acao"),
    pytest.param(None, {"acao": "*"}, id="no-cors-star"),
    pytest.param("anonymous", {}, id="anonymous-no-acao"),
    pytest.param("anonymous", {"acao": "*"}, id="anonymous-star"),
    pytest.param("anonymous", {"acao": " * "}, id="anonymous-padded-star"),
    pytest.param("anonymous", {"acao": ["*", "*"]}, id="anonymous-two-headers"),
    pytest.param("foo", {"acao": "*"}, id="invalid-value-anonymous"),
    pytest.param("use-credentials", {"acao": "*", "acac": True}, id="credentials-star"),
    pytest.param("use-credentials", {"acao": "SITE", "acac": True}, id="credentials-exact"),
    pytest.param("use-credentials", {"acao": "SITE", "acac": "True"}, id="credentials-acac-True"),
    pytest.param("anonymous", {"acao": "SITE/"}, id="anonymous-trailing-slash"),
]


def knobs_for(lab, knobs):
    def fix(v):
        return v.replace("SITE", lab.site.origin) if isinstance(v, str) else v
    return {k: fix(v) for k, v in knobs.items()}


@pytest.mark.parametrize("origin_label", ["site", "cdn", "other"])
@pytest.mark.parametrize("crossorigin, knobs", CASES)
def test_kernel_agrees_with_model_and_sends_what_the_model_says(lab, browser, origin_label, crossorigin, knobs):
    url = lab[origin_label].url("picture.png", nonce=True, **knobs_for(lab, knobs))
    result = browser.load_image(url, crossorigin=crossorigin)
    hop = result.hops[0]
    model = predict(page=lab.site.origin, chain=[(url, hop.status, list(hop.headers))], crossorigin=crossorigin)
    assert result.outcome().verdict == model.verdict
    (entry,) = [e for e in lab[origin_label].log if e.path.endswith(url.split("/img/")[1][-20:])]
    assert entry.client == "kernel"
    assert entry.origin == model.requests[0].origin
    assert entry.sec_fetch.get("Sec-Fetch-Mode") == model.requests[0].sec_fetch_mode
    assert entry.sec_fetch.get("Sec-Fetch-Site") == model.requests[0].sec_fetch_site
    assert entry.accept == model.requests[0].accept


@pytest.mark.parametrize("name", [n for n in ASSET_NAMES if n.startswith("picture.")])
def test_pixels_match_the_asset_for_every_format(lab, browser, name):
    result = browser.load_image(lab.site.url(name))
    assert result.event == "load", result.reason
    tolerance, samples = expected_pixels(name.rsplit(".", 1)[1])
    for (x, y), expected in samples.items():
        got = result.decoded.pixel(x, y)
        assert all(abs(a - b) <= tolerance for a, b in zip(got, expected)), (name, (x, y), got, expected)


def test_redirect_chain_sends_null_after_taint_and_follows_every_hop(lab, browser):
    url = lab.chain([lab.cdn, lab.other, lab.site], "picture.png", acao="*", hop_knobs={"acao": "*"})
    result = browser.load_image(url, crossorigin="anonymous")
    assert result.event == "load" and result.response_tainting == "cors"
    assert [h.request.origin for h in result.hops] == [lab.site.origin, "null", "null"]
    assert [e.origin for e in lab.log()] == [lab.site.origin, "null", "null"]


def test_redirect_back_to_page_needs_star(lab, browser):
    url = lab.chain([lab.cdn, lab.site], "picture.png", acao=lab.site.origin, hop_knobs={"acao": "*"})
    assert browser.load_image(url, crossorigin="anonymous").event == "error"


# --- Cookies -----------------------------------------------------------------------------------------


def test_login_cookie_sent_per_credentials_mode(lab, browser):
    assert browser.login(lab.site.login_url("alice")) == 200
    secret = {c: browser.load_image(lab.cdn.url("secret.png", nonce=True, acao=lab.site.origin, acac=True),
                                    crossorigin=c) for c in (None, "anonymous", "use-credentials")}
    logged = {e.path: e.cookies for e in lab.cdn.log}
    sent = [bool(cookies) for cookies in logged.values()]
    assert sent == [True, False, True]  # no-cors: include; anonymous cross-origin: no; use-credentials: yes
    assert secret["use-credentials"].cors_same_origin and not secret[None].cors_same_origin
    other = browser.load_image(lab.other.url("secret.png", nonce=True))
    assert not other.hops[0].request.cookies  # cross-site: third-party cookies blocked


def test_secret_pixels_depend_on_login(lab):
    alice, anon = Browser(lab.site, transport=in_process(lab)), Browser(lab.site, transport=in_process(lab))
    alice.login(lab.site.login_url("alice"))
    a = alice.load_image(lab.site.url("secret.png")).decoded
    b = anon.load_image(lab.site.url("secret.png")).decoded
    assert a.rgba != b.rgba


# --- The HTTP cache: the Vary: Origin gotcha -------------------------------------------------------


@pytest.mark.parametrize(
    "vary, second_event, requests_made",
    [
        pytest.param(None, "error", 1, id="no-vary-plain-then-cors-reuses-and-fails"),
        pytest.param("Origin", "load", 2, id="vary-origin-second-request-goes-to-server"),
    ],
)
def test_cache_vary_origin_gotcha(lab, browser, vary, second_event, requests_made):
    knobs = {"apache": True, "cache": "max-age=3600", "nonce": True}
    if vary:
        knobs["vary"] = vary
    url = lab.cdn.url("picture.png", **knobs)
    first = browser.load_image(url)
    second = browser.load_image(url, crossorigin="anonymous")
    assert first.event == "load" and second.event == second_event
    assert len(lab.cdn.log) == requests_made
    assert second.hops[0].from_cache is (requests_made == 1)
    browser.clear_cache()
    assert browser.load_image(url, crossorigin="anonymous").event == "load"


# --- Heuristic freshness and revalidation: the lab's pictures are files with validators ---------------


@pytest.mark.parametrize(
    "knobs, second_event, statuses, validated",
    [
        # No Cache-Control, a file dated 2025: fresh for 10% of its age (RFC 9111 4.2.2, Chromium's
        # fraction), so the CORS load reuses the answer the plain load stored, without ACAO.
        pytest.param({}, "error", [200], False, id="heuristic-fresh-reuses-and-fails"),
        # Cache-Control: no-cache: revalidated; the 304 carries the rule's ACAO and updates the
        # stored response, whose headers the CORS check then reads.
        pytest.param({"cache": "no-cache"}, "load", [200, 304], True, id="no-cache-revalidates-304-passes"),
        # A file modified just before the first request: a heuristic lifetime of 0 s.
        pytest.param({"age": 0}, "load", [200, 304], True, id="new-file-revalidates-304-passes"),
        # No validators at all: nothing to be fresh by, nothing to revalidate with: a whole new answer.
        pytest.param({"validators": False}, "load", [200, 200], False, id="no-validators-refetches"),
        # Vary: Origin: the stored request had no Origin; Chromium revalidates with If-None-Match
        # alone, and the 304 (with ACAO, the request had Origin) updates the stored response.
        pytest.param({"vary": "Origin"}, "load", [200, 304], True, id="vary-origin-revalidates-etag-only"),
    ],
)
def test_guide_rule_without_cache_settings(lab, browser, knobs, second_event, statuses, validated):
    url = lab.cdn.url("picture.png", apache=True, nonce=True, **knobs)
    first = browser.load_image(url)
    second = browser.load_image(url, crossorigin="anonymous")
    assert (first.event, second.event) == ("load", second_event), second
    assert [e.status for e in lab.cdn.log] == statuses
    assert second.hops[0].validated is validated and second.hops[0].from_cache is (len(statuses) == 1)
    if validated:
        sent = dict(second.hops[0].sent)
        first_headers = dict(first.hops[0].headers)
        assert sent["If-None-Match"] == first_headers["ETag"]
        assert sent.get("If-Modified-Since") == (None if "vary" in knobs else first_headers["Last-Modified"])
        assert second.hops[0].status == 304 and "304 (revalidated" in str(second)
        assert dict(second.hops[0].headers)["Access-Control-Allow-Origin"] == "*"
        assert dict(second.hops[0].headers)["Content-Type"] == "image/png"  # kept from the stored 200
        # The stored response now carries the 304's ACAO: a third, plain load reuses or revalidates it.
        assert browser.load_image(url, crossorigin="anonymous").event == "load"


def test_revalidation_is_stored_like_any_answer(lab, browser):
    # The cache's own If-None-Match must not turn cache mode "default" into "no-store" (Fetch does
    # that only for a request that was conditional before the cache saw it): the 304 freshens.
    url = lab.cdn.url("picture.png", acao="*", cache="max-age=0", nonce=True)
    browser.load_image(url, crossorigin="anonymous")
    browser.new_page()  # else the page's list of available images shows it again, with no request
    again = browser.load_image(url, crossorigin="anonymous")
    assert again.hops[0].validated and "Freshened the stored response" in again.hops[0].cache_why
    assert len(browser.cache) == 1


# --- Failures end as an error event ------------------------------------------------------------------


@pytest.mark.parametrize(
    "knobs, event, words",
    [
        pytest.param({"truncate": 100}, "load", "truncated", id="truncated-body-size-known-still-loads"),
        pytest.param({"truncate": 12}, "error", "", id="truncated-header-is-error"),
        pytest.param({"ctype": "text/plain"}, "load", "", id="wrong-content-type-still-sniffed"),
        pytest.param({"status": 404}, "load", "", id="404-with-image-body-loads"),
    ],
)
def test_body_problems(lab, browser, knobs, event, words):
    result = browser.load_image(lab.site.url("picture.png", **knobs))
    assert result.event == event and words in result.reason


def fake(responses):
    calls = []

    def transport(url, headers, timeout):
        calls.append((url, headers))
        item = responses[len(calls) - 1]
        if isinstance(item, Exception):
            raise item
        return item

    transport.calls = calls
    return transport


def test_injected_transport_html_body_is_error():
    t = fake([RawResponse(200, (("Content-Type", "text/html"),), b"<!doctype html><p>login</p>")])
    result = Browser("http://a.test", transport=t).load_image("http://a.test/x.png")
    assert result.event == "error" and "HTML" in result.reason


def test_injected_transport_decompression_bomb_is_error():
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 6, 0, 0, 0)) + chunk(b"IEND", b"")
    t = fake([RawResponse(200, (), bomb)])
    result = Browser("http://a.test", transport=t).load_image("http://a.test/bomb.png")
    assert result.event == "error" and ("too large" in result.reason.lower() or "pixels" in result.reason)


def test_injected_transport_error_and_cross_origin_headers():
    t = fake([TransportError("the server did not answer in time", timed_out=True)])
    result = Browser("http://a.test", transport=t).load_image("http://b.test/x.png", crossorigin="anonymous")
    assert result.event == "error" and "did not answer" in result.reason and "5 s" in result.reason
    (url, headers), = t.calls
    assert ("Origin", "http://a.test") in headers and not any(n == "Cookie" for n, _ in headers)


def test_bad_arguments_name_the_fix():
    with pytest.raises(UsageError, match="timeout"):
        Browser("http://a.test", timeout=0)
    with pytest.raises(UsageError, match="page must be"):
        Browser(42)
    with pytest.raises(UsageError, match="Unknown operation"):
        Browser("http://a.test", transport=fake([RawResponse(200, (), b"")])).run("http://a.test/x", operation="nope")


def test_repr_never_shows_cookie_values(lab):
    b = Browser(lab.site, transport=in_process(lab))
    b.login(lab.site.login_url("zed"))
    assert "zed" not in repr(b)


def test_login_goes_through_the_transport_and_keeps_only_what_it_sets():
    t = fake([RawResponse(200, (("Set-Cookie", "cors_lab_user=ada; Path=/; SameSite=Lax"),), b"logged in\n"),
              RawResponse(200, (("Content-Type", "text/html"),), b"<p>not an image</p>")])
    b = Browser("http://a.test", transport=t)
    assert b.login("http://a.test/login?user=ada") == 200
    b.load_image("http://a.test/x.png")
    (login_url, login_headers), (_, image_headers) = t.calls
    assert login_url == "http://a.test/login?user=ada" and not any(n == "Cookie" for n, _ in login_headers)
    assert ("Cookie", "cors_lab_user=ada") in image_headers
    refused = fake([TransportError("the server could not be reached (connection refused)")])
    with pytest.raises(UsageError, match="Could not reach .*connection refused.*Is the lab running"):
        Browser("http://a.test", transport=refused).login("http://a.test/login?user=ada")


# --- The default transport, over real loopback sockets -------------------------------------------------


def test_default_transport_round_trip_with_cookies(lab):
    # What only real sockets prove: requests' headers and Set-Cookie lines reach the server and come back.
    lab.clear_log()
    b = Browser(lab.site)
    assert b.login(lab.site.login_url("alice")) == 200
    url = lab.cdn.url("secret.png", nonce=True, acao=lab.site.origin, acac=True)
    result = b.load_image(url, crossorigin="use-credentials")
    assert result.event == "load" and result.cors_same_origin
    login, image = lab.log()
    assert (login.server, login.client, login.header("Set-Cookie")) == ("site", "kernel", "cors_lab_user=alice; Path=/; SameSite=Lax")
    assert (image.server, image.client, image.origin, image.mode) == ("cdn", "kernel", lab.site.origin, "cors")
    assert image.cookies == {"cors_lab_user": "alice"} and image.other_cookies == 0


def test_dead_server_is_error_not_traceback(lab):
    b = Browser(lab.site, timeout=2)
    result = b.load_image("http://127.0.0.1:9/picture.png")  # port 9 (discard) is closed here
    assert result.event == "error" and "could not be reached" in result.reason
    assert result.outcome().verdict == ("error", None, "InvalidStateError")


def test_slow_server_times_out_promptly(lab):
    b = Browser(lab.site, timeout=0.5)
    start = time.monotonic()
    result = b.load_image(lab.cdn.url("picture.png", delay=5))
    assert result.event == "error" and "in time" in result.reason and "0.5 s" in result.reason
    assert time.monotonic() - start < 3




@pytest.mark.slow
@pytest.mark.parametrize("behaviour", ["drip-headers", "drip-body", "drip-redirects"])
def test_one_deadline_holds_against_a_dripping_server(behaviour):
    # One byte every 0.1 s (headers or body), or three redirects of 2 s each: every read returns in
    # time, yet the whole load has 1 s, however many hops it takes.
    server = HostileServer(behaviour)
    try:
        b = Browser("http://127.0.0.1", timeout=1)
        start = time.monotonic()
        result = b.load_image(server.url)
        elapsed = time.monotonic() - start
    finally:
        server.close()
    assert result.event == "error" and "in time" in result.reason and "timeout is 1 s" in result.reason
    assert elapsed < 1.5


def test_the_deadline_covers_decoding(lab, monkeypatch):
    # The fetch took all the time there was: the decoder gets none, and the load says so.
    seen = []

    def slow_decode(body, **kwargs):
        seen.append(kwargs["timeout"])
        raise DecodeError("Decoding this image took longer than the time left.", kind="too-slow")

    monkeypatch.setattr(browser_module, "decode_image", slow_decode)
    result = Browser(lab.site, timeout=3).load_image(lab.cdn.url("picture.png", nonce=True))
    assert result.event == "error" and "too" in result.reason
    assert 0 < seen[0] <= 3


def test_a_watchdog_that_fires_after_the_answer_still_reports_the_timeout():
    watchdog = browser_module._Watchdog()
    a, b = socket.socketpair()
    try:
        token = watchdog.watch(a, time.monotonic() - 1)  # already past
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not watchdog._fired:
            time.sleep(0.01)
        assert watchdog.forget(token) is True
        assert a.recv(1) == b""  # shut down
        assert watchdog.forget(watchdog.watch(b, time.monotonic() + 60)) is False
    finally:
        a.close()
        b.close()


# --- Classes the random tester found (issue 13) -------------------------------------------------------


@pytest.mark.parametrize(
    "host, sent",
    [
        pytest.param("127.0.0.1", True, id="secure-cookie-on-loopback-ip-sent"),
        pytest.param("localhost", True, id="secure-cookie-on-localhost-sent"),
        pytest.param("example.test", False, id="secure-cookie-on-plain-http-not-sent"),
    ],
)
def test_secure_cookies_go_to_potentially_trustworthy_http(host, sent):
    # RFC 6265bis: a Secure cookie needs a "secure" scheme "as defined by the user agent"; Chromium
    # counts every potentially trustworthy origin (measured: SameSite=None; Secure on the lab).
    t = fake([RawResponse(200, (("Set-Cookie", "cors_lab_user=ada; Path=/; SameSite=None; Secure"),), b"ok\n"),
              RawResponse(200, (("Content-Type", "text/html"),), b"<p>not an image</p>")])
    b = Browser(f"http://{host}:8000", transport=t)
    b.login(f"http://{host}:8000/login?user=ada")
    b.load_image(f"http://{host}:8001/x.png")
    (_, image_headers) = t.calls[1]
    assert (("Cookie", "cors_lab_user=ada") in image_headers) is sent


def test_a_load_failing_cors_leaves_nothing_in_the_cache():
    # Chromium 156: an anonymous load that fails its CORS check is cancelled, its cache entry
    # never finished; the plain load after it asks the network again (two requests).
    png = get_asset("picture.png")
    answer = RawResponse(200, (("Content-Type", "image/png"), ("Cache-Control", "max-age=3600")), png.body)
    t = fake([answer, answer, answer])
    b = Browser("http://a.test", transport=t)
    assert b.load_image("http://b.test/x.png", crossorigin="anonymous").event == "error"
    assert b.load_image("http://b.test/x.png").event == "load"
    assert len(t.calls) == 2
    assert b.load_image("http://b.test/x.png").event == "load"
    assert len(t.calls) == 2  # the plain load's answer was stored and is reused


def test_an_opaque_frame_in_a_top_page_sends_origin_null_to_its_site():
    t = fake([RawResponse(200, (("Content-Type", "text/html"),), b"<p>no</p>")])
    Browser("null", container="http://127.0.0.1:8000/page", transport=t).load_image("http://127.0.0.1:8001/x.png")
    (_, headers), = t.calls
    assert ("Origin", "null") in headers and ("Sec-Fetch-Storage-Access", "inactive") in headers


def test_a_picture_loaded_before_comes_from_the_page_s_list_of_available_images(lab):
    """HTML's list of available images: the same URL and crossorigin mode again in one page makes no
    request, even with Cache-Control: no-store; another mode, or a new page, asks the server."""
    url = lab.cdn.url("picture.png", acao="*", cache="no-store", nonce=True)
    b = Browser(lab.site)
    first = b.load_image(url)
    again = b.load_image(url)
    assert again.event == "load" and again.hops == [] and "list of available images" in again.reason
    assert b.load_image(url, crossorigin="anonymous").hops  # another mode: another key
    b.new_page()
    assert b.load_image(url).hops and first.hops


@pytest.mark.parametrize("profile, requests", [("chromium", 2), ("webkit", 2), ("firefox", 1), ("spec", 2)])
def test_a_failed_load_is_fetched_again_except_in_firefox(lab, profile, requests):
    url = lab.cdn.url("picture.png", nonce=True)  # no ACAO: the CORS check fails
    b = Browser(lab.site, engine=profile)
    loads = [b.load_image(url, crossorigin="anonymous") for _ in range(2)]
    assert [x.event for x in loads] == ["error", "error"] and sum(len(x.hops) for x in loads) == requests
