"""cors_lab/spec/profiles.py: every engine profile's deviations, each pinned in the model where it acts.

Case ids name the deviation. The engines themselves are held to these profiles by the conformance
suite and the canvas sequences (browser tier); here the model's side of each rule is pinned, with the
standard's answer beside it.
"""

import pytest

from cors_lab import predict
from cors_lab.browser import Browser, RawResponse
from cors_lab.errors import UsageError
from cors_lab.sequences import model as sequence
from cors_lab.spec import canvas
from cors_lab.spec.fetch import fetch_image, image_request
from cors_lab.spec.origins import parse_origin
from cors_lab.spec.profiles import (
    DEVIATIONS,
    ENGINE_PROFILES,
    PROFILE_NAMES,
    PROFILES,
    deviation_table,
    get_profile,
)

SITE, CDN, OTHER = "http://127.0.0.1:8000", "http://127.0.0.1:9000", "http://localhost:7000"
ACAO_STAR = [("Access-Control-Allow-Origin", "*")]


def hops(page, chain, crossorigin, profile, *, container=None):
    out = predict(page=page, chain=chain, crossorigin=crossorigin, engine=profile, container=container)
    return out.requests


def test_profiles_are_the_four_and_spec_has_no_deviation():
    assert PROFILE_NAMES == ("spec", "chromium", "firefox", "webkit")
    assert PROFILES["spec"].deviations == ()
    for name in ENGINE_PROFILES:
        assert PROFILES[name].deviations and PROFILES[name].engine[0].isupper()


def test_every_deviation_is_documented_and_linked():
    for d in DEVIATIONS.values():
        assert d.kind in ("deviation", "choice") and d.what and d.standard and d.pinned_by
        assert d.links and all(link.startswith("https://") for link in d.links)
    assert {r["name"] for r in deviation_table()} == set(DEVIATIONS)


def test_unknown_profile_and_deviation_names_are_usage_errors():
    with pytest.raises(UsageError, match="spec, chromium, firefox, webkit"):
        get_profile("safari")
    with pytest.raises(UsageError, match="Unknown deviation"):
        PROFILES["chromium"].has("no-such-thing")


# --- Fetch: request headers -------------------------------------------------------------------------


@pytest.mark.parametrize("profile, origin", [
    ("spec", None), ("chromium", SITE), ("firefox", None), ("webkit", SITE),
], ids=lambda v: str(v))
def test_origin_on_same_origin_cors(profile, origin):
    [hop] = hops(SITE, [(SITE + "/i.png", 200, [])], "anonymous", profile)
    assert hop.origin == origin


@pytest.mark.parametrize("profile, site_after_redirect", [
    ("spec", "same-site"), ("chromium", "same-site"), ("firefox", "cross-site"), ("webkit", "same-site"),
], ids=lambda v: str(v))
def test_sec_fetch_site_cross_site_after_redirect(profile, site_after_redirect):
    # site -> cdn (same host, another port: same site); a no-cors request keeps its metadata everywhere.
    chain = [(SITE + "/r", 302, [("Location", CDN + "/i.png")]), (CDN + "/i.png", 200, [])]
    first, second = hops(SITE, chain, None, profile)
    assert (first.sec_fetch_site, second.sec_fetch_site) == ("same-origin", site_after_redirect)


@pytest.mark.parametrize("profile, metadata", [
    ("spec", "cors"), ("chromium", "cors"), ("firefox", "cors"), ("webkit", None),
], ids=lambda v: str(v))
def test_no_sec_fetch_after_cors_redirect(profile, metadata):
    chain = [(CDN + "/r", 302, [("Location", SITE + "/i.png")] + ACAO_STAR), (SITE + "/i.png", 200, ACAO_STAR)]
    first, second = hops(SITE, chain, "anonymous", profile)
    assert first.sec_fetch_mode == "cors" and second.sec_fetch_mode == metadata
    assert (second.sec_fetch_site is None) is (metadata is None)


