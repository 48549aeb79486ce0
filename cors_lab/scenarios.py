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
    knobs: the final response's knobs; hop_knobs: every redirecting hop's knobs.
    page: "site" (the lab's page origin) or "null" (an opaque-origin sandboxed page).
    before: crossorigin values of earlier loads of the same URL in the same browser (cache lessons).
    login: the browser holds the lab's login cookie (set by a top-level visit to /login).
    broken: the body is known not to decode (the model is told so: it does no decoding).
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
    before: tuple[str | None, ...] = ()
    login: bool = False
    broken: bool = False
    asset: str = "picture.png"
    source: str = ""  # where the case comes from (WPT file, MDN, DESIGN.md measurement)
    tags: tuple[str, ...] = field(default=(), compare=False)

    def build(self, lab, tag: str) -> "BuiltScenario":
        """URLs on a running lab; ``tag`` makes them unique (a nonce) so logs and caches stay apart."""
        fill = _filler(lab)
        knobs = {k: fill(v) for k, v in self.knobs}
        knobs["nonce"] = tag
        if self.via:
            hops = [lab[label] for label in self.via] + [lab[self.target]]
            hop_knobs = {k: fill(v) for k, v in self.hop_knobs}
            url = lab.chain(hops, self.asset, status=self.status, hop_knobs=hop_knobs or None, **knobs)
        else:
            url = lab[self.target].url(self.asset, **knobs)
        # Every URL carries the tag, the page's and the login page's too: no two scenarios share a URL,
        # so one browser context can run them all without one meeting another's cache entries.
        page_nonce = f"page{tag[:-1]}p"
        login_url = lab.site.login_url("alice", nonce=page_nonce) if self.login else None
        page_url = login_url or lab.site.url("picture.png", nonce=page_nonce)
        # An opaque-origin page is a sandboxed srcdoc frame inside a page of the lab's site (as inside
        # JupyterLab's page), not inside about:blank: see cors_lab.engines.base.EngineContext.open.
        top_url = lab.site.url("picture.png", nonce=f"top{tag[:-1]}p") if self.page == "null" else None
        return BuiltScenario(self, url, "null" if self.page == "null" else page_url, login_url, top_url)


@dataclass(frozen=True)
class BuiltScenario:
    scenario: LabScenario
    url: str
    page_url: str  # "null" = opaque-origin page
    login_url: str | None
    top_url: str | None = None  # the page around an opaque-origin page's sandboxed frame

    def urls(self) -> list[str]:
        """Every URL this scenario can load: the image (a redirect chain encodes its later hops in it),
        the page, the login page and the page around an opaque frame."""
        return [u for u in (self.url, self.page_url, self.login_url, self.top_url) if u and u != "null"]


def _filler(lab):
    page, cdn = lab.site.origin, lab.cdn.origin

    def fill(value):
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, str):
            return value.replace("{page}", page).replace("{PAGE}", page.upper()).replace("{cdn}", cdn)
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
