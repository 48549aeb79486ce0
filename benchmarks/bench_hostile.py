"""Peak memory and wall time of every hostile input (tests/hostile_corpus.py), each in its own process.

    python benchmarks/bench_hostile.py [--cases id,id] [--limit-gb 3] [--json out.json]
    python benchmarks/bench_hostile.py --decode-cost [--n 300]

Each case runs in a fresh Python playing the kernel, under an address-space limit (RLIMIT_AS, like
a Binder pod's memory cap): "kernel RSS" is that process's peak, "worker RSS" the peak of any
process it started (the decoder worker), "s" the wall time of the one decode_image / load_image
call (or attack), measured inside. ``--decode-cost`` instead prints the milliseconds per
decode_image of the lab's own pictures and of equal pictures that are not the lab's (untrusted
bytes). Prints numbers, asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import hostile_corpus  # noqa: E402


def _cases(args: argparse.Namespace) -> None:
    wanted = args.cases.split(",") if args.cases else [c.id for c in hostile_corpus.CASES]
    rows = []
    print(f"{'case':28} {'input':>9} {'s':>7} {'kernel RSS':>10} {'worker RSS':>10}  result")
    for case_id in wanted:
        report, total = hostile_corpus.run_in_child([case_id], limit=int(args.limit_gb * 1024**3), timeout=args.timeout)
        report.setdefault("worker_rss_mb", total.get("worker_rss_mb"))
        report.setdefault("rss_mb", total.get("rss_mb"))
        rows.append(report)
        size = report.get("input_bytes")
        print(f"{case_id:28} {size if size is not None else '':>9} {report['seconds']:>7.2f} "
              f"{report.get('rss_mb') or '':>10} {report.get('worker_rss_mb') or '':>10}  {report['result'][:110]}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


def _time_decodes(data: bytes, content_type: str, n: int) -> float:
    from cors_lab.assets import decode_image

    decode_image(data, content_type=content_type)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        decode_image(data, content_type=content_type)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _not_the_labs(name: str, body: bytes) -> bytes:
    """The same picture, encoded with other settings: equal pixels, bytes the lab never made."""
    from PIL import Image

    from cors_lab.assets import picture_image

    if name.endswith(".svg"):
        return body.replace(b"<title>", b"<title>(a copy) ")
    image = picture_image().convert("RGB")
    fmt = {"png": "PNG", "jpg": "JPEG", "gif": "GIF", "webp": "WEBP", "avif": "AVIF", "bmp": "BMP", "ico": "ICO"}[name.rsplit(".", 1)[1]]
    out = io.BytesIO()
    options = {"PNG": {"compress_level": 1}, "JPEG": {"quality": 91}, "WEBP": {"quality": 91}, "AVIF": {"quality": 91},
               "ICO": {"sizes": [image.size]}}.get(fmt, {})
    if fmt == "GIF":
        image = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    image.save(out, fmt, **options)
    data = out.getvalue()
    return data if data != body else data + b"\0"


def _decode_cost(args: argparse.Namespace) -> None:
    from cors_lab.assets import ASSET_NAMES, get_asset

    print(f"{'picture':14} {'lab bytes ms':>12} {'other bytes ms':>15}   (median of {args.n} decode_image calls)")
    for name in ASSET_NAMES:
        asset = get_asset(name)
        own = _time_decodes(asset.body, asset.content_type, args.n)
        other = _time_decodes(_not_the_labs(name, asset.body), asset.content_type, args.n)
        print(f"{name:14} {own:>12.3f} {other:>15.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", help="comma-separated case ids (default: all)")
    parser.add_argument("--limit-gb", type=float, default=hostile_corpus.CHILD_LIMIT / 1024**3)
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds before a case's process is killed")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--decode-cost", action="store_true", help="time decode_image on normal pictures instead")
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    if args.decode_cost:
        _decode_cost(args)
    else:
        _cases(args)


if __name__ == "__main__":
    main()
