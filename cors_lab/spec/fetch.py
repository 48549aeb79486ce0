"""Fetch for images: the crossorigin attribute, the request a browser sends, the CORS check, redirects.

Owns the CORS settings attribute table, the image request (mode, credentials mode, Origin,
Sec-Fetch-*, cookies), the CORS check, response tainting and the walk over a chain of responses.
Every function that depends on the engine takes ``profile`` (see profiles.py; default "chromium").
Pure: stdlib only, no I/O. Responses are given, never fetched here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

from ..errors import UsageError
from .headers import HeaderList
from .profiles import ACCEPT, DEFAULT_PROFILE, Profile, get_profile
from .orb import opaque_response_safelist_check
from .origins import (
    Origin,
    ParsedURL,
    is_potentially_trustworthy,
    origin_of,
    parse_url,
    same_origin,
    same_site,
)

FETCH = "https://fetch.spec.whatwg.org/"
HTML = "https://html.spec.whatwg.org/multipage/"

# --- The crossorigin attribute: a CORS settings attribute ----------------------------------------
# https://html.spec.whatwg.org/multipage/urls-and-fetching.html#cors-settings-attributes
# keyword -> state ("The attribute's missing value default is the No CORS state, and its invalid
# value default is the Anonymous state." Keywords are ASCII case-insensitive.)
CORS_SETTINGS = {
    "anonymous": "Anonymous",
    "": "Anonymous",
    "use-credentials": "Use Credentials",
}
CORS_SETTINGS_MISSING_DEFAULT = "No CORS"
CORS_SETTINGS_INVALID_DEFAULT = "Anonymous"

# https://html.spec.whatwg.org/multipage/urls-and-fetching.html#create-a-potential-cors-request
# state -> (request mode, credentials mode)
#   1. Let mode be "no-cors" if corsAttributeState is No CORS, and "cors" otherwise.
#   (2. The same-origin fallback flag: never set for <img>.)
#   3. Let credentialsMode be "include".
#   4. If corsAttributeState is Anonymous, set credentialsMode to "same-origin".
POTENTIAL_CORS_REQUEST = {
    "No CORS": ("no-cors", "include"),
    "Anonymous": ("cors", "same-origin"),
    "Use Credentials": ("cors", "include"),
}

# The step id a successful fetch ends with, per response tainting (main fetch, step 12's switch).
TAINTING_STEPS = {
    "basic": "main-fetch-tainting-basic",
    "cors": "main-fetch-tainting-cors",
    "opaque": "main-fetch-tainting-opaque",
}

# https://fetch.spec.whatwg.org/#redirect-status
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
REDIRECT_LIMIT = 20

# What Chromium 156 sends as Accept for an <img> (measured here from a real server's log), and the Fetch
# standard's own default for destination "image"; every profile's is in profiles.ACCEPT.
CHROMIUM_IMAGE_ACCEPT = ACCEPT["chromium"]
SPEC_IMAGE_ACCEPT = ACCEPT["spec"]


def check_crossorigin(value: object) -> str | None:
    """``value`` if it can be a crossorigin attribute (None = absent, else a string); else UsageError."""
    if value is not None and not isinstance(value, str):
        raise UsageError(
            f"crossorigin must be None (attribute absent) or a string such as 'anonymous', not {value!r}."
        )
    return value


def cors_settings_state(value: str | None) -> str:
    """The crossorigin attribute's state: "No CORS", "Anonymous" or "Use Credentials".

    ``None`` means the attribute is absent. Any string, even ``"foo"``, is present.
    Spec: https://html.spec.whatwg.org/multipage/urls-and-fetching.html#cors-settings-attributes
    """
    if check_crossorigin(value) is None:
        return CORS_SETTINGS_MISSING_DEFAULT
    # Keywords are ASCII case-insensitive: lower only ASCII letters.
    key = value.translate({c: c + 32 for c in range(0x41, 0x5B)})
    return CORS_SETTINGS.get(key, CORS_SETTINGS_INVALID_DEFAULT)


@dataclass
class Request:
    """The parts of a Fetch request an image load needs.

    Spec: https://fetch.spec.whatwg.org/#concept-request
    """

    url_list: list[str]
    origin: Origin
    mode: str  # "no-cors" | "cors"
    credentials_mode: str  # "omit" | "same-origin" | "include"
    destination: str = "image"
    response_tainting: str = "basic"  # "basic" | "cors" | "opaque"
    redirect_count: int = 0
    initiator_page: str | None = None  # the page URL, for Referer (None: only the origin is known)
    # For an opaque-origin page that is an iframe srcdoc document: the URL of the page it sits in (its
    # "container document", the Referer's source, and the top-level page). None: no container known,
    # or one without a URL (about:blank).
    container_url: str | None = None
    # "client" until main fetch determines it, then a URL or "no-referrer".
    referrer: str = "client"
    # The SameSite attribute of the cookies the browser holds (the lab's login): "Lax", "Strict" or "None".
    cookie_samesite: str = "Lax"
    # The storage access status of the first request, whose Origin header an engine with the
    # "origin-kept-across-redirects" deviation keeps.
    initial_storage_access: str | None = None

    @property
    def current_url(self) -> str:
        return self.url_list[-1]

    @property
    def top_level(self) -> Origin:
        """The client's top-level origin. Spec: https://html.spec.whatwg.org/multipage/webappapis.html#concept-environment-top-level-origin"""
        if self.container_url is None:
            return self.origin
        return origin_of(self.container_url)


