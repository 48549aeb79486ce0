"""The live probe's page, /probe and /probe/trial.js on every lab origin, over real loopback sockets.

The last tests drive Debian's Chromium: a parent page embeds the probe and talks to it by postMessage,
the way cors_lab.live's widget does from the notebook page.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import cors_lab
from cors_lab import trial
from cors_lab.servers import PROBE_JS, Lab

TRIAL_JS = Path(cors_lab.__file__).with_name("trial.js")


@pytest.fixture(scope="module")
def lab():
    with Lab() as lab:
        yield lab


def get(url: str, method: str = "GET"):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=10)
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), headers={"User-Agent": "test"})
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read()
    finally:
        conn.close()


def header(headers, name):
    found = [v for n, v in headers if n.lower() == name.lower()]
    assert len(found) <= 1, f"{name} sent {len(found)} times"
    return found[0] if found else None


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the inline scripts' and styles' text."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.inline: dict[str, list[str]] = {"script": [], "style": []}
        self._open: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._open = tag if tag in self.inline and "src" not in dict(attrs) else None

    def handle_data(self, data):
        if self._open:
            self.inline[self._open].append(data)

    def handle_endtag(self, tag):
        self._open = None


def parse(body: bytes) -> _Tags:
    tags = _Tags()
    tags.feed(body.decode("utf-8"))
    return tags


# -- LabOrigin.probe_url -----------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["site", "cdn", "other"])
def test_probe_url_is_on_each_origin(lab, label):
    origin = lab[label]
    assert origin.probe_url() == f"{origin.origin}/probe"


# -- /probe ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["site", "cdn", "other"])
def test_probe_page_is_served_on_every_origin(lab, label):
    status, headers, body = get(lab[label].probe_url())
    assert status == 200
    assert header(headers, "Content-Type") == "text/html; charset=utf-8"
    assert header(headers, "Cache-Control") == "no-store"
    assert header(headers, "X-Content-Type-Options") == "nosniff"
    assert header(headers, "Access-Control-Allow-Origin") is None
    assert header(headers, "Set-Cookie") is None
    assert body.startswith(b"<!doctype html>")


def test_probe_page_loads_only_its_own_trial_js(lab):
    tags = parse(get(lab.site.probe_url())[2])
    external = [(t, a) for t, a in tags.tags for k in ("src", "href") if k in a]
    assert external == [("script", {"src": "/probe/trial.js"})]
    assert [t for t, _ in tags.tags if t in ("iframe", "img", "link", "object", "embed")] == []


def test_probe_page_listens_for_trials_and_answers_its_parent(lab):
    # The page's own script (probe.js, inline) starts trial.js's one responder with the fragment's parent.
    inline = "".join(parse(get(lab.site.probe_url())[2]).inline["script"])
    assert inline == PROBE_JS
    assert "corsLabServe({ parentOrigin, status })" in inline
    assert 'new URLSearchParams(location.hash.slice(1)).get("parent")' in inline
    # The responder it starts, in the trial.js the page loads from /probe/trial.js.
    served = get(lab.site.origin + "/probe/trial.js")[2].decode("utf-8")
    responder = served[served.index("function corsLabServe("):]
    assert '"cors-lab-trial"' in responder and "cors-lab-result" in responder and "cors-lab-ready" in responder
    assert "corsLabTrial(data.spec)" in responder
    # Only the parent window talks to it; with #parent=ORIGIN, only that origin, and replies go there.
    assert "event.source !== window.parent" in responder
    assert "event.origin !== parentOrigin" in responder
    assert "const target = parentOrigin || \"*\";" in responder
    for script in (inline, responder):
        assert "postMessage" in script and "document.cookie" not in script


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_probe_page_csp_allows_exactly_its_scripts_and_style(lab):
    status, headers, body = get(lab.site.probe_url())
    csp = dict(d.strip().split(" ", 1) for d in header(headers, "Content-Security-Policy").split(";"))
    tags = parse(body)
    (script,) = tags.inline["script"]
    (style,) = tags.inline["style"]
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == f"'self' {_sha256(script)}"
    assert csp["style-src"] == _sha256(style)
    # The trial loads whatever image URL the learner gives; the page itself fetches nothing else.
    assert csp["img-src"] == "* data: blob:"
    assert csp["frame-ancestors"] == "'self' http://127.0.0.1:* http://localhost:*"
    assert "connect-src" not in csp  # falls back to default-src 'none'


def test_probe_page_head_has_no_body(lab):
    status, headers, body = get(lab.site.probe_url(), method="HEAD")
    assert status == 200 and body == b"" and int(header(headers, "Content-Length")) > 0


# -- /probe/trial.js ---------------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["site", "cdn", "other"])
def test_trial_js_is_the_packaged_file(lab, label):
    status, headers, body = get(f"{lab[label].origin}/probe/trial.js")
    assert status == 200
    assert header(headers, "Content-Type") == "text/javascript; charset=utf-8"
    assert header(headers, "Cache-Control") == "no-store"
    assert body == TRIAL_JS.read_bytes()


# -- what is not the probe ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/probe?x=1", "/probe/trial.js?v=2", "/probe?acao=*"])
def test_probe_takes_no_knobs(lab, target):
    status, headers, body = get(lab.site.origin + target)
    assert status == 400
    assert b"takes no knobs" in body
    assert header(headers, "Content-Security-Policy") is None


@pytest.mark.parametrize(
    "path", ["/probe/", "/probe/../img/picture.png", "/probe/trial.js/", "/probe/servers.py", "/probe%2Ftrial.js", "/PROBE"]
)
def test_near_misses_are_404(lab, path):
    status, _, body = get(lab.site.origin + path)
    assert status == 404
    assert b"/probe" in body  # the 404 reason lists the probe page too


def test_probe_requests_are_logged(lab):
    lab.clear_log()
    get(lab.site.probe_url())
    get(lab.site.origin + "/probe/trial.js")
    paths = [(e.server, e.path, e.status) for e in lab.log()]
    assert paths == [("site", "/probe", 200), ("site", "/probe/trial.js", 200)]


def test_missing_trial_js_is_a_500_with_the_reason(lab, monkeypatch):
    monkeypatch.setattr(trial, "TRIAL_JS", Path("/nonexistent/trial.js"))
    status, _, body = get(lab.site.origin + "/probe/trial.js")
    assert status == 500 and b"FileNotFoundError" in body


# -- in Chromium: the postMessage protocol -----------------------------------------------------------

# Runs in a parent page: embed the probe, wait for "ready", send one trial, return ready + result.
_EMBED_AND_ASK = """async ([probeUrl, spec, waitMs]) => {
  const frame = document.createElement("iframe");
  const messages = [];
  const next = (...types) => new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), waitMs);
    addEventListener("message", function on(event) {
      if (event.source === frame.contentWindow && event.data && types.includes(event.data.type)) {
        clearTimeout(timer); removeEventListener("message", on); resolve({origin: event.origin, data: event.data});
      }
    });
  });
  const ready = next("cors-lab-ready", "cors-lab-probe-broken");
  frame.src = probeUrl;
  document.body.appendChild(frame);
  const r = await ready;
  if (!r || r.data.type !== "cors-lab-ready") return {ready: r, result: null};
  const answered = next("cors-lab-result");
  frame.contentWindow.postMessage({type: "cors-lab-trial", id: "t1", spec}, "*");
  const result = await answered;
  return {ready: r, result};
}"""


def _ask(chromium, parent_url, probe_url, spec, wait_ms=4000):
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(parent_url)  # an image document on the parent's origin: no CSP, a body to append to
        return page.evaluate(_EMBED_AND_ASK, [probe_url, spec, wait_ms])
    finally:
        context.close()


@pytest.mark.browser
def test_probe_answers_its_parent_in_chromium(lab, chromium):
    parent = lab.cdn.url("picture.png")
    tainting = {"url": lab.cdn.url("picture.png", nonce=True), "crossorigin": None, "operation": "getImageData"}
    got = _ask(chromium, parent, f"{lab.site.probe_url()}#parent={lab.cdn.origin}", tainting)
    assert got["ready"]["origin"] == lab.site.origin
    assert got["ready"]["data"]["page"] == lab.site.origin
    assert "getImageData" in got["ready"]["data"]["operations"]
    result = got["result"]
    assert result["origin"] == lab.site.origin and result["data"]["id"] == "t1"
    verdict = result["data"]["result"]
    assert (verdict["load"], verdict["readback"], verdict["exception"]) == ("load", "SecurityError", "SecurityError")
    assert verdict["page"] == lab.site.origin
    assert re.search(r"tainted by cross-origin data", verdict["message"])


@pytest.mark.browser
def test_probe_reads_back_a_cors_image_in_chromium(lab, chromium):
    readable = {"url": lab.cdn.url("picture.png", acao="*", nonce=True), "crossorigin": "anonymous"}
    got = _ask(chromium, lab.cdn.url("picture.png"), lab.site.probe_url(), readable)  # no #parent: replies to "*"
    verdict = got["result"]["data"]["result"]
    assert (verdict["load"], verdict["readback"], verdict["exception"]) == ("load", "ok", None)
    assert len(verdict["pixel"]) == 4


@pytest.mark.browser
def test_probe_ignores_a_parent_of_another_origin(lab, chromium):
    # The probe was told its parent is lab.other; the real parent (lab.cdn) gets no ready and no result.
    got = _ask(chromium, lab.cdn.url("picture.png"), f"{lab.site.probe_url()}#parent={lab.other.origin}",
               {"url": lab.cdn.url("picture.png")}, wait_ms=800)
    assert got == {"ready": None, "result": None}


@pytest.mark.browser
def test_probe_with_a_malformed_parent_says_so_and_runs_nothing(lab, chromium):
    got = _ask(chromium, lab.cdn.url("picture.png"), f"{lab.site.probe_url()}#parent=javascript:alert(1)",
               {"url": lab.cdn.url("picture.png")}, wait_ms=800)
    assert got["result"] is None
    broken = got["ready"]["data"]
    assert broken["type"] == "cors-lab-probe-broken" and broken["page"] == lab.site.origin
    assert broken["message"].startswith("TypeError: parentOrigin must be an origin")
