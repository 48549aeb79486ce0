"""End to end: the live probe in a real JupyterLab and a real Notebook 7, driven by Debian's Chromium.

A test notebook starts the lab, shows a LiveProbe, queues a tainting and a readable experiment and a
side-by-side comparison, and awaits one ticket inside a cell. The test waits for the widget's data-*
state in the page, then asks the kernel itself (jupyter_client) what reached it: Outcomes with the
expected verdicts. Screenshots go to artifacts/ (gitignored). Every wait has a timeout; servers are
killed in the fixtures' finally.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import requests


pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SERVER_START_S = 45
KERNEL_IDLE_MS = 45_000
PROBE_DONE_MS = 30_000

CELLS = [
    "import cors_lab\nfrom cors_lab import LiveProbe, compare\nlab = cors_lab.start(host=\"127.0.0.1\")",
    "probe = LiveProbe(lab)\nprobe",
    "tainted = probe.run(lab.cdn.url(\"picture.png\", nonce=True))\n"
    "readable = probe.run(lab.cdn.url(\"picture.png\", acao=\"*\", nonce=True), crossorigin=\"anonymous\")",
    "outcome = await readable  # waits inside this cell without blocking the kernel\noutcome.verdict",
    "compare(lab, lab.cdn.url(\"picture.png\", acao=\"*\"), \"anonymous\", \"getImageData\", probe)",
]

# Runs in the kernel after the page shows every ticket done; prints what reached Python.
REPORT = """
import json as _json
print("REPORT" + _json.dumps({
    "results": {k: [type(v).__name__, v.engine, v.load, v.readback, v.exception, v.page, v.message,
                    v.pixel and list(v.pixel)] for k, v in probe.results.items()},
    "failures": probe.failures,
    "awaited": list(outcome.verdict),
    "problem": probe.problem,
    "status": probe.status,
    "errors": probe.errors,
    "site": lab.site.origin,
    "timing": {k: v.extra.get("timing") for k, v in probe.results.items()},
    "in_page_ms": {k: v.elapsed_ms for k, v in probe.results.items()},
}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_notebook(path: Path, cells: list[str] = CELLS) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nbformat.write(nb, path)


class JupyterServer:
    """`jupyter lab` or `jupyter notebook` on 127.0.0.1:<free port> with a token, in its own tmp dirs."""

    def __init__(self, app: str, root: Path) -> None:
        self.app, self.root = app, root
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.runtime = root / "runtime"
        self.log_path = root / f"{app}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "JupyterServer":
        settings = self.root / "settings"
        notification = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        notification.parent.mkdir(parents=True, exist_ok=True)
        notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(self.runtime), JUPYTERLAB_SETTINGS_DIR=str(settings),
                   JUPYTERLAB_WORKSPACES_DIR=str(self.root / "workspaces"), JUPYTER_PLATFORM_DIRS="1")
        for name in ("JUPYTERHUB_SERVICE_PREFIX", "BINDER_LAUNCH_HOST", "BINDER_REPO_URL"):
            env.pop(name, None)
        app_class = "LabApp" if self.app == "lab" else "JupyterNotebookApp"
        cmd = [sys.executable, "-m", "jupyter", self.app, "--no-browser", "--allow-root",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--{app_class}.expose_app_in_browser=True",
               f"--ServerApp.root_dir={self.root}", "--ServerApp.jpserver_extensions=cors_lab.jupyter_ext=True"]
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=self.root,
                                     start_new_session=True)
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter {self.app} exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                r = requests.get(f"{self.url}/api/status", headers={"Authorization": f"token {self.token}"}, timeout=2)
                if r.status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"jupyter {self.app} did not answer within {SERVER_START_S} s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:]).replace(self.token, "<token>")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # the server and the kernels it started
                self.proc.wait(timeout=10)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        self.log.close()
        self.proc = None


