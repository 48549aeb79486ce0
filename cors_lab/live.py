"""The live engine: the learner's own browser runs the experiment, and the kernel gets an `Outcome`.

Owns `LiveProbe` (an ipywidgets box around the `ProbeFrame` anywidget, whose JS is ``live.js``), the
conversion of trial.js results into ``Outcome(engine="browser")``, the one-origin check (Binder,
JupyterHub) and `compare`: the model, the kernel browser and the live browser side by side. It decides
no rule (``cors_lab.spec`` does, trial.js observes) and never blocks the kernel waiting for a browser.

    probe = LiveProbe(lab)                       # show it: a browser attaches when the view renders
    t = probe.run(lab.cdn.url("picture.png"))    # queued at once; returns a Ticket
    probe.wait(t)                                # in a LATER cell: the Outcome (or a clear error)
    outcome = await t                            # or in the same cell, with top-level await
    compare(lab, url, "anonymous", "getImageData", probe)   # model | kernel | browser, disagreements flagged

Widget messages from the browser reach the kernel between cells (a cell that blocks cannot receive
them), so results arrive after the cell that asked. ``await`` yields to the kernel instead of
blocking; ipykernel 7 then handles widget messages while the cell waits (measured with ipykernel
7.4.0, also under Run All; an older kernel queues them behind the cell, so there use a later cell).
Measured here (Chromium 156, JupyterLab 4.6.6 and Notebook 7.6.5, anywidget 0.11): one experiment
takes 10-25 ms in the page and 15-40 ms from the widget's postMessage to the probe page's answer.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import os
import pathlib
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

import anywidget
import ipywidgets
import traitlets

from .errors import CorsLabError, UsageError
from .outcome import LOADS, READBACKS, Outcome
from .render import BOX_STYLE, NOWRAP, PROBLEM_STYLE, TD, TH, cell, short, swatch, verdict
from .trial import check_crossorigin, check_operation, check_trial_operation, trial_source

__all__ = [
    "Comparison",
    "LiveProbe",
    "LiveProbeError",
    "LiveProbeTimeout",
    "NO_BROWSER",
    "ProbeFrame",
    "Ticket",
    "compare",
    "one_origin_reason",
    "outcome_from_trial",
]

NO_BROWSER = "no browser attached — the kernel engine carries on"
DEFAULT_TRIAL_TIMEOUT_MS = 5000
READY_TIMEOUT_MS = 8000
MODES = ("auto", "site", "opaque")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
# Environment variables that mean "this notebook is served through one origin" (a proxy in front).
ONE_ORIGIN_ENV = ("JUPYTERHUB_SERVICE_PREFIX", "BINDER_LAUNCH_HOST", "BINDER_REPO_URL")


class LiveProbeError(CorsLabError):
    """The live probe could not give an Outcome; the message names the likely cause and the fix."""


class LiveProbeTimeout(LiveProbeError, TimeoutError):
    """No answer from the browser (yet): ``wait`` gave up; the message says why it may be missing."""


def one_origin_reason(environ: Mapping[str, str] | None = None) -> str | None:
    """Why this kernel looks served through one origin (Binder, JupyterHub), or None.

    Behind jupyter-server-proxy every port is the same origin as the notebook, and the lab's loopback
    ports are on the server, not on the learner's machine: the live probe then needs the opaque-origin
    page (``LiveProbe(lab, mode="opaque")``) and the kit's server extension.
    """
    env = os.environ if environ is None else environ
    for name in ONE_ORIGIN_ENV:
        if env.get(name):
            where = "Binder" if name.startswith("BINDER") else "JupyterHub"
            return f"{name} is set: this notebook runs on {where}, behind one origin"
    return None


def outcome_from_trial(
    result: Mapping[str, Any],
    *,
    url: str,
    crossorigin: str | None,
    operation: str,
    extra: Mapping[str, Any] | None = None,
) -> Outcome:
    """A trial.js result (``{load, readback, exception, message, page, pixel, steps, ...}``) as an Outcome.

    Raises ``LiveProbeError`` when the result is not a trial result (a broken page, another script).
    """
    if not isinstance(result, Mapping):
        raise LiveProbeError(f"The probe page sent {type(result).__name__}, not a trial result.")
    load, readback = result.get("load"), result.get("readback")
    if load not in LOADS or readback not in READBACKS:
        raise LiveProbeError(f"The probe page sent an unexpected result: load={load!r}, readback={readback!r}.")
    pixel = result.get("pixel")
    details = {
        "in_page_ms": result.get("elapsed_ms"),
        "gl_error": result.get("gl_error"),
        "probe_message": result.get("probe_message"),
        "timed_out": result.get("message") == "timeout",
        **dict(extra or {}),
    }
    return Outcome(
        load=load,
        readback=readback,
        exception=result.get("exception"),
        engine="browser",
        page=str(result.get("page") or ""),
        url=url,
        crossorigin=crossorigin,
        operation=operation,
        message=result.get("message"),
        origin_clean=result.get("origin_clean_guess"),
        steps=tuple(str(s) for s in result.get("steps") or ()),
        pixel=tuple(int(v) for v in pixel) if pixel else None,
        elapsed_ms=result.get("elapsed_ms"),
        extra=details,
    )


@dataclass(frozen=True)
class Ticket:
    """One queued live experiment. ``probe.wait(ticket)`` in a later cell, or ``await ticket``."""

    id: str
    url: str
    crossorigin: str | None
    operation: str
    probe: LiveProbe = field(repr=False, compare=False)

    def __await__(self):
        return self.probe.wait_async(self).__await__()

    def __str__(self) -> str:
        return self.id


class ProbeFrame(anywidget.AnyWidget):
    """The browser side: the probe page in an iframe, the postMessage round trip (``live.js``)."""

    _esm = pathlib.Path(__file__).with_name("live.js")
    probe_src = traitlets.Unicode("").tag(sync=True)
    lab_host = traitlets.Unicode("127.0.0.1").tag(sync=True)
    mode = traitlets.Unicode("site").tag(sync=True)
    trial_js = traitlets.Unicode("").tag(sync=True)
    ready_timeout_ms = traitlets.Int(READY_TIMEOUT_MS).tag(sync=True)
    pending = traitlets.List(traitlets.Dict()).tag(sync=True)  # [{id, spec}] not answered yet
    # Set from the page's custom messages (see live.js for why not synced traits), in the kernel only:
    report = traitlets.Dict()  # the newest answer: {id, result | error, round_trip_ms, view}
    frontend = traitlets.Dict()  # what the page's address says, and the probe frame's state

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_msg(self._on_page_message)

    def _on_page_message(self, widget: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "frontend" and isinstance(content.get("facts"), dict):
            self.frontend = content["facts"]
        elif content.get("type") == "report" and isinstance(content.get("report"), dict):
            self.report = content["report"]

    def __repr__(self) -> str:
        return f"<ProbeFrame {self.mode} {self.probe_src or '(srcdoc)'}>"


_probe_numbers = itertools.count(1)


class LiveProbe(ipywidgets.VBox):
    """Run experiments in the learner's own browser and get ``Outcome(engine="browser")`` back.

    ``LiveProbe(lab)`` embeds the lab's probe page (``lab.site.probe_url()``): an iframe on the lab's
    "site" origin, which must be same-site with the notebook page, so start the lab with the host name
    in your address bar (``cors_lab.start(host="localhost")`` when Jupyter is at localhost).
    ``mode="opaque"`` uses a sandboxed page with origin ``null`` and the kit's server extension
    instead (Binder, JupyterHub); ``mode="auto"`` picks it when `one_origin_reason` finds one origin.

    ``run`` queues and returns a `Ticket` at once; results arrive after the cell, in ``results``
    (ticket id -> Outcome), in the table below the frame and in the ``last`` trait
    (``probe.observe(fn, names="last")``). Without a browser (nbval, a bare kernel) nothing is ever
    rendered and ``status`` says so; nothing blocks.
    """

    status = traitlets.Unicode(NO_BROWSER)
    last = traitlets.Any(None)  # the newest Outcome (observe it with names="last")

    def __init__(self, lab: Any, *, mode: str = "auto", timeout_ms: int = DEFAULT_TRIAL_TIMEOUT_MS,
                 environ: Mapping[str, str] | None = None) -> None:
        from .servers import Lab

        if not isinstance(lab, Lab):
            raise UsageError("LiveProbe needs the running lab: lab = cors_lab.start(); probe = LiveProbe(lab).")
        if mode not in MODES:
            raise UsageError(f"mode must be one of {', '.join(MODES)}; got {mode!r}.")
        if not (isinstance(timeout_ms, int) and 100 <= timeout_ms <= 60_000):
            raise UsageError(f"timeout_ms must be an int between 100 and 60000, not {timeout_ms!r}.")
        self.lab = lab
        self.one_origin = one_origin_reason(environ)
        self.mode = ("opaque" if self.one_origin else "site") if mode == "auto" else mode
        self.timeout_ms = timeout_ms
        self.results: dict[str, Outcome] = {}
        self.failures: dict[str, str] = {}
        self.tickets: dict[str, Ticket] = {}
        self.errors: list[str] = []  # tracebacks of failed widget callbacks (also shown in the box)
        self._asked: dict[str, float] = {}
        self._numbers = itertools.count(1)
        self._arrived = threading.Condition()
        self._listeners: list[Callable[[str, Outcome | None], None]] = []
        self.name = f"probe{next(_probe_numbers)}"

        trial_js = ""
        if self.mode == "opaque":

            trial_js = trial_source()
        self.frame = ProbeFrame(
            probe_src=lab.site.probe_url() if self.mode == "site" else "",
            lab_host=lab.host,
            mode=self.mode,
            trial_js=trial_js,
        )
        self.view = ipywidgets.HTML(layout=ipywidgets.Layout(max_width="60em"))
        self.error_output = ipywidgets.Output()
        super().__init__(children=(self.frame, self.view, self.error_output),
                         layout=ipywidgets.Layout(border="1px solid #c8c8c8", padding="6px 8px", overflow="auto"))
        self.add_class("cors-lab-live")
        self.frame.observe(self._guarded(self._on_report), names="report")
        self.frame.observe(self._guarded(self._on_frontend), names="frontend")
        self._refresh()

    # -- what the browser said -------------------------------------------------------------------

    @property
    def attached(self) -> bool:
        """A view of this probe rendered in a browser and reported back (never true under nbval)."""
        return bool(self.frame.frontend)

    @property
    def ready(self) -> bool:
        return self.frame.frontend.get("frame_state") == "ready"

    @property
    def page(self) -> str | None:
        """The origin experiments run on, as the probe page reported it ("null" in opaque mode)."""
        return self.frame.frontend.get("frame_origin")

    @property
    def problem(self) -> str | None:
        """What stops the live probe from matching the lesson, in plain words with the fix; None if nothing."""
        fe = self.frame.frontend
        problems = []
        if self.mode == "site":
            host = fe.get("hostname")
            if fe and (fe.get("hub") or not fe.get("loopback")):
                problems.append(
                    f"Jupyter is open at {fe.get('origin')}: one origin for everything (JupyterHub, Binder or a "
                    "remote server), so your browser cannot reach the lab's loopback servers. Use the "
                    'opaque-origin probe instead: probe = LiveProbe(lab, mode="opaque").'
                )
            elif fe and host != self.lab.host:
                problems.append(
                    f"Your browser opened Jupyter at {host}, but the lab runs as {self.lab.host}, so the probe "
                    "page is cross-site to the notebook page: cookies and localStorage behave unlike the lesson. "
                    f'Fix: lab.stop(); lab = cors_lab.start(host="{host}"); probe = LiveProbe(lab).'
                )
            elif self.one_origin and not fe:
                problems.append(f"{self.one_origin}; the site-origin probe will not reach the lab: use mode=\"opaque\".")
        if fe.get("frame_state") == "blocked":
            where = self.lab.site.probe_url() if self.mode == "site" else "the sandboxed srcdoc page"
            lab_down = " The lab is stopped: start it again with cors_lab.start()." if not self.lab.running else ""
            problems.append(
                f"The probe page ({where}) did not answer in your browser within "
                f"{self.frame.ready_timeout_ms / 1000:g} s: it may be blocked by a browser extension or a proxy.{lab_down}"
            )
        if self.mode == "opaque" and fe.get("extension") == "missing":
            problems.append(
                "The kit's Jupyter server extension does not answer, so the opaque page has no pictures to load: "
                "run `jupyter server extension enable cors_lab.jupyter_ext` and restart Jupyter."
            )
        return " ".join(problems) or None

    @property
    def note(self) -> str:
        """In plain words, what the page the experiments run in is, and why."""
        if self.mode == "site":
            return (f"Experiments run in a page on the lab's site origin ({self.lab.site.origin}); pictures come "
                    f"from lab.cdn ({self.lab.cdn.origin}), another origin on the same site.")
        why = (f"{self.one_origin}. " if self.one_origin else "") + (
            "Behind one origin (Binder, JupyterHub) every port is the notebook's own origin, and the lab's "
            "servers are on the server machine, out of your browser's reach. ")
        return why + (
            "So the experiments run in a sandboxed page whose origin is opaque (null), and the pictures come "
            "from the kit's Jupyter server extension on the notebook's origin: to that page, a real "
            "cross-origin server. It sends Origin: null and no cookies, so only ACAO * or null makes a "
            "picture readable.")

    # -- asking ----------------------------------------------------------------------------------

    def url(self, name: str, **knobs: object) -> str:
        """A cross-origin picture URL for this probe's page: ``lab.cdn.url(...)``, or in opaque mode the
        server extension's (root-relative; the browser resolves it against the notebook's origin)."""
        if self.mode == "site":
            return self.lab.cdn.url(name, **knobs)
        from .jupyter_ext import asset_path

        base = self.frame.frontend.get("base_url") or os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or "/"
        return asset_path(base, name, **knobs)

    def run(self, url: str, crossorigin: str | None = None, operation: str = "getImageData", *,
            timeout_ms: int | None = None) -> Ticket:
        """Queue one experiment in the browser: load ``url`` (with this ``crossorigin`` attribute, None =
        absent), run ``operation``. Returns a `Ticket` at once; the Outcome arrives after this cell."""
        url = str(url)
        if not url or any(ch in url for ch in "\r\n\0"):
            raise UsageError(f"url must be one line, e.g. lab.cdn.url('picture.png'); got {url!r}.")
        check_crossorigin(crossorigin)
        check_trial_operation(operation)
        timeout_ms = self.timeout_ms if timeout_ms is None else timeout_ms
        ticket = Ticket(f"t{next(self._numbers)}", url, crossorigin, operation, self)
        spec = {"url": url, "crossorigin": crossorigin, "operation": operation, "timeoutMs": timeout_ms}
        self.tickets[ticket.id] = ticket
        self._asked[ticket.id] = time.perf_counter()
        self.frame.pending = [*self.frame.pending, {"id": ticket.id, "spec": spec}]
        self._refresh()
        return ticket

    def clear(self) -> None:
        """Forget every result and every queued experiment."""
        self.frame.pending = []
        self.results.clear()
        self.failures.clear()
        self.tickets.clear()
        self._asked.clear()
        self._refresh()

    # -- waiting ---------------------------------------------------------------------------------

    def _ticket_id(self, ticket: Ticket | str) -> str:
        tid = ticket.id if isinstance(ticket, Ticket) else str(ticket)
        if tid not in self.tickets:
            raise UsageError(f"{tid!r} is not a ticket of this probe; probe.run(...) returns one.")
        return tid

    def _answer(self, tid: str) -> Outcome | None:
        if tid in self.results:
            return self.results[tid]
        if tid in self.failures:
            raise LiveProbeError(f"Live experiment {tid} failed in the browser: {self.failures[tid]}")
        return None

    def _timeout_error(self, tid: str, waited: float | None) -> LiveProbeTimeout:
        head = f"No answer from the browser for {tid}" + (f" after {waited:g} s" if waited else " yet") + "."
        if not self.attached:
            cause = (
                f" {NO_BROWSER}: no view of this probe was ever shown in a browser (nbval, a bare kernel, a "
                "closed tab), or the browser's first message has not reached the kernel yet. Show `probe` in "
                "JupyterLab or Notebook 7 and run the experiment again; predict() and Browser() work meanwhile."
            )
        elif self.problem:
            cause = f" {self.problem}"
        elif not self.ready:
            cause = " The probe page has not said it is ready: the iframe may still be loading, or be blocked."
        else:
            cause = " The browser is attached and ready; the image may still be loading (a delay knob?)."
        return LiveProbeTimeout(head + cause)

    def wait(self, ticket: Ticket | str, timeout: float = 10.0) -> Outcome:
        """The Outcome of ``ticket``: use it in a LATER cell than ``run`` (results arrive between cells).

        Inside a notebook cell the kernel cannot receive the browser's answer while the cell blocks, so
        ``wait`` returns at once when the answer is there and otherwise raises `LiveProbeTimeout`
        explaining why (use ``await ticket`` to wait inside one cell). Elsewhere (a thread, a script
        driving the widget) it blocks up to ``timeout`` seconds.
        """
        tid = self._ticket_id(ticket)
        found = self._answer(tid)
        if found is not None:
            return found
        if _in_kernel_thread():
            hint = (f"Widget messages reach the kernel between cells, so a cell that waits cannot receive the "
                    f"answer: run probe.wait({tid!r}) in a later cell, or `await` the ticket inside this one.")
            if self.attached:
                raise LiveProbeTimeout(f"{self._timeout_error(tid, None)} {hint}")
            raise LiveProbeTimeout(
                f"No answer from the browser for {tid} yet, and no word from a browser at all. {hint} "
                f"(Under Run All even the browser's first message is still queued.) If no browser shows this "
                f"notebook (nbval, a bare kernel), none will come: {NO_BROWSER}."
            )
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = self._answer(tid)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._timeout_error(tid, timeout)
                self._arrived.wait(min(left, 0.1))

    async def wait_async(self, ticket: Ticket | str, timeout: float = 10.0) -> Outcome:
        """``await probe.wait_async(t)`` (or ``await t``): wait inside a cell without blocking the kernel."""
        tid = self._ticket_id(ticket)
        deadline = time.monotonic() + timeout
        while True:
            found = self._answer(tid)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise self._timeout_error(tid, timeout)
            await asyncio.sleep(0.02)

    # -- callbacks from the browser (errors go to error_output, never vanish) ---------------------

    def _guarded(self, fn: Callable[[dict], None]) -> Callable[[dict], None]:
        def callback(change: dict) -> None:
            try:
                fn(change)
            except Exception:
                self._show_error(f"cors-lab LiveProbe: {fn.__name__} failed")

        return callback

    def _show_error(self, where: str) -> None:
        text = f"{where}\n{traceback.format_exc()}"
        self.errors.append(text)
        self.error_output.append_stderr(text)

    def _on_frontend(self, change: dict) -> None:
        self._refresh()

    def _on_report(self, change: dict) -> None:
        report = change["new"] or {}
        tid = report.get("id")
        if tid not in self.tickets or tid in self.results or tid in self.failures:
            return  # another view answered first, or a ticket from before clear()
        ticket = self.tickets[tid]
        self.frame.pending = [p for p in self.frame.pending if p.get("id") != tid]
        asked = self._asked.get(tid)
        timing = {
            "frame_round_trip_ms": report.get("round_trip_ms"),
            "kernel_round_trip_ms": (time.perf_counter() - asked) * 1000 if asked else None,
        }
        outcome = None
        try:
            if "error" in report:
                raise LiveProbeError(str(report["error"]))
            outcome = outcome_from_trial(
                report.get("result"), url=ticket.url, crossorigin=ticket.crossorigin,
                operation=ticket.operation, extra={"ticket": tid, "timing": timing, "view": report.get("view")},
            )
        except LiveProbeError as err:
            self.failures[tid] = str(err)
        else:
            self.results[tid] = outcome
        with self._arrived:
            self._arrived.notify_all()
        self._refresh()
        for listener in list(self._listeners):
            try:
                listener(tid, outcome)
            except Exception:
                self._show_error(f"cors-lab LiveProbe: a listener failed for {tid}")
        if outcome is not None:
            self.last = outcome

    # -- display ---------------------------------------------------------------------------------

    def _status_text(self) -> str:
        fe = self.frame.frontend
        if not fe:
            return NO_BROWSER
        state = fe.get("frame_state")
        browser = f"your browser ({fe.get('browser', 'unknown')})"
        if state == "ready":
            return (f"ready: {browser} runs each experiment in a page on {fe.get('frame_origin')} "
                    f"(this notebook is on {fe.get('origin')})")
        if state == "blocked":
            return f"attached, but the probe page did not answer in {browser}"
        return f"attached: {browser} is loading the probe page"

    def _refresh(self) -> None:
        self.status = self._status_text()
        self.view.value = self._html()

    def _html(self) -> str:
        # Problems are shown once, by the page (live.js sees them first-hand); Python has probe.problem.
        parts = [f'<div class="cors-lab-live-status"><b>In the kernel:</b> {html.escape(self.status)}</div>']
        if self.mode == "opaque":
            parts.append(f'<div class="cors-lab-live-note" style="color:#444;margin:2px 0">{html.escape(self.note)}</div>')
        rows = [_result_rows(t, self.results.get(tid), self.failures.get(tid), self.lab)
                for tid, t in self.tickets.items()]
        if rows:
            head = "".join(f"<th style='{TH}'>{h}</th>" for h in
                           ("#", "image", "crossorigin", "operation", "what happened", "pixel (0,0)", "ms"))
            parts.append(f"<table class='cors-lab-live-results' style='border-collapse:collapse;margin-top:4px'>"
                         f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
        return f"<div style='{BOX_STYLE}'>{''.join(parts)}</div>"

    def __repr__(self) -> str:
        problem = " (problem: see probe.problem)" if self.problem else ""
        return f"<LiveProbe {self.mode} {self.lab.site.origin}: {self.status}{problem}>"


def _in_kernel_thread() -> bool:
    """True in the thread that runs notebook cells, which is also the one that receives widget messages."""
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - ipywidgets needs IPython
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _image_label(url: str, lab: Any) -> str:
    """``cdn /img/picture.png?acao=*`` for the lab's own URLs (its origins by label), else the URL."""
    for origin in getattr(lab, "origins", ()):
        if url.startswith(origin.origin + "/"):
            return f"{origin.label} {short(url[len(origin.origin):], 38)}"
    return short(url, 44)