def image_request(url: str, *, page_origin: Origin, crossorigin: str | None, page_url: str | None = None,
                  container_url: str | None = None, cookie_samesite: str = "Lax") -> Request:
    """The request an ``<img>`` with this crossorigin attribute makes.

    ``container_url``: for an opaque-origin page (a sandboxed ``srcdoc`` frame), the URL of the page
    around it, the top-level page. Spec: https://html.spec.whatwg.org/multipage/urls-and-fetching.html#create-a-potential-cors-request
    """
    mode, credentials_mode = POTENTIAL_CORS_REQUEST[cors_settings_state(crossorigin)]
    parse_url(url)  # fail early, with the fix, on a URL that cannot be parsed
    if container_url is not None:
        parse_url(container_url)
    return Request([url], page_origin, mode, credentials_mode, initiator_page=page_url, container_url=container_url,
                   cookie_samesite=cookie_samesite)


def available_image_key(url: str, *, crossorigin: str | None, page_origin: Origin,
                        profile: str | Profile = DEFAULT_PROFILE) -> tuple:
    """The key of an image in its document's list of available images.

    HTML, update the image data: "Let key be a tuple consisting of urlString, the img element's
    crossorigin attribute's mode, and, if that mode is not No CORS, the node document's origin." An
    image in the list is shown again at once, without a request, "even when [it doesn't] allow
    caching per HTTP" (measured in all three engines: a no-store picture loaded twice in one document
    reaches the server once).
    Spec: https://html.spec.whatwg.org/multipage/images.html#list-of-available-images
    """
    mode = cors_settings_state(crossorigin)
    # Deviation "image-cache-same-origin-any-mode" (Firefox ESR 153): for an image on the page's own
    # origin the mode is left out (measured: a plain load, then crossorigin="anonymous", one request).
    if get_profile(profile).has("image-cache-same-origin-any-mode") and same_origin(origin_of(url), page_origin):
        return (url, "any", None)
    return (url, mode, None if mode == "No CORS" else page_origin.serialize())


def joins_available_images(*, loaded: bool, vary: str | None = None, profile: str | Profile = DEFAULT_PROFILE) -> bool:
    """Whether a finished load is added to the document's list of available images: one that loaded
    ("completely available"). Deviation "failed-image-loads-reused" (Firefox ESR 153): a failed one
    too, so loading it again fails again without a request (measured: crossorigin="anonymous" with no
    ACAO twice in one document reaches the server once). ``vary``: the final response's `Vary`.
    Spec: https://html.spec.whatwg.org/multipage/images.html#update-the-image-data
    """
    engine = get_profile(profile)
    # Deviation "image-list-respects-vary-star" (WebKitGTK 2.50): a response with `Vary: *` is never
    # shown again (measured: a picture with Vary: * loaded twice in one document, two requests).
    if loaded and vary is not None and vary.strip() == "*" and engine.has("image-list-respects-vary-star"):
        return False
    return loaded or engine.has("failed-image-loads-reused")


REDIRECT_TAINTS = ("same-origin", "same-site", "cross-site")


def redirect_taint(request: Request) -> str:
    """The request's redirect-taint: "same-origin", "same-site" or "cross-site".

    Anything but "same-origin" makes the request's origin serialize as "null".
    Spec: https://fetch.spec.whatwg.org/#concept-request-tainted-origin
    """
    # 1. Assert: request's origin is not "client".  (A Request always holds an origin here.)
    # 2. Let lastURL be null.
    last: Origin | None = None
    # 3. Let taint be "same-origin".
    taint = "same-origin"
    # 4. For each url of request's URL list:
    for url in request.url_list:
        here = origin_of(url)
        # 4.1 If lastURL is null, then set lastURL to url and continue.
        if last is None:
            last = here
            continue
        # 4.2 If url's origin is not same site with lastURL's origin and request's origin is not
        #     same site with lastURL's origin, then return "cross-site".
        if not same_site(here, last) and not same_site(request.origin, last):
            return "cross-site"
        # 4.3 If url's origin is not same origin with lastURL's origin and request's origin is not
        #     same origin with lastURL's origin, then set taint to "same-site".
        if not same_origin(here, last) and not same_origin(request.origin, last):
            taint = "same-site"
        # 4.4 Set lastURL to url.
        last = here
    # 5. Return taint.
    return taint


def serialize_request_origin(request: Request) -> str:
    """Spec: https://fetch.spec.whatwg.org/#serializing-a-request-origin"""
    # 1. Assert: request's origin is not "client".
    # 2. If request's redirect-taint is not "same-origin", then return "null".
    if redirect_taint(request) != "same-origin":
        return "null"
    # 3. Return request's origin, serialized.
    return request.origin.serialize()


def origin_header(request: Request, *, profile: str | Profile = DEFAULT_PROFILE, storage_access: str | None = None) -> str | None:
    """The `Origin` request header value, or None when none is sent (GET image requests).

    ``storage_access``: the request's `Sec-Fetch-Storage-Access` value (`storage_access_status`).
    Spec: https://fetch.spec.whatwg.org/#append-a-request-origin-header
    """
    # 2. Let serializedOrigin be the result of byte-serializing a request origin with request.
    serialized = serialize_request_origin(request)
    # 3. If request's response tainting is "cors" or request's mode is either "websocket" or
    #    "webtransport", then append (`Origin`, serializedOrigin) to request's header list.
    if request.response_tainting == "cors":
        return serialized
    # Deviation "origin-on-same-origin-cors" (Chromium 156, WebKitGTK 2.50; not Firefox ESR 153): Origin
    # on every "cors"-mode request, same-origin ones too (whatwg/fetch#1170). profile="spec" or
    # "firefox" gives the standard's answer.
    if request.mode == "cors" and get_profile(profile).has("origin-on-same-origin-cors"):
        return serialized
    # 4. Otherwise, if request's method is neither `GET` nor `HEAD`, then: ... (image requests are GET).
    engine = get_profile(profile)
    # Deviation "storage-access-headers" (Chromium 156, Firefox ESR 153): Storage Access Headers rewrite step 4 as "If
    # at least one of the following conditions is true: the result of getting
    # `Sec-Fetch-Storage-Access` from request's header list is "inactive"; request's method is neither
    # `GET` nor `HEAD`", so that a server deciding whether to ask for a retry with cookies knows who
    # asked. (Shipped in Chrome 133; measured in Chromium 156 and Firefox ESR 153: a sandboxed frame's
    # no-cors image from its top page's site carries `Origin: null`, from another site none.)
    # https://privacycg.github.io/storage-access-headers/#origin-header-integration
    if storage_access == "inactive" and engine.has("storage-access-headers"):
        # 4.1 Switch on request's referrer policy: "strict-origin-when-cross-origin" — if request's
        #     origin is a tuple origin, its scheme is "https", and request's current URL's scheme
        #     is not "https", set serializedOrigin to `null`. (An opaque origin is `null` already.)
        if not request.origin.opaque and request.origin.scheme == "https" and parse_url(request.current_url).scheme != "https":
            return "null"
        # 4.2 Append (`Origin`, serializedOrigin) to request's header list.
        return serialized
    return None


