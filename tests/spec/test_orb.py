"""Tests for cors_lab.spec.orb: Opaque Response Blocking as the PR words it and as Chromium 156 does it."""

import pytest

from cors_lab.assets import get_asset
from cors_lab.spec.fetch import fetch_image, image_request
from cors_lab.spec.orb import CHROMIUM_NEVER_SNIFFED, NEVER_SNIFFED, SAFELISTED, opaque_response_safelist_check
from cors_lab.spec.origins import parse_origin

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
HTML = b"<!doctype html><p>hello"
AVIF = get_asset("picture.avif").body


def ct(value, nosniff=False):
    return [("Content-Type", value)] + ([("X-Content-Type-Options", "nosniff")] if nosniff else [])


@pytest.mark.parametrize(
    "status, headers, body, ok",
    [
        pytest.param(200, ct("image/svg+xml"), b"<svg/>", True, id="orb-step3-1-safelisted-svg"),
        pytest.param(200, ct("text/css"), b"", True, id="orb-step3-1-safelisted-css"),
        pytest.param(200, ct("application/pdf"), PNG, False, id="orb-step3-2-never-sniffed-pdf"),
        pytest.param(206, ct("text/html"), HTML, False, id="orb-step3-3-partial-blocklisted"),
        pytest.param(200, ct("text/plain", nosniff=True), PNG, False, id="orb-step3-4-nosniff-text-plain"),
        pytest.param(200, ct("text/html"), PNG, True, id="orb-step10-image-bytes-pass"),
        pytest.param(200, ct("text/html", nosniff=True), PNG, True, id="orb-step10-image-before-nosniff"),
        pytest.param(200, ct("text/html", nosniff=True), HTML, False, id="orb-step11-nosniff-not-image"),
        pytest.param(404, ct("text/html"), HTML, False, id="orb-step12-not-ok-status"),
        pytest.param(200, [], HTML, True, id="orb-step13-no-mime-type"),
        pytest.param(200, ct("image/png"), HTML, False, id="orb-step14-image-type-not-an-image"),
        pytest.param(200, ct("text/html"), HTML, False, id="orb-step15-not-javascript"),
    ],
)
def test_safelist_check_spec(status, headers, body, ok):
    assert opaque_response_safelist_check(status, headers, body=body, profile="spec").ok is ok


@pytest.mark.parametrize(
    "headers, ok",
    [
        pytest.param(ct("application/pdf"), False, id="orb-chromium-pdf-blocked"),
        pytest.param(ct("application/zip"), False, id="orb-chromium-zip-blocked"),
        pytest.param(ct("text/csv"), False, id="orb-chromium-csv-blocked"),
        pytest.param(ct("text/event-stream"), False, id="orb-chromium-event-stream-blocked"),
        pytest.param(ct("audio/mpeg"), True, id="orb-chromium-deviation-media-type-not-blocked"),
        pytest.param(ct("text/html"), True, id="orb-chromium-html-sniffed"),
        pytest.param(ct("text/html", nosniff=True), False, id="orb-chromium-deviation-html-nosniff-blocked-even-for-image"),
        pytest.param(ct("application/json", nosniff=True), False, id="orb-chromium-json-nosniff-blocked"),
        pytest.param(ct("text/xml", nosniff=True), False, id="orb-chromium-xml-nosniff-blocked"),
        pytest.param(ct("text/plain", nosniff=True), False, id="orb-chromium-text-plain-nosniff-blocked"),
        pytest.param(ct("image/svg+xml", nosniff=True), True, id="orb-chromium-svg-safelisted"),
        pytest.param(ct("image/jpeg", nosniff=True), True, id="orb-chromium-image-type-nosniff-passes"),
        pytest.param([], True, id="orb-chromium-no-content-type"),
    ],
)
def test_safelist_check_chromium(headers, ok):
    # Chromium decides by the headers (its "ORB v0.1"): the bytes are a PNG in every case.
    assert opaque_response_safelist_check(200, headers, body=PNG).ok is ok


def test_type_sets():
    assert CHROMIUM_NEVER_SNIFFED < NEVER_SNIFFED and not SAFELISTED & NEVER_SNIFFED


