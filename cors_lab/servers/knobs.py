"""The lab's URL knobs: ONE table, in which every knob carries its own parser and encoder.

Owns `KNOBS` (``print(cors_lab.servers.KNOBS)`` shows it to learners), the `Knobs` a request asks for,
`parse_knobs` (query -> Knobs, used by the servers and the Jupyter extension) and `encode_knobs`
(Python values -> query pairs, used by the URL builders). Must not: serve, log or decide a CORS rule.
Both directions validate through the same table, so a URL the builder makes is one the server takes.
"""

from __future__ import annotations

import itertools
import math
import re
import secrets
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote

from ..errors import UsageError
from ..spec.fetch import REDIRECT_STATUSES
from ..spec.headers import check_header
from .validators import MAX_AGE

__all__ = [
    "H5BP_IMAGE_PATTERN",
    "KNOBS",
    "KnobInfo",
    "KnobTable",
    "Knobs",
    "MAX_DELAY",
    "MAX_KNOBS",
    "encode_knobs",
    "parse_knobs",
    "query_string",
]

MAX_DELAY = 30.0
MAX_KNOBS = 64  # query pairs in one URL
# The guide's h5bp rule: <FilesMatch "\.(avifs?|bmp|cur|gif|ico|jpe?g|jxl|a?png|svgz?|webp)$">
H5BP_IMAGE_PATTERN = r"\.(avifs?|bmp|cur|gif|ico|jpe?g|jxl|a?png|svgz?|webp)$"
USER_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_SAMESITE = {"lax": "Lax", "strict": "Strict", "none": "None"}
_nonces = itertools.count(1)


# -- parsers: (knob, query value) -> the Knobs field's value; UsageError naming the fix -------------


def _header(knob: KnobInfo, value: str) -> str:
    try:
        check_header(knob.header or knob.name, value)
    except UsageError as err:
        raise UsageError(f"Knob {knob.name}: {err}") from None
    return value


def _flag(knob: KnobInfo, value: str) -> bool:
    if value in ("", "1"):
        return True
    if value == "0":
        return False
    name = knob.name
    raise UsageError(f"Knob {name} is a flag: write {name}=1 (or just ?{name}) for on, {name}=0 for off; got {value!r}.")


def _status(knob: KnobInfo, text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,6}", text):
        raise UsageError(f"Knob status must be a number such as 404; got {text!r}.")
    status = int(text)
    if 100 <= status < 200:
        raise UsageError(f"Knob status={status}: 1xx responses are interim, never final; use 200-599.")
    if not 200 <= status <= 599:
        raise UsageError(f"Knob status={status} is out of range; use 200-599.")
    return status


def _redirect_target(knob: KnobInfo, to: str) -> str:
    # Parser-independent on purpose: no whitespace, control characters or backslashes anywhere, and an
    # absolute http:// URL; parse_knobs then checks it *starts with* one of the lab's origins.
    if any(ord(ch) <= 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in to):
        raise UsageError(f"Knob to: {to!r} has spaces, control characters or backslashes; give a plain URL.")
    if not to.startswith("http://"):
        raise UsageError(f"Knob to: {to!r} must be an absolute http:// URL of one of the lab's origins.")
    return _header(knob, to)


def _age(knob: KnobInfo, text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,10}", text) or int(text) > MAX_AGE:
        raise UsageError(f"Knob age is the picture file's age in whole seconds, 0 to {MAX_AGE} (a hundred years); got {text!r}.")
    return int(text)


def _delay(knob: KnobInfo, text: str) -> float:
    try:
        delay = float(text)
    except ValueError:
        raise UsageError(f"Knob delay is a number of seconds such as 2.5; got {text!r}.") from None
    if not math.isfinite(delay) or delay < 0 or delay > MAX_DELAY:
        raise UsageError(f"Knob delay={text} is out of range; use 0 to {MAX_DELAY:g} seconds.")
    return delay


