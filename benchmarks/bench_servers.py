"""Requests per second of a lab server answering an image request over keep-alive connections.

The lab runs in this process, as in a notebook kernel; the clients run in separate processes (so the
number is the server's, not the client's), each with several threads and one persistent
``http.client`` connection per thread. A bounded number of requests; prints numbers, asserts nothing.

    python benchmarks/bench_servers.py [--processes 2] [--threads 8] [--requests 20000]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import threading
import time
from urllib.parse import urlsplit

from cors_lab.servers import Lab

TARGET = 1000  # requests per second, on a 2-core machine


def _client_process(url: str, threads: int, count: int, ready, go, results) -> None:
    parts = urlsplit(url)
    target = f"{parts.path}?{parts.query}" if parts.query else parts.path
    per_thread = [count // threads + (i < count % threads) for i in range(threads)]
    conns = [http.client.HTTPConnection("127.0.0.1", parts.port, timeout=30) for _ in range(threads)]
    headers = {"User-Agent": "cors-lab-kernel/bench", "Origin": "http://127.0.0.1:1"}
    for conn in conns:  # connect and warm up before the clock starts
        conn.request("GET", target, headers=headers)
        conn.getresponse().read()
    errors = [0] * threads

    def run(i: int) -> None:
        conn = conns[i]
        for _ in range(per_thread[i]):
            try:
                conn.request("GET", target, headers=headers)
                resp = conn.getresponse()
                if resp.status != 200 or not resp.read():
                    errors[i] += 1
            except OSError:
                errors[i] += 1

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    ready.wait()
    go.wait()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    results.put((count, sum(errors), time.time()))
    for conn in conns:
        conn.close()


def measure(url: str, *, processes: int, threads: int, requests: int) -> tuple[float, int]:
    ctx = mp.get_context("spawn")
    ready, go, results = ctx.Barrier(processes + 1), ctx.Event(), ctx.Queue()
    share = [requests // processes + (i < requests % processes) for i in range(processes)]
    procs = [ctx.Process(target=_client_process, args=(url, threads, n, ready, go, results)) for n in share]
    for p in procs:
        p.start()
    ready.wait()
    start = time.time()
    go.set()
    done = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    elapsed = max(t for _, _, t in done) - start
    return sum(n for n, _, _ in done) / elapsed, sum(e for _, e, _ in done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=8, help="keep-alive client threads per process")
    parser.add_argument("--requests", type=int, default=20000, help="requests in total, per URL")
    args = parser.parse_args()
    with Lab() as lab:
        cases = {
            "plain image": lab.cdn.url("picture.png"),
            "image with knobs": lab.cdn.url("picture.png", acao="*", vary="Origin", cache="max-age=3600", apache=True),
        }
        clients = f"{args.processes} processes x {args.threads} keep-alive threads"
        print(f"cors-lab server benchmark: {args.requests} requests per case, {clients}, cpu count {mp.cpu_count()}")
        for label, url in cases.items():
            rate, errors = measure(url, processes=args.processes, threads=args.threads, requests=args.requests)
            verdict = "meets" if rate >= TARGET and not errors else "BELOW"
            print(f"{label:18s} {rate:8.0f} requests/s  errors {errors}  ({verdict} the {TARGET} req/s target)")
        print(f"log entries kept: {len(lab.log())} (capped per origin)")


if __name__ == "__main__":
    main()