@pytest.mark.parametrize("profile, origin, referer", [
    ("spec", None, None), ("chromium", "null", None), ("firefox", "null", SITE + "/"), ("webkit", None, SITE + "/"),
], ids=lambda v: str(v))
def test_opaque_frame_inside_an_http_page(profile, origin, referer):
    """A sandboxed srcdoc frame in a site page, image from the same site: storage-access-headers
    (Chromium: Origin null), origin-null-on-opaque-no-cors (Firefox) and referer-from-opaque-frame
    (Firefox, WebKit: the standard sends no Referer from an opaque origin)."""
    [hop] = hops("null", [(CDN + "/i.png", 200, [])], None, profile, container=SITE + "/page")
    assert (hop.origin, hop.referer) == (origin, referer)
    [alone] = hops("null", [(CDN + "/i.png", 200, [])], None, profile)  # no container: nothing to send
    assert (alone.origin, alone.referer) == (None, None)


def test_referrer_is_set_once_per_hop_and_only_shrinks():
    # Main fetch runs again for every redirect and takes the referrer it already holds as its source.
    chain = [(CDN + "/r", 302, [("Location", SITE + "/i.png")]), (SITE + "/i.png", 200, [])]
    for profile in PROFILE_NAMES:
        first, second = hops(SITE + "/page?x=1", chain, None, profile)
        assert first.referer == SITE + "/" and second.referer == SITE + "/"
    [same] = hops(SITE + "/page?x=1", [(SITE + "/i.png", 200, [])], None, "spec")
    assert same.referer == SITE + "/page?x=1"


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_accept_is_the_profile_s(profile):
    [hop] = hops(SITE, [(CDN + "/i.png", 200, [])], None, profile)
    assert hop.accept == PROFILES[profile].accept


@pytest.mark.parametrize("profile, why", [
    ("chromium", "blocks third-party cookies"), ("webkit", "blocks third-party cookies"),
    ("firefox", "separate jar per top-level site"), ("spec", "never sent cross-site"),
], ids=lambda v: str(v))
def test_third_party_cookie_policy_is_the_profile_s(profile, why):
    request = image_request(OTHER + "/i.png", page_origin=parse_origin(SITE), crossorigin="use-credentials")
    result = fetch_image(request, [(OTHER + "/i.png", 200, [])], profile=profile)
    assert not result.hops[0].request.cookies and why in result.hops[0].request.cookies_why


# --- Canvas ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, expected", [
    ("width-reset-cleans", {"spec": "ok", "chromium": "ok", "firefox": "SecurityError", "webkit": "SecurityError"}),
    ("height-reset-cleans", {"spec": "ok", "chromium": "ok", "firefox": "SecurityError", "webkit": "SecurityError"}),
    ("ctx-reset-keeps-taint", {"spec": "ok", "chromium": "SecurityError", "firefox": "SecurityError",
                               "webkit": "SecurityError"}),
    ("clearRect-keeps-taint", dict.fromkeys(PROFILE_NAMES, "SecurityError")),
    ("getImageData-zero-width-on-tainted", {"spec": "IndexSizeError", "chromium": "SecurityError",
                                            "firefox": "SecurityError", "webkit": "IndexSizeError"}),
    ("bitmaprenderer-null-after-tainted", {"spec": "ok", "chromium": "SecurityError", "firefox": "SecurityError",
                                           "webkit": "ok"}),
    ("bitmaprenderer-clean-bitmap-after-tainted", {"spec": "ok", "chromium": "SecurityError",
                                                   "firefox": "SecurityError", "webkit": "ok"}),
    ("bitmaprenderer-width-after-tainted", {"spec": "ok", "chromium": "SecurityError", "firefox": "SecurityError",
                                            "webkit": "SecurityError"}),
], ids=lambda v: v if isinstance(v, str) else "")
def test_what_cleans_a_tainted_canvas_per_profile(name, expected):
    assert {p: sequence(name, profile=p) for p in PROFILE_NAMES} == expected