def _byte_count(knob: KnobInfo, text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,9}", text):
        raise UsageError(f"Knob truncate is a byte count such as 100; got {text!r}.")
    return int(text)


def _raw(knob: KnobInfo, value: str) -> str:
    return value


def _user(knob: KnobInfo, value: str) -> str:
    if not USER_PATTERN.match(value):
        raise UsageError(f"Knob user: {value!r} is not a user name; use 1-32 letters, digits, '.', '_' or '-'.")
    return value


def _samesite(knob: KnobInfo, value: str) -> str:
    canonical = _SAMESITE.get(value.lower())
    if canonical is None:
        raise UsageError(f"Knob samesite must be Lax, Strict or None; got {value!r}.")
    return canonical


# -- encoders: (knob, Python value) -> query values (never called with None or False) -------------


def _encode_string(knob: KnobInfo, value: object) -> list[str]:
    if not isinstance(value, str):
        raise UsageError(f"Knob {knob.name} takes a string; got {value!r}.")
    return [value]


def _encode_strings(knob: KnobInfo, value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise UsageError(f"Knob {knob.name} takes a string or a list of strings (one header line each); got {value!r}.")


def _encode_flag(knob: KnobInfo, value: object) -> list[str]:
    if value is not True:
        raise UsageError(f"Knob {knob.name} is a flag: pass {knob.name}=True; got {value!r}.")
    return ["1"]


def _encode_on_off(knob: KnobInfo, value: object) -> list[str]:
    # A flag that is on by default: True is the default (no pair), False writes name=0.
    if not isinstance(value, bool):
        raise UsageError(f"Knob {knob.name} is on unless turned off: pass {knob.name}=False; got {value!r}.")
    return [] if value else ["0"]


def _encode_acac(knob: KnobInfo, value: object) -> list[str]:
    if value is True:
        return ["true"]
    if isinstance(value, str):
        return [value]
    raise UsageError(f"Knob acac takes True (sends 'true') or a raw string such as 'True'; got {value!r}.")


def _encode_int(knob: KnobInfo, value: object) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int):
        example = {"status": 404, "age": 3600}.get(knob.name, 100)
        raise UsageError(f"Knob {knob.name} takes an int, e.g. {knob.name}={example}; got {value!r}.")
    return [str(value)]


def _encode_seconds(knob: KnobInfo, value: object) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"Knob delay takes seconds as a number, e.g. delay=2.5; got {value!r}.")
    return [format(value, "g") if math.isfinite(value) else str(value)]


def _encode_nonce(knob: KnobInfo, value: object) -> list[str]:
    if value is True:
        value = f"{next(_nonces)}-{secrets.token_hex(4)}"
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise UsageError(f"Knob nonce takes True (a fresh one), a string or an int; got {value!r}.")
    return [str(value)]


# -- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KnobInfo:
    """One row of the knob table: what the knob does, and how its value is read and written."""

    name: str
    header: str | None  # the response header it sets, if any
    repeatable: bool
    summary: str
    example: str = field(default="", kw_only=True)  # as written in a URL
    effect: str = field(default="", kw_only=True)  # what the server then does, for learners
    parse: Callable[[KnobInfo, str], object] = field(default=_raw, kw_only=True, repr=False)
    encode: Callable[[KnobInfo, object], list[str]] = field(default=_encode_string, kw_only=True, repr=False)
    login_only: bool = field(default=False, kw_only=True)
    default_on: bool = field(default=False, kw_only=True)  # a flag that is on unless name=0


