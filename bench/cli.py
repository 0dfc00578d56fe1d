"""The `storebench` command line: `run`, `report`, `check`, `ab`, `backends` and `swarm`.

Bad input is one line on stderr and exit status 2, never a traceback (`--debug` shows one):
every check raises a `storebench.errors.UsageError` (or a subclass), caught in `main` only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from storebench import backends
from storebench.backends.base import SYNCHRONOUS_LEVELS, Settings
from storebench.core import inject as inject_mod
from storebench.core.workload import OPS, PROFILES, params_for
from storebench.errors import Interrupted, Terminated, UsageError, exit_status
from storebench.model import results as results_mod
from storebench.model.results import BackendResult, ConcurrencyResult, OpResult, Results, ResultsFile, Sweep
from storebench.model.secrets import redact_url

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MAX_SCHEDULE_S = 3600  # an open-loop schedule longer than this per backend is almost surely a typo


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse would print the whole usage block
        raise UsageError(message)


def whole_number(minimum: int, maximum: int = 10**9) -> Callable[[str], int]:
    """An argparse type for a whole number in [minimum, maximum] (the maximum keeps a typo
    like an extra zero from allocating gigabytes of samples)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            floor = "0 or more" if minimum == 0 else f"at least {minimum}"
            raise argparse.ArgumentTypeError(f"{value} must be {floor}")
        if value > maximum:
            raise argparse.ArgumentTypeError(f"{value} is more than {maximum:,}, the most storebench accepts here")
        return value

    return parse


positive_int = whole_number(1)
non_negative_int = whole_number(0)


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a finite number, 0 or more")
    return value


def positive_float(text: str) -> float:
    value = non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0")
    return value


def at_most(parse: Callable[[str], float], maximum: float, unit: str) -> Callable[[str], float]:
    """`parse`, then at most `maximum`: a time far beyond any run overflows the clocks and
    sockets it is handed to (`--op-timeout-s 1e300` ended the run in an OverflowError)."""

    def bounded(text: str) -> float:
        value = parse(text)
        if value > maximum:
            raise argparse.ArgumentTypeError(f"{text} is more than {maximum:,g} {unit}, "
                                             "the most storebench accepts here")
        return value

    return bounded


MAX_OP_TIMEOUT_S = 24 * 3600
MAX_RTT_MS = 60_000


def client_counts(text: str) -> list[int]:
    """`4` or `1,2,4,8`: the worker-process counts of --concurrency."""
    try:
        counts = [positive_int(v.strip()) for v in text.split(",")]
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc}; give a client count like 4 or a list like 1,2,4,8") from None
    return list(dict.fromkeys(counts))


