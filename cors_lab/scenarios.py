"""The scenario matrix: experiments generated from the knob space, plus curated WPT edge cases.

Owns the list of scenarios the conformance suite runs through the model, the kernel browser and
Chromium. A scenario is data: which lab origin serves the image, with which knobs, through which
redirects, loaded with which crossorigin value from which page, then which operation. It decides
nothing and does no I/O until `build()` turns it into URLs on a running lab.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from .predict import OPERATIONS
from .spec.fetch import REDIRECT_STATUSES

# ACAO values by name; "{page}" etc. are filled in from the running lab in `build()`.
ACAO_VALUES = {
    "absent": None,
    "star": "*",
    "padded-star": " * ",
    "exact": "{page}",
    "wrong-port": "{cdn}",
    "trailing-slash": "{page}/",
    "upper-case": "{PAGE}",
    "null": "null",
    "two-headers": ["{page}", "{page}"],
    "list": "{page}, {cdn}",
}
CROSSORIGIN_VALUES = (None, "", "anonymous", "ANONYMOUS", "use-credentials", "foo")


@dataclass(frozen=True)
class LabScenario:
    """One experiment on the lab, as data.

    target: the lab origin serving the final image ("site", "cdn", "other").
    via: lab origins the request is redirected through first, in order.
    knobs: the final response's knobs; hop_knobs: every redirecting hop's knobs; per_hop: one knob
        tuple per redirecting hop instead (its own ACAO, its own ``status``), when given.
    page: the lab origin whose page loads the image ("site", "cdn", "other"), or "null": an
        opaque-origin page, a sandboxed srcdoc frame inside ``top``.
    top: for an opaque-origin page, the lab origin of the top-level page holding its frame (default
        "site"; None: about:blank, a top-level page with an opaque origin of its own).
    before: crossorigin values of earlier loads of the same URL in the same browser (cache lessons).
    login: the browser holds the lab's login cookie (set by a top-level visit to site's /login
        before the page opens), sent with this SameSite attribute (``samesite``).
    broken: the body does not make a loaded image (the author's expectation: the model decides
        it from the bytes the lab sends, and conformance fails a scenario whose expectation it
        contradicts); None: no expectation (random scenarios).
    """

    id: str
    target: str = "cdn"
    crossorigin: str | None = None
    operation: str = "getImageData"
    knobs: tuple[tuple[str, object], ...] = ()
    via: tuple[str, ...] = ()
    hop_knobs: tuple[tuple[str, object], ...] = ()
    status: int = 302
    page: str = "site"
    top: str | None = "site"
    before: tuple[str | None, ...] = ()
    login: bool = False
    samesite: str = "Lax"
    per_hop: tuple[tuple[tuple[str, object], ...], ...] = ()
    broken: bool | None = False  # None: decided from the bytes
    asset: str = "picture.png"
    source: str = ""  # where the case comes from (WPT file, MDN, DESIGN.md measurement)
    tags: tuple[str, ...] = field(default=(), compare=False)

    def build(self, lab, tag: str) -> "BuiltScenario":
        """URLs on a running lab; ``tag`` makes them unique (a nonce) so logs and caches stay apart."""
        fill = _filler(lab, self.page if self.page != "null" else self.top or "site")
        knobs = {k: fill(v) for k, v in self.knobs}
        knobs["nonce"] = tag
        url = lab[self.target].url(self.asset, **knobs)
        # Each redirecting hop, last first, leads to the URL after it (as lab.chain does, but the
        # final response may have a status of its own, and each hop its own knobs).
        per_hop = self.per_hop or (self.hop_knobs,) * len(self.via)
        for label, extra in reversed(list(zip(self.via, per_hop))):
            url = lab[label].url(self.asset, **{"status": self.status, **{k: fill(v) for k, v in extra}, "to": url})
        # Every URL carries the tag, the page's and the login page's too: no two scenarios share a URL,
        # so one browser context can run them all without one meeting another's cache entries. The
        # page (and an opaque page's top) is a picture on its origin: only its origin and URL matter
        # (the Referer quotes the URL; conformance compares it as "the page's URL").
        page_nonce = f"page{tag[:-1]}p"
        login_url = lab.site.login_url("alice", nonce=page_nonce, samesite=self.samesite) if self.login else None
        if self.page == "null":
            # A sandboxed srcdoc frame inside a top page (by default the lab's site, as inside
            # JupyterLab's page), or inside about:blank (top None): see EngineContext.open.
            page_url = "null"
            top_url = lab[self.top].url("picture.png", nonce=f"top{tag[:-1]}p") if self.top else None
        else:
            # A login on the page's own origin is the page itself (one navigation fewer).
            own = self.login and self.page == "site"
            page_url = login_url if own else lab[self.page].url("picture.png", nonce=page_nonce)
            top_url = None
        return BuiltScenario(self, url, page_url, login_url, top_url)


@dataclass(frozen=True)
class BuiltScenario:
    scenario: LabScenario
    url: str
    page_url: str  # "null" = opaque-origin page
    login_url: str | None  # visited as a top-level page before the page opens (or the page itself)
    top_url: str | None = None  # the top-level page holding an opaque page's frame (None: about:blank)

    def urls(self) -> list[str]:
        """Every URL this scenario can load: the image (a redirect chain encodes its later hops in it),
        the page, the login page and the page around an opaque frame."""
        return [u for u in (self.url, self.page_url, self.login_url, self.top_url) if u and u != "null"]


def _filler(lab, label: str = "site"):
    """Fills "{page}" (the page's origin; an opaque page's top, or site), "{PAGE}" (upper case),
    "{cdn}" and "{wrong}" (another lab origin than the page's) into knob values."""
    page, cdn = lab[label].origin, lab.cdn.origin
    wrong = lab.site.origin if label != "site" else cdn

    def fill(value):
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, str):
            return (value.replace("{page}", page).replace("{PAGE}", page.upper()).replace("{cdn}", cdn)
                    .replace("{wrong}", wrong))
        return value

    return fill


