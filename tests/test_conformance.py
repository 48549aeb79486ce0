"""Conformance: the model, the kernel browser and Chromium agree on every scenario of the matrix.

The Chromium half is the browser tier (skipped with the reason where no Chromium is installed);
the model-vs-kernel half runs everywhere.
"""

import pytest

from cors_lab import conformance
from cors_lab.__main__ import main
from cors_lab.harness import ChromiumHarness, browser_unavailable_reason
from cors_lab.scenarios import matrix
from cors_lab.servers import Lab


@pytest.fixture(scope="module")
def lab():
    with Lab() as running:
        yield running


def _report(rows):
    return "\n" + conformance.text_report(rows)


def test_model_and_kernel_agree_on_every_scenario(lab):
    rows = conformance.run(matrix(), lab=lab)
    bad = [r for r in rows if not r.agrees]
    assert not bad, _report(bad)


@pytest.mark.browser
def test_model_kernel_and_chromium_agree_on_every_scenario(lab):
    reason = browser_unavailable_reason()
    if reason:
        pytest.skip(reason)
    scenarios = matrix()
    with ChromiumHarness() as harness:
        rows = conformance.run(scenarios, lab=lab, harness=harness)
    assert len(rows) >= 300
    assert all(r.chromium is not None for r in rows), _report([r for r in rows if r.chromium is None])
    unexplained = [r for r in rows if not r.agrees and not r.known_deviation]
    assert not unexplained, _report(unexplained)
    # Requests were compared for every scenario where Chromium reached the server.
    assert sum(bool(r.chromium_requests) for r in rows) >= 300


def test_a_disagreement_is_reported(lab):
    (s,) = [s for s in matrix() if s.id == "op=getImageData/tainted"]
    (row,) = conformance.run([s], lab=lab)
    row.chromium = row.kernel.with_engine("browser", readback="ok", exception=None)
    row.chromium_requests = [dict(r, origin="http://elsewhere") for r in row.kernel_requests]
    assert not row.agrees
    text = conformance.text_report([row])
    assert "0/1 scenarios agree" in text and "readback: model says 'SecurityError', browser says 'ok'" in text
    assert "request 1 origin" in text
    assert "<table>" in conformance.html_report([row])


def test_cli_without_chromium(capsys, tmp_path):
    out = tmp_path / "report.html"
    assert main(["conformance", "--no-chromium", "--quiet", "--only", "redirect/", "--html", str(out)]) == 0
    text = capsys.readouterr().out
    assert "scenarios agree (model and kernel browser only" in text and out.read_text().startswith("<!doctype html>")
    assert main(["conformance", "--no-chromium", "--only", "no-such-scenario"]) == 2
