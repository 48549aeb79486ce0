"""Lab servers: real HTTP servers on loopback, one per origin, every server knob in the URL.

Owns the lab's three origins, the URL knobs (builder and parser share one validator), redirects
between the lab's own origins, the login cookie and the per-origin request log. It decides no CORS
rule (that is ``cors_lab.spec``), binds 127.0.0.1 only and reads no file but the kit's own
``trial.js`` (for ``/probe/trial.js``): images come from ``cors_lab.assets``.

A lab has three origins on one loopback address, each its own ``ThreadingHTTPServer``-style server
(HTTP/1.1, keep-alive, one thread per connection, ephemeral port)::

    lab.site    http://HOST:P1    the page's origin
    lab.cdn     http://HOST:P2    same site, cross-origin (ports do not count for sites)
    lab.other   http://OTHER:P3   cross-site: OTHER is the other loopback name
                                  (localhost <-> 127.0.0.1), for redirects and cookie lessons

Endpoints: ``/img/<name>`` for each ``cors_lab.assets.ASSET_NAMES`` name, ``/login?user=alice``,
``/logout``. Anything else is 404 (and is logged). Knobs work on all three endpoints.

``/probe`` is the live probe's page (``lab.site.probe_url()``): a small HTML page, no external
resources, that loads ``/probe/trial.js`` (the kit's ``trial.js``) and answers its parent's
``postMessage({type: "cors-lab-trial", id, spec})`` with ``{type: "cors-lab-result", id, result}``
(see ``cors_lab.live``). Both take no knobs (a query string gets 400) and are sent ``no-store``
with a Content-Security-Policy that allows only these scripts and framing by loopback pages.

Knobs (query names; ``lab.cdn.url("picture.png", acao="*", vary="Origin")`` builds them)

==========  =====================  ==================================================================
knob        example                the server then
==========  =====================  ==================================================================
acao        ``acao=*``             sends ``Access-Control-Allow-Origin`` with this raw value; repeat
                                   (Python: a list) to send several header lines
acac        ``acac=true``          sends ``Access-Control-Allow-Credentials`` with this raw value
                                   (Python ``True`` -> ``true``; ``"True"`` is sent as is, and fails)
vary        ``vary=Origin``        sends ``Vary``; repeatable like ``acao``
cache       ``cache=max-age=3600`` sends ``Cache-Control`` with this raw value
apache      ``apache=1``           applies the guide's h5bp Apache rule: ``Access-Control-Allow-Origin:
                                   *`` only if the request has an ``Origin`` containing ":"
                                   (``SetEnvIf Origin ":" IS_CORS``, so ``Origin: null`` gets none), the
                                   path ends in ``.(avifs?|bmp|cur|gif|ico|jpe?g|jxl|a?png|svgz?|webp)``
                                   and the status is 2xx (``Header set`` without ``always``); it
                                   replaces any ``acao`` lines when it fires
status      ``status=404``         answers with this status (200-599), still with the image body;
                                   204 and 304 have no body; 301/302/303/307/308 need ``to``
to          ``to=http://...``      redirects there (``Location``), status 302 unless ``status`` says
                                   otherwise; the target must be one of the lab's own three origins
delay       ``delay=2.5``          waits this many seconds (0-30) before answering
ctype       ``ctype=text/html``    sends this ``Content-Type`` instead of the right one; ``ctype=``
                                   (empty) sends no ``Content-Type`` at all
truncate    ``truncate=100``       sends only the first N bytes of the body (``Content-Length: N``,
                                   a well-formed response carrying a broken image)
nosniff     ``nosniff=1``          sends ``X-Content-Type-Options: nosniff``
nonce       ``nonce=7``            nothing: a distinct URL, to miss the HTTP cache on purpose
                                   (Python ``nonce=True`` makes a fresh one)
user        ``user=alice``         ``/login`` only: sets ``cors_lab_user=alice; Path=/; SameSite=Lax``
samesite    ``samesite=None``      ``/login`` only: ``Lax`` (default), ``Strict`` or ``None``, sent as
                                   ``SameSite=None; Secure`` because browsers drop ``None`` without
                                   ``Secure`` (Chromium keeps it on http://127.0.0.1 and localhost)
==========  =====================  ==================================================================

Flags (``apache``, ``nosniff``) take ``1`` or an empty value (``?apache``) for on, ``0`` for off.
Bad knobs (an unknown name, a status out of range, a delay over 30 s, a header value with CR, LF or
NUL, a redirect off the lab) get ``400`` with a one-line plain-text reason in the body, never in a
header; the Python builder raises ``cors_lab.errors.UsageError`` with the same reason first.

Python API::

    lab = start(host="127.0.0.1")      # or "localhost"; idempotent; Lab() makes an extra lab
    lab.site, lab.cdn, lab.other       # LabOrigin: .origin .host .port .address .label
    lab.cdn.url("picture.png", **knobs) -> str        lab.cdn.login_url("alice", samesite="None")
    lab.site.probe_url() -> str        # the live probe's page on this origin
    lab.chain([lab.cdn, lab.other, lab.site], "picture.png", hop_knobs={...}, **knobs) -> str
    lab.cdn.log, lab.log(), lab.clear_log()           RequestLog: a list of LogEntry, shown as a table
    lab.stop()                         # also on leaving ``with start() as lab:`` and at exit

The log: every request is recorded per origin (``lab.cdn.log``, ``lab.log()`` merged by time) with
the request's ``Origin`` (``None`` = absent, distinct from ``"null"``), ``Referer``, ``Sec-Fetch-*``,
``Accept``, the lab's own cookies (names starting ``cors_lab_``), a *count* of every other cookie
(JupyterLab's auth cookies reach every port of the host; they are never stored), and the response's
status and headers. Nothing is printed per request.
"""