def _result_rows(ticket: Ticket, outcome: Outcome | None, failure: str | None, lab: Any) -> str:
    """Two table rows per experiment: the verdict line, then the page origin and the exception message."""
    cells = [cell(ticket.id), cell(_image_label(ticket.url, lab), code=True, title=ticket.url, extra=NOWRAP),
             cell("(absent)" if ticket.crossorigin is None else repr(ticket.crossorigin), code=True),
             cell(ticket.operation, code=True)]
    detail = ""
    if failure:
        cells.append(f'<td colspan="3" style="{TD};color:#b3261e">failed: {html.escape(failure)}</td>')
    elif outcome is None:
        cells.append(f'<td colspan="3" style="{TD};color:#666"><i>waiting for the browser…</i></td>')
    else:
        text, colour = verdict(outcome)
        ms = outcome.elapsed_ms
        cells += [cell(text, colour=colour, extra=NOWRAP), swatch(outcome.pixel),
                  cell(f"{ms:.0f}" if isinstance(ms, (int, float)) else "—")]
        said = f"{outcome.exception}: {outcome.message}" if outcome.exception else (outcome.message or "")
        detail = (f"page origin <code>{html.escape(outcome.page)}</code>"
                  + (f" — <code>{html.escape(said)}</code>" if said else ""))
    line = "border-top:1px solid #e0e0e0"
    first = f"<tr data-ticket='{html.escape(ticket.id)}' style='{line}'>{''.join(cells)}</tr>"
    if not detail:
        return first
    return (first + f"<tr class='cors-lab-live-detail'><td></td><td colspan='6' style='{TD};padding-bottom:4px;"
            f"color:#555;font-size:92%'>{detail}</td></tr>")


