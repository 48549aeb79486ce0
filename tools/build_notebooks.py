"""Write the course notebooks from the cell lists below: learners' copies and executed reference copies.

    python tools/build_notebooks.py [NAME ...]

One source of truth for the course text: edit the cells here, rebuild, commit the .ipynb files.
Each cell list gives two notebooks:
- ``notebooks/NAME.ipynb``, the learner's copy: no outputs, so nothing is answered before the learner
  runs a cell and commits a guess in its predict widget (`cors_lab.course`);
- ``notebooks/reference/NAME.ipynb``, executed top to bottom with every answer shown at once
  (`reference_copy()` in its second cell), for maintainers, GitHub readers and nbval.
Solutions (``notebooks/solutions/``) are executed reference copies too. Every notebook stores its
kernelspec (so JupyterLab never asks "Select Kernel"). Cells tagged raises-exception keep their error
output.
"""

from __future__ import annotations

import copy
import pathlib
import sys

import nbformat
from nbclient import NotebookClient

HERE = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def md(text: str):
    return nbformat.v4.new_markdown_cell(text.strip())


def code(text: str, *tags: str):
    cell = nbformat.v4.new_code_cell(text.strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


NOTEBOOKS: dict[str, list] = {}


def header(title: str, *, minutes: int, objectives: list[str], prerequisites: str, intro: str):
    """The top of a notebook: title, what the learner will be able to do, what to know first, how long."""
    goals = "\n".join(f"- {o}" for o in objectives)
    return md(f"""
# {title}

**You will be able to:**
{goals}

**Before this:** {prerequisites} · **Time:** about {minutes} minutes ·
[glossary](../docs/glossary.md) · [cheat sheet](../docs/cheat-sheet.md)

{intro.strip()}
""")


PREDICT_HOW = """
Each *Predict* question shows buttons instead of an answer: choose, and only then does the experiment
run (in the model, the kernel browser, and your own browser when a live probe is attached) and show
what happened, the rule that decided, and the JavaScript that ran. Executed copies with every answer
are in [`reference/`](reference/) for teachers and readers without a kernel.
"""

THREE_OUTCOMES = """
```mermaid
flowchart TD
    A["img.src = URL (drawn on a canvas, then read back)"] --> B{"crossorigin attribute?"}
    B -- "absent: no-cors request" --> C{"same origin as the page?"}
    C -- yes --> R["readable"]
    C -- "no: opaque response" --> T["loads, but the canvas is tainted:<br/>getImageData() throws SecurityError"]
    B -- "anonymous or use-credentials: cors request" --> D{"same origin, or the CORS check passes?<br/>(Access-Control-Allow-Origin, and -Credentials)"}
    D -- yes --> R
    D -- "no: network error" --> E["load error: the error event fires,<br/>drawImage() throws InvalidStateError"]
```
"""

REFUSED_SEQUENCE = """
```mermaid
sequenceDiagram
    participant P as page script (lab.site)
    participant F as browser (Fetch)
    participant S as server (lab.cdn)
    P->>F: img.crossOrigin = "anonymous"; img.src = URL
    F->>S: GET /img/picture.png, Origin: http://site (no OPTIONS, no "anonymous")
    S-->>F: 200 OK, the picture's bytes, no Access-Control-Allow-Origin
    Note over F: CORS check fails: the response becomes a network error, the bytes are thrown away
    F-->>P: error event (nothing to draw)
```
"""

NOTEBOOKS["00-start-here"] = [
    header("cors-lab: cross-origin images and tainted canvases", minutes=10, prerequisites=(
        "a little JavaScript (`new Image()`, a `<canvas>`) and Python; nothing about CORS"), objectives=[
        "name the three outcomes of drawing a cross-origin image: readable, tainted, load error",
        "predict which one a page gets from the `crossorigin` attribute and one server header",
    ], intro="""
Draw an image from another origin into a `<canvas>` and try to read its pixels back. Will it work?
Here is the whole course in three lines:
"""),
    code("""
from cors_lab import predict
r = predict(page="https://a.test", chain=[("https://b.test/cat.png", 200, [])])
r.readback
"""),
    md("""
The page `https://a.test` drew an image from `https://b.test` without asking for CORS approval,
so the canvas became **tainted**, and `getImageData()` throws a `SecurityError`.
The model says why, naming the rule and linking the standard:
"""),
    code("print(r.why)"),
    md("The three outcomes, and what decides between them:\n" + THREE_OUTCOMES + PREDICT_HOW),
    code("""
from cors_lab.course import OUTCOMES, choose, outcome_class
no_acao = [("https://b.test/cat.png", 200, [])]
def experiment():
    r = predict(page="https://a.test", chain=no_acao, crossorigin="anonymous")
    return outcome_class(r), r
choose('crossorigin="anonymous", no Access-Control-Allow-Origin. What happens?', OUTCOMES, experiment)
"""),
    md("""
With `crossorigin` set, a missing header is not a taint, it is a **load error**. The request is made
and the server's `200` with the picture arrives, but the CORS check fails, so Fetch turns the
response into a network error: the `<img>` fires `error`, the bytes are thrown away, and drawing the
broken image throws `InvalidStateError` (in Chromium 156 and Firefox ESR 153; WebKitGTK 2.50 draws
nothing and throws nothing). Now let the server approve:
"""),
    code("""
approved = [("https://b.test/cat.png", 200, [("Access-Control-Allow-Origin", "*")])]
predict(page="https://a.test", chain=approved, crossorigin="anonymous").verdict
"""),
    md("""
`(load, readback, exception)`: the image loaded, readback works, nothing was thrown.

## The course

| notebook | what you do |
|---|---|
| `00-start-here` | this page: the three outcomes (readable, tainted, load error) |
| [`01-three-outcomes`](01-three-outcomes.ipynb) | real servers, a canvas and your own browser: readable, tainted, load error |
| [`02-the-cors-check`](02-the-cors-check.ipynb) | `Access-Control-Allow-Origin` byte by byte, credentials |
| [`03-why-tainting`](03-why-tainting.ipynb) | cookies, a private picture, and why readback is refused |
| [`04-redirects`](04-redirects.ipynb) | redirect chains, the `null` origin, opaque detours |
| [`05-cache-and-vary`](05-cache-and-vary.ipynb) | the guide's Apache rule, the cache trap, `Vary: Origin` |
| [`06-save-to-localstorage`](06-save-to-localstorage.ipynb) | the guide's save example, its code beside the lab's |
| [`07-your-browser`](07-your-browser.ipynb) | your browser runs the same experiments; the lab panel |
| [`08-every-readback`](08-every-readback.ipynb) | every readback call, patterns, and what cleans a canvas |
| [`09-exercises`](09-exercises.ipynb) | five exercises checked by the model (solutions in `solutions/`) |

A claim about "browsers" in this course names the engines measured: Chromium 156, Firefox ESR 153.8
and WebKitGTK 2.50.6. Teachers: [teacher's guide](../docs/teachers-guide.md).

Read alongside MDN's guide
[Allowing cross-origin use of images and canvas](https://developer.mozilla.org/en-US/docs/Web/HTML/CORS_enabled_image),
and when in doubt, the standards: [Fetch's CORS check](https://fetch.spec.whatwg.org/#concept-cors-check)
and [HTML's canvas security rules](https://html.spec.whatwg.org/multipage/canvas.html#security-with-canvas-elements).
"""),
]

NOTEBOOKS["01-three-outcomes"] = [
    header("01 · Three outcomes: readable, tainted, load error", minutes=25, prerequisites="`00-start-here`",
           objectives=[
               "load an image the way `<img>` does, with and without `crossorigin`, and draw it on a canvas",
               "tell a tainted canvas (`SecurityError` on readback) from a load error (`error` event)",
               "read a server log: the request is made, and no preflight is sent for an image",
           ], intro="Real servers, a real image, a canvas in the kernel. Start the lab: three origins on your machine."),
    code("""
import cors_lab
from cors_lab.course import ask
lab = cors_lab.start()
lab
"""),
    md("""
Your own browser runs the same experiments through a live probe (notebook 07 explains it). In
JupyterLab it attaches below; on GitHub or in a test run no browser answers and the kernel carries on.
"""),
    code("""
probe = cors_lab.LiveProbe(lab)
probe
"""),
    md("""
`lab.site` plays the page that draws; `lab.cdn` is a foreign origin (another port, so another
origin), `lab.other` another site. The kernel browser loads images the way Chromium does, from `lab.site`:
"""),
    code("""
browser = cors_lab.Browser(lab.site)
picture = browser.load_image(lab.site.url("picture.png"))
print(picture.summary())
"""),
    md("Draw it on a canvas and read a pixel back, as `ctx.getImageData(8, 8, 1, 1)` would:"),
    code("""
canvas = cors_lab.LabCanvas(64, 48)
canvas.draw_image(picture)
canvas
"""),
    code("canvas.get_image_data(8, 8, 1, 1).ravel()   # RGBA of the red quadrant"),
    md("## Outcome 2\n\nThe same picture, served by `lab.cdn` (another origin), with no `crossorigin` attribute:"),
    code("""
ask(lab, lab.cdn.url("picture.png", nonce=True), browser=browser, probe=probe,
    prompt="The picture from lab.cdn, no crossorigin attribute, drawn, then getImageData. What happens?")
"""),
    md("On a canvas of its own: the picture is shown, exactly as in a browser, but reading it back throws:"),
    code("""
foreign = browser.load_image(lab.cdn.url("picture.png"))
tainted = cors_lab.LabCanvas(64, 48)
tainted.draw_image(foreign)
tainted
"""),
    code("tainted.get_image_data(8, 8, 1, 1)", "raises-exception"),
    md("""
That is Chromium's message. The response was *opaque* (Fetch's
[response tainting](https://fetch.spec.whatwg.org/#concept-request-response-tainting) "opaque": no
`crossorigin` attribute, another origin), and drawing opaque pixels clears the canvas's
[origin-clean flag](https://html.spec.whatwg.org/multipage/canvas.html#concept-canvas-origin-clean):
HTML calls that canvas *tainted*. Two words from two standards: a *response* is opaque, a *canvas* is tainted.

## Outcome 3

Now the page asks for CORS with `crossorigin="anonymous"`; the server still sends no
`Access-Control-Allow-Origin`. Predict the outcome, and the exception `getImageData` (which draws first) meets:
"""),
    code("""
ask(lab, lab.cdn.url("picture.png", nonce=True), crossorigin="anonymous", browser=browser, probe=probe,
    exception=True, prompt='The picture from lab.cdn with crossorigin="anonymous", no ACAO. What happens?')
"""),
    md("What happened on the wire: the request was made, the answer arrived, and Fetch threw it away.\n"
       + REFUSED_SEQUENCE + "\nOne more load like that, then the server's log of it:"),
    code("""
refused_url = lab.cdn.url("picture.png", nonce=True)
refused = browser.load_image(refused_url, crossorigin="anonymous")
print(refused.summary())
target = refused_url.removeprefix(lab.cdn.origin)
[(e.method, e.status, e.origin, e.header("Access-Control-Allow-Origin")) for e in lab.cdn.log if e.path == target]
"""),
    md("""
One `GET`, answered `200`: CORS did not stop the request, and there was no `OPTIONS` preflight (an
image request is a "simple" GET; only `fetch()`/XHR with non-simple methods or headers are
preflighted). Every header the browser sent — `anonymous` is not among them: the attribute decides
the request's *credentials mode* (no cookies), it is never sent:
"""),
    code("""
for name, value in refused.hops[0].sent:
    print(f"{name}: {value}")
print("'anonymous' sent:", any("anonymous" in value.lower() for _, value in refused.hops[0].sent))
"""),
    md("""
And the server gave those bytes to whoever asked. Any client that is not a browser gets the same
picture; CORS and tainting protect the *reader's* data in the browser, not the server's file:
"""),
    code("""
import urllib.request
body = urllib.request.urlopen(refused_url).read()
print(len(body), "bytes:", body[:8])
"""),
    md("There is nothing to draw, and drawing a broken image throws (Chromium 156, Firefox ESR 153):"),
    code("cors_lab.LabCanvas(64, 48).draw_image(refused)", "raises-exception"),
    md("When the server approves with `Access-Control-Allow-Origin: *`:"),
    code("""
ask(lab, lab.cdn.url("picture.png", acao="*", nonce=True), crossorigin="anonymous", browser=browser,
    probe=probe, prompt='crossorigin="anonymous", and the server answers Access-Control-Allow-Origin: *')
"""),
    code("""
approved = browser.load_image(lab.cdn.url("picture.png", acao="*"), crossorigin="anonymous")
canvas = cors_lab.LabCanvas(64, 48)
canvas.draw_image(approved)
canvas.get_image_data(8, 8, 1, 1).ravel()
"""),
    md("""
## Where `"anonymous"` does nothing

The server keeps answering `Access-Control-Allow-Origin: *`. This time the page puts `"anonymous"`
somewhere other than the `<img>`'s `crossorigin` attribute: on the canvas, on its 2D context, or on
`img.origin`. One question each:
"""),
    code("""
from IPython.display import display
for where in ("canvas.crossOrigin", "ctx.crossOrigin", "img.origin"):
    display(ask(lab, lab.cdn.url("picture.png", acao="*", nonce=True), browser=browser, probe=probe,
                misplaced=where, prompt=f'{where} = "anonymous" (no crossorigin on the <img>); the server allows *'))
"""),
    md("""
Each is a `no-cors` load: only the `<img>`'s `crossorigin` attribute (which `img.crossOrigin` sets)
decides the request's mode. A canvas, a context and `img.origin` have no such property; the page just
adds an ordinary JavaScript property that no browser reads.

What the servers saw — note the `Origin` header, sent only in CORS mode, and the `Sec-Fetch-Mode`
(requests from your browser, when the probe is attached, are listed too):
"""),
    code("lab.cdn.log"),
    md("""
The same three verdicts come from the model without any server: `cors_lab.predict` (see `00-start-here`).
Next: [02 · The CORS check, byte by byte](02-the-cors-check.ipynb).
"""),
]

NOTEBOOKS["02-the-cors-check"] = [
    header("02 · The CORS check, byte by byte", minutes=25, prerequisites="`01-three-outcomes`", objectives=[
        "predict the CORS check for any `Access-Control-Allow-Origin` value: `*` or the exact origin, byte for byte",
        "say what `use-credentials` needs (`Access-Control-Allow-Credentials: true`, no `*`)",
        "explain why a server header is ignored without the `crossorigin` attribute",
    ], intro="""
The server approves a cross-origin read with one header, `Access-Control-Allow-Origin` (ACAO).
The browser compares it with the page's origin **byte for byte**. Three lines to set up:
"""),
    code("""
import cors_lab
from cors_lab.course import ask
lab = cors_lab.start()
browser = cors_lab.Browser(lab.site)
"""),
    md("""
`lab.site` is the page's origin, `lab.cdn` a foreign one. Every server knob is in the URL, so
`lab.cdn.url("picture.png", acao=...)` is a permalink to one server behaviour. The live probe runs
each experiment in your browser too, when one shows this notebook:
"""),
    code("""
print("page:", lab.site.origin)
print("cdn: ", lab.cdn.origin)
probe = cors_lab.LiveProbe(lab)
probe
"""),
    md("The image has `crossorigin=\"anonymous\"`; the server answers with the page's origin plus a trailing slash:"),
    code("""
ask(lab, lab.cdn.url("picture.png", acao=lab.site.origin + "/", nonce=True), crossorigin="anonymous",
    browser=browser, probe=probe, prompt=f"Access-Control-Allow-Origin: {lab.site.origin + '/'!r}")
"""),
    md("""
`http://127.0.0.1:8000/` is not the origin `http://127.0.0.1:8000`. Now one value at a time: each
question below is one server answer, with `crossorigin="anonymous"`. Predict each before the next.
"""),
    code("""
from IPython.display import display
page = lab.site.origin
values = ["*", " * ", page, page.upper(), "null", [page, page], f"{page}, {lab.cdn.origin}", ""]
for acao in values:
    url = lab.cdn.url("picture.png", acao=acao, nonce=True)
    display(ask(lab, url, crossorigin="anonymous", browser=browser, probe=probe, show_code=False,
                prompt=f"Access-Control-Allow-Origin: {acao!r} (a list is one header line per item)"))
"""),
    md("""
Only `*` (spaces around a header value are trimmed when the header is parsed) and the exact origin
pass. Two header lines are combined into `"a, a"`, which matches nothing; so does a list of origins.
The rule, from the [Fetch standard's CORS check](https://fetch.spec.whatwg.org/#concept-cors-check):
*"If origin is null, then return failure. [...] If request's credentials mode is not "include" and
origin is \\`\\*\\`, then return success. If the result of byte-serializing a request origin with request
is not origin, then return failure."* What the model says, then what Chromium 156 prints in the
console for it (its words, not the standard's):
"""),
    code("""
r = browser.load_image(lab.cdn.url("picture.png", acao=[page, page]), crossorigin="anonymous")
print(r.fetch.reason)
print("Chromium's console:", r.fetch.console)
"""),
    md("""
## Credentials: `use-credentials`

With `crossorigin="use-credentials"` the browser sends cookies, and the server must say so twice:
the exact origin (never `*`) **and** `Access-Control-Allow-Credentials: true`, lower case.
One at a time again (`True` is Python's: the lab sends it as the header value `true`; `"True"` is the
string, sent as written):
"""),
    code("""
for acao, acac in [("*", True), (page, None), (page, "True"), (page, True)]:
    url = lab.cdn.url("picture.png", acao=acao, acac=acac, nonce=True)
    display(ask(lab, url, crossorigin="use-credentials", browser=browser, probe=probe, show_code=False,
                prompt=f"Access-Control-Allow-Origin: {acao!r}, Access-Control-Allow-Credentials: {acac!r}"))
"""),
    md("""
## No `crossorigin` at all

Without the attribute the request is `no-cors`: no `Origin` header is sent, and the server's
header is simply ignored.
"""),
    code("""
ask(lab, lab.cdn.url("picture.png", acao="*", nonce=True), browser=browser, probe=probe,
    prompt="No crossorigin attribute; the server sends Access-Control-Allow-Origin: * anyway")
"""),
    code("""
r = browser.load_image(lab.cdn.url("picture.png", acao="*"))
print(r.event, r.response_tainting)
print(r.outcome("getImageData").summary())
"""),
    md("""
**Try it yourself:** change `acao` to `lab.site.origin` and `crossorigin` to `"foo"`. An invalid
value counts as `"anonymous"` ([HTML: CORS settings attributes](https://html.spec.whatwg.org/multipage/urls-and-fetching.html#cors-settings-attributes)).
"""),
]

NOTEBOOKS["03-why-tainting"] = [
    header("03 · Why the canvas gets tainted: your private pictures", minutes=25,
           prerequisites="`01-three-outcomes`, `02-the-cors-check`", objectives=[
               "explain which cookies an `<img>` sends, to which site, and why ports do not matter",
               "explain why reading a canvas that shows a credentialed image must be refused",
               "say what `*` protects and what it cannot (network position)",
           ], intro="""
A plain `<img>` is sent with the cookies the browser holds for the image's site when the image is
*same-site* with the page. So an image can show something private, and the page that embeds it must
not read its pixels.
"""),
    code("""
import cors_lab
from cors_lab.course import choose
lab = cors_lab.start()
browser = cors_lab.Browser(lab.site)
"""),
    md("""
`secret.png` on `lab.cdn` depends on who is logged in there. Log in as alice (a top-level visit,
which sets a cookie), then embed the picture from the page at `lab.site`:
"""),
    code("""
browser.login(lab.cdn.login_url("alice"))
secret = browser.load_image(lab.cdn.url("secret.png"))
print(secret.hops[0].request.cookies_why)
"""),
    md("""
The cookie went along: `lab.site` and `lab.cdn` differ only by port, so they are the same *site*.
Cookies do not even look at ports
([RFC 6265 §8.5](https://www.rfc-editor.org/rfc/rfc6265#section-8.5): *"cookies for a given host
are shared across all the ports on that host"*): alice's cookie, set by `lab.cdn`, goes to `lab.site` too:
"""),
    code("""
home = browser.load_image(lab.site.url("picture.png", nonce=True))
print(home.hops[0].request.cookies_why)
print([e.cookies for e in lab.site.log][-1])
"""),
    md("""
Cross-site it is another story: `lab.other` is another host name, so another site. The kernel
browser blocks third-party cookies, as Chromium 156 does under Playwright; in a regular browser,
only a cookie set with `SameSite=None; Secure` can go cross-site, and only where third-party cookies
are not blocked or partitioned (a user setting):
"""),
    code("""
browser.login(lab.other.login_url("alice", samesite="None"))
print(browser.load_image(lab.other.url("secret.png")).hops[0].request.cookies_why)
"""),
    md("alice's private picture, drawn from `lab.cdn`. It is on screen, but the page cannot read it:"),
    code("""
canvas = cors_lab.LabCanvas(64, 48)
canvas.draw_image(secret)
canvas
"""),
    code("canvas.get_image_data(32, 40, 1, 1)", "raises-exception"),
    md("""
If it could, any page you visit could read your bank's charts, your mail's avatars, your intranet.
Now the page asks with `crossorigin="anonymous"`, and the server answers `Access-Control-Allow-Origin: *`:
"""),
    code("""
def anonymous_picture():
    anon = browser.load_image(lab.cdn.url("secret.png", acao="*"), crossorigin="anonymous")
    canvas = cors_lab.LabCanvas(64, 48)
    canvas.draw_image(anon)
    whose = "alice's" if anon.hops[0].request.cookies else "nobody's (logged out)"
    return whose, anon.hops[0].request.cookies_why, canvas
choose("The picture is readable now. Whose picture is it?", ["alice's", "nobody's (logged out)"],
       anonymous_picture)
"""),
    md("""
`anonymous` means no cookies on a cross-origin request, so `*` cannot leak what a *cookie* unlocks.
It can leak what the *network position* unlocks: a server on your intranet, or one that trusts your
IP address, answers your browser; with `*`, any page you visit can read that answer through your
browser. To read alice's picture the server must name the page's origin **and** allow credentials;
then the page gets it because the server said so:
"""),
    code("""
knobs = dict(acao=lab.site.origin, acac=True)
mine = browser.load_image(lab.cdn.url("secret.png", **knobs), crossorigin="use-credentials")
canvas = cors_lab.LabCanvas(64, 48)
canvas.draw_image(mine)
canvas.get_image_data(32, 40, 1, 1).ravel()
"""),
    md("""
What the server saw, request by request (the cookie column lists only the lab's own cookies;
anything else your browser holds, such as Jupyter's login cookie, is counted, never shown):
"""),
    code("lab.cdn.log"),
]

REDIRECT_NULL = """
```mermaid
sequenceDiagram
    participant B as browser (page on site)
    participant C as cdn
    participant O as other
    participant S as site
    B->>C: hop 1: GET, Origin: http://site
    C-->>B: 302, Location: other
    Note over B: cdn is not other, and site is not cdn: the tainted origin flag is set
    B->>O: hop 2: GET, Origin: null
    O-->>B: 302, Location: site
    B->>S: hop 3: GET, Origin: null
    S-->>B: 200 with Access-Control-Allow-Origin: * (only * or null pass now)
```
"""

NOTEBOOKS["04-redirects"] = [
    header("04 · Redirects: when the page's origin becomes `null`", minutes=20,
           prerequisites="`02-the-cors-check`", objectives=[
               "state Fetch's redirect rule that turns the request's `Origin` into `null`",
               "predict the CORS check after a detour, and why an opaque detour stays opaque",
           ], intro="""
An image URL may redirect to another server. In CORS mode **every hop** is checked, and the
request's origin can become `null` on the way. The rule, from Fetch's
[HTTP-redirect fetch](https://fetch.spec.whatwg.org/#http-redirect-fetch): *"If request's current
URL's origin is not same origin with locationURL's origin and request's origin is not same origin
with request's current URL's origin, then set request's tainted origin flag."* A tainted request's
origin [serializes](https://fetch.spec.whatwg.org/#serializing-a-request-origin) as `null`. So: a
redirect from a server that is not the page's own origin, to yet another origin.
""" + REDIRECT_NULL),
    code("""
import cors_lab
from cors_lab.course import ask
lab = cors_lab.start()
browser = cors_lab.Browser(lab.site)
"""),
    md("`lab.chain` builds a redirect chain across the lab's origins; here cdn → other → site, every hop answering `*`:"),
    code("""
url = lab.chain([lab.cdn, lab.other, lab.site], "picture.png", acao="*", hop_knobs={"acao": "*"})
print(browser.load_image(url, crossorigin="anonymous"))
"""),
    md("""
Hop 1 went to `lab.cdn` with the page's origin. Its redirect went from `cdn` to `other` (two
different origins) and the request's origin (`site`) is not `cdn`'s: the flag is set, and hops 2 and
3 say `Origin: null`.

Now the image comes back from the page's *own* origin after a detour through `lab.cdn`, and the last
hop answers with the page's exact origin instead of `*`:
"""),
    code("""
url = lab.chain([lab.cdn, lab.site], "picture.png", acao=lab.site.origin, hop_knobs={"acao": "*"})
ask(lab, url, crossorigin="anonymous", browser=browser,
    prompt="cdn redirects to site; site answers Access-Control-Allow-Origin: <the page's origin>")
"""),
    md("""
The redirect went from `cdn` to `site` (different origins), and the request's origin (`site`) is
not `cdn`: so the request's origin is `null` at home, and only `*` or `null` pass, even on the
page's own server. Without `crossorigin` there is no check, and the response stays opaque all the way:
"""),
    code("""
url = lab.chain([lab.cdn, lab.site], "picture.png")
ask(lab, url, browser=browser, prompt="No crossorigin; cdn redirects to the page's own origin")
"""),
    md("""
A `no-cors` image that went through another origin stays **opaque** even though it ends at home:
drawing it taints the canvas. The same rules, without servers, in the model:
"""),
    code("""
from cors_lab import predict
chain = [("https://b.test/r", 302, [("Location", "https://a.test/i.png")]), ("https://a.test/i.png", 200, [])]
predict(page="https://a.test", chain=chain).verdict
"""),
]

NOTEBOOKS["05-cache-and-vary"] = [
    header("05 · The HTTP cache and `Vary: Origin`", minutes=30, prerequisites="`02-the-cors-check`", objectives=[
        "explain how a cached answer without CORS headers breaks a later CORS load of the same URL",
        "fix it with `Vary: Origin`, `no-cache`, or by sending `*` unconditionally",
        "configure Apache and nginx for it, and check the result on a real Apache",
    ], intro="""
MDN's guide suggests this Apache rule for images (from the HTML5 Boilerplate): send
`Access-Control-Allow-Origin: *` only when the request has an `Origin` header.
It has a trap. Set up:
"""),
    code("""
import cors_lab
from cors_lab.course import ask
lab = cors_lab.start()
browser = cors_lab.Browser(lab.site)
"""),
    md("A plain `<img>` loads the picture first; the server's answer may be cached for an hour (`max-age=3600`):"),
    code("""
url = lab.cdn.url("picture.png", apache=True, cache="max-age=3600", nonce=True)
print(browser.load_image(url).event)                           # 1. a plain <img>
"""),
    code("""
ask(lab, url, crossorigin="anonymous", browser=browser,
    prompt='2. The same URL again, now with crossorigin="anonymous" (the server would answer *)')
"""),
    md("The server saw one request only:"),
    code("lab.cdn.log"),
    md("""
The first response (no `Origin` asked, so no ACAO) was stored with `max-age=3600`. Nothing told the
cache that the answer depends on `Origin`, so Chromium 156 reused it for the CORS request, and the
CORS check failed. (Firefox ESR 153.8 and WebKitGTK 2.50.6 fetched again for the `anonymous` load
and read the picture: they keep credential-less loads apart in their cache; Firefox reuses for
`use-credentials`. Fetch permits both.) The kernel browser's cache explains its choice:
"""),
    code("""
second = browser.load_image(url, crossorigin="anonymous")
print(second.hops[0].cache_why)
"""),
    md("The server adds `Vary: Origin`:"),
    code("""
url = lab.cdn.url("picture.png", apache=True, cache="max-age=3600", vary="Origin", nonce=True)
print(browser.load_image(url).event)
ask(lab, url, crossorigin="anonymous", browser=browser, prompt="With Vary: Origin, the second load")
"""),
    md("""
`Vary: Origin` makes the stored request's `Origin` (absent) part of the match, so the CORS request
goes to the server ([RFC 9111 §4.1](https://www.rfc-editor.org/rfc/rfc9111#name-calculating-cache-keys-with)).
The server configuration that does it, for Apache and nginx. In Apache use `Header merge Vary`
(or `append`), never `Header set Vary`, which would replace a `Vary: Accept-Encoding` already there:
"""),
    code("""
from cors_lab.serverconf import apache_config, nginx_config
print(apache_config(name="picture.png", apache=True, vary="Origin", cache="max-age=3600"))
"""),
    code("""
print(nginx_config(name="picture.png", apache=True, vary="Origin", cache="max-age=3600"))
"""),
    md("""
The simplest fix of all: send `Access-Control-Allow-Origin: *` with every response, `Origin` or not.
Then every cached copy carries it. And where does the trap bite? Your browser's own HTTP cache is
partitioned by top-level site in Chromium, Firefox and Safari, so one site's pages rarely meet
another's entries; the trap bites hardest in shared caches (a CDN, a proxy), which serve everyone the
copy the first visitor caused.

## No cache setting at all

Most sites that paste the guide's rule set no `Cache-Control` for their images:
"""),
    code("""
url = lab.cdn.url("picture.png", apache=True, nonce=True)   # the guide's rule, nothing else
first = browser.load_image(url)
ask(lab, url, crossorigin="anonymous", browser=browser,
    prompt="No cache setting at all: a plain load, then the same URL with crossorigin")
"""),
    md("""
Like every static file server (Apache and nginx both, measured), the lab sends the file's date and a
tag for its content with each picture:
"""),
    code("""
second = browser.load_image(url, crossorigin="anonymous")
headers = dict(first.hops[0].headers)
print("Last-Modified:", headers["Last-Modified"])
print("ETag:         ", headers["ETag"])
print(second.hops[0].cache_why)
"""),
    md("""
A response with no explicit lifetime may still be fresh. [RFC 9111 §4.2.2](https://www.rfc-editor.org/rfc/rfc9111#section-4.2.2):
*"If the response has a Last-Modified header field, caches are encouraged to use a heuristic
expiration value that is no more than some fraction of the interval since that time. A typical
setting of this fraction might be 10%."* Chromium uses exactly 10%. The lab's pictures are dated
1 January 2025, so they are fresh for weeks; a file unchanged for a month gets almost three days:
"""),
    code("""
from cors_lab.spec.cache import freshness_lifetime
month_old = [("Date", "Sun, 01 Mar 2026 00:00:00 GMT"), ("Last-Modified", "Sun, 01 Feb 2026 00:00:00 GMT")]
lifetime = freshness_lifetime(month_old, status=200, response_time=0)
print(lifetime.source, round(lifetime.seconds / 3600, 1), "hours")
"""),
    md("""
Two fixes: `Cache-Control: no-cache` (store, but ask before every reuse), or `Vary: Origin`.
Each question: the same two loads, with one of them:
"""),
    code("""
from IPython.display import display
for knobs in ({"cache": "no-cache"}, {"vary": "Origin"}):
    url = lab.cdn.url("picture.png", apache=True, nonce=True, **knobs)
    browser.load_image(url)
    display(ask(lab, url, crossorigin="anonymous", browser=browser, show_code=False,
                prompt=f"The guide's rule plus {knobs}: a plain load, then crossorigin"))
"""),
    md("""
Both work, and both send a **conditional** request: `If-None-Match` with the stored `ETag` (and
`If-Modified-Since`, except after a `Vary` mismatch, where Chromium does not trust the date). The server
answers `304 Not Modified` with no body, but with the rule's `Access-Control-Allow-Origin: *`, since this
request had an `Origin`. Which headers does the CORS check then read? Fetch's
[HTTP-network-or-cache fetch](https://fetch.spec.whatwg.org/#http-network-or-cache-fetch): *"If the
revalidatingFlag is set and forwardResponse's status is 304, then: Update storedResponse's header list
using forwardResponse's header list [...]. Set response to storedResponse."* The stored picture, with
the 304's headers merged in ([RFC 9111 §4.3.4](https://www.rfc-editor.org/rfc/rfc9111#section-4.3.4)).
What the server saw for the last one:
"""),
    code("""
[(e.status, e.header("Access-Control-Allow-Origin")) for e in lab.cdn.log if lab.cdn.origin + e.path == url]
"""),
    md("""
## On a real Apache

The guide's rule is an Apache rule, so try it on one. `apache_or_lab` starts Debian's `apache2` as the
kernel's own process (on `127.0.0.1`, with its own config file, stopped when you leave the `with`
block) where it is installed (`apt-get install apache2`); elsewhere the lab stands in, with the knobs
that do what that config does. Five servers: the guide's block on a stock Debian install, then with
`mod_headers` enabled, then with one line more each:
"""),
    code("""
from cors_lab.realservers import CACHE_LESSON, apache_or_lab
print(CACHE_LESSON["stock Debian"])
"""),
    code("""
with apache_or_lab(CACHE_LESSON["stock Debian"], lab=lab) as server:
    print("served by", server.name)
""", "nbval-ignore-output"),
    md("One question per server: a plain `<img>`, then the same URL with `crossorigin`. Predict the second load:"),
    code("""
def two_loads(lesson):
    with apache_or_lab(CACHE_LESSON[lesson], lab=lab) as server:
        fresh, url = cors_lab.Browser(lab.site), server.url("picture.png")
        events = fresh.load_image(url).event, fresh.load_image(url, crossorigin="anonymous").event
        return events, server.requests()   # (status, Origin, ACAO) of each request the server saw
"""),
    code("""
from cors_lab.course import choose
def second_load(lesson):
    events, requests = two_loads(lesson)
    return events[1], f"plain <img>: {events[0]}, then crossorigin: {events[1]}", requests
for lesson in CACHE_LESSON:
    display(choose(f"{lesson}: the crossorigin load after a plain one", ["load", "error"],
                   lambda lesson=lesson: second_load(lesson)))
"""),
    md("""
- **stock Debian**: Debian and Ubuntu enable neither `mod_headers` nor `mod_rewrite`. The guide's block
  sits inside `<IfModule mod_headers.c>`, so Apache starts without a word and never sends the header.
  The kit's own config (`apache_config(...)` above) leaves the `<IfModule>` lines out and says
  `sudo a2enmod headers`: pasted on a stock install, Apache refuses to start with *Invalid command
  'Header', perhaps misspelled or defined by a module not included in the server configuration*,
  which is the failure you want to see.
- **mod_headers on**: the heuristic trap. Apache dates the file and tags it; nothing else is needed.
- **no-cache** and **Vary: Origin**: the `304` that carries `*`.
- **max-age=3600**: the guide's trap as first shown.

Chromium 156 gives the same verdicts, and sends the same requests, against Apache and against the lab
for all five (`tests/test_realservers.py`, `python tools/compare_servers.py --chromium`).

## In your browser

With a browser attached (notebook 07 introduces the live probe), your browser makes the same two loads.
Run the two cells one after the other:
"""),
    code("""
probe = cors_lab.LiveProbe(lab)
probe
"""),
    code("""
url = probe.url("picture.png", apache=True, nonce=True)
plain = probe.run(url)
"""),
    code("""
cors = probe.run(url, crossorigin="anonymous")
print(probe.status)
"""),
]



NOTEBOOKS["06-save-to-localstorage"] = [
    header("06 · The guide's example: save a foreign image to `localStorage`", minutes=20,
           prerequisites="`01-three-outcomes`, `05-cache-and-vary` (the Apache rule)", objectives=[
               "read the guide's JavaScript and say what each line does, and when each handler runs",
               "say what happens to the guide's code without `crossOrigin`, and without the server's header",
               "explain why what was saved belongs to one origin",
           ], intro="""
MDN's guide ends by downloading an image from another origin, drawing it, and saving
`canvas.toDataURL()` to `localStorage`. Here is its code, verbatim (from the guide's
[example](https://developer.mozilla.org/en-US/docs/Web/HTML/CORS_enabled_image#example_storing_an_image_from_a_foreign_origin)):
"""),
    code("""
from cors_lab.course import guide_code
guide_code()
"""),
    md("""
And the same in Python on the lab, each line beside the guide's. The server uses the guide's Apache
rule (`apache=True`). `downloadedImg.addEventListener("load", imageReceived)` is the only handler:
the guide has no `error` handler, so when the image does not load, `imageReceived` never runs and
nothing is said.
"""),
    code("""
import cors_lab
from IPython.display import display
from cors_lab import LabCanvas, LocalStorage, QuotaExceededError, SecurityError
from cors_lab.course import ask
lab = cors_lab.start()
browser = cors_lab.Browser(lab.site)
local_storage = LocalStorage(lab.site.origin)   # the page's origin's storage, kept on disk
"""),
    code("""
def start_download(image_url, cross_origin="Anonymous"):
    image_description = "The lab's test picture: four coloured quadrants"
    downloaded_img = browser.load_image(image_url, crossorigin=cross_origin)   # crossOrigin, then src
    if downloaded_img.event == "load":                                          # the "load" listener
        image_received(downloaded_img, alt=image_description)                  # downloadedImg.alt
    else:
        print("error event: imageReceived never runs (the guide listens for load only)")
"""),
    code("""
def image_received(downloaded_img, alt):
    canvas = LabCanvas(downloaded_img.decoded.width, downloaded_img.decoded.height)
    canvas.alt = alt                                   # canvas.innerText = downloadedImg.alt
    canvas.draw_image(downloaded_img)                  # context.drawImage(downloadedImg, 0, 0)
    display(canvas)                                    # imageBox.appendChild(canvas)
    try:
        local_storage.set_item("saved-image-example", canvas.to_data_url("image/png"))
    except (SecurityError, QuotaExceededError) as err:  # the guide's catch takes any error
        print(f"Error: {err}")
"""),
    md("As in the guide: `crossOrigin = \"Anonymous\"`, and the server runs the guide's Apache rule:"),
    code("""
ask(lab, lab.cdn.url("picture.png", apache=True, nonce=True), crossorigin="Anonymous", browser=browser,
    operation="toDataURL", prompt="The guide's code, as written, against the guide's Apache rule")
"""),
    code("""
start_download(lab.cdn.url("picture.png", apache=True))
print("saved:", len(local_storage.get_item("saved-image-example") or ""), "characters")
"""),
    md("Without the `crossOrigin` line:"),
    code("""
ask(lab, lab.cdn.url("picture.png", apache=True, nonce=True), browser=browser, operation="toDataURL",
    prompt="The guide's code without its line downloadedImg.crossOrigin = 'Anonymous'")
"""),
    code("start_download(lab.cdn.url(\"picture.png\", apache=True), cross_origin=None)"),
    md("""
The picture is shown, but `toDataURL()` throws: without the attribute the browser sends no `Origin`,
so the rule adds no header, and even with one a `no-cors` response stays opaque; the `try`/`catch`
logs it. And with `crossOrigin` but a server that never sends the header (no Apache rule):
"""),
    code("start_download(lab.cdn.url(\"picture.png\"))"),
    md("""
What was saved is kept on disk for its origin, like the browser's `localStorage`: a new `LocalStorage`
for the same origin finds it, in this kernel or in a new one. But an origin includes its port, and the
lab starts on new ports each time the kernel starts: after a restart `lab.site.origin` is a new origin,
and its storage starts empty, as your browser's would for a new origin.
"""),
    code("""
saved = LocalStorage(lab.site.origin).get_item("saved-image-example")
saved[:30]
"""),
    md("""
Another origin has its own storage and sees nothing of it ([Web Storage](https://developer.mozilla.org/en-US/docs/Web/API/Web_Storage_API)):
"""),
    code("""
print(LocalStorage(lab.cdn.origin).get_item("saved-image-example"))
"""),
]

NOTEBOOKS["07-your-browser"] = [
    header("07 · Your own browser, side by side with the model", minutes=20,
           prerequisites="`01-three-outcomes`, `02-the-cors-check`", objectives=[
               "run an experiment in your own browser and compare it with the model and the kernel",
               "say what changes behind one origin (Binder, JupyterHub): an opaque page, `Origin: null`",
               "name where Chromium, Firefox, WebKit and the standards differ",
           ], intro="""
The probe you met in notebook 01, in full: a small page sits in an iframe below and reports each
result back. When you read this on GitHub or in a test run, no browser answers, and the kernel
carries on alone.
"""),
    code("""
import cors_lab
lab = cors_lab.start()
probe = cors_lab.LiveProbe(lab)
probe
"""),
    md("""
`cors_lab.start()` names the lab's servers the way your browser names Jupyter (`localhost` or
`127.0.0.1`: a cookie, and `localStorage`, care about the difference), so the probe's page, on
`lab.site`, is *same-site* with this notebook, as the lessons assume.

**Behind one origin** (Binder, a JupyterHub, a remote server) your browser reaches the server machine
only through Jupyter's own address, so the lab's servers, on that machine's loopback, are out of its
reach. The probe then runs its experiments in a sandboxed page whose origin is **opaque** (`null`), and
the pictures come from the kit's Jupyter server extension, which to that page is a real cross-origin
server. What changes: the page sends `Origin: null` and no cookies, so only
`Access-Control-Allow-Origin: *` or `null` makes a picture readable (an exact origin never matches
`null`), and there are no logins, redirects or delays to try. `probe.url(...)` gives a picture URL
that works in both set-ups: `lab.cdn.url(...)` here, the extension's behind one origin.

Ask your browser to load two images: one tainting, one readable. This returns at once:
"""),
    code("""
tainted = probe.run(probe.url("picture.png", nonce=True))
readable = probe.run(probe.url("picture.png", acao="*", nonce=True), crossorigin="anonymous")
print(probe.status)
"""),
    md("""
Results arrive after the cell finishes (the browser answers between cells). In the next cell,
`probe.wait(readable)` returns your browser's `Outcome`, or explains why none came.
With a browser attached, try it; `await readable` also works inside one cell.

## All engines on one experiment

`compare` runs the model (`predict`, over the responses the kernel saw), the kernel browser and your
browser, and flags any disagreement: in the verdict, the exception, the pixel read back, or the
request the server saw (`Origin`, the lab's cookies). Predict first; the rows come after your choice:
"""),
    code("""
from cors_lab.course import ask
ask(lab, probe.url("picture.png", acao="*", nonce=True), crossorigin="use-credentials", probe=probe,
    prompt='crossorigin="use-credentials", and the server answers Access-Control-Allow-Origin: *')
"""),
    md("""
`*` is never enough with credentials, in each engine measured (Chromium 156, Firefox ESR 153.8,
WebKitGTK 2.50.6). `cors_lab.compare` gives the same table without a question; here with
`anonymous`, which `*` does allow:
"""),
    code("""
cors_lab.compare(lab, probe.url("picture.png", acao="*", nonce=True), "anonymous", "getImageData", probe)
"""),
    md("""
A disagreement would be news: a browser that differs, a stale HTTP cache, or an extension that
rewrites CORS headers.

## The lab panel

Every knob as a control. Type any `Access-Control-Allow-Origin` value (one header line per line,
`{page}` stands for the page's origin), pick the `crossorigin` value and the operation, press **Run**.
"Logged in" logs the kernel browser *and* your browser in as alice at the image's server (and out
again when unticked), so both ask for the same picture:
"""),
    code("""
from cors_lab.panel import Panel
panel = Panel(lab, probe=probe)
panel
"""),
    md("""
## Where browsers and the standards differ

The kit's model follows Chromium 156 and says so where that is not the standard's letter; Firefox
ESR 153.8 and WebKitGTK 2.50.6 were measured too:

- Chromium 156 and WebKitGTK 2.50 send `Origin` with a same-origin image that has `crossorigin`;
  Firefox ESR 153 does not, as the [Fetch standard](https://fetch.spec.whatwg.org/#append-a-request-origin-header)
  says (whatwg/fetch#1170). `predict(..., browser="spec")` shows the standard's request.
- What cleans a tainted canvas: setting `canvas.width` (even to the same value) does in Chromium 156,
  but not in Firefox ESR 153 nor WebKitGTK 2.50; `ctx.reset()` cleans in none of the three, although
  current WPT (web-platform-tests#55389, 2025) expects `reset()` to clean, and WebKit (2026) and Servo
  changed to do so; `clearRect()` cleans nowhere.
- A truncated image whose size arrived still fires `load`
  ([update the image data](https://html.spec.whatwg.org/multipage/images.html#update-the-image-data)).
- `getImageData(0, 0, 0, 10)` on a tainted canvas throws `SecurityError` in Chromium; the standard
  checks the size first and would throw `IndexSizeError`
  ([getImageData](https://html.spec.whatwg.org/multipage/canvas.html#dom-context-2d-getimagedata)).
- A `bitmaprenderer` canvas, once given a tainted `ImageBitmap`, stays tainted in Chromium: a clean bitmap,
  `transferFromImageBitmap(null)` or a new `width` does not clean it, though the
  [standard](https://html.spec.whatwg.org/multipage/canvas.html#set-an-imagebitmaprenderingcontext%27s-output-bitmap)
  says each of them should.
"""),
    code("""
from cors_lab import predict
same = [(lab.site.url("picture.png"), 200, [])]
for browser in ("chromium", "spec"):
    r = predict(page=lab.site.origin, chain=same, crossorigin="anonymous", browser=browser)
    print(f"{browser:9} Origin header: {r.requests[0].origin}")
"""),
]



NOTEBOOKS["08-every-readback"] = [
    header("08 · Every way to read a canvas, and what cleans it", minutes=25,
           prerequisites="`01-three-outcomes`", objectives=[
               "tell the calls that throw on a tainted canvas from those that only carry the taint along",
               "say when a pattern taints a canvas",
               "say what cleans a tainted canvas, engine by engine",
           ], intro="""
MDN lists four calls that throw on a tainted canvas: `getImageData()`, `toBlob()`, `toDataURL()` and
`captureStream()`. There are more ways to get pixels out. The model answers for each in one loop
(each operation draws the foreign image first, then reads back its own way):
"""),
    code("""
from cors_lab import OPERATIONS, predict
foreign = [("https://b.test/cat.png", 200, [])]          # no crossorigin, no CORS: opaque
for op in OPERATIONS:
    print(f"{op:22} {predict(page='https://a.test', chain=foreign, operation=op).exception}")
"""),
    md("""
Read it carefully: `createImageBitmap`, `pattern`, `canvas-to-canvas` and `transferToImageBitmap`
do not throw when they are called. The bitmap, the pattern or the second canvas *carries* the taint,
and the final readback (`getImageData` on the canvas they were drawn into) throws. Drawing a foreign
image never throws for being foreign (drawing a *broken* image does: `InvalidStateError`, notebook 01).
WebGL is stricter: it refuses even to *upload* the image (`texImage2D`). Now the same on real pixels,
in the kernel:
"""),
    code("""
import cors_lab
from cors_lab.course import ask, choose
lab = cors_lab.start()
browser = cors_lab.Browser(lab.site)
opaque = browser.load_image(lab.cdn.url("picture.png"))
"""),
    code("""
ask(lab, lab.cdn.url("picture.png", nonce=True), browser=browser, operation="createImageBitmap",
    exception=True, prompt="createImageBitmap(foreign image), draw the bitmap, then getImageData")
"""),
    code("""
canvas = cors_lab.LabCanvas(64, 48)
canvas.draw_image(opaque)
canvas.to_blob()
""", "raises-exception"),
    code("canvas.capture_stream()", "raises-exception"),
    md("## Patterns\n\nA pattern is made from the foreign image and assigned to `fillStyle`, but nothing is ever filled:"),
    code("""
def pattern_assigned():
    canvas = cors_lab.LabCanvas(64, 48)
    canvas.fill_style = canvas.create_pattern(opaque)
    return ("clean" if canvas.origin_clean else "tainted"), f"origin_clean: {canvas.origin_clean}"
choose("Is the canvas tainted?", ["tainted", "clean"], pattern_assigned)
"""),
    md("""
The [fillStyle setter](https://html.spec.whatwg.org/multipage/canvas.html#dom-context-2d-fillstyle)
taints the canvas as soon as a pattern that is not origin-clean is assigned. Creating it alone does not.

## What cleans a tainted canvas?

A tainted canvas, then `clearRect` over all of it:
"""),
    code("""
def after_clear_rect():
    canvas = cors_lab.LabCanvas(64, 48)
    canvas.draw_image(opaque)
    canvas.clear_rect(0, 0, 64, 48)
    return ("clean" if canvas.origin_clean else "tainted"), f"origin_clean: {canvas.origin_clean}"
choose("After clearRect(0, 0, 64, 48), is the canvas still tainted?", ["tainted", "clean"], after_clear_rect)
"""),
    md("""
`clearRect` erases every pixel, yet the canvas stays tainted, in each engine measured. Setting its
`width` (even to the same value) gives a new bitmap, and Chromium 156 (which the kernel follows)
makes it clean again; Firefox ESR 153 and WebKitGTK 2.50 keep it tainted. `ctx.reset()` cleans in none
of the three, though current WPT (web-platform-tests#55389) expects it to, and WebKit (2026) and Servo
changed to do so:
"""),
    code("""
canvas = cors_lab.LabCanvas(64, 48)
canvas.draw_image(opaque)
canvas.width = 64
print("after width = 64 (Chromium's rule):", canvas.origin_clean)
"""),
    md("""
The pixels went with the flag: the canvas is blank. There is no way to keep foreign pixels and
read them. Each rule applied is in the canvas's log, with its link:
"""),
    code("""
for line in canvas.log:
    print("-", line)
"""),
]


def _exercises(solved: bool) -> list:
    """09-exercises and its solutions from one source: cors_lab.exercises.EXERCISES."""
    from cors_lab.exercises import EXERCISES

    title = "09 · Exercises: solutions" if solved else "09 · Exercises"
    intro = ("Reference answers; other answers that the checks accept are right too."
             if solved else "Edit each `answer`, run the cell, then run `check`. The checks run your answer (in "
             "the model, in a real browser, on the lab's servers), so any answer a browser would accept passes. "
             "Solutions: [solutions/09-exercises-solutions](solutions/09-exercises-solutions.ipynb).")
    top = md(f"# {title}\n\n{intro}") if solved else header(
        title, minutes=45, prerequisites="notebooks `00`-`08` (exercise 6 follows `06`, 7 follows `05`, 9 follows `04`)",
        objectives=["make a cross-origin picture readable from the attribute and the server's headers",
                    "write the JavaScript that loads it, reports a load error and catches a refused readback",
                    "write the Apache or nginx lines that allow it, and read a server log of a failed load"],
        intro=intro)
    cells = [top, code("from cors_lab import OPERATIONS\nfrom cors_lab.exercises import check")]
    for e in EXERCISES:
        cells.append(md(f"## {e.number}. {e.title}\n\n{e.task}"))
        if e.setup:
            cells.append(code(e.setup))
        cells.append(code(e.solution if solved else e.starter))
        cells.append(code(f"check({e.number}, answer{e.check_args})"))
    return cells


NOTEBOOKS["09-exercises"] = _exercises(solved=False)
NOTEBOOKS["solutions/09-exercises-solutions"] = _exercises(solved=True)


# The reference copies' second cell: every question below shows its answer without asking.
REFERENCE_CELL = "from cors_lab.course import reference_copy\nreference_copy()   # maintainers' copy: answers shown at once"
REFERENCE_DIR = "reference"
EXECUTED_ONLY = ("solutions/",)  # already a reference: written executed, with no learner's copy


def reference_cells(name: str) -> list:
    """The reference copy's cells: the learner's, with `REFERENCE_CELL` after the title."""
    cells = copy.deepcopy(NOTEBOOKS[name])
    return [cells[0], code(REFERENCE_CELL), *cells[1:]]


def new_notebook(cells: list):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = cells
    return nb


def write(nb, path: pathlib.Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    print(f"wrote {path.relative_to(HERE.parent)}")


def build(name: str) -> None:
    if name.startswith(EXECUTED_ONLY):
        executed, path = new_notebook(copy.deepcopy(NOTEBOOKS[name])), HERE / f"{name}.ipynb"
    else:
        write(new_notebook(copy.deepcopy(NOTEBOOKS[name])), HERE / f"{name}.ipynb")
        executed, path = new_notebook(reference_cells(name)), HERE / REFERENCE_DIR / f"{name}.ipynb"
    # Run from the learner's folder, so relative paths and links behave as in the learner's copy.
    NotebookClient(executed, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(HERE)}},
                   store_widget_state=False).execute()
    write(executed, path)


if __name__ == "__main__":
    for name in sys.argv[1:] or list(NOTEBOOKS):
        build(name)
