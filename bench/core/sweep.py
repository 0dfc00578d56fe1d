"""Dataset sweeps: how each op's latency grows with the data, per backend.

`--sweep conversations=10,100,1000,10000` (or `messages=...`, per conversation) runs the
whole single-client measurement (with its content checks) once per size and backend, fits a
growth exponent b in p50 = a * size^b by least squares on log-log axes, and says where
`load_all` — the seed app loads every conversation on start — crosses the viability limit
(100 ms p50). Where a backend implements `Store.load_page`, it also times what pagination
would cost: loading only the 50 most recent conversations, on the same data.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from storebench import backends
from storebench.backends.base import Settings
from storebench.core import runner
from storebench.core.preload import bulk_preload
from storebench.core.timing import time_steps
from storebench.core.workload import OPS, Params
from storebench.model import stats

SWEEP_PARAMS = ("conversations", "messages")
LOAD_ALL_LIMIT_MS = 100.0
PAGE_SIZE = 50
PAGE_OP = "load_page"
SWEEP_ROUNDS, SWEEP_WARMUP = 20, 2  # per size: fewer rounds than a profile, sizes reach 10,000


@dataclass(frozen=True)
class Sweep:
    param: str
    values: tuple[int, ...]


def parse_sweep(text: str) -> Sweep:
    """`conversations=10,100,1000` -> Sweep; ValueError with a one-line reason otherwise."""
    param, sep, listed = text.partition("=")
    param = param.strip()
    if not sep or param not in SWEEP_PARAMS:
        raise ValueError(f"--sweep takes PARAM=N1,N2,... with PARAM one of {', '.join(SWEEP_PARAMS)}; got {text!r}")
    try:
        values = tuple(sorted({int(v) for v in listed.split(",") if v.strip()}))
    except ValueError:
        raise ValueError(f"--sweep {param}: values must be whole numbers, got {listed!r}") from None
    if len(values) < 2 or values[0] < 1:
        raise ValueError(f"--sweep {param}: give at least two different sizes, each at least 1")
    return Sweep(param, values)


def fit_growth(sizes: Sequence[float], p50s: Sequence[float | None]) -> float | None:
    """Least-squares slope of log(p50) on log(size): the b of p50 ~ size^b (None: < 2 points)."""
    points = [(s, p) for s, p in zip(sizes, p50s) if p is not None and p > 0]
    if len({s for s, _ in points}) < 2:
        return None
    x = np.log([s for s, _ in points])
    y = np.log([p for _, p in points])
    slope, _ = np.polyfit(x, y, 1)
    return float(slope)


def limit_crossing(sizes: Sequence[int], p50s: Sequence[float | None], limit_ms: float) -> dict:
    """Where p50 first exceeds `limit_ms`: interpolated between the measured sizes around the
    crossing (log-log), or extrapolated from the fit beyond the largest size."""
    points = [(s, p) for s, p in zip(sizes, p50s) if p is not None and p > 0]
    for i, (size, p50) in enumerate(points):
        if p50 > limit_ms:
            if i == 0:
                return {"size": size, "basis": "exceeded at the smallest size"}
            (s0, p0) = points[i - 1]
            fraction = (math.log(limit_ms) - math.log(p0)) / (math.log(p50) - math.log(p0))
            return {"size": round(math.exp(math.log(s0) + fraction * (math.log(size) - math.log(s0)))),
                    "basis": "measured (interpolated)"}
    if len(points) < 2:
        return {"size": None, "basis": "not enough points"}
    x, y = np.log([s for s, _ in points]), np.log([p for _, p in points])
    slope, intercept = np.polyfit(x, y, 1)
    if slope <= 0:
        return {"size": None, "basis": "does not grow"}
    return {"size": round(math.exp((math.log(limit_ms) - intercept) / slope)), "basis": "extrapolated"}


def measure_page(name: str, params: Params, seed: int, settings: Settings, rounds: int, warmup: int) -> dict:
    """`load_page(PAGE_SIZE)` timed on the same data a point's run preloads."""
    cls = backends.get(name)
    if not cls.capabilities.paging:  # declared, so nothing is provisioned to find out
        return {"status": "unsupported", "reason": f"{name} does not implement load_page", "samples_ns": []}
    with tempfile.TemporaryDirectory(prefix=f"storebench-{name}-page-") as tmp:
        with cls.provision(Path(tmp), settings) as target:
            store = cls(target, settings)
            store.open()
            try:
                store.setup_schema()
                bulk_preload(store, seed, params.conversations, params.messages)
                expected = store.load_all()[:PAGE_SIZE]
                page = store.load_page(PAGE_SIZE)
                if [c.id for c in page] != [c.id for c in expected]:
                    return {"status": "failed", "reason": "load_page differs from load_all's first page",
                            "samples_ns": []}
                if store.self_timed:  # timed in its own runtime, like its run's ops
                    timing = store.time_plan([(0, "load_page", (PAGE_SIZE,))] * (warmup + rounds), 1, warmup)
                else:
                    timing = time_steps([(0, store.load_page, (PAGE_SIZE,))] * (warmup + rounds), 1, warmup)
            finally:
                store.close()
    problems = timing.error_examples[0]
    return {"status": "failed" if problems else "ok", "reason": "; ".join(problems) or None,
            "samples_ns": list(timing.samples[0])}


