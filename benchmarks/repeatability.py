"""Whether the same command gives the same answer, and how far the machine itself lets it.

Issue 17's target: back-to-back runs of

    storebench run --profile quick --no-probes --backends sqlite3,apsw,libsql

on an idle machine give every op's p50 within a 5 % coefficient of variation (sample standard
deviation / mean) and the same phase-1 recommendation line each time.

After each run, `benchmarks/harness_vs_bare.py` times the same statements in a bare loop, in
a fresh process with no harness in between. The bare loop's run-to-run CV is the floor the
machine sets; no harness can go below it.

Per op this prints each run's p50, the CV, and the bare loop's CV. It also prints the CV left
once each run's *run factor* is divided out. The run factor is the geometric mean, over all
ops, of the run's p50 relative to that op's geometric mean over the runs: a shift that hits
every op and backend of a run alike. The residual CV is the harness's own repeatability.

    python benchmarks/repeatability.py [--runs 5] [--backends sqlite3,apsw,libsql] [--no-bare]

Exit status 0 when every op's CV is within 5 % and the recommendation was the same in every
run, else 1. Everything it writes goes to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from storebench.core.workload import OPS
from storebench.model.results import Results
from storebench.model.stats import cv
from storebench.reports import report

ROOT = Path(__file__).resolve().parent.parent
TARGET_CV = 0.05
RUN_TIMEOUT_S = 600

Key = tuple[str, str]  # (backend, op)


def harness_run(tmp: Path, i: int, backends: str) -> tuple[dict[Key, float], str]:
    """One run of the issue's command: each op's p50 in µs, and the phase-1 recommendation."""
    out, reports = tmp / f"run{i}.json", tmp / f"reports{i}"
    subprocess.run([sys.executable, "-m", "storebench", "run", "--profile", "quick", "--no-probes",
                    "--backends", backends, "--no-progress", "--out", str(out), "--reports", str(reports)],
                   cwd=ROOT, check=True, capture_output=True, timeout=RUN_TIMEOUT_S)
    data = Results.load(out)
    p50s = {(o.backend, o.op): o.p50_ms * 1e3 for o in data.ops if o.op in OPS and o.p50_ms is not None}
    return p50s, chosen(data)


def chosen(data: Results) -> str:
    """The backends the phase-1 answer for a Python app recommends (these are Python clients),
    one, or several that tie (sorted), without figures; "" when there is none."""
    found = next((d for d in report.decisions(report.Run("run", data))
                  if isinstance(d, report.Decision) and (d.stack, d.phase) == ("python", 1)), None)
    if found is None:
        return ""
    return ", ".join(sorted(found.names)) if found.ties else found.names[0]


def bare_run(tmp: Path, i: int) -> dict[Key, float]:
    """The bare loop's p50 in µs of every (driver, op) harness_vs_bare.py times."""
    out = tmp / f"bare{i}.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "harness_vs_bare.py"), "--json", str(out)],
                   cwd=ROOT, check=True, capture_output=True, timeout=RUN_TIMEOUT_S)
    return {(r["backend"], r["op"]): r["bare_p50_us"] for r in json.loads(out.read_text())}


def run_factors(table: dict[Key, list[float]]) -> list[float]:
    """Each run's common factor: the geometric mean over ops of p50 / the op's geometric mean."""
    runs = len(next(iter(table.values())))
    logs = {k: [math.log(v) for v in values] for k, values in table.items()}
    centred = {k: [x - statistics.fmean(v) for x in v] for k, v in logs.items()}
    return [math.exp(statistics.fmean(c[i] for c in centred.values())) for i in range(runs)]


def residual_cv(values: list[float], factors: list[float]) -> float | None:
    return cv([v / f for v, f in zip(values, factors)])


def percent(value: float | None) -> str:
    return "   -" if value is None else f"{value * 100:4.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backends", default="sqlite3,apsw,libsql")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare-loop reference after each run")
    args = parser.parse_args()
    if args.runs < 2:
        parser.error("--runs must be at least 2: a CV needs two runs")
    runs: list[dict[Key, float]] = []
    bares: list[dict[Key, float]] = []
    chosen_by_run: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            try:
                p50s, choice = harness_run(Path(tmp), i, args.backends)
                runs.append(p50s)
                chosen_by_run.append(choice)
                if not args.no_bare:
                    bares.append(bare_run(Path(tmp), i))
            except subprocess.CalledProcessError as exc:
                last = (exc.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
                print(f"run {i + 1} failed (exit {exc.returncode}): {last}", file=sys.stderr)
                return 1
            print(f"run {i + 1}/{args.runs} done", file=sys.stderr, flush=True)
    keys = sorted(set.intersection(*(set(r) for r in runs)), key=lambda k: (k[0], OPS.index(k[1])))
    table = {k: [r[k] for r in runs] for k in keys}
    factors = run_factors(table)
    bare_table = {k: [b[k] for b in bares] for k in keys if bares and all(k in b for b in bares)}
    print(f"{'backend':<10}{'op':<21}{'p50 µs per run':<{9 * args.runs + 1}}{'CV %':>6}{'resid %':>8}{'bare %':>8}")
    worst = 0.0
    for k in keys:
        spread = cv(table[k]) or 0.0
        worst = max(worst, spread)
        print(f"{k[0]:<10}{k[1]:<21}" + "".join(f"{v:9.1f}" for v in table[k])
              + f"  {percent(spread):>5}{percent(residual_cv(table[k], factors)):>8}"
              + f"{percent(cv(bare_table[k]) if k in bare_table else None):>8}")
    print("run factor:         " + " ".join(f"{f:.3f}" for f in factors))
    if bare_table:
        print("bare run factor:    " + " ".join(f"{f:.3f}" for f in run_factors(bare_table)))
        print(f"bare loop's largest CV: {max(cv(v) or 0 for v in bare_table.values()) * 100:.1f} %")
    print(f"largest CV: {worst * 100:.1f} % (target: within {TARGET_CV * 100:.0f} %)")
    print(f"phase-1 recommendation per run: {' | '.join(c or 'none' for c in chosen_by_run)}")
    same = len(set(chosen_by_run)) == 1 and chosen_by_run[0] != ""
    return 0 if worst <= TARGET_CV and same else 1


if __name__ == "__main__":
    raise SystemExit(main())
