"""Side by side: the model, the kernel browser and (when attached) the live browser on one experiment.

Owns `compare` and the `Comparison` it returns: who said what, and every disagreement in plain
words. It decides no rule (the engines do) and draws through `cors_lab.render`.

    compare(lab, url, "anonymous", "getImageData", probe)   # model | kernel | browser, disagreements flagged

(Named ``comparison``, not ``compare``: a submodule called ``compare`` would become the package's
``cors_lab.compare`` attribute once imported, hiding the function ``cors_lab.compare``.)
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets

from . import render
from .browser import Browser
from .errors import UsageError
from .live import NO_BROWSER, LiveProbe, Ticket
from .outcome import Outcome
from .predict import predict
from .servers import Lab
from .trial import check_operation

ENGINES = ("model", "kernel", "browser")
ENGINE_NAMES = {"model": "model (predict)", "kernel": "kernel Browser", "browser": "your browser (live)"}


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
            probe.add_listener(self._on_live)

    def _on_live(self, tid: str, outcome: Outcome | None) -> None:
        if self.ticket is None or tid != self.ticket.id:
            return
        if outcome is None:
            self.notes["browser"] = self.probe.failures.get(tid, "failed") if self.probe else "failed"
        self.outcomes["browser"] = outcome
        self.probe.remove_listener(self._on_live)
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

    def _row(self, engine: str) -> str:
        o = self.outcomes.get(engine)
        if o is None:
            return render.row([render.cell(ENGINE_NAMES[engine]),
                               render.note_cell(self.notes.get(engine, ""), colspan=3)])
        text, colour = render.verdict(o)
        said = f"{o.exception}: {o.message}" if o.exception and o.message else (o.exception or "—")
        return render.row([render.cell(ENGINE_NAMES[engine], extra=render.NOWRAP),
                           render.cell(text, colour=colour, extra=render.NOWRAP),
                           render.cell(render.short(said, 90), title=said), render.cell(o.page, code=True)])

    def _html(self) -> str:
        diffs = self.differences
        if diffs:
            closing = render.problems("The engines disagree:", diffs, tail=(
                "A disagreement is news: a browser difference, the HTTP cache, an extension, or a gap in the model."))
        elif self.agree:
            closing = render.good("All engines that answered agree.")
        else:
            closing = ""
        crossorigin = "(absent)" if self.crossorigin is None else repr(self.crossorigin)
        label = render.image_label(self.url, self.lab) if self.lab else render.short(self.url, 70)
        caption = (f"<code>{html.escape(self.operation)}</code> on <code title='{html.escape(self.url)}'>"
                   f"{html.escape(label)}</code>, crossorigin <code>{html.escape(crossorigin)}</code>, "
                   f"page <code>{html.escape(self.page)}</code>")
        table = render.table(("engine", "what happened", "exception", "page"), [self._row(e) for e in ENGINES])
        return render.box(f"<div>{caption}</div>{table}{closing}", cls="cors-lab-compare")

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

    Positional like the notebooks call it (``compare(lab, url, "anonymous", "getImageData", probe)``),
    the one exception to keyword-only arguments here.
    """
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


__all__ = ["ENGINES", "Comparison", "compare"]
