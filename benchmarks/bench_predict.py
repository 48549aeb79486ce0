"""Time predict() over a few hundred scenarios and print microseconds per scenario.

    python benchmarks/bench_predict.py [--repeat N]

Prints numbers, asserts nothing (speed is never a test). Target on the project's 2-core machine: < 50 µs.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

from cors_lab import OPERATIONS, predict
from cors_lab.spec import origins

PAGE = "http://127.0.0.1:8000"
CDN = "http://127.0.0.1:8001"
OTHER = "http://localhost:8002"
ACAO = [None, "*", " * ", PAGE, PAGE + "/", "http://127.0.0.1:9999", "null", "HTTP://127.0.0.1:8000", [PAGE, PAGE], f"{PAGE}, {CDN}"]
CROSSORIGIN = [None, "anonymous", "use-credentials", "foo"]
ACAC = [None, "true", "True"]


def headers_for(acao, acac):
    out = [] if acao is None else [("Access-Control-Allow-Origin", v) for v in (acao if isinstance(acao, list) else [acao])]
    return out + ([] if acac is None else [("Access-Control-Allow-Credentials", acac)])


def scenarios():
    for acao, co, acac, host in itertools.product(ACAO, CROSSORIGIN, ACAC, [PAGE, CDN, OTHER]):
        h = headers_for(acao, acac)
        yield dict(page=PAGE, chain=[(host + "/picture.png", 200, h)], crossorigin=co, cookies=True,
                   operation=OPERATIONS[len(h) % len(OPERATIONS)])
    for co, acao in itertools.product(CROSSORIGIN, ACAO[:4]):
        h = headers_for(acao, None)
        yield dict(page=PAGE, crossorigin=co, operation="getImageData",
                   chain=[(CDN + "/r", 302, [("Location", OTHER + "/r")] + h),
                          (OTHER + "/r", 307, [("Location", PAGE + "/picture.png")] + h),
                          (PAGE + "/picture.png", 200, h)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cases = list(scenarios())
    for case in cases[:20]:  # warm up the interpreter
        predict(**case)

    def timed(cold: bool) -> list[float]:
        runs = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            for case in cases:
                if cold:  # every URL new to predict(), as in a matrix whose URLs carry nonces
                    origins._parse_url.cache_clear()
                predict(**case)
            runs.append((time.perf_counter() - start) / len(cases) * 1e6)
        return runs

    cold, warm = timed(True), timed(False)
    print(f"predict(): {len(cases)} scenarios x {args.repeat} runs")
    print(f"  new URLs (parse cache cleared each time): median {statistics.median(cold):.1f} µs per scenario")
    print(f"  URLs seen before (parse cache warm):      median {statistics.median(warm):.1f} µs per scenario")
    print(f"  target < 50 µs: {'met' if statistics.median(cold) < 50 else 'NOT met'} (new URLs)")


if __name__ == "__main__":
    main()
