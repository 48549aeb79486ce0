"""Measure Firefox ESR and WebKitGTK (and Chromium, for reference) against the model, over the lab.

Runs the whole scenario matrix (``cors_lab.scenarios.matrix()``) through each engine with
``cors_lab.conformance.run`` (which also runs the kernel browser and the model over the responses the
engine really received), then the canvas sequences of ``tests/test_canvas_sequences.py``, and writes
every verdict, message, console line, request header the lab servers saw and timing as JSON.
It decides nothing: the JSON is read by a person (and, later, by the engine model profiles).

    PYTHONPATH=$PWD python tools/measure_engines.py [--engines chromium,firefox,webkit]
        [--only TEXT] [--limit N] [--out /work/scratch/engines] [--isolation-costs N]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from cors_lab import conformance
from cors_lab.engines import engine_class, unavailable_reason
from cors_lab.engines.base import EngineError
from cors_lab.harness import (
    LAUNCH_ARGS,
    ChromiumHarness,
    Scenario,
    browser_unavailable_reason,
    find_chromium,
)
from cors_lab.scenarios import matrix
from cors_lab.servers import Lab

ROOT = Path(__file__).resolve().parents[1]
SEQUENCES = ROOT / "tests" / "test_canvas_sequences.py"


def _load_sequences():
    """The canvas sequences (CASES, HARNESS) exactly as the Chromium test runs them."""
    spec = importlib.util.spec_from_file_location("canvas_sequences", SEQUENCES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _verdict(o) -> dict[str, Any] | None:
    if o is None:
        return None
    return {"load": o.load, "readback": o.readback, "exception": o.exception, "message": o.message,
            "page": o.page, "console": o.console or None, "probe_message": o.extra.get("probe_message"),
            "gl_error": o.extra.get("gl_error"), "timed_out": o.extra.get("timed_out")}


def _referer_class(referer: str | None, lab: Lab, page_url: str | None) -> str:
    """How much of the page URL the Referer carried: absent, the origin, or the full page URL."""
    if referer is None:
        return "absent"
    if page_url and page_url != "null" and referer == page_url:
        return "page-url"
    if referer == lab.site.origin + "/":
        return "site-origin"
    return "other: " + referer


def _with_referers(requests: list[dict], lab: Lab, by_url: dict[str, Any], page_url: str | None) -> list[dict]:
    out = []
    for r in requests:
        entry = by_url.get(r["url"])
        referer = entry.referer if entry is not None else None
        out.append({k: v for k, v in r.items() if k != "headers"} | {
            "referer": _referer_class(referer, lab, page_url), "referer_raw": referer,
            "acao_sent": dict(r["headers"]).get("Access-Control-Allow-Origin")})
    return out


def _log_index(lab: Lab) -> dict[str, Any]:
    return {lab[e.server].origin + e.path: e for e in lab.log() if e.client == "browser"}


def run_matrix(name: str, scenarios, lab: Lab) -> dict[str, Any]:
    """One engine over the matrix; per-scenario records and the engine's facts."""
    if name == "chromium":
        reason = browser_unavailable_reason()
        engine = None if reason else ChromiumHarness()
    else:
        reason = unavailable_reason(name)
        engine = None if reason else engine_class(name)()
    if engine is None:
        return {"engine": name, "skipped": reason}
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    done = []

    def progress(i: int, total: int, row) -> None:
        done.append(row)
        if i % 25 == 0 or i == total:
            print(f"  {name}: {i}/{total}  {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)

    with engine:
        started = time.perf_counter()
        rows = conformance.run(scenarios, lab=lab, harness=engine, progress=progress)
        facts = {"engine": name, "version": engine.version, "startup_ms": engine.startup_ms,
                 "settings": engine.settings.as_dict() if hasattr(engine, "settings") else {
                     "launch_args": list(engine.launch_args), "third_party_cookies": engine.third_party_cookies},
                 "matrix_wall_s": time.perf_counter() - started}
        if name == "webkit":
            facts["session_ms"] = engine.session_ms
    facts["load_average"] = {"before": load_before, "after": os.getloadavg()}
    facts["total_wall_s"] = time.perf_counter() - t0
    by_url = _log_index(lab)
    records = []
    for row in rows:
        s = row.scenario
        page_url = row.real.extra.get("page_url") if row.real else None
        timing = row.real.extra.get("timing", {}) if row.real else {}
        records.append({
            "id": s.id, "tags": list(s.tags), "source": s.source, "page": s.page,
            "engine": _verdict(row.real), "model": _verdict(row.model), "kernel": _verdict(row.kernel),
            "verdict_differences": row.verdict_differences, "request_differences": row.request_differences,
            "error": row.error,
            "engine_requests": _with_referers(row.real_requests, lab, by_url, page_url),
            "kernel_requests": [{k: v for k, v in r.items() if k != "headers"} for r in row.kernel_requests],
            "engine_ms": row.real_ms, "model_ms": row.model_ms, "kernel_ms": row.kernel_ms,
            "timing": timing,
        })
    facts["rows"] = records
    facts["median_ms"] = statistics.median([r["engine_ms"] for r in records]) if records else None
    facts["agree"] = sum(1 for r in rows if r.agrees)
    facts["total"] = len(rows)
    return facts


def run_sequences(names: list[str], lab: Lab) -> dict[str, Any]:
    """Each canvas sequence in the model and in each engine: the final readback's DOMException name."""
    module = _load_sequences()
    x, s = lab.cdn.url("picture.png", nonce="seq-x"), lab.site.url("picture.png", nonce="seq-s")
    page_url = lab.site.url("picture.png", nonce="seq-page")
    out: dict[str, Any] = {name: {"model": steps()} for name, (steps, _) in module.CASES.items()}
    for engine_name in names:
        if engine_name == "chromium":
            if browser_unavailable_reason():
                continue
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=find_chromium(), args=list(LAUNCH_ARGS))
                page = browser.new_context().new_page()
                page.goto(page_url)
                for case, (_, js) in module.CASES.items():
                    try:
                        out[case]["chromium"] = page.evaluate(module.HARNESS, [x, s, js])
                    except Exception as e:  # recorded, not hidden: an engine without the API
                        out[case]["chromium"] = f"error: {e}"
                browser.close()
            continue
        if unavailable_reason(engine_name):
            continue
        with engine_class(engine_name)() as engine, engine.context() as ctx:
            ctx.open(page_url)
            for case, (_, js) in module.CASES.items():
                try:
                    out[case][engine_name] = ctx.evaluate(module.HARNESS, [x, s, js])
                except EngineError as e:
                    out[case][engine_name] = f"error: {e}"
    return out


