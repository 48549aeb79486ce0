"""The live probe in small test notebooks, in a real JupyterLab and Notebook 7 driven by Debian's Chromium:
``await ticket`` inside a cell, the opaque-origin page with the kit's server extension, a lab started on
purpose under the other host name, and the extension itself answering without a token.

Each test writes its notebook into a Jupyter server the session shares (the ``jupyter`` fixture: one
``jupyter lab`` / ``jupyter notebook`` per app, address and extension setting, tests/e2e/jupyter.py), opens
it in a fresh browser context (so a kernel of its own), runs it all, waits for the probe's data-* state in
the page, then asks the kernel itself what reached it.
(Formerly tests/test_e2e_jupyterlab.py, with its own server class; now on the e2e helpers.)
"""

from __future__ import annotations

import pytest
import requests

from .jupyter import JupyterServer
from .notebook import NotebookPage, new_context, record

TAINTED = "tainted by cross-origin data"
RED_QUADRANT = [220, 50, 47, 255]

LIVE_CELLS = [
    "import cors_lab\nfrom cors_lab import LiveProbe, compare\nlab = cors_lab.start(host=\"127.0.0.1\")",
    "probe = LiveProbe(lab)\nprobe",
    "tainted = probe.run(lab.cdn.url(\"picture.png\", nonce=True))\n"
    "readable = probe.run(lab.cdn.url(\"picture.png\", acao=\"*\", nonce=True), crossorigin=\"anonymous\")",
    "outcome = await readable  # waits inside this cell without blocking the kernel\noutcome.verdict",
    "compare(lab, lab.cdn.url(\"picture.png\", acao=\"*\"), \"anonymous\", \"getImageData\", probe)",
]
OPAQUE_CELLS = [
    "import cors_lab\nfrom cors_lab.live import LiveProbe\nlab = cors_lab.start(host=\"127.0.0.1\")",
    "probe = LiveProbe(lab, mode=\"opaque\")  # what Binder and JupyterHub get (mode=\"auto\" there)\nprobe",
    "star = probe.run(probe.url(\"picture.png\", acao=\"*\", nonce=True), \"anonymous\")\n"
    "null = probe.run(probe.url(\"picture.png\", acao=\"null\", nonce=True), \"anonymous\")\n"
    "exact = probe.run(probe.url(\"picture.png\", acao=lab.site.origin, nonce=True), \"anonymous\")\n"
    "none = probe.run(probe.url(\"picture.png\", nonce=True), \"anonymous\")\n"
    "plain = probe.run(probe.url(\"picture.png\", nonce=True))",
    "cors_lab.compare(lab, probe.url(\"picture.png\", acao=\"null\"), \"anonymous\", \"getImageData\", probe)",
]
MISMATCH_CELLS = [
    "import time\nimport cors_lab\nfrom cors_lab.live import LiveProbe, LiveProbeTimeout\n"
    "lab = cors_lab.start(host=\"127.0.0.1\")  # on purpose: this page is at localhost",
    "probe = LiveProbe(lab)\nprobe",
    "ticket = probe.run(lab.cdn.url(\"picture.png\", acao=\"*\"), \"anonymous\")",
    "t0 = time.perf_counter()\ntry:\n    waited = repr(probe.wait(ticket, timeout=30))\n"
    "except LiveProbeTimeout as err:\n    waited = str(err)\nblocked_s = time.perf_counter() - t0",
]

STATE = """{
  "results": {k: [type(v).__name__, v.engine, v.load, v.readback, v.exception, v.page, v.message,
                  v.pixel and list(v.pixel), v.url] for k, v in probe.results.items()},
  "failures": probe.failures, "problem": probe.problem, "status": probe.status, "errors": probe.errors,
  "site": lab.site.origin, "urls": {k: t.url for k, t in probe.tickets.items()},
  "timing": {k: v.extra.get("timing") for k, v in probe.results.items()},
  "in_page_ms": {k: v.elapsed_ms for k, v in probe.results.items()},
  "comparisons": [{"agree": c.agree, "page": c.page, "text": str(c)}
                  for c in Out.values() if type(c).__name__ == "Comparison"],
}"""


