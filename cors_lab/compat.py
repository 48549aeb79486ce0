"""The browser-compatibility table for learners, generated from real runs of the three engines.

Owns the list of behaviours the course teaches (each: a scenario of the matrix or a canvas sequence,
and what to read from it), generating the table from engine runs (`generate`, `python -m cors_lab
compat --write`), the shipped copy (``compat.json``, read offline by `load` and `table`) and its
display. What the standard says comes from the "spec" profile over the same responses. It decides
nothing itself; tests/test_compat.py checks the shipped table against the model profiles, so a
profile that changes without the table being regenerated fails.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from . import render

COMPAT_JSON = Path(__file__).with_name("compat.json")
ENGINES = ("chromium", "firefox", "webkit")
PAGE_URL = "(the page's URL)"  # conformance's marker for a Referer that is the whole page URL


@dataclass(frozen=True)
class Behaviour:
    """One row: ``what`` a learner asks, in ``topic``; measured by a ``scenario`` (a matrix id) read
    through ``read`` ("verdict", "message", "console", "gl_error", "requests", or "request N <header>"),
    or by a canvas ``sequence``."""

    id: str
    topic: str
    what: str
    scenario: str = ""
    read: str = "verdict"
    sequence: str = ""


def _b(topic: str, what: str, scenario: str, read: str = "verdict") -> Behaviour:
    return Behaviour(f"{scenario}#{read}", topic, what, scenario=scenario, read=read)


def _seq(what: str, name: str) -> Behaviour:
    return Behaviour(f"sequence/{name}", "what cleans a canvas (08)", what, sequence=name)


OPERATIONS = ("getImageData", "toDataURL", "toBlob", "captureStream", "convertToBlob", "texImage2D",
              "createImageBitmap", "pattern", "canvas-to-canvas", "transferToImageBitmap")

BEHAVIOURS: tuple[Behaviour, ...] = (
    # 01-three-outcomes, 03-the-cors-check
    _b("crossorigin (01, 03)", "cross-origin image without crossorigin, then getImageData", "op=getImageData/tainted"),
    _b("crossorigin (01, 03)", 'crossorigin="anonymous", server sends ACAO *', "op=getImageData/readable"),
    _b("crossorigin (01, 03)", 'crossorigin="anonymous", server sends no ACAO', "op=getImageData/cors-error"),
    _b("crossorigin (01, 03)", 'crossorigin="foo" (an invalid value means anonymous), ACAO *', "co='foo'/acao=star/cdn"),
    _b("crossorigin (01, 03)", "the console line when ACAO is missing", "op=getImageData/cors-error", "console"),
    _b("ACAO forms (03)", "ACAO is the page's origin", "co='anonymous'/acao=exact/cdn"),
    _b("ACAO forms (03)", "ACAO is the page's origin with a trailing slash", "co='anonymous'/acao=trailing-slash/cdn"),
    _b("ACAO forms (03)", "ACAO is the page's origin in upper case", "co='anonymous'/acao=upper-case/cdn"),
    _b("ACAO forms (03)", "ACAO is ' * ' (spaces around the star)", "co='anonymous'/acao=padded-star/cdn"),
    _b("ACAO forms (03)", "two ACAO headers, both the page's origin", "co='anonymous'/acao=two-headers/cdn"),
    _b("ACAO forms (03)", "ACAO lists two origins in one header", "co='anonymous'/acao=list/cdn"),
    _b("ACAO forms (03)", "ACAO is null, from an ordinary page", "co='anonymous'/acao=null/cdn"),
    _b("credentials (02, 03)", "use-credentials, ACAO *, ACAC true", "use-credentials/acao=star/acac='true'/cdn/login=True"),
    _b("credentials (02, 03)", "use-credentials, ACAO the origin, ACAC true",
       "use-credentials/acao=exact/acac='true'/cdn/login=True"),
    _b("credentials (02, 03)", "use-credentials, ACAC True (capital T)", "use-credentials/acao=exact/acac='True'/cdn/login=True"),
    # 02-why-tainting: cookies by credentials mode and site
    _b("cookies (02)", "no crossorigin, same-site image: cookies sent?", "cookies/co=None/cdn", "request 1 cookies"),
    _b("cookies (02)", 'crossorigin="anonymous", same-site cross-origin image: cookies sent?',
       "cookies/co='anonymous'/cdn", "request 1 cookies"),
    _b("cookies (02)", 'crossorigin="use-credentials", same-site image: cookies sent?',
       "cookies/co='use-credentials'/cdn", "request 1 cookies"),
    _b("cookies (02)", 'crossorigin="use-credentials", cross-site image: cookies sent?',
       "cookies/co='use-credentials'/other", "request 1 cookies"),
    _b("cookies (02)", 'crossorigin="anonymous" on a same-origin image: Origin sent?', "cookies/co='anonymous'/site",
       "request 1 origin"),
    # 04-redirects
    _b("redirects (04)", "cross-origin redirect back to the page's origin: Origin on the second request",
       "wpt/fetch-cors-redirect-null-origin", "request 2 origin"),
    _b("redirects (04)", "... and the verdict when the image answers ACAO null", "wpt/fetch-cors-redirect-null-origin"),
    _b("redirects (04)", "... and Sec-Fetch-Mode on the second request", "wpt/fetch-cors-redirect-null-origin",
       "request 2 Sec-Fetch-Mode"),
    _b("redirects (04)", "same-site redirect (another port): Sec-Fetch-Site on the second request",
       "wpt/drawImage-redirect-taints", "request 2 Sec-Fetch-Site"),
    _b("redirects (04)", "Referer on the request after a cross-origin redirect", "wpt/fetch-cors-redirect-null-origin",
       "request 2 referer"),
    # 07: the opaque-origin page (a sandboxed srcdoc frame inside a page of the site)
    _b("opaque-origin page (07)", 'crossorigin="anonymous", ACAO *', "opaque-page/co='anonymous'/acao=star"),
    _b("opaque-origin page (07)", 'crossorigin="anonymous", ACAO the page\'s origin', "opaque-page/co='anonymous'/acao=exact"),
    _b("opaque-origin page (07)", "no crossorigin: Origin sent?", "opaque-page/co=None/acao=star", "request 1 origin"),
    _b("opaque-origin page (07)", "Referer sent?", "opaque-page/co='anonymous'/acao=star", "request 1 referer"),
    # 05-cache-and-vary
    _b("cache and Vary (05)", "Apache rule, max-age, no Vary: plain load, then anonymous", "cache/apache/max-age=3600/vary=None/then=anonymous"),
    _b("cache and Vary (05)", "... requests the server saw", "cache/apache/max-age=3600/vary=None/then=anonymous", "requests"),
    _b("cache and Vary (05)", "Apache rule, no Vary: plain load, then use-credentials",
       "cache/apache/max-age=3600/vary=None/then=use-credentials"),
    _b("cache and Vary (05)", "Apache rule with Vary: Origin: plain load, then anonymous",
       "cache/apache/max-age=3600/vary=Origin/then=anonymous"),
    _b("cache and Vary (05)", "ACAO *, no Vary: anonymous load, then plain: requests the server saw",
       "cache/star/then-plain/vary=None", "requests"),
    # 08-every-readback: each readback call on a tainted canvas, and on a CORS-failed image
    *(_b("every readback (08)", f"{op} after drawing a tainted image: the exception", f"op={op}/tainted", "message")
      for op in OPERATIONS),
    _b("every readback (08)", "drawImage of an image whose CORS check failed", "op=drawImage/cors-error", "message"),
    _b("every readback (08)", "createPattern of an image whose CORS check failed", "op=pattern/cors-error", "message"),
    _b("every readback (08)", "createImageBitmap of an image whose CORS check failed", "op=createImageBitmap/cors-error",
       "message"),
    _b("every readback (08)", "texImage2D of an image whose CORS check failed: gl.getError()", "op=texImage2D/cors-error",
       "gl_error"),
    _seq("canvas.width = canvas.width on a tainted canvas", "width-reset-cleans"),
    _seq("canvas.height = canvas.height on a tainted canvas", "height-reset-cleans"),
    _seq("ctx.clearRect() over a tainted canvas", "clearRect-keeps-taint"),
    _seq("ctx.reset() on a tainted canvas", "ctx-reset-keeps-taint"),
    _seq("getImageData with width 0 on a tainted canvas", "getImageData-zero-width-on-tainted"),
    _seq("a pattern from the tainted image, assigned, then replaced by a colour", "pattern-assigned-then-replaced-still-taints"),
    _seq("a pattern from the tainted image, never assigned", "pattern-created-not-assigned-stays-clean"),
    _seq("bitmaprenderer given a tainted ImageBitmap", "bitmaprenderer-takes-tainted-bitmap"),
    _seq("bitmaprenderer: tainted bitmap, then transferFromImageBitmap(null)", "bitmaprenderer-null-after-tainted"),
    _seq("bitmaprenderer: tainted bitmap, then a clean one", "bitmaprenderer-clean-bitmap-after-tainted"),
    _seq("bitmaprenderer: tainted bitmap, then canvas.width = 4", "bitmaprenderer-width-after-tainted"),
)

GL_ERRORS = {0: "NO_ERROR", 0x0501: "INVALID_VALUE", 0x0500: "INVALID_ENUM", 0x0502: "INVALID_OPERATION"}


# --- Reading one value from a conformance row -------------------------------------------------------------


def _verdict(o) -> str:
    if o.load == "error":
        return "error event" + (f", then {o.exception}" if o.exception else "")
    if o.readback == "SecurityError":
        return "tainted (SecurityError)"
    return "readable" if not o.exception else f"loaded, then {o.exception}"


def _header(value: Any, header: str, page_origin: str) -> str:
    if header == "cookies":
        return "sent" if value else "not sent"
    if value is None:
        return "absent"
    if value == PAGE_URL:
        return "the page's URL"
    if value in (page_origin, page_origin + "/"):
        return "the page's origin"
    return str(value)


def _console(text: str, outcome, page_origin: str) -> str:
    if not text:
        return "—"
    return text.replace(outcome.url, "<image URL>").replace(page_origin, "<page origin>").splitlines()[0]


def read_value(behaviour: Behaviour, outcome, requests: list[dict], *, page_origin: str) -> str:
    """The value ``behaviour`` reads from a run's outcome and requests, with lab URLs replaced by words."""
    read = behaviour.read
    if outcome is None:
        return "—"
    if read == "verdict":
        return _verdict(outcome)
    if read == "message":
        return f"{outcome.exception}: {outcome.message}" if outcome.exception else f"{_verdict(outcome)}; nothing thrown"
    if read == "console":
        return _console(outcome.console, outcome, page_origin)
    if read == "gl_error":
        code = outcome.extra.get("gl_error")
        return GL_ERRORS.get(code, str(code))
    if read == "requests":
        return f"{len(requests)} request{'s' if len(requests) != 1 else ''}"
    _, index, header = read.split(" ", 2)
    i = int(index) - 1
    return _header(requests[i].get(header), header, page_origin) if i < len(requests) else "(no such request)"


