"""The lab versus real Apache and nginx serving the kit's generated config, knob set by knob set.

    python tools/compare_servers.py                 # the whole matrix: a table and every mismatch
    python tools/compare_servers.py --only acao     # knob sets whose label contains "acao"
    python tools/compare_servers.py --findings      # stock Debian modules, an existing site config
    python tools/compare_servers.py --chromium      # the guide's cache sequence in Chromium on Apache
    python tools/compare_servers.py --validators    # the ETag / Last-Modified / 304 each server sends
    git show 683ab2c:cors_lab/serverconf.py > /tmp/old.py
    python tools/compare_servers.py --serverconf /tmp/old.py --modules headers,rewrite   # before issue 12

Owns the knob matrix, the request classes, what is compared (status, the CORS and caching headers,
the body's class) and the report. For each knob set it starts Debian's apache2 and nginx with
``serverconf.apache_config`` / ``nginx_config`` pasted into a stock config (``cors_lab.realservers``),
sends every request class to them and to a lab server, and compares. A config that refuses
(``serverconf.ConfigRefused``) counts as refused, not as a mismatch: refusing with the reason is what
serverconf promises where no stock directive does what the lab does.

The lab sends validators as both servers do (ETag and Last-Modified with a 200 picture, 304 to a
matching revalidation), so the conditional request classes compare real 304s; each real server's
picture files get the lab's file date, so Last-Modified compares by value (ETags by presence: each
server has its own format). ``validators=0``, ``age`` and ``errorpage`` are rows like any knob.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import importlib.util
import re
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]  # this checkout's cors_lab

from cors_lab import realservers, serverconf
from cors_lab.assets import ASSET_NAMES, get_asset
from cors_lab.servers import Lab
from cors_lab.servers.validators import FILE_DATE

KINDS = ("apache", "nginx")
FOREIGN_ORIGIN = "http://a.test"
# The response headers compared, as a browser reads them (several lines joined with ", ").
COMPARED = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Vary",
    "Cache-Control",
    "Expires",
    "Content-Type",
    "X-Content-Type-Options",
    "Location",
    "Last-Modified",
)
# ETags differ in value between servers by design (each has its own format), so only whether one
# was sent is compared; the values are printed by --validators.
PRESENCE_ONLY = ("ETag",)
VALIDATORS = ("ETag", "Last-Modified")
REQUEST_TIMEOUT = 10.0
# --ignore-validators: compare as the issue's first survey did (no validators, no conditional requests).
IGNORED: set[str] = set()
# --modules: Apache modules enabled on top of Debian's defaults and the config's own a2enmod line.
EXTRA_MODULES: list[str] = []
# --serverconf: the generator under test (another version of cors_lab/serverconf.py, e.g. from git show).
GENERATOR = {"module": serverconf}


# --- The matrix -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KnobSet:
    """One lab URL's knobs and the config scope: ``name`` is serverconf's ``name=`` (None = every image)."""

    label: str
    knobs: dict[str, object]
    asset: str = "picture.png"
    scoped: bool = True  # True: name=asset (<Location>, location =); False: the directory form

    @property
    def name(self) -> str | None:
        return self.asset if self.scoped else None


@dataclass(frozen=True)
class RequestClass:
    """A request a browser makes: with or without Origin, maybe conditional on the first answer."""

    label: str
    origin: str | None
    conditional: str | None = None  # "etag" (If-None-Match) | "date" (If-Modified-Since)


# Conditional requests quote the validator the server sent in its first answer; with none, a made-up
# ETag and the answer's own Date (a server that still checks If-Modified-Since then answers 304).
REQUESTS = (
    RequestClass("plain", None),
    RequestClass("cors", FOREIGN_ORIGIN),
    RequestClass("null", "null"),
    RequestClass("plain again", None),
    RequestClass("cors again", FOREIGN_ORIGIN),
    RequestClass("INM cors", FOREIGN_ORIGIN, "etag"),
    RequestClass("INM plain", None, "etag"),
    RequestClass("IMS cors", FOREIGN_ORIGIN, "date"),
    RequestClass("IMS plain", None, "date"),
)


def base_knob_sets(redirect_to: str) -> list[tuple[str, dict[str, object]]]:
    """(label, knobs) for every knob serverconf supports, alone and in the combinations that matter."""
    return [
        ("no knobs", {}),
        ("acao=*", {"acao": "*"}),
        ("acao exact", {"acao": FOREIGN_ORIGIN}),
        ("acao two lines", {"acao": ["*", FOREIGN_ORIGIN]}),
        ("acao trailing slash", {"acao": FOREIGN_ORIGIN + "/"}),
        ("acao=null", {"acao": "null"}),
        ("acao empty", {"acao": ""}),
        ("acao $http_origin", {"acao": "$http_origin"}),
        ("acao+acac", {"acao": FOREIGN_ORIGIN, "acac": True}),
        ("acac raw True", {"acao": FOREIGN_ORIGIN, "acac": "True"}),
        ("vary", {"acao": "*", "vary": "Origin"}),
        ("vary two lines", {"vary": ["Origin", "Cookie"]}),
        ("cache", {"acao": "*", "cache": "max-age=3600"}),
        ("cache no-store", {"cache": "no-store"}),
        ("apache", {"apache": True}),
        ("apache+cache", {"apache": True, "cache": "max-age=3600"}),
        ("apache+vary+cache", {"apache": True, "vary": "Origin", "cache": "max-age=3600"}),
        ("acao+apache", {"acao": FOREIGN_ORIGIN, "apache": True}),
        ("acao+apache+vary", {"acao": [FOREIGN_ORIGIN, "*"], "apache": True, "vary": "Origin"}),
        ("apache+no-cache", {"apache": True, "cache": "no-cache"}),
        ("validators off", {"validators": False}),
        ("validators off+apache+cache", {"apache": True, "validators": False, "cache": "max-age=60"}),
        ("age 0+apache", {"apache": True, "age": 0}),
        ("age 1 day+acao", {"acao": "*", "age": 86400}),
        ("errorpage 404", {"status": 404, "errorpage": True}),
        ("errorpage 404+headers", {"status": 404, "errorpage": True, "acao": "*", "vary": "Origin", "nosniff": True,
                                   "cache": "no-store"}),
        ("errorpage 410+apache", {"status": 410, "errorpage": True, "apache": True}),
        ("errorpage 500+acao", {"status": 500, "errorpage": True, "acao": "*"}),
        ("errorpage 503", {"status": 503, "errorpage": True}),
        ("status 404+validators off", {"status": 404, "validators": False, "acao": "*"}),
        ("status 404", {"status": 404}),
        ("status 404+acao", {"status": 404, "acao": "*", "vary": "Origin"}),
        ("status 404+apache", {"status": 404, "apache": True}),
        ("status 410+acao", {"status": 410, "acao": "*"}),
        ("status 500+acao", {"status": 500, "acao": "*"}),
        ("status 503", {"status": 503}),
        ("status 203", {"status": 203, "acao": "*"}),
        ("status 204", {"status": 204, "acao": "*"}),
        ("status 304", {"status": 304, "acao": "*"}),
        ("redirect 302", {"to": redirect_to}),
        ("redirect 302+acao", {"to": redirect_to, "acao": "*"}),
        ("redirect 301", {"to": redirect_to, "status": 301}),
        ("redirect 307+acao", {"to": redirect_to, "status": 307, "acao": "*"}),
        ("redirect 308", {"to": redirect_to, "status": 308}),
        ("redirect+apache", {"to": redirect_to, "apache": True}),
        ("redirect to a knobbed URL", {"to": redirect_to + "?acao=*&cache=max-age%3D60", "status": 303, "vary": "Origin"}),
        ("redirect with $1 in it", {"to": redirect_to + "?nonce=$1"}),
        ("ctype text/html", {"ctype": "text/html"}),
        ("ctype empty", {"ctype": ""}),
        ("nosniff", {"nosniff": True}),
        ("nosniff+ctype", {"ctype": "text/plain", "nosniff": True, "acao": "*"}),
        ("all headers", {"acao": FOREIGN_ORIGIN, "acac": True, "vary": "Origin", "cache": "max-age=60", "nosniff": True}),
        ("delay", {"delay": 0.2}),
        ("truncate", {"truncate": 100}),
        ("nonce", {"nonce": "7", "acao": "*"}),
        ("quotes and percent", {"cache": 'a"b\\c%d', "acao": "http://a.test/%41"}),
        ("ctype empty+status 404", {"ctype": "", "status": 404, "acao": "*"}),
    ]


def knob_sets(redirect_to: str) -> list[KnobSet]:
    """The whole matrix: every base knob set in both scopes, and each picture with no knobs."""
    sets = []
    for scoped in (True, False):
        for label, knobs in base_knob_sets(redirect_to):
            sets.append(KnobSet(label + ("" if scoped else " [dir]"), knobs, scoped=scoped))
    for asset in ASSET_NAMES:
        if asset != "picture.png":
            sets.append(KnobSet(f"type {asset}", {}, asset=asset))
            sets.append(KnobSet(f"type {asset}+apache", {"apache": True}, asset=asset))
    # Debian's stock types differ from the lab's for these two: the directory form must fix them too.
    for asset in ("picture.bmp", "picture.ico"):
        sets.append(KnobSet(f"type {asset} [dir]", {"acao": "*"}, asset=asset, scoped=False))
        sets.append(KnobSet(f"type {asset}+status 404 [dir]", {"status": 404}, asset=asset, scoped=False))
    return sets


# --- Asking a server ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One response: status, header lines as sent (duplicates kept), body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def get(self, name: str) -> str | None:
        values = [v for n, v in self.headers if n.lower() == name.lower()]
        return ", ".join(values) if values else None

    def lines(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]


def ask(origin: str, target: str, headers: dict[str, str]) -> Answer:
    parts = urlsplit(origin)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request("GET", target, headers={"User-Agent": "cors-lab-compare", "Accept": "image/*", **headers})
        resp = conn.getresponse()
        return Answer(resp.status, tuple(resp.getheaders()), resp.read())
    finally:
        conn.close()


@functools.lru_cache(maxsize=None)
def _picture(asset: str) -> bytes:
    return get_asset(asset).body


def body_class(answer: Answer, asset: str) -> str:
    picture = _picture(asset)
    body = answer.body
    if not body:
        return "empty"
    if body == picture:
        return "picture"
    if picture.startswith(body):
        return f"picture's first {len(body)} bytes"
    head = body[:300].lower()
    if b"<html" in head or b"<!doctype html" in head:
        return "HTML page"
    return f"other ({len(body)} bytes)"


def view(answer: Answer, asset: str) -> dict[str, str]:
    """What is compared: status, each compared header (absent = "-"), ETag's presence, body class.

    A server's own error page is compared by its class and media type: Apache says ``text/html;
    charset=iso-8859-1``, nginx ``text/html``, the lab ``text/html; charset=utf-8``.
    """
    out = {"status": str(answer.status)}
    for name in COMPARED:
        value = answer.get(name)
        out[name] = "-" if value is None else value
        if name == "Vary" and value is not None:  # a list of tokens: Apache merges its lines into one
            out[name] = ", ".join(t.strip() for t in value.split(","))
        elif len(answer.lines(name)) > 1:
            out[name] += f"  ({len(answer.lines(name))} lines)"
    for name in PRESENCE_ONLY:
        out[name] = "sent" if answer.get(name) is not None else "-"
    out["body"] = body_class(answer, asset)
    if out["body"] == "HTML page":
        out["Content-Type"] = out["Content-Type"].split(";")[0].strip()
    return {k: v for k, v in out.items() if k not in IGNORED}


def ask_all(origin: str, target: str) -> list[Answer]:
    """Every request class in order; conditional ones quote the server's own first answer."""
    answers: list[Answer] = []
    for request in REQUESTS:
        headers = {} if request.origin is None else {"Origin": request.origin}
        first = answers[0] if answers else None
        if request.conditional == "etag":
            headers["If-None-Match"] = (first and first.get("ETag")) or '"cors-lab-none"'
        elif request.conditional == "date":
            headers["If-Modified-Since"] = (first and (first.get("Last-Modified") or first.get("Date"))) or ""
        answers.append(ask(origin, target, headers))
    return answers


