"""The live probe in JupyterLab opened in Firefox ESR and WebKitGTK (cors_lab.engines): the page says which
engine it is, the model and the kernel browser predict with that engine's profile, and all agree.

The telling experiment is a same-origin image with ``crossorigin="anonymous"``: Firefox sends no
``Origin`` (as the Fetch standard says), Chromium and WebKit do; the comparison checks the Origin the
servers saw from your browser against the one the model predicts for it. Under Run All the page reports
its engine after compare() ran, so this also shows the model predicting again for it.
Each engine is skipped, with the reason and the install command, where it is missing.
"""

from __future__ import annotations

import pytest

from cors_lab.engines import engine_class, unavailable_reason

from .engine_page import EnginePage
from .notebook import NotebookPage, record

CELLS = [
    "import cors_lab\nfrom cors_lab import LiveProbe, compare\nlab = cors_lab.start(host=\"127.0.0.1\")",
    "probe = LiveProbe(lab)\nprobe",
    "tainted = probe.run(lab.cdn.url(\"picture.png\", nonce=True))\n"
    "readable = probe.run(lab.cdn.url(\"picture.png\", acao=\"*\", nonce=True), crossorigin=\"anonymous\")",
    "compare(lab, lab.site.url(\"picture.png\", nonce=True), \"anonymous\", \"getImageData\", probe, all_profiles=True)",
]
STATE = """{
  "profile": probe.profile, "measured": probe.measured, "browser": probe.match and probe.match.browser,
  "detected": probe.frame.frontend.get("engine"),
  "results": {k: [v.load, v.readback, v.exception, v.message] for k, v in probe.results.items()},
  "failures": probe.failures, "errors": probe.errors,
  "comparison": [{"agree": c.agree, "profile": c.profile, "differences": c.differences,
                  "origins": {e: [s and s.origin for s in (c.requests[e] or [])] for e in c.requests},
                  "by_profile": {n: [h.origin for h in o.requests] for n, o in (c.by_profile or {}).items()}}
                 for c in Out.values() if type(c).__name__ == "Comparison"][-1:],
  "site": lab.site.origin,
  "model_messages": {k: cors_lab.predict(page=lab.site.origin, chain=[(t.url, 200, [])], operation="getImageData",
                                         engine=probe.profile).message for k, t in probe.tickets.items() if k == "t1"},
}"""
EXPECTED_ORIGIN = {"firefox": [None], "webkit": ["site"]}


@pytest.mark.browser
@pytest.mark.parametrize("name", ["firefox", "webkit"])
def test_jupyterlab_in_the_engine_predicts_with_its_profile_and_agrees(jupyter, name):
    reason = unavailable_reason(name)
    if reason:
        pytest.skip(reason)
    server = jupyter("lab", "127.0.0.1")
    notebook = server.add_notebook(f"live-in-{name}", CELLS)
    with engine_class(name)(timeout_ms=30_000) as engine, engine.context() as ctx:
        ctx.resize(1280, 1000)
        nb = NotebookPage(None, runtime=server.runtime, page=EnginePage(ctx)).open(server.notebook_url(notebook))
        nb.run_all()
        nb.wait_for_probe(["t1", "t2", "t3"], timeout_ms=60_000)
        state = nb.wait_for_kernel(STATE, lambda s: s["comparison"] and s["comparison"][0]["agree"] is not None
                                   and s["comparison"][0]["profile"] == name, timeout=30, strict=False)
        nb.page.wait_for_function(
            "() => document.querySelectorAll('.cors-lab-profiles').length > 0"
            " && !document.body.innerText.includes('waiting for the browser')", timeout=60_000)  # WebKitGTK under two test processes: 20 s was not always enough
        nb.screenshot(f"e2e-{name}-probe", at=".cors-lab-live")
        nb.screenshot(f"e2e-{name}-compare", at=".cors-lab-compare")
        text = nb.page.inner_text("body")
        said = nb.page.evaluate("() => [...document.querySelectorAll('.cors-lab-live-engine')].map(e => e.textContent)")
        record(f"e2e-{name}-live", {**nb.timings, "server_start_s": server.start_s, "engine": engine.version})
    assert state["failures"] == {} and state["errors"] == []
    assert state["detected"]["engine"] == name and state["detected"]["agrees"] is True, state["detected"]
    assert state["profile"] == name and state["measured"] is True, state
    # The tainted read-back: the message is this engine's, as its profile words it.
    assert state["results"]["t1"][:3] == ["load", "SecurityError", "SecurityError"]
    assert state["results"]["t1"][3] == state["model_messages"]["t1"]
    assert state["results"]["t2"][:3] == ["load", "ok", None]
    [comparison] = state["comparison"]
    expected = [state["site"] if o == "site" else o for o in EXPECTED_ORIGIN[name]]
    assert comparison["profile"] == name and comparison["agree"] is True, comparison
    assert comparison["origins"] == {"model": expected, "kernel": expected, "browser": expected}, comparison
    assert comparison["by_profile"]["chromium"] == [state["site"]] and comparison["by_profile"]["spec"] == [None]
    assert said and all(f"model profile {name}" in line and "(not measured)" not in line for line in said), said
    assert "All engines that answered agree" in text and "disagree" not in text
