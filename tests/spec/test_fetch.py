"""Tests for cors_lab.spec.fetch: the crossorigin table, request headers, CORS check, redirects."""

import pytest

from cors_lab.errors import UsageError
from cors_lab.spec.fetch import (
    CHROMIUM_IMAGE_ACCEPT,
    SPEC_IMAGE_ACCEPT,
    cors_check,
    cors_settings_state,
    fetch_image,
    hop_request,
    image_request,
    redirect_taint,
    includes_credentials,
    sec_fetch_site,
    serialize_request_origin,
    url_includes_credentials,
)
from cors_lab.spec.origins import parse_origin

A = "https://a.test"
B = "https://b.test"
C = "https://c.test"


def req(url, page=A, crossorigin="anonymous", **kw):
    return image_request(url, page_origin=parse_origin(page), crossorigin=crossorigin, **kw)


# --- CORS settings attribute ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, state",
    [
        pytest.param(None, "No CORS", id="missing-value-default-no-cors"),
        pytest.param("", "Anonymous", id="empty-string-anonymous"),
        pytest.param("anonymous", "Anonymous", id="keyword-anonymous"),
        pytest.param("Anonymous", "Anonymous", id="keyword-case-insensitive"),
        pytest.param("ANONYMOUS", "Anonymous", id="keyword-upper"),
        pytest.param("use-credentials", "Use Credentials", id="keyword-use-credentials"),
        pytest.param("USE-Credentials", "Use Credentials", id="use-credentials-any-case"),
        pytest.param("foo", "Anonymous", id="invalid-value-default-anonymous"),
        pytest.param("true", "Anonymous", id="invalid-true-is-anonymous"),
        pytest.param(" anonymous", "Anonymous", id="padded-is-invalid-so-anonymous"),
        pytest.param(" use-credentials", "Anonymous", id="padded-use-credentials-is-invalid"),
        pytest.param("use-credentiaLS", "Use Credentials", id="mixed-case-use-credentials"),
        pytest.param("ANONYMOUſ", "Anonymous", id="non-ascii-fold-is-invalid-still-anonymous"),
        pytest.param("usE-credentİals", "Anonymous", id="unicode-dotted-i-not-folded"),
    ],
)
def test_cors_settings_state(value, state):
    assert cors_settings_state(value) == state


def test_cors_settings_rejects_non_string():
    with pytest.raises(UsageError, match="crossorigin must be None"):
        cors_settings_state(True)


@pytest.mark.parametrize(
    "crossorigin, mode, credentials",
    [
        pytest.param(None, "no-cors", "include", id="potential-cors-no-cors-include"),
        pytest.param("anonymous", "cors", "same-origin", id="potential-cors-anonymous-same-origin"),
        pytest.param("use-credentials", "cors", "include", id="potential-cors-use-credentials-include"),
        pytest.param("bogus", "cors", "same-origin", id="potential-cors-invalid-as-anonymous"),
    ],
)
def test_image_request_mode_and_credentials(crossorigin, mode, credentials):
    r = req(B + "/i.png", crossorigin=crossorigin)
    assert (r.mode, r.credentials_mode, r.destination) == (mode, credentials, "image")


# --- CORS check ----------------------------------------------------------------------------------


def checked(acao, crossorigin="anonymous", page=A, acac=None, extra=()):
    r = req(B + "/i.png", page=page, crossorigin=crossorigin)
    r.response_tainting = "cors"
    headers = []
    if acao is not None:
        headers += [("Access-Control-Allow-Origin", v) for v in (acao if isinstance(acao, list) else [acao])]
    if acac is not None:
        headers.append(("Access-Control-Allow-Credentials", acac))
    return cors_check(r, headers + list(extra))