# --------------------------------------------------------------------------------------------------
# Side by side: the model, the kernel browser and (when attached) the live browser on one experiment.

ENGINES = ("model", "kernel", "browser")


class Comparison:
    """One experiment as each engine saw it, with every disagreement in plain words.

    ``outcomes`` maps "model", "kernel" and "browser" to an Outcome (None: that engine has no answer
    yet, or cannot give one; ``notes`` says why). Shown as a table; with a live probe the table
    updates itself when the browser's answer arrives after the cell.
    """

    def __init__(self, *, url: str, crossorigin: str | None, operation: str, page: str,
                 outcomes: dict[str, Outcome | None], notes: dict[str, str],
                 probe: LiveProbe | None = None, ticket: Ticket | None = None, lab: Any = None) -> None:
        self.lab = lab
        self.url, self.crossorigin, self.operation, self.page = url, crossorigin, operation, page
        self.outcomes = outcomes
        self.notes = notes
        self.probe = probe
        self.ticket = ticket
        self.widget: ipywidgets.HTML | None = None
        self.loaded = None  # the kernel browser's LoadResult, set by compare()
        if probe is not None and ticket is not None:
            self.widget = ipywidgets.HTML(self._html())
            probe._listeners.append(self._on_live)

    def _on_live(self, tid: str, outcome: Outcome | None) -> None:
        if self.ticket is None or tid != self.ticket.id:
            return
        if outcome is None:
            self.notes["browser"] = self.probe.failures.get(tid, "failed") if self.probe else "failed"
        self.outcomes["browser"] = outcome
        self.probe._listeners.remove(self._on_live)
        if self.widget is not None:
            self.widget.value = self._html()

    @property
    def differences(self) -> list[str]:
        """One sentence per field on which two engines disagree (`Outcome.differences`), for each pair."""
        present = [(e, self.outcomes.get(e)) for e in ENGINES if self.outcomes.get(e) is not None]
        out = []
        for i, (_, a) in enumerate(present):
            for _, b in present[i + 1:]:
                out += a.differences(b)
        return out

    @property
    def agree(self) -> bool | None:
        """True/False when two or more engines answered, None when fewer did."""
        if sum(o is not None for o in self.outcomes.values()) < 2:
            return None
        return not self.differences

    def __str__(self) -> str:
        lines = [f"{self.operation} on {self.url} (crossorigin={self.crossorigin!r}) from page {self.page}"]
        for engine in ENGINES:
            o = self.outcomes.get(engine)
            if o is None:
                lines.append(f"  {engine:<7} —  {self.notes.get(engine, '')}")
            else:
                exc = f"  {o.exception}" if o.exception else ""
                lines.append(f"  {engine:<7} load={o.load}  readback={o.readback}{exc}")
        diffs = self.differences
        if diffs:
            lines += ["  DISAGREE: " + d for d in diffs]
        elif self.agree:
            lines.append("  all engines that answered agree")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _html(self) -> str:
        names = {"model": "model (predict)", "kernel": "kernel Browser", "browser": "your browser (live)"}
        rows = []
        for engine in ENGINES:
            o = self.outcomes.get(engine)
            if o is None:
                rows.append(f"<tr style='border-top:1px solid #e0e0e0'>{cell(names[engine])}<td colspan='3' "
                            f"style='{TD};color:#666'><i>{html.escape(self.notes.get(engine, ''))}</i></td></tr>")
                continue
            text, colour = verdict(o)
            said = f"{o.exception}: {o.message}" if o.exception and o.message else (o.exception or "—")
            rows.append(f"<tr style='border-top:1px solid #e0e0e0'>{cell(names[engine], extra=NOWRAP)}"
                        f"{cell(text, colour=colour, extra=NOWRAP)}"
                        f"{cell(short(said, 90), title=said)}{cell(o.page, code=True)}</tr>")
        head = "".join(f"<th style='{TH}'>{h}</th>" for h in ("engine", "what happened", "exception", "page"))
        diffs = self.differences
        if diffs:
            closing = (f"<div style='{PROBLEM_STYLE}'><b>The engines disagree:</b><ul style='margin:2px 0'>"
                       + "".join(f"<li><code>{html.escape(d)}</code></li>" for d in diffs)
                       + "</ul>A disagreement is news: a browser difference, the HTTP cache, an extension, "
                       "or a gap in the model.</div>")
        elif self.agree:
            closing = "<div style='color:#1b7f3b;font-weight:600;margin-top:4px'>All engines that answered agree.</div>"
        else:
            closing = ""
        crossorigin = "(absent)" if self.crossorigin is None else repr(self.crossorigin)
        caption = (f"<code>{html.escape(self.operation)}</code> on <code title='{html.escape(self.url)}'>"
                   f"{html.escape(_image_label(self.url, self.lab) if self.lab else short(self.url, 70))}</code>, "
                   f"crossorigin <code>{html.escape(crossorigin)}</code>, page <code>{html.escape(self.page)}</code>")
        return (f"<div class='cors-lab-compare' style='{BOX_STYLE}'><div>{caption}</div>"
                f"<table style='border-collapse:collapse;margin-top:4px'><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>{closing}</div>")

    def _repr_html_(self) -> str:
        return self._html()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        if self.widget is None:
            return {"text/plain": str(self), "text/html": self._html()}
        bundle = self.widget._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = str(self)
        return bundle


