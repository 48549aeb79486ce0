"""How the kit draws results for learners: verdict colours, table cells, swatches — in one place.

Owns the HTML and text styling shared by outcomes, the live probe, comparisons, the lab panel, the
request log and the conformance report, so a colour or a cell style is chosen once. Pure: stdlib
only; it formats what it is given and decides nothing.
"""

from __future__ import annotations

import html

COLOURS = {"ok": "#1b7f3b", "SecurityError": "#b3261e", None: "#8a5a00"}
# ipywidgets' HTML widget lays text out on one 28 px line (nowrap); tables need ordinary text flow.
BOX_STYLE = "line-height:1.4;white-space:normal;font-size:13px"
PROBLEM_STYLE = "border-left:4px solid #b3261e;background:#fdecea;color:#5f1410;padding:4px 8px;margin:4px 0"
TH = "text-align:left;padding:2px 8px 2px 0;border-bottom:1px solid #bbb;font-weight:600"
TD = "padding:3px 8px 1px 0;vertical-align:top"
NOWRAP = ";white-space:nowrap"


def cell(text: str, *, code: bool = False, colour: str | None = None, title: str | None = None,
          extra: str = "") -> str:
    body = html.escape(text)
    if code:
        body = f"<code>{body}</code>"
    style = TD + (f";color:{colour};font-weight:600" if colour else "") + extra
    title_attr = f' title="{html.escape(title)}"' if title else ""
    return f'<td style="{style}"{title_attr}>{body}</td>'


def short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def swatch(pixel: tuple[int, int, int, int] | None) -> str:
    if not pixel:
        return cell("—")
    r, g, b, a = pixel
    return (
        f'<td style="{TD};white-space:nowrap">'
        '<span style="display:inline-block;width:0.9em;height:0.9em;vertical-align:-0.1em;border:1px solid #888;'
        f'background:rgba({r},{g},{b},{a / 255:.3f})"></span> <code>{r},{g},{b},{a}</code></td>'
    )


def verdict(outcome) -> tuple[str, str]:
    """(short text, colour) for a learner: what the image did and what reading it back did."""
    if outcome.load == "error":
        return "error event: not loaded", COLOURS[None]
    if outcome.operation == "drawImage" and not outcome.exception:
        tail = "canvas tainted" if outcome.readback == "SecurityError" else "canvas readable"
        return f"loaded · drawn · {tail}", COLOURS[outcome.readback]
    if outcome.exception:
        return f"loaded · {outcome.exception}", COLOURS.get(outcome.exception, "#b3261e")
    return "loaded · read back ok", COLOURS["ok"]
