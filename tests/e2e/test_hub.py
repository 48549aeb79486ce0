"""Notebooks 01 and 07 and the lab panel on a real one-origin JupyterHub, as a Binder learner meets them.

The learner logs in at /hub/login, opens /user/learner/lab/tree/notebooks/<nb> and presses Run All;
Chromium may reach the hub's origin only (anything else is aborted, as the learner's browser cannot
reach the server machine's loopback ports). What reached the kernel is asked of the kernel itself.
Tests marked xfail(strict=True) reproduce issue 8 as it stands; they fail loudly once it is fixed
(then remove the mark). Only an AssertionError counts as the expected failure: a hub that does not
start, or a wait that times out, is an error.
"""

from __future__ import annotations

import pytest

from .course import ISSUE8_HUB, ISSUE8_PANEL, PANEL_CELL, PANEL_STATE, PROBE_STATE
from .hub import Hub
from .notebook import (
    QUIET_LAB,
    ROOT,
    NotebookPage,
    error_outputs,
    new_context,
    record,
    unexecuted,
)
from .procs import PeakMemory, marked

pytestmark = [pytest.mark.browser, pytest.mark.hub]
# Fixtures take `chromium` first: without a browser they skip before building a venv or starting a hub.

@pytest.fixture(scope="module")
def hub_07(chromium, one_origin_hub):
    """Notebook 07 after Run All on the hub: the open page, its cells, what the kernel got, the aborted URLs."""
    context, blocked = new_context(chromium, only_origin=one_origin_hub.url)
    nb = NotebookPage(context, runtime=one_origin_hub.runtime)
    try:
        with PeakMemory() as memory:
            nb.timings["login_and_spawn_s"] = one_origin_hub.login(nb.page)
            nb.open(one_origin_hub.notebook_url("07-your-browser"))
            nb.page.evaluate("() => corsLabE2E.hideLeftArea()")
            nb.run_all()
            nb.wait_for_probe(["t1", "t2"])
            nb.kernel("probe.status")  # the browser's last messages are in the kernel once it answers this
            cells = nb.cells()
            state = nb.kernel(PROBE_STATE)
        nb.screenshot("hub-07-probe", cell=0)
        nb.screenshot("hub-07-compare", cell=2)
        record("hub-07", {"hub_start_s": one_origin_hub.start_s, "venv_build_s": one_origin_hub.venv.build_s,
                          "kit_install_s": one_origin_hub.venv.install_s, **nb.timings,
                          "peak_pss_mb": round(memory.peak_mb), "peak_parts_mb": memory.peak_parts})
        yield nb, cells, state, blocked
    finally:
        context.close()


@pytest.mark.xfail(raises=AssertionError, strict=True, reason=ISSUE8_HUB)
def test_run_all_completes_in_07_on_hub(hub_07):
    _, cells, _, _ = hub_07
    assert error_outputs(cells) == [] and unexecuted(cells) == [], (error_outputs(cells), unexecuted(cells))


@pytest.mark.xfail(raises=AssertionError, strict=True, reason=ISSUE8_HUB)
def test_live_results_arrive_in_07_on_hub(hub_07):
    _, _, state, blocked = hub_07
    assert state["failures"] == {} and state["problem"] is None, state
    # Cell 2: "one tainting, one readable" -- in the learner's browser, over URLs it can reach.
    got = {k: (v["load"], v["readback"]) for k, v in state["results"].items()}
    assert got.get("t1") == ("load", "SecurityError") and got.get("t2") == ("load", "ok"), (got, state["urls"])
    assert blocked == [], f"the page asked for URLs off the hub's origin: {blocked}"


@pytest.mark.xfail(raises=AssertionError, strict=True, reason=ISSUE8_HUB)
def test_compare_runs_live_in_07_on_hub(hub_07):
    nb, cells, state, _ = hub_07
    assert state["comparisons"], f"no Comparison was displayed: {error_outputs(cells)}"
    nb.wait_for_probe(["t3"])
    last = nb.kernel(PROBE_STATE)["comparisons"][-1]
    assert last["browser"] is not None and last["agree"] is True, last


@pytest.mark.xfail(raises=AssertionError, strict=True, reason=ISSUE8_PANEL)
def test_panel_runs_live_on_hub(hub_07):
    nb = hub_07[0]
    if nb.cells()[PANEL_CELL]["count"] is None:  # Run All stopped before the panel
        nb.run_cell(PANEL_CELL)
    nb.click_button("Run", cell=PANEL_CELL)
    panel = nb.wait_for_kernel(PANEL_STATE, lambda s: s["outputs"] or s["last"], timeout=30)
    if panel["last"]:
        panel = nb.wait_for_kernel(PANEL_STATE, lambda s: s["last"]["browser"], timeout=20, strict=False)
    nb.screenshot("hub-07-panel", cell=PANEL_CELL, at=".cors-lab-live-probe")
    assert panel["last"] is not None, panel["outputs"]
    assert panel["last"]["browser"] is not None and panel["last"]["agree"] is True, panel["last"]


def test_01_runs_to_the_end_on_hub(chromium, one_origin_hub):
    context, blocked = new_context(chromium, only_origin=one_origin_hub.url)
    nb = NotebookPage(context, runtime=one_origin_hub.runtime)
    try:
        one_origin_hub.login(nb.page)
        nb.open(one_origin_hub.notebook_url("01-three-outcomes"))
        nb.page.evaluate("() => corsLabE2E.hideLeftArea()")
        nb.run_all()  # its promise says false here: a raises-exception cell counts as a failure
        cells = nb.cells()
        nb.screenshot("hub-01-tainted", cell=4)
        nb.screenshot("hub-01-end", cell=len(cells) - 1)
    finally:
        context.close()
    assert unexecuted(cells) == [] and error_outputs(cells) == [], (unexecuted(cells), error_outputs(cells))
    # The deliberate errors are there, and they are the browser's.
    raised = [o["ename"] for c in cells if "raises-exception" in c["tags"] for o in c["outputs"] if o["type"] == "error"]
    assert raised == ["SecurityError", "InvalidStateError"], raised
    assert blocked == [], blocked


def test_hub_stops_without_leftovers(chromium, learner_venv):
    """The fixture's promise: after stop, no process it started (hub, proxy, server, kernel) is left."""
    hub = Hub(venv=learner_venv, notebooks=ROOT / "notebooks", lab_settings=QUIET_LAB).start()
    try:
        context, _ = new_context(chromium, only_origin=hub.url)
        try:
            nb = NotebookPage(context, runtime=hub.runtime)
            hub.login(nb.page)
            nb.open(hub.notebook_url("00-start-here"))  # a kernel runs as the learner now
            running = marked(hub.mark)
            kinds = " ".join(" ".join(p.cmdline()) for p in running)
            assert "configurable-http-proxy" in kinds and "jupyterhub-singleuser" in kinds and "ipykernel" in kinds
            assert {p.username() for p in running} == {"root", hub.user}
        finally:
            context.close()
    finally:
        hub.stop()
    assert hub.leftovers == [], f"the hub's own shutdown left these running: {hub.leftovers}"
    assert marked(hub.mark) == [] and not hub.dir.exists()