class KnobTable(dict):
    """``{name: KnobInfo}`` in URL order; prints as the table a learner reads (``print(KNOBS)``)."""

    def table(self) -> str:
        """Knob, example and effect, one knob per block of lines."""
        width = max(len(k.example) for k in self.values()) + 2
        named = max(len(k.name) for k in self.values()) + 2
        lines = [f"{'knob':<{named}}{'example':<{width}}the server then",
                 f"{'-' * (named - 2)}  {'-' * (width - 2)}  {'-' * 40}"]
        for k in self.values():
            first, *rest = _wrap(k.effect, 66)
            lines.append(f"{k.name:<{named}}{k.example:<{width}}{first}")
            lines += [" " * (named + width) + line for line in rest]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from ..render import TH, cell

        head = "".join(f'<th style="{TH}">{h}</th>' for h in ("knob", "example", "the server then"))
        rows = "".join(
            f"<tr>{cell(k.name, code=True)}{cell(k.example, code=True)}{cell(k.effect)}</tr>" for k in self.values()
        )
        return f'<table class="cors-lab-knobs"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'

    def _repr_pretty_(self, p, cycle) -> None:  # IPython
        p.text("KnobTable({...})" if cycle else self.table())

    def __str__(self) -> str:
        return self.table()


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width) or [""]


KNOBS: KnobTable = KnobTable(
    (k.name, k)
    for k in (
        KnobInfo("acao", "Access-Control-Allow-Origin", True, "raw ACAO value; repeat for several lines",
                 example="acao=*", parse=_header, encode=_encode_strings,
                 effect="sends Access-Control-Allow-Origin with this raw value; repeat (Python: a list) to send "
                        "several header lines"),
        KnobInfo("acac", "Access-Control-Allow-Credentials", False, "raw ACAC value (True -> 'true')",
                 example="acac=true", parse=_header, encode=_encode_acac,
                 effect="sends Access-Control-Allow-Credentials with this raw value (Python True -> true; "
                        "'True' is sent as is, and fails)"),
        KnobInfo("vary", "Vary", True, "raw Vary value; repeat for several lines",
                 example="vary=Origin", parse=_header, encode=_encode_strings,
                 effect="sends Vary; repeatable like acao"),
        KnobInfo("cache", "Cache-Control", False, "raw Cache-Control value",
                 example="cache=max-age=3600", parse=_header,
                 effect="sends Cache-Control with this raw value"),
        KnobInfo("validators", "ETag", False, "on by default; validators=0 sends no ETag or Last-Modified",
                 example="validators=0", parse=_flag, encode=_encode_on_off, default_on=True,
                 effect="on unless validators=0: a 200 picture carries ETag and Last-Modified, as from a static "
                        "file server, and a request whose If-None-Match (or If-Modified-Since) matches gets 304 "
                        "Not Modified with the same headers but Content-Type; validators=0: neither, and always "
                        "the whole answer"),
        KnobInfo("age", "Last-Modified", False, "the picture file's age in seconds",
                 example="age=3600", parse=_age, encode=_encode_int,
                 effect="makes the picture a file modified this many seconds before the lab first served this "
                        "URL (Last-Modified); without it every picture is dated 1 January 2025. Browsers keep an "
                        "answer without Cache-Control fresh for a fraction of that age (Chromium: 10%)"),
        KnobInfo("apache", "Access-Control-Allow-Origin", False, "the guide's h5bp Apache rule",
                 example="apache=1", parse=_flag, encode=_encode_flag,
                 effect="applies the guide's h5bp Apache rule: Access-Control-Allow-Origin: * only if the request "
                        "has an Origin containing ':' (SetEnvIf Origin \":\" IS_CORS, so Origin: null gets none), "
                        "the path ends in .(avifs?|bmp|cur|gif|ico|jpe?g|jxl|a?png|svgz?|webp) and the status is "
                        "2xx or 304 (Header set without always); its line comes after any acao lines, as on "
                        "Apache and nginx"),
        KnobInfo("status", None, False, "response status 200-599; 3xx redirects need 'to'",
                 example="status=404", parse=_status, encode=_encode_int,
                 effect="answers with this status (200-599), still with the image body unless errorpage=1; 204 "
                        "and 304 have no body; 301/302/303/307/308 need to"),
        KnobInfo("errorpage", None, False, "with status 400-599: the server's own HTML error page",
                 example="errorpage=1", parse=_flag, encode=_encode_flag,
                 effect="with status=400..599 sends an HTML error page (text/html) instead of the picture, as "
                        "Apache and nginx do unless told otherwise: an <img> then fails to load"),
        KnobInfo("to", "Location", False, "redirect target, one of the lab's own origins",
                 example="to=http://...", parse=_redirect_target,
                 effect="redirects there (Location), status 302 unless status says otherwise; the target must be "
                        "one of the lab's own three origins"),
        KnobInfo("delay", None, False, f"seconds to wait before answering, 0-{MAX_DELAY:g}",
                 example="delay=2.5", parse=_delay, encode=_encode_seconds,
                 effect=f"waits this many seconds (0-{MAX_DELAY:g}) before answering"),
        KnobInfo("ctype", "Content-Type", False, "wrong Content-Type; empty = none at all",
                 example="ctype=text/html", parse=_header,
                 effect="sends this Content-Type instead of the right one; ctype= (empty) sends no Content-Type "
                        "at all"),
        KnobInfo("truncate", None, False, "send only the first N bytes of the body",
                 example="truncate=100", parse=_byte_count, encode=_encode_int,
                 effect="sends only the first N bytes of the body (Content-Length: N, a well-formed response "
                        "carrying a broken image)"),
        KnobInfo("nosniff", "X-Content-Type-Options", False, "send X-Content-Type-Options: nosniff",
                 example="nosniff=1", parse=_flag, encode=_encode_flag,
                 effect="sends X-Content-Type-Options: nosniff"),
        KnobInfo("nonce", None, False, "ignored; makes the URL distinct to miss caches",
                 example="nonce=7", encode=_encode_nonce,
                 effect="nothing: a distinct URL, to miss the HTTP cache on purpose (Python nonce=True makes a "
                        "fresh one)"),
        KnobInfo("user", "Set-Cookie", False, "/login only: the user to log in",
                 example="user=alice", parse=_user, login_only=True,
                 effect="/login only: sets cors_lab_user=alice; Path=/; SameSite=Lax"),
        KnobInfo("samesite", "Set-Cookie", False, "/login only: Lax, Strict or None",
                 example="samesite=None", parse=_samesite, login_only=True,
                 effect="/login only: Lax (default), Strict or None, sent as SameSite=None; Secure because browsers "
                        "drop None without Secure (Chromium keeps it on http://127.0.0.1 and localhost)"),
    )
)


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
    validators: bool = True
    age: int | None = None
    errorpage: bool = False
    nonce: str | None = None
    user: str | None = None
    samesite: str = "Lax"

    @property
    def final_status(self) -> int:
        """The status the server answers with."""
        if self.status is not None:
            return self.status
        return 302 if self.to is not None else 200


