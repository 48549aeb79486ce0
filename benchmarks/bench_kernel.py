"""Median time of one kernel experiment: request + decode + decision, over real loopback sockets.

    python benchmarks/bench_kernel.py [--n 300]

Prints numbers, asserts nothing. Target on the project's 2-core machine: <= 5 ms per experiment.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

from cors_lab import Browser, Lab, predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    with Lab() as lab:
        browser = Browser(lab.site)
        variants = list(itertools.product(
            [lab.site, lab.cdn, lab.other],
            [None, "anonymous", "use-credentials"],
            [{}, {"acao": "*"}, {"acao": lab.site.origin, "acac": True}],
        ))
        times, decide = [], []
        for i in range(args.n):
            origin, crossorigin, knobs = variants[i % len(variants)]
            url = origin.url("picture.png", nonce=i, **knobs)
            start = time.perf_counter()
            result = browser.load_image(url, crossorigin=crossorigin)
            outcome = result.outcome("getImageData")
            times.append((time.perf_counter() - start) * 1000)
            hop = result.hops[0]
            t0 = time.perf_counter()
            predict(page=lab.site.origin, chain=[(url, hop.status, list(hop.headers))], crossorigin=crossorigin)
            decide.append((time.perf_counter() - t0) * 1000)
            assert outcome.load in ("load", "error")
        p95 = sorted(times)[int(len(times) * 0.95)]
        print(f"kernel experiment (request + decode + decision): {args.n} runs")
        print(f"  median {statistics.median(times):.2f} ms, p95 {p95:.2f} ms  (target <= 5 ms: "
              f"{'met' if statistics.median(times) <= 5 else 'NOT met'})")
        print(f"  of which the model's decision alone: median {statistics.median(decide) * 1000:.0f} µs")


if __name__ == "__main__":
    main()