def _http_container(request: Request) -> bool:
    return request.container_url is not None and parse_url(request.container_url).scheme in ("http", "https")


STORAGE_ACCESS_HEADERS = "https://privacycg.github.io/storage-access-headers/"


def storage_access_status(request: Request) -> str | None:
    """The request's storage access status: "none", "inactive", "active", or None (no header).

    What the browser tells a server about its unpartitioned cookies. With Chromium's default
    policy (third-party cookies blocked, nothing granted by the user) a request that is cross-site
    for cookies says "none", unless the storage-access permission counts as granted: the Storage
    Access API grants it to an embed that is same site with its top-level site ("If embeddedSite
    is same site with topLevelSite: Run process permission state with granted",
    https://privacycg.github.io/storage-access/#dom-document-requeststorageaccess), so an
    opaque-origin frame asking its top page's site says "inactive" (measured in Chromium 156).
    Spec: https://privacycg.github.io/storage-access-headers/#request-storage-access-status
    """
    url_origin = origin_of(request.current_url)
    # 1. If the user agent's cookie store would attach cookies with the `SameSite=Strict`
    #    attribute to request, then return null. (A same-site request from a page whose own origin
    #    is a site: an opaque-origin page's site for cookies is opaque, RFC 6265bis 5.2.1.)
    if not request.origin.opaque and same_site(request.origin, url_origin) and same_site(request.top_level, url_origin):
        return None
    # 2-3. allowed: whether the cookie store allows unpartitioned cookies for (top-level site,
    #      destination site). Deviation: the kit's cookie policy (cookies_allowed): third-party
    #      cookies are blocked, so never "active".
    # 4. eligible for storage-access: never, for an <img>.
    # 5-6. featureIsAllowed: "storage-access" is allowed by default ("*").
    # 7-8. allowed, given "eligible": the permission for (top-level site, destination site) is
    #      granted, here when the two are same site (see above).
    top = request.top_level
    if not top.opaque and same_site(top, url_origin):
        return "inactive"
    # 9. Return "none".
    return "none"


def includes_credentials(request: Request) -> bool:
    """Whether cookies may be sent: "include", or "same-origin" with "basic" response tainting.

    Spec: https://fetch.spec.whatwg.org/#http-network-or-cache-fetch (includeCredentials)
    """
    # "Let includeCredentials be true if one of: request's credentials mode is "include";
    #  request's credentials mode is "same-origin" and request's response tainting is "basic";
    #  false otherwise."
    return request.credentials_mode == "include" or (
        request.credentials_mode == "same-origin" and request.response_tainting == "basic"
    )


def secure_for_cookies(url: str, *, profile: str | Profile = DEFAULT_PROFILE) -> bool:
    """Whether ``url``'s scheme "denotes a secure protocol" for cookies: a `Secure` cookie is kept from,
    and sent to, such a URL only.

    RFC 6265bis leaves "secure" to the user agent and recommends counting potentially trustworthy
    origins: Chromium 156 and Firefox ESR 153 do (a `SameSite=None; Secure` login on
    http://127.0.0.1 is kept and sent). Choice "secure-cookies-https-only" (WebKitGTK 2.50): https only.
    Spec: https://httpwg.org/http-extensions/draft-ietf-httpbis-rfc6265bis.html#name-storage-model
    """
    if get_profile(profile).has("secure-cookies-https-only"):
        return parse_url(url).scheme == "https"
    return is_potentially_trustworthy(url)


def cookies_allowed(request: Request, url: str, *, profile: str | Profile = DEFAULT_PROFILE) -> tuple[bool, str]:
    """Whether the browser attaches the cookies it holds for url, and why (one sentence).

    The cookies the browser holds are first-party ones (the lab's /login sets a SameSite=Lax cookie),
    which no engine sends on a cross-site subresource request: Chromium and WebKit block third-party
    cookies, Firefox keeps them in a jar per top-level site. A page with an opaque origin is
    cross-site to everything.
    Spec: https://fetch.spec.whatwg.org/#http-network-or-cache-fetch and
    https://httpwg.org/http-extensions/draft-ietf-httpbis-rfc6265bis.html#name-samesite-cookies
    """
    if not includes_credentials(request):
        if request.credentials_mode == "same-origin":
            return False, (
                'credentials mode is "same-origin" and the request is cross-origin '
                f'(response tainting "{request.response_tainting}"), so no cookies are sent'
            )
        return False, f'credentials mode is "{request.credentials_mode}", so no cookies are sent'
    engine = get_profile(profile)
    # Deviation "cookies-site-from-top-page" (WebKitGTK 2.50): a sandboxed frame's requests are as
    # same-site as its top page's (measured: a Strict or Lax login cookie goes from an opaque frame
    # in a site page to the site's images); the standard makes an opaque origin cross-site to all.
    page = request.top_level if request.origin.opaque and engine.has("cookies-site-from-top-page") else request.origin
    # RFC 6265bis, "same-site" and "cross-site" requests: "1. The request is not the result of a
    # cross-site redirect. That is, the origin of every url in the request's url list is same-site
    # with the request's current url's origin." A first-party (SameSite=Lax) cookie is not sent after
    # a redirect through another site (measured in Firefox ESR 153: site page, other 302 -> cdn).
    # Deviation "cookies-ignore-redirect-chain" (Chromium 156): only the current URL counts.
    target = origin_of(url)
    # (SameSite=None cookies are not held to same-site requests: the third-party policy below decides.)
    chain_cross_site = request.cookie_samesite != "None" and not engine.has("cookies-ignore-redirect-chain") and any(
        not same_site(origin_of(u), target) for u in request.url_list[:-1])
    if chain_cross_site and same_site(page, target):
        return False, ("the request came through a redirect from another site, so it is cross-site for cookies "
                       "and the site's cookies (SameSite=Lax) are not sent")
    if not same_site(page, target):
        policy = engine.third_party_cookies
        why = {"blocked": "the browser blocks third-party cookies",
               "partitioned": "the browser keeps third-party cookies in a separate jar per top-level site, "
                              "so the site's own cookies are not sent"}.get(
            policy, "its cookies are first-party ones (SameSite=Lax), never sent cross-site")
        return False, f"the image is cross-site to the page, and {why}"
    return True, "credentials are included and the image is same-site with the page"