@pytest.mark.parametrize("profile, exception", [
    ("spec", "InvalidStateError"), ("chromium", "InvalidStateError"), ("firefox", "InvalidStateError"), ("webkit", None),
], ids=lambda v: str(v))
def test_network_error_image_not_broken(profile, exception):
    cors_failure = predict(page=SITE, chain=[(CDN + "/i.png", 200, [])], crossorigin="anonymous",
                           operation="drawImage", engine=profile)
    undecodable = predict(page=SITE, chain=[(SITE + "/i.png", 200, [])], operation="drawImage", decodes=False,
                          engine=profile)
    assert cors_failure.load == "error" and cors_failure.exception == exception
    assert undecodable.exception == "InvalidStateError"  # WebKit too: only an undecodable image is "broken"


@pytest.mark.parametrize("profile, gl_error", [
    ("spec", 0x0501), ("chromium", 0x0501), ("firefox", 0), ("webkit", 0x0501),
], ids=lambda v: str(v))
def test_teximage2d_broken_image(profile, gl_error):
    out = predict(page=SITE, chain=[(CDN + "/i.png", 200, [])], crossorigin="anonymous", operation="texImage2D",
                  engine=profile)
    assert out.exception is None and out.extra["gl_error"] == gl_error


# --- Cache keys -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile, then, requests", [
    ("chromium", "anonymous", 1), ("chromium", "use-credentials", 1),
    ("firefox", "anonymous", 2), ("firefox", "use-credentials", 1),
    ("webkit", "anonymous", 2), ("webkit", "use-credentials", 2),
    ("spec", "anonymous", 1),
], ids=lambda v: str(v))
def test_cache_key_credentials_and_request_mode(profile, then, requests):
    """A plain load, then a crossorigin load of the same URL stored with max-age and no Vary."""
    sent = []

    def transport(url, headers, timeout):
        sent.append(dict(headers))
        return RawResponse(200, (("Content-Type", "image/png"), ("Cache-Control", "max-age=3600")), b"")

    b = Browser(SITE, transport=transport, engine=profile)
    b.load_image(CDN + "/i.png")
    b.load_image(CDN + "/i.png", crossorigin=then)
    assert len(sent) == requests


# --- Messages ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("profile, operation, message", [
    ("chromium", "getImageData",
     "Failed to execute 'getImageData' on 'CanvasRenderingContext2D': The canvas has been tainted by cross-origin data."),
    ("firefox", "getImageData", "The operation is insecure."),
    ("firefox", "convertToBlob", "OffscreenCanvas.convertToBlob: Cannot get blob from write-only canvas."),
    ("webkit", "toDataURL", "The operation is insecure."),
    ("webkit", "captureStream", "Canvas is tainted"),
    ("spec", "getImageData", "The operation is insecure."),
], ids=lambda v: str(v)[:20])
def test_security_error_text_is_the_engine_s(profile, operation, message):
    out = predict(page=SITE, chain=[(CDN + "/i.png", 200, [])], operation=operation, engine=profile)
    assert (out.exception, out.message) == ("SecurityError", message)


@pytest.mark.parametrize("profile, operation, message", [
    ("chromium", "drawImage", "Failed to execute 'drawImage' on 'CanvasRenderingContext2D': "
                              "The HTMLImageElement provided is in the 'broken' state."),
    ("firefox", "drawImage", 'CanvasRenderingContext2D.drawImage: Passed-in image is "broken"'),
    ("firefox", "transferToImageBitmap", 'OffscreenCanvasRenderingContext2D.drawImage: Passed-in image is "broken"'),
    ("firefox", "pattern", "CanvasRenderingContext2D.createPattern: Passed-in image's current request's state is \"broken\""),
    ("firefox", "createImageBitmap", "Window.createImageBitmap: The source image could not be decoded"),
    ("webkit", "createImageBitmap", "Cannot create ImageBitmap that is not completely available"),
], ids=lambda v: str(v)[:20])
def test_invalid_state_error_text_is_the_engine_s(profile, operation, message):
    out = predict(page=SITE, chain=[(CDN + "/i.png", 200, [])], crossorigin="anonymous", operation=operation,
                  engine=profile)
    assert (out.exception, out.message) == ("InvalidStateError", message)


