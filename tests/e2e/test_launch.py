"""Notebook 07 in JupyterLab and Notebook 7 launched the README's way: at localhost (Jupyter's default) and at
127.0.0.1, Run All in Chromium, the panel's Run pressed as a learner would (issue 8's "one launch that just
works" and "agreement that means agreement").
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

import pytest

from .course import LOG_STATE, OLD_NO_BROWSER, PANEL_CELL, PANEL_STATE, PROBE_STATE, TAINTED_CELL, probe_state
from .jupyter import JupyterServer
from .notebook import NotebookPage, error_outputs, new_context, record, unexecuted

pytestmark = pytest.mark.browser

NAMES = {"lab": "jupyterlab", "notebook": "notebook7"}
HOST_WARNING = "Your browser opened Jupyter at"  # live.py's words for the host mismatch
LIVE_WARNING = "You opened Jupyter at"  # live.js's
RED_QUADRANT = [220, 50, 47, 255]


@dataclass
class Run:
    server: JupyterServer
    nb: NotebookPage
    cells: list[dict]
    state: dict


@pytest.fixture(scope="module")
def run_07(chromium, jupyter):
    """``run_07(app, ip, browse=None)``: notebook 07 after Run All, once per (app, ip, browse) in this module;
    ``browse`` opens the page under another host name than the server's. One server per (app, ip) (the
    session's `jupyter` pool): a ``browse`` run opens a copy of 07, so it gets a kernel of its own."""
    runs: dict[tuple, Run] = {}
    with contextlib.ExitStack() as stack:
        def run(app: str, ip: str | None, browse: str | None = None) -> Run:
            key = (app, ip, browse)
            if key in runs:
                return runs[key]
            where = ip or "localhost"
            server = jupyter(app, ip)
            name = "07-your-browser" if browse is None else server.copy_notebook("07-your-browser", f"07-browsed-at-{browse}")
            context, _ = new_context(chromium)
            stack.callback(context.close)
            nb = NotebookPage(context, runtime=server.runtime).open(server.notebook_url(name, host=browse))
            nb.page.evaluate("() => corsLabE2E.hideLeftArea()")
            nb.run_all()
            nb.wait_for_probe(["t1", "t2", "t3"])
            nb.wait_for_kernel(PROBE_STATE, lambda s: {"t1", "t2", "t3"} <= set(s["results"]), timeout=20, strict=False)
            cells, state = nb.cells(), nb.kernel(PROBE_STATE)
            shot = f"{where}-{NAMES[app]}-07" + (f"-browsed-at-{browse}" if browse else "")
            nb.screenshot(f"{shot}-probe", cell=0)
            nb.screenshot(f"{shot}-compare", cell=2)
            nb.screenshot(f"{shot}-panel", cell=PANEL_CELL)
            record(shot, {"server_start_s": server.start_s, **nb.timings})
            runs[key] = Run(server, nb, cells, state)
            return runs[key]

        yield run


def _press_run(run: Run, **form: object) -> dict:
    """Set the panel's fields (``panel.<name>.value``) as a learner would, press Run, wait for the live row."""
    if form:
        reply, _ = run.nb.execute("; ".join(f"panel.{name}.value = {value!r}" for name, value in form.items()))
        assert reply["status"] == "ok", reply
    run.nb.click_button("Run", cell=PANEL_CELL)
    return run.nb.wait_for_kernel(PANEL_STATE, lambda s: s["last"] and s["last"]["browser"], timeout=30)


def _rendered(run: Run) -> str:
    return " ".join(c["rendered"] for c in run.nb.cells())


# The README's launch (lab at localhost) and both apps at 127.0.0.1. Notebook 7 at localhost is not run
# again: the lab's host name comes from the Jupyter server's address (cors_lab.hosting, the same
# jupyter_server for both apps), proved at localhost by JupyterLab, and Notebook 7's page, probe and
# panel are proved at 127.0.0.1 (here and in the panel tests below).
@pytest.mark.parametrize("app, ip", [("lab", None), ("lab", "127.0.0.1"), ("notebook", "127.0.0.1")],
                         ids=["localhost-lab", "127.0.0.1-lab", "127.0.0.1-notebook"])