def sweep_spec(text: str):
    from storebench.core.sweep import parse_sweep

    try:
        return parse_sweep(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> Parser:
    parser = Parser(prog="storebench", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    run = sub.add_parser("run", help="run the workload against backends and write a results file")
    run.add_argument("--backends", default="all", help="comma-separated names, or 'all' (default)")
    run.add_argument("--backend-module", action="append", default=[], metavar="FILE.py:CLASS",
                     help="register your own Store subclass from a file (repeatable); then name it in --backends")
    run.add_argument("--profile", default="quick", choices=list(PROFILES),
                     help="data size and iterations (default quick)")
    run.add_argument("--conversations", type=whole_number(1, 10_000_000),
                     help="preloaded conversations (overrides the profile)")
    run.add_argument("--messages", type=whole_number(0, 100_000), help="messages per preloaded conversation")
    run.add_argument("--iterations", type=whole_number(1, 10_000_000), help="timed rounds (each runs every write op)")
    run.add_argument("--load-every", type=whole_number(1, 1000),
                     help="load_all opens every K-th round (default: 1 in smoke, 4 from quick on)")
    run.add_argument("--warmup", type=non_negative_int, help="untimed rounds before timing")
    run.add_argument("--cold-starts", type=whole_number(0, 1000), help="fresh processes for the cold_start op")
    run.add_argument("--probes", action=argparse.BooleanOptionalAction,
                     help="run the capability probes after timing (default: yes, except in the smoke profile)")
    run.add_argument("--synchronous", default="normal", choices=SYNCHRONOUS_LEVELS,
                     help="SQLite durability level (default normal)")
    run.add_argument("--busy-timeout-ms", type=non_negative_int, default=5000,
                     help="busy timeout for every backend (default 5000)")
    run.add_argument("--rtt-ms", type=at_most(non_negative_float, MAX_RTT_MS, "ms"), default=20.0,
                     help="emulated round-trip time for emulated remote backends (default 20)")
    run.add_argument("--op-timeout-s", type=at_most(positive_float, MAX_OP_TIMEOUT_S, "s"), default=60.0,
                     help="give up on one op after this many seconds, where the driver allows (default 60)")
    run.add_argument("--sqlalchemy-url",
                     help="database URL for the sqlalchemy-* backends (default: an embedded libSQL file)")
    run.add_argument("--seed", type=non_negative_int, default=1, help="workload seed (default 1)")
    run.add_argument("--out", type=Path,
                     help="results file (default results/<timestamp>-<random>.json, copied to results/latest.json)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--rate", type=positive_float,
                     help="open loop: start ops at R per second and time them from their scheduled start")
    run.add_argument("--arrivals", choices=("poisson", "uniform"),
                     help="arrival process for --rate (default poisson, seeded)")
    run.add_argument("--concurrency", type=client_counts,
                     help="also run N worker processes per backend, or a list: 1,2,4,8")
    run.add_argument("--sweep", type=sweep_spec, action="append", default=[],
                     help="also sweep a data size: conversations=10,100,1000 or messages=1,10,100 (repeatable)")

    run.add_argument("--reports", type=Path, default=Path("reports"),
                     help="folder for the reports written after the run (default reports/)")
    run.add_argument("--processes", type=whole_number(1, 64), default=3,
                     help="fresh worker processes per backend, their rounds interleaved with every other "
                          "backend's (default 3)")
    run.add_argument("--pin-cpu", type=non_negative_int, metavar="CPU",
                     help="pin every measuring worker to this CPU (after it started its servers); recorded")
    run.add_argument("--inject", metavar="BACKEND.OP=+Xms|+Y%",
                     help="add a known delay to one op (OP all: to every op), to test a regression gate or a "
                          "ranking (recorded in the results)")

    check = sub.add_parser("check", help="compare two results files: exit 1 when CURRENT is slower than BASELINE "
                                          "(a trend check; the CI gate is ab)")
    check.add_argument("baseline", type=Path, help="baseline results (storebench or pytest-benchmark JSON)")
    check.add_argument("current", type=Path, help="current results (storebench or pytest-benchmark JSON)")
    check.add_argument("--metric", default="p50,p99", help="percentiles to judge, comma-separated (default p50,p99)")
    check.add_argument("--min-effect", default="7%", help="smallest slowdown that counts as a regression (default 7%%)")
    check.add_argument("--alpha", default="0.01", help="family-wise false-alarm level, Holm-corrected (default 0.01)")
    check.add_argument("--summary", type=Path, help="also write a markdown summary (for a pull-request comment)")
    check.add_argument("--allow-mismatch", action="store_true",
                       help="compare files of different profiles or data sizes (refused by default)")
    check.add_argument("--relative-to", metavar="BACKEND.OP",
                       help="judge every op relative to this op's p50 in the same file "
                            "(baselines from another machine)")
    check.add_argument("--confirm", type=Path, metavar="CURRENT2.json",
                       help="a second current run: a regression counts only if it shows there too (noisy runners)")

    ab = sub.add_parser("ab",
                        help="the CI regression gate: base and head measured side by side, interleaved; "
                             "exit 1 on a regression, 3 inconclusive")
    ab.add_argument("--base-python", required=True, help="python of the environment holding the base side's code")
    ab.add_argument("--head-python", required=True, help="python of the environment holding the head side's code")
    ab.add_argument("--backends", default="sqlite3,apsw,libsql",
                    help="comma-separated names (default sqlite3,apsw,libsql)")
    ab.add_argument("--backend-module", action="append", default=[], metavar="FILE.py:CLASS",
                    help="your own Store subclass, FILE relative to each side's checkout: base runs "
                         "--base-dir's version, head --head-dir's (repeatable); then name it in --backends")
    ab.add_argument("--base-dir", type=Path, help="the base side's checkout (needed with --backend-module)")
    ab.add_argument("--head-dir", type=Path, default=Path("."),
                    help="the head side's checkout (default: the current folder)")
    ab.add_argument("--profile", default="smoke", choices=list(PROFILES), help="data size (default smoke)")
    # p99 is opt-in: per pair of 500-round processes it moved ±50 % between A/A pairs here, so
    # it left every A/A job inconclusive (docs/regression-gate.md).
    ab.add_argument("--metric", default="p50",
                    help="percentiles to judge, comma-separated, each for every op or one: p50,p99:load_all "
                         "(default p50; p99 is refused on an op whose pilot tail cannot be judged)")
    ab.add_argument("--pairs", type=whole_number(3, 64), default=6, help="process pairs to start with (default 6)")
    ab.add_argument("--max-pairs", type=whole_number(3, 256),
                    help="add pairs of the backends with an undecided comparison, up to this many "
                         "(default 18; with --budget 256)")
    ab.add_argument("--budget", metavar="DURATION",
                    help="e.g. 5m: choose rounds and pairs per backend from a short pilot to decide within "
                         "this wall time; the summary says what stayed undecided and what budget would decide it")
    ab.add_argument("--rounds", type=whole_number(1, 1_000_000), default=500,
                    help="timed rounds per pair and side (default 500: enough samples to judge p99)")
    ab.add_argument("--alpha", default="0.05", help="chance that any interval of the job misses (default 0.05)")
    ab.add_argument("--base-inject", metavar="BACKEND.OP=+Xms|+Y%", help="--inject on the base side only")
    ab.add_argument("--head-inject", metavar="BACKEND.OP=+Xms|+Y%",
                    help="--inject on the head side only (validates the gate)")
    ab.add_argument("--pin-cpu", default="auto",
                    help="CPU every worker of both sides is pinned to: a number, auto (the last one) or none")
    ab.add_argument("--seed", type=non_negative_int, default=1, help="workload seed (default 1)")
    ab.add_argument("--summary", type=Path, help="also write a markdown summary (for a pull-request comment)")
    ab.add_argument("--out", type=Path, default=Path("results/ab.json"), help="results file (default results/ab.json)")
    ab.add_argument("--no-progress", action="store_true", help="no progress bar")

    sub.add_parser("backends", help="list backends and whether each can run here")

    from storebench.core import swarm  # light: Locust itself is imported only by the processes it starts

    swarm_help = "distributed load on Locust (master and workers), exact merged percentiles"
    swarm.add_arguments(sub.add_parser("swarm", help=swarm_help), positive_int, positive_float, non_negative_int,
                        whole_number(1, 65535))

    report = sub.add_parser("report", help="render the decision matrix, latency report, plots and index.html")
    report.add_argument("results", nargs="*", type=Path, default=[Path("results/latest.json")],
                        help="results files, oldest first; the last is reported in full (default results/latest.json)")
    report.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default reports/)")
    return parser


def register_backend_modules(locations: Sequence[str]) -> None:
    for location in locations:
        try:
            backends.register_file(location)
        except UsageError:
            raise
        except Exception as exc:  # the user's module itself failed to import
            raise UsageError(f"--backend-module {location}: importing it failed: {type(exc).__name__}: {exc}") from None


def parse_backends(text: str) -> list[str]:
    """Names, where `all` stands for every backend but those left out of the default run."""
    chosen = []
    for name in (n.strip() for n in text.split(",")):
        chosen += [n for n in backends.names() if backends.in_all(n)] if name == "all" else [name] if name else []
    unknown = [n for n in chosen if n not in backends.REGISTRY]
    if unknown or not chosen:
        raise UsageError(f"unknown backend {', '.join(unknown) or repr(text)}; "
                         f"valid backends: {', '.join(backends.names())}, all")
    return list(dict.fromkeys(chosen))


def check_named_available(text: str, names: list[str]) -> None:
    """A backend named in --backends (not only through `all`) that cannot run here is the
    user's to fix: a CI job naming it must not pass with no data. `all` records such a
    backend as unavailable and runs the others."""
    named = {n.strip() for n in text.split(",")}
    for name in (n for n in names if n in named):
        reason = backends.unavailable_reason(name)
        if reason:
            raise UsageError(f"{name} cannot run here: {reason}")


def cmd_backends(args: argparse.Namespace) -> int:
    from storebench.reports import labels

    listed = []
    for name in backends.names():
        reason = backends.unavailable_reason(name)
        cls = backends.get(name) if reason is None or not reason.startswith("cannot import") else None
        kind = cls.kind if cls else "?"
        entry = BackendResult(name=name, status="ok" if reason is None else "unavailable",
                              emulated=cls.emulated if cls else False)  # before provisioning: what the class declares
        listed.append((name, entry))
        state = "available" if reason is None else "unavailable: " + reason
        if cls is not None and cls.not_in_all:
            state += f" (not in the default run: {cls.not_in_all})"
        print(f"{labels.marked(name, entry):<20} {kind:<9} {state}")
    for line in labels.mark_legend(listed):
        print(line)
    return EXIT_OK


def check_writable(path: Path, what: str = "results", option: str = "--out") -> None:
    """`path` can be written as a file (its folder is made if missing), else a UsageError."""
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder; give a file name, e.g. {path / 'results.json'}")
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".storebench-write-test-{path.name}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"cannot write {what} to {folder}: {exc.strerror or exc}; choose another {option}") from None


def check_apart_from_reports(out: Path, reports: Path) -> None:
    """A results file the reports written after the run would overwrite, else a UsageError."""
    from storebench.reports import REPORT_SUFFIXES

    if out.resolve().parent == reports.resolve() and out.suffix.lower() in REPORT_SUFFIXES:
        raise UsageError(f"--out {out} is in --reports {reports}, where the reports write their "
                         f"{'/'.join(REPORT_SUFFIXES)} files; give the results a .json name or another folder")


def check_sqlalchemy_url(text: str) -> None:
    """A --sqlalchemy-url the SQLAlchemy backends can use, else a UsageError (credentials redacted)."""
    from sqlalchemy.exc import ArgumentError

    from storebench.backends.base import StoreError, Target
    from storebench.backends.sqlalchemy_support import database_url

    try:
        database_url(Target(), Settings(sqlalchemy_url=text))
    except ArgumentError:
        raise UsageError(f"--sqlalchemy-url {redact_url(text)!r} is not a database URL; "
                         "e.g. sqlite:///file.db or sqlite+libsql://127.0.0.1:8080?secure=false") from None
    except StoreError as exc:
        raise UsageError(str(exc)) from None


def parse_inject(text: str | None, names: list[str]) -> inject_mod.Injection | None:
    """The --inject spec, for one of the backends being run."""
    return None if text is None else inject_mod.parse(text, names)


def check_arrivals(rate: float | None, arrivals: str | None) -> str:
    """The arrival process of an open-loop run; --arrivals without --rate would do nothing."""
    if arrivals is not None and rate is None:
        raise UsageError(f"--arrivals {arrivals} needs --rate: without a rate the run is closed-loop, with no arrivals")
    return arrivals or "poisson"


def check_cpu(cpu: int | None) -> None:
    """A --pin-cpu this process may run on, else a UsageError."""
    if cpu is None:
        return
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if cpu not in allowed:
        raise UsageError(f"--pin-cpu {cpu}: not a CPU this process may use here; choose one of "
                         f"{', '.join(map(str, allowed)) or '(none: this OS cannot pin processes)'}")


def timestamped(prefix: str = "") -> Path:
    """A new results file in results/: the UTC start time to the second, then a random suffix,
    so two runs started in the same second never share a file (the names still sort by time)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path("results") / f"{prefix}{stamp}-{uuid.uuid4().hex[:6]}.json"


def results_paths(out: Path | None) -> tuple[Path, Path | None]:
    """(the results file, the copy named latest.json or None): --out, or a new timestamped
    file in results/ with results/latest.json beside it."""
    if out is not None:
        return out, None
    return timestamped(), Path("results") / "latest.json"


def interrupted(results: ResultsFile, signalled: KeyboardInterrupt) -> Interrupted:
    """What Ctrl-C or SIGTERM leaves: every sample measured so far, saved, or nothing."""
    data = results.data
    if not results.written:
        return Interrupted("nothing had been measured; no results file was written", signalled)
    measured = [b.name for b in data.backends if any(o.n for o in data.ops if o.backend == b.name)]
    return Interrupted(f"everything measured so far is in {results.path} (complete: false): "
                       f"{sum(o.n for o in data.ops):,} samples of "
                       f"{', '.join(measured or [b.name for b in data.backends])}", signalled)


def cmd_run(args: argparse.Namespace) -> int:
    # Every path and option is checked first, before the heavier imports and any backend.
    register_backend_modules(args.backend_module)
    names = parse_backends(args.backends)
    check_named_available(args.backends, names)
    out, latest = results_paths(args.out)
    for path in (out, latest):
        if path is not None:
            check_writable(path)
    check_writable(args.reports / "index.html", "reports", "--reports")
    check_apart_from_reports(out, args.reports)
    if args.sqlalchemy_url:
        check_sqlalchemy_url(args.sqlalchemy_url)
    injection = parse_inject(args.inject, names)
    check_cpu(args.pin_cpu)
    params = params_for(args.profile, conversations=args.conversations, messages=args.messages,
                        iterations=args.iterations, warmup=args.warmup, cold_starts=args.cold_starts,
                        probes=args.probes, load_every=args.load_every)
    arrivals = check_arrivals(args.rate, args.arrivals)
    if args.rate and params.iterations * len(OPS) / args.rate > MAX_SCHEDULE_S:
        raise UsageError(f"--rate {args.rate:g} would take {params.iterations * len(OPS) / args.rate:.0f} s "
                         f"per backend (limit {MAX_SCHEDULE_S} s); raise --rate or lower --iterations")
    settings = Settings(synchronous=args.synchronous, busy_timeout_ms=args.busy_timeout_ms,
                        rtt_ms=args.rtt_ms, sqlalchemy_url=args.sqlalchemy_url, op_timeout_s=args.op_timeout_s)

    from rich.console import Console

    from storebench.capabilities import preflight
    from storebench.core import coordinator, openloop, runner
    from storebench.model import overhead_ratio
    from storebench.reports import report, summary

    preflight.check(names, settings)

    console = Console(stderr=True)
    if not console.is_terminal:  # rich assumes 80 columns when piped; the tables need more
        console.width = 120
    recorded = {**settings.__dict__, "sqlalchemy_url": redact_url(settings.sqlalchemy_url)}
    load = openloop.OpenLoop(args.rate, arrivals) if args.rate else None
    extra = {"rate": args.rate, "arrivals": arrivals if load else None, "concurrency": args.concurrency,
             "sweeps": [f"{s.param}={','.join(map(str, s.values))}" for s in args.sweep],
             "inject": injection.record() if injection else None,
             "processes": args.processes if load is None else 1, "pin_cpu": args.pin_cpu}
    data = Results.new(args.profile, {**params.__dict__, "settings": recorded, **extra}, args.seed)
    # How busy the machine was (1-minute load average, start and end): lets `check` warn that a
    # change may be a noisy neighbour rather than the code.
    data.run.load_average = results_mod.LoadAverage(start=results_mod.load_average(), end=None)
    data.overhead = results_mod.Overhead.from_dict(runner.measure_overhead())

    results = ResultsFile(out, data)

    def save(entry: dict, ops: list[dict]) -> None:  # after each backend, and what Ctrl-C interrupted
        # The measuring side's entries are plain dicts (they cross process boundaries as JSON);
        # here they become the results model's.
        data.backends.append(BackendResult.from_dict(entry))
        data.ops.extend(OpResult.from_dict(o) for o in ops)
        if entry.get("status") != "failed" or ops or results.written:  # nothing measured: no file yet
            results.save()

    note = None if args.no_progress else console.print
    try:
        with summary.progress_bar(console, names, disabled=args.no_progress) as progress:
            if load is None:  # closed loop: worker processes, interleaved (docs/measurement.md)
                coordinator.measure(coordinator.backend_specs(names, injection), params, args.seed, settings,
                                    args.processes, args.pin_cpu, progress=progress,
                                    done=lambda m: save(m.entry, m.ops))
            else:  # open loop: one arrival schedule per backend, in this process
                for name in names:
                    started = time.monotonic()
                    entry, ops = runner.run_backend(name, params, args.seed, settings, progress, load, injection, note)
                    entry["wall_s"] = round(time.monotonic() - started, 2)  # everything: server, run, probes
                    save(entry, ops)
        run_load_stages(args, names, params, settings, results, console)
    except KeyboardInterrupt as signalled:
        raise interrupted(results, signalled) from None
    overhead_ratio.add_overhead_ratios(data)
    data.complete = True
    data.run.load_average.end = results_mod.load_average()
    data.run.finished_at = results_mod.now_iso()
    results.save()
    if latest is not None and results.problem is None:
        data.dump(latest)
    summary.print_summary(console, data)
    summary.print_load_summary(console, data)
    console.print(f"results: {results.path}")
    with console.status("writing the reports (decision matrix, latency report, plots, index.html)"):
        written = report.write_reports([results.path], args.reports)
    console.print(f"reports: {written[0].parent}/ ({', '.join(p.name for p in written)})")
    failures = summary.failure_paragraph(data, results.path)
    if results.problem:  # measured, but not where asked
        failures = "\n".join(filter(None, [failures, f"{results.problem}; the results are in {results.path}"]))
    if failures:  # last, so it is what the user sees; plain print keeps it one paragraph
        print(failures, file=sys.stderr)
    return EXIT_FAILED if failures else EXIT_OK


def run_load_stages(args: argparse.Namespace, names: list[str], params, settings: Settings, results: ResultsFile,
                    console) -> None:
    """The optional sweep and concurrency stages, each saved as soon as it is measured."""
    from storebench.core import concurrency, sweep

    data = results.data

    for spec in args.sweep:
        rounds = args.iterations or sweep.SWEEP_ROUNDS
        warmup = sweep.SWEEP_WARMUP if args.warmup is None else args.warmup
        measured = sweep.run_sweep(names, spec, params, args.seed, settings, rounds, warmup, note=console.print)
        data.sweeps = [*(data.sweeps or []), Sweep.from_dict(measured)]
        results.save()
    for clients in args.concurrency or []:
        for name in names:
            entry = ConcurrencyResult.from_dict(concurrency.run_clients(name, params, args.seed, settings, clients))
            data.concurrency = [*(data.concurrency or []), entry]
            console.print(f"concurrency {clients} {name}: {entry.status}")
            results.save()



def cmd_report(args: argparse.Namespace) -> int:
    from storebench.reports import ab_report, report

    runs = report.load_runs(args.results, args.out)  # every file is valid before anything is written
    check_writable(args.out / "index.html", "reports")
    if ab_report.is_ab(runs[-1].data):  # a side-by-side job has its own page
        written = ab_report.render(runs[-1].data, args.out)
    else:
        written = report.render(runs, args.out)
    for path in written:
        print(path)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from storebench.gate import check

    if args.summary:
        check_writable(args.summary, "the summary", "--summary")
    options = check.Options(
        metrics=check.parse_metrics(args.metric), min_effect=check.parse_percent(args.min_effect),
        alpha=check.parse_alpha(args.alpha),
        relative_to=check.parse_reference(args.relative_to) if args.relative_to else None,
        allow_mismatch=args.allow_mismatch,
        confirmed=args.confirm is not None)
    confirm = check.load_any(args.confirm) if args.confirm else None
    outcome = check.compare(check.load_any(args.baseline), check.load_any(args.current), options, confirm)
    if not outcome.judged:
        reasons = sorted({c.note for c in outcome.comparisons if c.note})
        raise UsageError(f"no comparison could be judged ({'; '.join(reasons)})")
    if args.summary:
        args.summary.write_text(check.markdown(outcome), encoding="utf-8")
    check.print_table(outcome)
    return EXIT_FAILED if outcome.regressions else EXIT_OK


def cmd_swarm(args: argparse.Namespace) -> int:
    from storebench.core import swarm

    names = [] if args.worker else parse_backends(args.backends)
    out = args.out or timestamped("swarm-")
    swarm.check_input(args, names)
    if not args.worker:
        check_writable(out)
    return swarm.run(args, names, out)  # on Ctrl-C, it saves the backends finished and stops every process



def parse_pin(text: str) -> int | None:
    from storebench.gate import ab

    if text == "none":
        return None
    if text == "auto":
        return ab.default_cpu()
    try:
        cpu = int(text)
    except ValueError:
        raise UsageError(f"--pin-cpu {text!r}: expected a CPU number, auto or none") from None
    check_cpu(cpu)
    return cpu


def cmd_ab(args: argparse.Namespace) -> int:
    from rich.console import Console

    from storebench.gate import ab, ab_budget, ab_verdict, check
    from storebench.reports import summary

    modules = ab.side_modules(args.backend_module, {"base": args.base_dir, "head": args.head_dir})
    # This process plans the groups with head's version of a user's class; the workers of each
    # side load their own (Plan.backend_modules).
    register_backend_modules(modules["head"].split(";") if modules else [])
    names = parse_backends(args.backends)
    budget_s = ab_budget.parse_budget(args.budget) if args.budget is not None else None
    if args.max_pairs is None:
        args.max_pairs = ab_budget.MOST_PAIRS if budget_s else ab.DEFAULT_MAX_PAIRS
    if args.max_pairs < args.pairs:
        raise UsageError(f"--max-pairs {args.max_pairs} is below --pairs {args.pairs}")
    metrics = ab.parse_metrics(args.metric, names)
    if args.budget is None:
        ab.check_rounds(args.rounds, metrics)
    if args.budget is None and ab.rounds_needed(metrics) > args.rounds:
        raise UsageError(f"--metric {args.metric} needs --rounds {ab.rounds_needed(metrics)} or more "
                         "(5 samples beyond the percentile in every pair and side)")
    alpha = check.parse_alpha(args.alpha)
    python = {side: ab.check_python(side, getattr(args, f"{side}_python")) for side in ab.SIDES}
    ab.check_backends(python, names, modules)
    inject = {side: getattr(args, f"{side}_inject") for side in ab.SIDES}
    for spec in inject.values():
        parse_inject(spec, names)
    for path, what, option in ((args.out, "results", "--out"), (args.summary, "summary", "--summary")):
        if path is not None:
            check_writable(path, what, option)
    plan = ab.Plan(tuple(names), python, params_for(args.profile, probes=False, cold_starts=0), args.seed, Settings(),
                   metrics, args.rounds, args.pairs, args.max_pairs, inject, parse_pin(args.pin_cpu), alpha,
                   modules)
    data = Results.new(args.profile, {**plan.params.__dict__, "iterations": args.rounds}, args.seed)
    data.run.kind = "ab"
    console = Console(stderr=True)
    with summary.progress_bar(console, [f"{n}@{side}" for n in names for side in ab.SIDES],
                              disabled=args.no_progress) as progress:
        outcome, spent = ab_budget.run(plan, budget_s, progress) if budget_s else (ab.run(plan, progress), None)
    data.backends, data.ops = ab.entries(outcome)
    data.ab = ab.results_section(plan, outcome)
    data.ab.budget = asdict(spent) if spent else None
    data.complete = True
    data.dump(args.out)
    context = [*ab.failures(outcome), *(ab_budget.summary_lines(spent) if spent else [])]
    text = ab_verdict.summary_markdown(outcome.verdicts, "\n".join(context))
    if args.summary:
        args.summary.write_text(text, encoding="utf-8")
    print(text)
    print(f"results: {args.out}")
    if outcome.overall == ab_verdict.NOT_JUDGED:  # as `check`: a job that judged nothing is no pass
        print(f"storebench: error: no comparison could be judged "
              f"({ab_verdict.why_not_judged(outcome.verdicts, ab.failures(outcome))})", file=sys.stderr)
    return outcome.exit_code


COMMANDS = {"run": cmd_run, "report": cmd_report, "check": cmd_check, "ab": cmd_ab, "swarm": cmd_swarm,
            "backends": cmd_backends}


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM raises `Terminated` in the main thread: a run stops what it started and saves
    what it measured, as on Ctrl-C (by default Python would die on the spot, saving nothing)."""

    def terminate(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        backends.register_plugins()
        if backends.PLUGIN_ERRORS:
            raise UsageError(backends.PLUGIN_ERRORS[0])
        with sigterm_as_interrupt():
            return COMMANDS[args.command](args)
    except UsageError as exc:  # every user error, from any module: one line, exit 2
        if debug:
            traceback.print_exc()
        print(f"storebench: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Interrupted as exc:
        print(f"storebench: interrupted; {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt as exc:
        print("storebench: interrupted", file=sys.stderr)
        return exit_status(exc)
    except Exception as exc:
        if debug:
            raise
        print(f"storebench: error: {type(exc).__name__}: {exc} (run with --debug for a traceback)", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