THIRD_PARTY_JS = Path(__file__).with_name("third_party.js")


def _cookies_seen(lab: Lab, tag: str) -> list[dict[str, str]]:
    return [dict(e.cookies) for e in lab.log() if tag in e.path]


def _third_party_probe(new_context, lab: Lab, run: str) -> dict[str, Any]:
    """Third-party cookies and storage in one engine; ``new_context()`` -> (goto, call, close)."""
    site_page = lab.site.url("picture.png", nonce=f"{run}-page")
    out: dict[str, Any] = {}
    for samesite in ("None", "Lax"):
        # A: a cross-site image response sets the cookie (a third-party Set-Cookie), then the same
        # third party is loaded again, then visited first-party.
        tag = f"{run}-A{samesite}"
        goto, call, close = new_context()
        try:
            goto(site_page)
            out[f"A/{samesite}/set-by-3p-response"] = call(["load-image", lab.other.login_url(
                "bob", samesite=samesite, nonce=f"{tag}-set"), 5000])
            call(["load-image", lab.other.url("picture.png", nonce=f"{tag}-3p"), 5000])
            goto(lab.other.url("picture.png", nonce=f"{tag}-1p"))
        finally:
            close()
        out[f"A/{samesite}/third-party-request-cookies"] = _cookies_seen(lab, f"{tag}-3p")
        out[f"A/{samesite}/first-party-visit-cookies"] = _cookies_seen(lab, f"{tag}-1p")
        # B: the cookie is set first-party (a top-level visit), then requested as a third party.
        tag = f"{run}-B{samesite}"
        goto, call, close = new_context()
        try:
            goto(lab.other.login_url("alice", samesite=samesite, nonce=f"{tag}-set"))
            goto(lab.other.url("picture.png", nonce=f"{tag}-1p"))
            goto(site_page)
            call(["load-image", lab.other.url("picture.png", nonce=f"{tag}-3p"), 5000])
        finally:
            close()
        out[f"B/{samesite}/first-party-visit-cookies"] = _cookies_seen(lab, f"{tag}-1p")
        out[f"B/{samesite}/third-party-request-cookies"] = _cookies_seen(lab, f"{tag}-3p")
    # D: localStorage in a cross-site iframe (the lab's /probe page on lab.other).
    goto, call, close = new_context()
    try:
        goto(site_page)
        out["D/third-party-frame-localStorage"] = call(["frame-storage", lab.other.probe_url(),
                                                        lab.other.url("picture.png", nonce=f"{run}-D"), 5000])
    finally:
        close()
    return out


