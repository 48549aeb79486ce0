"""What the lab answers: one request in, status + headers + body out, with no socket anywhere.

Owns the lab's paths (``/img/<name>``, ``/login``, ``/logout``, the probe's two), `respond` (the
knobs -> headers rules, which the Jupyter server extension calls too), `answer` (a whole request,
bad knobs and unknown paths included) and `framed` (Content-Length, Date, Connection). Must not:
read a socket, log, sleep (a delay is returned for the caller to wait), or open any file but the
pictures from ``cors_lab.assets``, the probe's own and the error page (``errorpage.html``).
A picture answers like a file on a static server: validators and conditional requests are
``validators``'s.
"""

from __future__ import annotations

import email.utils
import http
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from string import Template

from ..errors import UsageError
from ..spec.headers import HeaderList
from .knobs import H5BP_IMAGE_PATTERN, USER_PATTERN, Knobs, parse_knobs
from .log import USER_COOKIE, Request, split_cookies
from .probe import PROBE_PATH, PROBE_SCRIPT_PATH, PROBE_CSP, probe_body
from .validators import file_date, not_modified, validator_headers

__all__ = [
    "ASSET_PREFIX",
    "Answer",
    "NO_BODY_STATUSES",
    "USER_COOKIE",
    "answer",
    "asset_names",
    "body_problem",
    "framed",
    "not_found_reason",
    "respond",
    "route",
]

