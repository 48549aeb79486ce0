"""The browser's HTTP cache: store or not, fresh or stale, Vary matching, cache modes, cache keys.

Owns when a private (browser) HTTP cache stores a response and whether a later request reuses it,
revalidates it or goes to the server. Pure: stdlib only, no I/O, and no clock reads: every time is
passed in as POSIX seconds (a float), so a notebook can replay "an hour later" without waiting.

The lesson it exists for, "Vary: Origin" (measured in Chromium 156, see DESIGN.md)::

    server: ACAO only when the request has Origin (the h5bp Apache rule), Cache-Control:
            max-age=3600, no Vary: Origin
    1. <img src=u>                         no Origin sent; the response (no ACAO) is stored
    2. <img src=u crossorigin=anonymous>   Origin sent; nothing tells the cache that Origin
                                           matters, so the stored response is reused -> no ACAO
                                           -> the CORS check fails -> "error" event
    With Vary: Origin, step 2's Origin does not match the stored request's (absent): the request
    goes to the server, which answers with ACAO, and the image is readable.

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

import math
import re
from dataclasses import dataclass
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import NamedTuple

from ..errors import UsageError
from .headers import HeaderList
from .origins import ParsedURL, obtain_site, parse_origin, parse_url

RFC9111 = "https://www.rfc-editor.org/rfc/rfc9111"
STORING = f"{RFC9111}#section-3"
REUSING = f"{RFC9111}#section-4"
VARY = f"{RFC9111}#name-calculating-cache-keys-with"
FRESHNESS = f"{RFC9111}#section-4.2"
HEURISTIC = f"{RFC9111}#section-4.2.2"
FRESHENING = f"{RFC9111}#section-4.3.4"
REQUEST_MAX_AGE = f"{RFC9111}#section-5.2.1.1"
REQUEST_NO_CACHE = f"{RFC9111}#section-5.2.1.4"
REQUEST_NO_STORE = f"{RFC9111}#section-5.2.1.5"
RESPONSE_NO_CACHE = f"{RFC9111}#section-5.2.2.4"
RESPONSE_NO_STORE = f"{RFC9111}#section-5.2.2.5"
FETCH_CACHE = "https://fetch.spec.whatwg.org/#http-network-or-cache-fetch"
CHROMIUM_NET = "https://chromium.googlesource.com/chromium/src/+/main/net/"
CHROMIUM_CACHE_KEY = f"{CHROMIUM_NET}http/http_cache.cc"  # HttpCache::GenerateCacheKey
CHROMIUM_NIK = f"{CHROMIUM_NET}base/network_isolation_key.h"  # the "triple-key" scheme
CHROMIUM_FRESHNESS = f"{CHROMIUM_NET}http/http_response_headers.cc"  # GetFreshnessLifetimes
CHROMIUM_VARY = f"{CHROMIUM_NET}http/http_vary_data.cc"
CHROMIUM_TRANSACTION = f"{CHROMIUM_NET}http/http_cache_transaction.cc"
PARTITIONING_EXPLAINER = "https://github.com/shivanigithub/http-cache-partitioning"

# https://www.rfc-editor.org/rfc/rfc9110#section-15.1 : "Responses with status codes that are
# defined as heuristically cacheable (e.g., 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414,
# and 501 in this specification) can be reused by a cache with heuristic expiration".
HEURISTICALLY_CACHEABLE = frozenset({200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501})

# Chromium's heuristic freshness (HttpResponseHeaders::GetFreshnessLifetimes, CHROMIUM_FRESHNESS):
# 200, 203 and 206 without must-revalidate get (Date - Last-Modified) / 10 when Last-Modified <= Date;
# 300, 301, 308 and 410 are "implicitly fresh" for ever; anything else gets 0 s.
CHROMIUM_HEURISTIC_STATUSES = (200, 203, 206)
CHROMIUM_HEURISTIC_FRACTION = 0.1
CHROMIUM_IMPLICITLY_FRESH = (300, 301, 308, 410)

# https://www.rfc-editor.org/rfc/rfc9111#section-1.2.2 : a delta-seconds value too large to
# represent "MUST" be taken as 2147483648 (2^31).
DELTA_SECONDS_MAX = 2**31

# Request headers that make Fetch switch cache mode "default" to "no-store" (FETCH_CACHE, step
# "If httpRequest's cache mode is "default" and httpRequest's header list contains ...").
CONDITIONAL_REQUEST_HEADERS = ("If-Modified-Since", "If-None-Match", "If-Unmodified-Since", "If-Match", "If-Range")

# Deviation: only GET is understood: stored, looked up and reused. Image loads are GETs; HEAD and
# unsafe methods are neither stored nor do they invalidate stored responses (RFC 9111 section 4.4).
UNDERSTOOD_METHODS = ("GET",)


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


class Check(NamedTuple):
    """A yes/no answer with its reason in words (a clause for a learner-facing sentence)."""

    ok: bool
    why: str


class Lifetime(NamedTuple):
    """A freshness lifetime: seconds (``math.inf`` = fresh for ever), where it came from, in words."""

    seconds: float
    source: str  # "max-age" | "expires" | "heuristic" | "implicit" | "none"
    detail: str  # e.g. "max-age 3600"


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


# --- Small parsers ------------------------------------------------------------------------------


def _headers(headers: HeaderList | list | tuple | dict | None) -> HeaderList:
    return headers if isinstance(headers, HeaderList) else HeaderList(headers)


def _cite(label: str, url: str) -> str:
    return f"({label}: {url})"


def _secs(value: float) -> str:
    if value == math.inf:
        return "for ever"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def cache_control(headers: HeaderList | list | tuple | dict | None) -> dict[str, str | None]:
    """The Cache-Control directives: lower-cased name -> argument (quotes removed) or None.

    Every Cache-Control line is combined; for a repeated directive the first occurrence wins.
    Spec: https://www.rfc-editor.org/rfc/rfc9111#section-5.2
    """
    directives: dict[str, str | None] = {}
    for item in _headers(headers).get_decode_split("Cache-Control") or []:
        name, eq, argument = item.partition("=")
        name = name.strip(" \t").lower()
        if not name:
            continue
        argument = argument.strip(" \t")
        # Recipients accept the quoted-string form of an argument, e.g. max-age="3600".
        if len(argument) >= 2 and argument[0] == argument[-1] == '"':
            argument = argument[1:-1]
        # "When there is more than one value present for a given directive (...), either the first
        #  occurrence should be used or the response should be considered stale." (section 4.2.1)
        directives.setdefault(name, argument if eq else None)
    return directives


def _delta_seconds(argument: str | None) -> int | None:
    """Spec: https://www.rfc-editor.org/rfc/rfc9111#section-1.2.2"""
    if argument is None or not (argument.isascii() and argument.isdigit()):
        return None
    return min(int(argument), DELTA_SECONDS_MAX)


