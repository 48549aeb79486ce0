"""A notebook open in JupyterLab or Notebook 7, driven by Playwright: open, Run All, read cells and probes.

Owns the browser side of the e2e tests (page.js does the reading in the page), asking the kernel
itself what reached it (jupyter_client on the kernel's connection file), and screenshots. Must not
fulfil a request: where only one origin may be reached, anything else is aborted, as a browser that
cannot reach it would fail (a fulfilled route would add CORS headers of Playwright's own).
Every wait has a timeout.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE_JS = Path(__file__).with_name("page.js")
SHOTS = Path(os.environ.get("CORS_LAB_SHOTS") or ROOT / "artifacts")
OPEN_MS = 60_000
KERNEL_IDLE_MS = 90_000
RUN_ALL_MS = 180_000
VIEWPORT = {"width": 1280, "height": 1400}
# JupyterLab's news toast covers part of every screenshot; the settings that turn it off.
QUIET_LAB = {"@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False}}


def write_lab_settings(folder: Path, settings: dict[str, dict]) -> Path:
    """A JUPYTERLAB_SETTINGS_DIR holding ``settings`` (plugin id -> values); returns ``folder``."""
    for plugin, values in settings.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def new_context(browser, *, only_origin: str | None = None):
    """A fresh browser context with page.js; with ``only_origin``, every other origin is unreachable.

    Returns ``(context, blocked)``: ``blocked`` collects the URLs aborted, in order.
    """
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(path=str(PAGE_JS))
    blocked: list[str] = []
    if only_origin:
        def route(r) -> None:
            url = r.request.url
            if url == only_origin or url.startswith(only_origin + "/"):
                r.continue_()
            else:
                blocked.append(url)
                r.abort("addressunreachable")

        context.route("**/*", route)
    return context, blocked


class NotebookPage:
    """One page of a context: ``open(url)``, ``run_all()``, then ``cells()``, ``probes()``, ``kernel(...)``.

    ``runtime`` is the Jupyter runtime directory holding the kernels' connection files. ``timings``
    collects seconds per step; ``console`` the page's console lines and uncaught errors.
    """

    def __init__(self, context, *, runtime: Path, page=None) -> None:
        self.context = context
        self.runtime = runtime
        # ``page``: a Playwright Page of ``context`` (a new one by default), or an `EnginePage` (Firefox, WebKit).
        self.page = page if page is not None else context.new_page()
        self.console: list[str] = []
        self.timings: dict[str, float] = {}
        self.kernel_id: str | None = None
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    def open(self, url: str) -> NotebookPage:
        t0 = time.perf_counter()
        self.page.goto(url, timeout=OPEN_MS)
        try:
            self.page.wait_for_function("() => window.corsLabE2E && corsLabE2E.kernelIdle()", timeout=KERNEL_IDLE_MS)
        except Exception as err:
            shot = self.screenshot("open-failed")
            raise RuntimeError(f"{url.split('?')[0]}: no idle kernel after {KERNEL_IDLE_MS} ms (see {shot}); "
                               f"console: {self.console[-8:]}") from err
        self.timings["open_to_kernel_idle_s"] = time.perf_counter() - t0
        self.kernel_id = self.page.evaluate("() => corsLabE2E.kernelId()")
        # Notebook 7.6 throws "Cannot read properties of undefined (reading 'schema')" while loading,
        # with or without the kit: only what happens from here on counts.
        self.console.clear()
        return self

    def run_all(self, *, timeout_ms: int = RUN_ALL_MS) -> dict:
        """Run All as the menu does; returns ``{ok}`` once every cell finished (or Run All stopped)."""
        t0 = time.perf_counter()
        self.page.evaluate("() => corsLabE2E.runAll()")
        result = self._settled(timeout_ms)
        self.timings["run_all_s"] = time.perf_counter() - t0
        return result

    def run_cell(self, index: int, *, timeout_ms: int = RUN_ALL_MS) -> dict:
        """Run code cell ``index`` alone; returns ``{ok}`` once it finished."""
        self.page.evaluate("(i) => corsLabE2E.runCell(i)", index)
        return self._settled(timeout_ms)

    def _settled(self, timeout_ms: int) -> dict:
        # JupyterLab 4.6 sends Run All's cells one after another and its promise can settle before the
        # last ones ran, with the kernel idle in between: done means "done, and still so 1.5 s later".
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            left_ms = max(1, int((deadline - time.monotonic()) * 1000))
            result = self.page.wait_for_function("() => corsLabE2E.runDone()", timeout=left_ms).json_value()
            counts = [c["count"] for c in self.cells()]
            self.page.wait_for_timeout(1500)
            if self.page.evaluate("() => corsLabE2E.runDone()") and counts == [c["count"] for c in self.cells()]:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"the notebook did not settle within {timeout_ms} ms")

    def click_button(self, text: str, *, cell: int) -> None:
        """Click the widget button labelled ``text`` in code cell ``cell``'s output (scrolled into view first)."""
        self.page.evaluate("(i) => corsLabE2E.scrollToCell(i)", cell)
        button = self.page.locator("button.widget-button").filter(has_text=re.compile(rf"^\s*{re.escape(text)}\s*$"))
        button.first.click(timeout=20_000)

    def cells(self) -> list[dict]:
        return self.page.evaluate("() => corsLabE2E.cells()")

    def widths(self, selector: str) -> list[dict]:
        """``[{width, room}]`` per element matching ``selector``: its width and its output area's, in px."""
        return self.page.evaluate("(s) => corsLabE2E.widths(s)", selector)

    def probes(self) -> list[dict]:
        """Every live probe view in the page: its data-* state (corsLabState, corsLabDone, ...) and texts."""
        return self.page.evaluate("() => corsLabE2E.probes()")

    def wait_for_probe(self, tickets: list[str], *, timeout_ms: int = 30_000) -> dict:
        """Wait until a probe view has finished every ticket in ``tickets``; that view's state."""
        t0 = time.perf_counter()
        self.page.wait_for_function("(tickets) => corsLabE2E.probeDone(tickets)", arg=tickets, timeout=timeout_ms)
        self.timings["probe_done_s"] = time.perf_counter() - t0
        return next(p for p in self.probes() if set(tickets) <= set((p.get("corsLabDone") or "").split()))

    def execute(self, code: str, *, timeout: float = 30) -> tuple[dict, str]:
        """Run ``code`` in the notebook's kernel as a second client: (the reply's content, what it printed)."""
        from jupyter_client import BlockingKernelClient

        client = BlockingKernelClient(connection_file=str(self.runtime / f"kernel-{self.kernel_id}.json"))
        client.load_connection_file()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=timeout)
            out: list[str] = []
            reply = client.execute_interactive(
                code, timeout=timeout, store_history=False,
                output_hook=lambda m: out.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None)
            return reply["content"], "".join(out)
        finally:
            client.stop_channels()

    def kernel(self, expression: str, *, timeout: float = 30) -> object:
        """The value of a Python ``expression`` in the notebook's kernel, through JSON (``default=str``)."""
        reply, text = self.execute(f"import json as _j\nprint('REPORT' + _j.dumps({expression}, default=str))",
                                   timeout=timeout)
        if reply["status"] != "ok":
            raise RuntimeError(f"kernel: {reply.get('ename')}: {reply.get('evalue')}")
        return json.loads(text[text.index("REPORT") + len("REPORT"):])

    def wait_for_kernel(self, expression: str, predicate, *, timeout: float = 20, strict: bool = True):
        """Evaluate ``expression`` in the kernel until ``predicate(value)`` holds; the value.

        On timeout: ``TimeoutError`` when ``strict``, else the last value (for an assertion to judge).
        """
        deadline = time.monotonic() + timeout
        while True:
            value = self.kernel(expression)
            if predicate(value):
                return value
            if time.monotonic() > deadline:
                if strict:
                    raise TimeoutError(f"kernel state not reached within {timeout:g} s: {value}")
                return value
            # Not time.sleep: Playwright's sync API runs route handlers (new_context's only_origin) only
            # inside its own calls, so a request the page makes meanwhile would hang until the next one.
            self.page.wait_for_timeout(500)

    def screenshot(self, name: str, *, cell: int | None = None, at: str | None = None) -> Path:
        """A PNG of the viewport in SHOTS (``$CORS_LAB_SHOTS`` or artifacts/), scrolled to code cell ``cell``
        and then to the last element matching the CSS selector ``at``."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        if cell is not None:
            self.page.evaluate("(i) => corsLabE2E.scrollToCell(i)", cell)
        if at is not None:
            self.page.evaluate("(s) => corsLabE2E.scrollTo(s)", at)
        if cell is not None or at is not None:
            self.page.wait_for_timeout(400)  # let the scroll settle before the picture
        path = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


def record(name: str, values: dict) -> None:
    """Keep measured figures in SHOTS/e2e-measures.json (one entry per name, newest wins) for the report."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / "e2e-measures.json"
    # Locked: pytest-xdist's workers (the README's -n 2) write here at the same time.
    with open(SHOTS / "e2e-measures.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(path.read_text()) if path.exists() else {}
        data[name] = {k: round(v, 2) if isinstance(v, float) else v for k, v in values.items()}
        path.write_text(json.dumps(data, indent=1, sort_keys=True))


def error_outputs(cells: list[dict]) -> list[str]:
    """``ename: evalue`` of every error output in a cell NOT tagged raises-exception (a real failure)."""
    return [f"cell {c['index']}: {o['ename']}: {o['evalue']}" for c in cells if "raises-exception" not in c["tags"]
            for o in c["outputs"] if o["type"] == "error"]


def unexecuted(cells: list[dict]) -> list[int]:
    """Indexes of the code cells Run All never reached."""
    return [c["index"] for c in cells if c["count"] is None]
