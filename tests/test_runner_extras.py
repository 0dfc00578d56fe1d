"""The runner's hooks for backend-specific behaviour: extra ops, a round cap, observations,
`emulated` known after provisioning. A Fake store (real sqlite3 underneath) exercises them."""

from __future__ import annotations

import pytest

from storebench import backends
from storebench.backends.sqlite3_file import Sqlite3Store
from storebench.capabilities import emulation_check
from storebench.core import runner
from storebench.core.workload import OPS, Params
from storebench.model.results import BackendResult, OpResult, Results, ResultsError, RunInfo


class FakeSyncStore(Sqlite3Store):
    """sqlite3 plus a counted no-op `sync`, 30 % of the profile's rounds and an observation."""

    name = "fake-sync"
    extra_ops = ("sync",)
    rounds_fraction = 0.3
    emulated = "decided per run"

    def __init__(self, target, settings) -> None:
        super().__init__(target, settings)
        self.syncs = 0
        self.emulated = False  # what this run turned out to be

    def sync(self) -> None:
        self.syncs += 1

    def round_trips(self) -> int:
        return self.syncs  # one per sync, none per op

    def observations(self) -> dict:
        return {"syncs": self.syncs}


@pytest.fixture
def fake_registered(monkeypatch):
    monkeypatch.setattr(backends, "get", lambda name: FakeSyncStore)
    monkeypatch.setattr(backends, "unavailable_reason", lambda name: None)


def test_extra_ops_are_timed_once_per_round_and_rounds_are_capped(fake_registered, settings):
    params = Params(conversations=3, messages=2, iterations=10, warmup=2, cold_starts=0)
    entry, ops = runner.run_backend("fake-sync", params, seed=1, settings=settings)
    assert entry["status"] == "ok", entry["reason"]
    assert entry["rounds"] == {"timed": 3, "warmup": 1, "fraction": 0.3}
    by_op = {o["op"]: o for o in ops}
    assert set(by_op) == set(OPS) | {"sync", "cold_start"}
    assert [by_op[op]["n"] for op in OPS + ("sync",)] == [3] * 6
    assert by_op["sync"]["round_trips"] == 1.0 and by_op["load_all"]["round_trips"] == 0.0
    assert entry["observations"] == {"syncs": 4}  # warm-up round included
    assert entry["emulated"] is False  # read from the provisioned store, not the class


def turso_results(turso_p50: float, base_p50: float, rtt_ms: float = 20.0) -> Results:
    def op(backend, name, p50, trips):
        return OpResult(backend=backend, op=name, p50_ms=p50, round_trips=trips)

    return Results(
        run=RunInfo(params={"settings": {"rtt_ms": rtt_ms}}),
        backends=[BackendResult(name="turso", status="ok", emulated="yes"), BackendResult(name="sqld-ws", status="ok")],
        ops=[op("turso", "update_title", turso_p50, 1.0), op("sqld-ws", "update_title", base_p50, 1.0)],
    )


def test_emulation_check_compares_turso_with_sqld_ws_plus_round_trips_times_rtt():
    [row] = emulation_check.compare(turso_results(turso_p50=22.0, base_p50=2.0))
    assert row["expected_ms"] == 22.0 and row["deviation"] == 0.0


def test_emulation_check_needs_an_emulated_turso_row():
    data = turso_results(22.0, 2.0)
    data.backends[0].emulated = False
    with pytest.raises(ResultsError):
        emulation_check.compare(data)
