"""The lab panel's Python side, headless: the form becomes a URL, Run fills the comparison."""

import pytest

from cors_lab.errors import InvalidStateError
from cors_lab.labcanvas import LabCanvas
from cors_lab.panel import Panel
from cors_lab.servers import Lab


@pytest.fixture(scope="module")
def lab():
    with Lab() as running:
        yield running


def test_form_to_url_keeps_free_text(lab):
    panel = Panel(lab)
    assert panel.crossorigin.label == "absent (no attribute)"
    panel.acao.value = "{page}\n*"
    panel.acac.value = "True"
    panel.vary.value = "Origin"
    panel.apache.value = True
    assert panel.knobs() == {"acao": [lab.site.origin, "*"], "acac": "True", "vary": "Origin", "apache": True}
    url = panel.url()
    assert url.startswith(lab.cdn.origin) and "acac=True" in url and url.count("acao=") == 2


@pytest.mark.parametrize(
    "crossorigin, acao, verdict",
    [
        pytest.param(None, "", ("load", "SecurityError", "SecurityError"), id="tainted"),
        pytest.param("anonymous", "", ("error", None, "InvalidStateError"), id="cors-error"),
        pytest.param("anonymous", "*", ("load", "ok", None), id="readable"),
    ],
)
def test_run_compares_model_and_kernel(lab, crossorigin, acao, verdict):
    panel = Panel(lab)
    panel.crossorigin.value = "(absent)" if crossorigin is None else crossorigin
    panel.acao.value = acao
    result = panel.run()
    assert result.outcomes["model"].verdict == verdict == result.outcomes["kernel"].verdict
    assert result.agree is True and result.loaded is not None


def test_redirect_and_login(lab):
    panel = Panel(lab)
    panel.redirect.value = ("other",)
    panel.status.value = 307
    panel.asset.value = "secret.png"
    panel.login.value = True
    result = panel.run()
    assert [h.status for h in result.loaded.hops] == [307, 200]
    assert result.loaded.hops[0].request.cookies is False  # other is cross-site: third-party cookies blocked


def test_bad_input_is_reported_not_raised(lab, capsys):
    panel = Panel(lab)
    panel.acao.value = "a\x00b"  # a header value with NUL: refused with the fix, form kept
    assert panel.run() is None
    # Outside a kernel the Output widget passes text through to stdout.
    text = capsys.readouterr().out + "".join(o.get("text", "") for o in panel.out.outputs)
    assert "UsageError" in text and "line break or NUL" in text
    assert panel.acao.value == "a\x00b"


def test_a_canvas_error_is_reported_in_the_output(lab, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))

    def broken_draw(self, image, *args, **kwargs):
        raise InvalidStateError("The HTMLImageElement provided is in the 'broken' state.")

    monkeypatch.setattr(LabCanvas, "draw_image", broken_draw)
    panel = Panel(lab)
    result = panel.run()
    assert result is not None  # the run itself went through; only the drawing failed
    html = [getattr(o, "data", "") for o in shown]
    assert any("drawImage on the kernel canvas threw InvalidStateError" in h and "broken" in h for h in html)


def test_a_knob_set_no_server_config_can_do_still_runs(lab):
    panel = Panel(lab)
    panel.acao.value = "http://a.test"
    panel.apache.value = True  # both: serverconf refuses (a real server would send two ACAO lines)
    result = panel.run()
    assert result is not None and result.outcomes["kernel"] is not None


# -- the live browser logged in and out like the kernel; a stopped lab; one origin -------------------


def test_login_is_mirrored_in_the_live_browser(lab):
    from cors_lab.live import LiveProbe

    probe = LiveProbe(lab, environ={})
    try:
        panel = Panel(lab, probe=probe)
        panel.asset.value = "secret.png"
        panel.login.value = True
        panel.run()
        visits = [p["visit"] for p in probe.frame.pending if "visit" in p]
        # Logged out at both host names (cookies ignore ports), then in at the image's server, before the trial.
        assert visits == [lab.site.logout_url(), lab.other.logout_url(), lab.cdn.login_url("alice")]
        assert [p["id"] for p in probe.frame.pending][-1] == "t1"
        panel.login.value = False
        panel.run()
        assert [p.get("visit") for p in probe.frame.pending][-3:-1] == [lab.site.logout_url(), lab.other.logout_url()]
        assert len(panel.browser.cookies) == 0
    finally:
        probe.close()


def test_a_panel_on_a_stopped_lab_says_so_and_rebinds(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))
    old = Lab()
    panel = Panel(old)
    old.stop()

    def said():
        return " ".join(o.get("text/plain", "") for o in shown if isinstance(o, dict))

    assert "The lab this panel was built on is stopped" in said()
    assert panel.rebind_button in shown
    shown.clear()
    assert panel.run() is None  # no "connection refused", no "all engines agree"
    assert "is stopped" in said()
    with Lab() as new:
        panel.rebind(new)
        result = panel.run()
        assert panel.lab is new and result.page == new.site.origin and result.agree is True


def test_the_panel_behind_one_origin_uses_the_extension():
    from cors_lab.live import LiveProbe

    env = {"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/", "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:8888/user/ada/"}
    with Lab() as lab:
        probe = LiveProbe(lab, environ=env)
        try:
            panel = Panel(lab, probe=probe)
            assert panel.opaque and panel.target.disabled and panel.redirect.disabled and panel.login.disabled
            # Its kernel browser (cookies and cache kept from Run to Run) is on the opaque page too.
            assert panel.browser.origin.serialize() == "null"
            panel.acao.value = "{page}"
            assert panel.knobs() == {"acao": "null"}
            assert panel.url() == "http://127.0.0.1:8888/user/ada/cors-lab/img/picture.png?acao=null"
            assert panel._repr_mimebundle_()["text/plain"] == (
                "<Lab panel: set the knobs and press Run (the model and the kernel and your browser)>")
        finally:
            probe.close()


def test_the_kernel_browser_browses_as_the_learner_s_engine_and_every_profile_can_be_shown(lab):
    from cors_lab.live import LiveProbe
    from live_page import attach, engine_facts

    probe = LiveProbe(lab, environ={})
    try:
        panel = Panel(lab, probe=probe)
        assert panel.browser.profile.name == "chromium"  # no browser has said which it is yet
        attach(probe, lab, engine=engine_facts("firefox", version="153", name="Firefox"))
        panel.target.value, panel.crossorigin.value, panel.all_profiles.value = "site", "anonymous", True
        result = panel.run()
        assert panel.browser.profile.name == "firefox" and result.profile == "firefox"
        assert [s.origin for s in result.requests["kernel"]] == [None]  # Firefox: no Origin same-origin
        assert list(result.by_profile) == ["spec", "chromium", "firefox", "webkit"]
    finally:
        probe.close()