# --- Serving a knob set ---------------------------------------------------------------------------


@dataclass
class Served:
    """A real server's result for one knob set: answers, or why there are none."""

    config: str = ""
    answers: list[Answer] = field(default_factory=list)
    refused: str | None = None  # serverconf refused this knob set, with its reason
    failed: str | None = None  # the server would not start with the config


A2ENMOD = re.compile(r"a2enmod((?: [a-z_0-9]+)+)")
HTTP_PART = "# In the http {} block"
SERVER_PART = "# In the server {} block"


def modules_named(text: str) -> tuple[str, ...]:
    """The modules an ``a2enmod`` line in the config asks for."""
    found = A2ENMOD.search(text)
    return tuple(found.group(1).split()) if found else ()


def nginx_parts(text: str) -> tuple[str, str]:
    """(http {} part, server {} part) of a generated nginx config, split at its own markers."""
    parts = {"http": [], "server": []}
    current = "server"
    for line in text.splitlines():
        if line.startswith(HTTP_PART):
            current = "http"
        elif line.startswith(SERVER_PART):
            current = "server"
        parts[current].append(line)
    return "\n".join(parts["http"]), "\n".join(parts["server"])


def load_generator(path: str):
    """Another version of cors_lab/serverconf.py, imported inside the cors_lab package."""
    spec = importlib.util.spec_from_file_location("cors_lab._serverconf_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def config_for(kind: str, ks: KnobSet) -> str:
    module = GENERATOR["module"]
    generate = module.apache_config if kind == "apache" else module.nginx_config
    return generate(name=ks.name, **ks.knobs)


def start_real(kind: str, ks: KnobSet, *, modules: tuple[str, ...] | None = None, site: str = "",
               config: str | None = None, age: float = realservers.FILE_AGE,
               mtime: float | None = None) -> tuple[Served, realservers.RealServer | None]:
    """Start ``kind`` with the knob set's generated config (or ``config``); (Served, server or None).
    The picture files are ``age`` seconds old, or dated ``mtime``."""
    served = Served()
    try:
        served.config = config if config is not None else config_for(kind, ks)
    except getattr(GENERATOR["module"], "ConfigRefused", ()) as err:  # no stock directive does this
        served.refused = str(err)
        return served, None
    try:
        if kind == "apache":
            mods = modules if modules is not None else realservers.DEBIAN_DEFAULT_MODULES + modules_named(served.config) + tuple(EXTRA_MODULES)
            where = "server_snippet" if ks.scoped else "directory_snippet"
            server = realservers.start_apache(modules=mods, site=site, age=age, mtime=mtime, **{where: served.config})
        else:
            http_part, server_part = nginx_parts(served.config)
            server = realservers.start_nginx(http_snippet=http_part, server_snippet=server_part, site=site, age=age,
                                             mtime=mtime)
    except realservers.ServerStartError as err:
        served.failed = str(err)
        return served, None
    return served, server


def serve_and_ask(kind: str, ks: KnobSet, **kwargs: object) -> Served:
    served, server = start_real(kind, ks, **kwargs)
    if server is not None:
        try:
            served.answers = ask_all(server.origin, f"/img/{ks.asset}")
        finally:
            server.stop()
    return served


# --- Comparing ------------------------------------------------------------------------------------


@dataclass
class Row:
    """One knob set: the lab's answers and each real server's."""

    ks: KnobSet
    lab_url: str
    lab: list[Answer]
    real: dict[str, Served]

    def verdict(self, kind: str, i: int) -> str:
        """"match", "refused", "failed" or "mismatch" for request class ``i`` on ``kind``."""
        served = self.real[kind]
        if served.refused:
            return "refused"
        if served.failed:
            return "failed"
        if REQUESTS[i].label in IGNORED:
            return "match"
        return "match" if view(self.lab[i], self.ks.asset) == view(served.answers[i], self.ks.asset) else "mismatch"


def lab_file_date(answers: list[Answer]) -> float:
    """The file date the lab gave the picture (its first Last-Modified), or the lab's fixed FILE_DATE."""
    for answer in answers:
        if answer.get("Last-Modified"):
            return parsedate_to_datetime(answer.get("Last-Modified")).timestamp()
    return FILE_DATE


def run_row(lab: Lab, ks: KnobSet, kinds: Iterable[str] = KINDS) -> Row:
    url = lab.cdn.url(ks.asset, **ks.knobs)
    parts = urlsplit(url)
    lab_answers = ask_all(lab.cdn.origin, parts.path + (f"?{parts.query}" if parts.query else ""))
    mtime = lab_file_date(lab_answers)
    return Row(ks, url, lab_answers, {kind: serve_and_ask(kind, ks, mtime=mtime) for kind in kinds})


def run_matrix(*, only: str | None = None, kinds: Iterable[str] = KINDS, workers: int = 2) -> list[Row]:
    """Every knob set (whose label contains ``only``) against a lab and each real server,
    ``workers`` knob sets at a time."""
    kinds = tuple(kinds)
    with Lab() as lab, ThreadPoolExecutor(workers) as pool:
        sets = [ks for ks in knob_sets(lab.site.url("picture.png")) if not only or only in ks.label]
        return list(pool.map(lambda ks: run_row(lab, ks, kinds), sets))


def compared() -> list[int]:
    """The indexes of the request classes compared (all but those --ignore-validators leaves out)."""
    return [i for i, r in enumerate(REQUESTS) if r.label not in IGNORED]


def tally(rows: list[Row], kind: str) -> dict[str, int]:
    """Cells (knob set x request class) by verdict for ``kind``."""
    counts = {"match": 0, "refused": 0, "failed": 0, "mismatch": 0}
    for row in rows:
        for i in compared():
            counts[row.verdict(kind, i)] += 1
    return counts


def tally_sets(rows: list[Row], kind: str) -> dict[str, int]:
    """Knob sets by their worst cell for ``kind``: all match, refused, failed, or some mismatch."""
    counts = {"match": 0, "refused": 0, "failed": 0, "mismatch": 0}
    for row in rows:
        verdicts = {row.verdict(kind, i) for i in compared()}
        worst = next(v for v in ("failed", "refused", "mismatch", "match") if v in verdicts)
        counts[worst] += 1
    return counts


def table(rows: list[Row], kinds: Iterable[str] = KINDS) -> str:
    """Knob sets x request classes: one mark per server (A=Apache, N=nginx) per cell."""
    kinds = tuple(kinds)
    marks = {"match": "=", "refused": "R", "failed": "F", "mismatch": "x"}
    width = max(len(r.ks.label) for r in rows)
    head = "knob set".ljust(width) + " | " + " | ".join(r.label.ljust(len(kinds) * 2) for r in REQUESTS)
    lines = [f"cells: one mark per server ({', '.join(kinds)}): = match, x mismatch, R refused by serverconf, F server failed to start",
             head, "-" * len(head)]
    for row in rows:
        cells = ["".join(marks[row.verdict(k, i)] + " " for k in kinds).ljust(len(r.label)) for i, r in enumerate(REQUESTS)]
        lines.append(row.ks.label.ljust(width) + " | " + " | ".join(c.ljust(max(len(kinds) * 2, len(REQUESTS[i].label))) for i, c in enumerate(cells)))
    return "\n".join(lines)


def _shown(answer: Answer) -> str:
    skip = {"date", "server", "connection", "keep-alive", "accept-ranges", "content-length"}
    lines = [f"      {answer.status}"] + [f"      {n}: {v}" for n, v in answer.headers if n.lower() not in skip]
    return "\n".join(lines)


def mismatches(rows: list[Row], kinds: Iterable[str] = KINDS) -> str:
    """Every mismatch with the differing fields and both sides' headers; refusals and failures with their reason."""
    out = []
    for row in rows:
        for kind in kinds:
            served = row.real[kind]
            if served.refused:
                out.append(f"[{row.ks.label}] {kind} REFUSED: {served.refused}")
                continue
            if served.failed:
                out.append(f"[{row.ks.label}] {kind} FAILED TO START: {served.failed.strip()}\n{served.config}")
                continue
            for i, request in enumerate(REQUESTS):
                lab_view, real_view = view(row.lab[i], row.ks.asset), view(served.answers[i], row.ks.asset)
                if lab_view == real_view or request.label in IGNORED:
                    continue
                diff = [f"    {k}: lab {lab_view[k]!r} vs {kind} {real_view[k]!r}" for k in lab_view if lab_view[k] != real_view[k]]
                out.append(f"[{row.ks.label}] {request.label}: {kind} differs from the lab ({row.lab_url})\n" + "\n".join(diff)
                           + f"\n    lab:\n{_shown(row.lab[i])}\n    {kind}:\n{_shown(served.answers[i])}")
    return "\n".join(out)


def report(rows: list[Row], kinds: Iterable[str] = KINDS) -> str:
    kinds = tuple(kinds)
    cells = len(rows) * len(compared())
    summary = [f"matrix: {len(rows)} knob sets x {len(compared())} requests = {cells} cells per server"]
    for kind in kinds:
        cells_by = ", ".join(f"{n} {k}" for k, n in tally(rows, kind).items())
        sets_by = ", ".join(f"{n} {k}" for k, n in tally_sets(rows, kind).items())
        summary.append(f"  {kind}: cells {cells_by}; knob sets {sets_by}")
    return "\n".join(summary) + "\n\n" + table(rows, kinds) + "\n\n" + (mismatches(rows, kinds) or "no mismatches")


# --- Findings beyond the matrix -------------------------------------------------------------------


def validators() -> str:
    """The exact validator headers each real server sends for a picture, and its 304s."""
    lines = []
    ks = KnobSet("stock", {})
    for kind in KINDS:
        served, server = start_real(kind, ks, config="")
        if server is None:
            lines.append(f"{kind}: {served.failed}")
            continue
        try:
            path = server.root / "htdocs" / "img" / ks.asset
            stat = path.stat()
            first = ask(server.origin, f"/img/{ks.asset}", {})
            inm = ask(server.origin, f"/img/{ks.asset}", {"If-None-Match": first.get("ETag") or "", "Origin": FOREIGN_ORIGIN})
            ims = ask(server.origin, f"/img/{ks.asset}", {"If-Modified-Since": first.get("Last-Modified") or ""})
            lines.append(f"{kind}: file size {stat.st_size} (0x{stat.st_size:x}), mtime {stat.st_mtime_ns // 1000} us "
                         f"(0x{stat.st_mtime_ns // 1000:x} us, 0x{int(stat.st_mtime):x} s)")
            lines.append(f"  200: ETag {first.get('ETag')}  Last-Modified {first.get('Last-Modified')}  "
                         f"Accept-Ranges {first.get('Accept-Ranges')}")
            for label, answer in (("If-None-Match", inm), ("If-Modified-Since", ims)):
                lines.append(f"  {label} -> {answer.status}, body {len(answer.body)} bytes, headers: "
                             + "; ".join(f"{n}: {v}" for n, v in answer.headers if n not in ("Date", "Server")))
        finally:
            server.stop()
    return "\n".join(lines)


SITE_APACHE = """\
# An existing production site: site-wide CORS, compression's Vary, and mod_expires.
Header set Access-Control-Allow-Origin "https://www.example.com"
Header set Vary "Accept-Encoding"
ExpiresActive On
ExpiresDefault "access plus 1 month\""""
SITE_NGINX = """\
add_header Access-Control-Allow-Origin "https://www.example.com";
add_header Vary "Accept-Encoding";
expires 30d;"""
# What serverconf printed before issue 12 (commit 683ab2c) for acao=*, vary=Origin, cache=max-age=3600.
OLD_APACHE = """\
<Location "/img/picture.png">
<IfModule mod_headers.c>
  Header always set Access-Control-Allow-Origin "*"
  Header always set Vary "Origin"
  Header always set Cache-Control "max-age=3600"
</IfModule>
</Location>"""
OLD_NGINX = """\
location = /img/picture.png {
    add_header Access-Control-Allow-Origin "*" always;
    add_header Vary "Origin" always;
    add_header Cache-Control "max-age=3600" always;
}"""


def _cors_lines(served: Served, names: Iterable[str]) -> str:
    if served.refused or served.failed:
        return (served.refused or served.failed or "").strip().splitlines()[-1]
    cors = served.answers[1]
    return f"status {cors.status}; " + "; ".join(f"{n}: {cors.lines(n)}" for n in names)


def findings() -> str:
    """Stock Debian modules (no a2enmod); the snippets pasted into a site that already sets headers."""
    stock = realservers.DEBIAN_DEFAULT_MODULES
    apache_rule = KnobSet("apache", {"apache": True})
    acao = KnobSet("acao=*", {"acao": "*"})
    out = ["Stock Debian Apache (Debian's default modules, no a2enmod), a CORS request:"]
    for label, ks, config in (("the guide's block verbatim", apache_rule, serverconf.GUIDE_APACHE_RULE),
                              ("serverconf before issue 12, acao=*+vary+cache", acao, OLD_APACHE),
                              ("serverconf apache_config(name=..., apache=True)", apache_rule, None),
                              ("serverconf apache_config(name=..., acao='*')", acao, None)):
        served = serve_and_ask("apache", ks, modules=stock, config=config)
        out.append(f"  {label}: " + _cors_lines(served, ["Access-Control-Allow-Origin"]))
    names = ["Access-Control-Allow-Origin", "Vary", "Cache-Control", "Expires"]
    ks = KnobSet("acao=*+vary+cache", {"acao": "*", "vary": "Origin", "cache": "max-age=3600"})
    out.append("A site that already sends ACAO, Vary: Accept-Encoding and an expiry, plus acao=*, vary=Origin,"
               " cache=max-age=3600 (the lab sends ACAO ['*'], Vary ['Origin'], Cache-Control ['max-age=3600']):")
    modules = stock + ("headers", "expires")
    for label, kind, config in (("Apache, serverconf before", "apache", OLD_APACHE), ("Apache, serverconf now", "apache", None),
                                ("nginx, serverconf before", "nginx", OLD_NGINX), ("nginx, serverconf now", "nginx", None)):
        kwargs: dict[str, object] = {"modules": modules} if kind == "apache" else {}
        served = serve_and_ask(kind, ks, site=SITE_APACHE if kind == "apache" else SITE_NGINX, config=config, **kwargs)
        out.append(f"  {label}: " + _cors_lines(served, names))
    return "\n".join(out)


GUIDE_ONLY = "# The guide's rule, verbatim.\n" + serverconf.GUIDE_APACHE_RULE
# The cache lesson (notebook 05, realservers.CACHE_LESSON) in Chromium, on Apache and on the lab.
EXTRA_RUNS = {
    # Not in the lesson: on Apache it depends on timing (a heuristic lifetime of 10% of the second or
    # so between the file's date and the first answer); on the lab, age=0 gives exactly 0 s.
    "a file modified just before the first request": realservers.LessonConfig(GUIDE_ONLY, ("headers",),
                                                                               {"apache": True, "age": 0}),
}


@dataclass
class CacheSequence:
    """Chromium's two loads of one URL (plain <img>, then crossorigin=anonymous) and what the server saw."""

    label: str
    kind: str  # "apache" | "lab"
    plain: object = None  # cors_lab.outcome.Outcome
    anonymous: object = None
    requests: list[tuple[int, str | None, str | None]] = field(default_factory=list)  # (status, Origin, ACAO)
    log: list[realservers.AccessLogLine] = field(default_factory=list)  # Apache's access log
    failed: str | None = None

    @property
    def verdicts(self) -> tuple:
        return (self.plain.verdict, self.anonymous.verdict)

    def __str__(self) -> str:
        if self.failed:
            return f"{self.label} [{self.kind}]: {self.failed}"
        lines = [f"{self.label} [{self.kind}]: <img> {self.plain.verdict}, then <img crossorigin=anonymous> "
                 f"{self.anonymous.verdict}; requests (status, Origin, ACAO): {self.requests}"]
        if self.anonymous.console:
            lines.append(f"  console: {self.anonymous.console.splitlines()[0]}")
        lines += [f"  apache log: {e.method} {e.target} -> {e.status}  Origin {e.origin}  ACAO {e.acao}  "
                  f"If-None-Match {e.if_none_match}  If-Modified-Since {e.if_modified_since}  mode {e.mode}" for e in self.log]
        return "\n".join(lines)


def cache_sequence(harness, lab, label: str, lesson: realservers.LessonConfig, *, kind: str,
                   mtime: float | None = None) -> CacheSequence:
    """The lesson's two loads in one fresh Chromium context, from a page on ``lab.site``, against a new
    Apache serving ``lesson.apache`` (its pictures dated ``mtime``, default the lab's FILE_DATE) or
    against the lab serving ``lesson.knobs``."""
    from cors_lab.harness import Scenario

    server = None
    if kind == "apache":
        try:
            server = realservers.start_apache(server_snippet=lesson.apache, mtime=FILE_DATE if mtime is None else mtime,
                                              modules=realservers.DEBIAN_DEFAULT_MODULES + lesson.a2enmod)
        except realservers.ServerStartError as err:
            return CacheSequence(label, kind, failed=str(err))
    served = realservers.LessonServer(kind=kind, config=lesson.apache, knobs=lesson.knobs, lab=lab, server=server)
    try:
        url = served.url("picture.png")
        plain, anonymous = harness.run_sequence([Scenario(url), Scenario(url, "anonymous")], page_url=lab.site.url("picture.png"))
        return CacheSequence(label, kind, plain, anonymous, served.requests(), server.access_log() if server else [])
    finally:
        served.stop()


def cache_lesson(harness, lab, lessons=None, kinds=("apache", "lab")) -> list[CacheSequence]:
    """Every lesson (default: CACHE_LESSON) on Apache and on the lab, in that order per lesson."""
    lessons = realservers.CACHE_LESSON if lessons is None else lessons
    return [cache_sequence(harness, lab, label, lesson, kind=kind) for label, lesson in lessons.items() for kind in kinds]


def chromium_sequence() -> str:
    """The cache lesson in Chromium on real Apache and on the lab: verdicts, requests, Apache's log."""
    from cors_lab.harness import ChromiumHarness, browser_unavailable_reason

    reason = browser_unavailable_reason()
    if reason:
        return f"Chromium: skipped: {reason}"
    with Lab() as lab, ChromiumHarness() as harness:
        out = [f"Chromium {harness.version}; the page is on {lab.site.origin}, Apache on another port"]
        runs = cache_lesson(harness, lab) + cache_lesson(harness, lab, EXTRA_RUNS, kinds=("lab",))
        out += [str(run) for run in runs]
        apache_now = cache_sequence(harness, lab, "a file modified just now, on Apache (timing)",
                                    EXTRA_RUNS["a file modified just before the first request"], kind="apache",
                                    mtime=time.time())
        out.append(str(apache_now))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="knob sets whose label contains this text")
    parser.add_argument("--findings", action="store_true", help="stock Debian modules; an existing site config")
    parser.add_argument("--validators", action="store_true", help="the validator headers each server sends")
    parser.add_argument("--chromium", action="store_true", help="the guide's cache sequence in Chromium on real Apache")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ignore-validators", action="store_true",
                        help="leave ETag, Last-Modified and the conditional requests out of the comparison")
    parser.add_argument("--modules", default="", help="Apache modules to enable besides those the config names, e.g. headers,rewrite")
    parser.add_argument("--serverconf", help="compare another version of cors_lab/serverconf.py (a file)")
    args = parser.parse_args(argv)
    EXTRA_MODULES.extend(m for m in args.modules.split(",") if m)
    if args.serverconf:
        GENERATOR["module"] = load_generator(args.serverconf)
    if args.ignore_validators:
        IGNORED.update(VALIDATORS)
        IGNORED.update(r.label for r in REQUESTS if r.conditional)
    for kind in KINDS:
        reason = realservers.unavailable_reason(kind)
        if reason:
            print(reason)
            return 2
    extra = [(args.validators, validators), (args.findings, findings), (args.chromium, chromium_sequence)]
    if any(flag for flag, _ in extra):
        for flag, fn in extra:
            if flag:
                print(fn(), end="\n\n")
        return 0
    t0 = time.perf_counter()
    rows = run_matrix(only=args.only, workers=args.workers)
    print(report(rows))
    print(f"\n{time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
