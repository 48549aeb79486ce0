"""What the lab answers: one request in, status + headers + body out, with no socket anywhere.

Owns the lab's paths (``/img/<name>``, ``/login``, ``/logout``, the probe's two), `respond` (the
knobs -> headers rules, which the Jupyter server extension calls too), `answer` (a whole request,
bad knobs and unknown paths included) and `framed` (Content-Length, Date, Connection). Must not:
read a socket, log, sleep (a delay is returned for the caller to wait), or open any file but the
pictures from ``cors_lab.assets`` and the probe's own.
"""

from __future__ import annotations

import email.utils
import http
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from ..errors import UsageError
from ..spec.headers import HeaderList
from .knobs import H5BP_IMAGE_PATTERN, USER_PATTERN, Knobs, parse_knobs
from .log import USER_COOKIE, Request, split_cookies
from .probe import PROBE_PATH, PROBE_SCRIPT_PATH, PROBE_CSP, probe_body

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
) -> Answer:
    """The lab's answer on ``endpoint`` ("img", "login", "logout") for valid ``knobs``.

    ``name`` is the picture (for "img"), ``path`` the request's path (the h5bp rule matches it),
    ``cookies`` the lab's own cookies (``cors_lab_user`` picks the secret picture's user), ``origin``
    the request's ``Origin`` header or None.
    """
    cookies = cookies or {}
    status = knobs.final_status
    headers = HeaderList()
    if endpoint == "img":
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
    # Deviation: none intended; "Header set" without "always" reaches 2xx responses only.
    if knobs.apache and 200 <= status < 300 and _H5BP_IMAGE.search(path) and origin is not None and ":" in origin:
        headers.set("Access-Control-Allow-Origin", "*")
    if endpoint == "login":
        cookie = f"{USER_COOKIE}={knobs.user}; Path=/; SameSite={knobs.samesite}"
        headers.append("Set-Cookie", cookie + ("; Secure" if knobs.samesite == "None" else ""))
    elif endpoint == "logout":
        headers.append("Set-Cookie", f"{USER_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax")
    if knobs.truncate is not None:
        body = body[: knobs.truncate]
    return Answer(status, headers, body=body)


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
    try:
        result = respond(endpoint, name, path=path, knobs=knobs, cookies=cookies, origin=request.header("Origin"))
    except Exception as err:  # a bug or a broken asset: say so instead of hanging up
        return replace(_plain(500, f"{type(err).__name__}: {err}"), delay=knobs.delay)
    return replace(result, delay=knobs.delay)


_date_cache = [0, ""]


def _http_date() -> str:
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[:] = [now, email.utils.formatdate(now, usegmt=True)]
    return _date_cache[1]


def framed(result: Answer, *, closing: bool = False) -> Answer:
    """``result`` with the framing headers a server adds: Content-Length (unless 204/304), Date, Connection."""
    headers = HeaderList(result.headers)
    if result.status not in NO_BODY_STATUSES:
        headers.append("Content-Length", str(len(result.body)))
    headers.append("Date", _http_date())
    if closing:
        headers.append("Connection", "close")
    return replace(result, headers=headers)
