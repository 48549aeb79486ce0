"""The live engine: the learner's own browser runs the experiment, and the kernel gets an `Outcome`.

Owns `LiveProbe` (an ipywidgets box around the `ProbeFrame` anywidget, whose JS is ``live.js``), its
tickets, visits and results table, following its lab (a new host name, a stop), and the one-origin
mode (Binder, JupyterHub): which page, which picture URLs, how the kernel reaches them. The trial
itself (its checks, trial.js, the result's conversion) is ``cors_lab.trial``'s; `compare` is in
``cors_lab.comparison``; finding this kernel's Jupyter server is ``cors_lab.hosting``'s. It decides
no rule (``cors_lab.spec`` does, trial.js observes) and never blocks the kernel waiting for a browser.

    probe = LiveProbe(lab)                       # show it: a browser attaches when the view renders
    t = probe.run(probe.url("picture.png"))      # queued at once; returns a Ticket
    probe.wait(t)                                # in a LATER cell: the Outcome (or a clear error)
    outcome = await t                            # or in the same cell, with top-level await

Widget messages from the browser reach the kernel between cells (a cell that blocks cannot receive
them), so results arrive after the cell that asked. ``await`` yields to the kernel instead of
blocking; ipykernel 7 then handles widget messages while the cell waits (measured with ipykernel
7.4.0, also under Run All; an older kernel queues them behind the cell, so there use a later cell).
Measured here (Chromium 156, JupyterLab 4.6.6 and Notebook 7.6.5, anywidget 0.11): one experiment
takes 10-25 ms in the page and 15-40 ms from the widget's postMessage to the probe page's answer.

The engine profile the model predicts with for this browser is `LiveProbe.profile` (Chromium today);
the page reports its user agent in ``frame.frontend["browser"]``: engine detection plugs in there.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import os
import pathlib
import secrets
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

import anywidget
import ipywidgets
import traitlets

from . import hosting, render
from .errors import UsageError
from .outcome import Outcome
from .spec.profiles import DEFAULT_PROFILE, BrowserMatch, match_browser
from .trial import Trial, TrialError, outcome_from_trial, trial_source

__all__ = [
    "LiveProbe",
    "LiveProbeError",
    "LiveProbeTimeout",
    "NO_BROWSER",
    "ProbeFrame",
    "Ticket",
    "one_origin_reason",
]

# The kernel cannot know whether a browser shows the notebook until one speaks, and under Run All the
# first message arrives after the last cell: so "not yet", never "none".
NO_BROWSER = "no browser has answered yet — the kernel engine carries on"
WAITING = f"{NO_BROWSER}; a browser showing this notebook answers after this cell (under Run All, after the last one)"
DEFAULT_TRIAL_TIMEOUT_MS = 5000
READY_TIMEOUT_MS = 8000
MODES = ("auto", "site", "opaque")
# Environment variables that mean "this notebook is served through one origin" (a proxy in front).
ONE_ORIGIN_ENV = ("JUPYTERHUB_SERVICE_PREFIX", "BINDER_LAUNCH_HOST", "BINDER_REPO_URL")
EXTENSION_ROUTE = "cors-lab/img/"  # cors_lab.jupyter_ext.ASSET_ROUTE, under the server's base URL


class LiveProbeError(TrialError):
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
    probe_id = traitlets.Unicode("").tag(sync=True)  # views of one probe share their claims by it
    probe_src = traitlets.Unicode("").tag(sync=True)
    lab_host = traitlets.Unicode("127.0.0.1").tag(sync=True)
    mode = traitlets.Unicode("site").tag(sync=True)
    trial_js = traitlets.Unicode("").tag(sync=True)
    # Opaque mode: the Jupyter server's address as the kernel reaches it; the page loads URLs under it
    # from its own origin instead (the same server, as the browser reaches it).
    server_url = traitlets.Unicode("").tag(sync=True)
    ready_timeout_ms = traitlets.Int(READY_TIMEOUT_MS).tag(sync=True)
    pending = traitlets.List(traitlets.Dict()).tag(sync=True)  # [{id, spec} | {id, visit} | {id, script}] not answered yet
    # Set from the page's custom messages (see live.js for why not synced traits), in the kernel only:
    report = traitlets.Dict()  # the newest answer: {id, result | error | visited, url, round_trip_ms, view}
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
    "site" origin, same-site with the notebook page when the lab uses the host name of your address
    bar (``cors_lab.start()`` follows Jupyter's; a lab started without ``host=`` also follows your
    browser once it reports). ``mode="opaque"`` uses a sandboxed page with origin ``null`` and the
    kit's server extension instead (Binder, JupyterHub); ``mode="auto"`` picks it when
    `one_origin_reason` finds one origin. ``probe.url(name, **knobs)`` is a picture URL that works in
    either mode.

    ``run`` queues and returns a `Ticket` at once; results arrive after the cell, in ``results``
    (ticket id -> Outcome), in the table below the frame and in the ``last`` trait
    (``probe.observe(fn, names="last")``). Without a browser (nbval, a bare kernel) nothing is ever
    rendered and ``status`` says so; nothing blocks. A probe whose lab was stopped says so and
    offers to `rebind` to the running lab.
    """

    status = traitlets.Unicode(WAITING)
    last = traitlets.Any(None)  # the newest Outcome (observe it with names="last")

    def __init__(self, lab: Any, *, mode: str = "auto", timeout_ms: int = DEFAULT_TRIAL_TIMEOUT_MS,
                 environ: Mapping[str, str] | None = None) -> None:
        from .servers import Lab

        if not isinstance(lab, Lab):
            raise UsageError("LiveProbe needs the running lab: "
                             "lab = cors_lab.start(); probe = cors_lab.LiveProbe(lab).")
        if mode not in MODES:
            raise UsageError(f"mode must be one of {', '.join(MODES)}; got {mode!r}.")
        if not (isinstance(timeout_ms, int) and 100 <= timeout_ms <= 60_000):
            raise UsageError(f"timeout_ms must be an int between 100 and 60000, not {timeout_ms!r}.")
        self.environ = os.environ if environ is None else environ
        self.one_origin = one_origin_reason(self.environ)
        self.mode = ("opaque" if self.one_origin else "site") if mode == "auto" else mode
        # Opaque mode: this kernel's Jupyter server, which serves the extension's pictures.
        self.server = hosting.find_server(self.environ) if self.mode == "opaque" else None
        self.timeout_ms = timeout_ms
        self.results: dict[str, Outcome] = {}
        self.failures: dict[str, str] = {}
        self.tickets: dict[str, Ticket] = {}
        self.visits: dict[str, str | None] = {}  # visit id -> None (queued), "ok" or the reason it failed
        self.scripts: dict[str, dict | None] = {}  # script id -> None (queued) or what the page posted
        self._script_callbacks: dict[str, Callable[[dict], None]] = {}
        self.errors: list[str] = []  # tracebacks of failed widget callbacks (also shown in the box)
        self.followed: str | None = None  # set when the lab took the browser's host name
        self._asked: dict[str, float] = {}
        self._numbers = itertools.count(1)
        self._visit_numbers = itertools.count(1)
        self._script_numbers = itertools.count(1)
        self._arrived = threading.Condition()
        self._listeners: list[Callable[[str, Outcome | None], None]] = []
        self.name = f"probe{next(_probe_numbers)}"

        self.lab = lab
        self.frame = ProbeFrame(
            probe_id=f"{self.name}-{secrets.token_hex(6)}",
            probe_src=lab.site.probe_url() if self.mode == "site" else "",
            lab_host=lab.host,
            mode=self.mode,
            trial_js=trial_source() if self.mode == "opaque" else "",
            server_url=self.server.url if self.server else "",
        )
        self.view = ipywidgets.HTML()
        self.rebind_button = ipywidgets.Button(description="Rebind the probe to the running lab", icon="refresh",
                                               layout=ipywidgets.Layout(display="none", width="auto"))
        self.rebind_button.on_click(self._guarded_click(self._rebind_clicked))
        self.error_output = ipywidgets.Output()
        super().__init__(children=(self.frame, self.view, self.rebind_button, self.error_output),
                         layout=ipywidgets.Layout(border="1px solid #c8c8c8", padding="6px 8px", overflow="auto"))
        self.add_class("cors-lab-live")
        self.frame.observe(self._guarded(self._on_report), names="report")
        self.frame.observe(self._guarded(self._on_frontend), names="frontend")
        lab.watch(self._on_lab)
        self._refresh()

    # -- the lab it runs on ----------------------------------------------------------------------

    def rebind(self, lab: Any) -> LiveProbe:
        """Run on ``lab`` from now on (e.g. after ``lab.stop(); lab = cors_lab.start()``); returns the probe.

        The page reloads the probe page from the new lab; results so far are kept.
        """
        from .servers import Lab

        if not isinstance(lab, Lab) or not lab.running:
            raise UsageError("rebind needs a running lab: probe.rebind(cors_lab.start()).")
        if lab is not self.lab:
            self.lab = lab
            lab.watch(self._on_lab)
        self._follow_lab()
        return self

    def _on_lab(self, event: str) -> None:
        """The lab changed: a new host name (follow it), or it stopped (say so, offer to rebind)."""
        self._follow_lab()

    def _follow_lab(self) -> None:
        if self.mode == "site" and self.lab.running:
            self.frame.lab_host = self.lab.host
            self.frame.probe_src = self.lab.site.probe_url()
        self._refresh()

    def _rebind_clicked(self) -> None:
        from .servers import running_lab

        lab = running_lab()
        if lab is None:
            with self.error_output:
                print("No lab is running: start one with lab = cors_lab.start(), then press the button again.")
            return
        self.rebind(lab)

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
    def match(self) -> BrowserMatch | None:
        """Your browser as the page detected it (feature detection, the user agent for version and
        platform) matched to a model profile, and whether the kit measured it; None before it reports."""
        found = self.frame.frontend.get("engine")
        if not isinstance(found, dict):
            return None
        return match_browser(found.get("engine"), version=found.get("version") or None,
                             platform=found.get("platform") or None, name=found.get("name") or None)

    @property
    def profile(self) -> str:
        """The engine profile `predict` uses for your browser: the detected engine's ("chromium",
        "firefox", "webkit", or "spec" for an engine not told apart), Chromium's until the page reports."""
        match = self.match
        return match.profile if match else DEFAULT_PROFILE

    @property
    def measured(self) -> bool | None:
        """Whether the kit measured your browser's engine and version (None before the page reports):
        where it did not, a difference from the model is news, not a disagreement."""
        match = self.match
        return match.measured if match else None

    @property
    def problem(self) -> str | None:
        """What stops the live probe from matching the lesson, in plain words with the fix; None if nothing."""
        fe = self.frame.frontend
        problems = []
        if self._stale:
            problems.append("The lab this probe was built on is stopped. Fix: probe.rebind(cors_lab.start()) "
                            "(or the button \"Rebind the probe to the running lab\").")
        if self.mode == "site":
            host = fe.get("hostname")
            if fe and (fe.get("hub") or not fe.get("loopback")):
                problems.append(
                    f"Jupyter is open at {fe.get('origin')}: one origin for everything (JupyterHub, Binder or a "
                    "remote server), so your browser cannot reach the lab's loopback servers. Use the "
                    'opaque-origin probe instead. Fix: probe = cors_lab.LiveProbe(lab, mode="opaque")'
                )
            elif fe and host != self.lab.host:
                problems.append(
                    f"Your browser opened Jupyter at {host}, but the lab runs as {self.lab.host}, so the probe "
                    "page is cross-site to the notebook page: cookies and localStorage behave unlike the lesson. "
                    f'Fix: lab = cors_lab.start(host="{host}") (the same servers under that name; this probe '
                    "and the panel follow)"
                )
            elif self.one_origin and not fe:
                problems.append(f"{self.one_origin}; the site-origin probe will not reach the lab. "
                                'Fix: probe = cors_lab.LiveProbe(lab, mode="opaque")')
        else:
            if self.server is None and not self._public_base():
                problems.append(
                    "No Jupyter server was found for this kernel (no JUPYTERHUB_SERVICE_URL, no server-info file "
                    "of a parent process), so the kernel cannot fetch the extension's pictures and probe.url() has "
                    "no address to give. Open this notebook from the Jupyter server that has the kit's extension.")
        if fe.get("frame_state") == "blocked":
            where = self.lab.site.probe_url() if self.mode == "site" else "the sandboxed srcdoc page"
            problems.append(
                f"The probe page ({where}) did not answer in your browser within "
                f"{self.frame.ready_timeout_ms / 1000:g} s: it may be blocked by a browser extension or a proxy."
            )
        if self.mode == "opaque" and fe.get("extension") == "missing":
            problems.append(
                "The kit's Jupyter server extension does not answer, so the opaque page has no pictures to load. "
                "Fix: python -m cors_lab enable-extension, then restart Jupyter.")
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
            "picture readable, and there are no logins, redirects or delays to try. The kernel fetches the "
            "same pictures from the same server through its local address.")

    # -- picture URLs ----------------------------------------------------------------------------

    def url(self, name: str, **knobs: object) -> str:
        """A cross-origin picture URL for this probe's page, absolute: ``lab.cdn.url(...)``, or in opaque
        mode the server extension's (``{server}/cors-lab/img/<name>?<knobs>``).

        Opaque mode names the server by the address your browser uses once it has reported it (or
        ``JUPYTERHUB_PUBLIC_URL``), else by the kernel's own address of the same server: the page then
        loads the same path from its own origin, and the kernel fetches either through its address.
        """
        if self.mode == "site":
            return self.lab.cdn.url(name, **knobs)
        from .jupyter_ext import asset_path

        base = self._public_base() or (self.server.url if self.server else None)
        if base is None:
            raise UsageError(self.problem or "No Jupyter server was found for this kernel.")
        return base + asset_path("/", name, **knobs)[1:]

    def kernel_url(self, url: str) -> str:
        """The URL the kernel fetches for ``url``: the extension's pictures through the server's local address."""
        public = self._public_base()
        if self.server is not None and public and url.startswith(public):
            return self.server.url + url[len(public):]
        return url

    def is_extension_url(self, url: str) -> bool:
        """``url`` names the kit's server extension on this notebook's own server (by either address)."""
        path = urlsplit(url).path
        bases = [b for b in (self._public_base(), self.server.url if self.server else None) if b]
        return any(url.startswith(b) and path.startswith(urlsplit(b).path + EXTENSION_ROUTE) for b in bases)

    def _public_base(self) -> str | None:
        """The Jupyter server as your browser reaches it (its origin and base URL), once known."""
        fe = self.frame.frontend
        origin, base = fe.get("origin"), fe.get("base_url")
        if isinstance(origin, str) and origin.startswith(("http://", "https://")) and isinstance(base, str):
            path = base.strip("/")
            return f"{origin}/{path}/" if path else f"{origin}/"
        return hosting.public_base(self.environ)

    def _unreachable(self, url: str) -> bool:
        """Behind one origin, the lab's loopback URLs are out of the browser's reach."""
        fe = self.frame.frontend
        behind = self.one_origin or (fe and (fe.get("hub") or not fe.get("loopback")))
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        return bool(behind) and any(origin in o.aliases for o in self.lab.origins)

    # -- asking ----------------------------------------------------------------------------------

    def run(self, url: str, crossorigin: str | None = None, operation: str = "getImageData", *,
            timeout_ms: int | None = None, misplaced: str | None = None) -> Ticket:
        """Queue one experiment in the browser: load ``url`` (with this ``crossorigin`` attribute, None =
        absent), run ``operation``. Returns a `Ticket` at once; the Outcome arrives after this cell.
        ``misplaced`` puts "anonymous" on another property instead (`cors_lab.trial.MISPLACED`)."""
        trial = Trial(str(url), crossorigin, operation, timeout_ms, misplaced)
        if self.mode == "opaque" and self._unreachable(trial.url):
            raise UsageError(
                f"Behind one origin your browser cannot reach the lab's loopback servers ({trial.url}). "
                "Fix: use the kit's server extension, e.g. probe.run(probe.url(\"picture.png\", acao=\"*\")).")
        if self._stale:
            raise UsageError("This probe's lab is stopped, so its pages and pictures are gone. "
                             "Fix: probe.rebind(cors_lab.start()), then run again.")
        ticket = Ticket(id=f"t{next(self._numbers)}", url=trial.url, crossorigin=crossorigin, operation=operation,
                        probe=self)
        spec = trial.spec(self.timeout_ms)
        self.tickets[ticket.id] = ticket
        self._asked[ticket.id] = time.perf_counter()
        self.frame.pending = [*self.frame.pending, {"id": ticket.id, "spec": spec}]
        self._refresh()
        return ticket

    def visit(self, url: str) -> str:
        """Have your browser request ``url`` with its cookies before the next experiments (a login or a
        logout on the lab: its ``Set-Cookie`` then counts for the experiments after it). Returns the
        visit's id; ``probe.visits[id]`` becomes "ok" or the reason it failed. Site mode only."""
        if self.mode != "site":
            raise UsageError("An opaque-origin page sends no cookies, so there is nothing to log in to here.")
        Trial(str(url))  # the same one-line check as an experiment's URL
        vid = f"v{next(self._visit_numbers)}"
        self.visits[vid] = None
        self.frame.pending = [*self.frame.pending, {"id": vid, "visit": str(url)}]
        return vid

    def run_script(self, srcdoc: str, *, wait_ms: int, on_result: Callable[[dict], None]) -> str:
        """Have your browser run a whole page (``srcdoc``, e.g. the JavaScript exercise's, `cors_lab.jscheck`)
        in a sandboxed frame (origin null) below the probe. Returns its id at once; ``on_result(result)``
        is called with what the page posted (or ``{"error": ...}`` after ``wait_ms``), after this cell."""
        if self._stale:
            raise UsageError("This probe's lab is stopped. Fix: probe.rebind(cors_lab.start()), then run again.")
        sid = f"s{next(self._script_numbers)}"
        self.scripts[sid] = None
        self._script_callbacks[sid] = on_result
        self.frame.pending = [*self.frame.pending, {"id": sid, "script": srcdoc, "wait_ms": int(wait_ms)}]
        return sid

    def clear(self) -> None:
        """Forget every result and every queued experiment."""
        self.frame.pending = []
        self.results.clear()
        self.failures.clear()
        self.tickets.clear()
        self.visits.clear()
        self.scripts.clear()
        self._script_callbacks.clear()
        self._asked.clear()
        self._refresh()

    def add_listener(self, listener: Callable[[str, Outcome | None], None]) -> None:
        """Call ``listener(ticket_id, outcome)`` for each answer (outcome None: that experiment failed)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[str, Outcome | None], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

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
                f" {NO_BROWSER}: no view of this probe has reported from a browser (nbval, a bare kernel, a "
                "closed tab), or its first message has not reached the kernel yet. Show `probe` in "
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

    def _guarded_click(self, fn: Callable[[], None]) -> Callable[[Any], None]:
        def callback(_button: Any) -> None:
            try:
                fn()
            except Exception:
                self._show_error(f"cors-lab LiveProbe: {fn.__name__} failed")

        return callback

    def _show_error(self, where: str) -> None:
        text = f"{where}\n{traceback.format_exc()}"
        self.errors.append(text)
        self.error_output.append_stderr(text)

    def _on_frontend(self, change: dict) -> None:
        fe = change["new"] or {}
        host = fe.get("hostname")
        # The lab follows the name in the browser's address bar, unless the learner chose one (start(host=...)).
        if (self.mode == "site" and fe.get("loopback") and not fe.get("hub") and host in hosting.LOOPBACK_HOSTS
                and host != self.lab.host and self.lab.host_why != "given" and self.lab.running):
            self.followed = (f"The lab now uses {host}, the name in your browser's address bar (it used "
                             f"{self.lab.host}: {self.lab.host_why}); experiments queued before keep their URLs.")
            self.lab.use_host(host, why=f"your browser's address ({fe.get('origin')})")  # tells _on_lab
            return
        self._refresh()

    def _on_report(self, change: dict) -> None:
        report = change["new"] or {}
        tid = report.get("id")
        if tid in self.visits:
            self.frame.pending = [p for p in self.frame.pending if p.get("id") != tid]
            if self.visits[tid] is None:
                self.visits[tid] = "ok" if report.get("visited") else str(report.get("error") or "failed")
            return
        if tid in self.scripts:
            self.frame.pending = [p for p in self.frame.pending if p.get("id") != tid]
            if self.scripts[tid] is None:
                result = report.get("result")
                self.scripts[tid] = result if isinstance(result, dict) else {"error": str(report.get("error") or "no result")}
                callback = self._script_callbacks.pop(tid, None)
                if callback is not None:
                    callback(self.scripts[tid])  # its errors reach error_output through _guarded
            return
        if tid not in self.tickets or tid in self.results or tid in self.failures:
            return  # another view answered first, or a ticket from before clear()
        ticket = self.tickets[tid]
        self.frame.pending = [p for p in self.frame.pending if p.get("id") != tid]
        asked = self._asked.get(tid)
        timing = {
            "frame_round_trip_ms": report.get("round_trip_ms"),
            "kernel_round_trip_ms": (time.perf_counter() - asked) * 1000 if asked else None,
        }
        loaded = report.get("url") if isinstance(report.get("url"), str) else ticket.url
        outcome = None
        try:
            if "error" in report:
                raise LiveProbeError(str(report["error"]))
            outcome = outcome_from_trial(
                report.get("result"), url=loaded, crossorigin=ticket.crossorigin,
                operation=ticket.operation, extra={"ticket": tid, "timing": timing, "view": report.get("view"),
                                                   "asked_url": ticket.url},
            )
        except TrialError as err:
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

    @property
    def _stale(self) -> bool:
        """Site mode on a stopped lab: the probe page and the pictures are gone."""
        return self.mode == "site" and not self.lab.running

    def _status_text(self) -> str:
        if self._stale:
            return "the lab this probe was built on is stopped: rebind it (probe.rebind(cors_lab.start()))"
        fe = self.frame.frontend
        if not fe:
            return WAITING
        state = fe.get("frame_state")
        match = self.match
        browser = f"your browser ({match.browser if match else fe.get('browser', 'unknown')})"
        if state == "ready":
            return (f"ready: {browser} runs each experiment in a page on {fe.get('frame_origin')} "
                    f"(this notebook is on {fe.get('origin')})")
        if state == "blocked":
            return f"attached, but the probe page did not answer in {browser}"
        return f"attached: {browser} is loading the probe page"

    def _refresh(self) -> None:
        self.status = self._status_text()
        self.view.value = self._html()
        self.rebind_button.layout.display = "" if self._stale else "none"

    def _html(self) -> str:
        # Problems are shown once, by the page (live.js sees them first-hand); Python has probe.problem.
        parts = [f'<div class="cors-lab-live-status"><b>In the kernel:</b> {html.escape(self.status)}</div>']
        match = self.match
        if match is not None:
            parts.append(_profile_line(match))
        if self._stale:
            parts.append(render.problem("The lab this probe was built on is stopped: its probe page and pictures "
                                        "are gone. Press \"Rebind the probe to the running lab\" or run "
                                        "probe.rebind(cors_lab.start())."))
        if self.followed:
            parts.append(f'<div class="cors-lab-live-note" style="color:#444;margin:2px 0">{html.escape(self.followed)}</div>')
        if self.mode == "opaque":
            parts.append(f'<div class="cors-lab-live-note" style="color:#444;margin:2px 0">{html.escape(self.note)}</div>')
        rows = [_result_rows(t, outcome=self.results.get(tid), failure=self.failures.get(tid), lab=self.lab)
                for tid, t in self.tickets.items()]
        if rows:
            parts.append(render.table(("#", "image", "crossorigin", "operation", "what happened", "pixel (0,0)", "ms"),
                                      rows, cls="cors-lab-live-results"))
        return render.box("".join(parts))

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        # The same text in site and opaque mode until a browser answers (what nbval stores and compares).
        problem = " (problem: see probe.problem)" if self.problem else ""
        return f"<LiveProbe: {self.status}{problem}>"


def _profile_line(match: BrowserMatch) -> str:
    """Which model profile predicts for this browser, and, plainly, whether the kit measured it."""
    head = (f"<b>Your browser:</b> {html.escape(match.browser)} · model profile "
            f"<code class='cors-lab-live-profile'>{html.escape(match.profile)}</code>")
    if match.measured:
        return f'<div class="cors-lab-live-engine" data-measured="1">{head}. {html.escape(match.why)}</div>'
    return render.caution(f"{head} (not measured). {html.escape(match.why)}", cls="cors-lab-live-engine")


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


def _result_rows(ticket: Ticket, *, outcome: Outcome | None, failure: str | None, lab: Any) -> str:
    """Two table rows per experiment: the verdict line, then the page origin and the exception message."""
    cell = render.cell
    cells = [cell(ticket.id),
             cell(render.image_label(ticket.url, lab), code=True, title=ticket.url, extra=render.BREAK_ANYWHERE),
             cell("(absent)" if ticket.crossorigin is None else repr(ticket.crossorigin), code=True),
             cell(ticket.operation, code=True)]
    detail = ""
    if failure:
        cells.append(render.note_cell(f"failed: {failure}", colspan=3, colour=render.RED, italic=False))
    elif outcome is None:
        cells.append(render.note_cell("waiting for the browser…", colspan=3))
    else:
        text, colour = render.verdict(outcome)
        ms = outcome.elapsed_ms
        cells += [cell(text, colour=colour, extra=render.NOWRAP), render.swatch(outcome.pixel),
                  cell(f"{ms:.0f}" if isinstance(ms, (int, float)) else "—")]
        said = f"{outcome.exception}: {outcome.message}" if outcome.exception else (outcome.message or "")
        detail = (f"page origin <code>{html.escape(outcome.page)}</code>"
                  + (f" — <code>{html.escape(said)}</code>" if said else ""))
    first = render.row(cells, attrs=f" data-ticket='{html.escape(ticket.id)}'")
    if not detail:
        return first
    return (first + f"<tr class='cors-lab-live-detail'><td></td><td colspan='6' style='{render.TD};padding-bottom:4px;"
            f"color:#555;font-size:92%'>{detail}</td></tr>")
