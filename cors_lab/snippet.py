"""The JavaScript beside each experiment: the page code of a `Trial`, as a learner would write it.

Owns `javascript(trial)`, which fills ``experiment.js``'s template for the trial's URL, ``crossorigin``
attribute and operation: the same `Trial` the live probe sends to trial.js, so the code shown is the
experiment that ran (tests/test_snippet.py runs each filled-in copy in Chromium beside trial.js and
requires the same outcome). Pure: stdlib only, no I/O beyond reading the kit's own ``experiment.js``.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from .trial import TRIAL_OPERATIONS, Trial

# A misplaced "anonymous" (Trial.misplaced): the line, and where it goes ("crossorigin" or "misplaced" slot).
MISPLACED_LINES = {
    "img.origin": ("crossorigin", '  img.origin = "anonymous";  // <img> has no origin property: a no-cors request'),
    "canvas.crossOrigin": ("misplaced", '  canvas.crossOrigin = "anonymous";  // a canvas has no crossOrigin: nothing changes'),
    "ctx.crossOrigin": ("misplaced", '  canvas.getContext("2d").crossOrigin = "anonymous";  // a context has none either'),
}

EXPERIMENT_JS = Path(__file__).with_name("experiment.js")
SECTION = re.compile(r"^// @@ (\S+)\n", re.MULTILINE)
NO_ATTRIBUTE = "  // no crossOrigin: a no-cors request (a foreign image loads, but taints)"


@lru_cache(maxsize=1)
def sections() -> dict[str, str]:
    """experiment.js's sections by name: "page" (the frame) and one per operation."""
    text = EXPERIMENT_JS.read_text(encoding="utf-8")
    parts = SECTION.split(text)
    found = dict(zip(parts[1::2], parts[2::2]))
    missing = set(TRIAL_OPERATIONS) - set(found)
    if "page" not in found or missing:
        raise RuntimeError(f"experiment.js lacks sections: {sorted(missing | ({'page'} - set(found)))}")
    return found


def crossorigin_line(crossorigin: str | None) -> str:
    """The line that sets the attribute (the property reflects it: "foo" stays "foo", which means anonymous)."""
    if crossorigin is None:
        return NO_ATTRIBUTE
    return f"  img.crossOrigin = {json.dumps(crossorigin)};"


def javascript(trial: Trial) -> str:
    """The page code of ``trial``: load the image, run its operation, log what happened.

    Paste it into the console of a page on the experiment's page origin; it logs ``{load, readback}``
    or ``{load, exception, message}``.
    """
    parts = sections()
    page = parts["page"]
    slots = {"crossorigin": crossorigin_line(trial.crossorigin), "misplaced": None}
    if trial.misplaced is not None:
        slot, line = MISPLACED_LINES[trial.misplaced]
        slots[slot] = line
    misplaced = "{{misplaced}}\n" if slots["misplaced"] is None else "{{misplaced}}"
    filled = (page.replace(misplaced, slots["misplaced"] or "")
              .replace("{{crossorigin}}", slots["crossorigin"])
              .replace("{{url}}", json.dumps(trial.url))
              .replace("{{operation}}", parts[trial.operation].rstrip("\n")))
    return filled.rstrip("\n") + "\n"


__all__ = ["EXPERIMENT_JS", "MISPLACED_LINES", "crossorigin_line", "javascript", "sections"]
