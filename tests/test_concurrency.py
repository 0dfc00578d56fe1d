"""Concurrent clients: N worker processes, one connection each, on one real backend; the store
must end holding exactly the writes the workers had acknowledged."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from storebench import backends
from storebench.backends.base import Settings
from storebench.core import concurrency, safety
from storebench.core.timing import is_busy
from storebench.core.workload import OPS, Params, Workload
from tests.conftest import skip_if_in_a_browser

PARAMS = Params(conversations=8, messages=3, iterations=25, warmup=2, cold_starts=0)
LOCK_HELD_S = 0.5  # far below the 5 s busy_timeout the store must wait for


def test_a_store_opened_while_another_connection_holds_the_file_waits_for_it(backend_name, tmp_path):
    """A store must wait for a lock it meets while opening, not fail with SQLITE_BUSY: a 4-writer
    drizzle run did so under load, its workers opening while the parent's Node runner was still
    closing (a checkpoint-on-close holds the file). So busy_timeout is set before the first
    statement that reads the file (journal_mode). Here another connection holds the WAL file
    exclusively (locking_mode=EXCLUSIVE) and lets go after LOCK_HELD_S."""
    skip_if_in_a_browser(backend_name)
    cls = backends.get(backend_name)
    with cls.provision(tmp_path, Settings()) as target:
        if target.path is None or cls.kind == "replica":
            pytest.skip(f"{backend_name} opens no database file another connection may hold"
                        if target.path is None else f"{backend_name}'s file is written only by its sync protocol")
        holder = sqlite3.connect(target.path, isolation_level=None, check_same_thread=False)
        for statement in ("PRAGMA journal_mode=wal", "CREATE TABLE IF NOT EXISTS held (x)",
                          "PRAGMA locking_mode=EXCLUSIVE", "BEGIN EXCLUSIVE", "COMMIT"):
            holder.execute(statement)  # the exclusive lock stays after the COMMIT
        release = threading.Timer(LOCK_HELD_S, holder.close)
        release.start()
        try:
            with cls(target, Settings()) as store:
                assert store.describe()["settings"]["journal_mode"] == "wal"
        finally:
            release.join()


@pytest.mark.slow
def test_four_concurrent_writers_leave_exactly_the_acknowledged_writes(backend_name):
    skip_if_in_a_browser(backend_name)
    entry = concurrency.run_clients(backend_name, PARAMS, 1, Settings(), 4)
    single_process = backends.get(backend_name).single_process_reason
    if single_process:  # such a backend says why, instead of failing or vanishing
        assert (entry["status"], entry["reason"]) == ("unavailable", single_process)
        return
    assert entry["status"] == "ok", entry["reason"]
    assert entry["checks"] == {"after_run": "ok"}
    assert len(entry["workers"]) == 4
    assert (entry["conversations_per_client"], entry["rounds_per_client"]) == (2, 6)  # 8 and 25 split 4 ways
    assert entry["ops_done"] == sum(w["ops_done"] for w in entry["workers"])
    assert entry["ops_done"] + entry["errors"] == 4 * 6 * len(OPS)
    assert entry["busy_errors"] <= entry["errors"]
    for op in OPS:
        figures = entry["ops"][op]
        assert figures["n"] == sum(w["ops"][op]["n"] for w in entry["workers"])
        assert figures["n"] == 0 or figures["p50_ms"] <= figures["p99_ms"]
    assert entry["throughput_ops_s"] > 0 and all(w["throughput_ops_s"] > 0 for w in entry["workers"])


def test_busy_errors_are_counted_not_retried(monkeypatch):
    """Another connection holds the write lock for the whole run and the busy timeout is 0:
    every write must fail as busy, be counted, and leave the store as preloaded."""
    real_run_workers = concurrency.run_workers

    def run_while_locked(name, target, settings, params, seeds):
        blocker = sqlite3.connect(target.path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            return real_run_workers(name, target, settings, params, seeds)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()

    monkeypatch.setattr(concurrency, "run_workers", run_while_locked)
    params = Params(conversations=4, messages=2, iterations=10, warmup=1, cold_starts=0)
    entry = concurrency.run_clients("sqlite3", params, 1, Settings(busy_timeout_ms=0), 2)
    assert entry["status"] == "ok", entry["reason"]
    writes = params.iterations * (len(OPS) - 1)  # 2 workers x 5 rounds x 4 write ops
    assert entry["errors"] == entry["busy_errors"] == writes
    assert entry["ops"]["load_all"] == {**entry["ops"]["load_all"], "n": params.iterations, "errors": 0}
    assert entry["acknowledged_writes"] == 0
    assert "locked" in entry["workers"][0]["error_examples"][0]


def test_a_failed_step_may_or_may_not_have_applied_but_no_acknowledged_one_is_lost():
    w = Workload(Params(conversations=2, messages=1, iterations=1, warmup=0, cold_starts=0), seed=4)
    plan = w.plan(2)
    creates = {i for i, (op, _) in enumerate(plan) if op == "create_conversation"}
    created = {plan[i][1][0].id for i in creates}
    everything = w.model.snapshot()
    # The creates failed: the store may show them (applied, only the answer was lost) or not.
    for actual in (everything, [c for c in everything if c.id not in created]):
        problem, writes = safety.check_clients([(w.initial_state, plan, creates)], actual)
        assert problem is None and writes["unacknowledged"] == len(creates)
    # Nothing failed: a missing conversation is a lost acknowledged write.
    problem, _ = safety.check_clients([(w.initial_state, plan, set())], everything[1:])
    assert problem is not None


def test_worker_seeds_and_shares():
    assert len({concurrency.worker_seed(1, w) for w in range(8)}) == 8
    assert concurrency.worker_params(PARAMS, 4) == Params(2, 3, 6, 2, 0)
    assert concurrency.worker_params(PARAMS, 100) == Params(1, 3, 1, 2, 0)
    assert is_busy("BusyError: database is locked") and is_busy("SQLITE_BUSY") and not is_busy("disk I/O error")
