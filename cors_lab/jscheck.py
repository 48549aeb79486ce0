"""The JavaScript exercise: a learner's ``showPicture(url, canvas, report)`` run in a real browser, and graded.

Owns the page the code runs in (``jscheck.html`` with ``jscheck.js``, in a sandboxed frame whose origin
is opaque, so the same page works in the learner's browser behind one origin), the three cases (a
server that allows every origin, one that refuses, a canvas already tainted), running them in headless
Chromium (a child process, killed at its deadline: a learner's loop must not hang the kernel) or in the
learner's browser through a `LiveProbe`, and grading the records into feedback that guides without
printing the answer. Decides no CORS rule: the browser does, and the records say what it did.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError

__all__ = ["CASES", "HINTS", "HOW_TO_CHECK", "PICTURE", "Case", "chromium_reason", "grade", "lab_urls", "page",
           "run_in_chromium", "run_pages_in_chromium", "wait_ms", "what_happened"]

PAGE = Path(__file__).with_name("jscheck.html")
RUNNER = Path(__file__).with_name("jscheck.js")
# Run in the engine's top page: the exercise page in a sandboxed frame, and what it posts.
SCRIPT_FRAME_JS = Path(__file__).with_name("script_frame.js").read_text(encoding="utf-8")
CASE_TIMEOUT_MS = 3000  # per case: an image from the loopback lab loads or fails in milliseconds
CHILD_TIMEOUT = 45.0  # seconds for the whole Chromium run, start-up included, before the child is killed
PICTURE = "picture.png"
SIZE = (64, 48)  # the picture's size, and the canvas's
PICTURE_PIXEL = (220, 50, 47, 255)  # its top-left pixel (cors_lab.assets; a test keeps them equal)
RESULT_MESSAGE = "cors-lab-script-result"
HOW_TO_CHECK = (
    "Not checked: this kernel has no Chromium to run your code in, and no live probe is attached. Either "
    "show a probe in JupyterLab (probe = cors_lab.LiveProbe(lab); probe) and run check(6, answer, probe=probe) "
    "in a later cell, or install a headless one: apt-get install chromium && pip install playwright."
)


@dataclass(frozen=True)
class Case:
    """One call of ``showPicture``: the picture's server (knobs), whether the canvas is already foreign,
    and what a right answer reports ("pixel" or "failure")."""

    name: str
    says: str  # the case in a few words, for the feedback
    knobs: Mapping[str, object] = field(default_factory=dict)
    taint: bool = False
    expect: str = "pixel"


CASES = (
    Case("allowed", "a server that allows every origin", {"acao": "*"}),
    Case("refused", "a server that sends no Access-Control-Allow-Origin", {}, expect="failure"),
    Case("tainted", "a canvas that already holds another site's picture, drawn without CORS", {"acao": "*"},
         taint=True, expect="failure"),
)


def _escape_script(text: str) -> str:
    """``text`` made safe inside an inline <script>: no "</script" and no "<!--" can end or confuse it."""
    return text.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT").replace("<!--", "<\\!--")


def page(body: str, *, urls: Callable[[Mapping[str, object]], str], run_id: str = "check",
         timeout_ms: int = CASE_TIMEOUT_MS) -> str:
    """The sandboxed page (``srcdoc``) that runs ``body`` as showPicture's body once per case.

    ``urls(knobs)`` makes a picture URL the browser can reach (``lab.cdn.url`` or ``probe.url``), each
    call a fresh one (a nonce) so no case reuses another's cached answer.
    """
    if not isinstance(body, str):
        raise UsageError("Answer with the body of showPicture as a string: answer = \"\"\"...\"\"\".")
    cases = [{"name": c.name, "url": urls(dict(c.knobs)), "taint": urls({}) if c.taint else None,
              "width": SIZE[0], "height": SIZE[1]} for c in CASES]
    spec = json.dumps({"id": run_id, "cases": cases, "timeoutMs": timeout_ms}).replace("<", "\\u003c")
    return (PAGE.read_text(encoding="utf-8")
            .replace("{{runner}}", _escape_script(RUNNER.read_text(encoding="utf-8")))
            .replace("{{learner}}", _escape_script(body))
            .replace("{{spec}}", spec))


def lab_urls(lab: Any) -> Callable[[Mapping[str, object]], str]:
    """Picture URLs on ``lab.cdn``, a fresh nonce each."""
    return lambda knobs: lab.cdn.url(PICTURE, nonce=True, **knobs)


def wait_ms(timeout_ms: int = CASE_TIMEOUT_MS) -> int:
    """How long a page may take for every case (and the picture that taints a canvas) before it is given up."""
    return (len(CASES) + 1) * timeout_ms + 2000


# --- running it ------------------------------------------------------------------------------------


def chromium_reason() -> str | None:
    """Why no headless Chromium can run the code here (with how to get one), or None."""
    from .harness import browser_unavailable_reason

    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright; the kit drives Debian's Chromium with it)."
    return browser_unavailable_reason()


def run_in_chromium(srcdoc: str, *, timeout: float = CHILD_TIMEOUT, page_wait_ms: int | None = None) -> dict:
    """Run ``srcdoc`` in headless Chromium in a child process; its result, or ``{"error": ...}``.

    A child, not a thread: Playwright's sync API refuses a running asyncio loop (a notebook cell), and a
    learner's endless loop may freeze the page, so the whole process group is killed at ``timeout``
    seconds. ``page_wait_ms`` (default `wait_ms()`) is how long the page itself is waited for.
    """
    return run_pages_in_chromium([srcdoc], timeout=timeout, page_wait_ms=page_wait_ms)[0]


def run_pages_in_chromium(srcdocs: list[str], *, timeout: float = CHILD_TIMEOUT,
                          page_wait_ms: int | None = None) -> list[dict]:
    """`run_in_chromium` for several pages in one browser, one after another (``timeout`` is for all)."""
    request = json.dumps({"srcdocs": srcdocs, "wait_ms": wait_ms() if page_wait_ms is None else page_wait_ms})
    child = subprocess.Popen([sys.executable, "-m", "cors_lab.jscheck"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = child.communicate(request, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        said = f"your code did not finish within {timeout:g} s (an endless loop?), so the browser was stopped"
        return [{"error": said}] * len(srcdocs)
    if child.returncode != 0:
        last = ((err or out).strip().splitlines() or ["no output"])[-1]
        return [{"error": f"the headless browser failed ({last})"}] * len(srcdocs)
    return json.loads(out)


def _child() -> None:
    """``python -m cors_lab.jscheck``: read {srcdocs, wait_ms} on stdin, print what each page posted."""
    from .engines import engine_class
    from .engines.base import BLANK

    request = json.loads(sys.stdin.read())
    wait = int(request["wait_ms"])
    with engine_class("chromium")(timeout_ms=max(wait, 1000)) as engine:
        results = [engine.evaluate(SCRIPT_FRAME_JS, [srcdoc, wait], page_url=BLANK) for srcdoc in request["srcdocs"]]
    print(json.dumps(results))


# --- grading ---------------------------------------------------------------------------------------

HINTS = {
    # (case, what happened) -> a question that points at the fix without writing it
    ("allowed", "tainted"): "your canvas was tainted, though this server allows every origin. Which property of "
                            "the image tells the browser to make a CORS request?",
    ("allowed", "blank"): "report got {value}, but the picture's first pixel is {pixel}: did you read the canvas "
                          "before the picture was drawn on it? Which event says the picture has arrived?",
    ("allowed", "silent"): "report was never called. Which event tells your code the picture has arrived?",
    ("allowed", "not-pixel"): "report got {value!r} instead of the first pixel: pass the pixel data from "
                              "getImageData (four numbers).",
    ("refused", "uncaught"): "your code threw {error} and never called report: the picture arrived without CORS "
                             "here, so the failure was the readback. Which property makes the browser ask this "
                             "server for permission, and which event fires when it refuses?",
    ("refused", "silent"): "when the server refuses, your code never called report: nothing told the page the "
                           "picture failed. Which event does an image fire when its CORS check fails?",
    ("refused", "pixel"): "report got pixels although this server refuses every origin.",
    ("tainted", "uncaught"): "on a canvas that was already tainted, reading it back threw {error}, nothing caught "
                             "it, and report was never called. Which statement lets your code handle an "
                             "exception and report its name?",
    ("tainted", "silent"): "on a canvas that was already tainted, report was never called.",
    ("tainted", "pixel"): "report got pixels from a canvas that held another site's picture: draw into the "
                          "canvas as you are given it (resizing it wipes what it holds).",
}
# Measured in Chromium 156: src then crossOrigin in one task made ONE request, in cors mode (the lab's log).
LATE = ("(You set src before crossOrigin. It worked because both ran before the browser started the request: "
        "setting crossorigin restarts the image's load. Set crossOrigin first, and the first request is the right one.)")
NOTHING_HAPPENED = ("Your code created no image and called report in no case: write the body of showPicture "
                    "(the lines that run when it is called), not a whole function.")


def _is_pixel(value: object) -> bool:
    return isinstance(value, list) and len(value) == 4 and all(isinstance(v, (int, float)) for v in value)


def what_happened(case: Case, rec: Mapping[str, Any]) -> str:
    """One word for what the learner's code did in ``case``; "ok" when it is what a right answer does."""
    value, uncaught = rec.get("value"), list(rec.get("uncaught") or [])
    security = any(u.startswith("SecurityError") for u in uncaught)
    if case.expect == "pixel":
        if _is_pixel(value):
            return "ok" if tuple(value) == PICTURE_PIXEL else "blank"
        if security or (isinstance(value, str) and "SecurityError" in value):
            return "tainted"
        if uncaught and not rec.get("reported"):
            return "uncaught"
        return "not-pixel" if rec.get("reported") else "silent"
    if _is_pixel(value):
        return "pixel"
    if rec.get("reported"):
        return "ok"
    return "uncaught" if uncaught else "silent"


