"""Conformance: the same scenarios through the model, the kernel browser and real engines.

Owns running the scenario matrix on a lab for one engine or all three, matching each client's
requests in the server log, the canvas sequences per engine, and the agreement report (text and HTML,
the engines side by side). It decides nothing itself: the model is `predict` for the engine's profile
over the responses that engine really received (for cache sequences: the kernel browser's spec cache
replaying them), the kernel browser is `cors_lab.browser` browsing as that profile, the engines are
`cors_lab.engines`. For every scenario the model profile must equal the engine on the verdict, on
every request header the servers saw (Origin, cookies, Referer, Sec-Fetch-*, Accept: the kernel's
requests and the model's own predicted ones) and on the exception's message.
"""

from __future__ import annotations

import html
import itertools
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from . import render, sequences
from .browser import Browser, RawResponse, TransportError
from .errors import UsageError
from .outcome import Outcome
from .predict import predict
from .scenarios import BuiltScenario, LabScenario, matrix
from .servers.log import Request as LabRequest
from .servers.responses import answer
from .spec.fetch import REDIRECT_STATUSES, secure_for_cookies
from .spec.headers import HeaderList
from .spec.images import image_loads
from .spec.profiles import DEFAULT_PROFILE, PROFILES, Profile, get_profile
from .trial import Trial

# Known, documented disagreements between an engine and its model profile: (engine, scenario id
# prefix) -> explanation with a bug or spec link. Empty means none is known; a test keeps every
# disagreement listed here.
KNOWN_DEVIATIONS: dict[tuple[str, str], str] = {}

_RUNS = itertools.count(1)
# Every request header the lab's log keeps for an image request, compared between engines.
REQUEST_FIELDS = ("origin", "cookies", "referer", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-Dest",
                  "Sec-Fetch-Storage-Access", "accept")
_SEC_FETCH = ("Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-Dest", "Sec-Fetch-Storage-Access")


PAGE_URL = "(the page's URL)"  # a Referer that is the whole page URL (each client's page has its own nonce)
TOP_URL = "(the top page's URL)"  # ... the whole URL of the page around an opaque page's frame


def _referer(referer: str | None, built: BuiltScenario) -> str | None:
    if referer is not None and referer == built.page_url:
        return PAGE_URL
    return TOP_URL if referer is not None and referer == built.top_url else referer


def _as_dict(hop, built: BuiltScenario) -> dict:
    """A model HopRequest as the fields the log records."""
    return {"url": hop.url, "origin": hop.origin, "cookies": hop.cookies, "referer": _referer(hop.referer, built),
            "Sec-Fetch-Mode": hop.sec_fetch_mode, "Sec-Fetch-Site": hop.sec_fetch_site,
            "Sec-Fetch-Dest": hop.sec_fetch_dest, "Sec-Fetch-Storage-Access": hop.sec_fetch_storage_access,
            "accept": hop.accept}


def _compare_requests(ours: list[dict], theirs: list[dict], *, who: str, engine: str) -> list[str]:
    if len(ours) != len(theirs):
        return [f"{who} made {len(ours)} image request(s), {engine} {len(theirs)}"]
    out = []
    for i, (a, b) in enumerate(zip(ours, theirs), 1):
        for name in REQUEST_FIELDS:
            if a.get(name) != b.get(name):
                out.append(f"request {i} {name}: {who} {a.get(name)!r}, {engine} {b.get(name)!r}")
    return out


