"""The browser's HTTP cache: store or not, fresh or stale, Vary matching, cache modes, cache keys.

Owns when a private (browser) HTTP cache stores a response and whether a later request reuses it,
revalidates it or goes to the server: Fetch's cache modes and HTTPCache. The per-response rules
(RFC 9111) are freshness.py's, the key cachekey.py's; this module re-exports their public names.
Pure: stdlib only, no I/O, and no clock reads: every time is passed in as POSIX seconds (a float),
so a notebook can replay "an hour later" without waiting.

The lesson it exists for, "Vary: Origin" (measured in Chromium 156, see DESIGN.md)::

    server: ACAO only when the request has Origin (the h5bp Apache rule), Cache-Control:
            max-age=3600, no Vary: Origin
    1. <img src=u>                         no Origin sent; the response (no ACAO) is stored
    2. <img src=u crossorigin=anonymous>   Origin sent; nothing tells the cache that Origin
                                           matters, so the stored response is reused -> no ACAO
                                           -> the CORS check fails -> "error" event
    With Vary: Origin, step 2's Origin does not match the stored request's (absent): the request
    goes to the server (Chromium makes it conditional, If-None-Match, when there is an ETag), which
    answers with ACAO (a 304 updates the stored response with it), and the image is readable.
    Without any Cache-Control a response with Last-Modified is fresh for 10% of its age (Chromium's
    heuristic, freshness.py): the same trap, on every static file server.

API for the kernel browser (one ``HTTPCache`` per browser profile)::

    cache = HTTPCache()
    d = cache.lookup(request_headers, url, now, top_level_site=page_origin, cache_mode="default")
    d.action      "reuse"          use d.entry (status, headers, body); do not contact the server
                  "revalidate"     send the request plus d.validators (If-None-Match, ...);
                                   pass the answer, 200 or 304, to cache.store(...)
                  "miss"           send the request as is; pass the answer to cache.store(...)
                  "network-error"  fail the fetch ("only-if-cached" found nothing)
    d.why         one sentence naming the rule, with its anchor
    r = cache.store(request_headers, url, status=200, response_headers=..., body=b"...",
                    request_time=sent_at, response_time=received_at, top_level_site=page_origin)
    r.stored, r.why
    r.entry       after a 304 to a revalidation: the freshened stored response, to use in place
                  of the 304 (Fetch: "Set response to storedResponse")
    cache.clear()

``request_headers`` are the headers the browser sends (a ``HeaderList``, (name, value) pairs or a
dict); pass the same ``top_level_site`` / ``frame_site`` (origins or URLs; "null" for an opaque
origin) and ``cache_mode`` to both calls. The pieces work alone too: ``cache_control``,
``storable``, ``freshness_lifetime``, ``current_age``, ``vary_matches``, ``cache_key`` and the
``CACHE_MODES`` table.
"""


from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from ..errors import UsageError
from .freshness import (
    CHROMIUM_NET,
    FRESHENING,
    FRESHNESS,
    HEURISTIC,
    REQUEST_MAX_AGE,
    REQUEST_NO_CACHE,
    REQUEST_NO_STORE,
    RESPONSE_NO_CACHE,
    RESPONSE_NO_STORE,
    REUSING,
    STORING,
    UNDERSTOOD_METHODS,
    VARY,
    Check,
    Lifetime,
    cache_control,
    cite,
    current_age,
    delta_seconds,
    first_value,
    freshness_lifetime,
    header_list,
    seconds,
    storable,
    vary_fields,
    vary_matches,
)
from .cachekey import CHROMIUM_CACHE_KEY, PARTITIONING_EXPLAINER, cache_key, key_parts
from .headers import HeaderList
from .origins import parse_url

__all__ = [
    "CACHE_MODES",
    "CONDITIONAL_REQUEST_HEADERS",
    "CacheMode",
    "Check",
    "Decision",
    "HTTPCache",
    "Lifetime",
    "StoreResult",
    "StoredResponse",
    "cache_control",
    "cache_key",
    "current_age",
    "freshness_lifetime",
    "storable",
    "vary_fields",
    "vary_matches",
]

