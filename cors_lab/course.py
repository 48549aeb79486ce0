"""Predict, then see: a question whose answer is computed and shown only after the learner's choice.

Owns `ask` (an image experiment: readable / tainted / load error, and which exception if asked),
`choose` (any question: its choices and a run that answers it), the `Question` widget, and the
reference switch `reference_copy()`, after which every question shows its answer at once (the
maintainers' executed copies in ``notebooks/reference/``, which nbval compares). The experiment runs
when the answer is needed, never before, so a learner's stored notebook holds no answer. It decides
no rule: `compare` (model, kernel, live) does.
"""

from __future__ import annotations

import html
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ipywidgets
from IPython.display import display

from . import render
from .outcome import Outcome
from .snippet import javascript
from .trial import Trial

GUIDE_JS = Path(__file__).with_name("mdn_guide.js")
OUTCOMES = ("readable", "tainted", "load error")
EXCEPTIONS = ("none", "SecurityError", "InvalidStateError")
ANSWER_LATER = "choose an answer in Jupyter; the experiment runs and the answer appears after your choice"
_REFERENCE = {"on": False}


def reference_copy(on: bool = True) -> None:
    """From now on questions show their answer at once (the maintainers' executed reference copies)."""
    _REFERENCE["on"] = bool(on)


def in_reference_copy() -> bool:
    """True after `reference_copy()`: outputs are for a stored reference copy (answers, static pictures)."""
    return _REFERENCE["on"]


def guide_code() -> Shown:
    """The MDN guide's example code (``mdn_guide.js``: its two functions, verbatim), shown as JavaScript."""
    text = GUIDE_JS.read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("// ")).strip()
    return Shown(body, language="js", title="MDN's guide: startDownload() and imageReceived()")


def outcome_class(outcome: Outcome) -> str:
    """"readable", "tainted" or "load error": which of the three outcomes ``outcome`` is."""
    if outcome.load == "error":
        return "load error"
    return "readable" if outcome.readback == "ok" else "tainted"


class Shown:
    """Something the answer shows: text (plain), code in a language, or any object with a repr.

    ``folded``: in Markdown, the code sits in a ``<details>`` block under its title (opened on a click).
    """

    def __init__(self, text: str, *, language: str | None = None, title: str = "", folded: bool = False) -> None:
        self.text, self.language, self.title, self.folded = text, language, title, folded

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        head = f"{self.title}\n" if self.title else ""
        if self.language is None:
            return {"text/plain": head + self.text, "text/markdown": (f"**{self.title}**\n\n" if self.title else "")
                    + self.text}
        fence = "````" if "```" in self.text else "```"
        block = f"{fence}{self.language}\n{self.text.rstrip()}\n{fence}"
        if self.folded:
            markdown = f"<details><summary>{html.escape(self.title)}</summary>\n\n{block}\n\n</details>"
        else:
            markdown = (f"**{self.title}**\n\n" if self.title else "") + block
        return {"text/plain": head + self.text, "text/markdown": markdown}


MAX_HOPS = 20  # as Fetch's redirect count