@dataclass
class Row:
    """One scenario's result in the model and the kernel browser (both as ``profile``) and one engine."""

    scenario: LabScenario
    engine: str = ""  # the real engine's name; "" when only the model and the kernel browser ran
    profile: str = DEFAULT_PROFILE  # the profile the model and the kernel browser predicted for
    site: str = ""  # the lab's site origin: the page's (or, for an opaque page, the page around it)
    model: Outcome | None = None
    kernel: Outcome | None = None
    real: Outcome | None = None  # what the real engine did
    spec: Outcome | None = None  # the standards' letter over the same responses (for the report)
    model_requests: list[dict] = field(default_factory=list)
    kernel_requests: list[dict] = field(default_factory=list)
    real_requests: list[dict] = field(default_factory=list)
    spec_requests: list[dict] = field(default_factory=list)
    model_ms: float = 0.0
    kernel_ms: float = 0.0
    real_ms: float = 0.0
    error: str = ""
    built: BuiltScenario | None = None  # the scenario as the model saw it (the engine's, else the kernel's)
    lab: Any = field(default=None, repr=False, compare=False)  # whose answers the model replays (bodies)

    @property
    def verdict_differences(self) -> list[str]:
        if self.real is None:  # no engine ran: the model and the kernel browser must agree
            return self.model.differences(self.kernel) if self.model and self.kernel else []
        out = []
        if self.model:
            out += self.model.differences(self.real)
        if self.kernel:
            out += self.kernel.differences(self.real)
        return out

    @property
    def request_differences(self) -> list[str]:
        if self.real is None:
            return _compare_requests(self.model_requests, self.kernel_requests, who="model", engine="kernel") \
                if self.model and self.kernel and not self.scenario.before else []
        return (_compare_requests(self.kernel_requests, self.real_requests, who="kernel", engine=self.engine)
                + _compare_requests(self.model_requests, self.real_requests, who="model", engine=self.engine))

    @property
    def message_differences(self) -> list[str]:
        """The model's exception message, GL error and console line against the engine's."""
        m, r = self.model, self.real
        if m is None or r is None:
            return []
        out = []
        if m.exception and m.exception == r.exception and m.message != r.message:
            out.append(f"message: model {m.message!r}, {self.engine} {r.message!r}")
        if m.operation == "texImage2D" and r.extra.get("gl_error") is not None and \
                m.extra.get("gl_error") != r.extra.get("gl_error"):
            out.append(f"gl.getError(): model {m.extra.get('gl_error')!r}, {self.engine} {r.extra.get('gl_error')!r}")
        if m.console and PROFILES[self.profile].console_captured and m.console not in r.console:
            out.append(f"console: model {m.console!r} is not in {self.engine}'s {r.console!r}")
        return out

    @property
    def problems(self) -> list[str]:
        """Everything wrong with this row: the run's error, then each verdict, request and message difference."""
        return ([self.error] if self.error else []) + self.verdict_differences + self.request_differences \
            + self.message_differences

    @property
    def agrees(self) -> bool:
        return not self.problems

    @property
    def known_deviation(self) -> str | None:
        for (engine, prefix), why in KNOWN_DEVIATIONS.items():
            if engine == self.engine and self.scenario.id.startswith(prefix):
                return why
        return None


def _requests(lab, *, tag: str, client: str, built: BuiltScenario) -> list[dict]:
    """The image requests a client made for one scenario, from the server log, in time order."""
    rows = []
    for entry in lab.log():
        if entry.client != client or tag not in entry.path or not entry.path.startswith("/img/"):
            continue
        rows.append({
            "url": lab[entry.server].origin + entry.path,
            "origin": entry.origin,
            "cookies": bool(entry.cookies),
            "referer": _referer(entry.referer, built),
            "accept": entry.accept,
            **{name: entry.sec_fetch.get(name) for name in _SEC_FETCH},
            "status": entry.status,
            "headers": list(entry.headers),
            "lab_cookies": dict(entry.cookies),
        })
    return rows