def _unknown(name: str) -> UsageError:
    return UsageError(f"Unknown knob {name!r}. Knobs: {', '.join(KNOBS)} (print(cors_lab.servers.KNOBS) explains each).")


def parse_knobs(
    pairs: str | Iterable[tuple[str, str]],
    *,
    endpoint: str = "img",
    allowed_origins: Iterable[str] | None = None,
) -> Knobs:
    """Validate knobs from a query string (or decoded pairs); raise ``UsageError`` naming the fix.

    ``endpoint`` is ``"img"``, ``"login"`` or ``"logout"``. ``allowed_origins``, when given, are the
    only origins a ``to`` redirect may point at. Knobs are checked in the table's order.
    """
    if isinstance(pairs, str):
        try:
            pairs = parse_qsl(pairs, keep_blank_values=True, errors="strict", max_num_fields=MAX_KNOBS)
        except UnicodeDecodeError:
            raise UsageError("The query string is not valid UTF-8 after %-decoding; encode knob values as UTF-8.") from None
        except ValueError:
            raise UsageError(f"Too many knobs in one URL (at most {MAX_KNOBS}).") from None
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        if name not in KNOBS:
            raise _unknown(name)
        if KNOBS[name].login_only and endpoint != "login":
            raise UsageError(f"Knob {name} only works on /login, e.g. /login?user=alice.")
        if not isinstance(value, str):
            raise UsageError(f"Knob {name}: the value must be a string, not {type(value).__name__}.")
        values.setdefault(name, []).append(value)
    for name, vals in values.items():
        if len(vals) > 1 and not KNOBS[name].repeatable:
            raise UsageError(f"Knob {name} was given {len(vals)} times; give it once.")
    kw: dict[str, object] = {}
    for name, knob in KNOBS.items():
        if name in values:
            parsed = [knob.parse(knob, v) for v in values[name]]
            kw[name] = tuple(parsed) if knob.repeatable else parsed[0]

    if "to" in kw:
        _check_on_the_lab(kw["to"], allowed_origins)  # type: ignore[arg-type]
        if kw.get("status", 302) not in REDIRECT_STATUSES:
            raise UsageError(
                f"Knob to= redirects, so status must be one of {', '.join(map(str, REDIRECT_STATUSES))} "
                f"(or left out for 302); got status={kw['status']}."
            )
    elif kw.get("status") in REDIRECT_STATUSES:
        raise UsageError(f"Knob status={kw['status']} is a redirect: it needs to=<URL on the lab> (lab.chain(...) builds these).")
    if kw.get("errorpage") and not 400 <= kw.get("status", 200) <= 599:
        raise UsageError("Knob errorpage=1 sends a server's error page, so it needs status=400..599 (e.g. status=404).")
    if kw.get("errorpage") and "ctype" in kw:
        raise UsageError("Knobs errorpage and ctype do not go together: ctype sets the picture's Content-Type, "
                         "and an error page is the server's own text/html.")
    if "age" in kw and kw.get("validators") is False:
        raise UsageError("Knob age dates the picture's file for Last-Modified, which validators=0 does not send; drop one.")
    if endpoint == "login" and "user" not in kw:
        raise UsageError("/login needs a user, e.g. /login?user=alice.")
    return Knobs(**kw)  # type: ignore[arg-type]