@pytest.mark.parametrize(
    "acao, crossorigin, page, acac, ok, step",
    [
        pytest.param(None, "anonymous", A, None, False, "cors-check-step2-no-acao", id="cors-check-step2-absent"),
        pytest.param("*", "anonymous", A, None, True, "cors-check-step3-wildcard", id="cors-check-step3-wildcard"),
        pytest.param(" * ", "anonymous", A, None, True, "cors-check-step3-wildcard", id="cors-check-step3-padded-wildcard"),
        pytest.param("\t*", "anonymous", A, None, True, "cors-check-step3-wildcard", id="cors-check-step3-tab-padded"),
        pytest.param("*", "use-credentials", A, "true", False, "cors-check-step4-wildcard-with-credentials",
                     id="cors-check-step4-wildcard-with-credentials-even-acac-true"),
        pytest.param(A, "anonymous", A, None, True, "cors-check-step5-exact-origin", id="cors-check-step5-exact"),
        pytest.param(A + "/", "anonymous", A, None, False, "cors-check-step4-mismatch", id="cors-check-step4-trailing-slash"),
        pytest.param("HTTPS://A.TEST", "anonymous", A, None, False, "cors-check-step4-mismatch", id="cors-check-step4-case"),
        pytest.param("https://a.test:443", "anonymous", A, None, False, "cors-check-step4-mismatch",
                     id="cors-check-step4-explicit-default-port"),
        pytest.param("https://a.test:8443", "anonymous", A, None, False, "cors-check-step4-mismatch",
                     id="cors-check-step4-wrong-port"),
        pytest.param("http://a.test", "anonymous", A, None, False, "cors-check-step4-mismatch", id="cors-check-step4-wrong-scheme"),
        pytest.param("a.test", "anonymous", A, None, False, "cors-check-step4-mismatch", id="cors-check-step4-host-only"),
        pytest.param([A, A], "anonymous", A, None, False, "cors-check-step4-multiple-values", id="cors-check-step4-two-headers"),
        pytest.param(["*", "*"], "anonymous", A, None, False, "cors-check-step4-multiple-values", id="cors-check-step4-two-wildcards"),
        pytest.param(f"{A}, {B}", "anonymous", A, None, False, "cors-check-step4-multiple-values", id="cors-check-step4-comma-list"),
        pytest.param(f"{A} {B}", "anonymous", A, None, False, "cors-check-step4-mismatch", id="cors-check-step4-space-list"),
        pytest.param("", "anonymous", A, None, False, "cors-check-step4-mismatch", id="cors-check-step4-empty-value"),
        pytest.param("null", "anonymous", A, None, False, "cors-check-step4-mismatch", id="cors-check-step4-null-for-tuple-origin"),
        pytest.param("null", "anonymous", "null", None, True, "cors-check-step5-exact-origin", id="cors-check-step5-null-for-opaque"),
        pytest.param("*", "anonymous", "null", None, True, "cors-check-step3-wildcard", id="cors-check-step3-wildcard-opaque"),
        pytest.param(A, "anonymous", "null", None, False, "cors-check-step4-mismatch", id="cors-check-step4-exact-vs-opaque"),
        pytest.param(A, "use-credentials", A, "true", True, "cors-check-step7-credentials-true", id="cors-check-step7-acac-true"),
        pytest.param(A, "use-credentials", A, None, False, "cors-check-step8-credentials-not-true", id="cors-check-step8-acac-absent"),
        pytest.param(A, "use-credentials", A, "True", False, "cors-check-step8-credentials-not-true", id="cors-check-step8-acac-True"),
        pytest.param(A, "use-credentials", A, "TRUE", False, "cors-check-step8-credentials-not-true", id="cors-check-step8-acac-upper"),
        pytest.param(A, "use-credentials", A, "1", False, "cors-check-step8-credentials-not-true", id="cors-check-step8-acac-1"),
        pytest.param(A, "use-credentials", A, " true ", True, "cors-check-step7-credentials-true", id="cors-check-step7-acac-padded"),
        pytest.param("null", "use-credentials", "null", "true", True, "cors-check-step7-credentials-true",
                     id="cors-check-step7-null-with-credentials"),
        pytest.param(A, "anonymous", A, "false", True, "cors-check-step5-exact-origin", id="cors-check-step5-acac-ignored-without-credentials"),
    ],
)
def test_cors_check(acao, crossorigin, page, acac, ok, step):
    result = checked(acao, crossorigin, page, acac)
    assert (result.ok, result.step) == (ok, step)
    assert result.reason and (ok or result.console)