def _http_date(value: str | None) -> float | None:
    """An HTTP-date as POSIX seconds, or None if it is not a date.

    Spec: https://www.rfc-editor.org/rfc/rfc9110#section-5.6.7
    """
    if value is None:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _first(headers: HeaderList, name: str) -> str | None:
    # Dates contain commas, so two lines cannot be joined with ", " and split again: the first
    # line is the value ("either the first occurrence should be used ...", section 4.2.1).
    values = headers.get_all(name)
    return values[0] if values else None


# --- Storing: RFC 9111 section 3 ----------------------------------------------------------------


def storable(
    *,
    status: int,
    response_headers: HeaderList | list | tuple | dict | None,
    request_headers: HeaderList | list | tuple | dict | None = None,
    method: str = "GET",
) -> Check:
    """May a private (browser) cache store this response? ``why`` says which rule decided.

    Spec: https://www.rfc-editor.org/rfc/rfc9111#section-3
    """
    response = _headers(response_headers)
    request_cc, response_cc = cache_control(request_headers), cache_control(response)
    # "A cache MUST NOT store a response to a request unless:"
    # "- the request method is understood by the cache;" (UNDERSTOOD_METHODS: a Deviation)
    if method.upper() not in UNDERSTOOD_METHODS:
        return Check(False, f"the request method is {method}, and this cache only stores GET responses")
    # "- the response status code is final (see Section 15 of [HTTP]);"
    if status < 200:
        return Check(False, f"status {status} is not final")
    # "- if the response status code is 206 or 304, or the must-understand cache directive (see
    #    Section 5.2.2.3) is present: the cache understands the response status code;"
    # Deviation: 206 is not understood (no range requests here) and a 304 is never stored: it only
    # freshens a stored response (section 4.3.4). must-understand is not modelled, so a response
    # with "must-understand, no-store" is not stored (the no-store rule below decides).
    if status in (206, 304):
        return Check(False, f"this cache does not store status {status} responses")
    # Request directive: "The no-store request directive indicates that a cache MUST NOT store any
    # part of either this request or any response to it." (section 5.2.1.5)
    if "no-store" in request_cc:
        return Check(False, "the request has Cache-Control: no-store")
    # "- the no-store cache directive is not present in the response (see Section 5.2.2.5);"
    if "no-store" in response_cc:
        return Check(False, "the response has Cache-Control: no-store")
    # "- if the cache is shared: the private response directive is either not present or ..."
    # A browser's cache is private: `private` does not stop it from storing (section 5.2.2.7).
    # "- the response contains at least one of the following:"
    # "  - a public response directive; - a private response directive, if the cache is not shared;"
    # "  - an Expires header field; - a max-age response directive;"
    # "  - if the cache is shared: an s-maxage response directive;" (not us: s-maxage does not count)
    # "  - a status code that is defined as heuristically cacheable (see Section 4.2.2)."
    for directive in ("max-age", "public", "private"):
        if directive in response_cc:
            argument = response_cc[directive]
            return Check(True, f"it has Cache-Control: {directive}" + ("" if argument is None else f"={argument}"))
    if response.contains("Expires"):
        return Check(True, "it has an Expires header")
    if status in HEURISTICALLY_CACHEABLE:
        return Check(True, f"status {status} is heuristically cacheable")
    extra = " (s-maxage is only for shared caches)" if "s-maxage" in response_cc else ""
    return Check(
        False,
        f"status {status} is not heuristically cacheable and the response has no max-age, Expires, "
        f"public or private{extra}",
    )