FETCH_CACHE = "https://fetch.spec.whatwg.org/#http-network-or-cache-fetch"
CHROMIUM_TRANSACTION = f"{CHROMIUM_NET}http/http_cache_transaction.cc"
CHROMIUM_UPDATE = f"{CHROMIUM_NET}http/http_response_headers.cc"  # HttpResponseHeaders::Update

# Headers a 304 does not replace in Chromium's stored response (kNonUpdatedHeaders and
# kNonUpdatedHeaderPrefixes in CHROMIUM_UPDATE): "Some header prefixes mean "Don't copy this header
# from a 304 response."" Content-Length is the RFC's own exception too.
CHROMIUM_NOT_UPDATED = frozenset({
    "connection", "proxy-connection", "keep-alive", "www-authenticate", "proxy-authenticate",
    "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "content-location",
    "content-md5", "etag", "content-encoding", "content-range", "content-type", "content-length",
    "x-frame-options", "x-xss-protection",
})
CHROMIUM_NOT_UPDATED_PREFIXES = ("x-content-", "x-webkit-")

# Request headers that make Fetch switch cache mode "default" to "no-store" (FETCH_CACHE, step
# "If httpRequest's cache mode is "default" and httpRequest's header list contains ...").
CONDITIONAL_REQUEST_HEADERS = ("If-Modified-Since", "If-None-Match", "If-Unmodified-Since", "If-Match", "If-Range")


class CacheMode(NamedTuple):
    """One row of the Fetch cache-mode table (see ``CACHE_MODES``)."""

    looks_up: bool  # the cache is consulted before the network
    fresh: str | None  # what a matching fresh stored response gets: "reuse" | "revalidate"
    stale: str | None  # what a matching stale (or no-cache) one gets: "reuse" | "revalidate"
    on_miss: str  # nothing matches: "network" | "network-error"
    stores: bool  # the response from the network is stored (when storable)


# https://fetch.spec.whatwg.org/#concept-request-cache-mode as a table, read off the steps of
# https://fetch.spec.whatwg.org/#http-network-or-cache-fetch :
#   "If httpRequest's cache mode is neither "no-store" nor "reload", then: Set storedResponse to ..."
#   "If storedResponse is a stale response, then set the revalidatingFlag."
#   "If the revalidatingFlag is set and httpRequest's cache mode is neither "force-cache" nor
#    "only-if-cached", then: [add If-None-Match / If-Modified-Since]"
#   "Otherwise, set response to storedResponse"
#   "If httpRequest's cache mode is "only-if-cached", then return a network error."
# "no-cache" revalidates even a fresh response: Fetch appends `Cache-Control: max-age=0` to the
# request, and a stored response is then never fresh enough (REQUEST_MAX_AGE).
# "no-store": "Fetch behaves as if there is no HTTP cache at all."
CACHE_MODES = {
    "default": CacheMode(True, "reuse", "revalidate", "network", True),
    "no-store": CacheMode(False, None, None, "network", False),
    "reload": CacheMode(False, None, None, "network", True),
    "no-cache": CacheMode(True, "revalidate", "revalidate", "network", True),
    "force-cache": CacheMode(True, "reuse", "reuse", "network", True),
    "only-if-cached": CacheMode(True, "reuse", "reuse", "network-error", False),
}



@dataclass
class StoredResponse:
    """A response in the cache, with the request that caused it to be stored (for Vary).

    Spec: https://www.rfc-editor.org/rfc/rfc9111#section-3
    """

    url: str
    status: int
    headers: HeaderList
    body: bytes
    request_headers: HeaderList
    request_time: float
    response_time: float
    key: str


@dataclass(frozen=True)
class Decision:
    """What the cache does with a request: "reuse" | "revalidate" | "miss" | "network-error".

    ``entry`` is the stored response for "reuse" and "revalidate"; ``validators`` are the headers
    to add to a revalidation request; ``age`` and ``lifetime`` are in seconds when an entry matched.
    Spec: https://fetch.spec.whatwg.org/#http-network-or-cache-fetch
    """

    action: str
    why: str
    entry: StoredResponse | None = None
    validators: tuple[tuple[str, str], ...] = ()
    key: str | None = None
    age: float | None = None
    lifetime: float | None = None


