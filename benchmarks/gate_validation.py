"""Measure the error rates of `storebench check` on this machine, with real runs.

    python benchmarks/gate_validation.py [--pairs 20] [--backends sqlite3,apsw,libsql]
                                         [--target sqlite3.add_message] [--out docs/gate-validation.md]

Three experiments, each `--pairs` back-to-back pairs of real `storebench run` invocations,
judged by `storebench check` with its default options (p50,p99, min effect 7%, alpha 0.01):

1. A/A: two identical smoke runs. A pair is a false positive when check flags anything.
2. p50: a smoke run, then a smoke run with `--inject TARGET=+10%`. Detected when check flags
   TARGET's p50; any other flag in the pair counts as a false positive too.
3. p99: the same with +25% and --iterations 1000 on the target's backend alone (p99 of the
   smoke profile's 40 samples is their maximum, which check refuses to judge), plus A/A
   pairs at that size.

Prints (and with --out writes) a markdown report with the machine and date.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import check  # noqa: E402
from bench.results import cpu_model, load  # noqa: E402

RUN_TIMEOUT_S = 600
CORES = os.cpu_count() or 1


def run(out: Path, backends: str, extra: list[str]) -> dict:
    """One real `storebench run`, as a user would start it."""
    cmd = [sys.executable, "-m", "bench", "run", "--profile", "smoke", "--backends", backends,
           "--no-progress", "--out", str(out), *extra]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return load(out)


def judge(baseline: dict, current: dict) -> check.Outcome:
    return check.compare(baseline, current, check.Options())


def experiment(name: str, pairs: int, backends: str, extra: list[str], inject: str | None,
               target: tuple[str, str] | None, metric: str, folder: Path) -> dict:
    """`pairs` baseline/current pairs; counts detections of `target` and other flags."""
    detected = false_pairs = busy = 0
    changes = []
    for i in range(pairs):
        base = run(folder / f"{name}-{i}-a.json", backends, extra)
        cur = run(folder / f"{name}-{i}-b.json", backends, extra + (["--inject", inject] if inject else []))
        outcome = judge(base, cur)
        hit = [c for c in outcome.regressions if target and (c.backend, c.op) == target and c.metric == metric]
        # A flag on the target op's other metric is true too: the delay moves every percentile.
        others = [c for c in outcome.regressions if (c.backend, c.op) != target]
        detected += bool(hit)
        false_pairs += bool(others)
        if target:
            changes += [c.ratio for c in outcome.comparisons
                        if (c.backend, c.op) == target and c.metric == metric and c.ratio]
        load = max(busiest_load(base), busiest_load(cur))
        busy += load > CORES
        flags = ", ".join(f"{c.backend}.{c.op} {c.metric} {check.fmt_change(c.ratio)}" for c in outcome.regressions)
        print(f"{name} pair {i + 1}/{pairs} (load {load:g}): {flags or 'nothing flagged'}", file=sys.stderr)
    return {"name": name, "pairs": pairs, "detected": detected, "false_pairs": false_pairs, "changes": changes,
            "busy": busy}


def busiest_load(data: dict) -> float:
    """The higher 1-minute load average seen at the start and end of a run (0 if unknown)."""
    values = (data["run"].get("load_average") or {}).values()
    return max((v for v in values if isinstance(v, (int, float))), default=0.0)


def report(results: list[dict], args: argparse.Namespace, started: str) -> str:
    o = check.Options()
    lines = [
        f"Measured {started} on {cpu_model()} ({CORES} cores), "
        f"by `python benchmarks/gate_validation.py --pairs {args.pairs} --backends {args.backends} "
        f"--target {args.target}`; check defaults: metrics {','.join(o.metrics)}, min effect "
        f"{o.min_effect:.0%}, alpha {o.alpha:g}.",
        "",
        "| experiment | pairs | target flagged | pairs with a false flag | change of target (check's estimate) "
        f"| pairs run while load > {CORES} |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for r in results:
        target = f"{r['detected']}/{r['pairs']} ({r['detected'] / r['pairs']:.0%})" if r["changes"] else "-"
        spread = "-"
        if r["changes"]:
            ch = sorted(r["changes"])
            spread = f"median {check.fmt_change(ch[len(ch) // 2])}, range {check.fmt_change(ch[0])} to {check.fmt_change(ch[-1])}"
        lines.append(f"| {r['name']} | {r['pairs']} | {target} | {r['false_pairs']}/{r['pairs']} | {spread} "
                     f"| {r['busy']}/{r['pairs']} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--backends", default="sqlite3,apsw,libsql", help="backends of the smoke runs")
    parser.add_argument("--target", default="sqlite3.add_message",
                        help="BACKEND.OP that gets the injected delay; comma-separated for several "
                             "(p50 experiment for each, p99 for the first)")
    parser.add_argument("--out", type=Path, help="also write the markdown report here")
    args = parser.parse_args()
    targets = [tuple(t.strip().split(".", 1)) for t in args.target.split(",") if t.strip()]
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    big = ["--iterations", "1000", "--cold-starts", "0"]
    first = targets[0]
    with tempfile.TemporaryDirectory(prefix="storebench-gate-") as tmp:
        folder = Path(tmp)
        results = [experiment("A/A smoke", args.pairs, args.backends, [], None, None, "p50", folder)]
        for t in targets:
            spec = ".".join(t)
            results.append(experiment(f"+10% on {spec}, smoke, p50", args.pairs, args.backends, [],
                                      f"{spec}=+10%", t, "p50", folder))
        results.append(experiment(f"A/A 1000 rounds, {first[0]} only", args.pairs, first[0], big, None, None,
                                  "p99", folder))
        results.append(experiment(f"+25% on {'.'.join(first)}, 1000 rounds, p99", args.pairs, first[0], big,
                                  f"{'.'.join(first)}=+25%", first, "p99", folder))
    text = report(results, args, started)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