ASSET_PREFIX = "/img/"
NO_BODY_STATUSES = (204, 304)
_H5BP_IMAGE = re.compile(H5BP_IMAGE_PATTERN)
_PLAIN = "text/plain; charset=utf-8"
ERROR_PAGE_TYPE = "text/html; charset=utf-8"
_ERROR_PAGE = Template((Path(__file__).parent / "errorpage.html").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Answer:
    """A response before it is sent: ``delay`` seconds to wait first, ``error`` the reason of a 4xx/5xx."""

    status: int
    headers: HeaderList
    body: bytes = field(default=b"", kw_only=True)
    error: str | None = field(default=None, kw_only=True)
    delay: float = field(default=0.0, kw_only=True)


def asset_names() -> tuple[str, ...]:
    """The pictures the lab serves at ``/img/<name>`` (``cors_lab.assets.ASSET_NAMES``)."""
    from .. import assets  # late: the servers load without Pillow until a picture is asked for

    return tuple(assets.ASSET_NAMES)


_asset_cache: dict[tuple[str, str | None], object] = {}
_asset_cache_lock = threading.Lock()


def _get_asset(name: str, user: str | None):
    key = (name, user)
    asset = _asset_cache.get(key)
    if asset is None:
        from .. import assets

        asset = assets.get_asset(name, user=user)
        with _asset_cache_lock:
            if len(_asset_cache) > 256:
                _asset_cache.clear()
            _asset_cache[key] = asset
    return asset


def route(path: str) -> tuple[str | None, str | None]:
    """(endpoint, asset name) for an exact, undecoded path; (None, None) for anything else.

    Endpoints: "img", "login", "logout", "probe" and "probe-script". Only exact names match, compared
    before any %-decoding, so ``../``, ``%2e%2e``, ``%2F``, backslashes, NUL and absolute paths are
    simply unknown paths: 404, and no file is ever opened.
    """
    if path == "/login":
        return "login", None
    if path == "/logout":
        return "logout", None
    if path == PROBE_PATH:
        return "probe", None
    if path == PROBE_SCRIPT_PATH:
        return "probe-script", None
    if path.startswith(ASSET_PREFIX):
        name = path[len(ASSET_PREFIX) :]
        if name in asset_names():
            return "img", name
    return None, None


def not_found_reason() -> str:
    return (
        f"the lab serves {ASSET_PREFIX}<name> for <name> in {', '.join(asset_names())}, /login?user=NAME, "
        f"/logout and the live probe's {PROBE_PATH}."
    )


def _plain(status: int, reason: str) -> Answer:
    body = f"{status} {http.HTTPStatus(status).phrase}: {reason}\n".encode("utf-8", "backslashreplace")
    return Answer(status, HeaderList([("Content-Type", _PLAIN)]), body=body, error=reason)


def respond(
    endpoint: str,
    name: str | None,
    *,
    path: str,
    knobs: Knobs,
    cookies: Mapping[str, str] | None = None,
    origin: str | None = None,
    if_none_match: str | None = None,
    if_modified_since: str | None = None,
    now: float | None = None,
) -> Answer:
    """The lab's answer on ``endpoint`` ("img", "login", "logout") for valid ``knobs``.

    ``name`` is the picture (for "img"), ``path`` the request's path (the h5bp rule matches it),
    ``cookies`` the lab's own cookies (``cors_lab_user`` picks the secret picture's user), ``origin``
    the request's ``Origin`` header or None, ``if_none_match`` / ``if_modified_since`` the request's
    conditional headers (a 200 picture they match becomes 304), ``now`` the clock (default: now).
    """
    cookies = cookies or {}
    now = time.time() if now is None else now
    status = knobs.final_status
    headers = HeaderList()
    if endpoint == "img" and knobs.errorpage:
        phrase = http.HTTPStatus(status).phrase
        body = _ERROR_PAGE.substitute(status=status, phrase=phrase).encode("utf-8")
        content_type = ERROR_PAGE_TYPE
    elif endpoint == "img":
        user = cookies.get(USER_COOKIE)
        asset = _get_asset(name, user if user and USER_PATTERN.match(user) else None)
        body, content_type = asset.body, asset.content_type
    elif endpoint == "login":
        body = f"logged in as {knobs.user}\n".encode()
        content_type = _PLAIN
    else:
        body, content_type = b"logged out\n", _PLAIN
    if knobs.to is not None:
        body, content_type = b"", ""  # a redirect carries no image
    if knobs.ctype is not None:
        content_type = knobs.ctype
    if content_type:
        headers.append("Content-Type", content_type)
    if knobs.to is not None:
        headers.append("Location", knobs.to)
    for value in knobs.acao:
        headers.append("Access-Control-Allow-Origin", value)
    if knobs.acac is not None:
        headers.append("Access-Control-Allow-Credentials", knobs.acac)
    for value in knobs.vary:
        headers.append("Vary", value)
    if knobs.cache is not None:
        headers.append("Cache-Control", knobs.cache)
    if knobs.nosniff:
        headers.append("X-Content-Type-Options", "nosniff")
    # <FilesMatch "\.(avifs?|...)$"> SetEnvIf Origin ":" IS_CORS
    #   Header set Access-Control-Allow-Origin "*" env=IS_CORS
    # "Header set" without "always" reaches 2xx answers and 304s (Apache 2.4, measured). It sets
    # its own line beside any acao lines ("Header always set" keeps them in another table): Apache
    # and nginx both send the acao lines first, then "*" (measured).
    if knobs.apache and (200 <= status < 300 or status == 304) and _H5BP_IMAGE.search(path) and origin is not None and ":" in origin:
        headers.append("Access-Control-Allow-Origin", "*")
    if endpoint == "login":
        cookie = f"{USER_COOKIE}={knobs.user}; Path=/; SameSite={knobs.samesite}"
        headers.append("Set-Cookie", cookie + ("; Secure" if knobs.samesite == "None" else ""))
    elif endpoint == "logout":
        headers.append("Set-Cookie", f"{USER_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax")
    if knobs.truncate is not None:
        body = body[: knobs.truncate]
    if endpoint != "img" or status != 200 or knobs.to is not None or not knobs.validators:
        return Answer(status, headers, body=body)
    # A picture sent with 200 is a file on a static server: it has validators, and a conditional
    # request that they satisfy gets 304 (RFC 9110 section 13.2.2, `not_modified`).
    modified = file_date(knobs.age, key=(path, knobs), now=now)
    validators = validator_headers(body, modified=modified)
    etag = validators[1][1]
    why = not_modified(etag=etag, modified=modified, if_none_match=if_none_match,
                       if_modified_since=if_modified_since, now=now)
    for header, value in validators:
        headers.append(header, value)
    if why is None:
        return Answer(status, headers, body=body)
    # "The server generating a 304 response MUST generate any of the following header fields that
    #  would have been sent in a 200 (OK) response to the same request: Content-Location, Date, ETag,
    #  and Vary; Cache-Control and Expires" (RFC 9110 section 15.4.5). As Apache and nginx (measured),
    # the lab keeps every other header it would have sent too, but not Content-Type.
    # And the guide's rule, re-evaluated for the 304 status, fires on 304 as on 200 (see above).
    headers.delete("Content-Type")
    return Answer(304, headers, body=b"")


def _probe(endpoint: str, path: str, query: str) -> Answer:
    if query:
        return _plain(400, f"{path} takes no knobs; open {PROBE_PATH} as it is (lab.site.probe_url()).")
    try:
        content_type, body = probe_body(path)
    except OSError as err:  # trial.js missing from the installed package
        return _plain(500, f"{type(err).__name__}: {err}")
    headers = HeaderList([("Content-Type", content_type), ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")])
    if endpoint == "probe":
        headers.append("Content-Security-Policy", PROBE_CSP)
    return Answer(200, headers, body=body)


def body_problem(headers: Iterable[tuple[str, str]]) -> str | None:
    """Why a request's body cannot be skipped safely (the lab reads none but a small, counted one).

    A ``Transfer-Encoding`` (chunked) body, or a Content-Length that is not one plain number, would
    be read as the next request on the connection (request smuggling): such a request gets 400 and
    the connection is closed. None when the body is absent or a plain Content-Length.
    """
    lengths, encodings = [], []
    for name, value in headers:
        if name.lower() == "content-length":
            lengths.append(value.strip())
        elif name.lower() == "transfer-encoding":
            encodings.append(value.strip())
    if encodings:
        return (f"the request has a body sent with Transfer-Encoding: {', '.join(encodings)}; the lab reads no"
                " request bodies, so it answers 400 and closes the connection. Send GET and HEAD without a body.")
    if lengths and (len(set(lengths)) > 1 or not lengths[0].isdigit() or not lengths[0].isascii()):
        return (f"Content-Length {', '.join(map(repr, lengths))} is not one plain number, so the body cannot be"
                " skipped safely: 400, and the connection is closed.")
    return None


def answer(request: Request, *, lab_origins: Iterable[str]) -> Answer:
    """The whole answer to ``request``: 404 for unknown paths, 400 with the reason for bad knobs
    or a body that cannot be skipped."""
    problem = body_problem(request.headers)
    if problem is not None:
        return _plain(400, problem)
    path, _, query = request.target.partition("?")
    endpoint, name = route(path)
    if endpoint is None:
        return _plain(404, not_found_reason())
    if endpoint in ("probe", "probe-script"):
        return _probe(endpoint, path, query)
    try:
        knobs = parse_knobs(query, endpoint=endpoint, allowed_origins=lab_origins)
    except UsageError as err:
        return _plain(400, str(err))
    cookies, _ = split_cookies(request.header_all("Cookie"))
    conditional = {"if_none_match": _joined(request, "If-None-Match"), "if_modified_since": _joined(request, "If-Modified-Since")}
    if request.method not in ("GET", "HEAD"):  # RFC 9110 section 13.1: both only for GET and HEAD
        conditional = {}
    try:
        result = respond(endpoint, name, path=path, knobs=knobs, cookies=cookies, origin=request.header("Origin"),
                         now=request.arrived, **conditional)
    except Exception as err:  # a bug or a broken asset: say so instead of hanging up
        return replace(_plain(500, f"{type(err).__name__}: {err}"), delay=knobs.delay)
    return replace(result, delay=knobs.delay)


def _joined(request: Request, name: str) -> str | None:
    lines = request.header_all(name)
    return ", ".join(lines) if lines else None


_last_date: tuple[int, str] = (0, "")


def _http_date(now: float) -> str:
    global _last_date
    second, cached = int(now), _last_date  # read once: other threads replace the pair whole
    if cached[0] != second:
        cached = _last_date = (second, email.utils.formatdate(second, usegmt=True))
    return cached[1]


def framed(result: Answer, *, closing: bool = False, now: float | None = None) -> Answer:
    """``result`` with the framing headers a server adds: Content-Length (unless 204/304), Date, Connection.

    ``now`` dates the answer (default: now); the lab passes the request's arrival plus its delay,
    the clock its answer was computed with, so Date and an ``age`` knob's Last-Modified agree.
    """
    headers = HeaderList(result.headers)
    if result.status not in NO_BODY_STATUSES:
        headers.append("Content-Length", str(len(result.body)))
    headers.append("Date", _http_date(time.time() if now is None else now))
    if closing:
        headers.append("Connection", "close")
    return replace(result, headers=headers)
