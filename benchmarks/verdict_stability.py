"""Whether the recommendation gives the same answer run after run, and still resolves a real
difference between two close backends (issue 32).

    python benchmarks/verdict_stability.py [--runs 5] [--inject] [-- ARGS of storebench run]

Runs `storebench run ARGS` (without ARGS: the default command) N times back to back and reads
each run's recommendation from its results file (`report.decisions`): per phase line, the
names it recommends and whether they tie. It prints, per line, each answer (names and tie
group, figures aside) and how many runs gave it.

With --inject it then takes, from the first run, the closest pair of a line — its first name
and the runner-up, within 15 % of each other by their paired ratio — whose cheaper one the
harness can slow (a Python client: the Node and browser systems time their calls in their own
runtime, where no delay can be injected), and makes N more runs with `--inject
CHEAPER.all=+10%`: every op of the cheaper one 10 % slower. In each it compares the two again;
the difference should be resolved (the ranking flipped, or still resolved either way) rather
than called a tie.

Exit status 0 when every line gave the same answer in every run and, with --inject, the
injected pair was resolved in at least 4 of 5 runs (80 %); else 1. Everything it writes goes
to a temporary folder. The runs take as long as the command does (the default run: minutes
each), and they measure the machine as it is: run it on an idle one.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from storebench.model.results import Results
from storebench.reports import labels, paired, report

ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT_S = 1800
CLOSE = 1.15  # two backends within 15 % of each other
INJECT = "+10%"
RESOLVED_SHARE = 0.8

Line = tuple[str, int]  # (stack, phase)


def storebench_run(tmp: Path, label: str, args: list[str]) -> Results:
    """One `storebench run ARGS`, its results file read back."""
    out = tmp / f"{label}.json"
    subprocess.run([sys.executable, "-m", "storebench", "run", *args, "--no-progress", "--out", str(out),
                    "--reports", str(tmp / f"{label}-reports")],
                   cwd=ROOT, check=True, capture_output=True, timeout=RUN_TIMEOUT_S)
    return Results.load(out)


def answers(data: Results) -> dict[Line, str]:
    """Each line's answer without figures: the name, "tie: a, b" (sorted), or "not answered"."""
    out = {}
    for found in report.decisions(report.Run("run", data)):
        if isinstance(found, report.Decision):
            out[(found.stack, found.phase)] = ("tie: " + ", ".join(sorted(found.names)) if found.ties
                                               else found.names[0])
        else:
            out[(found[0], found[1])] = "not answered"
    return out


def close_pair(data: Results) -> tuple[str, str, float] | None:
    """(cheaper, runner-up, the cheaper's cost over the runner-up's) of the closest pair within
    CLOSE whose cheaper one can be injected (not a self-timed Node or browser system), or None."""
    pairs = []
    for found in report.decisions(report.Run("run", data)):
        if not isinstance(found, report.Decision) or found.names[0] in labels.APP_STACK:
            continue
        for c in found.others:
            if c.estimate is not None and c.estimate <= CLOSE:
                pairs.append((found.names[0], c.backend, 1 / c.estimate))
    return max(pairs, key=lambda p: p[2]) if pairs else None


def is_resolved(c: paired.Comparison) -> bool:
    return c.outcome in (paired.CHEAPER, paired.DEARER)


def print_stability(by_run: list[dict[Line, str]]) -> bool:
    """Per line, each answer and its count; whether every line gave one answer in every run."""
    same = True
    lines = list(dict.fromkeys(line for run in by_run for line in run))
    for line in lines:
        counts = Counter(run.get(line, "missing") for run in by_run)
        same = same and len(counts) == 1
        label = f"{'Next.js app' if line[0] == 'node' else 'Python app'}, phase {line[1]}"
        print(f"{label:<24} " + " | ".join(f"{answer}: {n}/{len(by_run)}" for answer, n in counts.most_common()))
    return same


def run_injected(tmp: Path, runs: int, args: list[str], pair: tuple[str, str, float]) -> bool:
    cheaper, runner, before = pair
    spec = f"{cheaper}.all={INJECT}"
    print(f"\n--inject {spec}: `{cheaper}` cost {before:.3f}x `{runner}` without it (first run)")
    resolved = 0
    for i in range(runs):
        data = storebench_run(tmp, f"inject{i}", [*args, "--inject", spec])
        c = paired.compare(data, cheaper, runner)
        resolved += is_resolved(c)
        print(f"  run {i + 1}: {c.text()}: {c.outcome}", flush=True)
    print(f"resolved (flipped or still different): {resolved}/{runs} (target: {RESOLVED_SHARE:.0%})")
    return resolved >= RESOLVED_SHARE * runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--inject", action="store_true",
                        help=f"then slow the cheaper of the closest pair by {INJECT}% in --runs more runs")
    parser.add_argument("run_args", nargs=argparse.REMAINDER, help="-- then the arguments of storebench run")
    args = parser.parse_args()
    run_args = args.run_args[1:] if args.run_args[:1] == ["--"] else args.run_args
    if args.runs < 2:
        parser.error("--runs must be at least 2: stability needs two runs")
    if any(a == "--inject" or a.startswith("--inject=") for a in run_args):
        parser.error("give --inject to this script, not to storebench run")
    with tempfile.TemporaryDirectory() as folder:
        try:
            return measure(Path(folder), args.runs, args.inject, run_args)
        except subprocess.CalledProcessError as exc:
            last = (exc.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
            print(f"a run failed (exit {exc.returncode}): {last}", file=sys.stderr)
            return 1


def measure(tmp: Path, runs: int, inject: bool, run_args: list[str]) -> int:
    results = []
    for i in range(runs):
        results.append(storebench_run(tmp, f"run{i}", run_args))
        print(f"run {i + 1}/{runs} done", file=sys.stderr, flush=True)
    same = print_stability([answers(data) for data in results])
    if not inject:
        return 0 if same else 1
    pair = close_pair(results[0])
    if pair is None:
        print(f"\n--inject: no line of the first run has two backends within {CLOSE - 1:.0%} of each other whose "
              "cheaper one can be injected (a Python client)")
        return 1
    return 0 if run_injected(tmp, runs, run_args, pair) and same else 1


if __name__ == "__main__":
    raise SystemExit(main())