from __future__ import annotations

import atexit
import base64
import email.utils
import hashlib
import html
import http
import http.server
import itertools
import math
import re
import secrets
import selectors
import socket
import socketserver
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote

from .errors import UsageError
from .spec.fetch import REDIRECT_STATUSES
from .spec.headers import HeaderList, check_header

__all__ = [
    "ASSET_PREFIX",
    "KERNEL_USER_AGENT_PREFIX",
    "KNOBS",
    "Knobs",
    "Lab",
    "LabOrigin",
    "LogEntry",
    "PROBE_PATH",
    "RequestLog",
    "encode_knobs",
    "parse_knobs",
    "start",
]

BIND_ADDRESS = "127.0.0.1"  # the only address any lab server listens on
ALLOWED_HOSTS = ("127.0.0.1", "localhost")
ASSET_PREFIX = "/img/"
KERNEL_USER_AGENT_PREFIX = "cors-lab-kernel/"
MAX_DELAY = 30.0
LOG_LIMIT = 5000  # entries kept per origin; older ones are dropped
LAB_COOKIE_PREFIX = "cors_lab_"
USER_COOKIE = "cors_lab_user"
NO_BODY_STATUSES = (204, 304)

# The guide's h5bp rule: <FilesMatch "\.(avifs?|bmp|cur|gif|ico|jpe?g|jxl|a?png|svgz?|webp)$">
H5BP_IMAGE_PATTERN = r"\.(avifs?|bmp|cur|gif|ico|jpe?g|jxl|a?png|svgz?|webp)$"
_H5BP_IMAGE = re.compile(H5BP_IMAGE_PATTERN)
_USER = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_SAMESITE = {"lax": "Lax", "strict": "Strict", "none": "None"}


# --------------------------------------------------------------------------------------------------
# Knobs: one table, one validator, used by the Python URL builder and by the server.


@dataclass(frozen=True)
class KnobInfo:
    """One row of the knob table (a docs cell can print ``KNOBS``)."""

    name: str
    header: str | None  # the response header it sets, if any
    repeatable: bool
    summary: str


KNOBS: dict[str, KnobInfo] = {
    k.name: k
    for k in (
        KnobInfo("acao", "Access-Control-Allow-Origin", True, "raw ACAO value; repeat for several lines"),
        KnobInfo("acac", "Access-Control-Allow-Credentials", False, "raw ACAC value (True -> 'true')"),
        KnobInfo("vary", "Vary", True, "raw Vary value; repeat for several lines"),
        KnobInfo("cache", "Cache-Control", False, "raw Cache-Control value"),
        KnobInfo("apache", "Access-Control-Allow-Origin", False, "the guide's h5bp Apache rule"),
        KnobInfo("status", None, False, "response status 200-599; 3xx redirects need 'to'"),
        KnobInfo("to", "Location", False, "redirect target, one of the lab's own origins"),
        KnobInfo("delay", None, False, f"seconds to wait before answering, 0-{MAX_DELAY:g}"),
        KnobInfo("ctype", "Content-Type", False, "wrong Content-Type; empty = none at all"),
        KnobInfo("truncate", None, False, "send only the first N bytes of the body"),
        KnobInfo("nosniff", "X-Content-Type-Options", False, "send X-Content-Type-Options: nosniff"),
        KnobInfo("nonce", None, False, "ignored; makes the URL distinct to miss caches"),
        KnobInfo("user", "Set-Cookie", False, "/login only: the user to log in"),
        KnobInfo("samesite", "Set-Cookie", False, "/login only: Lax, Strict or None"),
    )
}
_LOGIN_ONLY = ("user", "samesite")


@dataclass(frozen=True)
class Knobs:
    """Parsed, validated knobs of one request (defaults = a plain, correct response)."""

    acao: tuple[str, ...] = ()
    acac: str | None = None
    vary: tuple[str, ...] = ()
    cache: str | None = None
    apache: bool = False
    status: int | None = None
    to: str | None = None
    delay: float = 0.0
    ctype: str | None = None  # None = the asset's own type; "" = no Content-Type header
    truncate: int | None = None
    nosniff: bool = False
    nonce: str | None = None
    user: str | None = None
    samesite: str = "Lax"

    @property
    def final_status(self) -> int:
        """The status the server answers with."""
        if self.status is not None:
            return self.status
        return 302 if self.to is not None else 200


def _flag(name: str, value: str) -> bool:
    if value in ("", "1"):
        return True
    if value == "0":
        return False
    raise UsageError(f"Knob {name} is a flag: write {name}=1 (or just ?{name}) for on, {name}=0 for off; got {value!r}.")


def _header_value(knob: str, header: str, value: str) -> str:
    try:
        check_header(header, value)
    except UsageError as err:
        raise UsageError(f"Knob {knob}: {err}") from None
    return value


def _check_redirect_target(to: str, allowed_origins: Iterable[str] | None) -> None:
    # Parser-independent on purpose: the target must *start with* a lab origin followed by "/" (or be
    # exactly one), with no whitespace, control characters or backslashes anywhere. No open redirect.
    if any(ord(ch) <= 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in to):
        raise UsageError(f"Knob to: {to!r} has spaces, control characters or backslashes; give a plain URL.")
    if not to.startswith("http://"):
        raise UsageError(f"Knob to: {to!r} must be an absolute http:// URL of one of the lab's origins.")
    if allowed_origins is None:
        return
    allowed = sorted(allowed_origins)
    if not any(to == o or to.startswith(o + "/") for o in allowed):
        raise UsageError(
            f"Knob to: {to!r} is not on the lab; redirects may only go to the lab's own origins "
            f"({', '.join(allowed)}). Build the target with lab.site/lab.cdn/lab.other.url(...)."
        )