def rows_for(engine_rows: list, sequences: Mapping[str, tuple[str, str]] | None, *, side: str) -> dict[str, str]:
    """{behaviour id: value} read from conformance rows (and canvas sequences (model, engine)), from
    ``side``: "real" (the engine), "model" (its profile) or "spec" (the standard)."""
    by_id = {r.scenario.id: r for r in engine_rows}
    out = {}
    for b in BEHAVIOURS:
        if b.sequence:
            if sequences is not None and b.sequence in sequences:
                out[b.id] = sequences[b.sequence][0 if side == "model" else 1]
            continue
        r = by_id.get(b.scenario)
        if r is None:
            continue
        outcome = {"real": r.real, "model": r.model, "spec": r.spec}[side]
        requests = {"real": r.real_requests, "model": r.model_requests, "spec": r.spec_requests}[side]
        out[b.id] = read_value(b, outcome, requests, page_origin=r.site)
    return out


# --- Generating and loading ---------------------------------------------------------------------------------


def scenarios() -> list:
    """The matrix scenarios the table needs, in matrix order."""
    from .scenarios import matrix

    wanted = {b.scenario for b in BEHAVIOURS if b.scenario}
    return [s for s in matrix() if s.id in wanted]


def generate(runs: Mapping[str, Any]) -> dict[str, Any]:
    """The table from engine runs (``conformance.run_engines`` over `scenarios()`, with sequences)."""
    from . import sequences as seqs

    engines = {}
    values: dict[str, dict[str, str]] = {}
    spec: dict[str, str] = {}
    for name in ENGINES:
        run = runs.get(name)
        if run is None or run.skipped or run.error:
            raise RuntimeError(f"{name} did not run ({getattr(run, 'skipped', '') or getattr(run, 'error', '')}): "
                               "the table is only written from all three engines")
        engines[name] = {"version": run.version, "profile": run.settings.get("profile", ""),
                         "third_party_cookies": run.settings.get("third_party_cookies", "")}
        values[name] = rows_for(run.rows, run.sequences, side="real")
        if not spec:
            spec = rows_for(run.rows, {n: (seqs.model(n, profile="spec"),) * 2 for n in seqs.SEQUENCES}, side="spec")
    rows = []
    for b in BEHAVIOURS:
        rows.append({"id": b.id, "topic": b.topic, "behaviour": b.what, "read": b.read if b.scenario else "sequence",
                     "standard": spec.get(b.id, "—"), **{name: values[name].get(b.id, "—") for name in ENGINES}})
    return {"generated": date.today().isoformat(), "command": "python -m cors_lab compat --write",
            "engines": engines, "rows": rows}