def _acao(name: str) -> tuple[tuple[str, object], ...]:
    value = ACAO_VALUES[name]
    return () if value is None else (("acao", value),)


def matrix() -> list[LabScenario]:
    """Every scenario, generated then curated; ids are unique and stable."""
    out: list[LabScenario] = []

    # 1. crossorigin x ACAO x target origin (same-origin, same-site cross-origin, cross-site).
    for co, (acao, target) in itertools.product(CROSSORIGIN_VALUES, itertools.product(ACAO_VALUES, ("site", "cdn", "other"))):
        out.append(LabScenario(f"co={co!r}/acao={acao}/{target}", target, co, knobs=_acao(acao), tags=("acao",)))

    # 2. use-credentials x ACAC, with and without the login cookie.
    for acao, acac, target, login in itertools.product(("exact", "star"), (None, "true", "True", " true"), ("cdn", "other"), (False, True)):
        knobs = _acao(acao) + ((("acac", acac),) if acac is not None else ())
        out.append(LabScenario(f"use-credentials/acao={acao}/acac={acac!r}/{target}/login={login}", target,
                               "use-credentials", knobs=knobs, login=login, tags=("credentials",)))

    # 2b. Cookies by credentials mode: logged in at the lab, the private picture from each origin.
    for co, target in itertools.product((None, "anonymous", "use-credentials"), ("site", "cdn", "other")):
        knobs = (("acao", "{page}"), ("acac", True)) if co else ()
        out.append(LabScenario(f"cookies/co={co!r}/{target}", target, co, knobs=knobs, login=True, asset="secret.png",
                               tags=("cookies",)))

    # 3. Every operation on a readable, a tainting and a broken (CORS-failed) image.
    for op in OPERATIONS:
        out.append(LabScenario(f"op={op}/readable", "cdn", "anonymous", op, knobs=_acao("star"), tags=("operation",)))
        out.append(LabScenario(f"op={op}/tainted", "cdn", None, op, tags=("operation",)))
        out.append(LabScenario(f"op={op}/cors-error", "cdn", "anonymous", op, tags=("operation",)))
        out.append(LabScenario(f"op={op}/same-origin", "site", None, op, tags=("operation",)))

    # 4. Redirect chains across the lab's origins.
    chains = [("cdn",), ("cdn", "other"), ("site",), ("other",)]
    finals = {"site": ("star", "exact", "null", "absent"), "cdn": ("star", "exact", "absent")}
    n = 0
    for via in chains:
        for target, acaos in finals.items():
            if via[-1] == target:
                continue
            for co, acao in itertools.product((None, "anonymous"), acaos):
                status = REDIRECT_STATUSES[n % len(REDIRECT_STATUSES)]
                n += 1
                out.append(LabScenario(f"redirect/{'>'.join(via)}>{target}/{status}/co={co!r}/acao={acao}", target, co,
                                       knobs=_acao(acao), via=via, hop_knobs=(("acao", "*"),), status=status,
                                       tags=("redirect",)))
    # A CORS redirect hop without ACAO fails even when the final response would pass.
    out.append(LabScenario("redirect/hop-without-acao", "site", "anonymous", knobs=_acao("star"), via=("cdn",),
                           tags=("redirect",)))

    # 5. Cache sequences: a plain load, then a CORS load of the same URL (the guide's Apache rule).
    for vary, second, cache in itertools.product((None, "Origin"), ("anonymous", "use-credentials"), ("max-age=3600", "no-store")):
        knobs = (("apache", True), ("cache", cache)) + ((("vary", vary),) if vary else ())
        out.append(LabScenario(f"cache/apache/{cache}/vary={vary}/then={second}", "cdn", second, knobs=knobs,
                               before=(None,), source="DESIGN.md: measured in Chromium 156", tags=("cache",)))
    for vary in (None, "Origin"):
        knobs = (("acao", "*"), ("cache", "max-age=3600")) + ((("vary", vary),) if vary else ())
        out.append(LabScenario(f"cache/star/then-plain/vary={vary}", "cdn", None, knobs=knobs, before=("anonymous",),
                               tags=("cache",)))
    # 5b. No cache setting at all: the picture is a file with validators (a 2025 date, or age= seconds
    #     old), so the browser decides freshness itself (RFC 9111 4.2.2) and revalidates with them.
    for name, extra in (("heuristic", ()), ("no-cache", (("cache", "no-cache"),)), ("vary=Origin", (("vary", "Origin"),)),
                        ("new-file", (("age", 0),)), ("no-validators", (("validators", False),))):
        out.append(LabScenario(f"cache/validators/apache/{name}/then=anonymous", "cdn", "anonymous",
                               knobs=(("apache", True),) + extra, before=(None,), tags=("cache",),
                               source="issue 12: Apache and nginx send ETag and Last-Modified (measured)"))

    # 6. An opaque-origin page (sandboxed srcdoc iframe).
    for co, acao in itertools.product((None, "anonymous", "use-credentials"), ("absent", "star", "null", "exact")):
        knobs = _acao(acao) + ((("acac", True),) if co == "use-credentials" else ())
        out.append(LabScenario(f"opaque-page/co={co!r}/acao={acao}", "cdn", co, knobs=knobs, page="null",
                               tags=("opaque",)))

    # 7. Formats and bodies.
    for asset, co in itertools.product(("picture.jpg", "picture.gif", "picture.webp", "picture.bmp", "picture.ico",
                                        "picture.svg", "picture.avif"), (None, "anonymous")):
        out.append(LabScenario(f"format/{asset}/co={co!r}", "cdn", co, knobs=_acao("star"), asset=asset, tags=("format",)))
    out += [
        LabScenario("body/404-with-image", "cdn", "anonymous", knobs=(("acao", "*"), ("status", 404)), tags=("body",),
                    source="measured here: Chromium 156 fires load for an image body with status 404"),
        LabScenario("body/500-no-cors", "cdn", None, knobs=(("status", 500),), tags=("body",)),
        LabScenario("body/404-error-page", "cdn", "anonymous", knobs=(("acao", "*"), ("status", 404), ("errorpage", True)),
                    broken=True, tags=("body",), source="Apache's and nginx's own 404 page (text/html), measured"),
        LabScenario("body/truncated-size-known", "cdn", "anonymous", knobs=(("acao", "*"), ("truncate", 60)), tags=("body",),
                    source="html/semantics/embedded-content/the-img-element: update the image data (size known: load)"),
        LabScenario("body/truncated-header", "cdn", "anonymous", knobs=(("acao", "*"), ("truncate", 12)), broken=True,
                    tags=("body",)),
        LabScenario("body/not-an-image", "cdn", None, knobs=(("truncate", 0),), broken=True, tags=("body",)),
        LabScenario("body/wrong-content-type", "cdn", None, knobs=(("ctype", "text/plain"),), tags=("body",)),
        LabScenario("body/nosniff-image", "cdn", "anonymous", knobs=(("acao", "*"), ("nosniff", True)), tags=("body",)),
    ]

    # 8. Curated edge cases, each from the test file it comes from (WPT paths are relative to the
    #    web-platform-tests/wpt root; CANVAS = html/semantics/embedded-content/the-canvas-element).
    canvas_wpt = "html/semantics/embedded-content/the-canvas-element/"
    out += [
        LabScenario("wpt/drawImage-cross-origin-taints", "cdn", None, "toDataURL",
                    source=canvas_wpt + "security.drawImage.image.sub.html"),
        LabScenario("wpt/pattern-fillStyle-taints", "cdn", None, "pattern",
                    source=canvas_wpt + "security.pattern.image.fillStyle.sub.html"),
        LabScenario("wpt/canvas-redraw-taints", "cdn", None, "canvas-to-canvas",
                    source=canvas_wpt + "security.drawImage.canvas.sub.html"),
        LabScenario("wpt/drawImage-redirect-taints", "cdn", None, "getImageData", via=("site",),
                    source=canvas_wpt + "security.drawImage.image.redirect.html"),
        LabScenario("wpt/img-crossorigin-cors-pass", "cdn", "anonymous", knobs=_acao("star"),
                    source="html/canvas/element/manual/drawing-images-to-the-canvas/drawimage_crossorigin.sub.html"),
        LabScenario("wpt/img-cors-enabled-but-no-crossorigin-taints", "cdn", None, knobs=_acao("star"),
                    source="html/canvas/element/manual/drawing-images-to-the-canvas/drawimage_crossorigin.sub.html"),
        LabScenario("wpt/webgl-cross-origin-texture", "cdn", None, "texImage2D",
                    source="KhronosGroup/WebGL sdk/tests/conformance/textures/misc/origin-clean-conformance.html"),
        LabScenario("wpt/createImageBitmap-cross-origin", "cdn", None, "createImageBitmap",
                    source="html/canvas/element/manual/imagebitmap/createImageBitmap-origin.sub.html"),
        LabScenario("wpt/offscreen-convertToBlob-tainted", "cdn", None, "convertToBlob",
                    source="html/canvas/offscreen/manual/convert-to-blob/offscreencanvas.convert.to.blob.html"),
        LabScenario("wpt/fetch-cors-redirect-null-origin", "site", "anonymous", knobs=(("acao", "null"),), via=("cdn",),
                    hop_knobs=(("acao", "*"),), source="fetch/api/cors/cors-redirect.any.js"),
        LabScenario("wpt/fetch-cors-credentials-star-fails", "cdn", "use-credentials", knobs=(("acao", "*"), ("acac", True)),
                    source="xhr/access-control-and-redirects-async-same-origin.any.js (with star)"),
        LabScenario("wpt/fetch-cors-acac-case", "cdn", "use-credentials", knobs=(("acao", "{page}"), ("acac", "TRUE")),
                    source="cors/credentials-flag.htm"),
        LabScenario("wpt/img-404-with-image-data-loads", "site", None, knobs=(("status", 404),),
                    source="html/semantics/embedded-content/the-img-element/404-response-with-actual-image-data.html"),
        LabScenario("wpt/crossorigin-invalid-value-is-anonymous", "cdn", "bogus", knobs=_acao("star"),
                    source="html/dom/reflection-embedded.html (crossOrigin invalidVal: anonymous)"),
    ]
    out += _random_tester_classes()
    ids = [s.id for s in out]
    assert len(ids) == len(set(ids)), "scenario ids must be unique"
    return out