def _check_on_the_lab(to: str, allowed_origins: Iterable[str] | None) -> None:
    # The target must *start with* a lab origin followed by "/" (or be exactly one). No open redirect.
    if allowed_origins is None:
        return
    allowed = sorted(allowed_origins)
    if not any(to == o or to.startswith(o + "/") for o in allowed):
        raise UsageError(
            f"Knob to: {to!r} is not on the lab; redirects may only go to the lab's own origins "
            f"({', '.join(allowed)}). Build the target with lab.site/lab.cdn/lab.other.url(...)."
        )


def encode_knobs(knobs: Mapping[str, object]) -> list[tuple[str, str]]:
    """Python knob values -> query pairs, in the table's order (so equal knobs give equal URLs).

    ``None`` and ``False`` leave a knob out. Raises ``UsageError`` for unknown knobs or bad types;
    the values themselves are checked by ``parse_knobs``.
    """
    unknown = [k for k in knobs if k not in KNOBS]
    if unknown:
        raise _unknown(unknown[0])
    pairs: list[tuple[str, str]] = []
    for name, knob in KNOBS.items():
        value = knobs.get(name)
        if value is None or (value is False and not knob.default_on):
            continue
        pairs += [(name, v) for v in knob.encode(knob, value)]
    return pairs


def query_string(pairs: Sequence[tuple[str, str]]) -> str:
    """Query pairs -> the query string the URL builders write (without "?").

    Readable but unambiguous: keeps ``* : / ,`` unescaped, escapes ``& = + # % ?`` and everything else.
    """
    return "&".join(f"{n}={quote(v, safe='*:/,')}" for n, v in pairs)
