"""Conformance: the same scenarios through the model, the kernel browser and real Chromium.

Owns running the scenario matrix on a lab, matching each engine's requests in the server log,
and the agreement report (text and HTML). It decides nothing itself: the model is `predict` over
the responses Chromium really received (for cache sequences: the kernel browser's spec cache
replaying them), the kernel browser is `cors_lab.browser`, Chromium is `cors_lab.harness`.
"""

from __future__ import annotations

import html
import itertools
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from . import render
from .browser import Browser, RawResponse, TransportError
from .outcome import Outcome
from .predict import predict
from .scenarios import BuiltScenario, LabScenario, matrix
from .servers.log import Request as LabRequest
from .servers.responses import answer
from .spec.fetch import REDIRECT_STATUSES
from .spec.headers import HeaderList
from .spec.images import image_loads
from .trial import Trial

# Known, documented differences between the model and Chromium: scenario id prefix -> explanation
# with a bug or spec link. Empty means none is known; a test keeps every disagreement listed here.
KNOWN_DEVIATIONS: dict[str, str] = {}

_RUNS = itertools.count(1)
# Every request header the lab's log keeps for an image request, compared between engines.
REQUEST_FIELDS = ("origin", "referer", "cookies", "accept", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-Dest",
                  "Sec-Fetch-Storage-Access")


@dataclass
class Row:
    """One scenario's result in every engine."""

    scenario: LabScenario
    model: Outcome | None = None
    kernel: Outcome | None = None
    chromium: Outcome | None = None
    kernel_requests: list[dict] = field(default_factory=list)
    chromium_requests: list[dict] = field(default_factory=list)
    model_requests: list[dict] = field(default_factory=list)  # what the model says is sent, per request
    model_ms: float = 0.0
    kernel_ms: float = 0.0
    chromium_ms: float = 0.0
    error: str = ""

    @property
    def verdict_differences(self) -> list[str]:
        out = []
        if self.chromium is None:  # no Chromium run: the model and the kernel browser must agree
            return self.model.differences(self.kernel) if self.model and self.kernel else []
        if self.model:
            out += self.model.differences(self.chromium)
        if self.kernel and self.chromium:
            out += self.kernel.differences(self.chromium)
        return out

    @property
    def request_differences(self) -> list[str]:
        """The model's and the kernel's requests against Chromium's (without Chromium: each other's)."""
        if self.chromium is None:
            pairs = [("model", self.model_requests, "kernel", self.kernel_requests)] if self.model else []
        else:
            pairs = [("kernel", self.kernel_requests, "Chromium", self.chromium_requests)]
            if self.model:
                pairs.append(("model", self.model_requests, "Chromium", self.chromium_requests))
        out = []
        for name, mine, other, theirs in pairs:
            out += _compare_requests(name, mine, other, theirs)
        return out

    @property
    def problems(self) -> list[str]:
        """Everything wrong with this row: the run's error, then each verdict and request difference."""
        return ([self.error] if self.error else []) + self.verdict_differences + self.request_differences

    @property
    def agrees(self) -> bool:
        return not self.error and not self.verdict_differences and not self.request_differences

    @property
    def known_deviation(self) -> str | None:
        for prefix, why in KNOWN_DEVIATIONS.items():
            if self.scenario.id.startswith(prefix):
                return why
        return None


def _compare_requests(name: str, mine: list[dict], other: str, theirs: list[dict]) -> list[str]:
    if len(mine) != len(theirs):
        return [f"{name} made {len(mine)} image request(s), {other} {len(theirs)}"]
    out = []
    for i, (m, t) in enumerate(zip(mine, theirs), 1):
        for field_name in REQUEST_FIELDS:
            if m.get(field_name) != t.get(field_name):
                out.append(f"request {i} {field_name}: {name} {m.get(field_name)!r}, {other} {t.get(field_name)!r}")
    return out


def _sent(url: str, headers: list[tuple[str, str]]) -> dict:
    """A request the model says is sent (its header lines), in the form the log gives Chromium's."""
    h = HeaderList(headers)
    return {
        "url": url,
        "origin": h.get("Origin"),
        "referer": h.get("Referer"),
        "cookies": h.get("Cookie") is not None,
        "accept": h.get("Accept"),
        **{name: h.get(name) for name in _SEC_FETCH},
    }


def _requests(lab, *, tag: str, client: str) -> list[dict]:
    """The image requests a client made for one scenario, from the server log, in time order."""
    rows = []
    for entry in lab.log():
        if entry.client != client or tag not in entry.path or not entry.path.startswith("/img/"):
            continue
        rows.append({
            "url": lab[entry.server].origin + entry.path,
            "origin": entry.origin,
            "referer": entry.referer,
            "cookies": bool(entry.cookies),
            "accept": entry.accept,
            **{name: entry.sec_fetch.get(name) for name in _SEC_FETCH},
            "status": entry.status,
            "headers": list(entry.headers),
            "lab_cookies": dict(entry.cookies),
        })
    return rows


