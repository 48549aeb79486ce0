"""cors_lab.live headless: the widget's Python state, driven through the same comm path a page uses.

No browser here: a "page" is simulated (tests/live_page.py) by delivering the custom messages live.js
sends through ipywidgets' own message handler. The real page is tested in tests/test_e2e_jupyterlab.py.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from pathlib import Path

import pytest

import cors_lab
from cors_lab import live
from cors_lab.errors import CorsLabError, UsageError
from cors_lab.live import (
    NO_BROWSER,
    LiveProbe,
    LiveProbeError,
    LiveProbeTimeout,
    Ticket,
    one_origin_reason,
)
from cors_lab.outcome import Outcome
from cors_lab.trial import TRIAL_OPERATIONS
from live_page import TAINTED_MESSAGE, answer, attach, page_says, readable, tainted

LIVE_JS = Path(cors_lab.__file__).with_name("live.js")


# -- live.js: what the page side may and may not do ----------------------------------------------


def test_esm_is_the_real_js_file():
    # anywidget turns a pathlib.Path _esm into FileContents (re-read on change in dev mode).
    assert Path(live.ProbeFrame._esm._path) == LIVE_JS
    source = LIVE_JS.read_text()
    assert str(live.ProbeFrame._esm) == source
    assert re.search(r"^export default \{ render \};$", source, re.M)


def test_live_js_never_reads_the_query_or_a_token():
    source = LIVE_JS.read_text()
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("//"))
    assert "location.search" not in code and "location.href" not in code
    assert "token" not in code.lower()


def test_live_js_reports_by_custom_messages_not_trait_updates():
    # Trait updates from the page stall behind ipywidgets' per-model throttle under ipykernel 7 (see live.js).
    source = LIVE_JS.read_text()
    assert 'model.send({ type: "frontend"' in source and 'model.send({ type: "report"' in source
    assert "save_changes" not in source


def test_live_js_reuses_trial_js_and_sets_data_attributes():
    source = LIVE_JS.read_text()
    assert "corsLabTrial" not in source  # the page runs trial.js (its corsLabServe answers the trials)
    assert "corsLabServe" in source
    for attr in ("corsLabState", "corsLabDone", "corsLabMode", "corsLabProblem"):
        assert f"el.dataset.{attr}" in source
    assert 'frame.setAttribute("sandbox", "allow-scripts")' in source
    assert "allow-same-origin" not in source


# -- construction --------------------------------------------------------------------------------


def test_new_probe_without_a_browser(lab, probe):
    assert probe.mode == "site"
    assert probe.frame.probe_src == lab.site.probe_url()
    assert probe.frame.lab_host == lab.host
    assert probe.frame.trial_js == ""
    assert probe.status == NO_BROWSER == "no browser attached — the kernel engine carries on"
    assert not probe.attached and not probe.ready and probe.problem is None
    assert probe.results == {} and probe.errors == []
    assert repr(probe) == f"<LiveProbe site {lab.site.origin}: {NO_BROWSER}>"
    assert NO_BROWSER in probe.view.value
    assert probe.children == (probe.frame, probe.view, probe.error_output)


@pytest.mark.parametrize("bad, match", [
    (dict(lab="http://127.0.0.1:1"), "needs the running lab"),
    (dict(mode="iframe"), "mode must be one of auto, site, opaque"),
    (dict(timeout_ms=10), "timeout_ms must be an int"),
    (dict(timeout_ms=5.0), "timeout_ms must be an int"),
])
def test_bad_construction_names_the_fix(lab, bad, match):
    kwargs = {"lab": lab, **bad}
    with pytest.raises(UsageError, match=match):
        LiveProbe(kwargs.pop("lab"), **kwargs)


@pytest.mark.parametrize("environ, expected", [
    ({}, None),
    ({"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"}, "JUPYTERHUB_SERVICE_PREFIX is set: this notebook runs on JupyterHub"),
    ({"BINDER_LAUNCH_HOST": "https://mybinder.org/"}, "BINDER_LAUNCH_HOST is set: this notebook runs on Binder"),
    ({"JUPYTERHUB_SERVICE_PREFIX": ""}, None),
])
def test_one_origin_reason(environ, expected):
    reason = one_origin_reason(environ)
    assert reason == expected or (expected and reason.startswith(expected))


def test_auto_mode_picks_the_opaque_page_behind_one_origin(lab, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    probe = LiveProbe(lab, environ={"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"})
    try:
        assert probe.mode == "opaque" and probe.frame.mode == "opaque"
        assert probe.frame.probe_src == ""
        assert "globalThis.corsLabTrial = corsLabTrial" in probe.frame.trial_js
        assert probe.url("picture.png", acao="*") == "/user/ada/cors-lab/img/picture.png?acao=*"
        assert probe.note.startswith("JUPYTERHUB_SERVICE_PREFIX is set: this notebook runs on JupyterHub")
        assert "sandboxed page whose origin is opaque (null)" in probe.note and "ACAO * or null" in probe.note
        assert "cors-lab-live-note" in probe.view.value
        # The page's own base URL wins once it has reported it.
        attach(probe, lab, base_url="/user/bob/", frame_origin="null", hub=True, hostname="hub.example")
        assert probe.url("picture.png") == "/user/bob/cors-lab/img/picture.png"
        assert probe.problem is None and probe.page == "null"
    finally:
        probe.close()


def test_site_mode_url_is_the_cdn(lab, probe):
    assert probe.url("picture.png", acao="*") == lab.cdn.url("picture.png", acao="*")


def test_opaque_url_refuses_knobs_the_extension_cannot_serve(lab):
    probe = LiveProbe(lab, mode="opaque", environ={})
    try:
        with pytest.raises(UsageError, match="cannot redirect"):
            probe.url("picture.png", to=lab.site.url("picture.png"))
        with pytest.raises(UsageError, match="No asset"):
            probe.url("nope.png")
    finally:
        probe.close()


# -- run: queue and return at once ---------------------------------------------------------------


def test_run_returns_a_ticket_at_once_without_a_browser(lab, probe):
    t0 = time.perf_counter()
    ticket = probe.run(lab.cdn.url("picture.png"), "anonymous", "toDataURL", timeout_ms=1500)
    assert time.perf_counter() - t0 < 5  # no waiting for a browser (a guard against blocking, not a speed test)
    assert isinstance(ticket, Ticket) and ticket.id == "t1" and str(ticket) == "t1"
    assert probe.frame.pending == [{"id": "t1", "spec": {"url": lab.cdn.url("picture.png"), "crossorigin": "anonymous",
                                                       "operation": "toDataURL", "timeoutMs": 1500}}]
    assert probe.status == NO_BROWSER
    assert "waiting for the browser" in probe.view.value
    assert probe.run(lab.cdn.url("picture.png")).id == "t2"


@pytest.mark.parametrize("args, match", [
    (("http://x/\nHost: y",), "one line"),
    (("",), "one line"),
    (("http://x/a.png", True), "crossorigin must be None"),
    (("http://x/a.png", None, "readPixels"), "Unknown operation 'readPixels'"),
])
def test_run_validates(probe, args, match):
    with pytest.raises(UsageError, match=match):
        probe.run(*args)
    assert probe.frame.pending == []


def test_run_knows_every_trial_operation(lab, probe):
    for op in TRIAL_OPERATIONS:
        probe.run(lab.cdn.url("picture.png"), operation=op)
    assert [p["spec"]["operation"] for p in probe.frame.pending] == list(TRIAL_OPERATIONS)


# -- answers from the page -----------------------------------------------------------------------


def test_results_become_browser_outcomes(lab, probe):
    seen = []
    probe.observe(lambda change: seen.append(change["new"]), names="last")
    attach(probe, lab)
    assert probe.attached and probe.ready
    assert probe.status.startswith("ready: your browser (Chrome 156) runs each experiment in a page on " + lab.site.origin)
    t1 = probe.run(lab.cdn.url("picture.png"))
    probe.run(lab.cdn.url("picture.png", acao="*"), crossorigin="anonymous")  # t2
    answer(probe, "t1", tainted(lab))
    assert [p["id"] for p in probe.frame.pending] == ["t2"]  # answered ones leave the queue
    answer(probe, "t2", readable(lab))
    assert probe.frame.pending == []

    out = probe.wait(t1)
    assert isinstance(out, Outcome) and out.engine == "browser"
    assert out.verdict == ("load", "SecurityError", "SecurityError")
    assert out.message == TAINTED_MESSAGE and out.page == lab.site.origin
    assert out.url == lab.cdn.url("picture.png") and out.crossorigin is None and out.operation == "getImageData"
    assert out.origin_clean is False and out.steps[-1] == "ctx.getImageData(0, 0, 64, 48)"
    assert out.extra["ticket"] == "t1" and out.extra["timing"]["frame_round_trip_ms"] == 20.0
    assert out.extra["timing"]["kernel_round_trip_ms"] >= 0
    ok = probe.wait("t2")
    assert ok.verdict == ("load", "ok", None) and ok.pixel == (220, 50, 47, 255)
    assert seen == [out, ok]
    assert list(probe.results) == ["t1", "t2"]


def test_results_table_shows_verdict_exception_page_and_pixel(lab, probe):
    attach(probe, lab)
    probe.run(lab.cdn.url("picture.png"))
    probe.run(lab.cdn.url("picture.png", acao="*"), crossorigin="anonymous")
    answer(probe, "t1", tainted(lab))
    answer(probe, "t2", readable(lab))
    page = probe.view.value
    assert "loaded · SecurityError" in page
    assert "SecurityError: Failed to execute &#x27;getImageData&#x27;" in page
    assert f"page origin <code>{lab.site.origin}</code>" in page
    assert "background:rgba(220,50,47,1.000)" in page and "220,50,47,255" in page
    assert "cdn /img/picture.png?acao=*" in page  # the lab's URLs by origin label
    assert "waiting for the browser" not in page


def test_a_second_view_answering_again_is_ignored(lab, probe):
    attach(probe, lab)
    probe.run(lab.cdn.url("picture.png"))
    answer(probe, "t1", tainted(lab), view=1)
    answer(probe, "t1", readable(lab), view=2)
    assert probe.results["t1"].readback == "SecurityError"
    assert probe.errors == []


def test_unknown_tickets_and_junk_messages_are_ignored(lab, probe):
    answer(probe, "t99", tainted(lab))
    page_says(probe, {"type": "report", "report": "nope"})
    page_says(probe, {"type": "something-else"})
    page_says(probe, ["not", "a", "dict"])
    assert probe.results == {} and probe.errors == []


def test_a_page_error_is_a_failure_with_its_reason(lab, probe):
    attach(probe, lab)
    ticket = probe.run(lab.cdn.url("picture.png"))
    answer(probe, "t1", error="no answer from the probe page after 10000 ms")
    with pytest.raises(LiveProbeError, match="t1 failed in the browser: no answer from the probe page"):
        probe.wait(ticket)
    assert "failed: no answer from the probe page" in probe.view.value
    assert probe.frame.pending == []


def test_a_malformed_result_is_a_failure_not_a_crash(lab, probe):
    attach(probe, lab)
    probe.run(lab.cdn.url("picture.png"))
    answer(probe, "t1", {"load": "maybe"})
    assert "unexpected result: load='maybe'" in probe.failures["t1"]
    assert probe.errors == []


def test_callback_errors_are_captured_into_the_output(lab, probe, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("bug in the converter")

    monkeypatch.setattr(live, "outcome_from_trial", broken)
    attach(probe, lab)
    probe.run(lab.cdn.url("picture.png"))
    answer(probe, "t1", tainted(lab))  # must not raise out of the comm handler
    assert len(probe.errors) == 1 and "RuntimeError: bug in the converter" in probe.errors[0]
    (shown,) = probe.error_output.outputs
    assert shown["name"] == "stderr" and "bug in the converter" in shown["text"]


def test_listener_errors_are_captured_and_the_result_kept(lab, probe):
    probe._listeners.append(lambda tid, outcome: 1 / 0)
    attach(probe, lab)
    probe.run(lab.cdn.url("picture.png"))
    answer(probe, "t1", tainted(lab))
    assert "t1" in probe.results
    assert "ZeroDivisionError" in probe.errors[0]


# -- problems, in plain words with the fix --------------------------------------------------------


def test_host_mismatch_names_the_fix(lab, probe):
    other = "localhost" if lab.host == "127.0.0.1" else "127.0.0.1"
    attach(probe, lab, hostname=other, origin=f"http://{other}:8888")
    assert probe.problem is not None
    assert f"Your browser opened Jupyter at {other}, but the lab runs as {lab.host}" in probe.problem
    assert f'cors_lab.start(host="{other}")' in probe.problem
    assert "cross-site" in probe.problem
    assert "see probe.problem" in repr(probe)
    assert "cors-lab-live-problem" not in probe.view.value  # the page shows it (live.js), once


def test_one_origin_page_points_to_the_opaque_probe(lab, probe):
    attach(probe, lab, hostname="hub.example.org", origin="https://hub.example.org", hub=True, loopback=False,
           base_url="/user/ada/", frame_state="blocked", frame_origin=None)
    assert 'LiveProbe(lab, mode="opaque")' in probe.problem
    assert "did not answer" in probe.problem


def test_blocked_frame_says_so(lab, probe):
    attach(probe, lab, frame_state="blocked", frame_origin=None)
    assert probe.status == "attached, but the probe page did not answer in your browser (Chrome 156)"
    assert "blocked by a browser extension or a proxy" in probe.problem
    ticket = probe.run(lab.cdn.url("picture.png"))
    with pytest.raises(LiveProbeTimeout, match="blocked by a browser extension"):
        probe.wait(ticket, timeout=0.05)


def test_opaque_mode_without_the_extension_says_how_to_enable_it(lab):
    probe = LiveProbe(lab, mode="opaque", environ={})
    try:
        attach(probe, lab, extension="missing", frame_origin="null")
        assert "jupyter server extension enable cors_lab.jupyter_ext" in probe.problem
    finally:
        probe.close()


# -- waiting -------------------------------------------------------------------------------------


def test_wait_without_a_browser_times_out_naming_the_cause(lab, probe):
    ticket = probe.run(lab.cdn.url("picture.png"))
    t0 = time.perf_counter()
    with pytest.raises(LiveProbeTimeout) as info:
        probe.wait(ticket, timeout=0.2)
    assert 0.15 < time.perf_counter() - t0 < 10  # it waited its 0.2 s, and did not hang
    assert isinstance(info.value, TimeoutError) and isinstance(info.value, CorsLabError)
    assert f"No answer from the browser for t1 after 0.2 s. {NO_BROWSER}" in str(info.value)
    assert "nbval, a bare kernel" in str(info.value)


def test_wait_in_a_notebook_cell_never_blocks(lab, probe, monkeypatch):
    monkeypatch.setattr(live, "_in_kernel_thread", lambda: True)
    attach(probe, lab)
    ticket = probe.run(lab.cdn.url("picture.png"))
    t0 = time.perf_counter()
    with pytest.raises(LiveProbeTimeout, match=r"run probe.wait\('t1'\) in a later cell, or `await` the ticket"):
        probe.wait(ticket, timeout=30)
    assert time.perf_counter() - t0 < 5  # far below the 30 s it was allowed: it did not block
    answer(probe, "t1", tainted(lab))  # between cells
    assert probe.wait(ticket).readback == "SecurityError"


def test_wait_in_a_cell_before_the_browser_spoke_explains_run_all(lab, probe, monkeypatch):
    monkeypatch.setattr(live, "_in_kernel_thread", lambda: True)
    ticket = probe.run(lab.cdn.url("picture.png"))
    with pytest.raises(LiveProbeTimeout) as info:
        probe.wait(ticket)
    text = str(info.value)
    assert text.startswith("No answer from the browser for t1 yet, and no word from a browser at all.")
    assert "later cell" in text and "Run All" in text and text.endswith(f"none will come: {NO_BROWSER}.")


def test_wait_blocks_until_the_answer_arrives_from_another_thread(lab, probe):
    attach(probe, lab)
    ticket = probe.run(lab.cdn.url("picture.png"))
    timer = threading.Timer(0.1, answer, args=(probe, "t1", tainted(lab)))
    timer.start()
    try:
        assert probe.wait(ticket, timeout=5).readback == "SecurityError"
    finally:
        timer.cancel()


def test_wait_needs_one_of_its_own_tickets(lab, probe):
    with pytest.raises(UsageError, match="'t7' is not a ticket of this probe"):
        probe.wait("t7")


def test_await_ticket(lab, probe):
    attach(probe, lab)
    ticket = probe.run(lab.cdn.url("picture.png", acao="*"), "anonymous")

    async def cell():
        asyncio.get_running_loop().call_later(0.05, answer, probe, "t1", readable(lab))
        return await ticket

    assert asyncio.run(cell()).verdict == ("load", "ok", None)


def test_await_times_out(lab, probe):
    ticket = probe.run(lab.cdn.url("picture.png"))
    with pytest.raises(LiveProbeTimeout, match=NO_BROWSER):
        asyncio.run(probe.wait_async(ticket, timeout=0.1))


def test_clear_forgets_everything(lab, probe):
    attach(probe, lab)
    probe.run(lab.cdn.url("picture.png"))
    answer(probe, "t1", tainted(lab))
    probe.run(lab.cdn.url("picture.png"))
    probe.clear()
    assert probe.results == {} and probe.frame.pending == [] and probe.tickets == {}
    answer(probe, "t2", tainted(lab))  # a late answer for a forgotten ticket
    assert probe.results == {}