def _model(built: BuiltScenario, *, lab, page: str, observed: list[dict], profile: str | Profile) -> tuple[Outcome, list[dict]]:
    """predict() for ``profile`` over the responses an engine received, and the requests it predicts; a
    cache sequence replays them through the kernel browser's spec cache (the browser adds I/O only, so
    over a replay it *is* the model)."""
    s = built.scenario
    if s.before:
        return _replay(built, lab=lab, page=page, observed=observed, profile=profile)
    chain = [(r["url"], r["status"], r["headers"]) for r in observed]
    out = predict(page=page, chain=chain, crossorigin=s.crossorigin, cookies=_cookie_hosts(built, profile),
                  operation=s.operation, decodes=_decodes(s, lab=lab, final=observed[-1], profile=profile), engine=profile,
                  container=built.top_url, body=lab_answer(lab, observed[-1]).body, cookie_samesite=s.samesite)
    return out, [_as_dict(h, built) for h in out.requests]


def _cookie_hosts(built: BuiltScenario, profile: str | Profile) -> frozenset[str]:
    """The hosts the browser holds cookies for: the login's (cookies ignore ports), or none; the lab's
    login sends ``Secure`` with ``SameSite=None``, which the engine may not keep from http."""
    if not built.login_url:
        return frozenset()
    if built.scenario.samesite == "None" and not secure_for_cookies(built.login_url, profile=profile):
        return frozenset()
    return frozenset({urlsplit(built.login_url).hostname})


def lab_answer(lab, logged: dict):
    """What the lab answered a logged request, body included, computed again (no socket, no log)."""
    parts = urlsplit(logged["url"])
    headers = [("Cookie", "; ".join(f"{k}={v}" for k, v in logged.get("lab_cookies", {}).items()))]
    headers = (headers if logged.get("lab_cookies") else []) + ([("Origin", logged["origin"])] if logged.get("origin") else [])
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return answer(LabRequest("GET", target, headers=tuple(headers)), lab_origins=lab.origin_names)


def _decodes(s: LabScenario, *, lab, final: dict, profile: str | Profile) -> bool:
    """Whether the final response's body makes a loaded image for ``profile``, decided by the model
    from the bytes the lab sent (cors_lab.spec.images.image_loads: the format sniffed, the size
    known; no pixel decoded). A scenario that says it is broken must agree for Chromium's profile
    (the authors' expectations were measured there; other engines decode some bodies otherwise)."""
    if final["status"] in REDIRECT_STATUSES:
        return True  # the fetch ended on a redirect (a network error): no body was ever an image
    body = lab_answer(lab, final).body
    loads = image_loads(body, HeaderList(final["headers"]).get("Content-Type") or "", profile=profile)
    if s.broken is not None and s.broken == loads and get_profile(profile).name == DEFAULT_PROFILE:
        raise ValueError(f"the scenario says broken={s.broken}, but the model finds its body "
                         f"{'loads' if loads else 'does not load'}")
    return loads


def _replay(built: BuiltScenario, *, lab, page: str, observed: list[dict], profile: str | Profile) -> tuple[Outcome, list[dict]]:
    s = built.scenario
    queue = list(observed)

    def transport(url, headers, timeout):
        if url == built.login_url:
            ans = lab_answer(lab, {"url": url})
            return RawResponse(ans.status, tuple(ans.headers.items()), ans.body)
        if not queue:
            raise TransportError("no recorded response left (the engine did not request this)")
        r = queue.pop(0)
        return RawResponse(r["status"], tuple(r["headers"]), lab_answer(lab, r).body)

    b = Browser(page, transport=transport, engine=profile, container=built.top_url)
    if built.login_url:
        b.login(built.login_url)
    loads = []
    for co in (*s.before, s.crossorigin):
        if loads and _new_document_per_trial(built):
            b.new_page()
        loads.append(b.load_image(built.url, crossorigin=co))
    sent = [_as_dict(h.request, built) for load in loads for h in load.hops if not h.from_cache]
    return loads[-1].outcome(s.operation).with_engine("model"), sent


def _new_document_per_trial(built: BuiltScenario) -> bool:
    """Whether the engine runs each of a scenario's trials in a new document (so a new list of
    available images): an opaque page is a new sandboxed frame each time, and a page after a login is
    navigated to for every trial (`ScenarioRunner.run` with ``navigate``)."""
    return built.page_url == "null" or built.login_url is not None


