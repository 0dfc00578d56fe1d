"""The coordinator: backends measured by fresh worker processes, chunks of rounds interleaved,
sampling until each op's p50 is known (bench/core/coordinator.py, docs/measurement.md). Real
workers on real embedded stores; the stopping rule also on synthetic samples."""

from __future__ import annotations

import os
import random
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from storebench import backends, cli
from storebench.backends.base import Settings
from storebench.core import coordinator
from storebench.core.coordinator import Group, StoppingRule, WorkerSpec
from storebench.core.workload import OPS, PROFILES, Params

SMALL = Params(conversations=20, messages=4, iterations=12, warmup=2, cold_starts=1, probes=False)
FEW_ROUNDS = StoppingRule(min_process_rounds=1)  # SMALL's 12 rounds still split between processes


def workers_alive() -> list[int]:
    """Pids of this process's children that are measuring workers."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and "storebench.core.backend_worker" in command:
            alive.append(int(entry.name))
    return alive


# The tests reading the module-scoped `measured` run on one pytest-xdist worker (loadgroup),
# which computes it once.
same_measurement = pytest.mark.xdist_group("coordinator-measured")


@pytest.fixture(scope="module")
def measured():
    chunks: list[str] = []
    specs = [WorkerSpec("sqlite3", side="a"), WorkerSpec("apsw"), WorkerSpec("sqlite3", side="b")]
    results = coordinator.measure(specs, SMALL, seed=3, settings=Settings(), processes=2, rule=FEW_ROUNDS,
                                  progress=lambda label, done, total: chunks.append(label))
    return results, chunks


@same_measurement
def test_every_group_is_measured_by_its_processes_and_checked(measured):
    results, _ = measured
    assert [m.spec.backend for m in results] == ["sqlite3", "apsw", "sqlite3"]
    for m in results:
        assert m.entry["status"] == "ok", m.entry["reason"]
        assert m.entry["checks"] == {"after_preload": "ok", "after_run": "ok"}
        assert m.entry["processes"] == 2 and len(m.entry["pinned_cpu"]) == 2
        rounds = m.entry["rounds"]
        assert sum(rounds["per_process"]) == rounds["timed"] <= rounds["cap"] == SMALL.iterations
        assert min(rounds["per_process"]) >= 1
        assert m.entry["writes"]["unacknowledged"] == 0 and m.entry["writes"]["acknowledged"] > 0
        timed = [o for o in m.ops if o["op"] in OPS]
        assert [o["op"] for o in timed] == list(OPS)
        for o in timed:
            assert o["n"] == len(o["samples_ns"]) > 0
            assert o["processes"] == 2 and len(o["process_p50_ms"]) == 2
            assert o["p50_ci_low_ms"] <= o["p50_ms"] <= o["p50_ci_high_ms"]
            assert o["stop_reason"] in ("ci", "cap")
            assert [len(s) for s in m.per_process[o["op"]]] and sum(map(len, m.per_process[o["op"]])) == o["n"]
        assert [o["op"] for o in m.ops][-1] == "cold_start" and m.ops[-1]["n"] == 1


@same_measurement
def test_sides_are_kept_apart(measured):
    results, _ = measured
    assert [m.entry["side"] for m in results] == ["a", None, "b"]
    assert all(o["side"] == "a" for o in results[0].ops if o["op"] in OPS)


@same_measurement
def test_load_all_records_the_store_size_it_returned(measured):
    results, _ = measured
    for m in results:
        load_all = next(o for o in m.ops if o["op"] == "load_all")
        assert 19 <= load_all["store_conversations_min"] <= load_all["store_conversations_max"] <= 21
        assert 76 <= load_all["store_messages_min"] <= load_all["store_messages_max"] <= 84


@same_measurement
def test_every_group_takes_one_turn_per_cycle_with_a_backends_sides_back_to_back_in_abba_order(measured):
    _, chunks = measured
    a, b, c = "sqlite3@a", "apsw", "sqlite3@b"
    first, second = chunks[:3], chunks[3:6]  # each group's two processes take one turn each
    for cycle in (first, second):
        assert sorted(cycle) == sorted([a, b, c])
        assert abs(cycle.index(a) - cycle.index(c)) == 1  # sqlite3's sides back to back
    assert first.index(a) < first.index(c) and second.index(c) < second.index(a)


def test_the_backends_order_changes_between_cycles_and_follows_the_seed():
    groups = [SimpleNamespace(spec=WorkerSpec(name, side=side)) for name in ("a", "b", "c", "d") for side in "xy"]

    def cycles(seed: int) -> list[list[tuple[str, str]]]:
        rng = random.Random(seed)
        return [[(g.spec.backend, g.spec.side) for g in coordinator._cycle_order(groups, k, rng)] for k in range(40)]

    run = cycles(7)
    assert len({tuple(b for b, _ in cycle[::2]) for cycle in run}) > 10  # not one fixed order
    assert all(cycle[i][0] == cycle[i + 1][0] for cycle in run for i in range(0, 8, 2))  # sides back to back
    assert all(cycle[0][1] == ("x" if k % 2 == 0 else "y") for k, cycle in enumerate(run))  # A B, then B A
    assert cycles(7) == run and cycles(8) != run


@same_measurement
def test_no_worker_outlives_the_measurement(measured):
    assert workers_alive() == []


def test_workers_ready_early_are_kept_alive_while_others_still_prepare(monkeypatch):
    fakes = Path(__file__).with_name("fake_stores.py")
    monkeypatch.setattr(backends, "REGISTRY", dict(backends.REGISTRY))  # both restored afterwards
    monkeypatch.setenv(backends.MODULES_VARIABLE, "")
    for name in ("ExpiringStore", "SlowStartStore"):
        backends.register_file(f"{fakes}:{name}")  # the workers find them through the variable
    # The slow one first: the answers are taken as they come, not in the order of the backends.
    specs = [WorkerSpec("fake-slow-start"), WorkerSpec("fake-expiring")]
    tiny = Params(conversations=20, messages=4, iterations=2, warmup=1, cold_starts=0, probes=False)
    slow, expiring = coordinator.measure(specs, tiny, seed=3, settings=Settings(), processes=1)
    assert (expiring.entry["status"], slow.entry["status"]) == ("ok", "ok")
    # Ready within a second or so, it waits >= 5 s for the slow one: more than 2 s idle.
    assert expiring.entry["rounds"]["idle"] >= 1
    assert slow.entry["rounds"]["idle"] == 0  # no idle timeout declared: never disturbed
    assert expiring.entry["phase_s"]["ready"] < slow.entry["phase_s"]["ready"]


def test_a_worker_that_fails_fails_its_group_only():
    specs = [WorkerSpec("sqlite3", inject="sqlite3.add_message=+bad"), WorkerSpec("apsw")]
    bad, good = coordinator.measure(specs, SMALL, seed=1, settings=Settings(), processes=1)
    assert bad.entry["status"] == "failed" and "--inject" in bad.entry["reason"] and bad.ops == []
    assert good.entry["status"] == "ok"
    assert workers_alive() == []


def test_an_injected_delay_is_applied_inside_the_worker_and_marked():
    [m] = coordinator.measure([WorkerSpec("sqlite3", inject="sqlite3.update_title=+2ms")], SMALL, seed=1,
                              settings=Settings(), processes=1)
    title = next(o for o in m.ops if o["op"] == "update_title")
    assert title["injected"] == "sqlite3.update_title=+2ms"
    assert min(title["samples_ns"]) >= 2_000_000


@pytest.mark.parametrize("backend, processes, load_every", [
    ("sqlite3", 3, 4),  # 200 rounds: 66 per process
    ("sqld", 2, 2),  # a quarter: 50 rounds, 25 per process (at least 20 each); every second reads (25)
    ("node-turso", 2, 2),  # a fifth: 40 rounds, 20 per process, every second reads (20 load_all samples)
    ("turso-replica", 1, 1),  # 2 %: 4 rounds, each of them reads
])
def test_slow_backends_run_fewer_processes_and_read_more_often(backend, processes, load_every):
    group = Group(WorkerSpec(backend), backends.get(backend), PROFILES["quick"], 3)
    assert (group.processes, group.params.load_every) == (processes, load_every)
    assert replace(group.params, load_every=4) == PROFILES["quick"]  # nothing else changes


def group_with(samples_ms: dict[str, list[float]], processes: int = 2, cap: int = 1000) -> Group:
    """A group fed synthetic chunks (no workers): each op's samples split between processes."""
    group = Group(WorkerSpec("sqlite3"), backends.get("sqlite3"), Params(20, 4, cap, 0, 0), processes, FEW_ROUNDS)

    class FakeWorker:
        def __init__(self, index: int) -> None:
            self.index = index

    for p in range(processes):
        ops = {op: {"samples_ns": [int(v * 1e6) for v in samples_ms[op][p::processes]], "errors": 0,
                    "timeouts": 0, "error_examples": [], "round_trips": None} for op in OPS}
        group.add(FakeWorker(p), {"rounds": 1, "ops": ops, "store": {}}, cycle=p)
    return group