def test_07_runs_live_with_no_warning(run_07, app, ip):
    """The README's launch (Jupyter at localhost) and an explicit --ip=127.0.0.1: every cell runs, live
    results arrive and agree, and nothing warns (the lab took the name in Jupyter's address)."""
    run = run_07(app, ip)
    assert error_outputs(run.cells) == [] and unexecuted(run.cells) == []
    assert run.state["problem"] is None and run.state["failures"] == {} and run.state["errors"] == []
    assert run.state["lab_host"] == (ip or "localhost"), run.state["lab_host_why"]
    got = {k: (v["load"], v["readback"]) for k, v in run.state["results"].items()}
    assert got["t1"] == ("load", "SecurityError") and got["t2"] == ("load", "ok"), got
    assert run.state["results"]["t2"]["pixel"] == RED_QUADRANT
    comparison = run.state["comparisons"][-1]
    assert comparison["browser"] is not None and comparison["agree"] is True, comparison
    problems = [p["notice"] for p in run.nb.probes() if p.get("corsLabProblem")]
    assert problems == [] and HOST_WARNING not in _rendered(run) and LIVE_WARNING not in _rendered(run)


def test_the_lab_follows_a_browser_that_uses_the_other_name(run_07):
    """Jupyter at localhost, the learner's address bar at 127.0.0.1: the lab (started without host=)
    takes the browser's name when the probe reports it; the experiments queued before still run."""
    run = run_07("lab", None, "127.0.0.1")
    assert error_outputs(run.cells) == [] and unexecuted(run.cells) == []
    state = run.nb.wait_for_kernel(PROBE_STATE, lambda s: s["lab_host"] == "127.0.0.1" and s["ready"], timeout=30)
    assert state["problem"] is None and state["failures"] == {}, state
    got = {k: (v["load"], v["readback"]) for k, v in state["results"].items()}
    assert got["t1"] == ("load", "SecurityError") and got["t2"] == ("load", "ok"), got
    panel = _press_run(run, acao="*", crossorigin="anonymous")
    assert panel["last"]["agree"] is True and panel["last"]["page"] == state["site"], panel["last"]


def test_printed_fix_runs_as_printed_and_every_widget_follows(run_07):
    """A lab started with the other host name on purpose warns; its printed fix, run as printed in a
    notebook that only did `import cors_lab`, leaves no warning, and the panel built before runs live."""
    run = run_07("lab", None)
    reply, _ = run.nb.execute('lab = cors_lab.start(host="127.0.0.1")')  # the browser is at localhost
    assert reply["status"] == "ok", reply
    state = run.nb.wait_for_kernel(PROBE_STATE, lambda s: s["problem"] and s["ready"], timeout=30)
    fix = re.search(r"Fix: (.+?) \(", state["problem"])
    assert fix, f"no fix printed: {state['problem']!r}"
    reply, _ = run.nb.execute(fix.group(1))
    assert reply["status"] == "ok", f"{fix.group(1)} -> {reply.get('ename')}: {reply.get('evalue')}"
    state = run.nb.wait_for_kernel(PROBE_STATE, lambda s: s["problem"] is None and s["ready"], timeout=30)
    panel = _press_run(run)
    assert panel["last"]["agree"] is True and "localhost" in panel["last"]["url"], panel["last"]