def _page(built: BuiltScenario) -> str:
    return "null" if built.page_url == "null" else built.page_url


def run(
    scenarios: list[LabScenario] | None = None,
    *,
    lab=None,
    engine=None,
    profile: str | None = None,
    harness=None,
    progress: Callable[[int, int, Row], None] | None = None,
) -> list[Row]:
    """Run scenarios in the kernel browser and in ``engine`` (a started cors_lab.engines Engine, or
    None: model and kernel browser only) on a lab, and the model over what the engine received.

    The model and the kernel browser predict for ``profile`` (default: the engine's own, else
    Chromium's). The engine runs every scenario in one reused context (`Engine.runner`): its URLs are
    its own, cookies are deleted between scenarios. ``harness`` is the older name of ``engine``.
    """
    from .servers import Lab

    engine = engine if engine is not None else harness
    profile = profile or (engine.name if engine is not None else DEFAULT_PROFILE)
    scenarios = matrix() if scenarios is None else scenarios
    own_lab = lab is None
    lab = lab or Lab()
    rows: list[Row] = []
    run_id = next(_RUNS)  # tags stay unique across runs on one lab, so log matching never mixes runs
    try:
        with engine.runner() if engine is not None else nullcontext() as runner:
            for i, s in enumerate(scenarios):
                rows.append(_run_one(s, lab=lab, runner=runner, engine=engine, profile=profile,
                                     tags=(f"k{run_id}x{i:04d}i", f"e{run_id}x{i:04d}i")))
                if progress:
                    progress(i + 1, len(scenarios), rows[-1])
    finally:
        if own_lab:
            lab.stop()
    return rows


def _run_one(s: LabScenario, *, lab, runner, engine, profile: str, tags: tuple[str, str]) -> Row:
    row = Row(s, engine=engine.name if engine is not None else "", profile=profile, site=lab.site.origin, lab=lab)
    ktag, etag = tags
    # The kernel browser, browsing as the profile.
    built = s.build(lab, ktag)
    t0 = time.perf_counter()
    kb = Browser(_page(built), engine=profile, container=built.top_url)
    if built.login_url:
        kb.login(built.login_url)
    for co in s.before:
        kb.load_image(built.url, crossorigin=co)
        if _new_document_per_trial(built):
            kb.new_page()
    row.kernel = kb.load_image(built.url, crossorigin=s.crossorigin).outcome(s.operation)
    row.kernel_ms = (time.perf_counter() - t0) * 1000
    row.kernel_requests = _requests(lab, tag=ktag, client="kernel", built=built)
    observed, chosen = row.kernel_requests, built
    # The engine.
    if runner is not None:
        built = s.build(lab, etag)
        trials = [Trial(built.url, co, s.operation) for co in s.before] + [Trial(built.url, s.crossorigin, s.operation)]
        t0 = time.perf_counter()
        try:
            # The page is only an origin and a URL (the Referer's source), except a login page, whose
            # loading sets the cookie: that one is visited first (or is the page itself).
            login = built.login_url if built.login_url and built.login_url != built.page_url else None
            row.real = runner.run(trials, page_url=built.page_url, top_url=built.top_url,
                                  navigate=built.login_url is not None, login_url=login)[-1]
        except Exception as err:  # an engine failure is reported per scenario, never hidden
            row.error = f"{engine.name} run failed: {type(err).__name__}: {err}"
        row.real_ms = (time.perf_counter() - t0) * 1000
        row.real_requests = _requests(lab, tag=etag, client="browser", built=built)
        observed, chosen = row.real_requests, built
    # The model (and the standards' letter), over the responses the engine (or the kernel) received.
    t0 = time.perf_counter()
    try:
        if observed:
            row.model, row.model_requests = _model(chosen, lab=lab, page=_page(chosen), observed=observed, profile=profile)
    except Exception as err:
        row.error = row.error or f"model could not run: {type(err).__name__}: {err}"
    row.model_ms = (time.perf_counter() - t0) * 1000
    if observed and row.model is not None:
        row.built = chosen
        try:
            row.spec, row.spec_requests = _model(chosen, lab=lab, page=_page(chosen), observed=observed, profile="spec")
        except (UsageError, TransportError):
            pass  # the standard goes on where the engine stopped (a deviation): no responses to replay
    if row.model is None and not row.error:
        row.error = "no request reached the server, so there is no response for the model"
    return row


