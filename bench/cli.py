"""The `storebench` command line: `run`, `check` and `backends`.

Bad input is one line on stderr and exit status 2, never a traceback (`--debug` shows one).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import backends
from backends.base import SYNCHRONOUS_LEVELS, Settings
from bench import inject as inject_mod
from bench import results as results_mod
from bench.secrets import redact_url
from bench.workload import PROFILES, params_for

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print the whole usage block
        raise UsageError(message)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be 0 or more")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a finite number, 0 or more")
    return value


def build_parser() -> Parser:
    parser = Parser(prog="storebench", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    run = sub.add_parser("run", help="run the workload against backends and write a results file")
    run.add_argument("--backends", default="all", help="comma-separated names, or 'all' (default)")
    run.add_argument("--profile", default="quick", choices=list(PROFILES), help="data size and iterations (default quick)")
    run.add_argument("--conversations", type=positive_int, help="preloaded conversations (overrides the profile)")
    run.add_argument("--messages", type=non_negative_int, help="messages per preloaded conversation")
    run.add_argument("--iterations", type=positive_int, help="timed rounds of every op")
    run.add_argument("--warmup", type=non_negative_int, help="untimed rounds before timing")
    run.add_argument("--cold-starts", type=non_negative_int, help="fresh processes for the cold_start op")
    run.add_argument("--synchronous", default="normal", choices=SYNCHRONOUS_LEVELS, help="SQLite durability level (default normal)")
    run.add_argument("--busy-timeout-ms", type=non_negative_int, default=5000, help="busy timeout for every backend (default 5000)")
    run.add_argument("--rtt-ms", type=non_negative_float, default=20.0, help="emulated round-trip time for emulated remote backends (default 20)")
    run.add_argument("--sqlalchemy-url", help="database URL for the sqlalchemy-* backends (default: an embedded libSQL file)")
    run.add_argument("--seed", type=non_negative_int, default=1, help="workload seed (default 1)")
    run.add_argument("--out", type=Path, help="results file (default results/<timestamp>.json, copied to results/latest.json)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--inject", metavar="BACKEND.OP=+Xms|+Y%",
                     help="add a known delay to one op, to test a regression gate (recorded in the results)")

    check = sub.add_parser("check", help="exit 1 when CURRENT is slower than BASELINE (a CI regression gate)")
    check.add_argument("baseline", type=Path, help="baseline results (storebench or pytest-benchmark JSON)")
    check.add_argument("current", type=Path, help="current results (storebench or pytest-benchmark JSON)")
    check.add_argument("--metric", default="p50,p99", help="percentiles to judge, comma-separated (default p50,p99)")
    check.add_argument("--min-effect", default="7%", help="smallest slowdown that counts as a regression (default 7%%)")
    check.add_argument("--alpha", default="0.01", help="family-wise false-alarm level, Holm-corrected (default 0.01)")
    check.add_argument("--summary", type=Path, help="also write a markdown summary (for a pull-request comment)")
    check.add_argument("--relative-to", metavar="BACKEND.OP",
                       help="judge every op relative to this op's p50 in the same file (baselines from another machine)")
    check.add_argument("--confirm", type=Path, metavar="CURRENT2.json",
                       help="a second current run: a regression counts only if it shows there too (noisy runners)")

    sub.add_parser("backends", help="list backends and whether each can run here")
    return parser


def parse_backends(text: str) -> list[str]:
    if text.strip() == "all":
        return backends.names()
    chosen = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in backends.REGISTRY]
    if unknown or not chosen:
        raise UsageError(f"unknown backend {', '.join(unknown) or repr(text)}; valid backends: {', '.join(backends.names())}, all")
    return list(dict.fromkeys(chosen))


def cmd_backends(args: argparse.Namespace) -> int:
    for name in backends.names():
        reason = backends.unavailable_reason(name)
        cls = backends.get(name) if reason is None or not reason.startswith("cannot import") else None
        kind = cls.kind if cls else "?"
        print(f"{name:<20} {kind:<9} {'available' if reason is None else 'unavailable: ' + reason}")
    return EXIT_OK


def check_writable(path: Path) -> None:
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".storebench-write-test-{path.name}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"cannot write results to {folder}: {exc.strerror or exc}; choose another --out") from None


def parse_inject(text: str | None, names: list[str]) -> inject_mod.Injection | None:
    """The --inject spec, for one of the backends being run."""
    if text is None:
        return None
    try:
        return inject_mod.parse(text, names)
    except inject_mod.InjectError as exc:
        raise UsageError(str(exc)) from None


def cmd_run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from bench import runner, summary

    names = parse_backends(args.backends)
    injection = parse_inject(args.inject, names)
    params = params_for(args.profile, conversations=args.conversations, messages=args.messages,
                        iterations=args.iterations, warmup=args.warmup, cold_starts=args.cold_starts)
    settings = Settings(synchronous=args.synchronous, busy_timeout_ms=args.busy_timeout_ms,
                        rtt_ms=args.rtt_ms, sqlalchemy_url=args.sqlalchemy_url)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or Path("results") / f"{stamp}.json"
    check_writable(out)

    console = Console(stderr=True)
    recorded = {**settings.__dict__, "sqlalchemy_url": redact_url(settings.sqlalchemy_url)}
    run_params = {**params.__dict__, "settings": recorded, "inject": injection.record() if injection else None}
    data = results_mod.new_results(args.profile, run_params, args.seed)
    # How busy the machine was (1-minute load average, start and end): lets `check` warn that a
    # change may be a noisy neighbour rather than the code.
    data["run"]["load_average"] = {"start": results_mod.load_average(), "end": None}
    data["overhead"] = runner.measure_overhead()
    with summary.progress_bar(console, names, disabled=args.no_progress) as progress:
        for name in names:
            entry, ops = runner.run_backend(name, params, args.seed, settings, progress, injection)
            data["backends"].append(entry)
            data["ops"].extend(ops)
            results_mod.write_atomic(out, data)  # after each backend: an interruption keeps it
    data["complete"] = True
    data["run"]["load_average"]["end"] = results_mod.load_average()
    data["run"]["finished_at"] = results_mod.now_iso()
    results_mod.write_atomic(out, data)
    if args.out is None:
        shutil.copyfile(out, out.parent / "latest.json")
    summary.print_summary(console, data)
    console.print(f"results: {out}")
    failed = [b["name"] for b in data["backends"] if b["status"] == "failed"]
    return EXIT_FAILED if failed else EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from bench import check

    try:
        options = check.Options(
            metrics=check.parse_metrics(args.metric), min_effect=check.parse_percent(args.min_effect),
            alpha=check.parse_alpha(args.alpha),
            relative_to=check.parse_reference(args.relative_to) if args.relative_to else None,
            confirmed=args.confirm is not None)
        confirm = check.load_any(args.confirm) if args.confirm else None
        outcome = check.compare(check.load_any(args.baseline), check.load_any(args.current), options, confirm)
    except check.CheckError as exc:
        raise UsageError(str(exc)) from None
    if not outcome.judged:
        reasons = sorted({c.note for c in outcome.comparisons if c.note})
        raise UsageError(f"no comparison could be judged ({'; '.join(reasons)})")
    if args.summary:
        check_writable(args.summary)
        args.summary.write_text(check.markdown(outcome), encoding="utf-8")
    check.print_table(outcome)
    return EXIT_FAILED if outcome.regressions else EXIT_OK


COMMANDS = {"run": cmd_run, "check": cmd_check, "backends": cmd_backends}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"storebench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except results_mod.ResultsError as exc:
        print(f"storebench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("storebench: interrupted; finished backends are in the results file", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        print(f"storebench: error: {type(exc).__name__}: {exc} (run with --debug for a traceback)", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