def parse_knobs(
    pairs: str | Iterable[tuple[str, str]],
    *,
    endpoint: str = "img",
    allowed_origins: Iterable[str] | None = None,
) -> Knobs:
    """Validate knobs from a query string (or decoded pairs); raise ``UsageError`` naming the fix.

    ``endpoint`` is ``"img"``, ``"login"`` or ``"logout"``. ``allowed_origins``, when given, are the
    only origins a ``to`` redirect may point at.
    """
    if isinstance(pairs, str):
        try:
            pairs = parse_qsl(pairs, keep_blank_values=True, errors="strict", max_num_fields=64)
        except UnicodeDecodeError:
            raise UsageError("The query string is not valid UTF-8 after %-decoding; encode knob values as UTF-8.") from None
        except ValueError:
            raise UsageError("Too many knobs in one URL (at most 64).") from None
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        if name not in KNOBS:
            raise UsageError(f"Unknown knob {name!r}. Knobs: {', '.join(KNOBS)} (see help(cors_lab.servers)).")
        if name in _LOGIN_ONLY and endpoint != "login":
            raise UsageError(f"Knob {name} only works on /login, e.g. /login?user=alice.")
        if not isinstance(value, str):
            raise UsageError(f"Knob {name}: the value must be a string, not {type(value).__name__}.")
        values.setdefault(name, []).append(value)
    for name, vals in values.items():
        if len(vals) > 1 and not KNOBS[name].repeatable:
            raise UsageError(f"Knob {name} was given {len(vals)} times; give it once.")
    one = {name: vals[0] for name, vals in values.items()}
    kw: dict[str, object] = {}

    if "acao" in values:
        kw["acao"] = tuple(_header_value("acao", "Access-Control-Allow-Origin", v) for v in values["acao"])
    if "acac" in one:
        kw["acac"] = _header_value("acac", "Access-Control-Allow-Credentials", one["acac"])
    if "vary" in values:
        kw["vary"] = tuple(_header_value("vary", "Vary", v) for v in values["vary"])
    if "cache" in one:
        kw["cache"] = _header_value("cache", "Cache-Control", one["cache"])
    if "ctype" in one:
        kw["ctype"] = _header_value("ctype", "Content-Type", one["ctype"])
    for name in ("apache", "nosniff"):
        if name in one:
            kw[name] = _flag(name, one[name])
    if "nonce" in one:
        kw["nonce"] = one["nonce"]

    if "status" in one:
        text = one["status"]
        if not re.fullmatch(r"[0-9]{1,6}", text):
            raise UsageError(f"Knob status must be a number such as 404; got {text!r}.")
        status = int(text)
        if 100 <= status < 200:
            raise UsageError(
                f"Knob status={status}: 1xx responses are interim, never final; use 200-599."
            )
        if not 200 <= status <= 599:
            raise UsageError(f"Knob status={status} is out of range; use 200-599.")
        kw["status"] = status
    if "to" in one:
        to = one["to"]
        _check_redirect_target(to, allowed_origins)
        kw["to"] = _header_value("to", "Location", to)
        if kw.get("status", 302) not in REDIRECT_STATUSES:
            raise UsageError(
                f"Knob to= redirects, so status must be one of {', '.join(map(str, REDIRECT_STATUSES))} "
                f"(or left out for 302); got status={kw['status']}."
            )
    elif kw.get("status") in REDIRECT_STATUSES:
        raise UsageError(f"Knob status={kw['status']} is a redirect: it needs to=<URL on the lab> (lab.chain(...) builds these).")

    if "delay" in one:
        text = one["delay"]
        try:
            delay = float(text)
        except ValueError:
            raise UsageError(f"Knob delay is a number of seconds such as 2.5; got {text!r}.") from None
        if not math.isfinite(delay) or delay < 0 or delay > MAX_DELAY:
            raise UsageError(f"Knob delay={text} is out of range; use 0 to {MAX_DELAY:g} seconds.")
        kw["delay"] = delay
    if "truncate" in one:
        text = one["truncate"]
        if not re.fullmatch(r"[0-9]{1,9}", text):
            raise UsageError(f"Knob truncate is a byte count such as 100; got {text!r}.")
        kw["truncate"] = int(text)

    if "user" in one:
        if not _USER.match(one["user"]):
            raise UsageError(f"Knob user: {one['user']!r} is not a user name; use 1-32 letters, digits, '.', '_' or '-'.")
        kw["user"] = one["user"]
    if "samesite" in one:
        canonical = _SAMESITE.get(one["samesite"].lower())
        if canonical is None:
            raise UsageError(f"Knob samesite must be Lax, Strict or None; got {one['samesite']!r}.")
        kw["samesite"] = canonical
    if endpoint == "login" and "user" not in kw:
        raise UsageError("/login needs a user, e.g. /login?user=alice.")
    return Knobs(**kw)  # type: ignore[arg-type]


_nonces = itertools.count(1)


