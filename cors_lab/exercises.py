"""Exercises with checkers: the learner answers in a cell, `check(n, answer)` says why it is right or not.

Owns the exercise texts, their reference solutions and the checks, which ask the model (`predict`)
rather than compare strings, so any answer a browser would accept passes. The notebook
09-exercises and its solutions notebook are generated from EXERCISES by tools/build_notebooks.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .errors import CorsLabError
from .predict import OPERATIONS, predict

PAGE = "https://shop.test"
CDN = "https://cdn.test"


@dataclass(frozen=True)
class Exercise:
    number: int
    title: str
    task: str  # markdown shown to the learner
    starter: str  # the answer cell as the learner first sees it
    solution: str  # a reference answer (one of possibly many)
    check: Callable[[Any], tuple[bool, str]]


def _headers(acao: Any, acac: Any = None) -> list[tuple[str, str]]:
    lines = [] if acao is None else [("Access-Control-Allow-Origin", v) for v in (acao if isinstance(acao, list) else [acao])]
    return lines + ([] if acac is None else [("Access-Control-Allow-Credentials", acac)])


def _as_dict(answer: Any, keys: tuple[str, ...]) -> dict:
    if not isinstance(answer, dict) or set(answer) - set(keys):
        raise CorsLabError(f"Answer with a dict using the keys {', '.join(keys)}; got {answer!r}.")
    return answer


def _check_readable(answer: Any) -> tuple[bool, str]:
    a = _as_dict(answer, ("crossorigin", "acao"))
    r = predict(page=PAGE, chain=[(CDN + "/logo.png", 200, _headers(a.get("acao")))],
                crossorigin=a.get("crossorigin"))
    if r.readback == "ok":
        return True, "Readable: " + r.why
    return False, f"Not yet: {r.summary()}. {r.why}"


def _check_credentials(answer: Any) -> tuple[bool, str]:
    a = _as_dict(answer, ("acao", "acac"))
    acac = a.get("acac")
    if isinstance(acac, bool):  # the lab's knob idiom (notebook 03): True is sent as the value "true"
        acac = "true" if acac else "false"
    r = predict(page=PAGE, chain=[(CDN + "/avatar.png", 200, _headers(a.get("acao"), acac))],
                crossorigin="use-credentials", cookies=True)
    if r.readback == "ok":
        return True, "Readable with cookies: " + r.why
    return False, f"Not yet: {r.summary()}. {r.why}"


def _check_redirect(answer: Any) -> tuple[bool, str]:
    chain = [(CDN + "/go", 302, [("Location", PAGE + "/img.png"), ("Access-Control-Allow-Origin", "*")]),
             (PAGE + "/img.png", 200, _headers(answer))]
    r = predict(page=PAGE, chain=chain, crossorigin="anonymous")
    sent = r.requests[-1].origin if r.requests else None
    if r.readback == "ok":
        if isinstance(answer, str) and answer.strip() == "null":
            return True, (f"Readable: the last request carried Origin: {sent}, and your header allows it. But "
                          "`null` admits every opaque origin: any sandboxed iframe, data: or file: document. "
                          "For a public image the other accepted value says what you mean.")
        return True, f"Readable: the last request carried Origin: {sent}, and your header allows it."
    return False, f"Not yet: the last request carried Origin: {sent}. {r.why}"


def _check_vary(answer: Any) -> tuple[bool, str]:
    from .spec.cache import HTTPCache

    if not isinstance(answer, str):
        return False, "Answer with the Vary header's value, as a string."
    cache, url, now = HTTPCache(), CDN + "/logo.png", 1000.0
    plain = [("Accept", "image/*")]
    cors = plain + [("Origin", PAGE)]
    cache.store(plain, url, status=200, response_headers=[("Cache-Control", "max-age=3600"), ("Vary", answer)],
                response_time=now, top_level_site=PAGE)
    decision = cache.lookup(cors, url, now + 5, top_level_site=PAGE)
    if decision.action == "reuse":
        return False, f"Not yet: the CORS request reused the response stored for the plain one. {decision.why}"
    return True, f"Right: {decision.why}"


def _check_operations(answer: Any) -> tuple[bool, str]:
    if not isinstance(answer, (set, list, tuple)) or not all(isinstance(a, str) for a in answer):
        return False, "Answer with a set of operation names, e.g. {'getImageData'}."
    unknown = set(answer) - set(OPERATIONS)
    if unknown:
        return False, f"Unknown operation(s) {sorted(unknown)}; choose from {', '.join(OPERATIONS)}."
    chain = [(CDN + "/logo.png", 200, [])]
    throwing = {op for op in OPERATIONS if predict(page=PAGE, chain=chain, operation=op).exception}
    missing, extra = throwing - set(answer), set(answer) - throwing
    if not missing and not extra:
        return True, ("Right: each of them ends in SecurityError. getImageData, toDataURL, toBlob, captureStream, "
                      "convertToBlob and texImage2D throw themselves; createImageBitmap, pattern, canvas-to-canvas "
                      "and transferToImageBitmap throw nothing when called: the bitmap, the pattern or the second "
                      "canvas carries the taint, and the final readback throws. drawImage alone is allowed.")
    parts = []
    if missing:
        parts.append(f"{len(missing)} more end in SecurityError (hint: a bitmap, a pattern or a second canvas "
                     "carries the taint to the readback)")
    if extra:
        parts.append(f"{len(extra)} of yours never do (hint: drawing is allowed, reading is not)")
    return False, "Not yet: " + "; ".join(parts) + "."


EXERCISES = (
    Exercise(1, "Make the logo readable",
             f"The page `{PAGE}` draws `{CDN}/logo.png` and calls `getImageData()`. Choose the `crossorigin` "
             "attribute (`None` = absent) and the server's `Access-Control-Allow-Origin` value (`None` = no "
             "header) so that readback works.",
             'answer = {"crossorigin": None, "acao": None}',
             'answer = {"crossorigin": "anonymous", "acao": "*"}',
             _check_readable),
    Exercise(2, "An avatar that needs the user's cookies",
             f"With `crossorigin=\"use-credentials\"` the browser sends cookies to `{CDN}`. Which "
             "`Access-Control-Allow-Origin` and `Access-Control-Allow-Credentials` values make the avatar readable?",
             'answer = {"acao": "*", "acac": None}',
             f'answer = {{"acao": "{PAGE}", "acac": "true"}}',
             _check_credentials),
    Exercise(3, "Home again after a redirect",
             f"`{CDN}/go` (which allows `*`) redirects to `{PAGE}/img.png`, the page's own server. The image has "
             "`crossorigin=\"anonymous\"`. What must the page's own server send as `Access-Control-Allow-Origin`?",
             f'answer = "{PAGE}"',
             'answer = "*"',
             _check_redirect),
    Exercise(4, "Fix the cache trap",
             "A server sends `Access-Control-Allow-Origin: *` only when a request has an `Origin` header, with "
             "`Cache-Control: max-age=3600`. Which `Vary` value stops a plain load's cached response from being "
             "reused for a later CORS load of the same URL?",
             'answer = "Accept-Encoding"',
             'answer = "Origin"',
             _check_vary),
    Exercise(5, "Which calls throw?",
             "A page loads a cross-origin image without CORS (an opaque response) and runs each of the kit's "
             "operations on it: draw it (into a canvas, a bitmap, a pattern or another canvas), then get its "
             "pixels out that operation's way. Which operations end in a `SecurityError` (thrown by the call "
             f"itself, or by the readback after it)? Choose from: {', '.join('`' + o + '`' for o in OPERATIONS)}.",
             'answer = {"getImageData", "toDataURL", "toBlob", "captureStream"}',
             "answer = set(OPERATIONS) - {\"drawImage\"}",
             _check_operations),
)


def check(number: int, answer: Any) -> None:
    """Print whether `answer` solves exercise `number`, and why (the model's rule)."""
    by_number = {e.number: e for e in EXERCISES}
    if number not in by_number:
        raise CorsLabError(f"There is no exercise {number}; they are numbered 1 to {len(EXERCISES)}.")
    try:
        ok, text = by_number[number].check(answer)
    except CorsLabError as err:
        ok, text = False, f"Not yet: {err}"
    print(("✔ " if ok else "✘ ") + text)
