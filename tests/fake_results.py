"""FakeResults: synthetic, valid results data, to test the harness's own logic (the report,
the regression gate) only.

Every number here is made up on purpose (seeded random samples); nothing in it is a
measurement, and it never stands in for a backend.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from storebench.core.runner import op_entry
from storebench.core.workload import ALL_OPS, COLD_START, OPS
from storebench.model import results

PROBE_NAMES = ("cross_device", "auth_enforced", "process_crash", "concurrent_writers", "online_backup")


class FakeResults:
    """Results data in the `storebench.results/1` shape (`data`: the file's dict; `results`: the
    model), built backend by backend (`.backend("sqlite3", 0.02)`: every op, log-normal around a
    median) or op by op (`.op("sqlite3", "add_message", samples_ns)`)."""

    def __init__(self, seed: int = 1, iterations: int = 40, profile: str = "smoke") -> None:
        self.rng = random.Random(seed)
        params = {"conversations": 20, "messages": 5, "iterations": iterations, "warmup": 5, "cold_starts": 2,
                  "inject": None, "settings": {"rtt_ms": 20.0}}
        self.data = results.Results.new(profile, params, seed).to_dict()
        self.data["overhead"] = {"op": "null", "n": 1000, "p50_ns": 60, "p99_ns": 90, "mean_ns": 65.0, "min_ns": 50}
        self.data["complete"] = True

    def _entry(self, name: str, kind: str, status: str, reason: str | None = None, **extra) -> dict:
        entry = {"name": name, "kind": kind, "description": f"fake {name}", "driver": "fake", "driver_version": "0",
                 "sqlite_version": "3", "settings": None, "emulated": False, "status": status, "reason": reason,
                 "target": None, "checks": {}, **extra}
        self.data["backends"].append(entry)
        return entry

    def backend(self, name: str, median_ms: float, kind: str = "embedded", status: str = "ok",
                emulated: bool | str = False, round_trips: float | None = None, capabilities: dict | None = None,
                n: int = 50) -> FakeResults:
        caps = {p: {"result": "yes", "evidence": f"fake evidence for {p}", "figures": {}} for p in PROBE_NAMES}
        self._entry(name, kind, status, None if status == "ok" else "fake reason", emulated=emulated,
                    capabilities={**caps, **(capabilities or {})})
        if status == "unavailable":
            return self
        for op in ALL_OPS:
            scale = median_ms * (100 if op == COLD_START else 1)
            count = 3 if op == COLD_START else n
            samples = [int(scale * 1e6 * self.rng.lognormvariate(0, 0.3)) for _ in range(count)]
            self.data["ops"].append(op_entry(name, op, samples, round_trips=round_trips if op != COLD_START else None))
        return self

    def op(self, backend: str, op: str, samples_ns) -> FakeResults:
        if backend not in [b["name"] for b in self.data["backends"]]:
            self._entry(backend, "embedded", "ok")
        self.data["ops"].append(op_entry(backend, op, [int(s) for s in samples_ns]))
        return self

    def cycles(self, per_chunk: int = 5, processes: int = 2) -> FakeResults:
        """Record every op entry's `chunks` as the coordinator does: `per_chunk` samples per
        chunk, chunk k in interleaving cycle k, on process k mod `processes` (every backend
        took part in every cycle)."""
        for o in self.data["ops"]:
            n = len(o["samples_ns"])
            starts = range(0, n, per_chunk)
            o["chunks"] = [[k, k % processes, min(per_chunk, n - start)] for k, start in enumerate(starts)]
            o["processes"] = min(processes, len(o["chunks"]))
        return self

    def status(self, backend: str, status: str, reason: str) -> FakeResults:
        self._entry(backend, "embedded", status, reason)
        return self

    def injected(self, spec: str) -> FakeResults:
        self.data["run"]["params"]["inject"] = {"spec": spec}
        return self

    def entry(self, backend: str, op: str) -> dict:
        """The op entry already built for `backend` and `op`."""
        return next(o for o in self.data["ops"] if o["backend"] == backend and o["op"] == op)

    @property
    def results(self) -> results.Results:
        """The data as the results model reads it (a fresh copy: later changes to `data` count)."""
        return results.Results.from_dict(json.loads(json.dumps(self.data)))

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.data))
        return path


def fake_latencies(n: int, median_ns: float = 30_000, spread: float = 0.3, seed: int = 0) -> np.ndarray:
    """Log-normal made-up latencies: a per-call base (the same calls in every run with the same
    seed, like the seeded workload)."""
    return np.random.default_rng(seed).lognormal(np.log(median_ns), spread, n)


def jitter(samples: np.ndarray, seed: int, amount: float = 0.02) -> np.ndarray:
    """The same calls measured again: each sample off by a few percent, at random."""
    return samples * np.random.default_rng(seed).lognormal(0, amount, len(samples))


def durable_twins(spread: float, second_median_ms: float) -> FakeResults:
    """`apsw` around 1 ms and `sqlite3` around `second_median_ms` on every op, each with a
    log-normal `spread` and its writes kept after a kill: the two candidates of a phase-1 line."""
    fake = FakeResults()
    rng = np.random.default_rng(3)
    for name, median in (("apsw", 1.0), ("sqlite3", second_median_ms)):
        for op in ALL_OPS:
            fake.op(name, op, rng.lognormal(np.log(median * 1e6), spread, 200))
    for b in fake.data["backends"]:
        b["capabilities"] = {"process_crash": {"result": "yes", "evidence": "fake", "figures": {}}}
    return fake.cycles()


def drifting(medians_ms: dict[str, float], drift: float, spread: float = 0.02, cycles: int = 60,
             per_chunk: int = 5, seed: int = 5, kinds: dict[str, str] | None = None) -> FakeResults:
    """Backends measured interleaved on a drifting machine: in each cycle every backend's
    samples are scaled by the same factor (log-normal, `drift`), on top of each sample's own
    `spread`. Only pairing by cycle cancels the factor. `kinds`: a backend's kind when not
    `embedded`. No probes ran."""
    fake = FakeResults()
    rng = np.random.default_rng(seed)
    factors = rng.lognormal(0, drift, cycles)
    for name, median in medians_ms.items():
        fake._entry(name, (kinds or {}).get(name, "embedded"), "ok")
        for op in OPS:
            samples = [median * 1e6 * f * x for f in factors for x in rng.lognormal(0, spread, per_chunk)]
            fake.data["ops"].append(op_entry(name, op, [int(v) for v in samples]))
    return fake.cycles(per_chunk)
