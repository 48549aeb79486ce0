"""The lab's pictures as files on a static server: their date, their validators, conditional requests.

Owns `FILE_DATE` (the date every generated picture claims, unless the ``age`` knob says otherwise),
`file_date`, `validator_headers` (``ETag`` and ``Last-Modified`` for a body) and `not_modified`
(whether a conditional GET gets ``304 Not Modified``, RFC 9110's preconditions). Must not: build a
whole answer (``responses`` does) or read a clock: every time is passed in as POSIX seconds.

Measured on Debian's servers (tools/compare_servers.py --validators): Apache 2.4 sends
``ETag: "<size hex>-<mtime µs hex>"`` and nginx 1.22 ``ETag: "<mtime s hex>-<size hex>"``; both send
``Last-Modified`` (the file's mtime) on a 200, and answer a matching ``If-None-Match`` or an
``If-Modified-Since`` equal to it with a 304 that keeps the validators and the configured headers.
"""

from __future__ import annotations

import calendar
import email.utils
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable

__all__ = ["FILE_DATE", "MAX_AGE", "file_date", "not_modified", "validator_headers"]

RFC9110 = "https://www.rfc-editor.org/rfc/rfc9110"
PRECEDENCE = f"{RFC9110}#section-13.2.2"
IF_NONE_MATCH = f"{RFC9110}#section-13.1.2"
IF_MODIFIED_SINCE = f"{RFC9110}#section-13.1.3"

# Every picture's file date: a fixed day long past, as most images on real sites have not changed
# for months. A fixed date keeps ETag and Last-Modified the same on every machine and run, and
# Chromium's heuristic (10% of the time since Last-Modified) keeps such a picture fresh for weeks:
# the guide's cache trap shows without any Cache-Control at all, as on a real server.
FILE_DATE = calendar.timegm((2025, 1, 1, 0, 0, 0))
MAX_AGE = 100 * 365 * 24 * 3600  # the age knob's upper bound: a hundred years, in seconds
_FILE_DATES_KEPT = 4096

_first_served: OrderedDict[Hashable, int] = OrderedDict()
_first_served_lock = threading.Lock()


def file_date(age: int | None, *, key: Hashable, now: float) -> int:
    """The picture's modification time in whole POSIX seconds (HTTP dates have no fractions).

    ``age`` None: `FILE_DATE`. Otherwise the file was modified ``age`` seconds before the lab first
    served ``key`` (a URL's knobs) and stays put from then on, as a file's date does: ``age=0`` is a
    file that changed just before the first request. The lab remembers the last 4096 such dates.
    """
    if age is None:
        return FILE_DATE
    with _first_served_lock:
        first = _first_served.get(key)
        if first is None:
            first = _first_served[key] = int(now)
            if len(_first_served) > _FILE_DATES_KEPT:
                _first_served.popitem(last=False)
        else:
            _first_served.move_to_end(key)
    return first - age


def validator_headers(body: bytes, *, modified: int) -> list[tuple[str, str]]:
    """``Last-Modified`` and a strong ``ETag`` for ``body`` modified at ``modified``.

    The ETag is the body's size, the file date and a digest of the body (Apache's is size and mtime
    only): two different bodies, such as two users' private pictures, never share one.
    """
    digest = hashlib.sha256(body).hexdigest()[:8]
    etag = f'"{len(body):x}-{modified:x}-{digest}"'
    return [("Last-Modified", email.utils.formatdate(modified, usegmt=True)), ("ETag", etag)]


def _opaque_tag(tag: str) -> str:
    # "Weak comparison: two entity tags are equivalent if their opaque-tags match character-by-
    #  character, regardless of either or both being tagged as "weak"." (RFC 9110 section 8.8.3.2)
    tag = tag.strip(" \t")
    return tag[2:] if tag.startswith("W/") else tag


def _http_date(value: str) -> float | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return None if parsed is None or parsed.tzinfo is None else parsed.timestamp()


def not_modified(
    *,
    etag: str,
    modified: int,
    if_none_match: str | None,
    if_modified_since: str | None,
    now: float,
) -> str | None:
    """Why a GET for the picture with these validators gets 304 Not Modified, or None for a 200.

    Called only for an answer that would be 200 with the picture: "A server MUST ignore all received
    preconditions if its response to the same request without those conditions (...) would have
    been a status code other than a 2xx (Successful) or 412" (RFC 9110 section 13.2.1).
    Deviation: If-Match, If-Unmodified-Since and If-Range are not evaluated; browsers send none of
    them with an image request.
    Spec: https://www.rfc-editor.org/rfc/rfc9110#section-13.2.2
    """
    # "3. When If-None-Match is present, evaluate the If-None-Match precondition:
    #     - if true, continue to step 5
    #     - if false for GET/HEAD, respond 304 (Not Modified)"
    if if_none_match is not None:
        # "1. If the field value is "*", the condition is false if the origin server has a current
        #     representation for the target resource."
        # "2. If the field value is a list of entity tags, the condition is false if one of the
        #     listed tags matches the entity tag of the selected representation. A recipient MUST
        #     use the weak comparison function when comparing entity tags for If-None-Match"
        tags = [_opaque_tag(t) for t in if_none_match.split(",")]
        if "*" in tags:
            return f"If-None-Match: * and the picture exists ({IF_NONE_MATCH})"
        if _opaque_tag(etag) in tags:
            return f"If-None-Match names the picture's ETag {etag} ({IF_NONE_MATCH})"
        return None
    # "4. When the method is GET or HEAD, If-None-Match is not present, and If-Modified-Since is
    #     present, evaluate the If-Modified-Since precondition:
    #     - if true, continue to step 5
    #     - if false, respond 304 (Not Modified)"
    if if_modified_since is None:
        return None
    # "A recipient MUST ignore the If-Modified-Since header field if the received field value is not
    #  a valid HTTP-date, the field value has more than one member, or if the request method is
    #  neither GET nor HEAD." (section 13.1.3)
    since = _http_date(if_modified_since)
    if since is None:
        return None
    # Deviation: a date later than the lab's clock is ignored, as Apache 2.4 does (measured) and as
    # RFC 2616 section 14.25 said: "A date which is later than the server's current time is invalid."
    if since > now:
        return None
    # "1. If the selected representation's last modification date is earlier or equal to the date
    #     provided in the field value, the condition is false."
    if modified <= since:
        return f"If-Modified-Since is not earlier than the picture's Last-Modified ({IF_MODIFIED_SINCE})"
    return None