# --- Freshness: RFC 9111 section 4.2 ------------------------------------------------------------


def freshness_lifetime(
    response_headers: HeaderList | list | tuple | dict | None, *, status: int, response_time: float
) -> Lifetime:
    """How long a response stays fresh after it was generated, as a private cache computes it.

    ``response_time`` (when the response arrived) stands in for a missing or invalid Date.
    Spec: https://www.rfc-editor.org/rfc/rfc9111#section-4.2.1
    """
    headers = _headers(response_headers)
    cc = cache_control(headers)
    # "A cache can calculate the freshness lifetime (...) by evaluating the following rules and
    #  using the first match:"
    # "- If the cache is shared and the s-maxage response directive is present, use its value, or"
    #   A browser's cache is private: s-maxage is ignored.
    # "- If the max-age response directive (Section 5.2.2.1) is present, use its value, or"
    # Chromium (GetFreshnessLifetimes): a max-age that is not a number is ignored, as if absent.
    max_age = _delta_seconds(cc.get("max-age"))
    if max_age is not None:
        return Lifetime(max_age, "max-age", f"max-age {max_age}")
    # "- If the Expires response header field (Section 5.3) is present, use its value minus the
    #    value of the Date response header field (using the time the message was received if it is
    #    not present, as per Section 6.6.1 of [HTTP]), or"
    date_value = _http_date(_first(headers, "Date"))
    if date_value is None:
        date_value = response_time
    expires_text = _first(headers, "Expires")
    if expires_text is not None:
        expires = _http_date(expires_text)
        # "A cache recipient MUST interpret invalid date formats, especially the value "0", as
        #  representing a time in the past (i.e., "already expired")." (section 5.3)
        # Chromium ignores an unparsable Expires instead and falls through to its heuristic.
        if expires is None:
            return Lifetime(0, "expires", f"Expires {expires_text!r}, not a date, so already expired")
        lifetime = max(0.0, expires - date_value)
        return Lifetime(lifetime, "expires", f"Expires - Date = {_secs(lifetime)} s")
    # "- Otherwise, no explicit expiration time is present in the response. A heuristic freshness
    #    lifetime might be applicable; see Section 4.2.2."
    return _heuristic_lifetime(headers, cc, status=status, date_value=date_value)