def test_console_lines_are_the_engine_s():
    def console(profile, headers, crossorigin="anonymous"):
        return predict(page=SITE, chain=[(CDN + "/i.png", 200, headers)], crossorigin=crossorigin,
                       engine=profile).console

    assert console("chromium", []).startswith(f"Access to image at '{CDN}/i.png' from origin '{SITE}' has been blocked")
    assert console("firefox", []) == (
        "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at "
        f"{CDN}/i.png. (Reason: CORS header ‘Access-Control-Allow-Origin’ missing). Status code: 200.")
    two = [("Access-Control-Allow-Origin", SITE)] * 2
    assert "Multiple CORS header" in console("firefox", two)
    assert "does not match ‘null’" in console("firefox", [("Access-Control-Allow-Origin", "null")])
    assert console("webkit", []) == "" and console("spec", []) == ""  # WebKit's console is not captured


def test_canvas_model_takes_a_profile():
    c = canvas.Canvas(2, 2, profile="firefox")
    c.draw_image(canvas.ImageSource(response_tainting="opaque"))
    with pytest.raises(Exception, match="The operation is insecure."):
        c.get_image_data(0, 0, 2, 2)


# --- The learner's browser -----------------------------------------------------------------------------

@pytest.mark.parametrize("engine, version, platform, name, profile, measured, says", [
    ("chromium", "156", "Linux", "Chromium", "chromium", True, "Chromium 156.0.8078.108, measured"),
    ("chromium", "156", "Windows", "Google Chrome", "chromium", True, "measured by the kit"),
    ("firefox", "153", "Linux", "Firefox", "firefox", True, "Firefox ESR 153.8.0, measured"),
    ("firefox", "128", "Linux", "Firefox", "firefox", False, "has not measured Firefox 128 on Linux"),
    ("chromium", "120", "macOS", "Google Chrome", "chromium", False, "has not measured Google Chrome 120 on macOS"),
    ("webkit", "", "Linux", "WebKitGTK", "webkit", True, "cannot read the WebKit version"),
    ("webkit", "18.2", "macOS", "Safari", "webkit", False, "has not measured Safari 18.2 on macOS"),
    ("webkit", "17", "iOS", "Safari", "webkit", False, "own network stack"),
    ("unknown", "", "Linux", "", "spec", False, "could not tell which engine"),
    (None, None, None, None, "spec", False, "standards' letter"),
])
def test_a_learner_s_browser_is_matched_to_a_profile_and_said_measured_or_not(engine, version, platform, name,
                                                                                profile, measured, says):
    from cors_lab.spec.profiles import match_browser

    m = match_browser(engine, version=version, platform=platform, name=name)
    assert (m.profile, m.measured) == (profile, measured) and says in m.why
    assert ("news, not a disagreement" in m.why) == (not measured and profile != "spec")


def test_the_readme_lists_every_deviation_with_a_link():
    from pathlib import Path

    from cors_lab.spec.profiles import DEVIATIONS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Known browser deviations the kit teaches"):]
    rows = {line.split("`")[1]: line for line in section.splitlines() if line.startswith("| `")}
    missing = [n for n in DEVIATIONS if n not in section]
    assert not missing, f"README's deviation table misses {missing}"
    assert rows and all("](http" in line for line in rows.values())


# --- Deviations found by the random tester and measured in all three engines (issue 13) -------------


