"""cors_lab.snippet: the JavaScript shown beside an experiment is the experiment.

The browser test runs each shown snippet, verbatim, as a <script> in a Chromium page on the lab's
site origin, and requires the outcome trial.js gives for the same Trial (the code the live probe runs).
"""

from __future__ import annotations

import json

import pytest

from cors_lab.errors import UsageError
from cors_lab.snippet import MISPLACED_LINES, NO_ATTRIBUTE, javascript, sections
from cors_lab.trial import MISPLACED, TRIAL_OPERATIONS, Trial, trial_source



def test_sections_cover_every_operation_the_probe_runs():
    assert set(sections()) == {"page", *TRIAL_OPERATIONS}


@pytest.mark.parametrize("operation", TRIAL_OPERATIONS)
def test_javascript_fills_every_placeholder(operation):
    js = javascript(Trial("http://127.0.0.1:1/p.png", "anonymous", operation))
    assert "{{" not in js and "@@" not in js
    assert 'img.crossOrigin = "anonymous";' in js
    assert js.index("img.crossOrigin") < js.index("img.src")
    assert "onload" in js and "onerror" in js and "catch (e)" in js


def test_crossorigin_absent_says_so_and_sets_nothing():
    js = javascript(Trial("http://127.0.0.1:1/p.png"))
    assert NO_ATTRIBUTE in js and "img.crossOrigin =" not in js


def test_url_and_value_are_javascript_string_literals():
    url = 'http://127.0.0.1:1/p.png?a="b"&c=\\'
    js = javascript(Trial(url, 'x"y'))
    assert f"img.src = {json.dumps(url)};" in js
    assert 'img.crossOrigin = "x\\"y";' in js


def shown_outcome(result: dict, operation: str) -> tuple:
    """(load, readback, exception) from what the shown code logs, in trial.js's terms."""
    load = result["load"]
    exception = result.get("exception")
    if operation == "drawImage":
        readback = result.get("readback") if load == "load" else None
        return load, readback, exception
    if load != "load":
        return load, None, exception
    readback = "ok" if exception is None else ("SecurityError" if exception == "SecurityError" else None)
    return load, readback, exception


def run_shown(page, js: str) -> dict:
    """Add ``js`` as a <script> (verbatim) and return the object it logs."""
    with page.expect_console_message(lambda m: m.type == "log", timeout=10_000) as logged:
        page.add_script_tag(content=js)
    return logged.value.args[0].json_value()


CASES = {  # name -> (url knobs on lab.cdn, crossorigin)
    "tainted": ({}, None),
    "refused": ({}, "anonymous"),
    "approved": ({"acao": "*"}, "anonymous"),
    "credentials-star": ({"acao": "*"}, "use-credentials"),
}


@pytest.mark.browser
@pytest.mark.parametrize("case", sorted(CASES))
def test_shown_code_gives_the_trial_outcome_in_chromium(chromium, lab, case):
    knobs, crossorigin = CASES[case]
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(lab.site.origin + "/")  # any document on the site origin: only its origin matters
        page.evaluate(trial_source())
        for operation in TRIAL_OPERATIONS:
            trial = Trial(lab.cdn.url("picture.png", nonce=True, **knobs), crossorigin, operation)
            expected = page.evaluate("spec => globalThis.corsLabTrial(spec)", trial.spec(5000))
            if expected.get("exception") == "NoWebGL":
                continue
            shown = run_shown(page, javascript(trial))
            assert shown_outcome(shown, operation) == (expected["load"], expected["readback"], expected["exception"]), (
                operation, shown, expected)
    finally:
        context.close()


@pytest.mark.parametrize("where", MISPLACED)
def test_misplaced_anonymous_is_shown_where_it_was_put(where):
    js = javascript(Trial("http://127.0.0.1:1/p.png", misplaced=where))
    assert MISPLACED_LINES[where][1] in js and "img.crossOrigin =" not in js


def test_misplaced_needs_no_attribute_and_getimagedata():
    with pytest.raises(UsageError):
        Trial("http://127.0.0.1:1/p.png", "anonymous", misplaced="img.origin")
    with pytest.raises(UsageError):
        Trial("http://127.0.0.1:1/p.png", misplaced="canvas.crossOrigin", operation="toBlob")
    with pytest.raises(UsageError):
        Trial("http://127.0.0.1:1/p.png", misplaced="img.crossorigin")
    assert Trial("http://127.0.0.1:1/p.png", misplaced="img.origin").spec(10)["misplaced"] == "img.origin"
    assert "misplaced" not in Trial("http://127.0.0.1:1/p.png").spec(10)


@pytest.mark.browser
def test_misplaced_anonymous_does_nothing_in_chromium(chromium, lab):
    """The server allows `*`: had any of these set the attribute, the picture would be readable."""
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(lab.site.origin + "/")
        page.evaluate(trial_source())
        for where in MISPLACED:
            trial = Trial(lab.cdn.url("picture.png", acao="*", nonce=True), misplaced=where)
            got = page.evaluate("spec => globalThis.corsLabTrial(spec)", trial.spec(5000))
            assert (got["load"], got["readback"]) == ("load", "SecurityError"), (where, got)
            assert any(where in step for step in got["steps"]), got["steps"]
            shown = run_shown(page, javascript(trial))
            assert shown_outcome(shown, "getImageData") == ("load", "SecurityError", "SecurityError"), (where, shown)
    finally:
        context.close()
