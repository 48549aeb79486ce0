"""Command line: ``python -m cors_lab conformance [--random N --seed S]``, ``serve`` and ``enable-extension``.

Owns argument parsing and printing only; the work is in cors_lab.conformance, cors_lab.servers and
cors_lab.jupyter_ext.
"""

from __future__ import annotations

import argparse
import sys
import time


def _chromium_missing(args: argparse.Namespace) -> str | None:
    """Why Chromium will not run (said on stderr), or None."""
    from .harness import browser_unavailable_reason

    reason = None if args.no_chromium else browser_unavailable_reason()
    if reason:
        print(f"Chromium not available ({reason}); running model and kernel browser only.", file=sys.stderr)
    return reason


def _progress(args: argparse.Namespace):
    def progress(done: int, total: int, row) -> None:
        if not args.quiet:
            mark = "." if row.agrees else "F"
            print(mark, end="" if done % 60 else f" {done}/{total}\n", flush=True, file=sys.stderr)

    return progress


def _conformance(args: argparse.Namespace) -> int:
    from . import conformance
    from .harness import ChromiumHarness
    from .scenarios import matrix

    if args.random is not None:
        return _random(args)

    scenarios = [s for s in matrix() if not args.only or args.only in s.id]
    if args.limit:
        scenarios = scenarios[: args.limit]
    if not scenarios:
        print(f"No scenario id contains {args.only!r}.", file=sys.stderr)
        return 2
    reason = _chromium_missing(args)
    progress = _progress(args)
    start = time.perf_counter()
    if args.no_chromium or reason:
        rows = conformance.run(scenarios, progress=progress)
    else:
        with ChromiumHarness() as harness:
            rows = conformance.run(scenarios, harness=harness, progress=progress)
            if not args.quiet:
                print(f"\nChromium {harness.version}, start-up {harness.startup_ms:.0f} ms", file=sys.stderr)
    print()
    print(conformance.text_report(rows))
    print(f"wall time {time.perf_counter() - start:.1f} s")
    if args.html:
        with open(args.html, "w", encoding="utf-8") as f:
            f.write(conformance.html_report(rows))
        print(f"wrote {args.html}")
    return 0 if all(r.agrees or r.known_deviation for r in rows) else 1


def _random(args: argparse.Namespace) -> int:
    from . import differential
    from .harness import ChromiumHarness
    from .servers import Lab

    seed = differential.fresh_seed() if args.seed is None else args.seed
    print(f"seed {seed} (repeat with --seed {seed})", flush=True)
    reason = _chromium_missing(args)
    options = {"seed": seed, "progress": _progress(args), "examples_per_key": 0 if args.no_minimize else args.examples}
    with Lab() as lab:
        if args.no_chromium or reason:
            report = differential.run_random(args.random, lab=lab, **options)
        else:
            with ChromiumHarness() as harness:
                report = differential.run_random(args.random, lab=lab, harness=harness,
                                                 engine=f"Chromium {harness.version}", **options)
    print()
    print(report.text())
    return 0 if not report.unexplained else 1


def _serve(args: argparse.Namespace) -> int:
    from .servers import Lab

    with Lab(host=args.host) as lab:
        print(f"page (site): {lab.site.origin}\ncdn:         {lab.cdn.origin}\nother:       {lab.other.origin}")
        print(f"try: {lab.cdn.url('picture.png', acao='*')}\nCtrl-C to stop.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def _enable_extension(args: argparse.Namespace) -> int:
    from .jupyter_ext import enable

    config_dir = args.config_dir
    if args.user:
        from jupyter_core.paths import jupyter_config_dir

        config_dir = jupyter_config_dir()
    path = enable(config_dir)
    print(f"wrote {path}: Jupyter servers started from now on serve the lab's pictures at "
          "{base_url}cors-lab/img/ (restart a running one).")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cors_lab", description="cors-lab command line")
    sub = parser.add_subparsers(dest="command", required=True)
    conf = sub.add_parser("conformance", help="run the scenario matrix: model vs kernel browser vs Chromium")
    conf.add_argument("--html", metavar="FILE", help="also write an HTML report")
    conf.add_argument("--only", metavar="TEXT", help="only scenarios whose id contains TEXT")
    conf.add_argument("--limit", type=int, help="at most N scenarios")
    conf.add_argument("--no-chromium", action="store_true", help="model and kernel browser only")
    conf.add_argument("--quiet", action="store_true", help="no progress dots")
    conf.add_argument("--random", type=int, metavar="N",
                      help="instead of the matrix, N random scenarios over every dimension (see --seed)")
    conf.add_argument("--seed", type=int, metavar="S",
                      help="the random run's seed (default: $CORS_LAB_SEED, else a new one, printed)")
    conf.add_argument("--examples", type=int, default=2, metavar="K",
                      help="random run: minimize up to K examples of each kind of difference (default 2)")
    conf.add_argument("--no-minimize", action="store_true", help="random run: group, but minimize nothing")
    conf.set_defaults(func=_conformance)
    serve = sub.add_parser("serve", help="start the lab's servers and print their origins")
    serve.add_argument("--host", default="127.0.0.1", choices=("127.0.0.1", "localhost"))
    serve.set_defaults(func=_serve)
    ext = sub.add_parser("enable-extension", help="enable the kit's Jupyter server extension (for one-origin set-ups)")
    where = ext.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="in your own Jupyter config (~/.jupyter), not this environment's")
    where.add_argument("--config-dir", metavar="DIR", help="in the Jupyter config directory DIR")
    ext.set_defaults(func=_enable_extension)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