def grade(result: Mapping[str, Any]) -> tuple[bool, str]:
    """(right, feedback) from what the page posted: a line per case, hints that never hold the answer."""
    if "error" in result:
        loop = " Does your code loop forever?" if str(result["error"]).startswith("no answer") else ""
        return False, f"Not checked: {result['error']}.{loop}"
    if result.get("syntax"):
        return False, f"Your code does not run: {result['syntax']}. Fix that line first."
    if not result.get("defined"):
        return False, "showPicture was not defined: the page could not run your code."
    records = {r.get("name"): r for r in result.get("cases") or []}
    if not any(r.get("images") or r.get("reported") for r in records.values()):
        return False, NOTHING_HAPPENED
    lines, right = [], True
    for case in CASES:
        rec = records.get(case.name) or {}
        happened = what_happened(case, rec)
        if happened == "ok":
            lines.append(f"✔ {case.says}: reported {rec.get('value')!r}")
            if any(i.get("crossOriginLater") and i.get("crossOriginAtSrc") is None for i in rec.get("images") or []):
                lines.append(f"  {LATE}")
            continue
        right = False
        error = (list(rec.get("uncaught") or []) or ["an error"])[0].split(":")[0]
        hint = HINTS.get((case.name, happened))
        if hint is None:
            hint = f"your code threw {error} and never called report." if rec.get("uncaught") else "report was never called."
        hint = hint.format(value=rec.get("value"), pixel=list(PICTURE_PIXEL), error=error)
        lines.append(f"✘ {case.says}: {hint}")
    head = ("Right: your code reads the picture where CORS allows it and reports every failure."
            if right else "Not yet:")
    return right, "\n".join([head, *lines])


if __name__ == "__main__":
    _child()