def _heuristic_lifetime(headers: HeaderList, cc: dict, *, status: int, date_value: float) -> Lifetime:
    """Chromium's heuristic: 10% of Date - Last-Modified, as RFC 9111 suggests.

    Spec: https://www.rfc-editor.org/rfc/rfc9111#section-4.2.2
    """
    # "If the response has a Last-Modified header field, caches are encouraged to use a heuristic
    #  expiration value that is no more than some fraction of the interval since that time. A
    #  typical setting of this fraction might be 10%."
    # Deviation: the statuses and fraction are Chromium's (CHROMIUM_FRESHNESS), not all of
    # HEURISTICALLY_CACHEABLE: e.g. a 404 with Last-Modified gets 0 s.
    if status in CHROMIUM_HEURISTIC_STATUSES and "must-revalidate" not in cc:
        last_modified = _http_date(_first(headers, "Last-Modified"))
        # Chromium: "The last-modified value can be a date in the future!" -> no heuristic then.
        if last_modified is not None and last_modified <= date_value:
            interval = date_value - last_modified
            lifetime = interval * CHROMIUM_HEURISTIC_FRACTION
            return Lifetime(
                lifetime,
                "heuristic",
                f"heuristic lifetime {_secs(lifetime)} s, Chromium's 10% of the "
                f"{_secs(interval)} s from Last-Modified to Date",
            )
    if status in CHROMIUM_IMPLICITLY_FRESH:
        why = f"no end: Chromium keeps a {status} without explicit freshness fresh for ever"
        return Lifetime(math.inf, "implicit", why)
    return Lifetime(0, "none", "a lifetime of 0 s (no max-age, Expires or usable Last-Modified)")


def current_age(
    response_headers: HeaderList | list | tuple | dict | None,
    *,
    request_time: float,
    response_time: float,
    now: float,
) -> float:
    """Seconds since the origin server generated the response, per the RFC's age calculation.

    Spec: https://www.rfc-editor.org/rfc/rfc9111#section-4.2.3
    """
    headers = _headers(response_headers)
    # "age_value": the Age header; "a cache encountering a message with a list-based Age field
    # value SHOULD use the first member (...). If the field value (...) is invalid (e.g., it
    # contains something other than a non-negative integer), a cache SHOULD ignore the field."
    age_text = (headers.get("Age") or "").split(",")[0].strip(" \t")
    age_value = _delta_seconds(age_text) or 0
    # "date_value": the Date header; without one, the time the message was received.
    date_value = _http_date(_first(headers, "Date"))
    if date_value is None:
        date_value = response_time
    #   apparent_age = max(0, response_time - date_value);
    apparent_age = max(0.0, response_time - date_value)
    #   response_delay = response_time - request_time;
    response_delay = response_time - request_time
    #   corrected_age_value = age_value + response_delay;
    corrected_age_value = age_value + response_delay
    #   corrected_initial_age = max(apparent_age, corrected_age_value);
    corrected_initial_age = max(apparent_age, corrected_age_value)
    #   resident_time = now - response_time;
    resident_time = now - response_time
    #   current_age = corrected_initial_age + resident_time;
    return corrected_initial_age + resident_time


# --- Vary: RFC 9111 section 4.1 -----------------------------------------------------------------


def vary_fields(response_headers: HeaderList | list | tuple | dict | None) -> list[str]:
    """The members of the Vary header(s), as written, without duplicates ([] when absent).

    Spec: https://www.rfc-editor.org/rfc/rfc9110#section-12.5.5
    """
    members: list[str] = []
    for value in _headers(response_headers).get_all("Vary"):
        for member in value.split(","):
            member = member.strip(" \t")
            if member and member.lower() not in (m.lower() for m in members):
                members.append(member)
    return members


def _vary_value(headers: HeaderList, name: str) -> str | None:
    # "The header fields from two requests are defined to match if and only if those in the first
    #  request can be transformed to those in the second request by applying any of the following:"
    # "- adding or removing whitespace, where allowed in the header field's syntax;"
    #   leading/trailing whitespace (HeaderList.get) and whitespace around list commas.
    # "- combining multiple header field lines with the same field name;"  (HeaderList.get)
    # "- normalizing both header field values in a way that is known to have identical semantics
    #    (e.g., reordering field values when order is not significant; case-normalization, where
    #    values are defined to be case-insensitive)."
    # Deviation: no field-specific normalisation (no reordering, no case folding), and every field
    # is treated as a list when removing whitespace around commas. Chromium is stricter still: it
    # compares the raw values (CHROMIUM_VARY), so "gzip,deflate" and "gzip, deflate" differ there.
    value = headers.get(name)
    return None if value is None else re.sub(r"[ \t]*,[ \t]*", ", ", value)