def representative() -> list[LabScenario]:
    """A subset of `matrix()` for the default test run of Firefox and WebKit: every scenario of every
    group except the two large grids, which keep crossorigin absent and "anonymous" (ACAO forms) and
    the logged-in half (use-credentials x ACAC). Every group, operation, redirect, cache sequence and
    opaque page is in it, and every scenario a profile deviation names (a test checks both)."""
    def keep(s: LabScenario) -> bool:
        if "acao" in s.tags:
            return s.crossorigin in (None, "anonymous")
        if "credentials" in s.tags:
            return s.login
        return True

    return [s for s in matrix() if keep(s)]


# What Chromium 156's decoders need before an <img> knows the lab picture's size (measured by
# tools/measure_truncation.py; cors_lab.spec.images.SIZE_RULES): the picture cut one byte shorter
# fires error, cut to this many bytes fires load.
SIZE_KNOWN_AT = {"picture.png": 41, "picture.gif": 46, "picture.jpg": 623, "picture.webp": 30, "picture.avif": 267,
                 "picture.bmp": 54, "picture.ico": 22}


def _random_tester_classes() -> list[LabScenario]:
    """9. One scenario (or a few) per class of disagreement the random tester found (issue 13), so
    none comes back: each was decided against Chromium 156 and the standard first."""
    issue = "issue 13 (random differential tester), measured in Chromium 156; "
    out = [
        # Referrer Policy, determine request's referrer, run again by main fetch for each redirect
        # from the referrer the previous hop left: after a cross-origin hop only the origin is left.
        LabScenario("referrer/cross-origin-redirect-back-to-page-origin", "site", None, via=("other",),
                    source=issue + "https://w3c.github.io/webappsec-referrer-policy/#determine-requests-referrer"),
        LabScenario("referrer/same-origin-redirect-keeps-page-url", "site", None, via=("site",),
                    source=issue + "https://w3c.github.io/webappsec-referrer-policy/#determine-requests-referrer"),
        # The kernel jar keeps Secure cookies for potentially trustworthy http origins (RFC 6265bis).
        LabScenario("cookies/samesite-none-secure/cdn", "cdn", None, login=True, samesite="None", asset="secret.png",
                    source=issue + "https://httpwg.org/http-extensions/draft-ietf-httpbis-rfc6265bis.html#name-the-cookie-header"),
        # RFC 6265bis: a redirect through another site makes the request cross-site for cookies.
        LabScenario("cookies/lax-after-cross-site-redirect", "cdn", None, via=("other",), login=True, asset="secret.png",
                    source=issue + "https://httpwg.org/http-extensions/draft-ietf-httpbis-rfc6265bis.html"
                                   "#name-same-site-and-cross-site-req"),
        # A crossorigin="anonymous" chain that starts on the page's origin, then another origin redirects
        # again: WebKitGTK checks that redirect as if credentials were included.
        *[LabScenario(f"redirect/site>cdn>cdn/anonymous/acao={name}", "cdn", "anonymous", knobs=(("acao", "*"),),
                      via=("site", "cdn"), per_hop=((("status", 302), ("acao", "*")), (("status", 302),) + hop),
                      source="random tester: WebKitGTK 2.50 refuses * there (measured)", tags=("redirect",))
          for name, hop in (("star", (("acao", "*"),)), ("exact-acac", (("acao", "{page}"), ("acac", True))))],
        # HTML's list of available images: Firefox shows a same-origin image again whatever the mode.
        LabScenario("cache/same-origin-plain-then-anonymous", "site", "anonymous", before=(None,), tags=("cache",),
                    source="random tester: Firefox ESR 153 makes one request (measured)"),
        LabScenario("cache/vary-star-twice", "cdn", None, knobs=(("vary", "*"),), before=(None,), tags=("cache",),
                    source="random tester: WebKitGTK 2.50 asks again (seed 18022257, measured)"),
        # A sandboxed frame (opaque origin) in a site page, its site's picture, logged in: cross-site.
        LabScenario("cookies/opaque-frame-in-site-page", "site", "use-credentials", knobs=(("acao", "null"), ("acac", True)),
                    login=True, page="null", asset="secret.png",
                    source="random tester: WebKitGTK 2.50 sends the cookie (measured)"),
        LabScenario("cookies/samesite-strict/cdn", "cdn", "use-credentials", knobs=(("acao", "{page}"), ("acac", True)),
                    login=True, samesite="Strict", asset="secret.png", source=issue + "RFC 6265bis same-site requests"),
        # texImage2D: an opaque response that does not decode is checked for taint first.
        LabScenario("op=texImage2D/opaque-not-decoded", "cdn", None, "texImage2D", knobs=(("truncate", 12),), broken=True,
                    source=issue + "WebGLRenderingContextBase::ValidateHTMLImageElement (taint before decodability)"),
        # The HTTP cache: a load cancelled by its failed CORS check leaves no entry.
        LabScenario("cache/cors-failure-then-plain", "cdn", None, knobs=(("cache", "max-age=3600"),),
                    before=("anonymous",), source=issue + "a cancelled load's cache entry is never finished",
                    tags=("cache",)),
        # ... unless Chromium read the whole body first, sniffing its MIME type (a small body
        # served as text/plain: stored; a bigger one, or with nosniff, not).
        *[LabScenario(f"cache/cors-failure-then-again/{asset}/ctype={ctype}{'/nosniff' if nosniff else ''}", "cdn",
                      "anonymous", knobs=(("ctype", ctype),) + ((("nosniff", True),) if nosniff else ()),
                      before=("anonymous",), asset=asset, tags=("cache",),
                      source=issue + "Chromium sniffs text/plain before its CORS check (net::kMaxBytesToSniff)")
          for asset, ctype, nosniff in (("picture.png", "text/plain", False), ("picture.jpg", "text/plain", False), ("picture.bmp", "", False),
                                        ("picture.svg", "application/msword", False),
                                        ("picture.png", "text/plain", True), ("picture.png", "image/png", False))],
        # Content types: raster images are sniffed whatever XML type is claimed; SVG never is.
        LabScenario("ctype/png-as-text-xml", "cdn", None, knobs=(("ctype", "text/xml"),),
                    source=issue + "https://mimesniff.spec.whatwg.org/#rules-for-sniffing-images-specifically"),
        LabScenario("ctype/png-as-application-xml", "site", None, knobs=(("ctype", "application/xml"),),
                    source=issue + "https://mimesniff.spec.whatwg.org/#rules-for-sniffing-images-specifically"),
        LabScenario("ctype/svg-without-content-type", "site", None, knobs=(("ctype", ""),), asset="picture.svg",
                    broken=True, source=issue + "SVG has no row in the image type pattern table"),
        LabScenario("ctype/png-without-content-type", "cdn", None, knobs=(("ctype", ""),),
                    source=issue + "https://mimesniff.spec.whatwg.org/#rules-for-sniffing-images-specifically"),
        # Engines differ (tools/measure_orb.py): Firefox sniffs a PNG served as image/svg+xml;
        # WebKitGTK shows nothing served as a video type, even from the page's own origin.
        LabScenario("ctype/png-as-image-svg+xml", "site", None, knobs=(("ctype", "image/svg+xml"),), broken=True,
                    source=issue + "https://mimesniff.spec.whatwg.org/#rules-for-sniffing-images-specifically"),
        LabScenario("ctype/png-as-video-mp4", "site", None, knobs=(("ctype", "video/mp4"),),
                    source="tools/measure_orb.py (WebKitGTK 2.50: error)"),
    ]
    # Storage Access Headers: an opaque-origin frame whose image is same-site with its top page
    # sends Origin: null and Sec-Fetch-Storage-Access: inactive; cross-site: "none", no Origin.
    for top, target, co in itertools.product(("site", "other"), ("site", "other"), (None, "use-credentials")):
        knobs = (("acao", "null"), ("acac", True)) if co else ()
        out.append(LabScenario(f"opaque-page/top={top}/{target}/co={co!r}", target, co, knobs=knobs, page="null", top=top,
                               source=issue + "https://privacycg.github.io/storage-access-headers/#origin-header-integration",
                               tags=("opaque",)))
    # Chromium decides that Origin on the first request and keeps it across redirects (measured).
    for via, target in ((("site",), "other"), (("other",), "site")):
        out.append(LabScenario(f"opaque-page/top=site/{via[0]}>{target}", target, None, via=via, page="null", top="site",
                               source=issue + "Chromium keeps the first request's Origin header across redirects",
                               tags=("opaque",)))
    # Opaque Response Blocking: a no-cors cross-origin response of a type that is never an image.
    orb = issue + "https://github.com/whatwg/fetch/pull/1755, WPT fetch/orb/tentative"
    for ctype, nosniff, co, target in (
        ("application/pdf", False, None, "cdn"), ("application/zip", False, None, "other"), ("text/csv", False, None, "cdn"),
        ("text/html", True, None, "cdn"), ("application/json", True, None, "other"), ("text/plain", True, None, "cdn"),
        ("text/html", False, None, "cdn"), ("application/pdf", False, None, "site"),
        ("application/pdf", False, "anonymous", "cdn"), ("text/html", True, "anonymous", "other"),
        ("audio/mpeg", False, None, "cdn"),
    ):
        # The body is the lab's PNG in each (broken=False): a blocked load is a network error.
        knobs = (("ctype", ctype),) + ((("nosniff", True),) if nosniff else ()) + ((("acao", "*"),) if co else ())
        out.append(LabScenario(f"orb/{ctype}{'/nosniff' if nosniff else ''}/co={co!r}/{target}", target, co,
                               knobs=knobs, source=orb, tags=("orb",)))
    out += [
        # An HTML error page served as text/html: CORB's confirmation sniff blocks it, so texImage2D
        # meets a network error (INVALID_VALUE), not an opaque response (SecurityError).
        LabScenario("orb/html-error-page/texImage2D", "cdn", None, "texImage2D", knobs=(("status", 404), ("errorpage", True)),
                    broken=True, source=orb + "; CORB's sniffing, kept by Chromium's ORB v0.1", tags=("orb",)),
        # Chromium runs ORB only for a response cross-origin with the page, whatever the tainting.
        LabScenario("orb/redirect-back-to-page-origin/text/csv", "site", None, knobs=(("ctype", "text/csv"),),
                    via=("other",), source=orb + "; measured: not blocked", tags=("orb",)),
    ]
    # Decoding a truncated picture: one byte short of what the decoder needs to know the size
    # fires error; that many bytes fire load.
    for asset, n in SIZE_KNOWN_AT.items():
        for cut, broken in ((n - 1, True), (n, False)):
            out.append(LabScenario(f"truncated/{asset}/{cut}", "cdn", "anonymous", knobs=(("acao", "*"), ("truncate", cut)),
                                   asset=asset, broken=broken, source=issue + "tools/measure_truncation.py",
                                   tags=("body",)))
    return out