def test_cors_check_header_name_case_insensitive():
    r = req(B + "/i.png")
    assert cors_check(r, [("access-control-allow-origin", A)]).ok


def test_cors_check_console_texts_match_chromium():
    assert checked(None).console == "No 'Access-Control-Allow-Origin' header is present on the requested resource."
    assert "must not be the wildcard '*'" in checked("*", "use-credentials", acac="true").console
    assert "contains multiple values" in checked([A, A]).console
    assert checked(A + "/").console == (
        "The 'Access-Control-Allow-Origin' header has a value 'https://a.test/' that is not equal to the supplied origin."
    )


# --- Redirect-tainted origin, Sec-Fetch-Site, credentials ----------------------------------------


@pytest.mark.parametrize(
    "page, urls, taint",
    [
        pytest.param(A, [B + "/x"], "same-origin", id="redirect-taint-step4.1-single-url"),
        pytest.param(A, [A + "/r", B + "/x"], "same-origin", id="redirect-taint-same-then-cross"),
        pytest.param(A, [B + "/r", B + "/x"], "same-origin", id="redirect-taint-cross-same-server"),
        pytest.param(A, [B + "/r", C + "/x"], "cross-site", id="redirect-taint-step4.2-cross-to-other-cross-site"),
        pytest.param(A, [B + "/r", A + "/x"], "cross-site", id="redirect-taint-step4.2-cross-back-to-page"),
        pytest.param(A, [A + "/r", A + "/x"], "same-origin", id="redirect-taint-same-same"),
        pytest.param(A, ["https://x.a.test/r", "https://y.a.test/x"], "same-site",
                     id="redirect-taint-step4.3-same-site-detour"),
        pytest.param(A, ["https://x.a.test/r", A + "/x"], "same-site", id="redirect-taint-step4.3-same-site-back-to-page"),
        pytest.param(A, ["https://x.a.test/r", B + "/x"], "same-site", id="redirect-taint-step4.3-then-cross-site-target"),
        pytest.param(A, [B + "/r", "https://x.a.test/x"], "cross-site", id="redirect-taint-step4.2-cross-site-then-same-site"),
    ],
)
def test_redirect_taint(page, urls, taint):
    r = req(urls[0], page=page)
    r.url_list = list(urls)
    assert redirect_taint(r) == taint
    # Serializing a request origin, step 2: anything but "same-origin" serializes as "null".
    assert serialize_request_origin(r) == (page if taint == "same-origin" else "null")


@pytest.mark.parametrize(
    "page, urls, site",
    [
        pytest.param("http://127.0.0.1:1", ["http://127.0.0.1:1/x"], "same-origin", id="sec-fetch-site-same-origin"),
        pytest.param("http://127.0.0.1:1", ["http://127.0.0.1:2/x"], "same-site", id="sec-fetch-site-port-same-site"),
        pytest.param("http://127.0.0.1:1", ["http://localhost:2/x"], "cross-site", id="sec-fetch-site-localhost-cross-site"),
        pytest.param("http://127.0.0.1:1", ["http://127.0.0.1:2/r", "http://127.0.0.1:1/x"], "same-site",
                     id="sec-fetch-site-redirect-through-same-site"),
        pytest.param("http://127.0.0.1:1", ["http://localhost:2/r", "http://127.0.0.1:1/x"], "cross-site",
                     id="sec-fetch-site-redirect-through-cross-site"),
        pytest.param("null", ["http://127.0.0.1:1/x"], "cross-site", id="sec-fetch-site-opaque-page"),
    ],
)
def test_sec_fetch_site(page, urls, site):
    r = req(urls[0], page=page)
    r.url_list = list(urls)
    assert sec_fetch_site(r) == site


@pytest.mark.parametrize(
    "credentials_mode, tainting, expected",
    [
        pytest.param("include", "opaque", True, id="include-credentials-include"),
        pytest.param("same-origin", "basic", True, id="include-credentials-same-origin-basic"),
        pytest.param("same-origin", "cors", False, id="include-credentials-same-origin-cors"),
        pytest.param("omit", "basic", False, id="include-credentials-omit"),
    ],
)
def test_includes_credentials(credentials_mode, tainting, expected):
    r = req(B + "/x")
    r.credentials_mode, r.response_tainting = credentials_mode, tainting
    assert includes_credentials(r) is expected