def third_party(names: list[str], lab: Lab) -> dict[str, Any]:
    """Third-party cookie and storage behaviour per engine, with the settings each ran with."""
    source = THIRD_PARTY_JS.read_text(encoding="utf-8")
    results: dict[str, Any] = {}
    for name in names:
        if name == "chromium":
            if browser_unavailable_reason():
                continue
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=find_chromium(), args=list(LAUNCH_ARGS))

                def new_context():
                    context = browser.new_context()
                    page = context.new_page()
                    return (lambda url: page.goto(url), lambda args: page.evaluate(source, args), context.close)

                results[name] = {"settings": "Playwright's default context (ChromiumHarness default)",
                                 **_third_party_probe(new_context, lab, "tpc")}
                browser.close()
            continue
        if unavailable_reason(name):
            continue
        with engine_class(name)() as engine:

            def new_context(engine=engine):
                manager = engine.context()
                ctx = manager.__enter__()
                return (ctx.open, lambda args: ctx.evaluate(source, args, timeout_ms=15000),
                        lambda: manager.__exit__(None, None, None))

            results[name] = {"settings": engine.settings.as_dict(),
                             **_third_party_probe(new_context, lab, f"tp{name[0]}")}
    return results


def isolation_costs(lab: Lab, n: int) -> dict[str, Any]:
    """Per-scenario wall time of each way to isolate scenarios, on n same-origin readable scenarios."""
    results: dict[str, Any] = {}
    page_url = lab.site.url("picture.png", nonce="iso-page")
    trials = [Scenario(lab.site.url("picture.png", nonce=f"iso{i}")) for i in range(n)]
    variants = [("firefox", "clear", {"isolation": "clear"}), ("firefox", "restart", {"isolation": "restart"}),
                ("firefox", "one-document", {}), ("webkit", "session-prestarted", {"prestart": True}),
                ("webkit", "session-cold", {"prestart": False}), ("webkit", "one-document", {})]
    for name, label, kwargs in variants:
        if unavailable_reason(name):
            continue
        with engine_class(name)(**kwargs) as engine:
            fresh = label != "one-document"
            t0 = time.perf_counter()
            outs = engine.run(trials, page_url=page_url, fresh_context=fresh)
            wall = (time.perf_counter() - t0) * 1000
        results[f"{name}/{label}"] = {
            "per_scenario_ms": [round(o.elapsed_ms, 1) for o in outs],
            "median_ms": statistics.median(o.elapsed_ms for o in outs), "wall_per_scenario_ms": wall / n,
            "timing": [o.extra["timing"] for o in outs]}
    if not browser_unavailable_reason():
        for label, fresh in (("fresh-context", True), ("one-document", False)):
            with ChromiumHarness() as h:
                t0 = time.perf_counter()
                outs = h.run(trials, page_url=page_url, fresh_context=fresh)
                wall = (time.perf_counter() - t0) * 1000
            results[f"chromium/{label}"] = {"per_scenario_ms": [round(o.elapsed_ms, 1) for o in outs],
                                            "median_ms": statistics.median(o.elapsed_ms for o in outs),
                                            "wall_per_scenario_ms": wall / n}
    return results