def server_config(url: str) -> list[Shown]:
    """The Apache and nginx lines that make a real server answer as the lab did for ``url`` (each hop
    of a redirect chain), from `cors_lab.serverconf`; a knob no stock directive can do is said so.
    For a URL that is not a lab picture (the kit's server extension), one block per server saying so."""
    from .errors import UsageError
    from .serverconf import ConfigRefused, apache_config, knobs_from_url, nginx_config

    shown: list[Shown] = []
    hops = [str(url)]
    while len(hops) <= MAX_HOPS:
        try:
            _, knobs = knobs_from_url(hops[-1])
        except UsageError:
            if len(hops) > 1:
                return shown
            # Not a lab picture (the kit's own server extension behind one origin): still one block per
            # server, so an answer shows the same parts everywhere.
            return [Shown(f"# {hops[0].split('?')[0]} is served by the kit's Jupyter server extension, which has "
                          "no knobs: no server lines to show.", language=language, folded=True,
                          title=f"{server}: the lines that make the server of this picture answer as it did")
                    for server, language in (("Apache 2.4", "apache"), ("nginx", "nginx"))]
        if not isinstance(knobs.get("to"), str):
            break
        hops.append(knobs["to"])
    for i, hop in enumerate(hops, 1):
        where = f"the server of {hop.split('/img/')[0]}" + (f" (hop {i} of {len(hops)})" if len(hops) > 1 else "")
        for server, make, language in (("Apache 2.4", apache_config, "apache"), ("nginx", nginx_config, "nginx")):
            try:
                text = make(url=hop)
            except ConfigRefused as err:
                text = f"# {err}"
            shown.append(Shown(text, language=language, folded=True,
                               title=f"{server}: the lines that make {where} answer as the lab did"))
    return shown


@dataclass
class Answer:
    """What a run found: the right choice for each row of the question, and what to show."""

    choices: dict[str, str]
    shown: list[Any] = field(default_factory=list)


def _verdict_line(picked: dict[str, str], right: dict[str, str]) -> Shown:
    parts = []
    for row, value in right.items():
        said = picked.get(row)
        if said is None:
            parts.append(f"{row}: {value}")
        elif said == value:
            parts.append(f"✔ {row}: you said {said}, right")
        else:
            parts.append(f"✘ {row}: you said {said}; it is {value}")
    return Shown("  ·  ".join(parts))


class Question(ipywidgets.VBox):
    """The prompt, one row of buttons per thing to predict, and an Output the answer goes into.

    ``rows`` maps a row's name ("outcome", "exception") to its choices; ``run()`` returns an `Answer`
    and is called once, after every row has a choice. Errors from ``run`` are shown in the Output.
    """

    def __init__(self, prompt: str, rows: dict[str, Sequence[str]], run: Callable[[], Answer]) -> None:
        self.prompt, self.rows, self._run = prompt, {k: tuple(v) for k, v in rows.items()}, run
        self.answer: Answer | None = None
        self.toggles = {name: ipywidgets.ToggleButtons(options=choices, value=None, description=name,
                                                       style={"description_width": "70px"})
                        for name, choices in self.rows.items()}
        for toggle in self.toggles.values():
            toggle.observe(self._on_choice, names="value")
        self.output = ipywidgets.Output()
        header = ipywidgets.HTML(f"<div style='{render.BOX_STYLE}'><b>Predict:</b> {html.escape(prompt)}</div>")
        super().__init__([header, *self.toggles.values(), self.output])

    @property
    def picked(self) -> dict[str, str]:
        return {name: t.value for name, t in self.toggles.items() if t.value is not None}

    def _on_choice(self, change: dict) -> None:
        if self.answer is not None or len(self.picked) < len(self.toggles):
            return
        for toggle in self.toggles.values():
            toggle.disabled = True
        try:
            self.answer = self._run()
        except Exception:  # shown to the learner, never swallowed
            self.output.append_stdout(traceback.format_exc())
            return
        for item in [_verdict_line(self.picked, self.answer.choices), *self.answer.shown]:
            self.output.append_display_data(item)

    def reveal(self) -> Answer:
        """Run and return the answer without a choice (the reference copies)."""
        if self.answer is None:
            self.answer = self._run()
        return self.answer

    def __repr__(self) -> str:
        rows = "; ".join(f"{name}: {' · '.join(choices)}" for name, choices in self.rows.items())
        return f"<Predict: {self.prompt} [{rows}] — {ANSWER_LATER}>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})
        bundle["text/plain"] = repr(self)
        return bundle


class Revealed:
    """A question with its answer, shown at once (reference copies): text/plain for nbval, markdown too."""

    def __init__(self, question: Question) -> None:
        self.question = question
        self.answer = question.reveal()

    def _ipython_display_(self) -> None:
        display(Shown(f"Predict: {self.question.prompt}"))
        display(_verdict_line({}, self.answer.choices))
        for item in self.answer.shown:
            display(item)