_SEC_FETCH = ("Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-Dest", "Sec-Fetch-Storage-Access")


def _model(built: BuiltScenario, *, lab, observed: list[dict]) -> tuple[Outcome, list[dict]]:
    """predict() over the responses Chromium received, and the requests it says are sent; a cache
    sequence replays them through the kernel browser's spec cache (the browser adds I/O only, so
    over a replay it *is* the model)."""
    s = built.scenario
    if s.before:
        return _replay(built, lab=lab, observed=observed)
    chain = [(r["url"], r["status"], r["headers"]) for r in observed]
    outcome = predict(page=built.page_url, top=built.top_url, chain=chain, crossorigin=s.crossorigin,
                      cookies=_cookie_hosts(built, lab), operation=s.operation,
                      decodes=_decodes(s, lab=lab, final=observed[-1]), body=_lab_answer(lab, observed[-1]).body)
    return outcome, [_sent(hop.url, hop.headers(cookie="sent")) for hop in outcome.requests]


def _cookie_hosts(built: BuiltScenario, lab) -> frozenset[str]:
    """The hosts the browser holds cookies for: the login's (cookies ignore ports), or none."""
    return frozenset({urlsplit(built.login_url).hostname}) if built.login_url else frozenset()


def _lab_answer(lab, logged: dict):
    """What the lab answered a logged request, body included, computed again (no socket, no log)."""
    parts = urlsplit(logged["url"])
    headers = [("Cookie", "; ".join(f"{k}={v}" for k, v in logged.get("lab_cookies", {}).items()))]
    headers = (headers if logged.get("lab_cookies") else []) + ([("Origin", logged["origin"])] if logged.get("origin") else [])
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return answer(LabRequest("GET", target, headers=tuple(headers)), lab_origins=lab.origin_names)


def _decodes(s: LabScenario, *, lab, final: dict) -> bool:
    """Whether the final response's body makes a loaded image, decided by the model from the bytes
    the lab sent (cors_lab.spec.images.image_loads: the format sniffed, the size known; no pixel
    decoded). A scenario that says it is broken must agree."""
    if final["status"] in REDIRECT_STATUSES:
        return True  # the fetch ended on a redirect (a network error): no body was ever an image
    body = _lab_answer(lab, final).body
    loads = image_loads(body, HeaderList(final["headers"]).get("Content-Type") or "")
    if s.broken is not None and s.broken == loads:
        raise ValueError(f"the scenario says broken={s.broken}, but the model finds its body "
                         f"{'loads' if loads else 'does not load'}")
    return loads


def _replay(built: BuiltScenario, *, lab, observed: list[dict]) -> tuple[Outcome, list[dict]]:
    s = built.scenario
    queue = list(observed)
    sent: list[dict] = []

    def transport(url, headers, timeout):
        if url == built.login_url:
            ans = _lab_answer(lab, {"url": url})
            return RawResponse(ans.status, tuple(ans.headers.items()), ans.body)
        if not queue:
            raise TransportError("no recorded response left (Chromium did not request this)")
        r = queue.pop(0)
        sent.append(_sent(url, headers))
        return RawResponse(r["status"], tuple(r["headers"]), _lab_answer(lab, r).body)

    b = Browser(built.page_url, top=built.top_url, transport=transport)
    if built.login_url:
        b.login(built.login_url)
    for co in s.before:
        b.load_image(built.url, crossorigin=co)
    outcome = b.load_image(built.url, crossorigin=s.crossorigin).outcome(s.operation).with_engine("model")
    return outcome, sent