@pytest.mark.parametrize(
    "page, url, crossorigin, ok",
    [
        pytest.param("https://a.test", "https://b.test/i", None, False, id="orb-applies-to-opaque-response"),
        pytest.param("https://a.test", "https://a.test/i", None, True, id="orb-not-for-same-origin-basic"),
        pytest.param("https://a.test", "https://b.test/i", "anonymous", True, id="orb-not-for-cors-response"),
    ],
)
def test_fetch_applies_orb_to_opaque_responses_only(page, url, crossorigin, ok):
    r = image_request(url, page_origin=parse_origin(page), crossorigin=crossorigin)
    result = fetch_image(r, [(url, 200, ct("application/pdf") + [("Access-Control-Allow-Origin", "*")])])
    assert result.ok is ok
    if not ok:
        assert result.step == "http-fetch-step4-orb-blocked" and result.console == ""  # none the page can see


@pytest.mark.parametrize(
    "headers, body, ok",
    [
        pytest.param(ct("text/html"), HTML, False, id="orb-chromium-deviation-html-body-sniffed-blocked"),
        pytest.param(ct("text/html"), b"  <!-- c --> <P>x", False, id="orb-chromium-html-after-comment"),
        pytest.param(ct("text/xml"), b'<?xml version="1.0"?><a/>', False, id="orb-chromium-xml-body-blocked"),
        pytest.param(ct("application/json"), b'{"a": 1}', False, id="orb-chromium-json-body-blocked"),
        pytest.param(ct("text/plain"), HTML, False, id="orb-chromium-text-plain-html-body-blocked"),
        pytest.param(ct("text/plain"), b"just words", True, id="orb-chromium-text-plain-words-pass"),
        pytest.param(ct("image/png"), HTML, True, id="orb-chromium-image-type-html-body-pass"),
        pytest.param(ct("text/html"), PNG, True, id="orb-chromium-html-type-image-body-pass"),
    ],
)
def test_safelist_check_chromium_sniffs_to_confirm(headers, body, ok):
    assert opaque_response_safelist_check(200, headers, body=body).ok is ok


@pytest.mark.parametrize("browser, ok", [pytest.param("chromium", True, id="orb-chromium-deviation-same-origin-final-url"),
                                         pytest.param("spec", False, id="orb-step4-opaque-tainting-after-redirect")])
def test_orb_after_a_redirect_back_to_the_page_origin(browser, ok):
    a, b = "https://a.test", "https://b.test"
    r = image_request(b + "/r", page_origin=parse_origin(a), crossorigin=None)
    chain = [(b + "/r", 302, [("Location", a + "/i")]), (a + "/i", 200, ct("text/csv"))]
    assert fetch_image(r, chain, profile=browser).ok is ok


# What each engine does with a no-cors response from another origin, measured (tools/measure_orb.py):
# (Content-Type, nosniff, body) -> allowed per profile: spec, chromium, firefox, webkit.
ENGINES_MEASURED = [
    pytest.param("text/plain", True, PNG, (False, False, True, True), id="orb-text-plain-nosniff-allowed-firefox"),
    pytest.param("text/html", True, PNG, (True, False, False, True), id="orb-nosniff-blocks-before-sniffing-firefox"),
    pytest.param("audio/mpeg", False, PNG, (False, True, True, True), id="orb-media-types-not-blocked"),
    pytest.param("multipart/x-mixed-replace", False, PNG, (False, True, False, True), id="orb-multipart-blocked-firefox"),
    pytest.param("application/zip", False, PNG, (False, False, False, True), id="orb-no-orb-webkit"),
    pytest.param("image/avif", False, AVIF, (False, True, True, True), id="orb-sniffs-avif-spec-blocks"),
    pytest.param("text/html", False, HTML, (False, False, False, True), id="orb-html-body-blocked"),
]


@pytest.mark.parametrize("ctype, nosniff, body, allowed", ENGINES_MEASURED)
def test_each_engine_s_orb_as_measured(ctype, nosniff, body, allowed):
    headers = ct(ctype) + ([("X-Content-Type-Options", "nosniff")] if nosniff else [])
    got = tuple(opaque_response_safelist_check(200, headers, body=body, profile=p).ok
                for p in ("spec", "chromium", "firefox", "webkit"))
    assert got == allowed


def test_firefox_console_names_its_reason():
    from cors_lab.spec.profiles import get_profile

    check = opaque_response_safelist_check(200, ct("text/csv"), body=PNG, profile="firefox")
    assert not check.ok and check.rule == "never-sniffed"
    line = get_profile("firefox").orb_console(rule=check.rule, url="http://b.test/i")
    assert line == ("The resource at “http://b.test/i” was blocked by OpaqueResponseBlocking. "
                    "Reason: “mimeType is an opaque-blocklisted-never-sniffed MIME type”.")
    assert get_profile("chromium").orb_console(rule=check.rule, url="http://b.test/i") == ""