def choose(prompt: str, choices: Sequence[str], run: Callable[[], tuple]) -> Question | Revealed:
    """A question with its own ``choices``; ``run()`` returns ``(right_choice, *things_to_show)``."""
    def answer() -> Answer:
        right, *shown = run()
        if right not in choices:
            raise ValueError(f"run() answered {right!r}, which is not one of the choices {list(choices)}")
        return Answer({"answer": right}, list(shown))

    question = Question(prompt, {"answer": choices}, answer)
    return Revealed(question) if _REFERENCE["on"] else question


def ask(lab: Any, url: str, *, crossorigin: str | None = None, operation: str = "getImageData",
        browser: Any = None, probe: Any = None, exception: bool = False, prompt: str = "",
        show_code: bool = True, misplaced: str | None = None, show_config: bool = True) -> Question | Revealed:
    """Predict one image experiment, then see it: readable, tainted or load error (and, with
    ``exception=True``, which exception ``operation`` throws). After the choice the experiment runs in
    the model, the kernel ``browser`` (its cookies and HTTP cache carry over; a fresh one by default)
    and, with a ``probe``, your own browser; then the rule that decided and (unless ``show_code`` is
    False, for a series of questions whose page code is the same) the JavaScript that ran, and (unless
    ``show_config`` is False) the Apache and nginx lines that make a server answer as the lab did
    (`server_config`). ``misplaced`` puts "anonymous" on that property instead of the attribute
    (`cors_lab.trial.MISPLACED`)."""
    rows: dict[str, Sequence[str]] = {"outcome": OUTCOMES}
    if exception:
        rows["exception"] = EXCEPTIONS
    crossorigin_text = "no crossorigin attribute" if crossorigin is None else f"crossorigin={crossorigin!r}"
    prompt = prompt or f"{operation} after loading this image with {crossorigin_text}. What happens?"

    def run() -> Answer:
        from .comparison import compare

        live = probe
        notes = []
        if probe is not None and probe.mode == "opaque" and not probe.is_extension_url(str(url)):
            live = None
            notes.append(Shown("Your browser is behind one origin and cannot reach this lab server, so only the "
                               "kernel answers here (notebook 07 runs the probe's own pictures)."))
        page = getattr(getattr(browser, "origin", None), "serialize", lambda: None)()
        if browser is not None and (live is None or live.mode == "site") and page != lab.site.origin:
            notes.append(Shown(f"This kernel Browser's page is {page}, but the lab now says {lab.site.origin} (it "
                               "follows your browser's address bar), so the engines' Origin headers differ. "
                               "Fix: run the notebook again from its first cell."))
        result = compare(lab, url, crossorigin, operation, live, browser=browser, misplaced=misplaced)
        kernel = result.outcomes["kernel"]
        right = {"outcome": outcome_class(kernel)}
        if exception:
            right["exception"] = kernel.exception or "none"
        # The notes go in the Why block, so an answer has the same outputs wherever it runs.
        why = "\n\n".join([kernel.why or "", *(n.text for n in notes)])
        shown = [result, Shown(why, title="Why")]
        if show_code:
            shown.append(Shown(javascript(Trial(str(url), crossorigin, operation, misplaced=misplaced)), language="js",
                               title="The JavaScript that ran (paste it into the console of a page on the page's origin)"))
        if show_config:
            shown += server_config(str(url))
        return Answer(right, shown)

    question = Question(prompt, rows, run)
    return Revealed(question) if _REFERENCE["on"] else question


__all__ = ["ANSWER_LATER", "EXCEPTIONS", "OUTCOMES", "Answer", "Question", "Revealed", "Shown", "ask", "choose",
           "guide_code", "in_reference_copy", "outcome_class", "reference_copy", "server_config"]
