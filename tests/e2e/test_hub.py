"""Notebooks 01 and 07 and the lab panel on a real one-origin JupyterHub, as a Binder learner meets them.

The learner logs in at /hub/login, opens /user/learner/lab/tree/notebooks/<nb> and presses Run All;
Chromium may reach the hub's origin only (anything else is aborted, as the learner's browser cannot
reach the server machine's loopback ports). What reached the kernel is asked of the kernel itself.
Issue 8's "one-origin mode, complete": every cell runs, the live results arrive over URLs the browser
can reach (the kit's server extension), compare() and the panel run live with the page "null".
"""

from __future__ import annotations

import time

import pytest

from .course import PANEL_CELL, PANEL_STATE, PROBE_STATE, TAINTED_CELL
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
            t0 = time.perf_counter()
            nb.timings["login_and_spawn_s"] = one_origin_hub.login(nb.page)
            nb.open(one_origin_hub.notebook_url("07-your-browser"))
            nb.page.evaluate("() => corsLabE2E.hideLeftArea()")
            t_run = time.perf_counter()
            nb.run_all()
            nb.timings["login_to_run_all_done_s"] = time.perf_counter() - t0
            nb.wait_for_probe(["t1", "t2", "t3"])
            # Live results in the kernel: t1, t2 and compare()'s t3 (from Run All's start).
            state = nb.wait_for_kernel(PROBE_STATE, lambda s: {"t1", "t2", "t3"} <= {*s["results"], *s["failures"]},
                                       timeout=30, strict=False)
            nb.timings["run_all_to_live_results_in_kernel_s"] = time.perf_counter() - t_run
            cells = nb.cells()
        nb.screenshot("hub-07-probe", cell=0)
        nb.screenshot("hub-07-compare", cell=2)
        record("hub-07", {"hub_start_s": one_origin_hub.start_s, "venv_build_s": one_origin_hub.venv.build_s,
                          "kit_install_s": one_origin_hub.venv.install_s, **nb.timings,
                          "peak_pss_mb": round(memory.peak_mb), "peak_parts_mb": memory.peak_parts})
        yield nb, cells, state, blocked
    finally:
        context.close()


def test_run_all_completes_in_07_on_hub(hub_07):
    _, cells, _, _ = hub_07
    assert error_outputs(cells) == [] and unexecuted(cells) == [], (error_outputs(cells), unexecuted(cells))


def test_live_results_arrive_in_07_on_hub(hub_07, one_origin_hub):
    _, _, state, blocked = hub_07
    assert state["mode"] == "opaque" and state["failures"] == {} and state["problem"] is None, state
    # Cell 2: "one tainting, one readable" -- in the learner's browser, over URLs it can reach.
    got = {k: (v["load"], v["readback"], v["page"]) for k, v in state["results"].items()}
    assert got.get("t1") == ("load", "SecurityError", "null") and got.get("t2") == ("load", "ok", "null"), (
        got, state["urls"])
    assert state["results"]["t2"]["pixel"] == [220, 50, 47, 255]
    # Absolute URLs (predict needs a scheme), and the page loaded them from the hub's own origin.
    assert all(u.startswith("http://") for u in state["urls"].values()), state["urls"]
    public = f"{one_origin_hub.url}/user/{one_origin_hub.user}/cors-lab/img/picture.png"
    assert all(v["url"].startswith(public) for v in state["results"].values()), state["results"]
    assert blocked == [], f"the page asked for URLs off the hub's origin: {blocked}"


