"""Engine profiles: where each browser engine departs from the standards, as named, measured data.

Owns the four profiles the model predicts for: ``"spec"`` (the standards' letter), ``"chromium"``,
``"firefox"`` and ``"webkit"``. A profile is a set of named `Deviation` s (each: what the engine does,
what the standard says, the version measured, the WPT file or bug that backs it), the request
``Accept`` header, its exception texts and its console lines. The rules in fetch.py, cache.py and
canvas/ ask ``profile.has(name)`` at the one step a deviation changes; nothing else branches on an
engine. Pure: stdlib only, no I/O.

Every entry was found by measurement over the lab's real servers (tools/measure_engines.py, the
conformance suite, the canvas sequences), on 2026-11-29/30: Chromium 156.0.8078.108 (Debian, through
Playwright), Firefox ESR 153.8.0 (Debian, through Marionette), WebKitGTK 2.50.6 (Debian's
MiniBrowser, through WebKitWebDriver). ``kind`` is "deviation" where the engine contradicts the
standard (or current WPT), "choice" where the standard leaves the behaviour to the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from ..errors import UsageError

PROFILE_NAMES = ("spec", "chromium", "firefox", "webkit")
ENGINE_PROFILES = ("chromium", "firefox", "webkit")
# What predict() and the kernel browser predict for when not told.
DEFAULT_PROFILE = "chromium"
KINDS = ("deviation", "choice")

WPT = "https://github.com/web-platform-tests/wpt/blob/master/"
CANVAS_WPT = WPT + "html/semantics/embedded-content/the-canvas-element/"
MEASURED = {
    "chromium": "Chromium 156.0.8078.108",
    "firefox": "Firefox ESR 153.8.0",
    "webkit": "WebKitGTK 2.50.6",
}


@dataclass(frozen=True)
class Deviation:
    """One way an engine departs from the standard (``kind`` "deviation") or fills a gap it leaves
    ("choice"): ``what`` the engine does, what the ``standard`` says, and ``links`` (WPT, bugs)."""

    name: str
    kind: str
    what: str
    standard: str
    links: tuple[str, ...] = ()
    pinned_by: str = ""  # the scenario, sequence or test that shows it (conformance runs every one)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise UsageError(f"Deviation kind must be one of {KINDS}, not {self.kind!r}.")


# --- The deviations, each described once ------------------------------------------------------------

_D = {
    d.name: d
    for d in (
        Deviation(
            "origin-on-same-origin-cors", "deviation",
            "sends `Origin` on a same-origin image request in CORS mode (`<img crossorigin>` from its own origin)",
            'Fetch, append a request `Origin` header, step 3: only when "request\'s response tainting is "cors"" '
            '(a same-origin GET has "basic" tainting, so no Origin)',
            ("https://github.com/whatwg/fetch/pull/1170", "https://github.com/whatwg/fetch/issues/1022",
             WPT + "fetch/origin/assorted.window.js"),
            "cookies/co='anonymous'/site",
        ),
        Deviation(
            "sec-fetch-site-cross-site-after-redirect", "deviation",
            "sends `Sec-Fetch-Site: cross-site` on every request after a redirect that left the page's origin, "
            "even when every origin in the chain is same-site",
            "Fetch Metadata, set the `Sec-Fetch-Site` header, step 5: over the URL list, a same-site "
            "chain gives `same-site`",
            (WPT + "fetch/metadata/generated/element-img.https.sub.html",
             WPT + "fetch/metadata/redirect/same-site-redirect.https.sub.html"),
            "wpt/drawImage-redirect-taints",
        ),
        Deviation(
            "no-sec-fetch-after-cors-redirect", "deviation",
            "sends no `Sec-Fetch-*` header at all on a CORS-mode request after a redirect to another origin "
            "(no-cors and same-origin redirects keep them)",
            'Fetch, HTTP-network-or-cache fetch (run for every hop): "Append the Fetch metadata headers for httpRequest"',
            (WPT + "fetch/metadata/redirect/cross-site-redirect.https.sub.html",
             WPT + "fetch/metadata/generated/element-img.https.sub.html"),
            "wpt/fetch-cors-redirect-null-origin",
        ),
        Deviation(
            "referer-from-opaque-frame", "deviation",
            "sends a `Referer` from a sandboxed srcdoc frame (an opaque origin), taken from the page around it, "
            "where the standard sends none",
            'Referrer Policy, determine request\'s referrer, "client": "If document\'s origin is an opaque origin, '
            'return no referrer" comes before "While document is an iframe srcdoc document, let document be ... '
            'container\'s node document"',
            ("https://w3c.github.io/webappsec-referrer-policy/#determine-requests-referrer",
             WPT + "referrer-policy/generic/sandboxed-iframe-with-opaque-origin.html"),
            "opaque-page/co='anonymous'/acao=star",
        ),
        Deviation(
            "opaque-frame-referer-origin-only", "deviation",
            "sends only the origin of the page around a sandboxed srcdoc frame as its `Referer`, even to that "
            "page's own origin",
            "(where a Referer is sent at all) strict-origin-when-cross-origin keeps the whole URL for a "
            "same-origin request: \"If the origin of referrerURL and the origin of request's current URL are "
            "the same, then return referrerURL\"",
            ("https://w3c.github.io/webappsec-referrer-policy/#referrer-policy-strict-origin-when-cross-origin",),
            "opaque-page/top=site/site/co=None",
        ),
        Deviation(
            "storage-access-headers", "deviation",
            "implements Storage Access Headers: a credentialed request cross-site for cookies carries "
            "`Sec-Fetch-Storage-Access` (\"none\", or \"inactive\" when the top-level page is same-site with the "
            "image), and an \"inactive\" one also carries `Origin` (`null` from a sandboxed frame), GET or not",
            'Fetch, append a request `Origin` header: a GET gets `Origin` only "if request\'s response tainting is '
            '"cors""; Fetch has no `Sec-Fetch-Storage-Access` (the Privacy CG draft adds both)',
            ("https://privacycg.github.io/storage-access-headers/#origin-header-integration",
             "https://chromestatus.com/feature/6146353156849664"),
            "opaque-page/top=site/site/co=None",
        ),
        Deviation(
            "storage-access-not-after-tainting-redirect", "deviation",
            "with storage-access-headers: sends no `Sec-Fetch-Storage-Access` (nor the `Origin` it brings) once a "
            "redirect tainted the request (its redirect-taint is not \"same-origin\", as for an `Origin: null`)",
            "Storage Access Headers set the header in \"append the Fetch metadata headers\", which HTTP-network-"
            "or-cache fetch runs for every request of a redirect chain",
            ("https://privacycg.github.io/storage-access-headers/#set-the-sec-fetch-storage-access-header",),
            "opaque-page/top=site/other>site",
        ),
        Deviation(
            "origin-kept-across-redirects", "deviation",
            "decides a request's `Origin` header on its first hop and keeps it across redirects (an opaque "
            "frame's `Origin: null` from a same-site first hop stays on a cross-site second)",
            "Fetch, HTTP-network-or-cache fetch: each hop's httpRequest is a clone whose `Origin` is appended "
            "anew (\"append a request `Origin` header\", from main fetch for every redirect)",
            ("https://fetch.spec.whatwg.org/#http-network-or-cache-fetch",),
            "opaque-page/top=site/site>other",
        ),
        Deviation(
            "orb-v0.1", "deviation",
            "runs \"ORB v0.1\", which keeps CORB's rules: media types are not blocked, nosniff blocks an HTML, XML, "
            "JSON or text/plain type even for image bytes, and an HTML, XML or JSON body of such a type is sniffed "
            "and blocked (an HTML error page); image bytes of other types load",
            "Fetch PR #1755 (Opaque Response Blocking): the opaque-response-safelist check sniffs for an image "
            "first, and blocks every never-sniffed type (media types too)",
            ("https://github.com/whatwg/fetch/pull/1755",
             "https://chromium.googlesource.com/chromium/src/+/HEAD/services/network/public/cpp/corb/README.md",
             WPT + "fetch/orb/tentative"),
            "orb/text/html/nosniff/co=None/cdn",
        ),
        Deviation(
            "no-orb", "deviation",
            "has no Opaque Response Blocking (nor CORB): a no-cors cross-origin response of any type reaches the "
            "image decoder (a PNG served as application/zip, text/csv or text/plain with nosniff loads)",
            "Fetch PR #1755 (Opaque Response Blocking), shipped by Chromium and Firefox: the "
            "opaque-response-safelist check blocks never-sniffed types and non-images",
            ("https://github.com/whatwg/fetch/pull/1755", WPT + "fetch/orb/tentative"),
            "orb/application/zip/co=None/other",
        ),
        Deviation(
            "orb-media-types-not-blocked", "deviation",
            "lets the audio and streaming types of ORB's never-sniffed list through (audio/mpeg, audio/aac, "
            "text/vtt, application/dash+xml, ...); multipart/x-mixed-replace and the document types are blocked",
            "Fetch PR #1755, opaque-response-safelist check step 3.2: a never-sniffed MIME type is blocked",
            ("https://github.com/whatwg/fetch/pull/1755",),
            "orb/audio/mpeg/co=None/cdn",
        ),
        Deviation(
            "orb-text-plain-nosniff-allowed", "deviation",
            "does not block a text/plain response with `X-Content-Type-Options: nosniff` before sniffing it: "
            "image bytes load",
            "Fetch PR #1755, opaque-response-safelist check step 3.4: \"If nosniff is true and mimeType's essence "
            "is \"text/plain\", then return false\"",
            ("https://github.com/whatwg/fetch/pull/1755",),
            "orb/text/plain/nosniff/co=None/cdn",
        ),
        Deviation(
            "orb-nosniff-blocks-before-sniffing", "deviation",
            "blocks an HTML, JSON or XML response with `X-Content-Type-Options: nosniff` before sniffing it, "
            "even when its bytes are an image",
            "Fetch PR #1755: image bytes are let through at step 10 (the image type pattern matches) before "
            "step 11 blocks what nosniff marks",
            ("https://github.com/whatwg/fetch/pull/1755",),
            "orb/text/html/nosniff/co=None/cdn",
        ),
        Deviation(
            "orb-sniffs-avif", "deviation",
            "counts AVIF bytes as an image in ORB's sniffing, so a no-cors AVIF from another origin loads",
            "Fetch PR #1755 step 10 uses MIME Sniffing's image type pattern table, which has no AVIF row: by the "
            "letter an AVIF served as image/avif is blocked at step 14 (Chromium's ORB v0.1 and WebKit do not "
            "sniff, and load it too)",
            ("https://github.com/whatwg/fetch/pull/1755", "https://mimesniff.spec.whatwg.org/#matching-an-image-type-pattern"),
            "format/picture.avif/co=None",
        ),
        Deviation(
            "svg-type-sniffs-raster", "deviation",
            "decodes a raster image served as image/svg+xml by its bytes (a PNG labelled SVG loads)",
            "MIME Sniffing, rules for sniffing images specifically, step 1: \"If the supplied MIME type is an XML "
            "MIME type, the computed MIME type is the supplied MIME type\" (so SVG, which fails)",
            ("https://mimesniff.spec.whatwg.org/#rules-for-sniffing-images-specifically",),
            "ctype/png-as-image-svg+xml",
        ),
        Deviation(
            "media-types-not-images", "choice",
            "never decodes a response typed application/pdf, video/* or multipart/x-mixed-replace as an image, "
            "whatever its bytes (WebKit hands those types to its PDF and media code, which WebKitGTK's <img> "
            "cannot show)",
            "MIME Sniffing sniffs raster images from their bytes for any supplied type but an XML one",
            ("https://mimesniff.spec.whatwg.org/#rules-for-sniffing-images-specifically",),
            "orb/application/pdf/co=None/site",
        ),
        Deviation(
            "gif-size-after-image-descriptor", "choice",
            "knows a GIF's size one byte later than Chromium (the first image descriptor whole): a GIF cut there "
            "fires error",
            "HTML leaves to the decoder when \"the user agent is able to determine image request's image's width "
            "and height\"",
            ("https://html.spec.whatwg.org/multipage/images.html#update-the-image-data",),
            "truncated/picture.gif/46",
        ),
        Deviation(
            "gif-size-after-screen-descriptor", "choice",
            "knows a GIF's size from its logical screen descriptor (14 bytes are enough to fire load)",
            "HTML leaves to the decoder when \"the user agent is able to determine image request's image's width "
            "and height\"",
            ("https://html.spec.whatwg.org/multipage/images.html#update-the-image-data",),
            "truncated/picture.gif/45",
        ),
        Deviation(
            "avif-size-after-whole-file", "choice",
            "fires load for an AVIF only once the whole file arrived (a cut AVIF always fires error)",
            "HTML leaves to the decoder when \"the user agent is able to determine image request's image's width "
            "and height\"",
            ("https://html.spec.whatwg.org/multipage/images.html#update-the-image-data",),
            "truncated/picture.avif/267",
        ),
        Deviation(
            "orb-cross-origin-only", "deviation",
            "runs ORB only on a response cross-origin with the page, whatever the response tainting (a no-cors "
            "chain that left the page's origin and came back is not checked)",
            "Fetch PR #1755, HTTP fetch: the check runs when \"request's response tainting is "
            "\"opaque\"\"",
            ("https://github.com/whatwg/fetch/pull/1755",),
            "orb/redirect-back-to-page-origin/text/csv",
        ),
        Deviation(
            "network-error-image-not-broken", "deviation",
            "treats an image whose fetch failed (a CORS failure, a network error) as not yet usable rather than "
            "broken: drawImage and createPattern draw nothing and throw nothing (an undecodable image does throw)",
            'HTML, check the usability of the image argument: "If image\'s current request\'s state is broken, '
            'then throw an "InvalidStateError" DOMException"',
            ("https://bugs.webkit.org/show_bug.cgi?id=274575", "https://github.com/WebKit/WebKit/pull/29003",
             WPT + "html/canvas/element/drawing-images-to-the-canvas/2d.drawImage.broken.html"),
            "op=drawImage/cors-error",
        ),
        Deviation(
            "width-reset-keeps-taint", "deviation",
            "keeps a tainted canvas tainted when its width or height is set (even to the same value)",
            "current WPT security.reset.cross.html (\"Resetting the canvas state resets the origin-clean flag\") "
            "and HTML's non-normative security section: setting width or height resets the origin-clean flag",
            (CANVAS_WPT + "security.reset.cross.html", "https://github.com/web-platform-tests/wpt/pull/55389",
             "https://github.com/whatwg/html/issues/2660"),
            "sequence width-reset-cleans",
        ),
        Deviation(
            "reset-keeps-taint", "deviation",
            "keeps a tainted canvas tainted after ctx.reset()",
            "current WPT security.reset.cross.html expects reset() to reset the origin-clean flag "
            "(\"reset the rendering context to its default state\")",
            (CANVAS_WPT + "security.reset.cross.html", "https://github.com/web-platform-tests/wpt/pull/55389"),
            "sequence ctx-reset-keeps-taint",
        ),
        Deviation(
            "bitmaprenderer-keeps-taint", "deviation",
            "a bitmaprenderer canvas that once showed a tainted ImageBitmap stays tainted: transferFromImageBitmap"
            "(null), a clean bitmap and a new width leave it unreadable",
            'HTML, set an ImageBitmapRenderingContext\'s output bitmap: without a bitmap "Set the output '
            'bitmap\'s origin-clean flag to true"; with one, the canvas shows that bitmap and its flag',
            ("https://html.spec.whatwg.org/multipage/canvas.html#set-an-imagebitmaprenderingcontext's-output-bitmap",),
            "sequence bitmaprenderer-clean-bitmap-after-tainted",
        ),
        Deviation(
            "getimagedata-security-before-size", "deviation",
            "getImageData with a zero width on a tainted canvas throws SecurityError (it checks origin-clean "
            "before the size)",
            "HTML, getImageData: step 1 throws IndexSizeError for a zero size, step 2 SecurityError for a "
            "tainted canvas",
            ("https://html.spec.whatwg.org/multipage/canvas.html#dom-context-2d-getimagedata",),
            "sequence getImageData-zero-width-on-tainted",
        ),
        Deviation(
            "teximage2d-broken-image-uploads-zeros", "choice",
            "texImage2D of a broken image raises no GL error: it uploads zeros (console: \"Resource has no "
            "data (yet?). Uploading zeros.\")",
            "WebGL 1.0 says nothing of broken images; Chromium and WebKit report INVALID_VALUE",
            ("https://registry.khronos.org/webgl/specs/latest/1.0/#TEXIMAGE2D_HTML",),
            "op=texImage2D/cors-error",
        ),
        Deviation(
            "cache-key-credentials", "choice",
            "keys its HTTP cache by the request's credentials mode: a crossorigin=\"anonymous\" load does not reuse "
            "a plain load's stored response, even a same-origin one (a use-credentials load does)",
            "Fetch leaves selecting a stored response to HTTP Caching (RFC 9111), which permits but never "
            "requires reuse; Fetch's non-normative \"CORS protocol and HTTP caches\" describes reuse",
            ("https://fetch.spec.whatwg.org/#cors-protocol-and-http-caches",
             "https://searchfox.org/mozilla-central/source/netwerk/cache2/CacheFileUtils.cpp"),
            "cache/apache/max-age=3600/vary=None/then=anonymous",
        ),
        Deviation(
            "cache-key-request-mode", "choice",
            "does not reuse a stored image for a load in another request mode or credentials mode (no-cors, "
            "anonymous, use-credentials): every crossorigin switch refetches (measured in MiniBrowser's ephemeral "
            "session: memory cache only)",
            "Fetch leaves selecting a stored response to HTTP Caching (RFC 9111), which permits but never "
            "requires reuse",
            ("https://fetch.spec.whatwg.org/#cors-protocol-and-http-caches",),
            "cache/apache/max-age=3600/vary=None/then=use-credentials",
        ),
        Deviation(
            "cancelled-load-not-cached", "choice",
            "keeps nothing in its HTTP cache from a load given up once its headers arrived (a failed CORS check, "
            "an ORB block): the next load of the URL asks the network again, unless the whole body was read "
            "before the page saw the headers (a small response of a type it sniffs)",
            "Fetch stores the response in HTTP-network fetch, before HTTP fetch's CORS check, and says nothing "
            "of loads given up; HTTP Caching (RFC 9111) permits but never requires storing",
            ("https://fetch.spec.whatwg.org/#http-network-fetch",),
            "cache/cors-failure-then-plain",
        ),
        Deviation(
            "cookies-ignore-redirect-chain", "deviation",
            "sends the site's `SameSite=Lax` cookie to a same-site image reached through a redirect from another "
            "site (only the current URL counts)",
            'RFC 6265bis, same-site requests: "The request is not the result of a cross-site redirect. That is, the '
            'origin of every url in the request\'s url list is same-site with the request\'s current url\'s origin"',
            ("https://httpwg.org/http-extensions/draft-ietf-httpbis-rfc6265bis.html#name-same-site-and-cross-site-req",
             WPT + "cookies/samesite/img.https.html"),
            "cookies/lax-after-cross-site-redirect",
        ),
        Deviation(
            "failed-image-loads-reused", "deviation",
            "keeps a failed image load (a CORS failure) in the document's image cache too: loading the same URL "
            "with the same crossorigin again fails again without a request",
            "HTML, update the image data: only an image that is \"completely available\" is added to the list "
            "of available images; any other load fetches again",
            ("https://html.spec.whatwg.org/multipage/images.html#update-the-image-data",),
            "cache/cors-failure-then-again/picture.png/ctype=image/png",
        ),
        Deviation(
            "cookies-site-from-top-page", "deviation",
            "sends a sandboxed (opaque-origin) frame's same-site cookies, Strict and Lax ones too, as if the frame "
            "had its top page's site",
            "RFC 6265bis: a request is same-site only if its \"client's site for cookies\" is same-site with the "
            "URL; HTML makes a sandboxed document's origin opaque, a site of its own",
            ("https://httpwg.org/http-extensions/draft-ietf-httpbis-rfc6265bis.html#name-same-site-and-cross-site-req",
             "https://html.spec.whatwg.org/multipage/browsers.html#sandboxed-origin-browsing-context-flag"),
            "cookies/opaque-frame-in-site-page",
        ),
        Deviation(
            "teximage2d-undecodable-image-no-error", "choice",
            "texImage2D of an image whose bytes did not decode (not a network error) raises no GL error and "
            "uploads nothing (a tainted one still throws SecurityError)",
            "WebGL 1.0 says nothing of broken images; Chromium reports INVALID_VALUE \"bad image data\"",
            ("https://registry.khronos.org/webgl/specs/latest/1.0/#TEXIMAGE2D_HTML",),
            "orb/application/pdf/co=None/site",
        ),
        Deviation(
            "cors-redirect-check-with-credentials", "deviation",
            "checks a cross-origin redirect response of a crossorigin=\"anonymous\" load that began on the page's "
            "own origin as if credentials were included: `*` fails, the page's origin with "
            "`Access-Control-Allow-Credentials: true` passes (no cookie is sent)",
            'Fetch, CORS check step 3: "If request\'s credentials mode is not "include" and origin is `*`, return '
            'success" (the mode is "same-origin" on every hop)',
            ("https://fetch.spec.whatwg.org/#concept-cors-check",),
            "redirect/site>cdn>cdn/anonymous/acao=star",
        ),
        Deviation(
            "image-cache-same-origin-any-mode", "deviation",
            "shows an image of the page's own origin again from its image cache whatever the crossorigin "
            "attribute: a plain load, then crossorigin=\"anonymous\", make one request",
            "HTML's list of available images keys an image by its URL, the crossorigin attribute's mode and, "
            "with CORS, the document's origin",
            ("https://html.spec.whatwg.org/multipage/images.html#list-of-available-images",),
            "cache/same-origin-plain-then-anonymous",
        ),
        Deviation(
            "image-list-respects-vary-star", "deviation",
            "never shows an image whose response said `Vary: *` again from the document's image list: the same "
            "URL loaded again in one page asks the server again",
            "HTML's list of available images ignores HTTP caching (\"even when they don't allow caching per HTTP\")",
            ("https://html.spec.whatwg.org/multipage/images.html#list-of-available-images",),
            "cache/vary-star-twice",
        ),
        Deviation(
            "sniffed-body-cached-before-cancel", "choice",
            "with cancelled-load-not-cached: keeps a cancelled load's response after all when it read the whole "
            "body before the page saw the headers (a response of at most 4,096 bytes, of a type it sniffs: none, "
            "text/plain, application/octet-stream..., without nosniff)",
            "Fetch stores the response in HTTP-network fetch, before the CORS check",
            ("https://source.chromium.org/chromium/chromium/src/+/main:net/base/mime_sniffer.cc",),
            "cache/cors-failure-then-again/picture.png/ctype=text/plain",
        ),
        Deviation(
            "secure-cookies-https-only", "choice",
            "keeps no `Secure` cookie set by an http: page, even on a potentially trustworthy origin "
            "(http://127.0.0.1, http://localhost): a `SameSite=None; Secure` login on the lab is dropped",
            'RFC 6265bis: the cookie is dropped when "the scheme component of the request-uri does not denote a '
            '"secure" protocol (as defined by the user agent)"; it recommends counting potentially trustworthy '
            "origins as secure",
            ("https://httpwg.org/http-extensions/draft-ietf-httpbis-rfc6265bis.html#name-storage-model",),
            "cookies/samesite-none-secure/cdn",
        ),
        Deviation(
            "third-party-cookies-blocked", "choice",
            "blocks third-party (cross-site) cookies: a cross-site image request carries none, and a cookie a "
            "cross-site response sets is dropped",
            "RFC 6265bis leaves third-party cookie policy to the user agent (SameSite=Lax cookies are never "
            "sent on cross-site subresource requests anyway)",
            ("https://httpwg.org/http-extensions/draft-ietf-httpbis-rfc6265bis.html#name-third-party-cookies",),
            "tests/engines/test_profiles.py::test_third_party_cookie_policy",
        ),
        Deviation(
            "third-party-cookies-partitioned", "choice",
            "keeps third-party cookies in a jar per top-level site (Total Cookie Protection): a cookie a "
            "cross-site image response sets is sent back to that image host under the same top-level site only",
            "RFC 6265bis leaves third-party cookie policy to the user agent",
            ("https://developer.mozilla.org/en-US/docs/Web/Privacy/Guides/State_Partitioning",),
            "tests/engines/test_profiles.py::test_third_party_cookie_policy",
        ),
    )
}

# --- Messages -------------------------------------------------------------------------------------
# The standards name exceptions but never word their messages. Each engine's texts, measured where a
# scenario reaches them ("reason" is the kit's name for why the exception was raised; "*" = any);
# a text not measured falls back to the engine's default description for that exception name.
WEBIDL_DESCRIPTIONS = MappingProxyType({
    # WebIDL's DOMException names table ("Description" column); WebKit uses these as its defaults.
    "IndexSizeError": "The index is not in the allowed range.",
    "InvalidStateError": "The object is in an invalid state.",
    "SecurityError": "The operation is insecure.",
})
GECKO_DESCRIPTIONS = MappingProxyType({
    # Gecko's dom/base/domerr.msg defaults (read, not measured: only "The operation is insecure." was seen).
    "IndexSizeError": "Index or size is negative or greater than the allowed amount",
    "InvalidStateError": "An attempt was made to use an object that is not, or is no longer, usable",
    "SecurityError": "The operation is insecure.",
})
FIREFOX_MESSAGES = MappingProxyType({
    ("SecurityError", "tainted", "*"): "The operation is insecure.",
    ("SecurityError", "tainted", "convertToBlob"): "OffscreenCanvas.convertToBlob: Cannot get blob from write-only canvas.",
    ("InvalidStateError", "broken", "drawImage"): '{interface}.drawImage: Passed-in image is "broken"',
    ("InvalidStateError", "broken", "createPattern"):
        "{interface}.createPattern: Passed-in image's current request's state is \"broken\"",
    ("InvalidStateError", "broken", "createImageBitmap"): "Window.createImageBitmap: The source image could not be decoded",
})
WEBKIT_MESSAGES = MappingProxyType({
    ("SecurityError", "tainted", "*"): "The operation is insecure.",
    ("SecurityError", "tainted", "captureStream"): "Canvas is tainted",
    ("InvalidStateError", "broken", "drawImage"): "The HTMLImageElement provided is in the 'broken' state.",
    ("InvalidStateError", "bad", "createImageBitmap"): "Cannot create ImageBitmap that is not completely available",
    ("InvalidStateError", "broken", "createImageBitmap"):
        "Cannot create ImageBitmap from a source with no intrinsic size without providing resize dimensions",
})

# Console lines for a failed CORS check (Chromium's are built in fetch.py from CorsCheck.console).
# Firefox's, by the CORS check's deciding step; {url} the response's URL, {acao} the header's value.
FIREFOX_BLOCKED = "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at "
FIREFOX_CONSOLE = MappingProxyType({
    "cors-check-step2-no-acao": FIREFOX_BLOCKED + "{url}. (Reason: CORS header ‘Access-Control-Allow-Origin’ "
                                "missing). Status code: {status}.",
    "cors-check-step4-wildcard-with-credentials": FIREFOX_BLOCKED + "‘{url}’. (Reason: Credential is not supported "
                                                  "if the CORS header ‘Access-Control-Allow-Origin’ is ‘*’).",
    "multiple-headers": FIREFOX_BLOCKED + "{url}. (Reason: Multiple CORS header "
                                         "‘Access-Control-Allow-Origin’ not allowed).",
    "cors-check-step4-mismatch": FIREFOX_BLOCKED + "{url}. (Reason: CORS header ‘Access-Control-Allow-Origin’ does "
                                 "not match ‘{acao}’).",
    "cors-check-step8-credentials-not-true": FIREFOX_BLOCKED + "{url}. (Reason: expected ‘true’ in CORS header "
                                             "‘Access-Control-Allow-Credentials’).",
})
# Firefox's reason for an ORB block, by the rule that blocked (cors_lab.spec.orb.OrbCheck.rule), as its
# console prints it (measured; rules not listed print a reason the kit has not seen yet).
FIREFOX_ORB_REASONS = MappingProxyType({
    "never-sniffed": "mimeType is an opaque-blocklisted-never-sniffed MIME type",
    "media": "after sniff: content-type declares image/video/audio, but sniffing fails",
    "status": "after sniff: status code is not in allowed range",
})
# WebGL's console for texImage2D, where it differs from Chromium's (webgl.py builds Chromium's).
FIREFOX_WEBGL_CONSOLE = MappingProxyType({
    "no-data": "WebGL warning: tex(Sub)Image[23]D: Resource has no data (yet?). Uploading zeros.",
})

# What each engine sends as `Accept` for an <img> (measured from the lab servers' logs).
ACCEPT = MappingProxyType({
    "spec": "image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5",  # Fetch's default for destination "image"
    "chromium": "image/jxl,image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    "firefox": "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5",
    "webkit": "image/webp,image/avif,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5",
})


@dataclass(frozen=True)
class Profile:
    """What the model predicts for: an engine's deviations, texts and request headers (or the standards')."""

    name: str
    engine: str  # "Chromium 156.0.8078.108", ..., or "the standards"
    deviations: tuple[Deviation, ...]
    accept: str
    messages: Mapping[tuple[str, str, str], str] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=lambda: WEBIDL_DESCRIPTIONS)
    console_captured: bool = True  # whether the kit can read this engine's console (WebKitGTK: no)

    def has(self, name: str) -> bool:
        """Whether this profile has the deviation (or choice) ``name``."""
        if name not in _D:
            raise UsageError(f"Unknown deviation {name!r}; the deviations are: {', '.join(sorted(_D))}.")
        return any(d.name == name for d in self.deviations)

    @property
    def deviation_names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.deviations)

    @property
    def third_party_cookies(self) -> str:
        """This engine's third-party cookie policy: "blocked", "partitioned" or "unspecified" (spec)."""
        if self.has("third-party-cookies-blocked"):
            return "blocked"
        return "partitioned" if self.has("third-party-cookies-partitioned") else "unspecified"

    def message(self, exception: str, *, reason: str, method: str, interface: str, chromium: str) -> str:
        """The text of the DOMException ``exception`` this engine raises in ``method`` for ``reason``.

        ``chromium`` is Chromium's own text after "Failed to execute '{method}' on '{interface}': ".
        """
        if self.name == "chromium":
            return f"Failed to execute '{method}' on '{interface}': {chromium}"
        for key in ((exception, reason, method), (exception, reason, "*")):
            if key in self.messages:
                return self.messages[key].format(interface=interface, method=method)
        return self.descriptions.get(exception, exception)

    def cache_variant(self, *, mode: str, credentials_mode: str) -> str:
        """The part this engine adds to an HTTP cache key beyond the URL and the partition ("" = none)."""
        if self.has("cache-key-credentials"):
            # By the request's credentials mode, not by whether this hop carries them (measured: a
            # crossorigin="anonymous" load's same-origin redirect is not reused by a plain load).
            return "" if credentials_mode == "include" else "anonymous"
        if self.has("cache-key-request-mode"):
            # The request mode and the credentials mode (measured: a use-credentials load's redirects
            # are not reused by an anonymous load, both in "cors" mode).
            return f"{mode} {credentials_mode}"
        return ""

    def orb_console(self, *, rule: str | None, url: str) -> str:
        """The console line this engine prints when Opaque Response Blocking blocks ``url`` ("" where
        none is known or the kit cannot read the console: Chromium prints none the page can see)."""
        reason = FIREFOX_ORB_REASONS.get(rule or "") if self.name == "firefox" else None
        return f"The resource at “{url}” was blocked by OpaqueResponseBlocking. Reason: “{reason}”." if reason else ""

    def cors_console(self, *, step: str, url: str, chromium: str, acao: str | None, acao_lines: int,
                     status: int, redirected_from: str | None) -> str:
        """The console line this engine prints when the CORS check fails ("" where none is known)."""
        if self.name == "chromium":
            via = f" (redirected from '{redirected_from}')" if redirected_from else ""
            return chromium.replace(f"Access to image at '{url}'", f"Access to image at '{url}'{via}", 1)
        if self.name != "firefox":
            return ""
        if step == "cors-check-step4-multiple-values":
            step = "multiple-headers" if acao_lines > 1 else "cors-check-step4-mismatch"
        template = FIREFOX_CONSOLE.get(step)
        return template.format(url=url, acao=acao or "", status=status) if template else ""