@dataclass(frozen=True)
class StoreResult:
    """Whether ``HTTPCache.store`` kept the response, why, and the stored (or freshened) entry."""

    stored: bool
    why: str
    entry: StoredResponse | None = None
    key: str | None = None



# --- The cache ----------------------------------------------------------------------------------


def _effective_mode(cache_mode: str, request: HeaderList) -> tuple[str, str]:
    """The cache mode after Fetch's adjustment, and the conditional header that caused one."""
    if cache_mode not in CACHE_MODES:
        raise UsageError(f"Unknown cache mode {cache_mode!r}; use one of {', '.join(CACHE_MODES)}.")
    # "If httpRequest's cache mode is "default" and httpRequest's header list contains
    #  `If-Modified-Since`, `If-None-Match`, `If-Unmodified-Since`, `If-Match`, or `If-Range`, then
    #  set httpRequest's cache mode to "no-store"."
    if cache_mode == "default":
        for name in CONDITIONAL_REQUEST_HEADERS:
            if request.contains(name):
                return "no-store", name
    return cache_mode, ""


def _request_no_cache(request: HeaderList, request_cc: dict) -> str:
    if "no-cache" in request_cc:
        return "Cache-Control: no-cache"
    # RFC 9111 section 5.4 deprecates Pragma; RFC 7234 section 5.4 had caches treat a request's
    # "Pragma: no-cache" as "Cache-Control: no-cache" when Cache-Control is absent, and Chromium
    # still does (kForceFetchHeaders in CHROMIUM_TRANSACTION).
    if not request.contains("Cache-Control") and "no-cache" in [
        v.strip(" \t").lower() for v in (request.get("Pragma") or "").split(",")
    ]:
        return "Pragma: no-cache"
    return ""


