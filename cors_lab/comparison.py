"""Side by side: the model, the kernel browser and (when attached) the live browser on one experiment.

Owns `compare` and the `Comparison` it returns: who said what — the verdict, the exception, the pixel
read back and the requests the servers saw (Origin, the lab's cookies) — and every disagreement in
plain words. It decides no rule (the engines do) and draws through `cors_lab.render`.

    compare(lab, url, "anonymous", "getImageData", probe)   # model | kernel | browser, disagreements flagged

Behind one origin (the probe's opaque mode: Binder, JupyterHub) the page is ``"null"``, the picture
comes from the kit's server extension at the same absolute URL for every engine, and the kernel
fetches it through the Jupyter server's local address (`LiveProbe.kernel_url`).

(Named ``comparison``, not ``compare``: a submodule called ``compare`` would become the package's
``cors_lab.compare`` attribute once imported, hiding the function ``cors_lab.compare``.)
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

import ipywidgets

from . import render
from .browser import Browser, RawResponse, RequestsTransport
from .errors import UsageError
from .live import NO_BROWSER, LiveProbe, Ticket
from .outcome import Outcome
from .predict import predict
from .servers import Lab, LogEntry
from .servers.log import split_cookies
from .spec.headers import HeaderList
from .spec.profiles import DEFAULT_PROFILE, ENGINE_PROFILES, MEASURED, PROFILE_NAMES
from .trial import check_operation

ENGINES = ("model", "kernel", "browser")
ENGINE_NAMES = {"model": "model (predict)", "kernel": "kernel Browser", "browser": "your browser (live)"}
LAB_COOKIES_NOTE = "cookies: the lab's own (cors_lab_*); Jupyter's, which your browser also sends, are not compared"


@dataclass(frozen=True)
class Sent:
    """One request as an engine made it (the model: as it predicts it), for comparing engines.

    ``seen`` says whether a server recorded it (False: what the engine says it sent). ``cookies``
    names the lab's cookies sent ("" = none).
    """

    url: str
    origin: str | None
    cookies: str
    seen: bool
    status: int | None = None
    acao: str | None = None


class Rerouted:
    """A kernel-browser transport that fetches each URL at ``route(url)`` (the Jupyter server's local
    address for the address your browser uses), so every engine names the picture by the same URL."""

    def __init__(self, route: Callable[[str], str], inner: Callable[[str, list, float], RawResponse] | None = None):
        self.route = route
        self.inner = inner or RequestsTransport()

    def __call__(self, url: str, headers: list, timeout: float) -> RawResponse:
        return self.inner(self.route(url), headers, timeout)


class Comparison:
    """One experiment as each engine saw it, with every disagreement in plain words.

    ``outcomes`` maps "model", "kernel" and "browser" to an Outcome (None: that engine has no answer
    yet, or cannot give one; ``notes`` says why). ``requests`` maps each engine to the requests it
    made, hop by hop (`Sent`; from the servers' log where there is one). Shown as a table; with a live
    probe the table updates itself when the browser's answer arrives after the cell.
    """

    def __init__(self, *, url: str, crossorigin: str | None, operation: str, page: str,
                 outcomes: dict[str, Outcome | None], notes: dict[str, str],
                 probe: LiveProbe | None = None, ticket: Ticket | None = None, lab: Any = None,
                 since: float | None = None, profile: str = DEFAULT_PROFILE,
                 by_profile: dict[str, Outcome | None] | None = None) -> None:
        self.lab = lab
        self.profile = profile  # the engine profile the model and the kernel browser predicted for
        # With all_profiles: the model's outcome for every profile over the same responses.
        self.by_profile = by_profile
        self.reprofile: Callable[[str], None] | None = None  # set by compare(): redo model and kernel for a profile
        self.url, self.crossorigin, self.operation, self.page = url, crossorigin, operation, page
        self.outcomes = outcomes
        self.notes = notes
        self.probe = probe
        self.ticket = ticket
        self.since = time.time() if since is None else since
        self.kernel_since = self.since  # the kernel browser's requests are these or later ones (a re-run)
        self.loaded = None  # the kernel browser's LoadResult, set by compare()
        self.requests: dict[str, list[Sent] | None] = {e: None for e in ENGINES}
        self.widget: ipywidgets.HTML | None = None
        self._watchers: list[Callable[[Comparison], None]] = []
        if probe is not None and ticket is not None:
            self.widget = ipywidgets.HTML(self._html())
            probe.add_listener(self._on_live)

    @property
    def opaque(self) -> bool:
        return self.page == "null"

    def on_update(self, fn: Callable[[Comparison], None]) -> None:
        """Call ``fn(comparison)`` when the live answer has arrived and the comparison is complete."""
        self._watchers.append(fn)

    def _on_live(self, tid: str, outcome: Outcome | None) -> None:
        if self.ticket is None or tid != self.ticket.id:
            return
        if outcome is None:
            self.notes["browser"] = self.probe.failures.get(tid, "failed") if self.probe else "failed"
        self.outcomes["browser"] = outcome
        if self.probe is not None:
            self.probe.remove_listener(self._on_live)
            # Under Run All the page reports which engine it is after compare() ran: the model and the
            # kernel browser predicted for the default profile then; now they predict for yours.
            if self.probe.profile != self.profile and self.reprofile is not None:
                self.reprofile(self.probe.profile)
        self.read_requests()
        if self.widget is not None:
            self.widget.value = self._html()
        for fn in list(self._watchers):
            fn(self)

    # -- the requests each engine made --------------------------------------------------------------

    def read_requests(self) -> None:
        """Fill ``requests``: the model's prediction, and what the lab's servers saw from the kernel and
        your browser for each hop (the kernel's own record where no server keeps a log: opaque mode)."""
        model = self.outcomes.get("model")
        if model is not None:
            self.requests["model"] = [Sent(h.url, h.origin, "sent (predicted)" if h.cookies else "", seen=False)
                                      for h in model.requests]
        hops = [h.request.url for h in self.loaded.hops] if self.loaded is not None else []
        if self.opaque or self.lab is None:
            if self.loaded is not None:
                self.requests["kernel"] = [Sent(h.request.url, h.request.origin, _cookie_names(h.sent), seen=False,
                                                status=h.status or None, acao=HeaderList(h.headers).get(_ACAO))
                                           for h in self.loaded.hops]
            return
        log = [e for e in self.lab.log() if e.time >= self.since - 0.001]
        for engine in ("kernel", "browser"):
            if engine == "browser" and self.outcomes.get("browser") is None:
                continue
            since = self.kernel_since if engine == "kernel" else self.since
            found = [_seen(self.lab, [e for e in log if e.time >= since - 0.001], url, client=engine) for url in hops]
            self.requests[engine] = found

    # -- agreement ------------------------------------------------------------------------------------

    @property
    def differences(self) -> list[str]:
        """One sentence per disagreement: verdict fields for each pair (`Outcome.differences`), the pixel
        read back (kernel vs browser), then the requests (Origin, the lab's cookies) hop by hop."""
        present = [(e, self.outcomes.get(e)) for e in ENGINES if self.outcomes.get(e) is not None]
        out = []
        for i, (_, a) in enumerate(present):
            for _, b in present[i + 1:]:
                out += a.differences(b)
        kernel, live = self.outcomes.get("kernel"), self.outcomes.get("browser")
        if (kernel is not None and live is not None and kernel.readback == live.readback == "ok"
                and kernel.pixel and live.pixel and tuple(kernel.pixel) != tuple(live.pixel)):
            out.append(f"pixel (0,0): kernel read {_rgba(kernel.pixel)}, browser read {_rgba(live.pixel)}")
        out += self._request_differences()
        return out

    def _request_differences(self) -> list[str]:
        out = []
        engines = [e for e in ENGINES if self.requests.get(e)]
        for i, a in enumerate(engines):
            for b in engines[i + 1:]:
                for hop, (x, y) in enumerate(zip(self.requests[a], self.requests[b]), 1):
                    if x is None or y is None:
                        continue
                    if x.origin != y.origin:
                        out.append(f"request {hop} Origin: {_said(a, x)} {_origin(x.origin)}, "
                                   f"{_said(b, y)} {_origin(y.origin)}")
                    if bool(x.cookies) != bool(y.cookies):
                        out.append(f"request {hop} cookies: {_said(a, x)} {x.cookies or 'none'}, "
                                   f"{_said(b, y)} {y.cookies or 'none'}")
        return out

    @property
    def agree(self) -> bool | None:
        """True/False when two or more engines answered, None when fewer did."""
        if sum(o is not None for o in self.outcomes.values()) < 2:
            return None
        return not self.differences

    # -- display --------------------------------------------------------------------------------------

    def __str__(self) -> str:
        lines = [f"{self.operation} on {self.url} (crossorigin={self.crossorigin!r}) from page {self.page}"
                 f" (model and kernel as {self.profile})"]
        for engine in ENGINES:
            o = self.outcomes.get(engine)
            if o is None:
                lines.append(f"  {engine:<7} —  {self.notes.get(engine, '')}")
            else:
                exc = f"  {o.exception}" if o.exception else ""
                pixel = f"  pixel {_rgba(o.pixel)}" if o.pixel and o.readback == "ok" else ""
                lines.append(f"  {engine:<7} load={o.load}  readback={o.readback}{exc}{pixel}")
        if self.by_profile:
            for name, o in self.by_profile.items():
                lines.append(f"  model as {name:<8} " + ("—" if o is None else f"load={o.load}  readback={o.readback}"
                                                          + (f"  {o.exception}" if o.exception else "")))
        diffs = self.differences
        if diffs and self.unmeasured:
            lines += ["  DIFFERS (not measured): " + d for d in diffs] + [f"  {self.unmeasured}"]
        elif diffs:
            lines += ["  DISAGREE: " + d for d in diffs]
        elif self.agree:
            lines.append("  all engines that answered agree")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _row(self, engine: str) -> str:
        o = self.outcomes.get(engine)
        if o is None:
            return render.row([render.cell(self._label(engine), extra=render.NOWRAP),
                               render.note_cell(self.notes.get(engine, ""), colspan=3)])
        text, colour = render.verdict(o)
        said = f"{o.exception}: {o.message}" if o.exception and o.message else (o.exception or "—")
        pixel = render.swatch(o.pixel if o.readback == "ok" else None)
        return render.row([render.cell(self._label(engine), extra=render.NOWRAP),
                           render.cell(text, colour=colour, extra=render.NOWRAP), pixel,
                           render.cell(render.short(said, 90), title=said)])

    def _request_rows(self) -> list[str]:
        rows = []
        hops = max((len(v) for v in self.requests.values() if v), default=0)
        for hop in range(hops):
            for engine in ENGINES:
                sent = (self.requests.get(engine) or [None] * hops)
                item = sent[hop] if hop < len(sent) else None
                name = render.cell(f"{hop + 1} · {self._label(engine)}", extra=render.NOWRAP)
                if item is None:
                    why = self._missing_request(engine)
                    rows.append(render.row([name, render.note_cell(why, colspan=4)]))
                    continue
                acao = f" · ACAO {item.acao}" if item.acao else ""
                answered = "—" if item.status is None else f"{item.status}{acao}"
                rows.append(render.row([
                    name,
                    render.cell(render.image_label(item.url, self.lab), code=True, extra=render.BREAK_ANYWHERE),
                    render.cell("(absent)" if item.origin is None else item.origin, code=True),
                    render.cell(item.cookies or "none", extra=render.NOWRAP),
                    render.cell(answered, extra=render.BREAK_ANYWHERE),
                ]))
        return rows

    def _missing_request(self, engine: str) -> str:
        if engine == "model":
            return "no prediction"
        if engine == "browser" and self.outcomes.get("browser") is None:
            return "no answer from your browser yet"
        if self.opaque:
            return "the kit's server extension keeps no log, so only the kernel's own record is shown"
        return "the servers saw no such request (answered from a cache?)"

    @property
    def unmeasured(self) -> str | None:
        """Why a difference between your browser and the model is not a disagreement (the kit has not
        measured your browser's engine or version), or None when it has (or no browser reported)."""
        match = self.probe.match if self.probe is not None else None
        return match.why if match is not None and not match.measured else None

    def _label(self, engine: str) -> str:
        if engine == "browser" and self.probe is not None and self.probe.match is not None:
            return f"your browser ({self.probe.match.browser})"
        if engine in ("model", "kernel"):
            return f"{ENGINE_NAMES[engine]} as {self.profile}"
        return ENGINE_NAMES[engine]

    def _html(self) -> str:
        diffs = self.differences
        if diffs and self.unmeasured:
            closing = render.problems("Your browser differs from the model here:", diffs, tail=(
                f"{self.unmeasured}"))
        elif diffs:
            closing = render.problems("The engines disagree:", diffs, tail=(
                "A disagreement is news: a browser difference, the HTTP cache, an extension, or a gap in the model."))
        elif self.agree:
            closing = render.good("All engines that answered agree.")
        else:
            closing = ""
        crossorigin = "(absent)" if self.crossorigin is None else repr(self.crossorigin)
        label = render.image_label(self.url, self.lab)
        caption = (f"<code>{html.escape(self.operation)}</code> on <code title='{html.escape(self.url)}' "
                   f"style='overflow-wrap:anywhere'>{html.escape(label)}</code>, crossorigin "
                   f"<code>{html.escape(crossorigin)}</code>, page <code>{html.escape(self.page)}</code>")
        table = render.table(("engine", "what happened", "pixel (0,0)", "exception"), [self._row(e) for e in ENGINES])
        if self.by_profile:
            table += self._profiles_html()
        requests = self._request_rows()
        if requests:
            seen = "what the servers saw" if not self.opaque else "the requests"
            table += (f"<div style='margin-top:6px'><b>{seen}</b> <span style='color:{render.MUTED}'>"
                      f"({html.escape(LAB_COOKIES_NOTE)})</span></div>"
                      + render.table(("request · engine", "image", "Origin", "cookies", "answer"), requests,
                                     cls="cors-lab-log cors-lab-requests"))
        return render.box(f"<div>{caption}</div>{table}{closing}", cls="cors-lab-compare")

    def _profiles_html(self) -> str:
        """The model for every engine profile over the same responses, side by side (yours marked)."""
        live = self.probe.profile if self.probe is not None and self.probe.match is not None else None
        rows = []
        for name, o in self.by_profile.items():
            label = f"{name} ({MEASURED.get(name, 'the standards')})" + (" · your browser" if name == live else "")
            if o is None:
                rows.append(render.row([render.cell(label, extra=render.NOWRAP), render.note_cell("no prediction", colspan=3)]))
                continue
            text, colour = render.verdict(o)
            said = f"{o.exception}: {o.message}" if o.exception and o.message else (o.exception or "—")
            origins = ", ".join("(absent)" if h.origin is None else h.origin for h in o.requests) or "—"
            rows.append(render.row([render.cell(label, extra=render.NOWRAP), render.cell(text, colour=colour),
                                    render.cell(origins, code=True), render.cell(render.short(said, 90), title=said)]))
        return (f"<div style='margin-top:6px'><b>the model for each engine</b> <span style='color:{render.MUTED}'>"
                "(the same responses; where engines differ, each is named in its profile)</span></div>"
                + render.table(("profile", "what happened", "Origin sent", "exception"), rows, cls="cors-lab-profiles"))

    def _repr_html_(self) -> str:
        return self._html()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        if self.widget is None:
            return {"text/plain": str(self), "text/html": self._html()}
        bundle = self.widget._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = str(self)
        return bundle


_ACAO = "Access-Control-Allow-Origin"


def _rgba(pixel) -> str:
    return ",".join(str(int(v)) for v in pixel)


def _origin(value: str | None) -> str:
    return "(absent)" if value is None else repr(value)


def _said(engine: str, sent: Sent) -> str:
    if engine == "model":
        return "the model predicts"
    if sent.seen:
        return f"the server saw from the {engine if engine == 'kernel' else 'browser'}"
    return f"the {engine} sent"


def _cookie_names(headers) -> str:
    """The lab's cookies in a Cookie header line, by name and value ("" when none)."""
    own, _ = split_cookies([v for n, v in headers if n.lower() == "cookie"])
    return "; ".join(f"{k}={v}" for k, v in own.items())


def _target(url: str) -> str:
    parts = urlsplit(url)
    return unquote(parts.path + (f"?{parts.query}" if parts.query else ""))


def _seen(lab: Lab, log: list[LogEntry], url: str, *, client: str) -> Sent | None:
    """What the lab's server for ``url`` recorded from ``client`` for this URL (the first since the
    comparison began), or None when it saw no such request."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    server = next((o.label for o in lab.origins if origin in o.aliases), None)
    target = _target(url)
    for e in log:
        if e.client == client and e.server == server and unquote(e.path) == target:
            cookies = "; ".join(f"{k}={v}" for k, v in e.cookies.items())
            return Sent(url, e.origin, cookies, seen=True, status=e.status, acao=e.header(_ACAO))
    return None


def compare(lab: Any, url: str, crossorigin: str | None = None, operation: str = "getImageData",
            probe: LiveProbe | None = None, *, browser: Any = None, all_profiles: bool = False,
            misplaced: str | None = None) -> Comparison:
    """Run one experiment in every engine: ``predict`` (on the responses the kernel browser saw), the
    kernel `Browser` and, when ``probe`` is given, the live browser. Returns a `Comparison`.

    The model and the kernel browser predict for your browser's engine (``probe.profile``: Chromium,
    Firefox or WebKit as the page detected it; Chromium without a probe). If your browser reports only
    after this cell (Run All), they predict again for its profile when its answer arrives. Where the kit
    never measured your browser (Safari on macOS, another version), a difference is said to be one,
    not a disagreement. ``all_profiles=True`` also shows the model for every profile (the standards,
    Chromium, Firefox, WebKit) over the same responses, side by side.

    All three use the same page: the lab's "site" origin, or ``"null"`` with an opaque-mode probe
    (then ``url`` is the kit's server extension's, from ``probe.url(...)``). The live answer arrives
    after the cell; the table updates itself then (``Comparison.outcomes["browser"]``), with the
    requests the servers saw from each engine. ``browser`` is the kernel `Browser` to use (its cookies
    and HTTP cache carry over; it browses as the profile it was made with); a fresh one by default. The
    kernel's load result is kept as ``Comparison.loaded`` (for drawing it on a canvas). ``misplaced`` has
    your browser put "anonymous" on that property instead of the attribute (`cors_lab.trial.MISPLACED`);
    the model and the kernel load with no attribute, which is what a browser does then.

    Positional like the notebooks call it (``compare(lab, url, "anonymous", "getImageData", probe)``),
    the one exception to keyword-only arguments here.
    """
    if not isinstance(lab, Lab):
        raise UsageError("compare needs the running lab: compare(cors_lab.start(), url, ...).")
    check_operation(operation)
    opaque = probe is not None and probe.mode == "opaque"
    if opaque:
        if not probe.is_extension_url(str(url)):
            raise UsageError(
                f"Behind one origin the live page is opaque (null) and loads pictures from the kit's server "
                f"extension; {url} is not one of its URLs. Fix: cors_lab.compare(lab, probe.url(\"picture.png\", "
                "acao=\"*\"), \"anonymous\", \"getImageData\", probe)")
        page = "null"
    else:
        if not lab.running:
            raise UsageError("This lab is stopped. Fix: lab = cors_lab.start(), then compare(lab, ...) again.")
        page = lab.site.origin
    given = browser is not None
    profile = browser.profile.name if given else probe.profile if probe is not None else DEFAULT_PROFILE

    def kernel_browser(name: str) -> Browser:
        if opaque:
            return Browser(page="null", transport=Rerouted(probe.kernel_url), engine=name)
        return Browser(page=lab.site, engine=name)

    since = time.time()
    notes: dict[str, str] = {}
    result = Comparison(url=url, crossorigin=crossorigin, operation=operation, page=page,
                        outcomes={"model": None, "kernel": None, "browser": None}, notes=notes,
                        lab=lab, since=since, profile=profile)

    def run_kernel_and_model(name: str, kb: Browser) -> None:
        result.profile = name
        result.kernel_since = time.time()
        loaded = kb.load_image(url, crossorigin=crossorigin)
        result.loaded = loaded
        result.outcomes["kernel"] = loaded.outcome(operation)
        chain = [(h.request.url, h.status, list(h.headers)) for h in loaded.hops if h.status]
        if not chain or len(chain) != len(loaded.hops):
            notes["model"] = "no prediction: the kernel browser got no response to predict from"
            result.outcomes["model"] = None
            result.by_profile = {n: None for n in PROFILE_NAMES} if all_profiles else None
            return
        notes.pop("model", None)
        decodes = loaded.decoded is not None or not loaded.fetch.ok

        def model(engine: str) -> Outcome:
            return predict(page=page, chain=chain, crossorigin=crossorigin, cookies=bool(len(kb.cookies)),
                           operation=operation, decodes=decodes, engine=engine)

        result.outcomes["model"] = model(name)
        if all_profiles:
            result.by_profile = {n: model(n) for n in ("spec", *ENGINE_PROFILES)}

    run_kernel_and_model(profile, browser if given else kernel_browser(profile))
    if not given:
        def reprofile(name: str) -> None:
            run_kernel_and_model(name, kernel_browser(name))
            result.read_requests()

        result.reprofile = reprofile
    ticket = None
    if probe is None:
        notes["browser"] = "no live probe given (compare(..., probe=cors_lab.LiveProbe(lab)))"
    else:
        ticket = probe.run(url, crossorigin, operation, misplaced=misplaced)
        notes["browser"] = ("waiting for the browser… (arrives after this cell)" if probe.attached
                            else f"{NO_BROWSER} (its answer arrives after this cell if one shows this notebook)")
        result.probe, result.ticket = probe, ticket
        result.widget = ipywidgets.HTML()
        probe.add_listener(result._on_live)
    result.read_requests()
    if result.widget is not None:
        result.widget.value = result._html()
    return result


__all__ = ["ENGINES", "Comparison", "Rerouted", "Sent", "compare"]