# --- Walking a chain ------------------------------------------------------------------------------

ACAO_STAR = [("Access-Control-Allow-Origin", "*")]


def run(url, chain, page=A, crossorigin="anonymous", **kw):
    return fetch_image(req(url, page=page, crossorigin=crossorigin), chain, **kw)


@pytest.mark.parametrize(
    "page, crossorigin, chain, ok, tainting, step",
    [
        pytest.param(A, None, [(A + "/i", 200, [])], True, "basic", "main-fetch-tainting-basic", id="main-fetch-same-origin-basic"),
        pytest.param(A, None, [(B + "/i", 200, [])], True, "opaque", "main-fetch-tainting-opaque", id="main-fetch-no-cors-opaque"),
        pytest.param(A, None, [(B + "/i", 200, ACAO_STAR)], True, "opaque", "main-fetch-tainting-opaque",
                     id="main-fetch-no-cors-acao-star-still-opaque"),
        pytest.param(A, "anonymous", [(B + "/i", 200, ACAO_STAR)], True, "cors", "main-fetch-tainting-cors", id="main-fetch-cors-ok"),
        pytest.param(A, "anonymous", [(B + "/i", 200, [])], False, "cors", "cors-check-step2-no-acao",
                     id="main-fetch-cors-no-acao-network-error"),
        pytest.param(A, "anonymous", [(A + "/i", 200, [])], True, "basic", "main-fetch-tainting-basic",
                     id="main-fetch-same-origin-cors-mode-no-check"),
        pytest.param(A, "anonymous", [("http://a.test:443/i", 200, [])], False, "cors", "cors-check-step2-no-acao",
                     id="main-fetch-scheme-differs-cross-origin"),
        pytest.param(A, "anonymous", [("https://a.test:8443/i", 200, [])], False, "cors", "cors-check-step2-no-acao",
                     id="main-fetch-port-differs-cross-origin"),
        pytest.param("http://a.test", "anonymous", [("http://a.test:80/i", 200, [])], True, "basic",
                     "main-fetch-tainting-basic", id="main-fetch-default-port-same-origin"),
        pytest.param(A, "anonymous", [("data:image/png;base64,AAAA", 200, [])], True, "basic", "main-fetch-tainting-basic",
                     id="main-fetch-data-url-basic"),
        pytest.param(A, None, [("data:image/png;base64,AAAA", 200, [])], True, "basic", "main-fetch-tainting-basic",
                     id="main-fetch-data-url-no-cors-basic"),
        pytest.param(A, "use-credentials", [(B + "/i", 200, [("Access-Control-Allow-Origin", A), ("Access-Control-Allow-Credentials", "true")])],
                     True, "cors", "main-fetch-tainting-cors", id="main-fetch-use-credentials-ok"),
        pytest.param(A, "anonymous", [(B + "/i", 404, ACAO_STAR)], True, "cors", "main-fetch-tainting-cors",
                     id="main-fetch-404-still-fetched"),
        pytest.param(A, "anonymous", [(B + "/i", 0, [])], False, "cors", "http-network-fetch-failed", id="network-failure"),
        pytest.param("null", "anonymous", [(B + "/i", 200, [("Access-Control-Allow-Origin", "null")])], True, "cors",
                     "main-fetch-tainting-cors", id="opaque-page-null-acao"),
        pytest.param("null", None, [(B + "/i", 200, [])], True, "opaque", "main-fetch-tainting-opaque", id="opaque-page-no-cors"),
        pytest.param("null", "anonymous", [(A + "/i", 200, [])], False, "cors", "cors-check-step2-no-acao",
                     id="opaque-page-every-url-cross-origin"),
        # Redirects
        pytest.param(A, "anonymous", [(B + "/r", 302, [("Location", A + "/i")] + ACAO_STAR), (A + "/i", 200, ACAO_STAR)],
                     True, "cors", "main-fetch-tainting-cors", id="redirect-cross-back-to-page-star-ok"),
        pytest.param(A, "anonymous", [(B + "/r", 302, [("Location", A + "/i")] + ACAO_STAR),
                                      (A + "/i", 200, [("Access-Control-Allow-Origin", "null")])],
                     True, "cors", "main-fetch-tainting-cors", id="redirect-cross-back-to-page-null-ok"),
        pytest.param(A, "anonymous", [(B + "/r", 302, [("Location", A + "/i")] + ACAO_STAR),
                                      (A + "/i", 200, [("Access-Control-Allow-Origin", A)])],
                     False, "cors", "cors-check-step4-mismatch", id="redirect-cross-back-to-page-exact-fails"),
        pytest.param(A, "anonymous", [(B + "/r", 302, [("Location", A + "/i")] + ACAO_STAR), (A + "/i", 200, [])],
                     False, "cors", "cors-check-step2-no-acao", id="redirect-cross-back-to-page-needs-acao"),
        pytest.param(A, "anonymous", [(B + "/r", 302, [("Location", C + "/i")]), (C + "/i", 200, ACAO_STAR)],
                     False, "cors", "cors-check-step2-no-acao", id="redirect-cors-check-on-every-hop"),
        pytest.param(A, "anonymous", [(A + "/r", 302, [("Location", B + "/i")]), (B + "/i", 200, [("Access-Control-Allow-Origin", A)])],
                     True, "cors", "main-fetch-tainting-cors", id="redirect-same-origin-then-cross-origin-keeps-origin"),
        pytest.param(A, "anonymous", [(B + "/r", 301, [("Location", C + "/i")] + ACAO_STAR), (C + "/i", 200, [("Access-Control-Allow-Origin", A)])],
                     False, "cors", "cors-check-step4-mismatch", id="redirect-cross-to-cross-origin-becomes-null"),
        pytest.param(A, None, [(B + "/r", 302, [("Location", A + "/i")]), (A + "/i", 200, [])],
                     True, "opaque", "main-fetch-tainting-opaque", id="redirect-no-cors-back-to-page-stays-opaque"),
        pytest.param(A, None, [(A + "/r", 307, [("Location", B + "/i")]), (B + "/i", 200, [])],
                     True, "opaque", "main-fetch-tainting-opaque", id="redirect-no-cors-same-then-cross-opaque"),
        pytest.param(A, None, [(A + "/r", 308, [("Location", "/i")]), (A + "/i", 200, [])],
                     True, "basic", "main-fetch-tainting-basic", id="redirect-relative-location-same-origin"),
        pytest.param(A, "anonymous", [(B + "/r", 303, [("Location", "https://u:p@c.test/i")] + ACAO_STAR)],
                     False, "cors", "http-redirect-fetch-step9-credentials-in-url", id="http-redirect-fetch-step9-credentials"),
        pytest.param(A, "anonymous", [(B + "/r", 302, [("Location", "https://u:p@a.test/i")] + ACAO_STAR)],
                     False, "cors", "http-redirect-fetch-step10-credentials-in-url",
                     id="http-redirect-fetch-step10-cors-response-to-same-origin-credentials"),
        pytest.param(A, None, [(B + "/r", 302, [("Location", "https://u:p@c.test/i")]), ("https://u:p@c.test/i", 200, [])],
                     True, "opaque", "main-fetch-tainting-opaque", id="http-redirect-fetch-no-cors-credentials-allowed"),
        pytest.param(A, "anonymous", [(B + "/r", 302, [("Location", "data:image/png;base64,AA")] + ACAO_STAR)],
                     False, "cors", "http-redirect-fetch-step6-non-http", id="http-redirect-fetch-step6-to-data"),
        pytest.param(A, None, [(A + "/r", 302, [("Location", "ftp://a.test/i")])],
                     False, "basic", "http-redirect-fetch-step6-non-http", id="http-redirect-fetch-step6-to-ftp"),
        pytest.param(A, None, [(A + "/r", 302, [("Location", "http://[bad/")])],
                     False, "basic", "http-redirect-fetch-step5-bad-location", id="http-redirect-fetch-step5-bad-location"),
        pytest.param(A, None, [(A + "/r", 302, [])], True, "basic", "main-fetch-tainting-basic",
                     id="redirect-status-without-location-is-final"),
    ],
)
def test_fetch_image(page, crossorigin, chain, ok, tainting, step):
    result = run(chain[0][0], chain, page=page, crossorigin=crossorigin)
    assert (result.ok, result.response_tainting, result.step) == (ok, tainting, step)
    assert result.reason
    assert result.cors_same_origin is (ok and tainting in ("basic", "cors"))


