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