def deviations_shown(row: Row) -> list[str]:
    """The deviations of ``row``'s profile this scenario shows: each one without which the model, over the
    same responses, would predict another verdict or other requests (Origin, cookies, Referer, Sec-Fetch-*)."""
    if row.built is None or row.model is None:
        return []
    profile = get_profile(row.profile)
    observed = row.real_requests if row.real is not None else row.kernel_requests
    page = _page(row.built)
    shown = []
    for d in profile.deviations:
        without = replace(profile, deviations=tuple(x for x in profile.deviations if x is not d))
        try:
            out, reqs = _model(row.built, lab=row.lab, page=page, observed=observed, profile=without)
        except (UsageError, TransportError):
            shown.append(d.name)  # without it the model goes on where the engine stopped
            continue
        if _verdict(out) != _verdict(row.model) or _requests_text(reqs) != _requests_text(row.model_requests):
            shown.append(d.name)
    return shown


# --- Several engines ----------------------------------------------------------------------------------


@dataclass
class EngineRun:
    """One engine's whole run: its rows, its canvas sequences, what it was and how long it took."""

    engine: str
    rows: list[Row] = field(default_factory=list)
    sequences: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (model, engine)
    version: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    startup_ms: float = 0.0
    wall_s: float = 0.0
    skipped: str = ""  # why the engine could not run (with its install command)
    error: str = ""

    @property
    def sequence_differences(self) -> list[str]:
        return [f"sequence {name}: model {m!r}, {self.engine} {r!r}" for name, (m, r) in self.sequences.items() if m != r]

    @property
    def agrees(self) -> bool:
        return not self.skipped and not self.error and not self.sequence_differences and \
            all(r.agrees or r.known_deviation for r in self.rows)


def run_engine(name: str, scenarios: list[LabScenario] | None = None, *, lab=None, with_sequences: bool = True,
               progress: Callable[[str, int, int, Row], None] | None = None) -> EngineRun:
    """Start engine ``name``, run the scenarios (and the canvas sequences) in it, stop it."""
    from .engines import engine_class, unavailable_reason
    from .servers import Lab

    out = EngineRun(name)
    reason = unavailable_reason(name)
    if reason:
        out.skipped = reason
        return out
    t0 = time.perf_counter()
    own_lab = lab is None
    lab = lab or Lab()
    try:
        with engine_class(name)() as engine:
            out.version, out.startup_ms = engine.version or "?", engine.startup_ms or 0.0
            out.settings = engine.settings.as_dict()
            each = (lambda i, n, row: progress(name, i, n, row)) if progress else None
            out.rows = run(scenarios, lab=lab, engine=engine, progress=each)
            if with_sequences:
                measured = sequences.run_in_engine(engine, lab)
                out.sequences = {seq: (sequences.model(seq, profile=name), measured.get(seq, "missing"))
                                 for seq in sequences.SEQUENCES}
    except Exception as err:  # reported with the engine, never hidden
        out.error = f"{type(err).__name__}: {err}"
    finally:
        if own_lab:
            lab.stop()
    out.wall_s = time.perf_counter() - t0
    return out


