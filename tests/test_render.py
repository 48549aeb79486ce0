"""cors_lab.render: verdict colours and table pieces, chosen once for every view."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import cors_lab
from cors_lab import render
from cors_lab.outcome import Outcome

PACKAGE = Path(cors_lab.__file__).parent


def outcome(**fields) -> Outcome:
    return Outcome(**{"load": "load", "readback": "ok", "exception": None, **fields})


@pytest.mark.parametrize("fields, text, colour", [
    ({"load": "error", "readback": None}, "error event: not loaded", render.AMBER),
    ({"operation": "drawImage", "readback": "SecurityError"}, "loaded · drawn · canvas tainted", render.RED),
    ({"operation": "drawImage"}, "loaded · drawn · canvas readable", render.GREEN),
    ({"readback": "SecurityError", "exception": "SecurityError"}, "loaded · SecurityError", render.RED),
    ({"exception": "InvalidStateError"}, "loaded · InvalidStateError", render.RED),
    ({}, "loaded · read back ok", render.GREEN),
])
def test_verdict_text_and_colour(fields, text, colour):
    assert render.verdict(outcome(**fields)) == (text, colour)


def test_cells_escape_what_they_are_given():
    assert render.cell("<b>", code=True, title='"x"') == f'<td style="{render.TD}" title="&quot;x&quot;"><code>&lt;b&gt;</code></td>'
    assert render.note_cell("<wait>", colspan=3) == f"<td colspan='3' style='{render.TD};color:{render.MUTED}'><i>&lt;wait&gt;</i></td>"
    assert render.problems("Disagree:", ["a<b"], tail="news") == (
        f"<div style='{render.PROBLEM_STYLE}'><b>Disagree:</b><ul style='margin:2px 0'><li><code>a&lt;b</code></li></ul>news</div>")


def test_tables_wrap_rows_under_their_headers():
    rows = [render.row([render.cell("1")], attrs=" data-ticket='t1'")]
    styled = render.table(["#"], rows, cls="x")
    assert styled.startswith("<table class='x' style='border-collapse:collapse;margin-top:4px'><thead><tr><th")
    assert f"<tr data-ticket='t1' style='{render.ROW_STYLE}'><td" in styled and styled.endswith("</tbody></table>")
    plain = render.plain_table(["#", "URL"], [render.plain_row(["1", "<code>u</code>"], cls="bad")])
    assert plain == "<table><tr><th>#</th><th>URL</th></tr><tr class='bad'><td>1</td><td><code>u</code></td></tr></table>"


def test_swatch_and_origin():
    assert "rgba(220,50,47,1.000)" in render.swatch((220, 50, 47, 255))
    assert render.swatch(None) == render.cell("—")
    assert render.origin_code(None) == "<code><i>absent</i></code>"
    assert render.origin_code("null") == "<code>null</code>"


def test_verdict_colours_are_written_only_here():
    literals = {render.GREEN, render.RED, render.AMBER}
    found = [f"{path.relative_to(PACKAGE)}: {colour}" for path in sorted(PACKAGE.rglob("*.py")) if path.name != "render.py"
             for colour in literals if colour.lower() in path.read_text(encoding="utf-8").lower()]
    assert found == []


def test_styled_tables_are_built_only_here():
    # Modules that draw verdicts get their tables from render; a hand-built <table> elsewhere is a second style.
    drawing = ("outcome.py", "live.py", "comparison.py", "panel.py", "conformance.py")
    found = [name for name in drawing if re.search(r"<table", (PACKAGE / name).read_text(encoding="utf-8"))]
    assert found == []
