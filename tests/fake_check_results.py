"""FakeResults for `storebench check`: synthetic results files, to test the gate's own logic only.

Every number here is made up on purpose (seeded random samples); nothing in it is a
measurement, and it never stands in for a backend.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench import stats
from bench.results import SCHEMA


class FakeResults:
    """A results dict in the `storebench.results/1` shape, built op by op."""

    def __init__(self, seed: int = 1, iterations: int = 40, profile: str = "smoke") -> None:
        self.data = {
            "schema": SCHEMA, "complete": True,
            "run": {"id": "fake", "started_at": None, "finished_at": None, "profile": profile,
                    "params": {"conversations": 20, "messages": 5, "iterations": iterations, "warmup": 5,
                               "cold_starts": 2, "inject": None},
                    "seed": seed, "host": {"cpu_model": "fake cpu"}, "packages": {}, "git_commit": None},
            "overhead": None, "backends": [], "ops": [],
        }

    def op(self, backend: str, op: str, samples_ns) -> "FakeResults":
        samples = [int(s) for s in samples_ns]
        if backend not in [b["name"] for b in self.data["backends"]]:
            self.data["backends"].append({"name": backend, "kind": "embedded", "status": "ok", "reason": None})
        self.data["ops"].append({"backend": backend, "op": op, "n": len(samples), "errors": 0, "error_examples": [],
                                 **stats.summarize(samples), "round_trips": None, "samples_ns": samples})
        return self

    def status(self, backend: str, status: str, reason: str) -> "FakeResults":
        self.data["backends"].append({"name": backend, "kind": "embedded", "status": status, "reason": reason})
        return self

    def injected(self, spec: str) -> "FakeResults":
        self.data["run"]["params"]["inject"] = {"spec": spec}
        return self

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.data))
        return path


def fake_latencies(n: int, median_ns: float = 30_000, spread: float = 0.3, seed: int = 0) -> np.ndarray:
    """Log-normal made-up latencies: a per-call base (the same calls in every run with the same
    seed, like the seeded workload) times a little per-run jitter."""
    calls = np.random.default_rng(seed).lognormal(np.log(median_ns), spread, n)
    return calls


def jitter(samples: np.ndarray, seed: int, amount: float = 0.02) -> np.ndarray:
    """The same calls measured again: each sample off by a few percent, at random."""
    return samples * np.random.default_rng(seed).lognormal(0, amount, len(samples))
