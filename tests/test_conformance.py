"""Conformance: each engine's model profile and the kernel browser browsing as it agree with that engine
on every scenario of the matrix: verdicts, the request headers the servers saw, messages.

The engine half is the browser tier (each engine skipped with the reason and its install command where
it is missing): the full matrix in Chromium, a representative subset in Firefox ESR and WebKitGTK
(`scenarios.representative`; `python -m cors_lab conformance --engine all` runs the full matrix in all
three). The model-vs-kernel half runs everywhere, for every profile.
"""

import pytest

from cors_lab import conformance
from cors_lab.__main__ import main
from cors_lab.engines import ENGINE_NAMES, unavailable_reason
from cors_lab.scenarios import matrix, representative
from cors_lab.servers import Lab
from cors_lab.spec.profiles import PROFILE_NAMES


@pytest.fixture(scope="module")
def lab():
    with Lab() as running:
        yield running


def _report(rows):
    return "\n" + conformance.text_report(rows)


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_model_and_kernel_agree_on_every_scenario(lab, profile):
    rows = conformance.run(matrix(), lab=lab, profile=profile)
    assert all(r.profile == profile for r in rows)
    bad = [r for r in rows if not r.agrees]
    assert not bad, _report(bad)


@pytest.mark.browser
@pytest.mark.parametrize("name", ENGINE_NAMES)
def test_each_engine_agrees_with_its_model_profile(lab, name):
    reason = unavailable_reason(name)
    if reason:
        pytest.skip(reason)
    scenarios = matrix() if name == "chromium" else representative()
    run = conformance.run_engine(name, scenarios, lab=lab, with_sequences=False)
    assert not run.error, run.error
    rows = run.rows
    assert len(rows) == len(scenarios) and all(r.real is not None and r.engine == name for r in rows), _report(rows)
    unexplained = [r for r in rows if not r.agrees and not r.known_deviation]
    assert not unexplained, _report(unexplained)
    # Requests were compared for every scenario: each engine's requests reached the servers.
    assert all(r.real_requests and r.model_requests for r in rows)


def test_the_representative_subset_keeps_every_group_and_every_deviation_s_scenario():
    from cors_lab.spec.profiles import DEVIATIONS

    subset, full = representative(), matrix()
    assert {t for s in subset for t in s.tags} == {t for s in full for t in s.tags}
    ids = {s.id for s in subset}
    pinned = {d.pinned_by for d in DEVIATIONS.values() if d.pinned_by in {s.id for s in full}}
    assert pinned and pinned <= ids


def test_a_disagreement_is_reported(lab):
    (s,) = [s for s in matrix() if s.id == "op=getImageData/tainted"]
    (row,) = conformance.run([s], lab=lab)
    row.engine = "chromium"
    row.real = row.kernel.with_engine("chromium", readback="ok", exception=None)
    row.real_requests = [dict(r, origin="http://elsewhere") for r in row.kernel_requests]
    assert not row.agrees
    text = conformance.text_report([row])
    assert "0/1 scenarios agree" in text and "readback: model says 'SecurityError', chromium says 'ok'" in text
    assert "request 1 origin: kernel" in text and "request 1 origin: model" in text
    assert "<table>" in conformance.html_report([row])


def test_a_message_difference_is_a_disagreement(lab):
    (s,) = [s for s in matrix() if s.id == "op=getImageData/tainted"]
    (row,) = conformance.run([s], lab=lab)
    row.engine, row.real, row.real_requests = "firefox", row.kernel.with_engine("firefox"), row.kernel_requests
    assert row.agrees  # the same verdict, requests and message
    row.real = row.kernel.with_engine("firefox", message="The operation is insecure.")
    assert row.message_differences and not row.agrees


def test_the_html_report_puts_engines_side_by_side_and_marks_differences(lab):
    scenarios = [s for s in matrix() if s.id in ("op=getImageData/tainted", "cookies/co='anonymous'/site")]
    runs = {}
    for name in ("chromium", "firefox"):
        rows = conformance.run(scenarios, lab=lab, profile=name)
        for r in rows:
            r.engine, r.real, r.real_requests = name, r.kernel.with_engine(name), r.kernel_requests
        runs[name] = conformance.EngineRun(name, rows=rows, version="1", settings={
            "profile": "regular", "third_party_cookies": f"{name}-policy", "storage_partitioning": "on",
            "isolation": "site data cleared"})
    page = conformance.html_report(runs)
    assert "chromium 1" in page and "firefox 1" in page and "standard (spec profile)" in page
    # Chromium sends Origin on the same-origin crossorigin request, Firefox and the standard do not.
    assert "differs" in page and "not the standard" in page
    assert "ran with: regular profile; third-party cookies firefox-policy" in page  # the settings measured
    runs["webkit"] = conformance.EngineRun("webkit", error="EngineUnavailable: WebKit did not start")
    assert "<li>webkit: failed: EngineUnavailable: WebKit did not start</li>" in conformance.html_report(runs)
    # ... and the cell names the deviation that explains it, listed with its links; Firefox shows none here.
    assert "<a href='#chromium-origin-on-same-origin-cors'>" in page
    assert "<tr id='chromium-origin-on-same-origin-cors'>" in page and "whatwg/fetch/pull/1170" in page
    assert "<a href='#firefox-" not in page
    shown = {r.scenario.id: conformance.deviations_shown(r) for r in runs["chromium"].rows}
    assert shown == {"op=getImageData/tainted": [], "cookies/co='anonymous'/site": ["origin-on-same-origin-cors"]}


def test_known_deviations_name_an_engine_and_a_link():
    for (engine, prefix), why in conformance.KNOWN_DEVIATIONS.items():
        assert engine in ENGINE_NAMES and any(s.id.startswith(prefix) for s in matrix())
        assert "https://" in why


def test_cli_without_an_engine(capsys, tmp_path):
    out = tmp_path / "report.html"
    assert main(["conformance", "--engine", "none", "--quiet", "--only", "redirect/", "--html", str(out)]) == 0
    text = capsys.readouterr().out
    assert "scenarios agree (model and kernel browser only" in text and out.read_text().startswith("<!doctype html>")
    assert main(["conformance", "--no-chromium", "--only", "no-such-scenario"]) == 2


def test_cli_skips_a_missing_engine_with_its_install_command(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("CORS_LAB_FIREFOX", str(tmp_path / "missing"))
    assert main(["conformance", "--engine", "firefox", "--quiet", "--limit", "1"]) == 3
    assert "skipped" in capsys.readouterr().out and "apt-get install -y firefox-esr" in unavailable_reason("firefox")