def compare(lab: Any, url: str, crossorigin: str | None = None, operation: str = "getImageData",
            probe: LiveProbe | None = None, *, browser: Any = None) -> Comparison:
    """Run one experiment in every engine: ``predict`` (on the responses the kernel browser saw), the
    kernel `Browser` and, when ``probe`` is given, the live browser. Returns a `Comparison`.

    All three use the lab's "site" origin as the page. The live answer arrives after the cell; the
    table updates itself then (``Comparison.outcomes["browser"]``). ``browser`` is the kernel
    `Browser` to use (its cookies and HTTP cache carry over); a fresh one by default. The kernel's
    load result is kept as ``Comparison.loaded`` (for drawing it on a canvas).
    """
    from .browser import Browser
    from .predict import predict
    from .servers import Lab

    if not isinstance(lab, Lab):
        raise UsageError("compare needs the running lab: compare(cors_lab.start(), url, ...).")
    check_operation(operation)
    if probe is not None and probe.mode != "site":
        raise UsageError("compare() needs a site-mode probe (the kernel cannot reach the server extension's "
                         "pictures); compare the opaque probe's results with predict(page='null', ...) instead.")
    page = lab.site.origin
    notes: dict[str, str] = {}
    browser = Browser(page=lab.site) if browser is None else browser
    loaded = browser.load_image(url, crossorigin=crossorigin)
    kernel = loaded.outcome(operation)
    chain = [(h.request.url, h.status, list(h.headers)) for h in loaded.hops if h.status]
    model: Outcome | None = None
    if not chain or len(chain) != len(loaded.hops):
        notes["model"] = "no prediction: the kernel browser got no response to predict from"
    else:
        decodes = loaded.decoded is not None or not loaded.fetch.ok
        model = predict(page=page, chain=chain, crossorigin=crossorigin, cookies=bool(len(browser.cookies)),
                        operation=operation, decodes=decodes)
    ticket = None
    if probe is None:
        notes["browser"] = "no live probe given (compare(..., probe=LiveProbe(lab)))"
    else:
        ticket = probe.run(url, crossorigin, operation)
        notes["browser"] = ("waiting for the browser… (arrives after this cell)" if probe.attached
                            else f"{NO_BROWSER} (yet: the answer arrives after this cell if one is)")
    result = Comparison(url=url, crossorigin=crossorigin, operation=operation, page=page,
                        outcomes={"model": model, "kernel": kernel, "browser": None}, notes=notes,
                        probe=probe, ticket=ticket, lab=lab)
    result.loaded = loaded
    return result