def run(
    scenarios: list[LabScenario] | None = None,
    *,
    lab=None,
    harness=None,
    progress=None,
) -> list[Row]:
    """Run scenarios in the kernel browser and in Chromium on a lab, and the model over what Chromium got."""
    from .servers import Lab

    scenarios = matrix() if scenarios is None else scenarios
    own_lab = lab is None
    lab = lab or Lab()
    rows: list[Row] = []
    run_id = next(_RUNS)  # tags stay unique across runs on one lab, so log matching never mixes runs
    try:
        for i, s in enumerate(scenarios):
            row = Row(s)
            rows.append(row)
            ktag, ctag = f"k{run_id}x{i:04d}i", f"c{run_id}x{i:04d}i"
            # Kernel browser.
            built = s.build(lab, ktag)
            t0 = time.perf_counter()
            kb = Browser(built.page_url, top=built.top_url)
            if built.login_url:
                kb.login(built.login_url)
            for co in s.before:
                kb.load_image(built.url, crossorigin=co)
            row.kernel = kb.load_image(built.url, crossorigin=s.crossorigin).outcome(s.operation)
            row.kernel_ms = (time.perf_counter() - t0) * 1000
            row.kernel_requests = _requests(lab, tag=ktag, client="kernel")
            # Chromium.
            if harness is not None:
                built = s.build(lab, ctag)
                trials = [Trial(built.url, co, s.operation) for co in s.before] + [Trial(built.url, s.crossorigin, s.operation)]
                # The page, an opaque page's top, and a login visited first only when the scenario has one.
                where = {"page_url": built.page_url, **{k: v for k, v in (("top_url", built.top_url),
                                                                          ("login_url", built.login_url)) if v}}
                t0 = time.perf_counter()
                try:
                    if s.before:
                        row.chromium = harness.run_sequence(trials, **where)[-1]
                    else:
                        row.chromium = harness.run(trials, **where)[0]
                except Exception as err:  # a harness failure is reported per scenario, never hidden
                    row.error = f"Chromium run failed: {type(err).__name__}: {err}"
                row.chromium_ms = (time.perf_counter() - t0) * 1000
                row.chromium_requests = _requests(lab, tag=ctag, client="browser")
                observed, tag_built = row.chromium_requests, built
            else:
                observed, tag_built = row.kernel_requests, built
            # The model, over the responses the browser (or, without Chromium, the kernel) received.
            t0 = time.perf_counter()
            try:
                if observed:
                    row.model, row.model_requests = _model(tag_built, lab=lab, observed=observed)
            except Exception as err:
                row.error = row.error or f"model could not run: {type(err).__name__}: {err}"
            row.model_ms = (time.perf_counter() - t0) * 1000
            if row.model is None and not row.error:
                row.error = "no request reached the server, so there is no response for the model"
            if progress:
                progress(i + 1, len(scenarios), row)
    finally:
        if own_lab:
            lab.stop()
    return rows


def summary(rows: list[Row]) -> dict:
    """Counts and median timings (ms) per engine."""
    by_tag: dict[str, Counter] = {}
    for r in rows:
        for tag in r.scenario.tags or ("curated",):
            c = by_tag.setdefault(tag, Counter())
            c["total"] += 1
            c["agree"] += r.agrees
    def med(xs):
        xs = [x for x in xs if x]
        return statistics.median(xs) if xs else float("nan")
    return {
        "total": len(rows),
        "agree": sum(r.agrees for r in rows),
        "known": sum((not r.agrees) and r.known_deviation is not None for r in rows),
        "by_tag": by_tag,
        "model_ms": med([r.model_ms for r in rows]),
        "kernel_ms": med([r.kernel_ms for r in rows]),
        "chromium_ms": med([r.chromium_ms for r in rows]),
    }


def text_report(rows: list[Row]) -> str:
    s = summary(rows)
    engines = "model, kernel browser and Chromium; verdicts and requests" if any(r.chromium for r in rows) else \
        "model and kernel browser only: Chromium was not run"
    lines = [f"{s['agree']}/{s['total']} scenarios agree ({engines})"]
    if s["known"]:
        lines.append(f"{s['known']} disagreement(s) are known browser deviations (listed below)")
    lines.append("")
    lines.append(f"{'group':12} {'agree':>7} {'total':>7}")
    for tag, c in sorted(s["by_tag"].items()):
        lines.append(f"{tag:12} {c['agree']:>7} {c['total']:>7}")
    lines.append("")
    lines.append("median per scenario: model {:.3f} ms, kernel browser {:.2f} ms, Chromium {:.1f} ms".format(
        s["model_ms"], s["kernel_ms"], s["chromium_ms"]))
    if s["chromium_ms"] == s["chromium_ms"]:  # not NaN
        lines.append("ratios: Chromium / model = {:.0f}x, Chromium / kernel browser = {:.1f}x".format(
            s["chromium_ms"] / s["model_ms"], s["chromium_ms"] / s["kernel_ms"]))
    bad = [r for r in rows if not r.agrees]
    if bad:
        lines.append("")
        lines.append("disagreements:")
        for r in bad:
            lines.append(f"- {r.scenario.id}" + (f"  [known: {r.known_deviation}]" if r.known_deviation else ""))
            for d in r.problems:
                lines.append(f"    {d}")
    return "\n".join(lines)


def html_report(rows: list[Row]) -> str:
    s = summary(rows)

    def verdict(o: Outcome | None) -> str:
        return "—" if o is None else html.escape(f"{o.load} / {o.readback} / {o.exception}")

    body = [
        render.plain_row([f"<code>{html.escape(r.scenario.id)}</code>", verdict(r.model), verdict(r.kernel),
                          verdict(r.chromium),
                          html.escape("; ".join(r.problems)),
                          html.escape(r.scenario.source)], cls="ok" if r.agrees else "bad")
        for r in rows
    ]
    table = render.plain_table(("scenario", "model", "kernel", "Chromium", "differences", "source"), body)
    return render.report_page("cors-lab conformance", (
        f"<h1>cors-lab conformance</h1><p>{s['agree']}/{s['total']} scenarios agree. Median per scenario: "
        f"model {s['model_ms']:.3f} ms, kernel browser {s['kernel_ms']:.2f} ms, Chromium {s['chromium_ms']:.1f} ms.</p>"
        f"{table}"))