def sec_fetch_site(request: Request, *, profile: str | Profile = DEFAULT_PROFILE) -> str:
    """Spec: https://w3c.github.io/webappsec-fetch-metadata/#sec-fetch-site-header"""
    # 3. Set header's value to `same-origin`.
    value = "same-origin"
    # Deviation "sec-fetch-site-cross-site-after-redirect" (Firefox ESR 153): once redirected, any
    # URL not same origin with the request's origin makes the value cross-site (measured over
    # same-site chains site -> cdn and cdn -> site).
    if len(request.url_list) > 1 and get_profile(profile).has("sec-fetch-site-cross-site-after-redirect"):
        if any(not same_origin(origin_of(url), request.origin) for url in request.url_list):
            return "cross-site"
    # 4. (A navigation the user caused directly: `none`. Never an image.)
    # 5. If header's value is not `none`, then for each url in r's url list:
    for url in request.url_list:
        here = origin_of(url)
        # 5.1 If url is same origin with r's origin, continue.
        if same_origin(here, request.origin):
            continue
        # 5.2 Set header's value to `cross-site`.
        value = "cross-site"
        # 5.3 If r's origin is not same site with url's origin, then break.
        if not same_site(request.origin, here):
            break
        # 5.4 Set header's value to `same-site`.
        value = "same-site"
    return value


REFERRER_POLICY = "https://w3c.github.io/webappsec-referrer-policy/"


def strip_url(url: str, *, origin_only: bool = False) -> str | None:
    """Spec: https://w3c.github.io/webappsec-referrer-policy/#strip-url"""
    parts = urlsplit(url)
    # 2. If url's scheme is a local scheme, then return no referrer.
    if parts.scheme in ("about", "blob", "data"):
        return None
    # 3-4. Set url's username and password to the empty string.
    netloc = parts.netloc.rpartition("@")[2]
    # 6. If the origin-only flag is true, then: set url's path to « » and url's query to null.
    if origin_only:
        return urlunsplit((parts.scheme, netloc, "/", "", ""))
    # 5. Set url's fragment to null.
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def determine_referrer(request: Request, *, profile: str | Profile = DEFAULT_PROFILE) -> str | None:
    """The request's referrer under the default policy "strict-origin-when-cross-origin" (None: no referrer).

    Main fetch runs this for every URL of a redirect chain, from the referrer the previous run
    left: once a hop was cross-origin, only the page's origin is left to send.
    Spec: https://w3c.github.io/webappsec-referrer-policy/#determine-requests-referrer
    """
    # 3. Switch on request's referrer:
    if request.referrer == "no-referrer":
        return None
    if request.referrer == "client":
        # "client": 1.2 If document's origin is an opaque origin, return no referrer.
        if request.origin.opaque:
            # Deviation "referer-from-opaque-frame" (Firefox ESR 153, WebKitGTK 2.50): a sandboxed
            # srcdoc frame skips 1.2 and goes on to 1.3, "While document is an iframe srcdoc document,
            # let document be its container's node document": the page around it is the source.
            engine = get_profile(profile)
            if not (_http_container(request) and engine.has("referer-from-opaque-frame")):
                return None
            source = request.container_url
            # Deviation "opaque-frame-referer-origin-only" (Firefox ESR 153): only its origin.
            if engine.has("opaque-frame-referer-origin-only"):
                source = origin_of(source).serialize() + "/"
        else:
            # 1.3 While document is an iframe srcdoc document, let document be its container's node
            #     document. 1.4 Let referrerSource be document's URL.
            source = request.initiator_page or request.origin.serialize() + "/"
    else:
        # a URL: Let referrerSource be request's referrer.
        source = request.referrer
    # 4. Let request's referrerURL be the result of stripping referrerSource for use as a referrer.
    referrer_url = strip_url(source)
    # 5. Let referrerOrigin be the result of stripping referrerSource ... origin-only flag true.
    referrer_origin = strip_url(source, origin_only=True)
    if referrer_url is None:
        return None
    target = parse_url(request.current_url)
    # 8. "strict-origin-when-cross-origin":
    # 8.1 If the origin of referrerURL and the origin of request's current URL are the same, then
    #     return referrerURL.
    if same_origin(origin_of(referrer_url), origin_of(target)):
        return referrer_url
    # 8.2 If referrerURL is a potentially trustworthy URL and request's current URL is not a
    #     potentially trustworthy URL, then return no referrer.
    # Deviation: the engines (Chromium's net ComputeReferrerForPolicy) ask whether the schemes are
    # cryptographic instead: only an https: referrer going to an http: URL is cut.
    if urlsplit(referrer_url).scheme == "https" and target.scheme == "http" and not is_potentially_trustworthy(target):
        return None
    # 8.3 Return referrerOrigin.
    return referrer_origin