def _page_or_failure(name: str, params: Params, seed: int, settings: Settings, rounds: int, warmup: int) -> dict:
    try:
        return measure_page(name, params, seed, settings, rounds, warmup)
    except Exception as exc:  # the page measurement failed; the sweep goes on
        return {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"[:300], "samples_ns": []}


def run_sweep(names: Sequence[str], sweep: Sweep, params: Params, seed: int, settings: Settings,
              rounds: int = SWEEP_ROUNDS, warmup: int = SWEEP_WARMUP,
              note: Callable[[str], None] | None = None) -> dict:
    """The `sweeps` results entry for one swept parameter over the given backends."""
    # Each point measures latency only: no cold starts, no capability probes.
    fixed = replace(params, iterations=rounds, warmup=warmup, cold_starts=0, probes=False)
    measured: dict[str, list[tuple[dict, dict, dict]]] = {name: [] for name in names}
    for value in sweep.values:
        changes: dict[str, Any] = {sweep.param: value}
        point = replace(fixed, **changes)
        for name in names:
            entry, ops = runner.run_backend(name, point, seed, settings)
            page = (_page_or_failure(name, point, seed, settings, rounds, warmup) if entry["status"] == "ok"
                    else {"status": "skipped", "reason": "the point's run did not succeed", "samples_ns": []})
            measured[name].append((entry, {o["op"]: o for o in ops}, page))
            if note:
                note(f"sweep {sweep.param}={value} {name}: {entry['status']}")
    return {
        "param": sweep.param, "values": list(sweep.values),
        "fixed": {k: v for k, v in fixed.__dict__.items() if k not in (sweep.param, "cold_starts", "probes")},
        "load_all_limit_ms": LOAD_ALL_LIMIT_MS, "page_size": PAGE_SIZE,
        "backends": [_backend_series(name, sweep.values, measured[name]) for name in names],
    }


def _series(sizes: Sequence[int], samples: list[Sequence[int] | None]) -> dict:
    summaries = [stats.summarize(s) if s else None for s in samples]
    p50 = [s["p50_ms"] if s else None for s in summaries]
    return {"p50_ms": p50, "p99_ms": [s["p99_ms"] if s else None for s in summaries],
            "growth_exponent": fit_growth(sizes, p50)}


def _backend_series(name: str, sizes: Sequence[int], points: list[tuple[dict, dict, dict]]) -> dict:
    ops = {op: _series(sizes, [by_op[op]["samples_ns"] if op in by_op else None for _, by_op, _ in points])
           for op in OPS}
    ops[PAGE_OP] = _series(sizes, [page["samples_ns"] for _, _, page in points])
    return {
        "backend": name,
        "points": [{"size": size, "status": entry["status"], "reason": entry["reason"],
                    "load_page": page["status"], "load_page_reason": page["reason"]}
                   for size, (entry, _, page) in zip(sizes, points)],
        "ops": ops,
        "load_all_limit": limit_crossing(sizes, ops["load_all"]["p50_ms"], LOAD_ALL_LIMIT_MS),
    }
