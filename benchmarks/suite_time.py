"""How long the benchmark itself takes: `smoke` and the default `quick` over all backends.

Each profile runs as a user would run it (`storebench run --profile P --backends all`, a real
process), timed by the wall clock from start to exit. Budgets (issues 8 and 17, on 2 cores):
smoke within 20 s, quick (the default run, `make bench`) within 120 s. Also prints the null-op
harness overhead each run recorded (target: p50 at most 1 µs) and which backends ran, so a budget
is never met by skipping one.

    python benchmarks/suite_time.py [--profiles smoke,quick] [--backends all]

Exit status 1 when a budget is exceeded or a run failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from storebench.model.results import Results

ROOT = Path(__file__).resolve().parent.parent
BUDGETS_S = {"smoke": 20.0, "quick": 120.0}
OVERHEAD_LIMIT_NS = 1000
RUN_TIMEOUT_S = 1800


def time_profile(profile: str, backends: str) -> tuple[float, Results | None, str]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "storebench", "run", "--profile", profile, "--backends", backends,
                               "--no-progress", "--out", str(out)],
                              cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        wall = time.perf_counter() - t0
        data = Results.load(out) if out.exists() else None
    last = (proc.stderr.strip().splitlines() or [""])[-1]
    problem = "" if proc.returncode == 0 else f"exit {proc.returncode}: {last}"
    return wall, data, problem


def load_range(data: Results | None) -> str:
    """The run's 1-minute load average at start and end: how idle the machine was."""
    load = data.run.load_average if data else None
    return f"{load.start} -> {load.end}" if load else "None -> None"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default="smoke,quick")
    parser.add_argument("--backends", default="all")
    args = parser.parse_args()
    ok = True
    for profile in args.profiles.split(","):
        wall, data, problem = time_profile(profile, args.backends)
        budget = BUDGETS_S.get(profile)
        within = budget is None or wall <= budget
        ok &= within and not problem
        statuses = ", ".join(f"{b.name}={b.status}" for b in (data.backends if data else []))
        null_op = data.overhead.p50_ns if data and data.overhead else None
        print(f"{profile:<6} {wall:6.1f} s (budget {budget if budget else '-'} s: {'ok' if within else 'OVER'}; "
              f"load average {load_range(data)}); "
              f"null-op p50 {'?' if null_op is None else null_op} ns (limit {OVERHEAD_LIMIT_NS}); "
              f"{statuses} {problem}".rstrip(),
              flush=True)
        if (null_op or 0) > OVERHEAD_LIMIT_NS:
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