def test_each_chunk_is_recorded_with_its_cycle_and_process_for_pairing():
    group = group_with({op: [1.0] * 6 for op in OPS}, processes=2)
    assert all(group.chunks[op] == [[0, 0, 3], [1, 1, 3]] for op in OPS)


def test_a_groups_cap_runs_in_at_least_min_chunks_chunks():
    rule = StoppingRule()
    assert coordinator._chunk_rounds(1e-6, rule, cap=30) == 30 // rule.min_chunks  # smoke: 2, not 20
    assert coordinator._chunk_rounds(1e-6, rule, cap=1000) == rule.max_chunk_rounds
    assert coordinator._chunk_rounds(1e-6, rule, cap=5) == 1


def test_sampling_stops_when_every_p50_is_known_to_3_percent():
    tight = [1.0 + 0.001 * (i % 7) for i in range(60)]
    group = group_with({op: tight for op in OPS})
    assert group.done and all(group.stop_reason(op) == "ci" for op in OPS)


def test_sampling_goes_on_while_any_interval_is_wide():
    tight = [1.0 + 0.001 * (i % 7) for i in range(60)]
    wide = [1.0 + (i % 10) for i in range(60)]
    group = group_with({**{op: tight for op in OPS}, "add_message": wide})
    assert not group.done
    assert group.stop_reason("add_message") == "cap" and group.stop_reason("load_all") == "ci"