def _describe(name: str, value: str | None) -> str:
    return f"no {name} header" if value is None else f"{name}: {value}"


def vary_matches(
    response_headers: HeaderList | list | tuple | dict | None,
    stored_request_headers: HeaderList | list | tuple | dict | None,
    new_request_headers: HeaderList | list | tuple | dict | None,
) -> Check:
    """Do the request headers the stored response's Vary names match between the two requests?

    Spec: https://www.rfc-editor.org/rfc/rfc9111#name-calculating-cache-keys-with
    """
    stored, new = _headers(stored_request_headers), _headers(new_request_headers)
    fields = vary_fields(response_headers)
    # "When a cache receives a request that can be satisfied by a stored response and that stored
    #  response contains a Vary header field, the cache MUST NOT use that stored response without
    #  revalidation unless all the presented request header fields nominated by that Vary field
    #  value match those fields in the original request"
    if not fields:
        return Check(True, "it has no Vary header")
    # "A stored response with a Vary header field value containing a member "*" always fails to match."
    if "*" in fields:
        return Check(False, "the stored response has Vary: *, which never matches a new request")
    same = []
    for name in fields:
        before, now = _vary_value(stored, name), _vary_value(new, name)
        # "If (after any normalization that might take place) a header field is absent from a
        #  request, it can only match another request if it is also absent there."
        # Chromium hashes an absent header like an empty one (CHROMIUM_VARY); here absent only
        # matches absent, as the RFC says. Browsers never send an empty Origin, so no lesson differs.
        if before != now:
            return Check(
                False,
                f"the stored response has Vary: {', '.join(fields)}, and the stored request had "
                f"{_describe(name, before)} while the new request has {_describe(name, now)}",
            )
        same.append("no " + name if now is None else f"{name}: {now}")
    return Check(True, f"Vary: {', '.join(fields)} matches (both requests have {'; '.join(same)})")


# --- The cache key: Fetch's partition, Chromium's key -------------------------------------------


def _site(origin_or_url: object) -> str | None:
    """A schemeful site, serialised as Chromium's SchemefulSite does; None for an opaque origin.

    Spec: https://html.spec.whatwg.org/multipage/browsers.html#obtain-a-site
    """
    site = obtain_site(parse_origin(origin_or_url))  # type: ignore[arg-type]
    if not isinstance(site, tuple):
        return None
    # Serialization of a site (https://html.spec.whatwg.org/multipage/browsers.html#serialization-of-a-site):
    # "2. Let result be site[0]. 3. Append "://" to result. 4. Append site[1], serialized, to result."
    # Ports do not count for sites; registrable_domain has its own Deviation (no Public Suffix List).
    scheme, host = site
    return f"{scheme}://{host}"


def _url_for_request(parsed: ParsedURL) -> str:
    # Chromium's HttpUtil::SpecForRequest: "Strip out the reference, username, and password".
    # Deviation: the host and default port are canonicalised (by parse_url) but the path is not
    # (no percent-encoding normalisation): "/%7e" and "/~" are different keys here.
    path = parsed.path.split("#", 1)[0]
    if not path.startswith("/"):
        path = "/" + path
    port = "" if parsed.port is None else f":{parsed.port}"
    return f"{parsed.scheme}://{parsed.host}{port}{path}"


