"""How the kit draws results for learners: verdict colours, tables, cells, swatches — in one place.

Owns the HTML and text styling shared by outcomes, the live probe, comparisons, the lab panel, the
kernel browser's hops and the conformance report, so a colour or a cell style is chosen once. Pure:
stdlib only; it formats what it is given and decides nothing.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

GREEN, RED, AMBER, MUTED = "#1b7f3b", "#b3261e", "#8a5a00", "#666"
# A verdict's colour: readable, tainted (SecurityError), not loaded (None).
COLOURS = {"ok": GREEN, "SecurityError": RED, None: AMBER}
PROBLEM_BACKGROUND = "#fdecea"
# ipywidgets' HTML widget lays text out on one 28 px line (nowrap); tables need ordinary text flow.
BOX_STYLE = "line-height:1.4;white-space:normal;font-size:13px"
PROBLEM_STYLE = f"border-left:4px solid {RED};background:{PROBLEM_BACKGROUND};color:#5f1410;padding:4px 8px;margin:4px 0"
TH = "text-align:left;padding:2px 8px 2px 0;border-bottom:1px solid #bbb;font-weight:600"
TD = "padding:3px 8px 1px 0;vertical-align:top"
NOWRAP = ";white-space:nowrap"
BREAK_ANYWHERE = ";overflow-wrap:anywhere"  # long URLs and header values wrap inside the column
ROW_STYLE = "border-top:1px solid #e0e0e0"
# A stand-alone HTML report (the conformance run): its page style.
REPORT_CSS = (f"body{{font:14px system-ui}}td,th{{border-bottom:1px solid #ddd;padding:2px 6px}}"
              f".bad{{background:{PROBLEM_BACKGROUND}}}")


# -- styled tables (widgets, comparisons) ------------------------------------------------------------

def cell(text: str, *, code: bool = False, colour: str | None = None, title: str | None = None,
         extra: str = "") -> str:
    """One ``<td>``: ``text`` escaped, in ``<code>`` if asked, bold in ``colour`` (a verdict's)."""
    body = html.escape(text)
    if code:
        body = f"<code>{body}</code>"
    style = TD + (f";color:{colour};font-weight:600" if colour else "") + extra
    title_attr = f' title="{html.escape(title)}"' if title else ""
    return f'<td style="{style}"{title_attr}>{body}</td>'


def note_cell(text: str, *, colspan: int, colour: str = MUTED, italic: bool = True) -> str:
    """A ``<td>`` spanning ``colspan`` columns with a note instead of a verdict ("waiting...", "failed")."""
    body = html.escape(text)
    if italic:
        body = f"<i>{body}</i>"
    return f"<td colspan='{colspan}' style='{TD};color:{colour}'>{body}</td>"


def row(cells: Iterable[str], *, attrs: str = "") -> str:
    """A ``<tr>`` of finished cells, ruled above; ``attrs`` adds attributes (`` data-ticket='t1'``)."""
    return f"<tr{attrs} style='{ROW_STYLE}'>{''.join(cells)}</tr>"


def table(headers: Iterable[str], rows: Iterable[str], *, cls: str | None = None) -> str:
    """A compact table: ``headers`` (text) over ``rows`` (finished ``<tr>`` strings)."""
    head = "".join(f"<th style='{TH}'>{html.escape(h)}</th>" for h in headers)
    cls_attr = f" class='{cls}'" if cls else ""
    return (f"<table{cls_attr} style='border-collapse:collapse;margin-top:4px'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def box(body: str, *, cls: str | None = None) -> str:
    """The ``<div>`` around a widget's or a comparison's HTML, in ordinary text flow."""
    cls_attr = f" class='{cls}'" if cls else ""
    return f"<div{cls_attr} style='{BOX_STYLE}'>{body}</div>"


def problems(head: str, items: Iterable[str], *, tail: str = "") -> str:
    """A red-ruled block: ``head`` in bold, then ``items`` (each in ``<code>``), then ``tail``."""
    listed = "".join(f"<li><code>{html.escape(item)}</code></li>" for item in items)
    return (f"<div style='{PROBLEM_STYLE}'><b>{html.escape(head)}</b><ul style='margin:2px 0'>{listed}</ul>"
            f"{html.escape(tail)}</div>")


def problem(text: str) -> str:
    """One red-ruled line: something went wrong, said in plain words."""
    return f"<div style='{PROBLEM_STYLE}'>{html.escape(text)}</div>"


def caution(html_text: str, *, cls: str = "") -> str:
    """One amber-ruled block around finished HTML: not wrong, but read before trusting a comparison."""
    cls_attr = f" class='{cls}'" if cls else ""
    return (f"<div{cls_attr} style='border-left:4px solid {AMBER};background:#fff4d6;color:#4a3200;"
            f"padding:4px 8px;margin:4px 0'>{html_text}</div>")


def good(text: str) -> str:
    """One green line: all is as it should be."""
    return f"<div style='color:{GREEN};font-weight:600;margin-top:4px'>{html.escape(text)}</div>"


# -- plain tables (outcomes, hops, reports: the notebook's own table style) -------------------------

def plain_row(cells: Iterable[str], *, cls: str | None = None) -> str:
    """A ``<tr>`` of ``<td>``s around finished cell contents."""
    cls_attr = f" class='{cls}'" if cls else ""
    return f"<tr{cls_attr}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def plain_table(headers: Iterable[str], rows: Iterable[str]) -> str:
    """A ``<table>`` in the page's own style: ``headers`` (text) over ``rows`` (``plain_row`` strings)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def card(body: str, *, colour: str, cls: str) -> str:
    """A block ruled on the left in a verdict's ``colour``."""
    return f'<div class="{cls}" style="border-left:4px solid {colour};padding-left:8px">{body}</div>'


def report_page(title: str, body: str) -> str:
    """A stand-alone HTML page (``REPORT_CSS``) around ``body``."""
    return f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title><style>{REPORT_CSS}</style>{body}"


# -- pieces ------------------------------------------------------------------------------------------

def origin_code(origin: str | None) -> str:
    """An Origin header value as a cell's content: the value in ``<code>``, or *absent*."""
    return f"<code>{html.escape(origin) if origin is not None else '<i>absent</i>'}</code>"


def short(text: str, width: int = 48) -> str:
    """``text`` cut to ``width`` characters with an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "…"


def image_label(url: str, lab: Any = None) -> str:
    """What tells one experiment's picture from another: where it comes from, its name, every knob.

    ``cdn picture.png acao=* vary=Origin`` for the lab's URLs (its origins by label, under either
    loopback name), ``jupyter picture.png acao=null`` for the kit's server extension, else the URL's
    origin. Knob values are decoded and never cut; a nonce shows as ``nonce``; a redirect target is
    labelled the same way, in parentheses.
    """
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    where = next((o.label for o in getattr(lab, "origins", ())
                  if origin in getattr(o, "aliases", (getattr(o, "origin", None),))), None)
    if where is None:
        where = "jupyter" if "/cors-lab/img/" in parts.path else (origin or "")
    name = parts.path.rsplit("/", 1)[-1] or parts.path
    knobs = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "nonce":
            knobs.append("nonce")
        elif key == "to":
            knobs.append(f"to=({image_label(value, lab)})")
        else:
            knobs.append(f"{key}={value}" if value else key)
    return " ".join(p for p in (where, name, *knobs) if p)


def swatch(pixel: tuple[int, int, int, int] | None) -> str:
    """A ``<td>`` showing one RGBA pixel as a colour chip and its numbers (— when there is none)."""
    if not pixel:
        return cell("—")
    r, g, b, a = pixel
    return (
        f'<td style="{TD};white-space:nowrap">'
        '<span style="display:inline-block;width:0.9em;height:0.9em;vertical-align:-0.1em;border:1px solid #888;'
        f'background:rgba({r},{g},{b},{a / 255:.3f})"></span> <code>{r},{g},{b},{a}</code></td>'
    )


def verdict(outcome: Any) -> tuple[str, str]:
    """(short text, colour) for a learner: what the image did and what reading it back did."""
    if outcome.load == "error":
        return "error event: not loaded", COLOURS[None]
    if outcome.operation == "drawImage" and not outcome.exception:
        tail = "canvas tainted" if outcome.readback == "SecurityError" else "canvas readable"
        return f"loaded · drawn · {tail}", COLOURS[outcome.readback]
    if outcome.exception:
        return f"loaded · {outcome.exception}", COLOURS.get(outcome.exception, RED)
    return "loaded · read back ok", COLOURS["ok"]
