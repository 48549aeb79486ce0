"""cors_lab.servers.responses: what the lab answers for each knob, path and login, with no socket (`ask`)."""

from __future__ import annotations

import time

import pytest

from cors_lab.assets import ASSET_NAMES, get_asset
from cors_lab.servers.responses import body_problem


def values(headers, name):
    return [v for n, v in headers if n.lower() == name.lower()]


# -- knobs ------------------------------------------------------------------------------------------


def test_plain_image_is_the_asset(lab, ask):
    for name in ASSET_NAMES:
        status, headers, body = ask(lab.cdn.url(name))
        asset = get_asset(name)
        assert status == 200
        assert body == asset.body
        assert values(headers, "Content-Type") == [asset.content_type]
        assert values(headers, "Content-Length") == [str(len(asset.body))]
        assert values(headers, "Access-Control-Allow-Origin") == []
        assert values(headers, "Vary") == [] and values(headers, "Cache-Control") == []


def test_acao_raw_values_and_several_lines(lab, ask):
    _, headers, _ = ask(lab.cdn.url("picture.png", acao="*"))
    assert values(headers, "Access-Control-Allow-Origin") == ["*"]
    _, headers, _ = ask(lab.cdn.url("picture.png", acao=["*", f"{lab.site.origin}/"]))
    assert values(headers, "Access-Control-Allow-Origin") == ["*", f"{lab.site.origin}/"]
    _, headers, _ = ask(lab.cdn.url("picture.png", acao="null"))
    assert values(headers, "Access-Control-Allow-Origin") == ["null"]
    status, headers, _ = ask(f"{lab.cdn.origin}/img/picture.png?acao=")
    assert status == 200 and values(headers, "Access-Control-Allow-Origin") == [""]


def test_acac_is_sent_raw(lab, ask):
    _, headers, _ = ask(lab.cdn.url("picture.png", acac=True))
    assert values(headers, "Access-Control-Allow-Credentials") == ["true"]
    _, headers, _ = ask(lab.cdn.url("picture.png", acac="True"))
    assert values(headers, "Access-Control-Allow-Credentials") == ["True"]


def test_vary_and_cache(lab, ask):
    _, headers, _ = ask(lab.cdn.url("picture.png", vary=["Origin", "Cookie"], cache="max-age=3600"))
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
def test_apache_rule(lab, ask, origin, expected):
    headers = {} if origin is None else {"Origin": origin}
    for name in ASSET_NAMES:
        _, got, _ = ask(lab.cdn.url(name, apache=True), headers)
        assert values(got, "Access-Control-Allow-Origin") == expected, name


def test_apache_rule_only_for_image_paths_and_2xx(lab, ask):
    origin = {"Origin": lab.site.origin}
    _, headers, _ = ask(lab.cdn.login_url("alice", apache=True), origin)  # /login: not an image path
    assert values(headers, "Access-Control-Allow-Origin") == []
    _, headers, _ = ask(lab.cdn.url("picture.png", apache=True, status=404), origin)  # Header set: 2xx only
    assert values(headers, "Access-Control-Allow-Origin") == []
    _, headers, _ = ask(lab.cdn.url("picture.png", apache=True, to=lab.site.url("picture.png")), origin)
    assert values(headers, "Access-Control-Allow-Origin") == []
    _, headers, _ = ask(lab.cdn.url("picture.png", apache=True, acao=["http://x", "http://y"]), origin)
    # "Header set" adds its own line after the "Header always" ones (another table): two lines on
    # Apache 2.4 and nginx 1.22 alike (measured, tools/compare_servers.py "acao+apache").
    assert values(headers, "Access-Control-Allow-Origin") == ["http://x", "http://y", "*"]
    _, headers, _ = ask(lab.cdn.url("picture.png", apache=True, acao="http://x"))
    assert values(headers, "Access-Control-Allow-Origin") == ["http://x"]  # rule did not fire


@pytest.mark.parametrize("status", [200, 201, 203, 400, 403, 404, 418, 500, 503, 599])
def test_status_keeps_the_image_body(lab, ask, status):
    got, headers, body = ask(lab.cdn.url("picture.png", status=status, acao="*"))
    assert got == status
    assert body == get_asset("picture.png").body
    assert values(headers, "Access-Control-Allow-Origin") == ["*"]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_status_and_location(lab, ask, status):
    target = lab.other.url("picture.png", acao="*")
    got, headers, body = ask(lab.cdn.url("picture.png", to=target, status=status, acao="*"))
    assert got == status and body == b""
    assert values(headers, "Location") == [target]
    assert values(headers, "Access-Control-Allow-Origin") == ["*"]
    assert values(headers, "Content-Length") == ["0"]


def test_redirect_defaults_to_302(lab, ask):
    got, headers, _ = ask(lab.cdn.url("picture.png", to=lab.site.url("picture.png")))
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
def test_server_refuses_open_redirects(lab, ask, query):
    status, headers, body = ask(f"{lab.cdn.origin}/img/picture.png?{query}")
    assert status == 400
    assert values(headers, "Location") == []
    assert b"to" in body


def test_server_refuses_lookalike_redirect(lab, ask):
    for to in (f"{lab.site.origin}@evil.test/", f"{lab.site.origin}.evil.test/", f"{lab.site.origin}0/"):
        status, headers, _ = ask(f"{lab.cdn.origin}/img/picture.png?to={to}")
        assert status == 400 and values(headers, "Location") == []


