"""Per-response HTTP caching rules: Cache-Control, may it be stored, how long it stays fresh, how old
it is, and whether the request headers its Vary names match.

Owns RFC 9111's rules for one stored response as a private (browser) cache applies them, with
Chromium's choices where the RFC leaves one (heuristic freshness). Pure: stdlib only, no I/O, no
clock: every time is given as POSIX seconds. cache.py builds the HTTPCache on top of these.
"""

from __future__ import annotations

import math
import re
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import NamedTuple

from .headers import HeaderList

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
CHROMIUM_NET = "https://chromium.googlesource.com/chromium/src/+/main/net/"
CHROMIUM_FRESHNESS = f"{CHROMIUM_NET}http/http_response_headers.cc"  # GetFreshnessLifetimes
CHROMIUM_VARY = f"{CHROMIUM_NET}http/http_vary_data.cc"

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

# Deviation: only GET is understood: stored, looked up and reused. Image loads are GETs; HEAD and
# unsafe methods are neither stored nor do they invalidate stored responses (RFC 9111 section 4.4).
UNDERSTOOD_METHODS = ("GET",)


class Check(NamedTuple):
    """A yes/no answer with its reason in words (a clause for a learner-facing sentence)."""

    ok: bool
    why: str


class Lifetime(NamedTuple):
    """A freshness lifetime: seconds (``math.inf`` = fresh for ever), where it came from, in words."""

    seconds: float
    source: str  # "max-age" | "expires" | "heuristic" | "implicit" | "none"
    detail: str  # e.g. "max-age 3600"



# --- Small parsers ------------------------------------------------------------------------------


def header_list(headers: HeaderList | list | tuple | dict | None) -> HeaderList:
    """``headers`` as a HeaderList (pairs, a dict or None are accepted)."""
    return headers if isinstance(headers, HeaderList) else HeaderList(headers)


def cite(label: str, url: str) -> str:
    """"(label: url)", the way every reason names its rule."""
    return f"({label}: {url})"


def seconds(value: float) -> str:
    """Seconds for a sentence: "3600", "1.5", or "for ever"."""
    if value == math.inf:
        return "for ever"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def cache_control(headers: HeaderList | list | tuple | dict | None) -> dict[str, str | None]:
    """The Cache-Control directives: lower-cased name -> argument (quotes removed) or None.

    Every Cache-Control line is combined; for a repeated directive the first occurrence wins.
    Spec: https://www.rfc-editor.org/rfc/rfc9111#section-5.2
    """
    directives: dict[str, str | None] = {}
    for item in header_list(headers).get_decode_split("Cache-Control") or []:
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


def delta_seconds(argument: str | None) -> int | None:
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


def first_value(headers: HeaderList, name: str) -> str | None:
    """The first line's value of a header (dates contain commas, so lines cannot be joined)."""
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
    response = header_list(response_headers)
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
    headers = header_list(response_headers)
    cc = cache_control(headers)
    # "A cache can calculate the freshness lifetime (...) by evaluating the following rules and
    #  using the first match:"
    # "- If the cache is shared and the s-maxage response directive is present, use its value, or"
    #   A browser's cache is private: s-maxage is ignored.
    # "- If the max-age response directive (Section 5.2.2.1) is present, use its value, or"
    # Chromium (GetFreshnessLifetimes): a max-age that is not a number is ignored, as if absent.
    max_age = delta_seconds(cc.get("max-age"))
    if max_age is not None:
        return Lifetime(max_age, "max-age", f"max-age {max_age}")
    # "- If the Expires response header field (Section 5.3) is present, use its value minus the
    #    value of the Date response header field (using the time the message was received if it is
    #    not present, as per Section 6.6.1 of [HTTP]), or"
    date_value = _http_date(first_value(headers, "Date"))
    if date_value is None:
        date_value = response_time
    expires_text = first_value(headers, "Expires")
    if expires_text is not None:
        expires = _http_date(expires_text)
        # "A cache recipient MUST interpret invalid date formats, especially the value "0", as
        #  representing a time in the past (i.e., "already expired")." (section 5.3)
        # Chromium ignores an unparsable Expires instead and falls through to its heuristic.
        if expires is None:
            return Lifetime(0, "expires", f"Expires {expires_text!r}, not a date, so already expired")
        lifetime = max(0.0, expires - date_value)
        return Lifetime(lifetime, "expires", f"Expires - Date = {seconds(lifetime)} s")
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
        last_modified = _http_date(first_value(headers, "Last-Modified"))
        # Chromium: "The last-modified value can be a date in the future!" -> no heuristic then.
        if last_modified is not None and last_modified <= date_value:
            interval = date_value - last_modified
            lifetime = interval * CHROMIUM_HEURISTIC_FRACTION
            return Lifetime(
                lifetime,
                "heuristic",
                f"heuristic lifetime {seconds(lifetime)} s, Chromium's 10% of the "
                f"{seconds(interval)} s from Last-Modified to Date",
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
    headers = header_list(response_headers)
    # "age_value": the Age header; "a cache encountering a message with a list-based Age field
    # value SHOULD use the first member (...). If the field value (...) is invalid (e.g., it
    # contains something other than a non-negative integer), a cache SHOULD ignore the field."
    age_text = (headers.get("Age") or "").split(",")[0].strip(" \t")
    age_value = delta_seconds(age_text) or 0
    # "date_value": the Date header; without one, the time the message was received.
    date_value = _http_date(first_value(headers, "Date"))
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
    for value in header_list(response_headers).get_all("Vary"):
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
    stored, new = header_list(stored_request_headers), header_list(new_request_headers)
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