def cache_key(url: str, *, top_level_site: object, frame_site: object = None) -> str | None:
    """Chromium's HTTP cache key, or None when the HTTP cache is not used for this load.

    ``"1/0/_dk_" + top-level site + " " + frame site + " " + URL without fragment``: the "1" is the
    credentials part (only split when SplitCacheByIncludeCredentials is on, which it is not by
    default), "0" the upload id of a GET, and ``_dk_`` marks a double-keyed ("triple-key": URL, top
    frame site, frame site) entry. ``frame_site`` defaults to ``top_level_site`` (a load by the
    top-level page). An opaque site makes the network isolation key transient: nothing is cached.
    Spec: https://fetch.spec.whatwg.org/#determine-the-http-cache-partition
    """
    parsed = parse_url(url)
    # Only HTTP(S) fetches reach HTTP-network-or-cache fetch; data:, blob: and file: never do.
    if parsed.scheme not in ("http", "https"):
        return None
    # Fetch: "Let key be the result of determining the network partition key given request."
    # "If key is null, then return null." "Return the unique HTTP cache associated with key."
    # Chromium's partition is its NetworkIsolationKey (CHROMIUM_NIK): "`top_frame_site` -> the
    # schemeful site of the top level page. `frame_site` -> the schemeful site of the frame."
    top = _site(top_level_site)
    frame = _site(top_level_site if frame_site is None else frame_site)
    # Chromium, HttpCache::GenerateCacheKey: "if (network_isolation_key.IsTransient()) return
    # nullopt" -- a key with an opaque site is transient, and the load bypasses the cache.
    if top is None or frame is None:
        return None
    # Deviation: the credentials split is left out, as in Chromium's default: a plain <img> and a
    # crossorigin="anonymous" load of one URL share one key (the "Vary: Origin" lesson needs it).
    # "The key format is: credential_key/upload_data_identifier/[isolation_key]url"
    return f"1/0/_dk_{top} {frame} {_url_for_request(parsed)}"