def redirect_loop(n):
    chain = [(f"{A}/r{i}", 302, [("Location", f"{A}/r{i + 1}")]) for i in range(n)]
    return chain + [(f"{A}/r{n}", 200, [])]


@pytest.mark.parametrize(
    "hops, ok",
    [
        pytest.param(20, True, id="http-redirect-fetch-step7-twenty-ok"),
        pytest.param(21, False, id="http-redirect-fetch-step7-twenty-one-fails"),
    ],
)
def test_redirect_limit(hops, ok):
    result = run(A + "/r0", redirect_loop(hops), crossorigin=None)
    assert result.ok is ok
    if not ok:
        assert result.step == "http-redirect-fetch-step7-limit"


@pytest.mark.parametrize(
    "chain, match",
    [
        pytest.param([], "chain is empty", id="chain-empty"),
        pytest.param([(A + "/i", 200)], "must be \\(url, status, headers\\)", id="chain-entry-short"),
        pytest.param([(A + "/i", 999, [])], "status must be", id="chain-bad-status"),
        pytest.param([(A + "/other", 200, [])], "would request", id="chain-url-mismatch"),
        pytest.param([(A + "/r", 302, [("Location", A + "/i")])], "chain ends there", id="chain-redirect-without-next"),
        pytest.param([(A + "/i", 200, []), (A + "/j", 200, [])], "remove the entries after it", id="chain-extra-after-final"),
        pytest.param([(A + "/r", 302, [("Location", A + "/i")]), (A + "/x", 200, [])], "would request", id="chain-next-not-location"),
    ],
)
def test_fetch_image_bad_chain(chain, match):
    with pytest.raises(UsageError, match=match):
        fetch_image(req(A + "/i" if not chain or chain[0][0] != A + "/r" else A + "/r"), chain)