def _run(chromium, server: JupyterServer, name: str, tickets: list[str], *, host: str | None = None,
         shot: str) -> tuple:
    context, _ = new_context(chromium)
    try:
        nb = NotebookPage(context, runtime=server.runtime).open(server.notebook_url(name, host=host))
        nb.run_all()
        view = nb.wait_for_probe(tickets)
        state = nb.wait_for_kernel(STATE, lambda s: set(tickets) <= {*s["results"], *s["failures"]}, timeout=20,
                                   strict=False)
        nb.page.wait_for_function(  # the kernel's last widget updates (results table, comparison) reach the page
            """(n) => document.querySelectorAll(".cors-lab-live-results tr[data-ticket]").length >= n
                     && !document.body.innerText.includes("waiting for the browser")""",
            arg=len(tickets), timeout=10_000)
        nb.screenshot(shot, at=".cors-lab-live")
        text = nb.page.inner_text("body")
        waits = "blocked_s" in nb.cells()[-1]["source"]
        extra = nb.kernel("{'waited': waited, 'blocked_s': blocked_s}") if waits else {}
        record(shot, {**nb.timings, "server_start_s": server.start_s,
                      "frame_round_trip_ms": {k: v and round(v["frame_round_trip_ms"], 1)
                                              for k, v in state["timing"].items()},
                      "in_page_ms": {k: round(v, 1) for k, v in state["in_page_ms"].items() if v is not None}})
        pageerrors = [line for line in nb.console if line.startswith("pageerror")]
        return state, view, text, extra, pageerrors
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_live_probe_with_await_and_compare(chromium, jupyter, app):
    server = jupyter(app, "127.0.0.1")
    name = server.add_notebook("live-await-compare", LIVE_CELLS)
    state, view, text, _, pageerrors = _run(chromium, server, name, ["t1", "t2", "t3"], shot=f"e2e-{app}-live")
    site = state["site"]
    assert state["failures"] == {} and state["errors"] == [] and state["problem"] is None
    assert state["status"].startswith("ready:") and view["corsLabState"] == "ready" and not view.get("corsLabProblem")
    kind, engine, load, readback, exception, page, message, pixel, _ = state["results"]["t1"]
    assert (kind, engine, load, readback, exception, page) == ("Outcome", "browser", "load", "SecurityError",
                                                               "SecurityError", site)
    assert TAINTED in message
    kind, engine, load, readback, exception, page, message, pixel, _ = state["results"]["t2"]
    assert (kind, engine, load, readback, exception, page, pixel) == ("Outcome", "browser", "load", "ok", None, site,
                                                                      RED_QUADRANT)
    assert state["results"]["t3"][2:5] == ["load", "ok", None]  # compare()'s live run
    assert state["comparisons"][-1]["agree"] is True, state["comparisons"]
    assert "('load', 'ok', None)" in text  # `await readable` inside a cell, under Run All
    assert "All engines that answered agree" in text and "disagree" not in text
    assert pageerrors == []


@pytest.mark.browser
def test_opaque_probe_and_compare_with_the_extension(chromium, jupyter):
    server = jupyter("lab", "127.0.0.1", extension=True)
    name = server.add_notebook("live-opaque", OPAQUE_CELLS)
    state, _, text, _, pageerrors = _run(chromium, server, name, ["t1", "t2", "t3", "t4", "t5", "t6"],
                                         shot="e2e-jupyterlab-opaque")
    assert state["failures"] == {} and state["errors"] == [] and state["problem"] is None
    assert state["status"].startswith("ready:") and "in a page on null" in state["status"]
    # Absolute URLs on the notebook's own server (the kernel's address of it: the page was not there yet).
    assert state["urls"]["t1"].startswith(f"{server.base}cors-lab/img/picture.png?acao=*")
    verdicts = {k: tuple(v[2:6]) for k, v in state["results"].items()}
    assert verdicts == {
        "t1": ("load", "ok", None, "null"),  # ACAO * : readable from an opaque origin
        "t2": ("load", "ok", None, "null"),  # ACAO null: the serialized opaque origin matches
        # An exact origin never matches "null"; no ACAO fails the CORS check. Both: error event, and
        # drawing the broken image throws InvalidStateError.
        "t3": ("error", None, "InvalidStateError", "null"),
        "t4": ("error", None, "InvalidStateError", "null"),
        "t5": ("load", "SecurityError", "SecurityError", "null"),  # no crossorigin: loads, taints
        "t6": ("load", "ok", None, "null"),  # compare(): ACAO null, anonymous
    }
    comparison = state["comparisons"][-1]
    assert comparison["page"] == "null" and comparison["agree"] is True, comparison
    assert pageerrors == []