def _kernel_report(server: JupyterServer, kernel_id: str, want: set[str], timeout: float = 20,
                   code: str = REPORT) -> dict:
    """Ask the kernel what reached it, until every wanted ticket is in probe.results (or time is up)."""
    from jupyter_client import BlockingKernelClient

    client = BlockingKernelClient(connection_file=str(server.runtime / f"kernel-{kernel_id}.json"))
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=10)
        deadline = time.monotonic() + timeout
        while True:
            out: list[str] = []
            reply = client.execute_interactive(
                code, timeout=10, store_history=False,
                output_hook=lambda m: out.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None,
            )
            assert reply["content"]["status"] == "ok", reply["content"]
            text = "".join(out)
            report = json.loads(text[text.index("REPORT") + 6:])
            if want <= set(report["results"]) or time.monotonic() > deadline:
                return report
            time.sleep(0.3)
    finally:
        client.stop_channels()


KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === "idle";
}"""


def _run_notebook_in(chromium, server: JupyterServer, page_path: str, shot: Path,
                     tickets: tuple[str, ...] = ("t1", "t2", "t3"), report_code: str = REPORT,
                     expect_problem: bool = False) -> dict:
    context = chromium.new_context(viewport={"width": 1200, "height": 1300})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    timings: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        page.goto(f"{server.url}{page_path}?reset&token={server.token}", timeout=30_000)
        page.wait_for_function(KERNEL_IDLE, timeout=KERNEL_IDLE_MS)
        timings["open_s"] = time.perf_counter() - t0
        kernel_id = page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.id")
        # Notebook 7.6 itself throws "Cannot read properties of undefined (reading 'schema')" while
        # loading, with or without the kit; only errors from here on count.
        console.clear()
        if "/lab/" in page_path:  # more room for the notebook: hide the file browser
            page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
        t1 = time.perf_counter()
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        probe = page.locator(".cors-lab-live-probe")
        try:
            page.wait_for_function(
                """(tickets) => { const el = document.querySelector(".cors-lab-live-probe");
                           const done = el ? el.dataset.corsLabDone.split(" ") : [];
                           return tickets.every((t) => done.includes(t)); }""",
                arg=list(tickets), timeout=PROBE_DONE_MS,
            )
        except Exception as err:
            state = probe.evaluate("el => ({...el.dataset})") if probe.count() else None
            page.screenshot(path=str(shot.with_name(shot.stem + "-failed.png")))
            raise AssertionError(f"the probe did not finish: state={state}\nconsole={console[-20:]}\n"
                                 f"server log:\n{server.tail()}") from err
        timings["run_all_to_done_s"] = time.perf_counter() - t1
        assert probe.get_attribute("data-cors-lab-state") == "ready"
        assert (probe.get_attribute("data-cors-lab-problem") == "1") is expect_problem
        report = _kernel_report(server, kernel_id, set(tickets), code=report_code)
        # Let the kernel's last widget updates (results table, comparison) reach the page.
        page.wait_for_function(
            """(n) => document.querySelectorAll(".cors-lab-live-results tr[data-ticket]").length === n
                     && !document.body.innerText.includes("waiting for the browser")""",
            arg=len(tickets), timeout=10_000,
        )
        page.locator(".cors-lab-live").scroll_into_view_if_needed()
        page.screenshot(path=str(shot), full_page=False)
        report["timings"] = timings
        report["console"] = console
        report["page_text"] = page.inner_text("body")
        return report
    finally:
        context.close()


def _check(report: dict, shot: Path) -> None:
    site = report["site"]
    assert report["failures"] == {} and report["errors"] == []
    assert report["problem"] is None
    assert report["status"].startswith("ready:"), report["status"]
    kind, engine, load, readback, exception, page, message, pixel = report["results"]["t1"]
    assert (kind, engine, load, readback, exception, page) == ("Outcome", "browser", "load", "SecurityError",
                                                               "SecurityError", site)
    assert "tainted by cross-origin data" in message
    kind, engine, load, readback, exception, page, message, pixel = report["results"]["t2"]
    assert (kind, engine, load, readback, exception, page) == ("Outcome", "browser", "load", "ok", None, site)
    assert pixel == [220, 50, 47, 255]  # the lab picture's red top-left quadrant
    assert report["awaited"] == ["load", "ok", None]  # `await ticket` inside a cell
    assert report["results"]["t3"][2:5] == ["load", "ok", None]  # compare()'s live run
    assert "All engines that answered agree" in report["page_text"]
    assert "DISAGREE" not in report["page_text"] and "disagree" not in report["page_text"]
    assert shot.exists() and shot.stat().st_size > 10_000
    for line in report["console"]:
        assert not line.startswith("pageerror"), line


def _summary(name: str, report: dict) -> str:
    t = report["timings"]
    live = {k: round(v["frame_round_trip_ms"], 1) for k, v in report["timing"].items()}
    in_page = {k: round(v, 1) for k, v in report["in_page_ms"].items()}
    return (f"{name}: open {t['open_s']:.1f} s, run-all to 3 results {t['run_all_to_done_s']:.1f} s, "
            f"frame round trip ms {live}, in-page ms {in_page}")


def test_live_probe_in_jupyterlab(chromium, tmp_path, capsys):
    ARTIFACTS.mkdir(exist_ok=True)
    _write_notebook(tmp_path / "live.ipynb")
    server = JupyterServer("lab", tmp_path)
    try:
        server.start()
        shot = ARTIFACTS / "e2e-jupyterlab.png"
        report = _run_notebook_in(chromium, server, f"/lab/workspaces/e2e{secrets.token_hex(4)}/tree/live.ipynb", shot)
    finally:
        server.stop()
    _check(report, shot)
    with capsys.disabled():
        print("\n" + _summary("JupyterLab", report))


def test_live_probe_in_notebook7(chromium, tmp_path, capsys):
    pytest.importorskip("notebook", minversion="7")
    ARTIFACTS.mkdir(exist_ok=True)
    _write_notebook(tmp_path / "live.ipynb")
    server = JupyterServer("notebook", tmp_path)
    try:
        server.start()
        shot = ARTIFACTS / "e2e-notebook7.png"
        report = _run_notebook_in(chromium, server, "/notebooks/live.ipynb", shot)
    finally:
        server.stop()
    _check(report, shot)
    with capsys.disabled():
        print("\n" + _summary("Notebook 7", report))


# -- one origin: the opaque-origin probe and the kit's server extension --------------------------

OPAQUE_CELLS = [
    "import cors_lab\nfrom cors_lab.live import LiveProbe\nlab = cors_lab.start(host=\"127.0.0.1\")",
    "probe = LiveProbe(lab, mode=\"opaque\")  # what Binder and JupyterHub get (mode=\"auto\" there)\nprobe",
    "star = probe.run(probe.url(\"picture.png\", acao=\"*\", nonce=True), \"anonymous\")\n"
    "null = probe.run(probe.url(\"picture.png\", acao=\"null\", nonce=True), \"anonymous\")\n"
    "exact = probe.run(probe.url(\"picture.png\", acao=lab.site.origin, nonce=True), \"anonymous\")\n"
    "none = probe.run(probe.url(\"picture.png\", nonce=True), \"anonymous\")\n"
    "plain = probe.run(probe.url(\"picture.png\", nonce=True))",
]
OPAQUE_REPORT = """
import json as _json
print("REPORT" + _json.dumps({
    "results": {k: [type(v).__name__, v.engine, v.load, v.readback, v.exception, v.page, v.message,
                    v.pixel and list(v.pixel)] for k, v in probe.results.items()},
    "failures": probe.failures, "problem": probe.problem, "status": probe.status, "errors": probe.errors,
    "urls": {k: t.url for k, t in probe.tickets.items()},
}))
"""


def test_extension_serves_pictures_without_a_token(tmp_path):
    server = JupyterServer("lab", tmp_path)
    try:
        server.start()
        base = f"{server.url}/cors-lab/img"
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
        assert requests.get(f"{server.url}/api/contents", timeout=10, allow_redirects=False).status_code == 403
    finally:
        server.stop()


def test_opaque_probe_in_jupyterlab(chromium, tmp_path, capsys):
    ARTIFACTS.mkdir(exist_ok=True)
    _write_notebook(tmp_path / "live.ipynb", OPAQUE_CELLS)
    server = JupyterServer("lab", tmp_path)
    try:
        server.start()
        shot = ARTIFACTS / "e2e-jupyterlab-opaque.png"
        report = _run_notebook_in(chromium, server, f"/lab/workspaces/e2e{secrets.token_hex(4)}/tree/live.ipynb",
                                  shot, tickets=("t1", "t2", "t3", "t4", "t5"), report_code=OPAQUE_REPORT)
    finally:
        server.stop()
    assert report["failures"] == {} and report["errors"] == [] and report["problem"] is None
    assert report["status"].startswith("ready:") and "in a page on null" in report["status"]
    assert report["urls"]["t1"].startswith("/cors-lab/img/picture.png?acao=*")
    verdicts = {k: tuple(v[2:6]) for k, v in report["results"].items()}
    assert verdicts == {
        "t1": ("load", "ok", None, "null"),  # ACAO * : readable from an opaque origin
        "t2": ("load", "ok", None, "null"),  # ACAO null: the serialized opaque origin matches
        # An exact origin never matches "null"; no ACAO fails the CORS check. Both: error event, and
        # drawing the broken image throws InvalidStateError.
        "t3": ("error", None, "InvalidStateError", "null"),
        "t4": ("error", None, "InvalidStateError", "null"),
        "t5": ("load", "SecurityError", "SecurityError", "null"),  # no crossorigin: loads, taints
    }
    for line in report["console"]:
        assert not line.startswith("pageerror"), line


# -- Jupyter at localhost, the lab at 127.0.0.1: cross-site, said plainly; wait() never blocks a cell ---

MISMATCH_CELLS = [
    "import time\nimport cors_lab\nfrom cors_lab.live import LiveProbe, LiveProbeTimeout\n"
    "lab = cors_lab.start(host=\"127.0.0.1\")  # but this page is at localhost",
    "probe = LiveProbe(lab)\nprobe",
    "ticket = probe.run(lab.cdn.url(\"picture.png\", acao=\"*\"), \"anonymous\")",
    "t0 = time.perf_counter()\ntry:\n    waited = repr(probe.wait(ticket, timeout=30))\n"
    "except LiveProbeTimeout as err:\n    waited = str(err)\nblocked_s = time.perf_counter() - t0",
]
MISMATCH_REPORT = """
import json as _json
print("REPORT" + _json.dumps({
    "results": {k: [type(v).__name__, v.engine, v.load, v.readback, v.exception, v.page, v.message, None]
                for k, v in probe.results.items()},
    "problem": probe.problem, "status": probe.status, "errors": probe.errors,
    "waited": waited, "blocked_s": blocked_s,
}))
"""


def test_host_mismatch_is_named_with_its_fix(chromium, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    _write_notebook(tmp_path / "live.ipynb", MISMATCH_CELLS)
    server = JupyterServer("lab", tmp_path)
    try:
        server.start()
        server.url = server.url.replace("127.0.0.1", "localhost")  # what the browser uses
        shot = ARTIFACTS / "e2e-jupyterlab-host-mismatch.png"
        report = _run_notebook_in(chromium, server, f"/lab/workspaces/e2e{secrets.token_hex(4)}/tree/live.ipynb",
                                  shot, tickets=("t1",), report_code=MISMATCH_REPORT, expect_problem=True)
    finally:
        server.stop()
    assert 'cors_lab.start(host="localhost")' in report["problem"]
    assert "Your browser opened Jupyter at localhost, but the lab runs as 127.0.0.1" in report["problem"]
    assert 'cors_lab.start(host="localhost")' in report["page_text"]  # the widget says it too
    # The experiment itself still runs (a cross-site iframe loads images), and reached the kernel.
    assert report["results"]["t1"][2:5] == ["load", "ok", None]
    # In a cell, wait() cannot receive the answer, so it returns at once with the explanation.
    assert report["blocked_s"] < 1.0
    assert "later cell" in report["waited"] or report["waited"].startswith("Outcome("), report["waited"]
