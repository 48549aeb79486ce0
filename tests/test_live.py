"""cors_lab.live headless: the widget's Python state, driven through the same comm path a page uses.

No browser here: a "page" is simulated (tests/live_page.py) by delivering the custom messages live.js
sends through ipywidgets' own message handler. The real page is tested in tests/e2e/ (test_live_probe.py,
test_launch.py, test_hub.py).
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
    WAITING,
    LiveProbe,
    LiveProbeError,
    LiveProbeTimeout,
    Ticket,
    one_origin_reason,
)
from cors_lab.outcome import Outcome
from cors_lab.servers import Lab
from cors_lab.trial import TRIAL_OPERATIONS
from live_page import TAINTED_MESSAGE, answer, attach, engine_facts, page_says, readable, tainted

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
    # Not "no browser attached": under Run All a browser's first message arrives after the last cell,
    # so before it the kernel cannot tell "none" from "not yet" (issue 8).
    assert probe.status == WAITING and WAITING.startswith(NO_BROWSER)
    assert NO_BROWSER == "no browser has answered yet — the kernel engine carries on"
    assert "no browser attached" not in WAITING
    assert not probe.attached and not probe.ready and probe.problem is None
    assert probe.results == {} and probe.errors == []
    # The same text in site and opaque mode (nbval compares it behind one origin too).
    assert repr(probe) == f"<LiveProbe: {WAITING}>" == probe._repr_mimebundle_()["text/plain"]
    assert NO_BROWSER in probe.view.value
    assert probe.children == (probe.frame, probe.view, probe.rebind_button, probe.error_output)
    assert probe.rebind_button.layout.display == "none"


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


HUB_ENV = {"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/", "JUPYTERHUB_SERVICE_URL": "http://0.0.0.0:8888/user/ada/"}


def test_auto_mode_picks_the_opaque_page_behind_one_origin(lab):
    probe = LiveProbe(lab, environ=HUB_ENV)
    try:
        assert probe.mode == "opaque" and probe.frame.mode == "opaque"
        assert probe.frame.probe_src == ""
        assert "globalThis.corsLabTrial = corsLabTrial" in probe.frame.trial_js
        # The server's own address (a wildcard listener is reached at 127.0.0.1), given to the page too.
        assert probe.frame.server_url == "http://127.0.0.1:8888/user/ada/"
        # Absolute (predict needs a scheme): before the browser reports, the kernel's address of the server.
        assert probe.url("picture.png", acao="*") == "http://127.0.0.1:8888/user/ada/cors-lab/img/picture.png?acao=*"
        assert probe.note.startswith("JUPYTERHUB_SERVICE_PREFIX is set: this notebook runs on JupyterHub")
        assert "sandboxed page whose origin is opaque (null)" in probe.note and "ACAO * or null" in probe.note
        assert "cors-lab-live-note" in probe.view.value
        # Once the page has reported where it is, the address your browser uses; the kernel maps it back.
        attach(probe, lab, base_url="/user/ada/", frame_origin="null", hub=True, hostname="hub.example",
               origin="https://hub.example", loopback=False)
        public = probe.url("picture.png")
        assert public == "https://hub.example/user/ada/cors-lab/img/picture.png"
        assert probe.kernel_url(public) == "http://127.0.0.1:8888/user/ada/cors-lab/img/picture.png"
        assert probe.is_extension_url(public) and probe.is_extension_url(probe.kernel_url(public))
        assert not probe.is_extension_url(lab.cdn.url("picture.png"))
        assert probe.problem is None and probe.page == "null"
    finally:
        probe.close()


def test_opaque_mode_uses_the_hub_public_url_when_the_hub_says_it(lab):
    probe = LiveProbe(lab, environ={**HUB_ENV, "JUPYTERHUB_PUBLIC_URL": "https://hub.example/user/ada/"})
    try:
        assert probe.url("picture.png") == "https://hub.example/user/ada/cors-lab/img/picture.png"
    finally:
        probe.close()


def test_opaque_mode_without_a_server_says_so(lab):
    probe = LiveProbe(lab, mode="opaque", environ={"JUPYTER_RUNTIME_DIR": "/nonexistent"})
    try:
        assert probe.server is None
        assert "No Jupyter server was found for this kernel" in probe.problem
        with pytest.raises(UsageError, match="No Jupyter server was found"):
            probe.url("picture.png")
    finally:
        probe.close()


def test_behind_one_origin_run_refuses_the_lab_s_loopback_urls(lab):
    probe = LiveProbe(lab, environ=HUB_ENV)
    try:
        with pytest.raises(UsageError, match=r"cannot reach the lab's loopback servers.*probe\.url\("):
            probe.run(lab.cdn.url("picture.png", acao="*"), "anonymous")
        assert probe.frame.pending == []
        assert probe.run(probe.url("picture.png", acao="*"), "anonymous").id == "t1"
    finally:
        probe.close()


def test_site_mode_url_is_the_cdn(lab, probe):
    assert probe.url("picture.png", acao="*") == lab.cdn.url("picture.png", acao="*")


def test_opaque_url_refuses_knobs_the_extension_cannot_serve(lab):
    probe = LiveProbe(lab, mode="opaque", environ=HUB_ENV)
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
    assert probe.status == WAITING
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
    assert "cdn picture.png acao=*" in page  # the lab's URLs by origin label, knob values whole
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
        # `jupyter server extension enable` refuses a module no config file names (jupyter_server 2.21):
        # the kit's own command writes that file, and that is the fix the problem names.
        assert "Fix: python -m cors_lab enable-extension, then restart Jupyter." in probe.problem
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


# -- the lab it runs on: a new name, a stop, a rebind ----------------------------------------------


def test_the_probe_follows_a_lab_that_changes_its_name():
    with Lab() as lab:
        probe = LiveProbe(lab, environ={})
        try:
            other = "localhost" if lab.host == "127.0.0.1" else "127.0.0.1"
            assert cors_lab.start is not None and lab.use_host(other) is lab
            assert probe.frame.lab_host == other and probe.frame.probe_src == f"http://{other}:{lab.site.port}/probe"
            attach(probe, lab, hostname=other, origin=f"http://{other}:8888")
            assert probe.problem is None
        finally:
            probe.close()


def test_a_lab_started_by_default_follows_the_browser_s_host_name():
    with Lab(host="127.0.0.1", host_why="the default: no Jupyter server was found for this kernel") as lab:
        probe = LiveProbe(lab, environ={})
        try:
            attach(probe, lab, hostname="localhost", origin="http://localhost:8888")
            assert lab.host == "localhost" and lab.site.origin == f"http://localhost:{lab.site.port}"
            assert lab.host_why == "your browser's address (http://localhost:8888)"
            assert probe.frame.probe_src == lab.site.probe_url() and probe.problem is None
            assert probe.followed.startswith("The lab now uses localhost, the name in your browser's address bar")
            assert "The lab now uses localhost" in probe.view.value
        finally:
            probe.close()


def test_a_lab_given_its_host_name_stays_and_the_printed_fix_runs(lab, probe):
    # The fix the problem prints must run as printed, in a notebook that only did `import cors_lab`.
    other = "localhost" if lab.host == "127.0.0.1" else "127.0.0.1"
    attach(probe, lab, hostname=other, origin=f"http://{other}:8888")
    assert lab.host != other
    fix = re.search(r"Fix: (.+?) \(", probe.problem).group(1)
    assert fix == f'lab = cors_lab.start(host="{other}")'
    running = cors_lab.start()
    try:
        namespace = {"cors_lab": cors_lab, "lab": running}
        exec(fix, namespace)
        assert namespace["lab"] is running and running.host == other
    finally:
        running.stop()


def test_a_stopped_lab_is_said_and_a_rebind_offered():
    old = Lab()
    probe = LiveProbe(old, environ={})
    try:
        old.stop()
        assert probe.status.startswith("the lab this probe was built on is stopped")
        assert "Fix: probe.rebind(cors_lab.start())" in probe.problem
        assert probe.rebind_button.layout.display == ""
        with pytest.raises(UsageError, match=r"lab is stopped.*probe\.rebind"):
            probe.run(old.cdn.url("picture.png"))
        with Lab() as new:
            probe.rebind(new)
            assert probe.lab is new and probe.frame.probe_src == new.site.probe_url()
            assert probe.rebind_button.layout.display == "none" and probe.problem is None
            assert probe.run(new.cdn.url("picture.png")).id == "t1"
    finally:
        probe.close()


def test_the_rebind_button_takes_the_running_lab():
    old = Lab()
    probe = LiveProbe(old, environ={})
    try:
        old.stop()
        running = cors_lab.start()
        try:
            probe.rebind_button.click()
            assert probe.lab is running and probe.errors == []
        finally:
            running.stop()
    finally:
        probe.close()


# -- visits and what the page loaded --------------------------------------------------------------


def test_visits_queue_in_order_and_are_not_experiments(lab, probe):
    vid = probe.visit(lab.cdn.login_url("alice"))
    probe.run(lab.cdn.url("secret.png"))
    assert [p["id"] for p in probe.frame.pending] == [vid, "t1"]
    assert probe.frame.pending[0] == {"id": vid, "visit": lab.cdn.login_url("alice")}
    page_says(probe, {"type": "report", "report": {"id": vid, "visited": True, "url": lab.cdn.login_url("alice")}})
    assert probe.visits == {vid: "ok"} and [p["id"] for p in probe.frame.pending] == ["t1"]
    assert probe.results == {} and "t1" in probe.tickets


def test_no_visits_from_an_opaque_page(lab):
    probe = LiveProbe(lab, mode="opaque", environ=HUB_ENV)
    try:
        with pytest.raises(UsageError, match="sends no cookies"):
            probe.visit(lab.cdn.login_url("alice"))
    finally:
        probe.close()


def test_the_outcome_names_the_url_the_page_loaded(lab):
    probe = LiveProbe(lab, environ=HUB_ENV)
    try:
        ticket = probe.run(probe.url("picture.png", acao="*"), "anonymous")
        loaded = "https://hub.example/user/ada/cors-lab/img/picture.png?acao=*"
        page_says(probe, {"type": "report", "report": {"id": ticket.id, "result": readable(lab), "url": loaded}})
        out = probe.results[ticket.id]
        assert out.url == loaded and out.extra["asked_url"] == ticket.url
    finally:
        probe.close()


def test_live_js_shares_claims_between_views_of_one_probe():
    # anywidget gives each view its own model proxy: claims are keyed by the probe's id, not the proxy.
    source = LIVE_JS.read_text()
    assert 'model.get("probe_id")' in source and "WeakMap" not in source
    assert 'model.on("change:probe_src", onSource)' in source


# --- Which engine the learner's browser is -----------------------------------------------------------------


def test_live_js_detects_the_engine_by_features_not_the_user_agent_alone():
    js = (Path(live.__file__).with_name("live.js")).read_text()
    for feature in ("mozInnerScreenX", "-moz-orient", "window.chrome", "userAgentData", "-webkit-initial-letter"):
        assert feature in js
    assert "engine: detectEngine(ua)" in js


def test_before_the_page_reports_the_profile_is_chromium_and_nothing_is_claimed(lab, probe):
    assert probe.match is None and probe.profile == "chromium" and probe.measured is None
    assert "cors-lab-live-engine" not in probe.view.value


@pytest.mark.parametrize("facts, profile, measured", [
    (engine_facts("firefox", version="153", name="Firefox"), "firefox", True),
    (engine_facts("webkit", name="WebKitGTK"), "webkit", True),
    (engine_facts("webkit", version="18.2", platform="macOS", name="Safari"), "webkit", False),
    (engine_facts("firefox", version="115", name="Firefox"), "firefox", False),
    (engine_facts("unknown"), "spec", False),
])
def test_the_probe_predicts_with_the_detected_engine_s_profile_and_says_which(lab, probe, facts, profile, measured):
    attach(probe, lab, engine=facts)
    assert probe.profile == profile and probe.measured is measured
    shown = probe.view.value
    assert f"<code class='cors-lab-live-profile'>{profile}</code>" in shown
    assert ("(not measured)" in shown) == (not measured)
    if not measured and profile != "spec":
        assert "news, not a disagreement" in shown
