"""What happens when things fail mid-run: a killed server, network faults on the link, and the
checks that no acknowledged write was lost. Real sqld, real drivers, the real proxy."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
from pathlib import Path

import pytest

from storebench import cli
from storebench.backends.api_routes import ApiRoutesStore
from storebench.backends.base import Settings, Target
from storebench.backends.turso import TursoStore, emulated_turso
from storebench.backends.turso_replica import TursoReplicaStore
from storebench.core import safety
from storebench.core.timing import time_steps
from storebench.core.workload import Params, Workload
from storebench.reports import summary
from storebench.servers.wan_proxy import Counters

pytestmark = pytest.mark.server  # starts real servers (sqld, the API server, the WAN proxy)

KILL_AFTER_ROUNDS = 3  # progress counts timed rounds: the kill lands in the timed rounds


def descendants_named(word: str, under: str = "backend_worker") -> list[int]:
    """Pids of this process's descendants whose command line mentions `word` and that were
    started by a process whose command line mentions `under` (a run's measuring workers, not
    the servers other tests keep for the session), from /proc."""
    parents, commands = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue

    def descends(pid: int) -> bool:
        via = False
        while pid in parents and pid > 1:
            pid = parents[pid]
            via = via or under in commands.get(pid, "")
            if pid == os.getpid():
                return via
        return False

    return sorted(pid for pid, command in commands.items() if word in command and descends(pid))


@pytest.fixture
def kill_sqld_mid_run(monkeypatch):
    """Wraps the run's progress callback: once sqld has done KILL_AFTER_ROUNDS timed rounds,
    SIGKILL the sqld servers its worker processes started. Yields the killed pids."""
    killed: list[int] = []
    real_progress_bar = summary.progress_bar

    @contextlib.contextmanager
    def progress_bar(console, names, disabled=False):
        with real_progress_bar(console, names, disabled) as update:
            def killing_update(name: str, done: int, total: int) -> None:
                if name == "sqld" and done >= KILL_AFTER_ROUNDS and done < total and not killed:
                    pids = descendants_named("--db-path")
                    assert pids, "no sqld server found"
                    for pid in pids:  # every worker's server: the backend's store is gone
                        os.kill(pid, signal.SIGKILL)
                    killed.extend(pids)
                update(name, done, total)
            yield killing_update

    monkeypatch.setattr(summary, "progress_bar", progress_bar)
    return killed


def test_sqld_killed_mid_run_records_errors_and_the_run_goes_on(kill_sqld_mid_run, tmp_path, capsys):
    out = tmp_path / "results.json"
    code = cli.main(["run", "--backends", "sqld,sqlite3", "--profile", "smoke", "--cold-starts", "1",
                     "--out", str(out), "--reports", str(tmp_path / "reports"), "--no-progress"])
    stderr = capsys.readouterr().err

    assert kill_sqld_mid_run, "the test never killed sqld"
    assert code == cli.EXIT_FAILED
    data = json.loads(out.read_text())
    assert data["complete"] is True
    sqld, sqlite3 = data["backends"]
    assert sqld["status"] == "failed" and "errors in" in sqld["reason"]
    assert sqld["checks"]["after_run"].startswith("not checked: the store could not be read")
    # Unknown reads as unknown: no "nothing lost" for a store nobody could read.
    assert sqld["writes"]["lost"] is None and sqld["writes"]["acknowledged"] > 0
    matrix = (tmp_path / "reports" / "decision-matrix.md").read_text()
    assert "| unknown: not checked |" in matrix
    assert f"| none of {sqlite3['writes']['acknowledged']:,} lost |" in matrix
    ops = {o["op"]: o for o in data["ops"] if o["backend"] == "sqld"}
    assert all(ops[op]["n"] > 0 for op in ("load_all", "add_message")), "ops ran before the kill"
    errors = {o["op"]: o["errors"] for o in ops.values()}
    assert all(o["errors"] > 0 and o["error_examples"] for o in ops.values()), errors
    assert all(example.strip() for o in ops.values() for example in o["error_examples"])
    assert sqlite3["status"] == "ok" and sqlite3["checks"]["after_run"] == "ok"
    assert sqlite3["writes"]["unacknowledged"] == 0
    paragraph = stderr.strip().splitlines()[-1]
    assert paragraph.startswith("storebench: the run finished with failures (1 of 2 backends ok)")
    assert "sqld failed: " in paragraph and "errors in load_all" in paragraph and str(out) in paragraph
    assert "Traceback" not in stderr


# Network faults through the WAN proxy ---------------------------------------------------

OP_TIMEOUT_S = 1.0
CLEAR_AFTER_S = 30  # if the op timeout failed, the stalled test ends (and fails) instead of hanging


@pytest.fixture
def turso_store(tmp_path):
    """The emulated Turso (real sqld with JWT auth behind the real proxy), preloaded; yields
    (store, fault switch, workload)."""
    settings = Settings(rtt_ms=2.0, op_timeout_s=OP_TIMEOUT_S)
    workload = Workload(Params(conversations=4, messages=2, iterations=6, warmup=0, cold_starts=0), seed=5)
    with emulated_turso(tmp_path, settings.rtt_ms) as target:
        switch = Counters(Path(target.extra["round_trip_counter"]))
        store = TursoStore(target, settings)
        store.open()
        try:
            store.setup_schema()
            store.preload(workload.initial_state)
            yield store, switch, workload
        finally:
            switch.set_fault("none")
            store.close()
            switch.close()


def add_messages_with_fault(store, switch, workload, fault: str, healthy_before: int = 3, faulty: int = 2):
    """add_message steps timed through the runner: `healthy_before` steps, then the fault is
    switched on for `faulty` steps, then off again for the rest. Returns (timing, plan, step slots)."""
    conversations = workload.initial_state
    plan = [("add_message", (workload.gen.message(conversations[i % len(conversations)].id, "user"),))
            for i in range(8)]
    steps = [(0, store.add_message, args) for _, args in plan]
    faulty_end = healthy_before + faulty
    switched = [*steps[:healthy_before], (1, switch.set_fault, (fault,)), *steps[healthy_before:faulty_end]]
    switched += [(1, switch.set_fault, ("none",))] + steps[faulty_end:]
    guard = threading.Timer(CLEAR_AFTER_S, switch.set_fault, ("none",))
    guard.start()
    try:
        timing = time_steps(switched, slots=2, secrets=[store.target.auth_token])
    finally:
        guard.cancel()
    return timing, plan, switched


@pytest.mark.parametrize("fault, messages", [
    # After the RST, the next op either reads the reset or (aiohttp noticed it first) finds its
    # transport closing: both are the reset, as the client reports it.
    ("reset", ("WebSocket was closed", "Connection reset by peer", "Cannot write to closing transport")),
    ("stall", ("no answer within the op timeout (1 s",)),
    ("trickle", ("no answer within the op timeout (1 s",)),
])
def test_a_network_fault_fails_only_the_ops_it_hits_and_loses_no_acknowledged_write(turso_store, fault, messages):
    store, switch, workload = turso_store
    timing, plan, steps = add_messages_with_fault(store, switch, workload, fault)

    assert timing.errors == [2, 0]  # switching the fault never fails
    assert timing.timeouts == [0 if fault == "reset" else 2, 0]  # a reset fails at once; the others time out
    assert all(any(m in e for m in messages) for e in timing.error_examples[0]), timing.error_examples[0]
    assert store.target.auth_token not in " ".join(timing.error_examples[0])
    # Exactly the two ops under the fault failed (steps 4 and 5; 3 and 6 flip the switch):
    # before it and once it is off again, every op succeeds (on a fresh connection where needed).
    assert timing.failed == [4, 5]
    assert len(timing.samples[0]) == len(plan) - 2

    # No acknowledged write lost; the failed ones may have reached the server (answers were hit).
    unacknowledged = {plan.index(("add_message", steps[i][2])) for i in timing.failed}
    problem, counts = safety.check(workload.initial_state, plan, unacknowledged, store.load_all())
    assert problem is None
    assert counts["unacknowledged"] == len(unacknowledged) >= 1
    assert counts["unacknowledged_applied"] + counts["unacknowledged_not_applied"] == len(unacknowledged)


def test_the_replica_fails_a_reset_op_at_once_and_loses_no_acknowledged_write(tmp_path):
    """turso-replica's driver has no op timeout (a stall would block it: see docs/backends.md), but a
    reset fails the forwarded write at once, and the replica recovers after it."""
    settings = Settings(rtt_ms=2.0)
    workload = Workload(Params(conversations=4, messages=2, iterations=6, warmup=0, cold_starts=0), seed=5)
    with TursoReplicaStore.provision(tmp_path, settings) as target:
        switch = Counters(Path(target.extra["round_trip_counter"]))
        store = TursoReplicaStore(target, settings)
        store.open()
        try:
            store.setup_schema()
            store.preload(workload.initial_state)
            timing, plan, steps = add_messages_with_fault(store, switch, workload, "reset")
            store.sync()
            actual = store.load_all()
        finally:
            switch.set_fault("none")
            store.close()
            switch.close()
    assert timing.errors == [2, 0] and timing.timeouts == [0, 0] and timing.failed == [4, 5]
    assert all("Connection reset by peer" in e for e in timing.error_examples[0]), timing.error_examples[0]
    unacknowledged = {plan.index(("add_message", steps[i][2])) for i in timing.failed}
    problem, counts = safety.check(workload.initial_state, plan, unacknowledged, actual)
    assert problem is None and counts["unacknowledged"] == 2


def test_api_routes_gives_up_on_a_server_that_never_answers():
    """A listening socket that accepts and never answers: the http.client socket timeout
    ends the op as an OpTimeout (counted in the op's `timeouts`)."""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        store = ApiRoutesStore(Target(url=f"http://127.0.0.1:{silent.getsockname()[1]}"),
                               Settings(op_timeout_s=0.2))
        store.open()
        try:
            timing = time_steps([(0, store.load_all, ())], slots=1)
        finally:
            store.close()
    assert timing.errors == timing.timeouts == [1]
    assert "timed out" in timing.error_examples[0][0]
