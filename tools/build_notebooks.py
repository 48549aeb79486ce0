"""Write the course notebooks from the cell lists below, execute them top to bottom, store outputs.

    python tools/build_notebooks.py [NAME ...]

One source of truth for the course text: edit the cells here, rebuild, commit the .ipynb files.
Each notebook stores its kernelspec (so JupyterLab never asks "Select Kernel") and its outputs
(so GitHub readers see results and nbval compares them). Cells tagged raises-exception keep their
error output.
"""

from __future__ import annotations

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

NOTEBOOKS["00-start-here"] = [
    md("""
# cors-lab: cross-origin images and tainted canvases

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
    md("""
Before you run the next cell, **predict**: the image now has the `crossorigin="anonymous"` attribute,
but the server still sends no `Access-Control-Allow-Origin` header. Tainted canvas, or something else?
"""),
    code("""
r = predict(page="https://a.test", chain=[("https://b.test/cat.png", 200, [])], crossorigin="anonymous")
print(r)
"""),
    md("""
Surprise: with `crossorigin` set, a missing header is not a taint, it is a **load error**: the image never
arrives, and drawing a broken image throws `InvalidStateError`. Now let the server approve:
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
| [`01-three-outcomes`](01-three-outcomes.ipynb) | real servers and a canvas: readable, tainted, load error |
| [`02-the-cors-check`](02-the-cors-check.ipynb) | `Access-Control-Allow-Origin` byte by byte, credentials |
| [`03-why-tainting`](03-why-tainting.ipynb) | cookies, a private picture, and why readback is refused |
| [`04-redirects`](04-redirects.ipynb) | redirect chains, the `null` origin, opaque detours |
| [`05-cache-and-vary`](05-cache-and-vary.ipynb) | the guide's Apache rule, the cache trap, `Vary: Origin` |
| [`06-save-to-localstorage`](06-save-to-localstorage.ipynb) | the guide's save example, line for line |
| [`07-your-browser`](07-your-browser.ipynb) | your browser runs the same experiments; the lab panel |
| [`08-every-readback`](08-every-readback.ipynb) | every readback call, patterns, and what cleans a canvas |
| [`09-exercises`](09-exercises.ipynb) | five exercises checked by the model (solutions in `solutions/`) |

Read alongside MDN's guide
[Allowing cross-origin use of images and canvas](https://developer.mozilla.org/en-US/docs/Web/HTML/CORS_enabled_image),
and when in doubt, the standards: [Fetch's CORS check](https://fetch.spec.whatwg.org/#concept-cors-check)
and [HTML's canvas security rules](https://html.spec.whatwg.org/multipage/canvas.html#security-with-canvas-elements).
"""),
]


NOTEBOOKS["02-the-cors-check"] = [
    md("""
# 02 · The CORS check, byte by byte

The server approves a cross-origin read with one header, `Access-Control-Allow-Origin` (ACAO).
The browser compares it with the page's origin **byte for byte**. Three lines to see it:
"""),
    code("""
import cors_lab
lab = cors_lab.start()
browser = cors_lab.Browser(lab.site)
"""),
    md("""
`lab.site` is the page's origin, `lab.cdn` a foreign one. Every server knob is in the URL, so
`lab.cdn.url("picture.png", acao=...)` is a permalink to one server behaviour.
"""),
    code("""
print("page:", lab.site.origin)
print("cdn: ", lab.cdn.origin)
"""),
    md("""
**Predict** before you run: the image has `crossorigin="anonymous"` and the server answers with the
page's origin plus a trailing slash. Readable, tainted, or a load error?
"""),
    code("""
url = lab.cdn.url("picture.png", acao=lab.site.origin + "/")
print(browser.load_image(url, crossorigin="anonymous"))
"""),
    md("""
A load error: `http://127.0.0.1:8000/` is not the origin `http://127.0.0.1:8000`. In CORS mode a
failed check is a **network error**, so the image never arrives. Let us try many values at once:
"""),
    code("""
page = lab.site.origin
values = ["*", " * ", page, page + "/", page.upper(), "null", [page, page], f"{page}, {lab.cdn.origin}", ""]
for acao in values:
    r = browser.load_image(lab.cdn.url("picture.png", acao=acao), crossorigin="anonymous")
    print(f"{acao!r:55} -> {r.event}")
"""),
    md("""
Only `*` (spaces around it are trimmed as the header is parsed) and the exact origin pass. Two header
lines are combined into `"a, a"`, which matches nothing. The rule, quoted from the
[Fetch standard's CORS check](https://fetch.spec.whatwg.org/#concept-cors-check):
"""),
    code("""
r = browser.load_image(lab.cdn.url("picture.png", acao=[page, page]), crossorigin="anonymous")
print(r.fetch.reason)
print(r.fetch.console)
"""),
    md("""
## Credentials: `use-credentials`

With `crossorigin="use-credentials"` the browser sends cookies, and the server must say so twice:
the exact origin (never `*`) **and** `Access-Control-Allow-Credentials: true`, lower case.
Predict each line first.
"""),
    code("""
for acao, acac in [("*", True), (page, None), (page, "True"), (page, True)]:
    r = browser.load_image(lab.cdn.url("picture.png", acao=acao, acac=acac), crossorigin="use-credentials")
    print(f"ACAO={acao!r:28} ACAC={acac!r:6} -> {r.event}: {r.reason}")
"""),
    md("""
## No `crossorigin` at all

Without the attribute the request is `no-cors`. The server's header is then simply ignored: the image
loads, but its response is *opaque*, and drawing it taints the canvas.
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

NOTEBOOKS["04-redirects"] = [
    md("""
# 04 · Redirects: when the page's origin becomes `null`

An image URL may redirect to another server. In CORS mode **every hop** is checked, and once a
redirect crosses origins twice the browser stops telling servers who is asking:
"""),
    code("""
import cors_lab
lab = cors_lab.start()
browser = cors_lab.Browser(lab.site)
"""),
    md("`lab.chain` builds a redirect chain across the lab's origins; here cdn → other → site:"),
    code("""
url = lab.chain([lab.cdn, lab.other, lab.site], "picture.png", acao="*", hop_knobs={"acao": "*"})
print(browser.load_image(url, crossorigin="anonymous"))
"""),
    md("""
Look at the `Origin` header on hops 2 and 3: `null`. The request passed through an origin that was
neither the page's nor the previous hop's, so its
[redirect-taint](https://fetch.spec.whatwg.org/#concept-request-tainted-origin) is no longer
"same-origin" (Fetch says "same-site" or "cross-site"), and then its origin is sent as `null`.

**Predict:** the image finally comes back from the page's *own* origin, which answers with its exact
origin instead of `*`. Readable?
"""),
    code("""
url = lab.chain([lab.cdn, lab.site], "picture.png", acao=lab.site.origin, hop_knobs={"acao": "*"})
r = browser.load_image(url, crossorigin="anonymous")
print(r.event, "-", r.reason)
"""),
    md("""
No: after the detour the request's origin is `null`, so only `*` or `null` pass, even on the page's
own server. Without `crossorigin` there is no check, and the response stays opaque all the way:
"""),
    code("""
url = lab.chain([lab.cdn, lab.site], "picture.png")
r = browser.load_image(url)
print(r.event, r.response_tainting)
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
    md("""
# 05 · The HTTP cache and `Vary: Origin`

MDN's guide suggests this Apache rule for images (from the HTML5 Boilerplate): send
`Access-Control-Allow-Origin: *` only when the request has an `Origin` header.
It has a trap. Here it is in three lines:
"""),
    code("""
import cors_lab
lab = cors_lab.start()
browser = cors_lab.Browser(lab.site)
"""),
    code("""
url = lab.cdn.url("picture.png", apache=True, cache="max-age=3600", nonce=True)
print(browser.load_image(url).event)                           # 1. a plain <img>
print(browser.load_image(url, crossorigin="anonymous").event)  # 2. the same URL, with crossorigin
"""),
    md("""
The second load **fails**, though the server would have said `*`. Why? The server never saw the
second request:
"""),
    code("""
lab.cdn.log
"""),
    md("""
The first response (no `Origin` asked, so no ACAO) was stored with `max-age=3600`. Nothing told the
cache that the answer depends on `Origin`, so it was reused for the CORS request, and the CORS check
failed. The kernel browser's cache explains its choice:
"""),
    code("""
second = browser.load_image(url, crossorigin="anonymous")
print(second.hops[0].cache_why)
"""),
    md("""
**Predict:** the server adds `Vary: Origin`. Does the second load work now?
"""),
    code("""
url = lab.cdn.url("picture.png", apache=True, cache="max-age=3600", vary="Origin", nonce=True)
print(browser.load_image(url).event, browser.load_image(url, crossorigin="anonymous").event)
"""),
    md("""
Yes: `Vary: Origin` makes the stored request's `Origin` (absent) part of the match, so the CORS request
goes to the server ([RFC 9111 §4.1](https://www.rfc-editor.org/rfc/rfc9111#name-calculating-cache-keys-with)).
Chromium behaves exactly like this. The server configuration that does it, for Apache and nginx:
"""),
    code("""
from cors_lab.serverconf import apache_config, nginx_config
print(apache_config(name="picture.png", apache=True, vary="Origin", cache="max-age=3600"))
"""),
    code("""
print(nginx_config(name="picture.png", apache=True, vary="Origin", cache="max-age=3600"))
"""),
    md("""
## No cache setting at all

Most sites that paste the guide's rule set no `Cache-Control` for their images. **Predict:** the same
two loads, and the server says nothing about caching. Does the second one work?
"""),
    code("""
url = lab.cdn.url("picture.png", apache=True, nonce=True)   # the guide's rule, nothing else
first = browser.load_image(url)
second = browser.load_image(url, crossorigin="anonymous")
print(first.event, second.event)
"""),
    md("""
It fails again, with no `max-age` anywhere. Like every static file server (Apache and nginx both,
measured), the lab sends the file's date and a tag for its content with each picture:
"""),
    code("""
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
**Predict:** two fixes: `Cache-Control: no-cache` (store, but ask before every reuse), or `Vary: Origin`.
What does the server see for the second load?
"""),
    code("""
for knobs in ({"cache": "no-cache"}, {"vary": "Origin"}):
    url = lab.cdn.url("picture.png", apache=True, nonce=True, **knobs)
    browser.load_image(url)
    second = browser.load_image(url, crossorigin="anonymous")
    seen = [(e.status, e.header("Access-Control-Allow-Origin")) for e in lab.cdn.log if lab.cdn.origin + e.path == url]
    print(knobs, second.event, seen)
"""),
    md("""
Both work, and both send a **conditional** request: `If-None-Match` with the stored `ETag` (and
`If-Modified-Since`, except after a `Vary` mismatch, where Chromium does not trust the date). The server
answers `304 Not Modified` with no body, but with the rule's `Access-Control-Allow-Origin: *`, since this
request had an `Origin`. Which headers does the CORS check then read? Fetch's
[HTTP-network-or-cache fetch](https://fetch.spec.whatwg.org/#http-network-or-cache-fetch): *"If the
revalidatingFlag is set and forwardResponse's status is 304, then: Update storedResponse's header list
using forwardResponse's header list [...]. Set response to storedResponse."* The stored picture, with
the 304's headers merged in ([RFC 9111 §4.3.4](https://www.rfc-editor.org/rfc/rfc9111#section-4.3.4)):
"""),
    code("""
print(second)
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
    md("""
**Predict** each row (plain `<img>`, then `<img crossorigin>`), then run:
"""),
    code("""
def two_loads(lesson):
    with apache_or_lab(CACHE_LESSON[lesson], lab=lab) as server:
        fresh, url = cors_lab.Browser(lab.site), server.url("picture.png")
        events = fresh.load_image(url).event, fresh.load_image(url, crossorigin="anonymous").event
        return events, server.requests()   # (status, Origin, ACAO) of each request the server saw
"""),
    code("""
rows = [(lesson, *two_loads(lesson)) for lesson in CACHE_LESSON]
print("\\n".join(f"{lesson:15} {events}  {requests}" for lesson, events, requests in rows))
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


NOTEBOOKS["01-three-outcomes"] = [
    md("""
# 01 · Three outcomes: readable, tainted, load error

Real servers, a real image, a canvas in the kernel. Start the lab: three origins on your machine.
"""),
    code("""
import cors_lab
lab = cors_lab.start()
lab
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
    md("""
## Outcome 2: tainted

**Predict:** the same picture, served by `lab.cdn`, drawn on a fresh canvas. Can the page read it?
"""),
    code("""
foreign = browser.load_image(lab.cdn.url("picture.png"))
tainted = cors_lab.LabCanvas(64, 48)
tainted.draw_image(foreign)
tainted
"""),
    md("The picture is shown, exactly as in a browser, but reading it back throws:"),
    code("tainted.get_image_data(8, 8, 1, 1)", "raises-exception"),
    md("""
That is the browser's own message. The response was *opaque* (no `crossorigin` attribute, another
origin), and drawing opaque pixels clears the canvas's
[origin-clean flag](https://html.spec.whatwg.org/multipage/canvas.html#concept-canvas-origin-clean).

## Outcome 3: the image does not load

**Predict:** now we ask for CORS with `crossorigin="anonymous"`, but the server sends no
`Access-Control-Allow-Origin`.
"""),
    code("""
refused = browser.load_image(lab.cdn.url("picture.png"), crossorigin="anonymous")
print(refused.summary())
"""),
    md("Not a taint: a network error. There is nothing to draw, and drawing a broken image throws:"),
    code("cors_lab.LabCanvas(64, 48).draw_image(refused)", "raises-exception"),
    md("When the server approves with `Access-Control-Allow-Origin: *`, the foreign picture is readable like our own:"),
    code("""
approved = browser.load_image(lab.cdn.url("picture.png", acao="*"), crossorigin="anonymous")
canvas = cors_lab.LabCanvas(64, 48)
canvas.draw_image(approved)
canvas.get_image_data(8, 8, 1, 1).ravel()
"""),
    md("""
What the servers saw — note the `Origin` header, sent only in CORS mode, and the `Sec-Fetch-Mode`.
The refused CORS load of the plain URL is not there: the browser reused the answer it had stored a
moment before, and that answer had no ACAO either (notebook 05 shows when that reuse bites):
"""),
    code("lab.cdn.log"),
    md("""
The same three verdicts come from the model without any server: `cors_lab.predict` (see `00-start-here`).
Next: [02 · The CORS check, byte by byte](02-the-cors-check.ipynb).
"""),
]

NOTEBOOKS["03-why-tainting"] = [
    md("""
# 03 · Why the canvas gets tainted: your private pictures

Browsers send your cookies with a plain `<img>`, even to another origin. So an image can show
something private, and the page that embeds it must not read its pixels.
"""),
    code("""
import cors_lab
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
The cookie went along (same site: ports do not count for sites), so the picture shows alice's
private colour. It is on screen, but the page cannot read it:
"""),
    code("""
canvas = cors_lab.LabCanvas(64, 48)
canvas.draw_image(secret)
canvas
"""),
    code("canvas.get_image_data(32, 40, 1, 1)", "raises-exception"),
    md("""
If it could, any page you visit could read your bank's charts, your mail's avatars, your intranet.
**Predict:** with `crossorigin="anonymous"` and `Access-Control-Allow-Origin: *` the image is readable.
Whose picture is it?
"""),
    code("""
anon = browser.load_image(lab.cdn.url("secret.png", acao="*"), crossorigin="anonymous")
print(anon.hops[0].request.cookies_why)
canvas = cors_lab.LabCanvas(64, 48)
canvas.draw_image(anon)
canvas
"""),
    md("""
The logged-out picture: `anonymous` means no cookies on a cross-origin request, so `*` can never leak
a private image. To read alice's picture the server must name the page's origin **and** allow
credentials; then the page gets it because the server said so:
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

NOTEBOOKS["06-save-to-localstorage"] = [
    md("""
# 06 · The guide's example: save a foreign image to `localStorage`

MDN's guide ends by downloading an image from another origin, drawing it, and saving
`canvas.toDataURL()` to `localStorage`. Here it is in Python, line for line, on the lab.
The server uses the guide's Apache rule (`apache=True`).
"""),
    code("""
import cors_lab
from cors_lab import LabCanvas, LocalStorage, SecurityError
lab = cors_lab.start()
browser = cors_lab.Browser(lab.site)
local_storage = LocalStorage(lab.site.origin)   # the page's origin's storage, kept on disk
"""),
    code("""
def image_received(downloaded_img):
    canvas = LabCanvas(downloaded_img.decoded.width, downloaded_img.decoded.height)
    canvas.draw_image(downloaded_img)
    try:
        local_storage.set_item("saved-image-example", canvas.to_data_url("image/png"))
        print("saved", len(local_storage.get_item("saved-image-example")), "characters")
    except SecurityError as err:
        print(f"Error: {err}")
"""),
    md("""
`startDownload()` in the guide sets `crossOrigin = "Anonymous"` before `src`. **Predict** what happens
with it, and then without it.
"""),
    code("""
downloaded_img = browser.load_image(lab.cdn.url("picture.png", apache=True), crossorigin="Anonymous")
image_received(downloaded_img)
"""),
    code("""
downloaded_img = browser.load_image(lab.cdn.url("picture.png", apache=True))   # no crossOrigin
image_received(downloaded_img)
"""),
    md("""
Without the attribute the browser does not send `Origin`, so the Apache rule adds no header, and even
with one a `no-cors` response stays opaque: `toDataURL()` throws, and the guide's `try`/`catch` logs it.

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
    md("""
# 07 · Your own browser, side by side with the model

Everything so far ran in the kernel. Now the same experiments run in **your browser**: a small page
sits in an iframe below and reports each result back. When you read this on GitHub or in a test run,
no browser answers, and the kernel carries on alone.
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
request the server saw (`Origin`, the lab's cookies). **Predict** the three rows first:
"""),
    code("""
cors_lab.compare(lab, probe.url("picture.png", acao="*"), "use-credentials", "getImageData", probe)
"""),
    md("""
`*` is never enough with credentials, in every engine. A disagreement would be news: a browser that
differs, a stale HTTP cache, or an extension that rewrites CORS headers.

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

The kit follows what Chromium does and says so where it is not the standard's letter:

- Chromium sends `Origin` with a same-origin image that has `crossorigin`; the
  [Fetch standard](https://fetch.spec.whatwg.org/#append-a-request-origin-header) does not
  (whatwg/fetch#1170). `predict(..., browser="spec")` shows the standard's request.
- Setting `canvas.width` (even to the same value) makes a tainted canvas readable again in Chromium and in
  current WPT (`security.reset.cross.html`, whatwg/html#2660); `clearRect()` and `ctx.reset()` do not.
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
    md("""
# 08 · Every way to read a canvas, and what cleans it

MDN lists four calls that throw on a tainted canvas: `getImageData()`, `toBlob()`, `toDataURL()` and
`captureStream()`. There are more ways to get pixels out. The model answers for each in one loop:
"""),
    code("""
from cors_lab import OPERATIONS, predict
foreign = [("https://b.test/cat.png", 200, [])]          # no crossorigin, no CORS: opaque
for op in OPERATIONS:
    print(f"{op:22} {predict(page='https://a.test', chain=foreign, operation=op).exception}")
"""),
    md("""
`drawImage` itself never throws: drawing is allowed, reading is not. WebGL refuses even to *upload*
the image (`texImage2D`). Now the same on real pixels, in the kernel:
"""),
    code("""
import cors_lab
lab = cors_lab.start()
browser = cors_lab.Browser(lab.site)
opaque = browser.load_image(lab.cdn.url("picture.png"))
"""),
    code("""
canvas = cors_lab.LabCanvas(64, 48)
canvas.draw_image(opaque)
canvas.to_blob()
""", "raises-exception"),
    code("canvas.capture_stream()", "raises-exception"),
    md("""
## Patterns taint when assigned

**Predict:** we make a pattern from the foreign image and assign it to `fillStyle`, but never fill.
Is the canvas tainted?
"""),
    code("""
canvas = cors_lab.LabCanvas(64, 48)
canvas.fill_style = canvas.create_pattern(opaque)
canvas.origin_clean
"""),
    md("""
Yes: the [fillStyle setter](https://html.spec.whatwg.org/multipage/canvas.html#dom-context-2d-fillstyle)
taints the canvas as soon as a pattern that is not origin-clean is assigned. Creating it alone does not.

## What cleans a tainted canvas?

`clearRect` erases every pixel, yet the canvas stays tainted. Setting its `width` (even to the same
value) gives a new, clean bitmap in Chromium and in current WPT:
"""),
    code("""
canvas = cors_lab.LabCanvas(64, 48)
canvas.draw_image(opaque)
canvas.clear_rect(0, 0, 64, 48)
print("after clearRect:", canvas.origin_clean)
canvas.width = 64
print("after width = 64:", canvas.origin_clean)
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
    intro = ("Reference answers; other answers that the model accepts are right too."
             if solved else "Edit each `answer`, run the cell, then run `check`. The checks ask the model, so "
             "any answer a browser would accept passes. Solutions: [solutions/09-exercises-solutions](solutions/09-exercises-solutions.ipynb).")
    cells = [md(f"# {title}\n\n{intro}"), code("from cors_lab import OPERATIONS\nfrom cors_lab.exercises import check")]
    for e in EXERCISES:
        cells.append(md(f"## {e.number}. {e.title}\n\n{e.task}"))
        cells.append(code(e.solution if solved else e.starter))
        cells.append(code(f"check({e.number}, answer)"))
    return cells


NOTEBOOKS["09-exercises"] = _exercises(solved=False)
NOTEBOOKS["solutions/09-exercises-solutions"] = _exercises(solved=True)


def build(name: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = NOTEBOOKS[name]
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    path = HERE / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    print(f"wrote {path.relative_to(HERE.parent)}")


if __name__ == "__main__":
    for name in sys.argv[1:] or list(NOTEBOOKS):
        build(name)