def write(table: Mapping[str, Any], path: Path = COMPAT_JSON) -> Path:
    path.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def load(path: Path = COMPAT_JSON) -> dict[str, Any]:
    """The shipped table (no engine needed)."""
    return json.loads(path.read_text(encoding="utf-8"))


# --- Display -------------------------------------------------------------------------------------------------


def departs(row: Mapping[str, str], engine: str) -> bool:
    """Whether ``engine`` departs from the standard in ``row``. The standards name exceptions but not
    their messages, and no console line: a message row compares the exception's name only, a console
    row nothing."""
    if row.get("read") == "console":
        return False
    if row.get("read") == "message":
        return row[engine].split(":", 1)[0] != row["standard"].split(":", 1)[0]
    return row[engine] != row["standard"]


class CompatTable:
    """The table for a notebook: HTML in JupyterLab, text elsewhere; ``topic`` narrows it."""

    def __init__(self, data: Mapping[str, Any], *, topic: str | None = None) -> None:
        self.data = data
        self.rows = [r for r in data["rows"] if topic is None or topic.lower() in r["topic"].lower()]

    def _heads(self) -> list[str]:
        return ["behaviour", "standard"] + [f"{n} {self.data['engines'][n]['version']}" for n in ENGINES]

    def __str__(self) -> str:
        lines, topic = [], None
        for r in self.rows:
            if r["topic"] != topic:
                topic = r["topic"]
                lines.append(f"\n{topic}")
            marks = "  ".join(f"{n}: {r[n]}{' *' if departs(r, n) else ''}" for n in ENGINES)
            lines.append(f"  {r['behaviour']}\n    standard: {r['standard']}\n    {marks}")
        versions = ", ".join(f"{n} {self.data['engines'][n]['version']}" for n in ENGINES)
        lines.append(f"\n* differs from the standard. Measured {self.data['generated']} ({versions}).")
        return "\n".join(lines).lstrip("\n")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        body, topic = [], None
        for r in self.rows:
            if r["topic"] != topic:
                topic = r["topic"]
                body.append(render.row([render.note_cell(topic, colspan=len(ENGINES) + 2, colour="#222")]))
            cells = [render.cell(r["behaviour"]), render.cell(r["standard"], code=True)]
            for n in ENGINES:
                differs = departs(r, n)
                cells.append(render.cell(r[n], code=True, colour=render.RED if differs else None,
                                         title="differs from the standard" if differs else None))
            body.append(render.row(cells))
        note = (f"<div style='color:{render.MUTED}'>Red: the engine departs from the standard. Measured "
                f"{html.escape(self.data['generated'])} over the lab's servers; regenerate with "
                f"<code>{html.escape(self.data['command'])}</code>.</div>")
        return render.box(render.table(self._heads(), body) + note, cls="cors-lab-compat")


def table(topic: str | None = None) -> CompatTable:
    """The shipped browser-compatibility table (``topic``: e.g. "cache", "readback")."""
    return CompatTable(load(), topic=topic)


__all__ = ["BEHAVIOURS", "Behaviour", "COMPAT_JSON", "CompatTable", "departs", "generate", "load", "read_value",
           "rows_for", "scenarios", "table", "write"]