# --- What the browser sends on each hop ------------------------------------------------------------

L1, L2, LH = "http://127.0.0.1:1", "http://127.0.0.1:2", "http://localhost:3"


@pytest.mark.parametrize(
    "page, crossorigin, url, origin, cookies, mode, site",
    [
        pytest.param(L1, None, L2 + "/i", None, True, "no-cors", "same-site", id="append-origin-no-cors-get-absent"),
        pytest.param(L1, "anonymous", L2 + "/i", L1, False, "cors", "same-site", id="append-origin-cors-present"),
        pytest.param(L1, "use-credentials", L2 + "/i", L1, True, "cors", "same-site", id="use-credentials-sends-cookies"),
        pytest.param(L1, "anonymous", L1 + "/i", L1, True, "cors", "same-origin",
                     id="append-origin-chromium-same-origin-cors-sends-origin"),
        pytest.param(L1, None, L1 + "/i", None, True, "no-cors", "same-origin", id="same-origin-no-cors-cookies"),
        pytest.param(L1, None, LH + "/i", None, False, "no-cors", "cross-site", id="cross-site-third-party-cookies-blocked"),
        pytest.param(L1, "use-credentials", LH + "/i", L1, False, "cors", "cross-site", id="cross-site-credentials-blocked"),
        pytest.param("null", None, L1 + "/i", None, False, "no-cors", "cross-site", id="opaque-page-no-cookies"),
        pytest.param("null", "anonymous", L1 + "/i", "null", False, "cors", "cross-site", id="opaque-page-origin-null"),
    ],
)
def test_hop_request(page, crossorigin, url, origin, cookies, mode, site):
    result = run(url, [(url, 200, [("Access-Control-Allow-Origin", "*")])], page=page, crossorigin=crossorigin)
    sent = result.hops[0].request
    assert (sent.origin, sent.cookies, sent.sec_fetch_mode, sent.sec_fetch_site, sent.sec_fetch_dest) == (
        origin, cookies, mode, site, "image")
    assert sent.accept == CHROMIUM_IMAGE_ACCEPT and sent.cookies_why


