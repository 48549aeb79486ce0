"""cors_lab.comparison: one experiment in the model, the kernel browser and (simulated) the live browser."""

from __future__ import annotations

import pytest

import cors_lab
from cors_lab.comparison import Comparison, compare
from cors_lab.errors import UsageError
from cors_lab.live import LiveProbe
from cors_lab.servers import Lab
from live_page import answer, attach, readable


def test_the_package_attribute_stays_the_function():
    # The owner module is imported above; cors_lab.compare must still be the function, not a module.
    assert cors_lab.compare is compare and callable(cors_lab.compare)


def test_compare_without_a_probe_runs_model_and_kernel(lab):
    c = compare(lab, lab.cdn.url("picture.png", acao="*"), "anonymous", "getImageData")
    assert isinstance(c, Comparison)
    assert c.outcomes["model"].engine == "model" and c.outcomes["kernel"].engine == "kernel"
    assert c.outcomes["model"].verdict == c.outcomes["kernel"].verdict == ("load", "ok", None)
    assert c.outcomes["browser"] is None and c.agree is True and c.differences == []
    assert c.page == lab.site.origin
    assert "All engines that answered agree." in c._repr_html_()
    assert "no live probe given" in str(c)
    assert c._repr_mimebundle_()["text/plain"] == str(c)


def test_compare_tainting_agrees_on_the_security_error(lab):
    c = compare(lab, lab.cdn.url("picture.png"), None, "toDataURL")
    assert c.outcomes["model"].verdict == c.outcomes["kernel"].verdict == ("load", "SecurityError", "SecurityError")
    assert c.agree


def test_compare_with_a_probe_fills_in_the_browser_and_flags_disagreement(lab, probe):
    attach(probe, lab)
    c = compare(lab, lab.cdn.url("picture.png"), None, "getImageData", probe)
    assert c.ticket.id == "t1" and c.outcomes["browser"] is None
    assert "waiting for the browser" in c.widget.value
    assert "application/vnd.jupyter.widget-view+json" in c._repr_mimebundle_()
    # A browser that (wrongly) reads the tainted canvas back: the table says who disagrees and how.
    answer(probe, "t1", readable(lab))
    assert c.outcomes["browser"].engine == "browser"
    assert c.agree is False
    assert c.differences == [
        "readback: model says 'SecurityError', browser says 'ok'",
        "exception: model says 'SecurityError', browser says None",
        "readback: kernel says 'SecurityError', browser says 'ok'",
        "exception: kernel says 'SecurityError', browser says None",
    ]
    assert "The engines disagree" in c.widget.value
    assert "readback: model says &#x27;SecurityError&#x27;, browser says &#x27;ok&#x27;" in c.widget.value
    assert "DISAGREE: readback: model says" in str(c)
    assert c._on_live not in probe._listeners  # one answer, then it lets go


def test_compare_with_a_failed_live_run_keeps_the_reason(lab, probe):
    attach(probe, lab)
    c = compare(lab, lab.cdn.url("picture.png"), None, "getImageData", probe)
    answer(probe, "t1", error="no answer from the probe page after 10000 ms")
    assert c.outcomes["browser"] is None and "no answer from the probe page" in c.notes["browser"]
    assert c.agree is True  # model and kernel still agree


def test_compare_refuses_what_it_cannot_compare(lab):
    with pytest.raises(UsageError, match="Unknown operation"):
        compare(lab, lab.cdn.url("picture.png"), None, "localStorage")
    with pytest.raises(UsageError, match="running lab"):
        compare("lab", lab.cdn.url("picture.png"))
    opaque = LiveProbe(lab, mode="opaque", environ={})
    try:
        with pytest.raises(UsageError, match="site-mode probe"):
            compare(lab, lab.cdn.url("picture.png"), probe=opaque)
    finally:
        opaque.close()


def test_compare_without_a_response_skips_the_model(lab):
    stopped = Lab()
    url = stopped.cdn.url("picture.png")
    stopped.stop()
    c = compare(lab, url)
    assert c.outcomes["model"] is None and "no response" in c.notes["model"]
    assert c.outcomes["kernel"].load == "error"
    assert c.agree is None
