"""Measure the error rates of `storebench ab` on this machine, with real runs.

    python benchmarks/ab_validation.py [--trials 20] [--scenarios aa,p50,p99,user-aa,user-p50] [--load idle,hog]
                                       [--backends sqlite3,apsw,libsql] [--out PATH]

Every trial is one real `storebench ab` invocation with this interpreter on both sides (the
same code: any difference between the sides is the machine's, or the injected delay):

- aa:  no delay, judged on p50 (ab's default). A false flag is any regression; an
       inconclusive trial is counted apart.
- p50: --head-inject sqlite3.delete_conversation=+10 %, judged on p50: detected when its p50 is a
       regression; a regression of any other op counts as a false flag.
- p99: --head-inject apsw.delete_conversation=+25 %, judged on p99 alone (500 rounds per
       pair: 5 samples beyond the p99 in every pair and side).

`--load hog` runs the same trials while one busy process (started and stopped by this script,
bounded by the script's own run) occupies a core. Prints, and with --out writes, a markdown
table with the machine, the date, the pairs used and the wall time per trial.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storebench.model.results import AbSection, Results, cpu_model  # noqa: E402

EXAMPLE = ROOT / "docs" / "example-backend"
USER_MODULE, USER_BACKEND = "teamstore/__init__.py:NoCacheStore", "sqlite3-nocache"
# The round's last op: a wait also slows the op right after it (see tests/test_ab.py), and
# load_all, which follows, is long enough not to notice. For p99 apsw's: sqlite3's
# delete_conversation has its p99 on a cliff below a WAL checkpoint, which no method judges
# (docs/regression-gate.md, "p99 is opt-in").
SCENARIOS = {
    "aa": {"target": None, "inject": None, "metric": "p50"},
    "p50": {"target": "sqlite3.delete_conversation", "inject": "+10%", "metric": "p50"},
    "p99": {"target": "apsw.delete_conversation", "inject": "+25%", "metric": "p99"},
    # A user's own backend (docs/example-backend) through --backend-module, the checkout's copy
    # on both sides: what a team's gate does with defaults.
    "user-aa": {"target": None, "inject": None, "metric": "p50", "user": True},
    "user-p50": {"target": f"{USER_BACKEND}.delete_conversation", "inject": "+10%", "metric": "p50", "user": True},
}
TRIAL_TIMEOUT_S = 900


@dataclass
class Tally:
    scenario: str
    load: str
    trials: int = 0
    detected: int = 0
    false_flags: int = 0
    inconclusive: int = 0
    pairs: list[int] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)

    def add(self, ab: AbSection, wall_s: float) -> None:
        regressions = {f"{v['backend']}.{v['op']}" for v in ab.verdicts if v["verdict"] == "regression"}
        target = SCENARIOS[self.scenario]["target"]
        self.trials += 1
        self.detected += target is not None and target in regressions
        self.false_flags += bool(regressions - {target})
        self.inconclusive += ab.overall == "inconclusive"
        self.pairs.append(ab.pairs)
        self.wall_s.append(wall_s)

    def row(self) -> str:
        detected = f"{self.detected}/{self.trials}" if SCENARIOS[self.scenario]["inject"] else "—"
        return (f"| {self.scenario} | {self.load} | {self.trials} | {detected} | {self.false_flags}/{self.trials} | "
                f"{self.inconclusive}/{self.trials} | {min(self.pairs)}–{max(self.pairs)} | "
                f"{sorted(self.wall_s)[len(self.wall_s) // 2]:.0f} s |")


@contextmanager
def background_load(kind: str) -> Iterator[None]:
    """`hog`: one busy Python process for as long as the block runs, then stopped."""
    if kind == "idle":
        yield
        return
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        hog.kill()
        hog.wait()


def trial(scenario: str, backends: str, workdir: Path) -> tuple[AbSection, float]:
    spec = SCENARIOS[scenario]
    out = workdir / f"{scenario}.json"
    command = [sys.executable, "-m", "storebench", "ab", "--base-python", sys.executable,
               "--head-python", sys.executable, "--metric", spec["metric"], "--no-progress", "--out", str(out)]
    if spec.get("user"):
        command += ["--backends", USER_BACKEND, "--backend-module", USER_MODULE, "--base-dir", str(EXAMPLE),
                    "--head-dir", str(EXAMPLE)]
    else:
        command += ["--backends", backends]
    if spec["target"]:
        command += ["--head-inject", f"{spec['target']}={spec['inject']}"]
    started = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True, timeout=TRIAL_TIMEOUT_S, cwd=workdir)
    if proc.returncode not in (0, 1, 3):
        raise SystemExit(f"storebench ab exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
    ab = Results.load(out).ab
    if ab is None:
        raise SystemExit(f"{out}: no `ab` section; not written by storebench ab")
    return ab, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--scenarios", default="aa,p50,p99,user-aa,user-p50")
    parser.add_argument("--load", default="idle,hog")
    parser.add_argument("--backends", default="sqlite3,apsw,libsql")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    tallies = []
    with tempfile.TemporaryDirectory(prefix="storebench-ab-validation-") as tmp:
        for load in args.load.split(","):
            with background_load(load):
                for scenario in args.scenarios.split(","):
                    tally = Tally(scenario, load)
                    for i in range(args.trials):
                        ab, wall = trial(scenario, args.backends, Path(tmp))
                        tally.add(ab, wall)
                        named = [f"{v['verdict']}: {v['backend']}.{v['op']} {v['metric']} {v['note']}".rstrip()
                                 for v in ab.verdicts if v["verdict"] in ("regression", "inconclusive")]
                        print(f"{scenario} {load} trial {i + 1}: {ab.overall}, {ab.pairs} pairs, {wall:.0f} s"
                              + "".join(f"; {n}" for n in named), flush=True)
                    tallies.append(tally)
    targets = ", ".join(f"{s} {SCENARIOS[s]['target']}" for s in args.scenarios.split(",") if SCENARIOS[s]["target"])
    lines = [f"Machine: {cpu_model()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, backends {args.backends}, "
             f"targets: {targets or 'none'}.", "",
             "| scenario | load | trials | detected | false flags | inconclusive | pairs | median wall |",
             "|---|---|---:|---:|---:|---:|---|---:|"] + [t.row() for t in tallies]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