def test_panel_built_before_a_restart_says_its_lab_stopped_and_rebinds(run_07):
    run = run_07("lab", None)
    reply, _ = run.nb.execute("lab.stop(); lab = cors_lab.start(); probe = cors_lab.LiveProbe(lab)")
    assert reply["status"] == "ok", reply
    run.nb.click_button("Run", cell=PANEL_CELL)
    panel = run.nb.wait_for_kernel(PANEL_STATE, lambda s: s["outputs"], timeout=30)
    text = " ".join(panel["outputs"])
    run.nb.screenshot("localhost-jupyterlab-07-stale-panel", cell=PANEL_CELL, at=".cors-lab-live")
    assert "The lab this panel was built on is stopped" in text and "A lab is running at" in text, text
    assert "agree" not in text and "refused" not in text, text
    run.nb.click_button("Rebind the panel to the running lab", cell=PANEL_CELL)
    run.nb.wait_for_kernel("panel.lab is lab and panel.probe.lab is lab", bool, timeout=20)
    run.nb.wait_for_kernel(probe_state("panel.probe"), lambda s: s["ready"] and s["site"] in s["status"], timeout=30)
    rebound = _press_run(run)
    new_site = run.nb.kernel("lab.site.origin")
    assert rebound["last"]["agree"] is True and rebound["last"]["page"] == new_site, rebound["last"]


def test_status_printed_under_run_all_is_honest(run_07):
    run = run_07("lab", "127.0.0.1")
    printed = "".join(o["text"] for o in run.cells[1]["outputs"] if o["type"] == "stream")
    ready = [p for p in run.nb.probes() if p.get("corsLabState") == "ready"]
    assert ready, run.nb.probes()
    # The kernel printed before any browser message could reach it: it may say "not yet", never "none".
    assert OLD_NO_BROWSER not in printed and "no browser has answered yet" in printed, printed


def test_one_run_sends_one_browser_request(run_07):
    """The panel shows the probe a second time; pressing Run once must still load the picture once."""
    run = run_07("lab", "127.0.0.1")
    assert len(run.nb.probes()) == 2  # cell 1's view and the panel's
    # Run All's t1 ran while only cell 1's view existed: how many GETs one view makes for one trial.
    t1 = run.state["urls"]["t1"].split("/", 3)[3]
    before = [e for e in run.nb.kernel(LOG_STATE) if e["client"] == "browser" and e["path"] == "/" + t1]
    panel = _press_run(run, acao="*", crossorigin="anonymous", asset="picture.png", login=False)
    log = run.nb.kernel(LOG_STATE)  # the panel clears the log before each Run
    browser = [e for e in log if e["client"] == "browser" and e["path"].startswith("/img/")]
    record("one-run-requests", {"browser_gets": len(browser), "t1_gets_with_one_view": len(before),
                                "log": [f"{e['client']} {e['method']} {e['path']}" for e in log]})
    assert panel["last"]["agree"] is True, panel["last"]["text"]
    assert len(before) == 1 and len(browser) == 1, (before, browser)


def test_logged_in_secret_picture_agrees(run_07):
    """"Logged in" logs your browser in too: both draw alice's picture, and the servers saw both cookies."""
    run = run_07("lab", "127.0.0.1")
    # Alice's secret picture with credentials, ACAO {page} + ACAC true, "logged in" ticked.
    panel = _press_run(run, asset="secret.png", crossorigin="use-credentials", acao="{page}", acac="true", login=True)
    run.nb.screenshot("127.0.0.1-jupyterlab-07-panel-logged-in", at=".cors-lab-compare")
    last = panel["last"]
    record("logged-in-secret", {"pixels": last["pixels"], "agree": last["agree"], "text": last["text"],
                                "requests": last["requests"]})
    assert last["pixels"]["kernel"] == last["pixels"]["browser"] != [128, 128, 128, 255], last
    assert last["agree"] is True, last["text"]
    assert [r["cookies"] for r in last["requests"]["kernel"]] == ["cors_lab_user=alice"], last["requests"]
    assert [r["cookies"] for r in last["requests"]["browser"]] == ["cors_lab_user=alice"], last["requests"]
    # Unticked again: both logged out, both get the logged-out picture.
    out = _press_run(run, login=False)["last"]
    assert out["pixels"]["kernel"] == out["pixels"]["browser"] and out["agree"] is True, out