@pytest.mark.parametrize("profile, from_other, from_site", [
    ("spec", None, None), ("chromium", "none", "none"), ("firefox", None, "none"), ("webkit", None, None),
], ids=lambda v: str(v))
def test_storage_access_headers_after_a_redirect(profile, from_other, from_site):
    """storage-access-headers (Chromium, Firefox) and storage-access-not-after-tainting-redirect (Firefox): the
    second request, to another site, after a redirect from another origin or from the page's own."""
    for first, want in ((CDN, from_other), (SITE, from_site)):
        chain = [(first + "/r", 302, [("Location", OTHER + "/i.png")]), (OTHER + "/i.png", 200, [])]
        _, b = hops(SITE, chain, None, profile)
        assert b.sec_fetch_storage_access == want, first


@pytest.mark.parametrize("profile, referer", [
    ("spec", None), ("chromium", None), ("firefox", SITE + "/"), ("webkit", SITE + "/page"),
], ids=lambda v: str(v))
def test_opaque_frame_referer_to_its_own_site(profile, referer):
    """referer-from-opaque-frame (Firefox, WebKit) and opaque-frame-referer-origin-only (Firefox), with
    the image on the frame's page's own origin, where strict-origin-when-cross-origin keeps the URL."""
    [hop] = hops("null", [(SITE + "/i.png", 200, [])], None, profile, container=SITE + "/page")
    assert hop.referer == referer


@pytest.mark.parametrize("profile, keeps", [("spec", True), ("chromium", True), ("firefox", True), ("webkit", False)])
def test_secure_cookies_https_only(profile, keeps):
    from cors_lab.spec.fetch import secure_for_cookies

    assert secure_for_cookies(SITE + "/login", profile=profile) is keeps
    assert secure_for_cookies("https://a.test/", profile=profile)


@pytest.mark.parametrize(
    "profile, text_plain, png_as_svg, png_as_video, png_as_pdf",
    [("spec", True, False, True, True), ("chromium", True, False, True, True),
     ("firefox", True, True, True, True), ("webkit", True, False, False, False)],
    ids=lambda v: str(v),
)
def test_which_types_decode_as_images(profile, text_plain, png_as_svg, png_as_video, png_as_pdf):
    """svg-type-sniffs-raster (Firefox) and media-types-not-images (WebKit): a PNG under other labels."""
    from cors_lab.assets import get_asset
    from cors_lab.spec.images import image_loads

    png = get_asset("picture.png").body
    loads = [image_loads(png, t, profile=profile) for t in ("text/plain", "image/svg+xml", "video/mp4", "application/pdf")]
    assert loads == [text_plain, png_as_svg, png_as_video, png_as_pdf]


@pytest.mark.parametrize("profile, gif_from, avif_from", [
    ("chromium", 46, 267), ("spec", 46, 267), ("firefox", 47, 405), ("webkit", 14, 405),
], ids=lambda v: str(v))
def test_when_a_cut_picture_s_size_is_known(profile, gif_from, avif_from):
    """gif-size-after-image-descriptor (Firefox), gif-size-after-screen-descriptor (WebKit),
    avif-size-after-whole-file (both): the shortest cut of the lab's GIF and AVIF that fires load."""
    from cors_lab.assets import get_asset
    from cors_lab.spec.images import image_loads

    for name, first in (("picture.gif", gif_from), ("picture.avif", avif_from)):
        asset = get_asset(name)
        loads = [n for n in range(len(asset.body) + 1) if image_loads(asset.body[:n], asset.content_type, profile=profile)]
        assert loads[0] == first and loads == list(range(first, len(asset.body) + 1)), name


@pytest.mark.parametrize("profile, calls_png, calls_text", [
    ("spec", 1, 1), ("chromium", 2, 1), ("firefox", 1, 1), ("webkit", 2, 2),
], ids=lambda v: str(v))
def test_a_load_cancelled_by_its_cors_check_and_the_cache(profile, calls_png, calls_text):
    """cancelled-load-not-cached (Chromium, WebKit) and sniffed-body-cached-before-cancel (Chromium): an
    anonymous load failing its CORS check, then the same load again: how many requests reach the server."""
    from cors_lab.assets import get_asset

    body = get_asset("picture.png").body
    for ctype, calls in (("image/png", calls_png), ("text/plain", calls_text)):
        sent = []

        def transport(url, headers, timeout, ctype=ctype):
            sent.append(url)
            return RawResponse(200, (("Content-Type", ctype), ("Cache-Control", "max-age=3600")), body)

        b = Browser(SITE, transport=transport, engine=profile)
        for _ in range(2):
            assert b.load_image(CDN + "/x.png", crossorigin="anonymous").event == "error"
        assert len(sent) == calls, ctype


