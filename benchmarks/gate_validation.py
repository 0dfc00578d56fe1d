"""Measure the error rates of `storebench check` on this machine, with real runs.

    python benchmarks/gate_validation.py [--pairs 20] [--backends sqlite3,apsw,libsql]
                                         [--target sqlite3.add_message[,...]] [--out PATH]

Each trial is three back-to-back real `storebench run` invocations: a baseline A, a current
B and a second current C (B and C get the same injected delay, if any). It is judged twice
with check's defaults: `check A B` (one current run) and `check A B --confirm C`. Experiments:

1. A/A smoke: no delay. A trial is a false positive when check flags anything.
2. For each target, smoke with `--inject TARGET=+10%`: detected when TARGET's p50 is flagged;
   a flag on any other backend/op counts as a false positive.
3. +25% on the first target with --iterations 1000 on its backend alone, judged on p99 (p99
   of smoke's 40 samples is their maximum, which check does not judge), and A/A trials of that
   size.

Prints (and with --out writes) a markdown table with the machine and date.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storebench.gate import check  # noqa: E402
from storebench.model.results import Results, cpu_model  # noqa: E402

RUN_TIMEOUT_S = 600
CORES = os.cpu_count() or 1


@dataclass
class Tally:
    """Counts for one way of judging (single check, or with --confirm)."""

    detected: int = 0
    false_trials: int = 0

    def add(self, outcome: check.Outcome, target: tuple[str, str] | None, metric: str) -> str:
        hit = [c for c in outcome.regressions if (c.backend, c.op) == target and c.metric == metric]
        # A flag on the target op's other metric is true too: the delay moves every percentile.
        others = [c for c in outcome.regressions if (c.backend, c.op) != target]
        self.detected += bool(hit)
        self.false_trials += bool(others)
        return ", ".join(f"{c.backend}.{c.op} {c.metric} {check.fmt_change(c.ratio)}"
                         for c in outcome.regressions) or "nothing"


@dataclass
class Experiment:
    name: str
    trials: int
    target: tuple[str, str] | None
    single: Tally = field(default_factory=Tally)
    confirmed: Tally = field(default_factory=Tally)
    changes: list[float] = field(default_factory=list)
    busy: int = 0


def run(out: Path, backends: str, extra: list[str]) -> Results:
    """One real `storebench run`, as a user would start it."""
    cmd = [sys.executable, "-m", "storebench", "run", "--profile", "smoke", "--backends", backends,
           "--no-progress", "--out", str(out), *extra]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return Results.load(out)


def busiest_load(data: Results) -> float:
    """The higher 1-minute load average seen at the start and end of a run (0 if unknown)."""
    load = data.run.load_average
    values = (load.start, load.end) if load else ()
    return max((v for v in values if isinstance(v, (int, float))), default=0.0)


def experiment(name: str, trials: int, backends: str, extra: list[str], inject: str | None,
               target: tuple[str, str] | None, metric: str, folder: Path) -> Experiment:
    result = Experiment(name, trials, target)
    injected = extra + (["--inject", inject] if inject else [])
    for i in range(trials):
        a = run(folder / f"{i}-a.json", backends, extra)
        b = run(folder / f"{i}-b.json", backends, injected)
        c = run(folder / f"{i}-c.json", backends, injected)
        single = check.compare(a, b, check.Options())
        confirmed = check.compare(a, b, check.Options(confirmed=True), confirm=c)
        flags = result.single.add(single, target, metric)
        flags_confirmed = result.confirmed.add(confirmed, target, metric)
        result.changes += [x.ratio for x in single.comparisons
                           if target and (x.backend, x.op) == target and x.metric == metric and x.ratio]
        load_seen = max(busiest_load(a), busiest_load(b), busiest_load(c))
        result.busy += load_seen > CORES
        print(f"{name} {i + 1}/{trials} (load {load_seen:g}): flagged {flags}; with --confirm: {flags_confirmed}",
              file=sys.stderr)
    return result


def rate(count: int, trials: int) -> str:
    return f"{count}/{trials} ({count / trials:.0%})"


def report(results: list[Experiment], args: argparse.Namespace, started: str) -> str:
    o = check.Options()
    lines = [
        f"Measured {started} on {cpu_model()} ({CORES} cores), by `python benchmarks/gate_validation.py "
        f"--pairs {args.pairs} --backends {args.backends} --target {args.target}`; check defaults: metrics "
        f"{','.join(o.metrics)}, min effect {o.min_effect:.0%}, alpha {o.alpha:g}.",
        "",
        "| experiment | trials | target flagged | trials with a false flag | target flagged, --confirm "
        f"| false flag, --confirm | change of target (check's estimate) | trials at load > {CORES} |",
        "|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in results:
        spread = "-"
        if r.changes:
            ch = sorted(r.changes)
            spread = (f"median {check.fmt_change(ch[len(ch) // 2])}, "
                      f"range {check.fmt_change(ch[0])} to {check.fmt_change(ch[-1])}")
        hit = rate(r.single.detected, r.trials) if r.target else "-"
        hit_confirmed = rate(r.confirmed.detected, r.trials) if r.target else "-"
        lines.append(f"| {r.name} | {r.trials} | {hit} | {r.single.false_trials}/{r.trials} | {hit_confirmed} "
                     f"| {r.confirmed.false_trials}/{r.trials} | {spread} | {r.busy}/{r.trials} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20, help="trials per experiment (default 20)")
    parser.add_argument("--backends", default="sqlite3,apsw,libsql", help="backends of the smoke runs")
    parser.add_argument("--target", default="sqlite3.add_message",
                        help="BACKEND.OP that gets the injected delay; comma-separated for several "
                             "(p50 experiment for each, p99 for the first)")
    parser.add_argument("--out", type=Path, help="also write the markdown report here")
    args = parser.parse_args()
    targets = [tuple(t.strip().split(".", 1)) for t in args.target.split(",") if t.strip()]
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    big = ["--iterations", "1000", "--cold-starts", "0"]
    first = targets[0]
    plan = [("A/A smoke", args.backends, [], None, None, "p50")]
    plan += [(f"+10% on {'.'.join(t)}, smoke, p50", args.backends, [], f"{'.'.join(t)}=+10%", t, "p50")
             for t in targets]
    plan += [(f"A/A 1000 rounds, {first[0]} only", first[0], big, None, None, "p99"),
             (f"+25% on {'.'.join(first)}, 1000 rounds, p99", first[0], big, f"{'.'.join(first)}=+25%", first, "p99")]
    results = []
    for name, backends, extra, inject, target, metric in plan:
        with tempfile.TemporaryDirectory(prefix="storebench-gate-") as tmp:
            results.append(experiment(name, args.pairs, backends, extra, inject, target, metric, Path(tmp)))
    text = report(results, args, started)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