def test_panel_runs_live_in_notebook7_at_127(run_07):
    run = run_07("notebook", "127.0.0.1")
    panel = _press_run(run, asset="picture.png", login=False)
    run.nb.screenshot("127.0.0.1-notebook7-07-panel-run", at=".cors-lab-compare")
    assert panel["outputs"] and panel["last"]["agree"] is True, panel
    assert "load='load'" in panel["last"]["browser"] and "SecurityError" in panel["last"]["browser"], panel["last"]


def test_tables_fit_notebook7_column(run_07):
    """The guide's credentialed case in the panel (ACAO = the page's origin, ACAC true, logged in): the
    comparison, the requests the servers saw and the probe's results fit Notebook 7's column."""
    run = run_07("notebook", "127.0.0.1")
    _press_run(run, crossorigin="use-credentials", acao="{page}", acac="true", vary="Origin", login=True)
    run.nb.wait_for_kernel("panel.last.requests['browser'] is not None", bool, timeout=20)
    run.nb.page.wait_for_timeout(1000)  # the widget's last update reaches the page
    widths = {sel: run.nb.widths(sel) for sel in (".cors-lab-log", ".cors-lab-compare", ".cors-lab-live-results")}
    run.nb.screenshot("127.0.0.1-notebook7-07-panel-log-credentials", at=".cors-lab-log")
    record("notebook7-widths", widths)
    assert all(widths.values()), widths
    assert all(max(w["width"], w["scroll"]) <= w["room"] for found in widths.values() for w in found), widths


# Notebook 01 in both apps (its deliberate errors and its canvas, as each app renders them); 06, which
# raises nothing and shows no widget the 01 runs do not, in JupyterLab. Each opens its own notebook on the
# module's servers (its own kernel and browser context): JupyterLab at localhost, Notebook 7 at 127.0.0.1.
@pytest.mark.parametrize("app, name, raised", [
    ("lab", "01-three-outcomes", ["SecurityError", "InvalidStateError"]),
    ("notebook", "01-three-outcomes", ["SecurityError", "InvalidStateError"]),
    ("lab", "06-save-to-localstorage", []),
], ids=["01-lab", "01-notebook", "06-lab"])
def test_kernel_notebooks_run_all_with_short_errors(chromium, jupyter, app, name, raised):
    """Notebooks 01 and 06 in the README's launch: Run All completes, the deliberate errors are the
    browser's, shown short (message, Fix, the learner's line; %tb for the rest), 01's tainted canvas
    shows its picture."""
    ip = None if app == "lab" else "127.0.0.1"
    server = jupyter(app, ip)
    context, _ = new_context(chromium)
    try:
        nb = NotebookPage(context, runtime=server.runtime).open(server.notebook_url(name))
        nb.page.evaluate("() => corsLabE2E.hideLeftArea()")
        nb.run_all()
        cells = nb.cells()
        shot = f"{ip or 'localhost'}-{NAMES[app]}-{name[:2]}"
        if name.startswith("01"):
            nb.screenshot(f"{shot}-tainted", cell=TAINTED_CELL)  # scrolled there: the output is rendered
            canvases = nb.page.evaluate("(i) => corsLabE2E.canvasesIn(i)", TAINTED_CELL)
        else:
            nb.screenshot(f"{shot}-saved", cell=3)
        nb.screenshot(f"{shot}-end", cell=len(cells) - 1)
    finally:
        context.close()
    assert unexecuted(cells) == [] and error_outputs(cells) == [], (unexecuted(cells), error_outputs(cells))
    errors = [o for c in cells if "raises-exception" in c["tags"] for o in c["outputs"] if o["type"] == "error"]
    assert [o["ename"] for o in errors] == raised
    for c in cells:
        if "raises-exception" in c["tags"]:
            shown = c["rendered"]
            assert "Fix:" in shown and "your cell, line 1" in shown and "%tb shows the full traceback" in shown, shown
            assert "site-packages" not in shown and len(shown) < 900, shown
    if name.startswith("01"):
        tainted = cells[TAINTED_CELL]
        assert tainted["outputs"][0]["widget"] and "origin-clean: false (tainted)" in tainted["outputs"][0]["text"]
        assert canvases >= 1  # the picture itself, not a quoted status string