@pytest.mark.parametrize("profile, sent", [("spec", False), ("chromium", True), ("firefox", False), ("webkit", True)])
def test_cookies_after_a_redirect_through_another_site(profile, sent):
    """RFC 6265bis counts a cross-site redirect (Firefox); cookies-ignore-redirect-chain (Chromium, WebKit)."""
    chain = [(OTHER + "/r", 302, [("Location", CDN + "/i.png")]), (CDN + "/i.png", 200, [])]
    out = predict(page=SITE, chain=chain, cookies=True, engine=profile)
    assert out.requests[1].cookies is sent


@pytest.mark.parametrize("profile, sent", [("spec", False), ("chromium", False), ("firefox", False), ("webkit", True)])
def test_cookies_from_a_sandboxed_frame(profile, sent):
    """cookies-site-from-top-page (WebKit): the frame's request as same-site as its top page's."""
    [hop] = hops("null", [(SITE + "/i.png", 200, [])], None, profile, container=SITE + "/page")
    assert hop.cookies is False  # hops() holds no cookies; ask with them:
    out = predict(page="null", chain=[(SITE + "/i.png", 200, [])], cookies=True, engine=profile, container=SITE + "/page")
    assert out.requests[0].cookies is sent


@pytest.mark.parametrize("profile, load", [("spec", "load"), ("chromium", "load"), ("firefox", "load"), ("webkit", "error")])
def test_a_cross_origin_redirect_after_a_same_origin_start(profile, load):
    """cors-redirect-check-with-credentials (WebKit): site 302 -> cdn 302 (ACAO *) -> cdn, anonymous."""
    star = [("Access-Control-Allow-Origin", "*")]
    chain = [(SITE + "/a", 302, [("Location", CDN + "/b")] + star), (CDN + "/b", 302, [("Location", CDN + "/c")] + star),
             (CDN + "/c", 200, star)]
    assert predict(page=SITE, chain=chain, crossorigin="anonymous", engine=profile).load == load


@pytest.mark.parametrize("profile, same_origin_hop, cross_origin_hop", [
    ("spec", "cors", "cors"), ("chromium", "cors", "cors"), ("firefox", "cors", "cors"), ("webkit", "cors", None),
], ids=lambda v: str(v))
def test_sec_fetch_after_cors_redirects(profile, same_origin_hop, cross_origin_hop):
    """no-sec-fetch-after-cors-redirect (WebKit): only after a redirect to another origin."""
    star = [("Access-Control-Allow-Origin", "*")]
    chain = [(CDN + "/a", 307, [("Location", CDN + "/b")] + star), (CDN + "/b", 302, [("Location", OTHER + "/c")] + star),
             (OTHER + "/c", 200, star)]
    _, second, third = hops(SITE, chain, "anonymous", profile)
    assert (second.sec_fetch_mode, third.sec_fetch_mode) == (same_origin_hop, cross_origin_hop)


@pytest.mark.parametrize("profile, gl_error", [("chromium", 1281), ("webkit", 0)])
def test_teximage2d_of_an_undecodable_image(profile, gl_error):
    """teximage2d-undecodable-image-no-error (WebKit): a same-origin body that did not decode; 1281 is
    INVALID_VALUE, 0 NO_ERROR."""
    out = predict(page=SITE, chain=[(SITE + "/i.png", 200, [])], operation="texImage2D", decodes=False, engine=profile)
    assert out.exception is None and out.extra.get("gl_error") == gl_error