PROFILES: Mapping[str, Profile] = MappingProxyType({
    "spec": Profile("spec", "the standards", (), ACCEPT["spec"]),
    "chromium": Profile(
        "chromium", MEASURED["chromium"],
        tuple(_D[n] for n in ("origin-on-same-origin-cors", "storage-access-headers", "origin-kept-across-redirects",
                              "orb-v0.1", "orb-cross-origin-only", "cancelled-load-not-cached",
                              "sniffed-body-cached-before-cancel", "cookies-ignore-redirect-chain", "reset-keeps-taint", "bitmaprenderer-keeps-taint", "getimagedata-security-before-size",
                              "third-party-cookies-blocked")),
        ACCEPT["chromium"],
    ),
    "firefox": Profile(
        "firefox", MEASURED["firefox"],
        tuple(_D[n] for n in ("storage-access-headers", "storage-access-not-after-tainting-redirect", "referer-from-opaque-frame",
                              "failed-image-loads-reused", "image-cache-same-origin-any-mode",
                              "opaque-frame-referer-origin-only",
                              "orb-media-types-not-blocked", "orb-text-plain-nosniff-allowed",
                              "orb-nosniff-blocks-before-sniffing", "orb-sniffs-avif", "svg-type-sniffs-raster",
                              "gif-size-after-image-descriptor", "avif-size-after-whole-file",
                              "sec-fetch-site-cross-site-after-redirect",
                              "width-reset-keeps-taint",
                              "reset-keeps-taint", "bitmaprenderer-keeps-taint", "getimagedata-security-before-size",
                              "teximage2d-broken-image-uploads-zeros",
                              "cache-key-credentials", "third-party-cookies-partitioned")),
        ACCEPT["firefox"], messages=FIREFOX_MESSAGES, descriptions=GECKO_DESCRIPTIONS,
    ),
    "webkit": Profile(
        "webkit", MEASURED["webkit"],
        tuple(_D[n] for n in ("origin-on-same-origin-cors", "referer-from-opaque-frame", "no-sec-fetch-after-cors-redirect",
                              "no-orb", "media-types-not-images", "gif-size-after-screen-descriptor",
                              "cookies-site-from-top-page", "teximage2d-undecodable-image-no-error",
                              "cors-redirect-check-with-credentials", "image-list-respects-vary-star",
                              "avif-size-after-whole-file",
                              "network-error-image-not-broken", "width-reset-keeps-taint", "reset-keeps-taint",
                              "cache-key-request-mode", "cancelled-load-not-cached", "secure-cookies-https-only",
                              "cookies-ignore-redirect-chain",
                              "third-party-cookies-blocked")),
        ACCEPT["webkit"], messages=WEBKIT_MESSAGES, console_captured=False,
    ),
})
DEVIATIONS: Mapping[str, Deviation] = MappingProxyType(_D)