def referer(request: Request, *, profile: str | Profile = DEFAULT_PROFILE) -> str | None:
    """The `Referer` header value for request's current URL (None: not sent).

    Before main fetch has run (referrer "client") it is determined here, as main fetch would.
    Spec: https://fetch.spec.whatwg.org/#http-network-or-cache-fetch ("If httpRequest's referrer
    is a URL, then ... append (`Referer`, referrerValue)")
    """
    if request.referrer == "client":
        return determine_referrer(request, profile=profile)
    return None if request.referrer == "no-referrer" else request.referrer


@dataclass(frozen=True)
class HopRequest:
    """What the browser sends on one hop: the headers that matter for CORS and cookies."""

    url: str
    mode: str
    credentials_mode: str
    origin: str | None  # `Origin` header value; None = not sent
    cookies: bool  # cookies attached (when the browser holds some for this host)
    cookies_why: str
    sec_fetch_mode: str | None  # None = Sec-Fetch-* not sent (URL not potentially trustworthy)
    sec_fetch_site: str | None
    sec_fetch_dest: str | None
    referer: str | None
    accept: str
    sec_fetch_storage_access: str | None = None  # None = not sent

    def headers(self, *, cookie: str | None = None) -> list[tuple[str, str]]:
        """The request headers as (name, value) pairs, as the browser would send them."""
        out = [("Accept", self.accept)]
        if self.origin is not None:
            out.append(("Origin", self.origin))
        if self.referer is not None:
            out.append(("Referer", self.referer))
        if self.sec_fetch_mode is not None:
            out += [
                ("Sec-Fetch-Dest", self.sec_fetch_dest or "image"),
                ("Sec-Fetch-Mode", self.sec_fetch_mode),
                ("Sec-Fetch-Site", self.sec_fetch_site or "cross-site"),
            ]
        if self.sec_fetch_storage_access is not None:
            out.append(("Sec-Fetch-Storage-Access", self.sec_fetch_storage_access))
        if cookie and self.cookies:
            out.append(("Cookie", cookie))
        return out


def hop_request(request: Request, *, cookies_held: bool = True, profile: str | Profile = DEFAULT_PROFILE) -> HopRequest:
    """The request headers a browser sends for request's current URL (after main fetch set tainting)."""
    engine = get_profile(profile)
    url = request.current_url
    allowed, why = cookies_allowed(request, url, profile=engine)
    # Fetch Metadata, append the Fetch metadata headers: "1. If r's url is not an potentially
    # trustworthy URL, return." (no Sec-Fetch-* at all)
    metadata = is_potentially_trustworthy(url)
    # Deviation "no-sec-fetch-after-cors-redirect" (WebKitGTK 2.50): none after a CORS-mode redirect to
    # another origin (a same-origin redirect keeps them: measured, cdn 307 -> cdn).
    if request.redirect_count and request.mode == "cors" and engine.has("no-sec-fetch-after-cors-redirect") \
            and not same_origin(origin_of(request.url_list[-2]), origin_of(url)):
        metadata = False
    # Storage Access Headers insert into "append the Fetch metadata headers", as step 6: "Set the
    # `Sec-Fetch-Storage-Access` header for r": "2. If request's credentials mode is not "include",
    # abort these steps. 3. Let access be request's storage access status. 4. If access is null,
    # abort these steps." Deviation "storage-access-headers" (Chromium 156, shipped in Chrome 133, and
    # Firefox ESR 153): Fetch itself has no such header yet.
    storage_access = None
    if metadata and engine.has("storage-access-headers") and request.credentials_mode == "include":
        storage_access = storage_access_status(request)
    # Deviation "storage-access-not-after-tainting-redirect" (Firefox ESR 153): none once the request's
    # redirect-taint is not "same-origin" (measured: site 302 -> other and other 302 -> other send it on
    # the second request; cdn 302 -> other does not, nor anything after an opaque page's first redirect).
    if storage_access is not None and engine.has("storage-access-not-after-tainting-redirect") \
            and redirect_taint(request) != "same-origin":
        storage_access = None
    # Deviation "origin-kept-across-redirects" (Chromium 156): Fetch appends a request Origin header
    # to each hop's own httpRequest (a clone), from that hop's status. Chromium decides it on the
    # first request and keeps that header list across redirects (measured: an opaque frame in a site
    # page, image site 307 -> other: Origin null on both hops; other 302 -> site: on neither), while
    # Sec-Fetch-Storage-Access follows each hop.
    origin_access = storage_access
    if request.redirect_count > 0 and engine.has("origin-kept-across-redirects"):
        origin_access = request.initial_storage_access
    return HopRequest(
        url=url,
        mode=request.mode,
        credentials_mode=request.credentials_mode,
        origin=origin_header(request, profile=engine, storage_access=origin_access),
        cookies=allowed and cookies_held,
        cookies_why=why if cookies_held or not allowed else "the browser holds no cookies for this host",
        sec_fetch_mode=request.mode if metadata else None,
        sec_fetch_site=sec_fetch_site(request, profile=engine) if metadata else None,
        sec_fetch_dest=request.destination if metadata else None,
        referer=referer(request, profile=engine),
        accept=engine.accept,
        sec_fetch_storage_access=storage_access,
    )


# --- The CORS check -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorsCheck:
    """The CORS check's verdict: ok, the step that decided, and Chromium's console wording."""

    ok: bool
    step: str  # e.g. "cors-check-step3-wildcard" (every id: cors_lab/spec/README.md)
    reason: str  # learner-facing, one sentence
    console: str = ""  # Chromium's console explanation when it fails

    anchor = FETCH + "#concept-cors-check"