def test_compare_runs_live_in_07_on_hub(hub_07):
    nb, cells, state, _ = hub_07
    assert state["comparisons"], f"no Comparison was displayed: {error_outputs(cells)}"
    comparisons = nb.kernel(PROBE_STATE)["comparisons"]
    # Every compare() cell (07 has two: anonymous with ACAO *, and a plain image with every profile;
    # its use-credentials experiment is a question now, which runs only after the learner's choice) is
    # predicted for the opaque page, on the same absolute URL, and agrees live.
    for c in comparisons:
        assert c["page"] == "null" and c["browser"] is not None and c["agree"] is True, c
    (approved,) = [c for c in comparisons if "'anonymous'" in c["text"]]
    # anonymous with ACAO * is readable everywhere, from the opaque page too.
    assert {tuple(v) for v in approved["models"].values()} == {("load", "ok", None)}, approved
    (plain,) = [c for c in comparisons if "'anonymous'" not in c["text"]]
    # No crossorigin: it loads and taints, in every engine and every profile.
    assert {tuple(v) for v in plain["models"].values()} == {("load", "SecurityError", "SecurityError")}, plain


def test_panel_runs_live_on_hub(hub_07):
    nb, _, _, blocked = hub_07
    t0 = time.perf_counter()
    nb.click_button("Run", cell=PANEL_CELL)
    panel = nb.wait_for_kernel(PANEL_STATE, lambda s: s["outputs"] or s["last"], timeout=30)
    assert panel["last"] is not None, panel["outputs"]
    panel = nb.wait_for_kernel(PANEL_STATE, lambda s: s["last"]["browser"], timeout=20, strict=False)
    nb.timings["panel_run_to_live_result_s"] = time.perf_counter() - t0
    nb.screenshot("hub-07-panel", cell=PANEL_CELL, at=".cors-lab-compare")
    record("hub-07-panel", {"panel_run_to_live_result_s": nb.timings["panel_run_to_live_result_s"]})
    assert panel["last"]["page"] == "null" and panel["last"]["browser"] is not None, panel["last"]
    assert panel["last"]["agree"] is True, (panel["last"]["text"], blocked, nb.console[-10:])
    # The readable case too: ACAO null, crossorigin anonymous, in every engine.
    reply, _ = nb.execute('panel.acao.value = "{page}"; panel.crossorigin.value = "anonymous"')
    assert reply["status"] == "ok", reply
    nb.click_button("Run", cell=PANEL_CELL)
    panel = nb.wait_for_kernel(PANEL_STATE, lambda s: s["last"] and s["last"]["browser"]
                               and "acao=null" in s["last"]["url"], timeout=30)
    assert panel["last"]["agree"] is True and panel["last"]["pixels"]["browser"] == [220, 50, 47, 255], panel["last"]
    assert blocked == [], blocked


@pytest.mark.parametrize("name, raised", [("01-three-outcomes", ["SecurityError", "InvalidStateError"]),
                                          ("06-save-to-localstorage", [])])
def test_kernel_notebooks_run_to_the_end_on_hub(chromium, one_origin_hub, name, raised):
    context, blocked = new_context(chromium, only_origin=one_origin_hub.url)
    nb = NotebookPage(context, runtime=one_origin_hub.runtime)
    try:
        t0 = time.perf_counter()
        one_origin_hub.login(nb.page)
        nb.open(one_origin_hub.notebook_url(name))
        nb.page.evaluate("() => corsLabE2E.hideLeftArea()")
        nb.run_all()  # its promise says false here: a raises-exception cell counts as a failure
        record(f"hub-{name[:2]}", {"login_to_run_all_done_s": time.perf_counter() - t0, **nb.timings})
        cells = nb.cells()
        nb.screenshot(f"hub-{name[:2]}-start", cell=TAINTED_CELL if name.startswith("01") else 2)
        nb.screenshot(f"hub-{name[:2]}-end", cell=len(cells) - 1)
    finally:
        context.close()
    assert unexecuted(cells) == [] and error_outputs(cells) == [], (unexecuted(cells), error_outputs(cells))
    # The deliberate errors are there, and they are the browser's.
    got = [o["ename"] for c in cells if "raises-exception" in c["tags"] for o in c["outputs"] if o["type"] == "error"]
    assert got == raised, got
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
        hub.stop(grace=90)  # the hub stops the server, which stops its kernels: slow on a loaded machine
    assert hub.leftovers == [], f"the hub's own shutdown left these running: {hub.leftovers}"
    assert marked(hub.mark) == [] and not hub.dir.exists()