def run_engines(names: Iterable[str], scenarios: list[LabScenario] | None = None, *, lab=None,
                parallel: bool = True, with_sequences: bool = True,
                progress: Callable[[str, int, int, Row], None] | None = None) -> dict[str, EngineRun]:
    """`run_engine` for each name, side by side in threads on one lab (``parallel``) or one after another."""
    from .servers import Lab

    names = list(names)
    scenarios = matrix() if scenarios is None else scenarios
    own_lab = lab is None
    lab = lab or Lab()
    runs: dict[str, EngineRun] = {}

    def one(name: str) -> None:
        runs[name] = run_engine(name, scenarios, lab=lab, with_sequences=with_sequences, progress=progress)

    try:
        if parallel and len(names) > 1:
            threads = [threading.Thread(target=one, args=(n,), name=f"cors-lab-{n}") for n in names]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        else:
            for n in names:
                one(n)
    finally:
        if own_lab:
            lab.stop()
    return {n: runs[n] for n in names}


# --- Reports ----------------------------------------------------------------------------------------------


def summary(rows: list[Row]) -> dict:
    """Counts (all, verdicts, requests, messages) and median timings (ms)."""
    by_tag: dict[str, Counter] = {}
    for r in rows:
        for tag in r.scenario.tags or ("curated",):
            c = by_tag.setdefault(tag, Counter())
            c["total"] += 1
            c["agree"] += r.agrees

    def med(xs):
        xs = [x for x in xs if x]
        return statistics.median(xs) if xs else float("nan")

    ok = [r for r in rows if not r.error]
    return {
        "total": len(rows),
        "agree": sum(r.agrees for r in rows),
        "verdicts": sum(not r.verdict_differences for r in ok),
        "requests": sum(not r.request_differences for r in ok),
        "messages": sum(not r.message_differences for r in ok),
        "known": sum((not r.agrees) and r.known_deviation is not None for r in rows),
        "by_tag": by_tag,
        "model_ms": med([r.model_ms for r in rows]),
        "kernel_ms": med([r.kernel_ms for r in rows]),
        "real_ms": med([r.real_ms for r in rows]),
    }


def text_report(rows: list[Row]) -> str:
    s = summary(rows)
    engine = next((r.engine for r in rows if r.engine), "")
    profile = rows[0].profile if rows else DEFAULT_PROFILE
    what = (f"model and kernel browser (profile {profile}) vs {engine}; verdicts, requests and messages" if engine
            else f"model and kernel browser only (profile {profile}): no engine was run")
    lines = [f"{s['agree']}/{s['total']} scenarios agree ({what})",
             f"verdicts {s['verdicts']}/{s['total']}, requests {s['requests']}/{s['total']}, "
             f"messages {s['messages']}/{s['total']}"]
    if s["known"]:
        lines.append(f"{s['known']} disagreement(s) are known browser deviations (listed below)")
    lines.append("")
    lines.append(f"{'group':12} {'agree':>7} {'total':>7}")
    for tag, c in sorted(s["by_tag"].items()):
        lines.append(f"{tag:12} {c['agree']:>7} {c['total']:>7}")
    lines.append("")
    label = engine or "engine"
    lines.append("median per scenario: model {:.3f} ms, kernel browser {:.2f} ms, {} {:.1f} ms".format(
        s["model_ms"], s["kernel_ms"], label, s["real_ms"]))
    if s["real_ms"] == s["real_ms"]:  # not NaN
        lines.append("ratios: {0} / model = {1:.0f}x, {0} / kernel browser = {2:.1f}x".format(
            label, s["real_ms"] / s["model_ms"], s["real_ms"] / s["kernel_ms"]))
    bad = [r for r in rows if not r.agrees]
    if bad:
        lines.append("")
        lines.append("disagreements:")
        for r in bad:
            lines.append(f"- {r.scenario.id}" + (f"  [known: {r.known_deviation}]" if r.known_deviation else ""))
            for d in r.problems:
                lines.append(f"    {d}")
    return "\n".join(lines)