def get_profile(profile: "str | Profile") -> Profile:
    """The `Profile` named ``profile`` ("spec", "chromium", "firefox", "webkit"), or ``profile`` itself."""
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except (KeyError, TypeError):
        raise UsageError(f"Unknown engine profile {profile!r}; use one of {', '.join(PROFILE_NAMES)}.") from None


# What a learner's browser must be for its profile to count as measured (the live probe): the engine's
# major version as its user agent gives it, and the platforms whose build was measured. WebKitGTK's
# user agent carries no WebKitGTK version (AppleWebKit/605.1.15 is frozen), so any WebKit on Linux
# counts; Safari (macOS, iOS) is WebKit with another network stack and other privacy defaults.
MEASURED_MAJOR = MappingProxyType({"chromium": "156", "firefox": "153", "webkit": None})
MEASURED_PLATFORMS = MappingProxyType({"chromium": None, "firefox": None, "webkit": ("Linux",)})
ENGINE_LABELS = MappingProxyType({"chromium": "Chromium (Blink)", "firefox": "Firefox (Gecko)",
                                  "webkit": "WebKit", "spec": "the standards"})


@dataclass(frozen=True)
class BrowserMatch:
    """Which profile predicts for a learner's browser, and whether the kit measured that browser.

    ``measured`` False means a difference between the browser and the model is news about an engine
    or version the kit never ran, not a disagreement; ``why`` says so in plain words.
    """

    profile: str
    browser: str  # what the page said it is, e.g. "Firefox 153 on Linux"
    measured: bool
    why: str