class HTTPCache:
    """A browser's HTTP cache in memory: a dict from cache key to one ``StoredResponse``.

    Pure: no threads, no clock; the caller passes every time. See the module docstring for the API.
    Spec: https://fetch.spec.whatwg.org/#http-network-or-cache-fetch
    """

    def __init__(self) -> None:
        self._entries: dict[str, StoredResponse] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def entries(self) -> dict[str, StoredResponse]:
        """A copy of the key -> stored response table, for display."""
        return dict(self._entries)

    def clear(self) -> None:
        """Forget every stored response (like clearing the browser's cache)."""
        self._entries.clear()

    # -- lookup ------------------------------------------------------------------------------

    def lookup(
        self,
        request_headers: HeaderList | list | tuple | dict | None,
        url: str,
        now: float,
        *,
        top_level_site: object,
        frame_site: object = None,
        method: str = "GET",
        cache_mode: str = "default",
        variant: str = "",
    ) -> Decision:
        """Reuse, revalidate or miss for a request the browser is about to send, and why.

        ``variant``: the engine's extra key part (profiles.Profile.cache_variant), "" for Chromium.
        Spec: https://fetch.spec.whatwg.org/#http-network-or-cache-fetch
        """
        request = header_list(request_headers)
        mode, conditional = _effective_mode(cache_mode, request)
        row = CACHE_MODES[mode]
        fetch = cite("Fetch, HTTP-network-or-cache fetch", FETCH_CACHE)
        # "Set httpCache to the result of determining the HTTP cache partition, given httpRequest."
        # "If httpCache is null, then set httpRequest's cache mode to "no-store"."
        key = cache_key(url, top_level_site=top_level_site, frame_site=frame_site, variant=variant)
        if key is None:
            return Decision("miss", self._no_key_why(url, "Went to the network without the HTTP cache"))
        # "If httpRequest's cache mode is neither "no-store" nor "reload", then:"
        if not row.looks_up:
            if conditional:
                why = (
                    f'Went to the network without looking in the cache: the request carries {conditional}, '
                    f'so Fetch switches cache mode "default" to "no-store" and the page sees the '
                    f"server's own answer {fetch}."
                )
            else:
                what = "and will not store the response" if not row.stores else "but will store the new response"
                why = (
                    f'Went to the network without looking in the cache: cache mode "{mode}" skips stored '
                    f"responses {what} {fetch}."
                )
            return Decision("miss", why, key=key)
        # "Set storedResponse to the result of selecting a response from the httpCache, possibly
        #  needing validation, as per the "Constructing Responses from Caches" chapter of HTTP
        #  Caching, if any." -- "As mandated by HTTP, this still takes the `Vary` header into account."
        entry = self._entries.get(key)
        # RFC 9111 section 4: "a cache MUST NOT reuse a stored response unless:"
        # "- the presented target URI (...) and that of the stored response match, and"
        if entry is None:
            reason, anchor = self._no_entry_reason(key)
            return self._nothing_stored(row, key, mode, reason, anchor=anchor)
        # "- the request method associated with the stored response allows it to be used for the
        #    presented request, and"
        if method.upper() not in UNDERSTOOD_METHODS:
            reason = f"a {method.upper()} request cannot use a stored GET response"
            return self._nothing_stored(row, key, mode, reason, anchor=("RFC 9111 §4", REUSING))
        # "- request header fields nominated by the stored response (if any) match those
        #    presented (see Section 4.1), and"
        vary = vary_matches(entry.headers, entry.request_headers, request)
        if not vary.ok:
            # RFC 9111 section 4.1: "the cache MUST NOT use that stored response without revalidation
            # unless all the presented request header fields nominated by that Vary field value match".
            # Chromium revalidates then (ConditionalizeRequest in CHROMIUM_TRANSACTION: "Can't rely on
            # last-modified if vary is different"): with If-None-Match only, and only when the stored
            # response has an ETag; measured on Apache (tests/test_realservers.py).
            # Deviation: Fetch leaves storedResponse null on a mismatch, so it sends no validators.
            etag = entry.headers.get("ETag")
            if etag is not None and row.stale == "revalidate":
                why = (
                    f"Revalidate: {vary.why}, so the stored response may only be used after revalidation; "
                    f"Chromium sends If-None-Match: {etag} (not If-Modified-Since, which a different Vary "
                    f"makes unreliable) {cite('RFC 9111 §4.1', VARY)}."
                )
                age = current_age(entry.headers, request_time=entry.request_time, response_time=entry.response_time, now=now)
                return Decision("revalidate", why, entry, (("If-None-Match", etag),), key, age, None)
            return self._nothing_stored(row, key, mode, vary.why, anchor=("RFC 9111 §4.1", VARY))
        # "- the stored response does not contain the no-cache directive (Section 5.2.2.4), unless
        #    it is successfully validated (Section 4.3), and"
        # "- the stored response is one of the following: fresh (see Section 4.2), or allowed to be
        #    served stale (see Section 4.2.4), or successfully validated (see Section 4.3)."
        age = current_age(entry.headers, request_time=entry.request_time, response_time=entry.response_time, now=now)
        lifetime = freshness_lifetime(entry.headers, status=entry.status, response_time=entry.response_time)
        # "response_is_fresh = (freshness_lifetime > current_age)"
        fresh = lifetime.seconds > age
        reason, anchor = self._needs_validation(entry, request, age=age, lifetime=lifetime, fresh=fresh)
        found = dict(entry=entry, key=key, age=age, lifetime=lifetime.seconds)
        state = f"{'fresh' if fresh else 'stale'} (age {seconds(age)} s {'<' if fresh else '>='} {lifetime.detail})"
        if lifetime.source == "implicit":
            state = f"fresh ({lifetime.detail})"
        # "If storedResponse is a stale response, then set the revalidatingFlag."
        # (Here "stale" includes every reason section 4 gives for needing validation.)
        revalidating = bool(reason) or mode == "no-cache"
        # "If the revalidatingFlag is set and httpRequest's cache mode is neither "force-cache" nor
        #  "only-if-cached", then:" add the validators.
        if revalidating and row.stale == "revalidate":
            validators = []
            # "If storedResponse's header list contains `ETag`, then append (`If-None-Match`,
            #  `ETag`'s value) to httpRequest's header list."
            if entry.headers.contains("ETag"):
                validators.append(("If-None-Match", entry.headers.get("ETag") or ""))
            # "If storedResponse's header list contains `Last-Modified`, then append
            #  (`If-Modified-Since`, `Last-Modified`'s value) to httpRequest's header list."
            if entry.headers.contains("Last-Modified"):
                validators.append(("If-Modified-Since", first_value(entry.headers, "Last-Modified") or ""))
            sent = (
                "with " + " and ".join(f"{n}: {v}" for n, v in validators) + " (a 304 answer lets it be reused)"
                if validators
                else "without validators (it has no ETag or Last-Modified), so the server sends the whole response"
            )
            if mode == "no-cache" and not reason:
                why = (
                    f'Revalidate: cache mode "no-cache" validates even a {state} stored response with the '
                    f"server before using it; the request goes out {sent} {fetch}."
                )
            else:
                why = (
                    f"Revalidate: the stored response {reason}, so the request goes to the server {sent} "
                    f"{cite(*anchor)}."
                )
            return Decision("revalidate", why, validators=tuple(validators), **found)
        # "Otherwise, set response to storedResponse and set response's cache state to "local"."
        if revalidating:
            why = (
                f'Reused the stored response without validating it: cache mode "{mode}" uses any matching '
                f"stored response, although this one {reason} {fetch}."
            )
            return Decision("reuse", why, **found)
        has_vary = bool(vary_fields(entry.headers))
        compared = [] if has_vary else self._unvaried_differences(entry, request)
        if compared:
            names = " and ".join(compared)
            why = (
                f"Reused the stored response: it is {state} and it has no Vary header, so the new request's "
                f"{names} header{'s are' if len(compared) > 1 else ' is'} not compared "
                f"{cite('RFC 9111 §4.1', VARY)}."
            )
        elif not has_vary:
            why = (
                f"Reused the stored response: it is {state} and the requests do not differ "
                f"{cite('RFC 9111 §4.2', FRESHNESS)}."
            )
        else:
            why = f"Reused the stored response: it is {state} and {vary.why} {cite('RFC 9111 §4.1', VARY)}."
        return Decision("reuse", why, **found)

    def _needs_validation(
        self, entry: StoredResponse, request: HeaderList, *, age: float, lifetime: Lifetime, fresh: bool
    ) -> tuple[str, tuple[str, str]]:
        """Why the stored response may not be used without validation ("" = it may)."""
        response_cc, request_cc = cache_control(entry.headers), cache_control(request)
        # Response no-cache: "the response MUST NOT be used to satisfy any other request without
        # forwarding it for validation and receiving a successful response" (section 5.2.2.4).
        # Deviation: the qualified form no-cache="field" is treated like plain no-cache.
        if "no-cache" in response_cc:
            reason = "has Cache-Control: no-cache, which requires validation before every reuse, even while fresh"
            return reason, ("RFC 9111 §5.2.2.4", RESPONSE_NO_CACHE)
        # Request no-cache: "the client prefers a stored response not be used to satisfy the request
        # without successful validation on the origin server" (section 5.2.1.4).
        # Deviation: Chromium goes further and refetches without validators (kForceFetchHeaders in
        # CHROMIUM_TRANSACTION); the model revalidates as the RFC says.
        no_cache = _request_no_cache(request, request_cc)
        if no_cache:
            reason = f"cannot be used as is because the new request has {no_cache}"
            return reason, ("RFC 9111 §5.2.1.4", REQUEST_NO_CACHE)
        # Request max-age: "the client prefers a response whose age is less than or equal to the
        # specified number of seconds" (section 5.2.1.1). max-age=0 always validates, as Chromium's
        # kForceValidateHeaders does and as Fetch's "no-cache" mode intends.
        limit = delta_seconds(request_cc.get("max-age"))
        if limit is not None and (limit == 0 or age > limit):
            reason = f"is {seconds(age)} s old and the new request has Cache-Control: max-age={limit}"
            return reason, ("RFC 9111 §5.2.1.1", REQUEST_MAX_AGE)
        # Deviation: never "allowed to be served stale" (section 4.2.4), and stale-while-revalidate
        # is not modelled: a stale response is always revalidated before use in mode "default".
        if not fresh:
            heuristic = lifetime.source == "heuristic"
            anchor = ("RFC 9111 §4.2.2", HEURISTIC) if heuristic else ("RFC 9111 §4.2", FRESHNESS)
            return f"is stale (age {seconds(age)} s >= {lifetime.detail})", anchor
        return "", ("", "")

    @staticmethod
    def _unvaried_differences(entry: StoredResponse, request: HeaderList) -> list[str]:
        """Request headers whose values differ between the stored request and the new one.

        Cache-Control and Pragma are left out: they are directives to the cache, read above.
        """
        names: list[str] = []
        for name, _ in list(request) + list(entry.request_headers):
            if name.lower() in ("cache-control", "pragma") or name.lower() in (n.lower() for n in names):
                continue
            if request.get(name) != entry.request_headers.get(name):
                names.append(name)
        return names

    def _no_entry_reason(self, key: str) -> tuple[str, tuple[str, str]]:
        top, frame, url = key_parts(key)
        where = top if frame == top else f"{top} (frame site {frame})"
        if any(k != key and key_parts(k) == (top, frame, url) for k in self._entries):
            # The same URL in the same partition under another engine-specific key part (profiles.py).
            return (
                f"a response for {url} is stored, but under another key: this engine keeps loads with and "
                "without credentials (or in another request mode) apart, and RFC 9111 lets a cache decline reuse"
            ), ("Fetch, CORS protocol and HTTP caches", "https://fetch.spec.whatwg.org/#cors-protocol-and-http-caches")
        others = sorted(
            {t if f == t else f"{t} (frame site {f})" for t, f, u in map(key_parts, self._entries) if u == url}
            - {where}
        )
        if others:
            return (
                f"nothing is stored for {url} in the partition of top-level site {where}; the copy stored "
                f"for {', '.join(others)} is kept apart because the cache is partitioned by site"
            ), ("Chromium's partitioned HTTP cache", PARTITIONING_EXPLAINER)
        return f"nothing is stored for {url} in the partition of top-level site {where}", ("RFC 9111 §4", REUSING)

    @staticmethod
    def _nothing_stored(row: CacheMode, key: str, mode: str, reason: str, *, anchor: tuple[str, str]) -> Decision:
        label, url = anchor
        # "If response is null, then: If httpRequest's cache mode is "only-if-cached", then return
        #  a network error."
        if row.on_miss == "network-error":
            return Decision(
                "network-error",
                f'Network error: cache mode "{mode}" never goes to the network and no stored response matches: '
                f'{reason} {cite("Fetch, HTTP-network-or-cache fetch", FETCH_CACHE)}.',
                key=key,
            )
        # "Let forwardResponse be the result of running HTTP-network fetch ..."
        return Decision("miss", f"Miss: {reason}, so the request goes to the server {cite(label, url)}.", key=key)

    @staticmethod
    def _no_key_why(url: str, start: str) -> str:
        if parse_url(url).scheme not in ("http", "https"):
            return f"{start}: only http: and https: fetches go through the HTTP cache {cite('Fetch', FETCH_CACHE)}."
        return (
            f"{start}: the page or frame has an opaque origin, so Chromium's network isolation key is "
            f"transient and nothing is cached for it "
            f"{cite('Chromium, HttpCache::GenerateCacheKey', CHROMIUM_CACHE_KEY)}."
        )

    # -- store -------------------------------------------------------------------------------

    def store(
        self,
        request_headers: HeaderList | list | tuple | dict | None,
        url: str,
        *,
        status: int,
        response_headers: HeaderList | list | tuple | dict | None,
        response_time: float,
        request_time: float | None = None,
        top_level_site: object,
        frame_site: object = None,
        method: str = "GET",
        cache_mode: str = "default",
        body: bytes = b"",
        variant: str = "",
    ) -> StoreResult:
        """Offer the cache a response that came from the network; a 304 freshens the stored one.

        ``request_time`` is when the request was sent (defaults to ``response_time``).
        Spec: https://www.rfc-editor.org/rfc/rfc9111#section-3
        """
        request, response = header_list(request_headers), header_list(response_headers)
        sent_at = response_time if request_time is None else request_time
        mode, conditional = _effective_mode(cache_mode, request)
        key = cache_key(url, top_level_site=top_level_site, frame_site=frame_site, variant=variant)
        if key is None:
            return StoreResult(False, self._no_key_why(url, "Not stored"))
        if status == 304:
            return self._freshen(key, mode, request, response, request_time=sent_at, response_time=response_time)
        if not CACHE_MODES[mode].stores:
            because = (
                f'the request carries {conditional}, which turns cache mode "default" into "no-store"'
                if conditional
                else f'cache mode "{mode}" never stores'
            )
            why = f"Not stored: {because} {cite('Fetch, HTTP-network-or-cache fetch', FETCH_CACHE)}."
            return StoreResult(False, why, key=key)
        check = storable(method=method, status=status, request_headers=request, response_headers=response)
        if not check.ok:
            anchor = (
                ("RFC 9111 §5.2.2.5", RESPONSE_NO_STORE) if "response has Cache-Control: no-store" in check.why
                else ("RFC 9111 §5.2.1.5", REQUEST_NO_STORE) if "request has Cache-Control: no-store" in check.why
                else ("RFC 9111 §3", STORING)
            )
            return StoreResult(False, f"Not stored: {check.why} {cite(*anchor)}.", key=key)
        replaced = key in self._entries
        entry = StoredResponse(
            url=url,
            status=status,
            headers=HeaderList(response),
            body=bytes(body),
            request_headers=HeaderList(request),
            request_time=sent_at,
            response_time=response_time,
            key=key,
        )
        # Deviation: one stored response per key, as in Chromium: a new one replaces the old, even
        # when Vary would let both live side by side (RFC 9111 section 4.1, "If multiple stored
        # responses match, the cache will need to choose one to use").
        self._entries[key] = entry
        also = ", replacing the response stored before under that key (one per key, as in Chromium)"
        also = also if replaced else ""
        why = f"Stored under {key!r}: {check.why}{also} {cite('RFC 9111 §3', STORING)}."
        return StoreResult(True, why, entry, key)

    def _freshen(
        self, key: str, mode: str, request: HeaderList, response: HeaderList, *, request_time: float,
        response_time: float,
    ) -> StoreResult:
        """Update the stored response with a 304's headers; the caller then uses it as the response.

        Fetch, HTTP-network-or-cache fetch: "If the revalidatingFlag is set and forwardResponse's
        status is 304, then: Update storedResponse's header list using forwardResponse's header
        list, as per the "Freshening Stored Responses upon Validation" chapter of HTTP Caching. Set
        response to storedResponse." So the CORS check that follows reads the updated headers: an
        `Access-Control-Allow-Origin` the 304 carries is there, one it lacks keeps its stored value.
        Spec: https://www.rfc-editor.org/rfc/rfc9111#section-4.3.4
        """
        entry = self._entries.get(key)
        if entry is None or not CACHE_MODES[mode].stores:
            why = (
                "Not stored: a 304 only freshens a stored response, and there is none to freshen here "
                f"{cite('RFC 9111 §4.3.4', FRESHENING)}."
            )
            return StoreResult(False, why, key=key)
        # "For each stored response identified, the cache MUST update its header fields with the
        #  header fields provided in the 304 (Not Modified) response, as per Section 3.2."
        # Deviation: the one response stored under the key is freshened without comparing its
        # validators with the 304's.
        # Section 3.2: "the cache MUST add each header field in the provided response to the stored
        # response, replacing field values that are already present, with the following exceptions:
        # (...) The Content-Length header field."
        # Deviation: Chromium keeps more of the stored headers than Content-Length
        # (CHROMIUM_NOT_UPDATED: ETag, Content-Type, X-Content-Type-Options, ...); the model does too.
        updated = HeaderList(entry.headers)
        for name in dict.fromkeys(n.lower() for n, _ in response):
            if name in CHROMIUM_NOT_UPDATED or name.startswith(CHROMIUM_NOT_UPDATED_PREFIXES):
                continue
            updated.delete(name)
            for original, value in response:
                if original.lower() == name:
                    updated.append(original, value)
        entry.headers = updated
        entry.request_time, entry.response_time = request_time, response_time
        # The request its Vary is matched against is now the one that revalidated it, as in
        # Chromium (HttpCache::Transaction::DoUpdateCachedResponse updates the stored vary data).
        entry.request_headers = HeaderList(request)
        return StoreResult(
            True,
            "Freshened the stored response with the 304's headers; use it as the response "
            f"{cite('RFC 9111 §4.3.4', FRESHENING)}.",
            entry,
            key,
        )