def test_too_few_samples_or_a_silent_process_is_not_precise():
    few = [1.0] * (StoppingRule().min_samples - 1)
    assert not group_with({op: few for op in OPS}).precise("load_all")
    one_process = group_with({op: [1.0] * 60 for op in OPS}, processes=1)
    assert one_process.precise("load_all")


def test_pinning_to_a_cpu_that_does_not_exist_is_bad_input(tmp_path, capsys):
    code = cli.main(["run", "--backends", "sqlite3", "--pin-cpu", "4096", "--out", str(tmp_path / "r.json"),
                     "--reports", str(tmp_path / "reports")])
    assert code == cli.EXIT_USAGE
    assert "--pin-cpu 4096" in capsys.readouterr().err


def test_a_self_timed_store_is_timed_through_its_time_plan(tmp_path):
    """A fake self-timed store (sqlite3 underneath; tests the session's dispatch only)."""
    from storebench.backends.sqlite3_file import Sqlite3Store
    from storebench.core.session import Session
    from storebench.core.timing import time_steps

    handed: list[tuple[int, int]] = []

    class FakeSelfTimed(Sqlite3Store):
        self_timed = True

        def time_plan(self, steps, slots, warmup, store_size=None):
            handed.append((len(steps), warmup))
            return time_steps([(slot, getattr(self, op), args) for slot, op, args in steps], slots, warmup)

    with FakeSelfTimed.provision(tmp_path, Settings()) as target:
        session = Session(FakeSelfTimed, target, SMALL, 1, Settings())
        assert session.start(warmup_rounds=2)
        chunk = session.run(3)
        entry = session.finish()
    assert handed == [(2 * len(OPS), 2 * len(OPS)), (3 * len(OPS), 0)]
    assert len(chunk["ops"]["load_all"]["samples_ns"]) == len(chunk["ops"]["add_message"]["samples_ns"]) == 3
    assert entry["checks"]["after_run"] == "ok"


def test_inject_cannot_be_applied_to_a_self_timed_store(tmp_path):
    from storebench.backends.base import StoreError
    from storebench.backends.sqlite3_file import Sqlite3Store
    from storebench.core.inject import parse
    from storebench.core.session import Session

    class FakeSelfTimed(Sqlite3Store):
        self_timed = True

    with pytest.raises(StoreError, match="--inject"):
        Session(FakeSelfTimed, None, SMALL, 1, Settings(), parse("sqlite3.add_message=+1ms", ["sqlite3"]))


def test_a_session_keeps_the_heap_frozen_between_chunks_and_unfreezes_it_at_finish(tmp_path):
    """Each chunk freezes only what is new (a collection of the whole heap before every chunk
    cost 35 ms with SQLAlchemy's ORM loaded); the ops' own garbage is still collected."""
    import gc

    from storebench.backends.sqlite3_file import Sqlite3Store
    from storebench.core.session import Session

    with Sqlite3Store.provision(tmp_path, Settings()) as target:
        session = Session(Sqlite3Store, target, SMALL, 1, Settings())
        assert session.start(warmup_rounds=1)
        session.run(2)
        frozen = gc.get_freeze_count()
        assert frozen > 0
        session.run(2)
        assert gc.get_freeze_count() >= frozen
        entry = session.finish()
    assert gc.get_freeze_count() == 0
    assert entry["checks"]["after_run"] == "ok"