def engines_text_report(runs: Mapping[str, EngineRun]) -> str:
    """Every engine's run: its version, counts, canvas sequences and disagreements."""
    parts = []
    for name, er in runs.items():
        if er.skipped:
            parts.append(f"== {name}: skipped: {er.skipped}")
            continue
        head = f"== {name} {er.version}: start-up {er.startup_ms:.0f} ms, wall time {er.wall_s:.1f} s"
        if er.error:
            parts.append(f"{head}\n   failed: {er.error}")
            continue
        seq = f"canvas sequences {sum(m == r for m, r in er.sequences.values())}/{len(er.sequences)} agree"
        parts.append("\n".join([head, text_report(er.rows), seq, *er.sequence_differences]))
    return "\n\n".join(parts)


def _verdict(o: Outcome | None) -> str:
    return "—" if o is None else f"{o.load} / {o.readback} / {o.exception}"


def _requests_text(reqs: list[dict]) -> str:
    return "; ".join(" ".join(f"{k}={r.get(k)}" for k in ("origin", "cookies", "referer", "Sec-Fetch-Site",
                                                          "Sec-Fetch-Mode", "Sec-Fetch-Dest"))
                     for r in reqs)


def html_report(rows_or_runs: list[Row] | Mapping[str, EngineRun]) -> str:
    """The report as a stand-alone page: one engine's rows, or several engines side by side with the
    standards' letter, cells marked where an engine differs from another engine ("differs") or from the
    standard ("not the standard"), and rows marked where an engine disagrees with its model profile."""
    runs = rows_or_runs if isinstance(rows_or_runs, Mapping) else \
        {next((r.engine for r in rows_or_runs if r.engine), "model") or "model": EngineRun("engine", rows=list(rows_or_runs))}
    present = {n: er for n, er in runs.items() if er.rows}
    by_id: dict[str, dict[str, Row]] = {}
    order: list[LabScenario] = []
    for name, er in present.items():
        for r in er.rows:
            if r.scenario.id not in by_id:
                by_id[r.scenario.id] = {}
                order.append(r.scenario)
            by_id[r.scenario.id][name] = r
    body = []
    shown: dict[tuple[str, str], list[str]] = {}  # (engine, deviation) -> the scenarios that show it
    for s in order:
        cells = by_id[s.id]
        first = next(iter(cells.values()))
        spec = _verdict(first.spec)
        spec_reqs = _requests_text(first.spec_requests)
        seen = {n: (_verdict(r.real or r.kernel), _requests_text(r.real_requests or r.kernel_requests))
                for n, r in cells.items()}
        differ = len(set(seen.values())) > 1
        row = [f"<code>{html.escape(s.id)}</code>", html.escape(spec)]
        for name in present:
            r = cells.get(name)
            if r is None:
                row.append("—")
                continue
            verdict, reqs = seen[name]
            off = (verdict, reqs) != (spec, spec_reqs)
            marks = (["differs"] if differ else []) + (["not the standard"] if off else [])
            why = deviations_shown(r) if off else []
            for d in why:
                shown.setdefault((name, d), []).append(s.id)
            problems = "; ".join(r.problems)
            title = f"requests: {reqs}" + (f" | model disagrees: {problems}" if problems else "")
            style = "background:#fdecea" if problems else "background:#fff4d6" if "differs" in marks else \
                "background:#eef3ff" if marks else ""
            tail = f"<br><small>{html.escape(', '.join(marks))}</small>" if marks else ""
            tail += "".join(f"<br><small><a href='#{name}-{d}'>{d}</a></small>" for d in why)
            row.append(f"<span title='{html.escape(title)}'>{html.escape(verdict)}</span>{tail}")
            row[-1] = f"{row[-1]}" if not style else f"<div style='{style}'>{row[-1]}</div>"
        row.append(html.escape(s.source))
        body.append(render.plain_row(row, cls="ok" if all(c.agrees for c in cells.values()) else "bad"))
    headers = ["scenario", "standard (spec profile)"] + [f"{n} {present[n].version}".strip() for n in present] + ["source"]
    table = render.plain_table(headers, body)
    lines = []
    for name, er in runs.items():
        if er.skipped or er.error:
            what = f"skipped: {er.skipped}" if er.skipped else f"failed: {er.error}"
            lines.append(f"<li>{html.escape(name)}: {html.escape(what)}</li>")
            continue
        s = summary(er.rows)
        seq = f", canvas sequences {sum(m == r for m, r in er.sequences.values())}/{len(er.sequences)}" if er.sequences else ""
        st = er.settings
        ran = (f"<br><small>ran with: {html.escape(str(st.get('profile', '')))} profile; third-party cookies "
               f"{html.escape(str(st.get('third_party_cookies', '')))}; storage partitioning "
               f"{html.escape(str(st.get('storage_partitioning', '')))}; isolation "
               f"{html.escape(str(st.get('isolation', '')))}</small>") if st else ""
        lines.append(f"<li><b>{html.escape(name)} {html.escape(er.version)}</b>: {s['agree']}/{s['total']} agree "
                     f"(verdicts {s['verdicts']}, requests {s['requests']}, messages {s['messages']}){seq}; "
                     f"median {s['real_ms']:.0f} ms a scenario{ran}</li>")
    legend = ("<p>Each cell: load / readback / exception in that engine (hover for its requests). "
              "<span style='background:#fff4d6'>differs</span>: the engines do not all agree here; "
              "<span style='background:#eef3ff'>not the standard</span>: this engine departs from the spec "
              "profile (verdict or requests); <span style='background:#fdecea'>red</span>: the engine's own "
              "model profile disagrees with it (hover for why).</p>")
    seq_rows = []
    for seq in sequences.SEQUENCES:
        spec = sequences.model(seq, profile="spec")
        got = {n: er.sequences.get(seq, ("", "—"))[1] for n, er in present.items()}
        marks = {n: (" (differs)" if len(set(got.values())) > 1 else "") + (" (not the standard)" if v != spec else "")
                 for n, v in got.items()}
        seq_rows.append(render.plain_row([f"<code>{seq}</code>", html.escape(spec)] +
                                         [html.escape(got[n] + marks[n]) for n in present]))
    seq_table = render.plain_table(["canvas sequence", "standard"] + list(present), seq_rows) if present else ""
    return render.report_page("cors-lab conformance", (
        f"<h1>cors-lab conformance</h1><ul>{''.join(lines)}</ul>{legend}{table}<h2>Canvas sequences</h2>{seq_table}"
        f"{_deviations_html(present, shown)}"))