def cors_check(request: Request, response_headers: HeaderList | list | dict, *,
               include: bool | None = None) -> CorsCheck:
    """Does the response let the requesting origin read it?

    Spec: https://fetch.spec.whatwg.org/#concept-cors-check
    """
    headers = response_headers if isinstance(response_headers, HeaderList) else HeaderList(response_headers)
    serialized = serialize_request_origin(request)
    # ``include``: checked as if the credentials mode were "include" (an engine's deviation), else from it.
    include = request.credentials_mode == "include" if include is None else include
    # 1. Let origin be the result of getting `Access-Control-Allow-Origin` from response's header list.
    origin = headers.get("Access-Control-Allow-Origin")
    # 2. If origin is null, then return failure.
    if origin is None:
        return CorsCheck(
            False,
            "cors-check-step2-no-acao",
            "the response has no Access-Control-Allow-Origin header",
            "No 'Access-Control-Allow-Origin' header is present on the requested resource.",
        )
    # 3. If request's credentials mode is not "include" and origin is `*`, then return success.
    if not include and origin == "*":
        return CorsCheck(True, "cors-check-step3-wildcard", "Access-Control-Allow-Origin is * and no credentials are sent")
    # 4. If the result of byte-serializing a request origin with request is not origin, return failure.
    if serialized != origin:
        if origin == "*":
            return CorsCheck(
                False,
                "cors-check-step4-wildcard-with-credentials",
                'Access-Control-Allow-Origin is * but the credentials mode is "include" (use-credentials): '
                "* is only honoured without credentials",
                "The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard "
                "'*' when the request's credentials mode is 'include'.",
            )
        if len(headers.get_all("Access-Control-Allow-Origin")) > 1 or "," in origin:
            return CorsCheck(
                False,
                "cors-check-step4-multiple-values",
                f"Access-Control-Allow-Origin holds several values ({origin!r}); exactly one origin is allowed",
                f"The 'Access-Control-Allow-Origin' header contains multiple values '{origin}', but only one is allowed.",
            )
        return CorsCheck(
            False,
            "cors-check-step4-mismatch",
            f"Access-Control-Allow-Origin is {origin!r}, which is not byte-for-byte the request's origin {serialized!r}",
            f"The 'Access-Control-Allow-Origin' header has a value '{origin}' that is not equal to the supplied origin.",
        )
    # 5. If request's credentials mode is not "include", then return success.
    if not include:
        return CorsCheck(True, "cors-check-step5-exact-origin", f"Access-Control-Allow-Origin matches the origin {serialized!r}")
    # 6. Let credentials be the result of getting `Access-Control-Allow-Credentials`.
    credentials = headers.get("Access-Control-Allow-Credentials")
    # 7. If credentials is `true`, then return success.
    if credentials == "true":
        return CorsCheck(
            True, "cors-check-step7-credentials-true", "the origin matches and Access-Control-Allow-Credentials is true"
        )
    # 8. Return failure.
    shown = "" if credentials is None else credentials
    return CorsCheck(
        False,
        "cors-check-step8-credentials-not-true",
        "with use-credentials the response also needs Access-Control-Allow-Credentials: true (exactly, lower case); "
        + ("it is absent" if credentials is None else f"it is {credentials!r}"),
        f"The value of the 'Access-Control-Allow-Credentials' header in the response is '{shown}' which must be "
        "'true' when the request's credentials mode is 'include'.",
    )


# --- Walking a chain of responses -------------------------------------------------------------------


@dataclass(frozen=True)
class Hop:
    """One HTTP exchange: what was sent, what came back, and what Fetch decided."""

    request: HopRequest
    status: int
    headers: tuple[tuple[str, str], ...]
    response_tainting: str
    cors: CorsCheck | None  # None when no CORS check applied to this hop


@dataclass
class FetchResult:
    """The outcome of fetching an image over a chain of responses."""

    ok: bool  # False = network error (the <img> fires "error")
    response_tainting: str
    hops: list[Hop] = field(default_factory=list)
    step: str = ""  # spec step id that decided
    reason: str = ""  # learner-facing sentence
    anchor: str = ""
    console: str = ""  # Chromium-style console line on failure
    final_url: str = ""

    @property
    def cors_same_origin(self) -> bool:
        """Spec: https://html.spec.whatwg.org/multipage/urls-and-fetching.html#cors-same-origin"""
        # "A response whose type is "basic", "cors", or "default" is CORS-same-origin."
        return self.ok and self.response_tainting in ("basic", "cors")


def _same_url(a: str, b: str) -> bool:
    try:
        pa, pb = parse_url(a), parse_url(b)
    except UsageError:
        return a == b
    strip = lambda p: (p.scheme, p.host, p.port, p.path.split("#", 1)[0] or "/")  # noqa: E731
    return strip(pa) == strip(pb)