def _key_parts(key: str) -> tuple[str, str, str]:
    top, frame, url = key[len("1/0/_dk_") :].split(" ", 2)
    return top, frame, url


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
    ) -> Decision:
        """Reuse, revalidate or miss for a request the browser is about to send, and why.

        Spec: https://fetch.spec.whatwg.org/#http-network-or-cache-fetch
        """
        request = _headers(request_headers)
        mode, conditional = _effective_mode(cache_mode, request)
        row = CACHE_MODES[mode]
        fetch = _cite("Fetch, HTTP-network-or-cache fetch", FETCH_CACHE)
        # "Set httpCache to the result of determining the HTTP cache partition, given httpRequest."
        # "If httpCache is null, then set httpRequest's cache mode to "no-store"."
        key = cache_key(url, top_level_site=top_level_site, frame_site=frame_site)
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
            # Deviation: no conditional request on a Vary mismatch. Chromium sends If-None-Match
            # when the stored response has an ETag (CHROMIUM_TRANSACTION); either way the request
            # goes to the server. Fetch: the mismatch leaves storedResponse null.
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
        state = f"{'fresh' if fresh else 'stale'} (age {_secs(age)} s {'<' if fresh else '>='} {lifetime.detail})"
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
                validators.append(("If-Modified-Since", _first(entry.headers, "Last-Modified") or ""))
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
                    f"{_cite(*anchor)}."
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
                f"{_cite('RFC 9111 §4.1', VARY)}."
            )
        elif not has_vary:
            why = (
                f"Reused the stored response: it is {state} and the requests do not differ "
                f"{_cite('RFC 9111 §4.2', FRESHNESS)}."
            )
        else:
            why = f"Reused the stored response: it is {state} and {vary.why} {_cite('RFC 9111 §4.1', VARY)}."
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
        limit = _delta_seconds(request_cc.get("max-age"))
        if limit is not None and (limit == 0 or age > limit):
            reason = f"is {_secs(age)} s old and the new request has Cache-Control: max-age={limit}"
            return reason, ("RFC 9111 §5.2.1.1", REQUEST_MAX_AGE)
        # Deviation: never "allowed to be served stale" (section 4.2.4), and stale-while-revalidate
        # is not modelled: a stale response is always revalidated before use in mode "default".
        if not fresh:
            heuristic = lifetime.source == "heuristic"
            anchor = ("RFC 9111 §4.2.2", HEURISTIC) if heuristic else ("RFC 9111 §4.2", FRESHNESS)
            return f"is stale (age {_secs(age)} s >= {lifetime.detail})", anchor
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
        top, frame, url = _key_parts(key)
        where = top if frame == top else f"{top} (frame site {frame})"
        others = sorted(
            {t if f == t else f"{t} (frame site {f})" for t, f, u in map(_key_parts, self._entries) if u == url}
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
                f'{reason} {_cite("Fetch, HTTP-network-or-cache fetch", FETCH_CACHE)}.',
                key=key,
            )
        # "Let forwardResponse be the result of running HTTP-network fetch ..."
        return Decision("miss", f"Miss: {reason}, so the request goes to the server {_cite(label, url)}.", key=key)

    @staticmethod
    def _no_key_why(url: str, start: str) -> str:
        if parse_url(url).scheme not in ("http", "https"):
            return f"{start}: only http: and https: fetches go through the HTTP cache {_cite('Fetch', FETCH_CACHE)}."
        return (
            f"{start}: the page or frame has an opaque origin, so Chromium's network isolation key is "
            f"transient and nothing is cached for it "
            f"{_cite('Chromium, HttpCache::GenerateCacheKey', CHROMIUM_CACHE_KEY)}."
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
    ) -> StoreResult:
        """Offer the cache a response that came from the network; a 304 freshens the stored one.

        ``request_time`` is when the request was sent (defaults to ``response_time``).
        Spec: https://www.rfc-editor.org/rfc/rfc9111#section-3
        """
        request, response = _headers(request_headers), _headers(response_headers)
        sent_at = response_time if request_time is None else request_time
        mode, conditional = _effective_mode(cache_mode, request)
        key = cache_key(url, top_level_site=top_level_site, frame_site=frame_site)
        if key is None:
            return StoreResult(False, self._no_key_why(url, "Not stored"))
        if status == 304:
            return self._freshen(key, mode, response, request_time=sent_at, response_time=response_time)
        if not CACHE_MODES[mode].stores:
            because = (
                f'the request carries {conditional}, which turns cache mode "default" into "no-store"'
                if conditional
                else f'cache mode "{mode}" never stores'
            )
            why = f"Not stored: {because} {_cite('Fetch, HTTP-network-or-cache fetch', FETCH_CACHE)}."
            return StoreResult(False, why, key=key)
        check = storable(method=method, status=status, request_headers=request, response_headers=response)
        if not check.ok:
            anchor = (
                ("RFC 9111 §5.2.2.5", RESPONSE_NO_STORE) if "response has Cache-Control: no-store" in check.why
                else ("RFC 9111 §5.2.1.5", REQUEST_NO_STORE) if "request has Cache-Control: no-store" in check.why
                else ("RFC 9111 §3", STORING)
            )
            return StoreResult(False, f"Not stored: {check.why} {_cite(*anchor)}.", key=key)
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
        why = f"Stored under {key!r}: {check.why}{also} {_cite('RFC 9111 §3', STORING)}."
        return StoreResult(True, why, entry, key)

    def _freshen(
        self, key: str, mode: str, response: HeaderList, *, request_time: float, response_time: float
    ) -> StoreResult:
        """Update the stored response with a 304's headers.

        Spec: https://www.rfc-editor.org/rfc/rfc9111#section-4.3.4
        """
        entry = self._entries.get(key)
        if entry is None or not CACHE_MODES[mode].stores:
            why = (
                "Not stored: a 304 only freshens a stored response, and there is none to freshen here "
                f"{_cite('RFC 9111 §4.3.4', FRESHENING)}."
            )
            return StoreResult(False, why, key=key)
        # "For each stored response identified, the cache MUST update its header fields with the
        #  header fields provided in the 304 (Not Modified) response, as per Section 3.2."
        # Deviation: the one response stored under the key is freshened without comparing its
        # validators with the 304's.
        # Section 3.2: "the cache MUST add each header field in the provided response to the stored
        # response, replacing field values that are already present, with the following exceptions:
        # (...) The Content-Length header field."
        updated = HeaderList(entry.headers)
        for name in dict.fromkeys(n.lower() for n, _ in response):
            if name == "content-length":
                continue
            updated.delete(name)
            for original, value in response:
                if original.lower() == name:
                    updated.append(original, value)
        entry.headers = updated
        entry.request_time, entry.response_time = request_time, response_time
        return StoreResult(
            True,
            "Freshened the stored response with the 304's headers; use it as the response "
            f"{_cite('RFC 9111 §4.3.4', FRESHENING)}.",
            entry,
            key,
        )
