"""cors_lab.trial: the experiment's checks, the message that asks a page for it, and its result."""

from __future__ import annotations

import re

import pytest

from cors_lab import harness
from cors_lab.errors import UsageError
from cors_lab.trial import (
    READY_MESSAGE,
    RESULT_MESSAGE,
    TRIAL_JS,
    TRIAL_MESSAGE,
    Trial,
    TrialError,
    as_trial,
    outcome_from_trial,
)

LIVE_JS = TRIAL_JS.with_name("live.js")


def result(**changes) -> dict:
    return {"load": "load", "readback": "SecurityError", "exception": "SecurityError", "message": "tainted",
            "origin_clean_guess": False, "pixel": None, "page": "http://a.test", "elapsed_ms": 12.5,
            "steps": ["no crossorigin attribute", 3], "gl_error": None, **changes}


# -- Trial: the one validation ------------------------------------------------------------------


def test_trial_rejects_unknown_operation():
    with pytest.raises(UsageError, match="Unknown operation 'readPixels'"):
        Trial("http://127.0.0.1:1/img.png", operation="readPixels")


@pytest.mark.parametrize("url", ["", "http://x/\nHost: y", "http://x/\0", None, 42])
def test_trial_url_is_one_line(url):
    with pytest.raises(UsageError, match="url must be one line"):
        Trial(url)


def test_trial_crossorigin_is_absent_or_a_string():
    with pytest.raises(UsageError, match="crossorigin must be None"):
        Trial("http://x.test/i.png", True)


def test_trial_knows_the_page_only_operation():
    assert Trial("http://x.test/i.png", operation="localStorage").operation == "localStorage"


def test_as_trial_accepts_dict_and_rejects_unknown_keys():
    s = as_trial({"url": "http://x.test/i.png", "crossorigin": "anonymous", "operation": "toBlob"})
    assert s == Trial("http://x.test/i.png", "anonymous", "toBlob")
    assert as_trial(s) is s
    with pytest.raises(UsageError, match="Unknown scenario keys"):
        as_trial({"url": "http://x.test/i.png", "crossOrigin": "anonymous"})
    with pytest.raises(UsageError, match="A scenario is a Trial or a dict"):
        as_trial("http://x.test/i.png")


def test_the_harness_names_are_the_trial():
    assert harness.Scenario is Trial and harness.as_scenario is as_trial


# -- the message: one spec, one shape -----------------------------------------------------------


def test_spec_is_what_corslabtrial_takes():
    trial = Trial("http://x.test/i.png", "", "toBlob")
    assert trial.spec(5000) == {"url": "http://x.test/i.png", "crossorigin": "", "operation": "toBlob",
                                "timeoutMs": 5000}
    assert Trial("http://x.test/i.png", timeout_ms=250).spec(5000)["timeoutMs"] == 250


def test_both_sides_use_the_protocol_message_types():
    live_js, trial_js = LIVE_JS.read_text(encoding="utf-8"), TRIAL_JS.read_text(encoding="utf-8")
    # The requester (live.js) sends the trial message and listens for the other two ...
    for kind in (TRIAL_MESSAGE, READY_MESSAGE, RESULT_MESSAGE):
        assert f'"{kind}"' in live_js, kind
    # ... and trial.js answers it with the result message.
    assert f'"{TRIAL_MESSAGE}"' in trial_js and f'"{RESULT_MESSAGE}"' in trial_js


def test_live_js_builds_the_trial_message_in_one_place():
    source = LIVE_JS.read_text(encoding="utf-8")
    assert len(re.findall(rf'type: "{TRIAL_MESSAGE}"', source)) == 1
    assert re.search(rf'function trialMessage\(id, spec\) {{\s*return {{ type: "{TRIAL_MESSAGE}", id, spec }};',
                     source)


# -- the result --------------------------------------------------------------------------------


def test_outcome_from_trial_keeps_the_browser_details():
    out = outcome_from_trial(result(message="timeout", load="error", readback=None, exception=None),
                             url="u", crossorigin="anonymous", operation="toBlob", extra={"ticket": "t9"})
    assert out.verdict == ("error", None, None) and out.extra["timed_out"] is True and out.extra["ticket"] == "t9"
    assert out.engine == "browser" and out.crossorigin == "anonymous" and out.operation == "toBlob"
    assert out.steps == ("no crossorigin attribute", "3") and out.elapsed_ms == 12.5 and out.console == ""


def test_outcome_from_trial_takes_the_runners_timing_and_console():
    out = outcome_from_trial(result(pixel=[1, 2, 3, 255.0]), url="u", crossorigin=None, operation="getImageData",
                             console="blocked by CORS policy", elapsed_ms=250.0)
    assert out.elapsed_ms == 250.0 and out.extra["in_page_ms"] == 12.5
    assert out.console == "blocked by CORS policy" and out.pixel == (1, 2, 3, 255)


@pytest.mark.parametrize("bad", [None, [], {"load": "load", "readback": "maybe"}, {"readback": "ok"}])
def test_outcome_from_trial_refuses_what_is_not_a_result(bad):
    with pytest.raises(TrialError):
        outcome_from_trial(bad, url="u", crossorigin=None, operation="getImageData")
