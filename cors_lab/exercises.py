"""Exercises with checkers: the learner answers in a cell, `check(n, answer)` says why it is right or not.

Owns the exercise texts, their reference solutions and the checks, which run the answer rather than
compare strings, so any answer a browser would accept passes: 1-5 ask the model (`predict`); 6 runs
the learner's JavaScript in a real browser (`cors_lab.jscheck`: theirs through the live probe, else
headless Chromium); 7 runs the learner's Apache or nginx lines on the lab (`cors_lab.serverlines`)
and, on request, on Debian's apache2 or nginx; 8 and 9 show a lab log of a real failed load, its
settings hidden, and ask for the cause. Feedback points at the evidence, never prints the answer.
The notebook 09-exercises and its solutions notebook are generated from EXERCISES by
tools/build_notebooks.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl

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
    check: Callable[..., Any]  # (answer, **options) -> (right, text), or a `Later` verdict
    setup: str = ""  # a code cell before the answer (a probe to run in, a log to read)
    check_args: str = ""  # the check cell's options, e.g. ", probe=probe"
    browser: bool = False  # the check runs a real browser (the learner's, or headless Chromium)


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


class Later:
    """A verdict that arrives after this cell (your browser runs the code): printed into an Output."""

    def __init__(self, note: str) -> None:
        import ipywidgets

        self.note = note
        self.output = ipywidgets.Output()
        self.output.append_stdout(note + "\n")
        self.verdict: tuple[bool, str] | None = None

    def done(self, ok: bool, text: str) -> None:
        self.verdict = (ok, text)
        self.output.append_stdout(("✔ " if ok else "✘ ") + text + "\n")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.output)


def _check_javascript(answer: Any, *, probe: Any = None) -> Any:
    from . import jscheck

    if not isinstance(answer, str):
        return False, "Answer with the body of showPicture as a string: answer = \"\"\"...\"\"\"."
    if probe is not None and probe.attached and probe.ready and not probe.problem:
        srcdoc = jscheck.page(answer, urls=lambda knobs: probe.url(jscheck.PICTURE, nonce=True, **knobs))
        later = Later(f"Running your code in your browser ({probe.frame.frontend.get('browser', 'unknown')}), "
                      "in a sandboxed page under the probe; the verdict appears here.")
        probe.run_script(srcdoc, wait_ms=jscheck.wait_ms(), on_result=lambda result: later.done(*jscheck.grade(result)))
        return later
    reason = jscheck.chromium_reason()
    if reason is not None:
        probe_says = f" The probe: {probe.problem}" if probe is not None and probe.attached and probe.problem else ""
        return False, f"{jscheck.HOW_TO_CHECK} ({reason}){probe_says}"
    from .servers import start

    ok, text = jscheck.grade(jscheck.run_in_chromium(jscheck.page(answer, urls=jscheck.lab_urls(start()))))
    return ok, text + "\n(Run in headless Chromium on the kernel's machine, in a sandboxed page whose origin is null.)"


def _headers_line(headers: list[tuple[str, str]]) -> str:
    cors = [f"{n}: {v}" for n, v in headers]
    return "; ".join(cors) if cors else "no header at all"


def _check_server_lines(answer: Any, *, real: bool = False) -> tuple[bool, str]:
    from .browser import Browser
    from .serverlines import LabTransport, read
    from .servers import start

    lines = read(answer)
    lab = start()
    transport = LabTransport(lines)
    result = Browser(lab.site, transport=transport).load_image(lab.cdn.url(PICTURE_NAME, nonce=True),
                                                               crossorigin="anonymous")
    outcome = result.outcome()
    _, request, sent = transport.sent[-1]
    origin = next((v for n, v in request if n.lower() == "origin"), None)
    text = [f"Read as {lines.kind}. For the page's request (Origin: {origin}) your lines sent: {_headers_line(sent.headers)}."]
    text += [f"  {note}" for note in sent.notes]
    plain = lines.answer(path=ASSET_PATH, request_headers=[("Accept", "image/*")])
    ok = outcome.readback == "ok"
    if ok:
        text.insert(0, f"Readable: {outcome.why}")
        cors_vary = ",".join(sent.get_all("Vary")).lower()
        if plain.get_all("Access-Control-Allow-Origin") != sent.get_all("Access-Control-Allow-Origin") and "origin" not in cors_vary:
            plain_acao = ", ".join(plain.get_all("Access-Control-Allow-Origin")) or "none"
            text.append(f"But a request without Origin gets another Access-Control-Allow-Origin (here: {plain_acao}), "
                        "and nothing says Vary: Origin: a cache may hand one answer to the other (notebook 05).")
    else:
        text.insert(0, f"Not yet: {outcome.summary()}. {outcome.why}")
    if lines.ignored:
        text.append("Left out (they change no header this check looks at): " + "; ".join(lines.ignored) + ".")
    if real:
        real_ok, said = _on_the_real_server(lines.kind, answer, lab)
        text.append(said)
        if ok and real_ok is False:
            ok, text[0] = False, "Not yet: readable on the lab, but not on the real server (below)."
    return ok, "\n".join(text)


def _on_the_real_server(kind: str, answer: str, lab: Any) -> tuple[bool | None, str]:
    """The same load from Debian's apache2 or nginx serving ``answer``: (readable there, what happened);
    None where that server is not installed."""
    from . import realservers
    from .browser import Browser
    from .course import outcome_class

    which = "apache" if kind == "Apache" else "nginx"
    name = realservers.BINARIES[which]
    reason = realservers.unavailable_reason(which)
    if reason is not None:
        return None, f"On Debian's {name}: not run here ({reason})."
    try:
        if which == "apache":
            server = realservers.start_apache(directory_snippet=answer,
                                              modules=realservers.DEBIAN_DEFAULT_MODULES + ("headers",))
        else:
            server = realservers.start_nginx(server_snippet=answer)
    except realservers.ServerStartError as err:
        return False, f"On Debian's {name}: it refused your lines: {_server_said(str(err))}"
    with server:
        got = Browser(lab.site).load_image(server.url(ASSET_PATH), crossorigin="anonymous").outcome()
    return got.readback == "ok", f"On Debian's {name} with your lines: {outcome_class(got)}."


def _server_said(error: str) -> str:
    """A server's start-up error without what means nothing to the learner: its own config file's path and
    line, nginx's time stamps and process ids, a line said twice (error log and standard error)."""
    said = []
    for line in error.splitlines()[1:]:
        line = re.sub(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[\w+\] \d+#\d+: |^nginx: \[\w+\] ", "", line.strip())
        line = re.sub(r"(?: on line \d+ of| in) /[^\s:]+(?::\d+)?", "", line)
        if line and line not in said:
            said.append(line)
    return " ".join(said) or error


@dataclass(frozen=True)
class LogPuzzle:
    """A failed load to diagnose: how it is made (a real run on the lab), the choices, the hints."""

    run: Callable[[Any, Any, str], Any]  # (lab, kernel Browser, nonce) -> the failed load's LoadResult
    choices: dict[str, str]
    right: str
    hints: dict[str, str]  # wrong choice -> where in the log to look
    explain: str


def _credentials_star(lab: Any, browser: Any, nonce: str) -> Any:
    browser.login(lab.cdn.login_url("alice", nonce=nonce))
    return browser.load_image(lab.cdn.url(PICTURE_NAME, acao="*", acac=True, nonce=nonce), crossorigin="use-credentials")


def _redirect_null(lab: Any, browser: Any, nonce: str) -> Any:
    url = lab.chain([lab.cdn, lab.other], PICTURE_NAME, acao=lab.site.origin, nonce=nonce,
                    hop_knobs={"acao": "*", "nonce": nonce})
    return browser.load_image(url, crossorigin="anonymous")


LOG_PUZZLES = {
    8: LogPuzzle(
        _credentials_star,
        {"a": "The browser never sent the picture's request: CORS blocked it.",
         "b": "The server answered with an error status.",
         "c": "The browser sent a preflight (OPTIONS) first, and it failed.",
         "d": "The answer allows any origin (*), and the request carried credentials (a cookie).",
         "e": "The request had no Origin header, so the server could not allow it."},
        "d",
        {"a": "Look at the log again: is there a GET for the picture, and what status did it get?",
         "b": "Look at the status column of the picture's request.",
         "c": "Is there an OPTIONS line anywhere in the log? An <img> never sends one.",
         "e": "Look at the Origin column of the picture's request."},
        "Right: the request carried alice's cookie (credentials mode \"include\"), and Fetch's CORS check accepts "
        "* only when the credentials mode is not \"include\" (step 3: https://fetch.spec.whatwg.org/#concept-cors-check); "
        "the server must name the page's origin and send Access-Control-Allow-Credentials: true. The 200 "
        "arrived, and the browser threw it away."),
    9: LogPuzzle(
        _redirect_null,
        {"a": "A CORS image may not be redirected at all.",
         "b": "The second server never got the request.",
         "c": "After the redirect to another origin the request's Origin was null, and the second server "
              "allowed only the page's origin.",
         "d": "The first server's redirect lacked a cookie.",
         "e": "The second server answered with an error status."},
        "c",
        {"a": "The first answer is a redirect, and the browser followed it: is there a second request?",
         "b": "Count the requests: which servers answered?",
         "d": "Look at the cookies column: did any request carry one, and would it matter here?",
         "e": "Look at the status column of the second request."},
        "Right: the redirect went from one origin to another, and neither is the page's, so the request's "
        "redirect-taint is no longer \"same-origin\" and its Origin serializes as null "
        "(https://fetch.spec.whatwg.org/#concept-request-tainted-origin). The second server's "
        "Access-Control-Allow-Origin names the page's origin, which is not null (notebook 04)."),
}


def _hidden(path: str) -> str:
    """The path with the lab's knobs hidden: the learner diagnoses from the log, not from the URL."""
    base, _, query = path.partition("?")
    if base == "/login":
        user = next((v for k, v in parse_qsl(query) if k == "user"), "")
        return f"/login?user={user}"
    return base + ("?[settings hidden]" if query else "")


def show_log(number: int) -> None:
    """Make exercise ``number``'s failed load happen on the lab (the kernel browser, real HTTP), and
    print what the servers logged, the knobs in each URL hidden."""
    import dataclasses
    import secrets

    from .browser import Browser
    from .servers import RequestLog, start

    puzzle = LOG_PUZZLES.get(number)
    if puzzle is None:
        raise CorsLabError(f"Exercise {number} has no log; the logs are exercises {', '.join(map(str, LOG_PUZZLES))}.")
    lab = start()
    nonce = f"log{number}-{secrets.token_hex(4)}"
    puzzle.run(lab, Browser(lab.site), nonce)
    entries = [dataclasses.replace(e, path=_hidden(e.path)) for e in lab.log() if nonce in e.path]
    print(f"The page is on {lab.site.origin}. What the lab's servers logged:")
    print(RequestLog(entries).table(width=80))
    for e in entries:
        if e.path.startswith("/img/"):
            shown = [(n, v) for n, v in e.headers if n.lower().startswith("access-control-") or n.lower() == "vary"]
            print(f"{e.server} answered {e.status} with: {_headers_line(shown)}")


def _check_log(number: int) -> Callable[[Any], tuple[bool, str]]:
    puzzle = LOG_PUZZLES[number]

    def check_choice(answer: Any) -> tuple[bool, str]:
        choice = answer.strip().lower() if isinstance(answer, str) else None
        if choice not in puzzle.choices:
            return False, f"Answer with one letter: {', '.join(puzzle.choices)}."
        if choice == puzzle.right:
            return True, puzzle.explain
        return False, f"Not this one. {puzzle.hints[choice]}"

    return check_choice


def _choices_text(number: int) -> str:
    return "\n".join(f"- **{k}** {v}" for k, v in LOG_PUZZLES[number].choices.items())


PICTURE_NAME = "picture.png"
ASSET_PATH = "/img/" + PICTURE_NAME
JS_SETUP = "import cors_lab\nlab = cors_lab.start()\nprobe = cors_lab.LiveProbe(lab)   # shows your browser, once attached\nprobe"
JS_STARTER = """answer = \"\"\"
// The body of showPicture(url, canvas, report)
const img = new Image();
img.src = url;
img.onload = () => {
  canvas.getContext("2d").drawImage(img, 0, 0);
  report(canvas.getContext("2d").getImageData(0, 0, 1, 1).data);
};
\"\"\""""
JS_SOLUTION = """answer = \"\"\"const img = new Image();
img.crossOrigin = "anonymous";
img.onload = () => {
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  try { report(ctx.getImageData(0, 0, 1, 1).data); } catch (e) { report(e.name); }
};
img.onerror = () => report("load error");
img.src = url;\"\"\""""
CONFIG_STARTER = """answer = \"\"\"
# Apache: lines for the images' <Directory> (or their .htaccess). Or nginx: lines for server { }.
Header set Access-Control-Allow-Origin "*" env=IS_CORS
\"\"\""""
CONFIG_SOLUTION = """answer = r\"\"\"
<FilesMatch "\\.(avifs?|bmp|cur|gif|ico|jpe?g|jxl|a?png|svgz?|webp)$">
  SetEnvIf Origin ":" IS_CORS
  Header set Access-Control-Allow-Origin "*" env=IS_CORS
</FilesMatch>
\"\"\""""

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
    Exercise(6, "Write the JavaScript",
             "Write the body of `function showPicture(url, canvas, report)`: load the picture at `url` (another "
             "origin's) so that the page may read its pixels, draw it on `canvas` at (0, 0), then call `report` "
             "once: with `getImageData(0, 0, 1, 1).data` when you could read it, or with a short text saying what "
             "went wrong when you could not. The check runs your code in a real browser three times: with a server "
             "that allows every origin, with one that sends no `Access-Control-Allow-Origin`, and with a canvas "
             "that already holds another site's picture. With the probe below attached (in JupyterLab), it runs "
             "in your browser and the verdict appears under the check cell; otherwise in headless Chromium on the "
             "kernel's machine.",
             JS_STARTER, JS_SOLUTION, _check_javascript, setup=JS_SETUP, check_args=", probe=probe",
             browser=True),
    Exercise(7, "Configure the server",
             "The page on the lab's site origin loads `/img/picture.png` from another origin with "
             "`crossorigin=\"anonymous\"` and reads its pixels. Write the server's lines that make this work: "
             "Apache 2.4 lines for the images' `<Directory>` (or their `.htaccess`; `mod_headers` and "
             "`mod_setenvif` are enabled), or nginx lines for the `server { }` block. The check runs them on the "
             "lab: each request is answered with the headers your lines give it, and the kernel browser loads "
             "the picture. `check(7, answer, real=True)` also serves them from Debian's apache2 or nginx, where "
             "installed.",
             CONFIG_STARTER, CONFIG_SOLUTION, _check_server_lines),
    Exercise(8, "Read the server log: an avatar",
             "A page loads a user's avatar from another origin; the `<img>` fires `error`. Run the cell to make "
             "it happen on the lab, and read what the servers logged (the URL's settings are hidden). What "
             "caused the error? Answer with a letter.\n\n" + _choices_text(8),
             'answer = "a"', 'answer = "d"', _check_log(8), setup="from cors_lab.exercises import show_log\nshow_log(8)"),
    Exercise(9, "Read the server log: a detour",
             "A page loads a picture with `crossorigin=\"anonymous\"`; the `<img>` fires `error`. Run the cell, "
             "read the log (settings hidden). What caused the error? Answer with a letter.\n\n" + _choices_text(9),
             'answer = "a"', 'answer = "c"', _check_log(9), setup="from cors_lab.exercises import show_log\nshow_log(9)"),
)


def check(number: int, answer: Any, **options: Any) -> None:
    """Print whether `answer` solves exercise `number`, and why (the rule that decided).

    ``options``: ``probe=`` for exercise 6 (run in your browser), ``real=True`` for exercise 7 (also on
    Debian's apache2 or nginx). A verdict from your browser arrives after the cell, under it.
    """
    by_number = {e.number: e for e in EXERCISES}
    if number not in by_number:
        raise CorsLabError(f"There is no exercise {number}; they are numbered 1 to {len(EXERCISES)}.")
    try:
        result = by_number[number].check(answer, **options)
    except TypeError as err:
        if "unexpected keyword argument" not in str(err):
            raise
        raise CorsLabError(f"Exercise {number} takes no option {', '.join(options)}.") from None
    except CorsLabError as err:
        result = (False, f"Not yet: {err}")
    if isinstance(result, Later):
        from IPython.display import display

        display(result)
        return
    ok, text = result
    print(("✔ " if ok else "✘ ") + text)