class ImageFetch:
    """Fetch for one image, one hop at a time: ``prepare()`` the request, ``receive()`` its response.

    The kernel browser drives this over real sockets and `fetch_image` over a given chain, so every
    hop is decided by the same steps. Typical use::

        walk = ImageFetch(request)
        while True:
            sent = walk.prepare()            # a HopRequest to send, or a FetchResult (network error)
            if isinstance(sent, FetchResult): break
            result = walk.receive(status, headers)   # None: a redirect was followed, loop again
            if result is not None: break

    Spec: https://fetch.spec.whatwg.org/#concept-main-fetch
    """

    def __init__(self, request: Request, *, cookies_held: bool = True,
                 profile: str | Profile = DEFAULT_PROFILE) -> None:
        self.request = request
        self.cookies_held = cookies_held
        self.profile = get_profile(profile)
        self.hops: list[Hop] = []
        self._sent: HopRequest | None = None

    def prepare(self, *, cookies_held: bool | None = None) -> HopRequest | FetchResult:
        """Main fetch's switch for the current URL: set response tainting, then the request headers.

        ``cookies_held`` overrides, for this hop, whether the browser holds cookies for its host.
        """
        request = self.request
        parsed = parse_url(request.current_url)
        here = origin_of(parsed)
        # Main fetch, step 9: "If request's referrer is not "no-referrer", then set request's
        # referrer to the result of invoking determine request's referrer." Every redirect runs
        # main fetch again (HTTP-redirect fetch, step 22), from the referrer already trimmed.
        if request.referrer != "no-referrer":
            request.referrer = determine_referrer(request, profile=self.profile) or "no-referrer"
        # Main fetch, step 12: "If response is null, then set response to the result of running the
        # steps corresponding to the first matching statement:"
        if parsed.scheme == "data":
            # - request's current URL's scheme is "data": set response tainting to "basic".
            request.response_tainting = "basic"
        elif same_origin(here, request.origin) and request.response_tainting == "basic":
            # - request's current URL's origin is same origin with request's origin, and request's
            #   response tainting is "basic": set request's response tainting to "basic".
            request.response_tainting = "basic"
        elif request.mode == "no-cors":
            # - request's mode is "no-cors": set request's response tainting to "opaque".
            request.response_tainting = "opaque"
        elif parsed.scheme not in ("http", "https"):
            # - request's current URL's scheme is not an HTTP(S) scheme: return a network error.
            return self._fail("main-fetch-cors-non-http-scheme",
                              f"a CORS request cannot fetch a {parsed.scheme}: URL", "#concept-main-fetch")
        else:
            # - Otherwise: set request's response tainting to "cors".
            request.response_tainting = "cors"
        held = self.cookies_held if cookies_held is None else cookies_held
        self._sent = hop_request(request, cookies_held=held, profile=self.profile)
        if request.redirect_count == 0:
            request.initial_storage_access = self._sent.sec_fetch_storage_access
        return self._sent

    def receive(self, status: int, headers: HeaderList | list | dict, *, body: bytes | None = None) -> FetchResult | None:
        """Take the response to the prepared request; None means a redirect was followed.

        ``body``: the response's bytes when known (Opaque Response Blocking sniffs the first ones).
        """
        request, sent = self.request, self._sent
        if sent is None:
            raise UsageError("call prepare() before receive(): there is no request in flight.")
        self._sent = None
        headers = headers if isinstance(headers, HeaderList) else HeaderList(headers)
        if status == 0:
            self.hops.append(Hop(sent, 0, tuple(headers.items()), request.response_tainting, None))
            return self._fail("http-network-fetch-failed",
                              "the server could not be reached (connection refused, reset or timed out)",
                              "#concept-http-network-fetch", console="net::ERR_CONNECTION_REFUSED")

        # HTTP fetch, step 4.4 (before redirects are handled): "If request's response tainting is
        # "cors" and a CORS check for request and response returns failure, then return a network error."
        # Deviation "cors-redirect-check-with-credentials" (WebKitGTK 2.50): a crossorigin="anonymous"
        # chain that began on the page's own origin has a cross-origin redirect response checked as
        # if credentials were included: `*` fails there, the page's origin with ACAC true passes
        # (measured: site 302 -> cdn 302 -> cdn; the final response is checked as the standard says).
        include = True if (status in REDIRECT_STATUSES and self.profile.has("cors-redirect-check-with-credentials")
                           and request.credentials_mode == "same-origin"
                           and same_origin(origin_of(request.url_list[0]), request.origin)) else None
        check = cors_check(request, headers, include=include) if request.response_tainting == "cors" else None
        self.hops.append(Hop(sent, status, tuple(headers.items()), request.response_tainting, check))
        # Opaque Response Blocking (whatwg/fetch#1755, HTTP fetch step 4.4, before the CORS check
        # becomes 4.5): "If request's response tainting is "opaque", response's status is not a
        # redirect status, then: ... Otherwise, if opaque-response-safelist check given request
        # and response returns false, then return a network error."
        # Deviation "orb-cross-origin-only" (Chromium 156): ORB only when the response's URL is
        # cross-origin with the request's origin, whatever the tainting (measured: page site, image
        # other 301 -> site served as text/csv loads, tainted; the PR would block it).
        cross_origin = not (self.profile.has("orb-cross-origin-only")
                            and same_origin(origin_of(request.current_url), request.origin))
        if request.response_tainting == "opaque" and status not in REDIRECT_STATUSES and cross_origin:
            orb = opaque_response_safelist_check(status, headers, body=body, profile=self.profile)
            if not orb.ok:
                return self._fail(
                    "http-fetch-step4-orb-blocked",
                    f"Opaque Response Blocking: a no-cors response from another origin is blocked as {orb.reason}",
                    "", console=self.profile.orb_console(rule=orb.rule, url=request.current_url), url=orb.anchor,
                )
        if check is not None and not check.ok:
            page = request.origin.serialize()
            reason = check.reason
            if status in REDIRECT_STATUSES or request.redirect_count:
                # Name the hop: in a chain every response, redirects included, must pass the check.
                what = "redirect response" if status in REDIRECT_STATUSES else "response"
                reason += f" (on the {what} from {request.current_url}, hop {len(self.hops)})"
            chromium = (f"Access to image at '{request.current_url}' from origin '{page}' has been blocked by "
                        f"CORS policy: {check.console}")
            console = self.profile.cors_console(
                step=check.step, url=request.current_url, chromium=chromium, status=status,
                acao=headers.get("Access-Control-Allow-Origin"),
                acao_lines=len(headers.get_all("Access-Control-Allow-Origin")),
                redirected_from=request.url_list[0] if request.redirect_count else None)
            return self._fail(check.step, reason, "#concept-cors-check", console=console)

        location = headers.get("Location")
        if status not in REDIRECT_STATUSES or location is None:
            return FetchResult(
                True, request.response_tainting, self.hops,
                step=TAINTING_STEPS[request.response_tainting],
                reason=_tainting_reason(request),
                anchor=FETCH + "#concept-main-fetch",
                final_url=request.current_url,
            )
        # HTTP-redirect fetch:
        # 3. Let locationURL be internalResponse's location URL given request's current URL's fragment.
        # 4. If locationURL is null, then return response.  (No Location: handled above, final.)
        try:
            location_url = urljoin(request.current_url, location)
            target = parse_url(location_url)
        except (UsageError, ValueError):
            # 5. If locationURL is failure, then return a network error.
            return self._fail("http-redirect-fetch-step5-bad-location",
                              f"the Location header {location!r} is not a valid URL", "#http-redirect-fetch")
        # 6. If locationURL's scheme is not an HTTP(S) scheme, then return a network error.
        if target.scheme not in ("http", "https"):
            return self._fail("http-redirect-fetch-step6-non-http",
                              f"a redirect may only lead to http: or https:, not {target.scheme}:", "#http-redirect-fetch")
        # 7. If request's redirect count is 20, then return a network error.
        if request.redirect_count >= REDIRECT_LIMIT:
            return self._fail("http-redirect-fetch-step7-limit", "more than 20 redirects", "#http-redirect-fetch",
                              console="net::ERR_TOO_MANY_REDIRECTS")
        # 8. Increase request's redirect count by 1.
        request.redirect_count += 1
        # 9. If request's mode is "cors", locationURL includes credentials, and request's origin is
        #    not same origin with locationURL's origin, then return a network error.
        if request.mode == "cors" and target.has_credentials and not same_origin(request.origin, origin_of(target)):
            return self._fail("http-redirect-fetch-step9-credentials-in-url",
                              "a CORS request was redirected to a URL with a user name or password", "#http-redirect-fetch",
                              console=f"Redirect location '{location_url}' contains a username and password, which is "
                              "disallowed for cross-origin requests.")
        # 10. If request's response tainting is "cors" and locationURL includes credentials, then
        #     return a network error.  ("This catches a cross-origin resource redirecting to a
        #     same-origin URL.")
        if request.response_tainting == "cors" and target.has_credentials:
            return self._fail("http-redirect-fetch-step10-credentials-in-url",
                              "a CORS response redirected to a URL with a user name or password", "#http-redirect-fetch")
        # 18. Append locationURL to request's URL list.
        request.url_list.append(target.href)
        return None

    def _fail(self, step: str, reason: str, anchor: str, *, console: str = "", url: str | None = None) -> FetchResult:
        request = self.request
        return FetchResult(False, request.response_tainting, self.hops, step=step, reason=reason,
                           anchor=url or FETCH + anchor, console=console, final_url=request.current_url)


