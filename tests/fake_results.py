"""FakeResults: synthetic, valid results data for testing the report's own logic.

Only the report is under test here, so the numbers are made up (seeded, log-normal); they
never stand in for a backend's measurements anywhere else.
"""

from __future__ import annotations

import random

from bench import results
from bench.runner import op_entry
from bench.workload import ALL_OPS, COLD_START

PROBE_NAMES = ("cross_device", "auth_enforced", "crash_durability", "concurrent_writers", "online_backup")


class FakeResults:
    """Builds a results dict backend by backend: `FakeResults().backend("sqlite3", 0.02).data`."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.data = results.new_results("smoke", {"conversations": 20, "settings": {"rtt_ms": 20.0}}, seed)
        self.data["overhead"] = {"op": "null", "n": 1000, "p50_ns": 60, "p99_ns": 90, "mean_ns": 65.0, "min_ns": 50}
        self.data["complete"] = True

    def backend(self, name: str, median_ms: float, kind: str = "embedded", status: str = "ok",
                emulated: bool | str = False, round_trips: float | None = None, capabilities: dict | None = None,
                n: int = 50) -> "FakeResults":
        entry = {"name": name, "kind": kind, "description": f"fake {name}", "driver": "fake", "driver_version": "0",
                 "sqlite_version": "3", "settings": None, "emulated": emulated, "status": status,
                 "reason": None if status == "ok" else "fake reason", "target": None, "checks": {}}
        caps = {p: {"result": "yes", "evidence": f"fake evidence for {p}", "figures": {}} for p in PROBE_NAMES}
        entry["capabilities"] = {**caps, **(capabilities or {})}
        self.data["backends"].append(entry)
        if status == "unavailable":
            return self
        for op in ALL_OPS:
            scale = median_ms * (100 if op == COLD_START else 1)
            count = 3 if op == COLD_START else n
            samples = [int(scale * 1e6 * self.rng.lognormvariate(0, 0.3)) for _ in range(count)]
            self.data["ops"].append(op_entry(name, op, samples, round_trips=round_trips if op != COLD_START else None))
        return self

    def op(self, backend: str, op: str) -> dict:
        return next(o for o in self.data["ops"] if o["backend"] == backend and o["op"] == op)