def _deviations_html(present: Mapping[str, EngineRun], shown: Mapping[tuple[str, str], list[str]]) -> str:
    """Each engine's named deviations from the standard (its model profile's), with their links and the
    scenarios above that show them."""
    parts = []
    for name in present:
        if name not in PROFILES:
            continue
        rows = []
        for d in PROFILES[name].deviations:
            ids = shown.get((name, d.name), [])
            links = " ".join(f"<a href='{html.escape(u)}'>{html.escape(u.rsplit('/', 1)[-1] or u)}</a>" for u in d.links)
            where = f"{len(ids)} scenario(s), e.g. <code>{html.escape(ids[0])}</code>" if ids else \
                f"pinned by <code>{html.escape(d.pinned_by)}</code>" if d.pinned_by else ""
            rows.append(f"<tr id='{name}-{d.name}'><td><b>{d.name}</b><br><small>{d.kind}</small></td>"
                        f"<td>{html.escape(d.what)}</td><td>{html.escape(d.standard)}</td><td>{links}</td><td>{where}</td></tr>")
        parts.append(f"<h3>{html.escape(name)} {html.escape(present[name].version)}</h3>"
                     + render.plain_table(["deviation", "what the engine does", "what the standard says", "backed by",
                                           "shown by"], rows))
    return "<h2>Each engine's deviations from the standard</h2>" + "".join(parts) if parts else ""