@pytest.mark.browser
def test_a_lab_started_under_the_other_name_warns_with_a_fix_and_wait_never_blocks(chromium, jupyter):
    server = jupyter("lab", "127.0.0.1")
    name = server.add_notebook("live-host-mismatch", MISMATCH_CELLS)
    state, view, text, extra, _ = _run(chromium, server, name, ["t1"], host="localhost",
                                       shot="e2e-jupyterlab-host-mismatch")
    assert "Your browser opened Jupyter at localhost, but the lab runs as 127.0.0.1" in state["problem"]
    assert 'Fix: lab = cors_lab.start(host="localhost")' in state["problem"]
    # The page says it too.
    assert view.get("corsLabProblem") == "1" and 'lab = cors_lab.start(host="localhost")' in text
    # The experiment itself still runs (a cross-site iframe loads images), and reached the kernel.
    assert state["results"]["t1"][2:5] == ["load", "ok", None]
    # In a cell, wait() cannot receive the answer, so it returns at once with the explanation.
    assert extra["blocked_s"] < 5.0
    assert "later cell" in extra["waited"] or extra["waited"].startswith("Outcome("), extra["waited"]


def test_extension_serves_pictures_without_a_token(jupyter):
    server = jupyter("lab", "127.0.0.1", extension=True)
    base = f"{server.base}cors-lab/img"
    r = requests.get(f"{base}/picture.png?acao=*&vary=Origin", headers={"Origin": "null"}, timeout=10,
                     allow_redirects=False)
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    assert r.headers["Access-Control-Allow-Origin"] == "*" and r.headers["Vary"] == "Origin"
    for absent in ("Set-Cookie", "Content-Security-Policy", "X-Content-Type-Options"):
        assert absent not in r.headers, absent
    # The lab's validators, not tornado's: a revalidation gets the lab's 304, CORS headers kept.
    assert r.headers["Last-Modified"] == "Wed, 01 Jan 2025 00:00:00 GMT" and r.headers["Etag"].count("-") == 2
    again = requests.get(f"{base}/picture.png?acao=*&vary=Origin", headers={"Origin": "null", "If-None-Match": r.headers["Etag"]},
                         timeout=10, allow_redirects=False)
    assert again.status_code == 304 and again.headers["Access-Control-Allow-Origin"] == "*" and not again.content
    plain = requests.get(f"{base}/picture.png", timeout=10, allow_redirects=False)
    assert plain.status_code == 200 and "Access-Control-Allow-Origin" not in plain.headers
    assert plain.content == r.content
    head = requests.head(f"{base}/picture.png", timeout=10, allow_redirects=False)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(r.content)
    apache = requests.get(f"{base}/picture.png?apache=1", headers={"Origin": "null"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in apache.headers  # SetEnvIf Origin ":" does not match "null"
    bad = requests.get(f"{base}/picture.png?to=http://127.0.0.1:1/", timeout=10, allow_redirects=False)
    assert bad.status_code == 400 and "cannot redirect" in bad.text
    for path in ("/nope.png", "/..%2Fservers.py", "/picture.png.bak"):
        assert requests.get(base + path, timeout=10, allow_redirects=False).status_code == 404, path
    # Everything else on the server still needs the token.
    assert requests.get(f"{server.base}api/contents", timeout=10, allow_redirects=False).status_code == 403


def test_nothing_but_images_goes_out_without_a_csp_and_bad_input_is_400(jupyter):
    server = jupyter("lab", "127.0.0.1", extension=True)
    base = f"{server.base}cors-lab/img"

    def get(path):
        return requests.get(base + path, timeout=10, allow_redirects=False)

    image = get("/picture.png?acao=*")
    assert image.status_code == 200 and "Content-Security-Policy" not in image.headers  # as the lab servers
    for path, status in [("/nope.png", 404), ("/picture.png?bogus=1", 400), ("/picture.png?acao=a%0BX-Injected:%20yes", 400),
                         ("/picture.png?acao=%01", 400), ("/picture.png?ctype=text/html", 200), ("/picture.png?ctype=", 200)]:
        r = get(path)
        assert r.status_code == status, (path, r.status_code, r.text)
        assert r.headers["Content-Security-Policy"] == "default-src 'none'", path
        assert "X-Injected" not in r.headers
        if status != 200:
            assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["Content-Type"].startswith("text/plain")
            assert r.text.count("\n") == 1 and "Traceback" not in r.text
    log = server.tail(400)
    assert "Traceback" not in log and "Uncaught exception" not in log
