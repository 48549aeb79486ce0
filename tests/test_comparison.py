"""cors_lab.comparison: one experiment in the model, the kernel browser and (simulated) the live browser."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

import cors_lab
from cors_lab.browser import RawResponse
from cors_lab.comparison import Comparison, Rerouted, compare
from cors_lab.errors import UsageError
from cors_lab.jupyter_ext import check_knobs
from cors_lab.live import LiveProbe
from cors_lab.servers import Lab, respond
from live_page import answer, attach, engine_facts, page_says, readable

HUB_ENV = {"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/", "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:8888/user/ada/"}


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
    opaque = LiveProbe(lab, mode="opaque", environ=HUB_ENV)
    try:
        # Behind one origin compare() runs (issue 8), on the extension's URLs only: the page is opaque.
        with pytest.raises(UsageError, match=r"not one of its URLs\. Fix: cors_lab\.compare\(lab, probe\.url\(") as info:
            compare(lab, lab.cdn.url("picture.png"), probe=opaque)
        # The fix runs as printed in a notebook that did `import cors_lab` (it names no unimported name).
        fix = str(info.value).split("Fix: ", 1)[1]
        assert compile(fix, "<fix>", "eval") and fix.startswith("cors_lab.compare(")
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


# -- agreement means agreement: the pixel and the requests the servers saw ---------------------------


def test_a_different_pixel_is_a_disagreement(lab, probe):
    attach(probe, lab)
    c = compare(lab, lab.cdn.url("picture.png", acao="*"), "anonymous", "getImageData", probe)
    assert c.outcomes["kernel"].pixel == (220, 50, 47, 255)
    grey = {**readable(lab), "pixel": [128, 128, 128, 255]}
    answer(probe, "t1", grey)
    assert c.agree is False
    assert "pixel (0,0): kernel read 220,50,47,255, browser read 128,128,128,255" in c.differences


def test_requests_come_from_the_servers_log(lab, probe):
    attach(probe, lab)
    url = lab.cdn.url("picture.png", acao="*", nonce=True)
    c = compare(lab, url, "anonymous", "getImageData", probe)
    (model,), (kernel,) = c.requests["model"], c.requests["kernel"]
    assert model.origin == kernel.origin == lab.site.origin and kernel.seen and kernel.status == 200
    assert kernel.acao == "*" and c.requests["browser"] is None
    # The browser's answer arrives, but the server never saw its request (served from its cache?).
    answer(probe, "t1", readable(lab))
    assert c.requests["browser"] == [None] and c.agree is True
    assert "the servers saw no such request" in c.widget.value


def test_a_request_sent_differently_is_a_disagreement(lab, probe):
    import requests as http

    attach(probe, lab)
    url = lab.cdn.url("picture.png", acao="*", nonce=True)
    c = compare(lab, url, "anonymous", "getImageData", probe)
    # What a browser would send without its Origin header (say, an extension rewrote it).
    http.get(url, headers={"User-Agent": "Mozilla/5.0 (X11) Chrome/156"}, timeout=10)
    answer(probe, "t1", readable(lab))
    browser = c.requests["browser"][0]
    assert browser.seen and browser.origin is None
    assert c.agree is False
    assert any(d.startswith("request 1 Origin: the model predicts") and "the server saw from the browser (absent)" in d
               for d in c.differences), c.differences
    assert "cors-lab-requests" in c.widget.value


def _extension(url: str, headers: list, timeout: float) -> RawResponse:
    """The kit's server extension, answered in-process (its own rules: check_knobs + respond)."""
    parts = urlsplit(url)
    assert parts.netloc == "127.0.0.1:8888" and parts.path.startswith("/user/ada/cors-lab/img/"), url
    origin = dict(headers).get("Origin")
    answer = respond("img", parts.path.rsplit("/", 1)[-1], path=parts.path, knobs=check_knobs(parts.query),
                     origin=origin)
    return RawResponse(answer.status, tuple(answer.headers), answer.body)