def _request_signature(requests: list[dict]) -> tuple:
    return tuple((r.get("origin"), r.get("cookies"), r.get("Sec-Fetch-Mode"), r.get("Sec-Fetch-Site"),
                  r.get("Sec-Fetch-Dest"), r.get("referer")) for r in requests)


def summarize(result: dict[str, Any]) -> str:
    """Group every scenario where an engine differs from Chromium (verdict or requests) by the kind of
    difference; each group with its count and its shortest scenario id."""
    engines = result["engines"]
    chromium = {r["id"]: r for r in engines.get("chromium", {}).get("rows", [])}
    lines = []
    for name, facts in engines.items():
        if name == "chromium" or "rows" not in facts:
            continue
        groups: dict[tuple, list[str]] = {}
        for row in facts["rows"]:
            ref = chromium.get(row["id"])
            if ref is None or row["engine"] is None or ref["engine"] is None:
                continue
            diff = []
            for field in ("load", "readback", "exception"):
                if row["engine"][field] != ref["engine"][field]:
                    diff.append((field, ref["engine"][field], row["engine"][field]))
            mine, theirs = _request_signature(row["engine_requests"]), _request_signature(ref["engine_requests"])
            if len(mine) != len(theirs):
                diff.append(("requests", len(theirs), len(mine)))
            else:
                for i, (a, b) in enumerate(zip(theirs, mine)):
                    for label, x, y in zip(("Origin", "cookies", "Sec-Fetch-Mode", "Sec-Fetch-Site",
                                            "Sec-Fetch-Dest", "Referer"), a, b):
                        if x != y:
                            diff.append((f"request {i + 1} {label}", x, y))
            if diff:
                groups.setdefault(tuple(diff), []).append(row["id"])
        lines.append(f"== {name} {facts.get('version')}: {sum(map(len, groups.values()))} scenario(s) differ "
                     f"from Chromium {engines['chromium'].get('version')}")
        for diff, ids in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            what = "; ".join(f"{f}: chromium {a!r}, {name} {b!r}" for f, a, b in diff)
            lines.append(f"  [{len(ids)}] {what}\n      e.g. {min(ids, key=len)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="chromium,firefox,webkit")
    parser.add_argument("--only", help="only scenarios whose id contains TEXT")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--out", default="/work/scratch/engines")
    parser.add_argument("--no-matrix", action="store_true")
    parser.add_argument("--no-sequences", action="store_true")
    parser.add_argument("--isolation-costs", type=int, default=0, metavar="N",
                        help="also time each isolation method over N scenarios")
    parser.add_argument("--third-party", action="store_true",
                        help="also probe third-party cookies and storage in each engine")
    parser.add_argument("--summarize", metavar="JSON", help="only print the grouped differences of a saved run")
    args = parser.parse_args(argv)
    if args.summarize:
        print(summarize(json.loads(Path(args.summarize).read_text(encoding="utf-8"))))
        return 0
    names = [n.strip() for n in args.engines.split(",") if n.strip()]
    scenarios = [s for s in matrix() if not args.only or args.only in s.id][: args.limit]
    os.makedirs(args.out, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    result: dict[str, Any] = {"started": stamp, "scenarios": len(scenarios), "engines": {}}
    with Lab() as lab:
        if not args.no_matrix:
            for name in names:
                print(f"{name}: {len(scenarios)} scenarios", file=sys.stderr, flush=True)
                result["engines"][name] = run_matrix(name, scenarios, lab)
        if not args.no_sequences:
            result["sequences"] = run_sequences(names, lab)
        if args.third_party:
            result["third_party"] = third_party(names, lab)
        if args.isolation_costs:
            result["isolation_costs"] = isolation_costs(lab, args.isolation_costs)
    path = Path(args.out) / f"measure-{stamp}.json"
    path.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    print(path)
    for name, facts in result["engines"].items():
        if "skipped" in facts:
            print(f"{name}: skipped: {facts['skipped']}")
        else:
            print(f"{name} {facts['version']}: {facts['agree']}/{facts['total']} agree with the model; "
                  f"median {facts['median_ms']:.0f} ms per scenario; matrix {facts['matrix_wall_s']:.0f} s")
    if "rows" in result["engines"].get("chromium", {}):
        print(summarize(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
