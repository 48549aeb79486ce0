"""Command line: ``python -m cors_lab conformance``, ``compat``, ``serve`` and ``enable-extension``.

Owns argument parsing and printing only; the work is in cors_lab.conformance, cors_lab.servers and
cors_lab.jupyter_ext.
"""

from __future__ import annotations

import argparse
import sys
import time


def _conformance(args: argparse.Namespace) -> int:
    from . import conformance
    from .engines import ENGINE_NAMES
    from .scenarios import matrix

    scenarios = [s for s in matrix() if not args.only or args.only in s.id]
    if args.limit:
        scenarios = scenarios[: args.limit]
    if not scenarios:
        print(f"No scenario id contains {args.only!r}.", file=sys.stderr)
        return 2
    engine = "none" if args.no_chromium else args.engine
    names = list(ENGINE_NAMES) if engine == "all" else [] if engine == "none" else [engine]
    done: dict[str, int] = {}

    def progress(name: str, i: int, total: int, row) -> None:
        done[name] = i
        if not args.quiet and (i % 50 == 0 or i == total):
            status = ", ".join(f"{n} {k}/{total}" for n, k in done.items())
            print(f"  {status}  ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)

    start = time.perf_counter()
    if not names:
        rows = conformance.run(scenarios)
        print(conformance.text_report(rows))
        print(f"wall time {time.perf_counter() - start:.1f} s")
        if args.html:
            _write(args.html, conformance.html_report(rows))
        return 0 if all(r.agrees or r.known_deviation for r in rows) else 1
    runs = conformance.run_engines(names, scenarios, parallel=not args.sequential, progress=progress,
                                   with_sequences=not args.only and not args.limit)
    print(conformance.engines_text_report(runs))
    print(f"\nwall time {time.perf_counter() - start:.1f} s for {', '.join(names)}"
          f" ({'one after another' if args.sequential else 'side by side'})")
    if args.html:
        _write(args.html, conformance.html_report(runs))
    ran = [er for er in runs.values() if not er.skipped]
    if not ran:
        return 3
    return 0 if all(er.agrees for er in ran) else 1


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {path}")


def _compat(args: argparse.Namespace) -> int:
    from . import compat, conformance
    from .engines import ENGINE_NAMES

    if not args.write:
        print(compat.table(args.topic))
        return 0
    start = time.perf_counter()
    runs = conformance.run_engines(ENGINE_NAMES, compat.scenarios(), parallel=not args.sequential)
    problems = [f"{n}: {er.skipped or er.error}" for n, er in runs.items() if er.skipped or er.error]
    disagreements = [f"{n}: {r.scenario.id}" for n, er in runs.items() for r in er.rows if not r.agrees]
    disagreements += [f"{n}: {d}" for n, er in runs.items() for d in er.sequence_differences]
    if problems:
        print("Not written: the table comes from all three engines.\n" + "\n".join(problems), file=sys.stderr)
        return 3
    path = compat.write(compat.generate(runs))
    print(compat.table(args.topic))
    print(f"\nwrote {path} in {time.perf_counter() - start:.0f} s")
    if disagreements:
        print("An engine disagrees with its model profile (fix the profile, then run this again):\n"
              + "\n".join(disagreements), file=sys.stderr)
        return 1
    return 0


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
    conf = sub.add_parser("conformance", help="run the scenario matrix: model vs kernel browser vs real engines")
    conf.add_argument("--engine", default="chromium", choices=("chromium", "firefox", "webkit", "all", "none"),
                      help="the engine(s) to run (default chromium; all: the three side by side; none: model and "
                           "kernel browser only)")
    conf.add_argument("--html", metavar="FILE", help="also write an HTML report (engines side by side)")
    conf.add_argument("--only", metavar="TEXT", help="only scenarios whose id contains TEXT (no canvas sequences)")
    conf.add_argument("--limit", type=int, help="at most N scenarios (no canvas sequences)")
    conf.add_argument("--sequential", action="store_true", help="with --engine all: one engine after another")
    conf.add_argument("--no-chromium", action="store_true", help="the older name of --engine none")
    conf.add_argument("--quiet", action="store_true", help="no progress dots")
    conf.set_defaults(func=_conformance)
    compat = sub.add_parser("compat", help="the browser-compatibility table (print it, or --write it from real runs)")
    compat.add_argument("--write", action="store_true",
                        help="run its scenarios and canvas sequences in Chromium, Firefox and WebKit and rewrite "
                             "cors_lab/compat.json")
    compat.add_argument("--topic", metavar="TEXT", help="only rows whose topic contains TEXT (cache, readback, ...)")
    compat.add_argument("--sequential", action="store_true", help="one engine after another")
    compat.set_defaults(func=_compat)
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