def fetch_image(
    request: Request,
    chain: list[tuple[str, int, list]] | list,
    *,
    cookies_held: bool | frozenset[str] = True,
    profile: str | Profile = DEFAULT_PROFILE,
    body: bytes | None = None,
) -> FetchResult:
    """Run main fetch / HTTP fetch / HTTP-redirect fetch over given responses, one per hop.

    ``body``: the final response's first bytes when known (Opaque Response Blocking sniffs them).

    ``chain`` is a list of ``(url, status, headers)``; a status of 0 stands for a network failure
    (connection refused, reset, timed out). The first URL must be the request's URL and each
    redirect's Location must lead to the next entry. ``cookies_held``: whether the browser holds
    cookies for every host (a bool), or the set of host names it holds cookies for.
    Spec: https://fetch.spec.whatwg.org/#concept-main-fetch
    """
    if not chain:
        raise UsageError("chain is empty: give at least one (url, status, headers) response.")
    hosts = None if isinstance(cookies_held, bool) else cookies_held
    walk = ImageFetch(request, cookies_held=bool(cookies_held), profile=profile)
    for index, entry in enumerate(chain):
        if not (isinstance(entry, (tuple, list)) and len(entry) == 3):
            raise UsageError(f"chain[{index}] must be (url, status, headers), got {entry!r}.")
        url, status, raw_headers = entry
        if not isinstance(status, int) or not (status == 0 or 100 <= status <= 599):
            raise UsageError(f"chain[{index}] status must be 0 (network failure) or 100-599, got {status!r}.")
        headers = HeaderList(raw_headers)
        if not _same_url(url, request.current_url):
            raise UsageError(
                f"chain[{index}] is for {url!r} but the browser would request {request.current_url!r} here: "
                "make each redirect's Location lead to the next entry's URL."
            )
        sent = walk.prepare(cookies_held=None if hosts is None else parse_url(request.current_url).host in hosts)
        if isinstance(sent, FetchResult):
            return sent
        result = walk.receive(status, headers, body=body if index == len(chain) - 1 else None)
        if result is None:
            if index == len(chain) - 1:
                raise UsageError(
                    f"chain[{index}] redirects to {request.current_url!r} but the chain ends there: add the "
                    "response for that URL as the next entry."
                )
            continue
        if result.ok and index != len(chain) - 1:
            raise UsageError(
                f"chain[{index}] (status {status}) is not a redirect with a Location header, so the fetch ends "
                "there: remove the entries after it or make it a 3xx with Location."
            )
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def _tainting_reason(request: Request) -> str:
    if request.response_tainting == "basic":
        if parse_url(request.current_url).scheme == "data":
            return "a data: URL is fetched with \"basic\" response tainting: it is same-origin to every page"
        return "the image is same-origin with the page, so its response is \"basic\""
    if request.response_tainting == "opaque":
        return ("the image is cross-origin and was requested without crossorigin (mode \"no-cors\"), so its "
                "response is opaque: it can be shown, but pixels drawn from it taint the canvas")
    return "the image was fetched in CORS mode and the server allowed it, so its response is \"cors\" (readable)"


def url_includes_credentials(url: str | ParsedURL) -> bool:
    """Spec: https://url.spec.whatwg.org/#include-credentials"""
    parsed = url if isinstance(url, ParsedURL) else parse_url(url)
    return parsed.has_credentials