def match_browser(engine: str | None, *, version: str | None = None, platform: str | None = None,
                  name: str | None = None) -> BrowserMatch:
    """The profile for a browser the live probe detected: ``engine`` "chromium", "firefox", "webkit"
    (from feature detection, checked against the user agent) or None/"unknown"; ``version`` its major
    version ("" when the page cannot tell); ``platform`` "Linux", "macOS", "Windows", "iOS", "Android".
    """
    shown = " ".join(x for x in (name or ENGINE_LABELS.get(engine or "", "an unknown browser"), version or "") if x)
    shown += f" on {platform}" if platform else ""
    if engine not in ENGINE_PROFILES:
        return BrowserMatch("spec", shown, False,
                            f"The kit could not tell which engine {shown} uses, so the model predicts the standards' "
                            "letter (profile spec); it has measured only Chromium, Firefox and WebKitGTK.")
    measured_as = MEASURED[engine]
    major, platforms = MEASURED_MAJOR[engine], MEASURED_PLATFORMS[engine]
    if platforms and platform not in platforms:
        return BrowserMatch(engine, shown, False,
                            f"The kit has not measured {shown}: it measured {measured_as} on {', '.join(platforms)}, "
                            f"whose profile the model uses here. {shown} may differ (its own network stack and privacy "
                            "settings), so a difference from the model is news, not a disagreement.")
    if major and (version or "").split(".")[0] != major:
        return BrowserMatch(engine, shown, False,
                            f"The kit has not measured {shown}: it measured {measured_as}, whose profile the model "
                            f"uses here. Between versions engines change, so a difference from the model is news, "
                            "not a disagreement.")
    unread = "" if major else f" (the page cannot read the {ENGINE_LABELS[engine]} version; the kit measured {measured_as})"
    return BrowserMatch(engine, shown, True, f"The model predicts for {measured_as}, measured by the kit{unread}.")


def deviation_table() -> list[dict[str, str]]:
    """Every profile's deviations as rows (profile, name, kind, what, measured, links): for docs and tests."""
    rows = []
    for name in ENGINE_PROFILES:
        p = PROFILES[name]
        for d in p.deviations:
            rows.append({"profile": name, "name": d.name, "kind": d.kind, "what": d.what, "standard": d.standard,
                         "measured": p.engine, "links": " ".join(d.links), "pinned_by": d.pinned_by})
    return rows


__all__ = ["ACCEPT", "BrowserMatch", "DEFAULT_PROFILE", "DEVIATIONS", "Deviation", "ENGINE_PROFILES", "PROFILES",
           "PROFILE_NAMES", "Profile", "deviation_table", "get_profile", "match_browser"]
