"""pytest-benchmark's JSON (`--benchmark-json`, or a file saved under `.benchmarks/`) turned
into the results model (`storebench.results/1`), so `storebench check` (and reports) read both.

Limits, stated rather than papered over:

- Raw samples (`stats.data`) are in every `--benchmark-json` file (pytest-benchmark 5.x), but
  in files saved under `.benchmarks/` (`--benchmark-save`, `--benchmark-autosave`) only when
  pytest ran with `--benchmark-save-data`. Without them the entry has `samples_ns: []` and
  only pytest-benchmark's own summary (median as p50, mean, stdev, max); p90/p95/p99 are
  unknown (pytest-benchmark does not compute them), and `check` reports such a comparison as
  "not judged" instead of guessing.
- Each value of `stats.data` is one *round*: the mean of `iterations` calls. With
  iterations > 1 its percentiles are percentiles of means, whose tails are narrower than the
  tail of single calls; the entry records `iterations` so a reader can tell. The benchmarks
  in benchmarks/ use one call per round, so their samples are single calls.
- backend and op come from `extra_info` (set by benchmarks/ in this repo); for other
  benchmarks the group (or the test module) stands for the backend and the test name for
  the op. The workload seed and plan come from `extra_info` too when every benchmark has the
  same ones; only then can `check` pair the calls of two runs.
"""

from __future__ import annotations

import json
from pathlib import Path

from storebench.model import stats
from storebench.model.results import SCHEMA, Results, parse_json, read_text


def is_pytest_benchmark(raw: object) -> bool:
    return isinstance(raw, dict) and "schema" not in raw and isinstance(raw.get("benchmarks"), list) \
        and "machine_info" in raw


def _names(bench: dict) -> tuple[str, str]:
    extra = bench.get("extra_info") or {}
    if isinstance(extra.get("backend"), str) and isinstance(extra.get("op"), str):
        return extra["backend"], extra["op"]
    module = str(bench.get("fullname", "")).split("::")[0].rsplit("/", 1)[-1].removesuffix(".py")
    return str(bench.get("group") or module or "pytest"), str(bench.get("name", "?"))


def _op_entry(bench: dict) -> dict:
    backend, op = _names(bench)
    s = bench.get("stats") or {}
    data = s.get("data")
    samples = [max(0, round(x * 1e9)) for x in data] if isinstance(data, list) else []
    if samples:
        summary = stats.summarize(samples)
    else:  # pytest-benchmark's own summary, in seconds; it has no tail percentiles
        def ms(key: str) -> float | None:
            return s[key] * 1e3 if isinstance(s.get(key), (int, float)) else None

        summary = {"p50_ms": ms("median"), "p90_ms": None, "p95_ms": None, "p99_ms": None,
                   "max_ms": ms("max"), "mean_ms": ms("mean"), "stdev_ms": ms("stddev"), "ops_per_s": s.get("ops")}
    rounds = s.get("rounds")
    return {
        "backend": backend, "op": op,
        "n": len(samples) if samples else (rounds if isinstance(rounds, int) and rounds >= 0 else 0),
        "errors": 0, "error_examples": [], **summary, "round_trips": None, "samples_ns": samples,
        "source": "pytest-benchmark", "iterations": s.get("iterations"),
    }


def _shared_plan(benches: list[dict]) -> tuple[int | None, dict]:
    """The workload seed and plan, when every benchmark records the same ones."""
    found = {json.dumps([(b.get("extra_info") or {}).get("seed"), (b.get("extra_info") or {}).get("plan")],
                        sort_keys=True) for b in benches}
    if len(found) != 1:
        return None, {}
    seed, plan = json.loads(found.pop())
    if not isinstance(seed, int) or not isinstance(plan, dict):
        return None, {}
    return seed, plan


def convert(raw: dict) -> dict:
    """The results-file form of a pytest-benchmark JSON document."""
    machine = raw.get("machine_info") or {}
    cpu = machine.get("cpu") or {}
    benches = [b for b in raw["benchmarks"] if isinstance(b, dict)]
    ops = [_op_entry(b) for b in benches]
    seed, plan = _shared_plan(benches)
    backends = [{
        "name": name, "kind": "pytest-benchmark", "description": "from pytest-benchmark JSON", "driver": None,
        "driver_version": None, "sqlite_version": None, "settings": None, "emulated": False, "status": "ok",
        "reason": None, "target": None, "checks": {},
    } for name in dict.fromkeys(o["backend"] for o in ops)]
    return {
        "schema": SCHEMA,
        "complete": True,
        "run": {
            "id": None, "started_at": raw.get("datetime"), "finished_at": raw.get("datetime"),
            "profile": "pytest-benchmark",
            "params": {**plan, "source": "pytest-benchmark", "pytest_benchmark_version": raw.get("version"),
                       "raw_samples": any(o["samples_ns"] for o in ops)},
            "seed": seed,
            "host": {"os": machine.get("system"), "machine": machine.get("machine"),
                     "cpu_model": cpu.get("brand_raw"), "cores": cpu.get("count"),
                     "python": machine.get("python_version")},
            "packages": {}, "git_commit": (raw.get("commit_info") or {}).get("id"),
        },
        "overhead": None,
        "backends": backends,
        "ops": ops,
    }


def load_any(path: str | Path) -> Results:
    """Read a storebench results file or a pytest-benchmark JSON file, validated, as the
    results model; every failure is a one-line ResultsError (for check and report)."""
    raw = parse_json(read_text(Path(path), "check the path"), str(path))
    return Results.from_dict(convert(raw) if is_pytest_benchmark(raw) else raw, str(path))
