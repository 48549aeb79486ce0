"""predict() vs the kernel browser vs Chromium, Firefox ESR and WebKitGTK over the scenario matrix, in one run.

    python benchmarks/bench_engines.py [--limit N] [--engines chromium,firefox,webkit]

Prints numbers, asserts nothing. Each engine runs the matrix the way the conformance suite does (one
reused context, cookies deleted between scenarios, the page renamed instead of loaded), one engine
after another so they do not compete for the cores; the kernel browser browses as each engine's
profile. Targets: predict() >= 1000x faster than an engine per scenario, the kernel browser >= 3x.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from cors_lab import conformance, predict
from cors_lab.engines import ENGINE_NAMES
from cors_lab.scenarios import matrix
from cors_lab.spec import origins


def predict_us(rows, profile: str, repeat: int = 20) -> float:
    """Mean µs per predict() over the chains the engine received, each URL parsed afresh."""
    chains = [(r, [(q["url"], q["status"], q["headers"]) for q in r.real_requests])
              for r in rows if r.real_requests and not r.scenario.before]
    start = time.perf_counter()
    for _ in range(repeat):
        for r, chain in chains:
            origins._parse_url.cache_clear()  # each chain as new to predict() as it was to the engine
            predict(page=r.model.page if r.scenario.page != "null" else "null", chain=chain,
                    crossorigin=r.scenario.crossorigin, operation=r.scenario.operation, engine=profile)
    return (time.perf_counter() - start) / (repeat * len(chains)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="at most N scenarios (default: all)")
    parser.add_argument("--engines", default=",".join(ENGINE_NAMES), help="comma-separated engine names")
    args = parser.parse_args()
    scenarios = matrix()[: args.limit or None]
    names = [n for n in args.engines.split(",") if n]
    load = os.getloadavg()
    start = time.perf_counter()
    runs = conformance.run_engines(names, scenarios, parallel=False, with_sequences=False)
    print(f"{len(scenarios)} scenarios per engine, one engine after another; load average {load[0]:.1f} -> "
          f"{os.getloadavg()[0]:.1f}; {time.perf_counter() - start:.0f} s in all")
    print(f"{'engine':24} {'agree':>9} {'engine ms':>10} {'kernel ms':>10} {'predict µs':>11} "
          f"{'/ predict':>10} {'/ kernel':>9} {'start-up':>9} {'wall s':>7}")
    for name, run in runs.items():
        if run.skipped or run.error:
            print(f"{name:24} {run.skipped or run.error}")
            continue
        rows = run.rows
        engine_ms = statistics.median(r.real_ms for r in rows)
        kernel_ms = statistics.median(r.kernel_ms for r in rows)
        model_us = predict_us(rows, name)
        agree = sum(r.agrees for r in rows)
        print(f"{name + ' ' + run.version:24} {agree:>4}/{len(rows):<4} {engine_ms:>10.1f} {kernel_ms:>10.2f} "
              f"{model_us:>11.1f} {engine_ms * 1000 / model_us:>9.0f}x {engine_ms / kernel_ms:>8.1f}x "
              f"{run.startup_ms:>7.0f}ms {run.wall_s:>7.0f}")
    print("engine ms, kernel ms: medians per scenario (the kernel browser browses as that engine's profile);"
          " predict µs: mean over the chains the engine received.")


if __name__ == "__main__":
    main()