def test_delay(lab, ask):
    t0 = time.monotonic()
    status, _, _ = ask(lab.cdn.url("picture.png", delay=0.4))
    assert status == 200 and 0.35 <= time.monotonic() - t0 < 5


@pytest.mark.parametrize("delay", ["31", "-1", "nan", "inf", "1e3", "abc", ""])
def test_server_refuses_bad_delay(lab, ask, delay):
    t0 = time.monotonic()
    status, _, body = ask(f"{lab.cdn.origin}/img/picture.png?delay={delay}")
    assert status == 400 and b"delay" in body and time.monotonic() - t0 < 5


def test_ctype_wrong_or_absent(lab, ask):
    _, headers, _ = ask(lab.cdn.url("picture.png", ctype="text/html"))
    assert values(headers, "Content-Type") == ["text/html"]
    _, headers, body = ask(lab.cdn.url("picture.png", ctype=""))
    assert values(headers, "Content-Type") == [] and body == get_asset("picture.png").body


def test_truncate(lab, ask):
    full = get_asset("picture.png").body
    _, headers, body = ask(lab.cdn.url("picture.png", truncate=10))
    assert body == full[:10] and values(headers, "Content-Length") == ["10"]
    _, _, body = ask(lab.cdn.url("picture.png", truncate=len(full) + 100))
    assert body == full
    _, _, body = ask(lab.cdn.url("picture.png", truncate=0))
    assert body == b""


def test_nosniff_and_nonce(lab, ask):
    _, headers, _ = ask(lab.cdn.url("picture.png", nosniff=True, nonce="x1"))
    assert values(headers, "X-Content-Type-Options") == ["nosniff"]


# -- login, logout ----------------------------------------------------------------------------------


def test_login_sets_the_lab_cookie(lab, ask):
    status, headers, body = ask(lab.cdn.login_url("alice"))
    assert status == 200 and b"alice" in body
    assert values(headers, "Set-Cookie") == ["cors_lab_user=alice; Path=/; SameSite=Lax"]
    assert lab.cdn.login_url("alice") == f"{lab.cdn.origin}/login?user=alice"


@pytest.mark.parametrize("samesite, cookie", [("Strict", "SameSite=Strict"), ("none", "SameSite=None; Secure")])
def test_login_samesite(lab, ask, samesite, cookie):
    _, headers, _ = ask(lab.other.login_url("bob", samesite=samesite))
    assert values(headers, "Set-Cookie") == [f"cors_lab_user=bob; Path=/; {cookie}"]


def test_logout_clears_the_cookie(lab, ask):
    _, headers, _ = ask(lab.cdn.logout_url())
    assert values(headers, "Set-Cookie") == ["cors_lab_user=; Path=/; Max-Age=0; SameSite=Lax"]


@pytest.mark.parametrize("query", ["", "user=", "user=a%20b", "user=" + "x" * 33, "user=%3Cb%3E", "user=a&samesite=Lax2"])
def test_login_refuses_bad_users(lab, ask, query):
    status, headers, _ = ask(f"{lab.cdn.origin}/login?{query}")
    assert status == 400 and values(headers, "Set-Cookie") == []


def test_login_is_cross_origin_readable_with_knobs(lab, ask):
    _, headers, _ = ask(lab.cdn.login_url("alice", acao=lab.site.origin, acac=True))
    assert values(headers, "Access-Control-Allow-Origin") == [lab.site.origin]
    assert values(headers, "Access-Control-Allow-Credentials") == ["true"]


# -- bad knobs, unknown paths -----------------------------------------------------------------------


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
def test_bad_knob_is_400_with_a_reason(lab, ask, query, reason):
    status, headers, body = ask(f"{lab.cdn.origin}/img/picture.png?{query}")
    assert status == 400
    assert values(headers, "Content-Type") == ["text/plain; charset=utf-8"]
    assert body.startswith(b"400 Bad Request: ") and reason.encode() in body
    assert body.count(b"\n") == 1  # one line
    entry = lab.cdn.log[-1]
    assert entry.status == 400 and reason in entry.error


def test_query_knobs_do_not_unlock_unknown_paths(lab, ask):
    status, headers, _ = ask(f"{lab.cdn.origin}/img/../x.png?acao=*")
    assert status == 404 and values(headers, "Access-Control-Allow-Origin") == []



@pytest.mark.parametrize("headers, refused", [
    ([], False),
    ([("Content-Length", "0")], False),
    ([("Content-Length", "12")], False),
    ([("Transfer-Encoding", "chunked")], True),
    ([("transfer-encoding", "identity")], True),
    ([("Content-Length", "5"), ("Content-Length", "6")], True),
    ([("Content-Length", "5"), ("Content-Length", "5")], False),
    ([("Content-Length", "-1")], True),
    ([("Content-Length", "1e3")], True),
    ([("Content-Length", "\u0661")], True),  # an Arabic-Indic digit one: isdigit(), but no number HTTP knows
])
def test_body_problem(headers, refused):
    assert (body_problem(headers) is not None) == refused


def test_a_request_with_a_body_it_cannot_skip_is_400(lab, ask):
    status, headers, body = ask(lab.cdn.url("picture.png"), {"Transfer-Encoding": "chunked"})
    assert status == 400 and b"Transfer-Encoding: chunked" in body
    assert lab.cdn.log[-1].error.startswith("the request has a body sent with Transfer-Encoding")