def test_compare_behind_one_origin_predicts_for_the_null_page(lab):
    probe = LiveProbe(lab, environ=HUB_ENV)
    try:
        attach(probe, lab, base_url="/user/ada/", frame_origin="null", hub=True, hostname="hub.example",
               origin="https://hub.example", loopback=False)
        url = probe.url("picture.png", acao="*")
        assert url == "https://hub.example/user/ada/cors-lab/img/picture.png?acao=*"
        kernel_browser = cors_lab.Browser(page="null", transport=Rerouted(probe.kernel_url, _extension))
        c = compare(lab, url, "anonymous", "getImageData", probe, browser=kernel_browser)
        assert c.page == "null" and c.opaque
        model, kernel = c.outcomes["model"], c.outcomes["kernel"]
        # The same absolute URL for every engine; the kernel fetched it through the server's local address.
        assert model.url == kernel.url == url and model.page == kernel.page == "null"
        assert model.verdict == kernel.verdict == ("load", "ok", None)
        assert model.requests[0].origin == "null" and c.requests["kernel"][0].origin == "null"
        page_says(probe, {"type": "report", "report": {"id": "t1", "result": {**readable(lab), "page": "null"},
                                                        "url": url}})
        assert c.outcomes["browser"].page == "null" and c.agree is True
        assert "the kit&#x27;s server extension keeps no log" in c.widget.value
        # An exact origin never matches null: a load error in every engine.
        exact = compare(lab, probe.url("picture.png", acao="https://hub.example"), "anonymous", "getImageData",
                        probe, browser=kernel_browser)
        broken = ("error", None, "InvalidStateError")
        assert exact.outcomes["model"].verdict == exact.outcomes["kernel"].verdict == broken
    finally:
        probe.close()


def test_compare_on_a_stopped_lab_names_the_fix():
    stopped = Lab()
    stopped.stop()
    with pytest.raises(UsageError, match=r"This lab is stopped\. Fix: lab = cors_lab\.start\(\)"):
        compare(stopped, stopped.cdn.url("picture.png"))


# --- The learner's engine ---------------------------------------------------------------------------------


def test_compare_predicts_for_the_learner_s_engine(lab, probe):
    """A same-origin crossorigin image: Chromium sends Origin, Firefox does not (as the Fetch standard says)."""
    attach(probe, lab, engine=engine_facts("firefox", version="153", name="Firefox"))
    c = compare(lab, lab.site.url("picture.png", nonce=True), "anonymous", "getImageData", probe)
    assert c.profile == "firefox" and "model (predict) as firefox" in c.widget.value
    assert [s.origin for s in c.requests["model"]] == [s.origin for s in c.requests["kernel"]] == [None]
    tid = c.ticket.id
    answer(probe, tid, readable(lab))
    assert c.agree is True and "your browser (Firefox 153 on Linux)" in c.widget.value


def test_compare_predicts_again_when_the_engine_reports_after_the_cell(lab, probe):
    """Run All: compare() ran before the page said it is Firefox; the answer brings both."""
    c = compare(lab, lab.site.url("picture.png", nonce=True), "anonymous", "getImageData", probe)
    assert c.profile == "chromium" and [s.origin for s in c.requests["kernel"]] == [lab.site.origin]
    attach(probe, lab, engine=engine_facts("firefox", version="153", name="Firefox"))
    answer(probe, c.ticket.id, readable(lab))
    assert c.profile == "firefox"
    assert [s.origin for s in c.requests["model"]] == [s.origin for s in c.requests["kernel"]] == [None]


def test_a_difference_in_an_unmeasured_browser_is_not_called_a_disagreement(lab, probe):
    attach(probe, lab, engine=engine_facts("webkit", version="18.2", platform="macOS", name="Safari"))
    c = compare(lab, lab.cdn.url("picture.png"), None, "getImageData", probe)
    answer(probe, c.ticket.id, readable(lab))  # Safari (say) reads a tainted canvas back
    assert c.agree is False and c.unmeasured and "has not measured Safari 18.2 on macOS" in c.unmeasured
    assert "Your browser differs from the model here" in c.widget.value
    assert "The engines disagree" not in c.widget.value
    assert "DIFFERS (not measured)" in str(c) and "DISAGREE" not in str(c)


def test_compare_can_show_every_engine_profile_side_by_side(lab, probe):
    attach(probe, lab, engine=engine_facts("webkit", name="WebKitGTK"))
    c = compare(lab, lab.site.url("picture.png", nonce=True), "anonymous", "getImageData", probe, all_profiles=True)
    assert list(c.by_profile) == ["spec", "chromium", "firefox", "webkit"]
    sent = {name: [h.origin for h in o.requests] for name, o in c.by_profile.items()}
    assert sent == {"spec": [None], "chromium": [lab.site.origin], "firefox": [None], "webkit": [lab.site.origin]}
    shown = c.widget.value
    assert "the model for each engine" in shown and "webkit (WebKitGTK 2.50.6) · your browser" in shown
    assert "model as firefox" in str(c)