def _strings(name: str, value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise UsageError(f"Knob {name} takes a string or a list of strings (one header line each); got {value!r}.")


def encode_knobs(knobs: Mapping[str, object]) -> list[tuple[str, str]]:
    """Python knob values -> query pairs, in the table's order (so equal knobs give equal URLs).

    ``None`` and ``False`` leave a knob out. Raises ``UsageError`` for unknown knobs or bad types;
    the values themselves are checked by ``parse_knobs``.
    """
    unknown = [k for k in knobs if k not in KNOBS]
    if unknown:
        raise UsageError(f"Unknown knob {unknown[0]!r}. Knobs: {', '.join(KNOBS)} (see help(cors_lab.servers)).")
    pairs: list[tuple[str, str]] = []
    for name in KNOBS:
        value = knobs.get(name)
        if value is None or value is False:
            continue
        if name in ("acao", "vary"):
            pairs += [(name, v) for v in _strings(name, value)]
        elif name in ("apache", "nosniff"):
            if value is not True:
                raise UsageError(f"Knob {name} is a flag: pass {name}=True; got {value!r}.")
            pairs.append((name, "1"))
        elif name == "acac":
            if value is True:
                pairs.append((name, "true"))
            elif isinstance(value, str):
                pairs.append((name, value))
            else:
                raise UsageError(f"Knob acac takes True (sends 'true') or a raw string such as 'True'; got {value!r}.")
        elif name in ("status", "truncate"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise UsageError(f"Knob {name} takes an int, e.g. {name}={404 if name == 'status' else 100}; got {value!r}.")
            pairs.append((name, str(value)))
        elif name == "delay":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise UsageError(f"Knob delay takes seconds as a number, e.g. delay=2.5; got {value!r}.")
            pairs.append((name, format(value, "g") if math.isfinite(value) else str(value)))
        elif name == "nonce":
            if value is True:
                value = f"{next(_nonces)}-{secrets.token_hex(4)}"
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise UsageError(f"Knob nonce takes True (a fresh one), a string or an int; got {value!r}.")
            pairs.append((name, str(value)))
        else:  # cache, ctype, to, user, samesite: strings
            if not isinstance(value, str):
                raise UsageError(f"Knob {name} takes a string; got {value!r}.")
            pairs.append((name, value))
    return pairs


def _query(pairs: Sequence[tuple[str, str]]) -> str:
    # Readable but unambiguous: keep * : / , unescaped, escape & = + # % ? and everything else.
    return "&".join(f"{n}={quote(v, safe='*:/,')}" for n, v in pairs)


# --------------------------------------------------------------------------------------------------
# The request log.


@dataclass(frozen=True)
class LogEntry:
    """One request as a lab server saw it, and what it answered.

    ``origin`` is the request's ``Origin`` header: ``None`` when absent, ``"null"`` when the page was
    opaque. ``cookies`` holds only the lab's own cookies; ``other_cookies`` counts the rest, whose
    names and values are never kept.
    """

    time: float  # when the request arrived (time.time())
    server: str  # "site" | "cdn" | "other"
    client: str  # "kernel" | "browser" | "other"
    method: str
    path: str  # path and query exactly as requested
    origin: str | None
    referer: str | None
    sec_fetch: dict[str, str]
    accept: str | None
    cookies: dict[str, str]
    other_cookies: int
    status: int
    headers: tuple[tuple[str, str], ...]  # the response's headers, in order
    error: str | None = None  # the reason of a 400/404/500
    seq: int = field(default=0, repr=False, compare=False)

    def header(self, name: str) -> str | None:
        """A response header's value (several lines joined with ", "), or None."""
        return HeaderList(self.headers).get(name)

    @property
    def mode(self) -> str | None:
        """The request's ``Sec-Fetch-Mode`` ("cors", "no-cors", ...) or None."""
        return self.sec_fetch.get("Sec-Fetch-Mode")


_COLUMNS = ("time", "server", "client", "method", "status", "path", "Origin", "mode", "ACAO", "cookies")


def _row(e: LogEntry) -> dict[str, str]:
    cookies = ", ".join(f"{k}={v}" for k, v in e.cookies.items())
    if e.other_cookies:
        cookies = f"{cookies} +{e.other_cookies} other" if cookies else f"+{e.other_cookies} other"
    acao = HeaderList(e.headers).get_all("Access-Control-Allow-Origin")
    return {
        "time": time.strftime("%H:%M:%S", time.localtime(e.time)) + f".{int(e.time * 1000) % 1000:03d}",
        "server": e.server,
        "client": e.client,
        "method": e.method,
        "status": str(e.status),
        "path": e.path,
        "Origin": "(absent)" if e.origin is None else e.origin,
        "mode": e.mode or "",
        "ACAO": " | ".join(acao) if acao else "",
        "cookies": cookies,
    }


class RequestLog(list):
    """A list of ``LogEntry``, oldest first, that renders as a table in Jupyter and in a terminal."""

    def table(self, *, width: int = 60) -> str:
        """A plain-text table; paths longer than ``width`` characters are shortened with "..."."""
        rows = [_row(e) for e in self]
        for r in rows:
            if len(r["path"]) > width:
                r["path"] = r["path"][: width - 3] + "..."
        widths = {c: max([len(c)] + [len(r[c]) for r in rows]) for c in _COLUMNS}
        lines = ["  ".join(c.ljust(widths[c]) for c in _COLUMNS).rstrip()]
        lines += ["  ".join(r[c].ljust(widths[c]) for c in _COLUMNS).rstrip() for r in rows]
        if not rows:
            lines.append("(no requests yet)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in _COLUMNS)
        body = []
        for r in (_row(e) for e in self):
            cells = []
            for c in _COLUMNS:
                text = html.escape(r[c])
                if c == "Origin" and r[c] == "(absent)":
                    text = "<em>(absent)</em>"
                cells.append(f"<td><code>{text}</code></td>" if c in ("path", "ACAO") else f"<td>{text}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        if not body:
            body.append(f'<tr><td colspan="{len(_COLUMNS)}"><em>no requests yet</em></td></tr>')
        return (
            '<table class="cors-lab-log">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )

    def _repr_pretty_(self, p, cycle) -> None:  # IPython
        p.text("RequestLog([...])" if cycle else self.table())

    def __repr__(self) -> str:
        return self.table()


def _classify(user_agent: str | None) -> str:
    if user_agent and user_agent.startswith(KERNEL_USER_AGENT_PREFIX):
        return "kernel"
    if user_agent and user_agent.startswith("Mozilla/"):
        return "browser"
    return "other"


def _split_cookies(lines: Iterable[str]) -> tuple[dict[str, str], int]:
    """The lab's own cookies by name, and a count of every other cookie (never kept)."""
    own: dict[str, str] = {}
    others = 0
    for line in lines:
        for part in line.split(";"):
            name, _, value = part.strip().partition("=")
            name = name.strip()
            if not name and not value:
                continue
            if name.startswith(LAB_COOKIE_PREFIX):
                own[name] = value.strip()
            else:
                others += 1
    return own, others


_seq = itertools.count(1)


# --------------------------------------------------------------------------------------------------
# The servers.


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cors-lab"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - silence per-request output
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._answer()

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer()

    def _answer(self) -> None:
        arrived = time.time()
        origin_server = self.server.lab_origin
        self._drain_body()
        path, _, query = self.path.partition("?")
        endpoint, name = _route(path)
        cookies, other_cookies = _split_cookies(self.headers.get_all("Cookie") or [])
        request_origin = self.headers.get("Origin")
        error = None
        headers = HeaderList()
        body = b""
        if endpoint is None:
            status, error = 404, _not_found_reason()
            body = f"404 Not Found: {error}\n".encode()
            headers.append("Content-Type", "text/plain; charset=utf-8")
        elif endpoint in ("probe", "probe-script"):
            if query:
                status, error = 400, f"{path} takes no knobs; open {PROBE_PATH} as it is (lab.site.probe_url())."
                body = f"400 Bad Request: {error}\n".encode()
                headers.append("Content-Type", "text/plain; charset=utf-8")
            else:
                try:
                    status, headers, body = _probe_response(endpoint)
                except OSError as err:  # trial.js missing from the installed package
                    status, error = 500, f"{type(err).__name__}: {err}"
                    headers = HeaderList([("Content-Type", "text/plain; charset=utf-8")])
                    body = f"500 Internal Server Error: {error}\n".encode("utf-8", "backslashreplace")
        else:
            try:
                knobs = parse_knobs(query, endpoint=endpoint, allowed_origins=origin_server.lab.origin_names)
            except UsageError as err:
                knobs, error = None, str(err)
            if knobs is None:
                status = 400
                body = f"400 Bad Request: {error}\n".encode("utf-8", "backslashreplace")
                headers.append("Content-Type", "text/plain; charset=utf-8")
            else:
                if knobs.delay:
                    self.server.stop_event.wait(knobs.delay)
                try:
                    status, headers, body = _respond(endpoint, name, path, knobs, cookies, request_origin)
                except Exception as err:  # a bug or a broken asset: say so instead of hanging up
                    status, error = 500, f"{type(err).__name__}: {err}"
                    headers = HeaderList([("Content-Type", "text/plain; charset=utf-8")])
                    body = f"500 Internal Server Error: {error}\n".encode("utf-8", "backslashreplace")
        self._send(status, headers, body, origin_server, arrived, cookies, other_cookies, request_origin, error)

    def _drain_body(self) -> None:
        # A GET with a body would desynchronise keep-alive; read a small one, close on a big one.
        length = self.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > 0:
            if int(length) <= 65536:
                self.rfile.read(int(length))
            else:
                self.close_connection = True

    def _send(self, status, headers, body, origin_server, arrived, cookies, other_cookies, request_origin, error):
        length = len(body)
        if status not in NO_BODY_STATUSES:
            headers.append("Content-Length", str(length))
        headers.append("Date", _http_date())
        if self.close_connection:
            headers.append("Connection", "close")
        entry = LogEntry(
            time=arrived,
            server=origin_server.label,
            client=_classify(self.headers.get("User-Agent")),
            method=self.command,
            path=self.path,
            origin=request_origin,
            referer=_safe_referer(self.headers.get("Referer"), origin_server.lab.origin_names),
            sec_fetch={
                "-".join(p.capitalize() for p in k.split("-")): v
                for k, v in self.headers.items()
                if k.lower().startswith("sec-fetch-")
            },
            accept=self.headers.get("Accept"),
            cookies=cookies,
            other_cookies=other_cookies,
            status=status,
            headers=tuple(headers),
            error=error,
            seq=next(_seq),
        )
        origin_server._record(entry)
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        head = f"HTTP/1.1 {status} {phrase}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n"
        payload = head.encode("latin-1")
        if self.command != "HEAD" and status not in NO_BODY_STATUSES:
            payload += body
        self.wfile.write(payload)


def _route(path: str) -> tuple[str | None, str | None]:
    """(endpoint, asset name) for an exact, undecoded path; (None, None) for anything else.

    Only exact names match, compared before any %-decoding, so ``../``, ``%2e%2e``, ``%2F``,
    backslashes, NUL and absolute paths are simply unknown paths: 404, and no file is ever opened.
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
        if name in _asset_names():
            return "img", name
    return None, None


def _asset_names() -> tuple[str, ...]:
    from . import assets  # written alongside; imported late so the servers module loads without it

    return tuple(assets.ASSET_NAMES)


def _not_found_reason() -> str:
    return (
        f"the lab serves {ASSET_PREFIX}<name> for <name> in {', '.join(_asset_names())}, /login?user=NAME, "
        f"/logout and the live probe's {PROBE_PATH}."
    )


def _respond(endpoint, name, path, knobs: Knobs, cookies, request_origin) -> tuple[int, HeaderList, bytes]:
    status = knobs.final_status
    headers = HeaderList()
    if endpoint == "img":
        user = cookies.get(USER_COOKIE)
        asset = _get_asset(name, user if user and _USER.match(user) else None)
        body, content_type = asset.body, asset.content_type
    elif endpoint == "login":
        body = f"logged in as {knobs.user}\n".encode()
        content_type = "text/plain; charset=utf-8"
    else:
        body, content_type = b"logged out\n", "text/plain; charset=utf-8"
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
    if (
        knobs.apache
        and 200 <= status < 300
        and _H5BP_IMAGE.search(path)
        and request_origin is not None
        and ":" in request_origin
    ):
        headers.set("Access-Control-Allow-Origin", "*")
    if endpoint == "login":
        cookie = f"{USER_COOKIE}={knobs.user}; Path=/; SameSite={knobs.samesite}"
        headers.append("Set-Cookie", cookie + ("; Secure" if knobs.samesite == "None" else ""))
    elif endpoint == "logout":
        headers.append("Set-Cookie", f"{USER_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax")
    if knobs.truncate is not None:
        body = body[: knobs.truncate]
    return status, headers, body


# --------------------------------------------------------------------------------------------------
# The live probe's page: trial.js in a page on this origin, driven by its parent with postMessage.

PROBE_PATH = "/probe"
PROBE_SCRIPT_PATH = "/probe/trial.js"
TRIAL_JS = Path(__file__).with_name("trial.js")

# The parent (the notebook page) names its own origin in the fragment, ``#parent=http://host:port``
# (fragments never reach a server or a log). Messages from any other origin are ignored and replies
# go to that origin only; without it, replies use targetOrigin "*": a result is the image's verdict,
# a DOMException name and message, an origin and one pixel, never a cookie or other secret.
_PROBE_SCRIPT = """(function () {
  "use strict";
  var status = document.getElementById("status");
  var wanted = new URLSearchParams(location.hash.slice(1)).get("parent");
  var parentOrigin = wanted && /^https?:\\/\\/[^\\/?#]+$/.test(wanted) ? wanted : null;
  var target = parentOrigin || "*";
  var runs = 0;
  function say(text) { status.textContent = text; }
  if (window.parent === window) {
    say("cors-lab probe on " + self.origin + ": this page does nothing on its own; LiveProbe embeds it.");
    return;
  }
  if (typeof globalThis.corsLabTrial !== "function") {
    say("cors-lab probe on " + self.origin + ": trial.js did not load.");
    parent.postMessage({type: "cors-lab-probe-broken", page: self.origin, message: "trial.js did not load"}, target);
    return;
  }
  addEventListener("message", function (event) {
    var data = event.data;
    if (event.source !== window.parent || !data || data.type !== "cors-lab-trial") return;
    if (parentOrigin && event.origin !== parentOrigin) return;
    Promise.resolve().then(function () { return globalThis.corsLabTrial(data.spec); }).then(
      function (result) { return result; },
      function (e) { return {error: ((e && e.name) || "Error") + ": " + ((e && e.message) || e)}; }
    ).then(function (result) {
      runs += 1;
      say("cors-lab probe on " + self.origin + ": " + runs + " experiment" + (runs === 1 ? "" : "s") + " run.");
      parent.postMessage({type: "cors-lab-result", id: data.id, result: result}, target);
    });
  });
  say("cors-lab probe on " + self.origin + ": ready.");
  parent.postMessage({type: "cors-lab-ready", page: self.origin, operations: globalThis.corsLabOperations}, target);
})();"""

_PROBE_STYLE = (
    "html,body{margin:0;background:transparent}"
    "body{font:12px/1.4 system-ui,sans-serif;color:#555;padding:2px 4px;overflow:hidden;white-space:nowrap}"
)


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


PROBE_PAGE = (
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>cors-lab probe</title>\n"
    f"<style>{_PROBE_STYLE}</style></head>\n"
    "<body><span id=\"status\">cors-lab probe: loading trial.js...</span>\n"
    f"<script src=\"{PROBE_SCRIPT_PATH}\"></script>\n"
    f"<script>{_PROBE_SCRIPT}</script>\n</body></html>\n"
)
# Scripts: trial.js from here and the listener above, nothing else; images from anywhere (the trial
# loads whatever URL the learner gives); framing by loopback pages only (the notebook page).
PROBE_CSP = "; ".join(
    (
        "default-src 'none'",
        f"script-src 'self' {_csp_hash(_PROBE_SCRIPT)}",
        f"style-src {_csp_hash(_PROBE_STYLE)}",
        "img-src * data: blob:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self' http://127.0.0.1:* http://localhost:*",
    )
)


def _probe_response(endpoint: str) -> tuple[int, HeaderList, bytes]:
    if endpoint == "probe":
        body, content_type = PROBE_PAGE.encode("utf-8"), "text/html; charset=utf-8"
    else:
        body, content_type = TRIAL_JS.read_bytes(), "text/javascript; charset=utf-8"
    headers = HeaderList(
        [
            ("Content-Type", content_type),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ]
    )
    if endpoint == "probe":
        headers.append("Content-Security-Policy", PROBE_CSP)
    return 200, headers, body


_asset_cache: dict[tuple[str, str | None], object] = {}
_asset_cache_lock = threading.Lock()


def _get_asset(name: str, user: str | None):
    key = (name, user)
    asset = _asset_cache.get(key)
    if asset is None:
        from . import assets

        asset = assets.get_asset(name, user=user)
        with _asset_cache_lock:
            if len(_asset_cache) > 256:
                _asset_cache.clear()
            _asset_cache[key] = asset
    return asset


_date_cache = [0, ""]


def _http_date() -> str:
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[:] = [now, email.utils.formatdate(now, usegmt=True)]
    return _date_cache[1]


def _safe_referer(referer: str | None, lab_origins: Iterable[str]) -> str | None:
    """Keep a Referer from the lab whole; from anywhere else keep no query (it may hold a token)."""
    if referer is None:
        return None
    if any(referer == o or referer.startswith(o + "/") for o in lab_origins):
        return referer
    cut = min([i for i in (referer.find("?"), referer.find("#")) if i >= 0], default=-1)
    return referer if cut < 0 else referer[:cut] + "?[query not logged]"


class _Server(http.server.HTTPServer):
    """An HTTP/1.1 server on 127.0.0.1:0 with one thread per connection, all of them stoppable."""

    request_queue_size = 128

    def __init__(self, lab_origin: LabOrigin) -> None:
        self.lab_origin = lab_origin
        self.stop_event = threading.Event()
        self.errors = 0  # connections that ended in an exception (a client hanging up, mostly)
        self._conns: dict[socket.socket, threading.Thread] = {}
        self._conns_lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        try:
            super().__init__((BIND_ADDRESS, 0), _Handler)
        except BaseException:
            self._wake_r.close()
            self._wake_w.close()
            raise
        self.socket.setblocking(False)
        self._thread = threading.Thread(target=self._serve, name=f"cors-lab-{lab_origin.label}", daemon=True)
        self._thread.start()

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(), a DNS lookup; we know our name.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def _serve(self) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(self.socket, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while not self.stop_event.is_set():
                for key, _ in sel.select():
                    if key.fileobj is self._wake_r:
                        return
                    try:
                        request, client_address = self.socket.accept()
                    except OSError:  # BlockingIOError after a client gave up, or EMFILE
                        continue
                    request.setblocking(True)
                    self.process_request(request, client_address)

    def process_request(self, request, client_address) -> None:
        thread = threading.Thread(
            target=self._connection, args=(request, client_address), name=f"cors-lab-{self.lab_origin.label}-conn", daemon=True
        )
        with self._conns_lock:
            self._conns[request] = thread
        thread.start()

    def _connection(self, request, client_address) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._conns_lock:
                self._conns.pop(request, None)

    def handle_error(self, request, client_address) -> None:
        # socketserver prints a traceback to stderr here; a client that hangs up is not news.
        self.errors += 1

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, wake delayed answers, hang up every open connection, join every thread."""
        if self.stop_event.is_set():
            return
        self.stop_event.set()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        self._thread.join(timeout)
        self.server_close()
        with self._conns_lock:
            conns = list(self._conns.items())
        for sock, _ in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for _, thread in conns:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._wake_r.close()
        self._wake_w.close()


class LabOrigin:
    """One origin of the lab: a server on 127.0.0.1 addressed by ``origin`` (e.g. http://localhost:PORT)."""

    def __init__(self, lab: Lab, label: str, host: str) -> None:
        self.lab = lab
        self.label = label
        self.host = host
        self._log: deque[LogEntry] = deque(maxlen=LOG_LIMIT)
        self._log_lock = threading.Lock()
        self._server = _Server(self)
        self.address: tuple[str, int] = self._server.server_address[:2]  # what the socket is bound to
        self.port: int = self.address[1]
        self.origin: str = f"http://{host}:{self.port}"

    # URLs ---------------------------------------------------------------------------------------

    def url(self, name: str, **knobs: object) -> str:
        """The URL of asset ``name`` on this origin with the given knobs (see the module's table).

        >>> lab.cdn.url("picture.png", acao="*", vary="Origin")   # doctest: +SKIP
        'http://127.0.0.1:41235/img/picture.png?acao=*&vary=Origin'
        """
        names = _asset_names()
        if name not in names:
            raise UsageError(f"No asset {name!r}; the lab serves {', '.join(names)}.")
        for k in _LOGIN_ONLY:
            if k in knobs:
                raise UsageError(f"Knob {k} only works on /login: use lab.{self.label}.login_url(...).")
        return self._build(f"{ASSET_PREFIX}{name}", "img", knobs)

    def login_url(self, user: str, *, samesite: str = "Lax", **knobs: object) -> str:
        """``/login?user=...``: answers with ``Set-Cookie: cors_lab_user=<user>; Path=/; SameSite=...``."""
        return self._build("/login", "login", {"user": user, "samesite": samesite if samesite != "Lax" else None, **knobs})

    def probe_url(self) -> str:
        """``/probe``: the live probe's page on this origin (``cors_lab.live.LiveProbe`` embeds it)."""
        return f"{self.origin}{PROBE_PATH}"

    def logout_url(self, **knobs: object) -> str:
        """``/logout``: answers with a ``Set-Cookie`` that deletes ``cors_lab_user``."""
        return self._build("/logout", "logout", knobs)

    def _build(self, path: str, endpoint: str, knobs: Mapping[str, object]) -> str:
        pairs = encode_knobs(knobs)
        parse_knobs(pairs, endpoint=endpoint, allowed_origins=self.lab.origin_names)
        return f"{self.origin}{path}" + (f"?{_query(pairs)}" if pairs else "")

    # Log ----------------------------------------------------------------------------------------

    def _record(self, entry: LogEntry) -> None:
        with self._log_lock:
            self._log.append(entry)

    @property
    def log(self) -> RequestLog:
        """A snapshot of the requests this origin received, oldest first."""
        with self._log_lock:
            return RequestLog(self._log)

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    # Life ---------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return not self._server.stop_event.is_set()

    def _stop(self) -> None:
        self._server.stop()

    def __str__(self) -> str:
        return self.origin

    def __repr__(self) -> str:
        state = "" if self.running else " stopped"
        return f"<LabOrigin {self.label} {self.origin}{state}>"


def _other_host(host: str) -> str:
    return "localhost" if host == "127.0.0.1" else "127.0.0.1"


def _check_host(host: object) -> str:
    if host not in ALLOWED_HOSTS:
        raise UsageError(
            f"host must be '127.0.0.1' or 'localhost' (the name your browser used for JupyterLab); got {host!r}. "
            "The lab only ever listens on 127.0.0.1."
        )
    return host  # type: ignore[return-value]


_labs: weakref.WeakSet[Lab] = weakref.WeakSet()


class Lab:
    """Three loopback origins (``site``, ``cdn``, ``other``) and their request logs.

    Use ``cors_lab.servers.start()`` in notebooks (one lab per kernel); ``Lab()`` makes an extra one.
    A context manager: ``with start() as lab: ...`` stops it on exit.
    """

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self.host = _check_host(host)
        self.origins: tuple[LabOrigin, ...] = ()
        self.origin_names: frozenset[str] = frozenset()  # until all three are up, no redirect target
        made: list[LabOrigin] = []
        try:
            for label, name in (("site", host), ("cdn", host), ("other", _other_host(host))):
                made.append(LabOrigin(self, label, name))
        except BaseException:
            for o in made:
                o._stop()
            raise
        self.site, self.cdn, self.other = made
        self.origins = tuple(made)
        self.origin_names = frozenset(o.origin for o in made)
        _labs.add(self)

    def __getitem__(self, label: str) -> LabOrigin:
        for o in self.origins:
            if o.label == label:
                return o
        raise KeyError(f"{label!r}: a lab's origins are 'site', 'cdn' and 'other'")

    @property
    def running(self) -> bool:
        return any(o.running for o in self.origins)

    def chain(
        self,
        hops: Sequence[LabOrigin | str],
        name: str,
        *,
        status: int = 302,
        hop_knobs: Mapping[str, object] | Sequence[Mapping[str, object]] | None = None,
        **knobs: object,
    ) -> str:
        """A redirect chain through ``hops`` ending at asset ``name`` on the last hop.

        The last hop gets ``knobs``; each earlier hop redirects to the next with ``status`` and
        ``hop_knobs`` (one mapping for every hop, or a list with one per redirecting hop)::

            lab.chain([lab.cdn, lab.other, lab.site], "picture.png", acao="*", hop_knobs={"acao": "*"})
        """
        origins = [self[h] if isinstance(h, str) else h for h in hops]
        if not origins or any(not isinstance(o, LabOrigin) or o.lab is not self for o in origins):
            raise UsageError("chain() needs a list of this lab's origins, e.g. [lab.cdn, lab.other, lab.site].")
        redirects = len(origins) - 1
        if hop_knobs is None:
            per_hop: list[Mapping[str, object]] = [{}] * redirects
        elif isinstance(hop_knobs, Mapping):
            per_hop = [hop_knobs] * redirects
        else:
            per_hop = list(hop_knobs)
            if len(per_hop) != redirects:
                raise UsageError(f"hop_knobs has {len(per_hop)} entries for {redirects} redirecting hops; give one per hop.")
        url = origins[-1].url(name, **knobs)
        for origin, extra in zip(reversed(origins[:-1]), reversed(per_hop)):
            if "to" in extra:
                raise UsageError("hop_knobs may not set 'to': chain() links the hops itself.")
            url = origin.url(name, **{"status": status, **extra, "to": url})
        return url

    def log(self) -> RequestLog:
        """Every origin's requests merged, oldest first."""
        entries = [e for o in self.origins for e in o.log]
        return RequestLog(sorted(entries, key=lambda e: (e.time, e.seq)))

    def clear_log(self) -> None:
        for o in self.origins:
            o.clear_log()

    def stop(self) -> None:
        """Stop all three servers (idempotent). Open connections are closed, threads joined."""
        global _running
        for o in self.origins:
            o._stop()
        with _start_lock:
            if _running is self:
                _running = None

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "" if self.running else " stopped"
        return f"<Lab site={self.site.origin} cdn={self.cdn.origin} other={self.other.origin}{state}>"


_start_lock = threading.Lock()
_running: Lab | None = None


def start(*, host: str = "127.0.0.1") -> Lab:
    """Start the lab's three servers, or return the lab already running in this process.

    ``host`` is the name the page uses for the lab: ``"127.0.0.1"`` or ``"localhost"`` (use the one
    in your JupyterLab address bar, so the lab is same-site with the page). Either way the servers
    listen on 127.0.0.1 only, on free ports; ``lab.other`` uses the other name.
    """
    global _running
    _check_host(host)
    with _start_lock:
        if _running is not None and _running.running:
            if _running.host != host:
                raise UsageError(
                    f"The lab is already running with host={_running.host!r}; call lab.stop() first "
                    f"to restart it with host={host!r}."
                )
            return _running
        _running = Lab(host=host)
        return _running


@atexit.register
def _stop_all() -> None:
    for lab in list(_labs):
        lab.stop()
