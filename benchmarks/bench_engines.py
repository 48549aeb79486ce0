"""Model vs kernel browser vs Chromium over the same scenario matrix, in one run: times and ratios.

    python benchmarks/bench_engines.py [--limit N]

Prints numbers, asserts nothing. Targets: predict() >= 1000x faster than Chromium per scenario,
the kernel browser >= 3x faster. Chromium's time includes a fresh browser context per scenario
(cache isolation), which is how the conformance suite runs it.
"""

from __future__ import annotations

import argparse
import statistics
import time

from cors_lab import conformance, predict
from cors_lab.harness import ChromiumHarness, browser_unavailable_reason
from cors_lab.scenarios import matrix
from cors_lab.spec import origins


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="at most N scenarios (default: all)")
    args = parser.parse_args()
    scenarios = matrix()[: args.limit or None]
    reason = browser_unavailable_reason()
    if reason:
        raise SystemExit(f"needs Chromium: {reason}")
    with ChromiumHarness() as harness:
        rows = conformance.run(scenarios, harness=harness)
        version, startup = harness.version, harness.startup_ms
    # predict() alone, over the chains Chromium received, repeated for a stable figure.
    chains = [(r, [(q["url"], q["status"], q["headers"]) for q in r.chromium_requests])
              for r in rows if r.chromium_requests and not r.scenario.before]
    start = time.perf_counter()
    repeat = 20
    for _ in range(repeat):
        for r, chain in chains:
            origins._parse_url.cache_clear()  # each chain as new to predict() as it was to Chromium
            predict(page=r.model.page if r.scenario.page != "null" else "null", chain=chain,
                    crossorigin=r.scenario.crossorigin, operation=r.scenario.operation)
    model_us = (time.perf_counter() - start) / (repeat * len(chains)) * 1e6
    kernel_ms = statistics.median(r.kernel_ms for r in rows)
    chromium_ms = statistics.median(r.chromium_ms for r in rows)
    agree = sum(r.agrees for r in rows)
    print(f"{len(rows)} scenarios, {agree} agree; Chromium {version}, start-up {startup:.0f} ms")
    print(f"  predict():      {model_us:8.1f} µs per scenario (mean of {repeat} passes over {len(chains)} chains, URLs parsed afresh)")
    print(f"  kernel browser: {kernel_ms:8.2f} ms per scenario (median; real sockets, decode, cache)")
    print(f"  Chromium:       {chromium_ms:8.1f} ms per scenario (median; fresh context each)")
    print(f"  Chromium / predict()       = {chromium_ms * 1000 / model_us:8.0f}x  (target >= 1000x)")
    print(f"  Chromium / kernel browser  = {chromium_ms / kernel_ms:8.1f}x  (target >= 3x)")


if __name__ == "__main__":
    main()