def test_origin_header_spec_profile_omits_same_origin():
    # Deviation "origin-on-same-origin-cors" pinned: the standard (and Firefox) send no Origin on a
    # same-origin "cors" GET; Chromium and WebKit do.
    r = req(L1 + "/i", page=L1)
    r.response_tainting = "basic"
    assert hop_request(r, profile="spec").origin is None
    assert hop_request(r, profile="firefox").origin is None
    assert hop_request(r, profile="chromium").origin == L1
    assert hop_request(r, profile="webkit").origin == L1
    assert hop_request(r, profile="spec").accept == SPEC_IMAGE_ACCEPT


def test_redirect_hops_send_null_origin_after_taint():
    chain = [(L2 + "/r", 302, [("Location", LH + "/r")] + ACAO_STAR),
             (LH + "/r", 302, [("Location", L1 + "/i")] + ACAO_STAR),
             (L1 + "/i", 200, ACAO_STAR)]
    result = run(L2 + "/r", chain, page=L1)
    assert [h.request.origin for h in result.hops] == [L1, "null", "null"]
    assert [h.request.sec_fetch_site for h in result.hops] == ["same-site", "cross-site", "cross-site"]
    assert result.ok and result.response_tainting == "cors"


def test_no_sec_fetch_to_untrustworthy_http():
    result = run("http://b.test/i", [("http://b.test/i", 200, ACAO_STAR)], page="http://a.test")
    assert result.hops[0].request.sec_fetch_mode is None
    names = [n for n, _ in result.hops[0].request.headers()]
    assert "Sec-Fetch-Mode" not in names and "Origin" in names


def test_cookies_held_false():
    result = run(L1 + "/i", [(L1 + "/i", 200, [])], page=L1, crossorigin=None, cookies_held=False)
    assert not result.hops[0].request.cookies
    assert "holds no cookies" in result.hops[0].request.cookies_why


@pytest.mark.parametrize(
    "page_url, url, expected",
    [
        pytest.param(L1 + "/page.html?q#f", L1 + "/i", L1 + "/page.html?q", id="referrer-same-origin-full-url"),
        pytest.param(L1 + "/page.html", L2 + "/i", L1 + "/", id="referrer-cross-origin-origin-only"),
        pytest.param("https://a.test/p", "http://b.test/i", None, id="referrer-downgrade-none"),
    ],
)
def test_referer(page_url, url, expected):
    r = image_request(url, page_origin=parse_origin(page_url), crossorigin=None, page_url=page_url)
    assert hop_request(r).referer == expected


def test_headers_include_cookie_only_when_sent():
    result = run(L1 + "/i", [(L1 + "/i", 200, [])], page=L1, crossorigin=None)
    assert ("Cookie", "a=1") in result.hops[0].request.headers(cookie="a=1")
    result = run(L2 + "/i", [(L2 + "/i", 200, ACAO_STAR)], page=L1)
    assert all(n != "Cookie" for n, _ in result.hops[0].request.headers(cookie="a=1"))


def test_url_includes_credentials():
    assert url_includes_credentials("http://u@a.test/") and not url_includes_credentials("http://a.test/")


def test_failed_cors_check_names_the_hop():
    chain = [(B + "/r", 302, [("Location", C + "/i")]), (C + "/i", 200, ACAO_STAR)]
    result = run(B + "/r", chain)
    assert result.reason.endswith(f"(on the redirect response from {B}/r, hop 1)")
    chain = [(B + "/r", 302, [("Location", C + "/i")] + ACAO_STAR), (C + "/i", 200, [])]
    assert run(B + "/r", chain).reason.endswith(f"(on the response from {C}/i, hop 2)")
    assert "hop" not in run(B + "/i", [(B + "/i", 200, [])]).reason
