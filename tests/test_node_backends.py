"""The Node tier (backends/node.py, backends/node_runner.py, node/): what it says when Node is
missing, the runner's timing protocol, round trips on the wire, cold starts, the settings it
keeps, and that no Node process outlives its store. The storage contract itself is checked for
every Node backend by tests/test_contract.py."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from storebench import backends
from storebench.backends import node_runner, sql
from storebench.backends.base import Conversation, Message, Settings, StoreError, Target
from storebench.backends.node import NodeTursoStore
from storebench.core.runner import cold_starts
from storebench.core.workload import EPOCH_MS, OPS, Params, Workload
from tests.conftest import default_sigint

NODE_BACKENDS = ["node-libsql", "node-sqld", "node-turso", "drizzle", "drizzle-turso", "prisma", "better-sqlite3"]
FILE_BACKENDS = ["node-libsql", "drizzle", "prisma", "better-sqlite3"]
BIG_MS = EPOCH_MS + 123
WAIT_S = 60


@pytest.fixture
def no_cached_node_check():
    node_runner.node_binary_reason.cache_clear()
    yield
    node_runner.node_binary_reason.cache_clear()


@pytest.fixture
def open_store(tmp_path):
    """open_store(name, settings) -> an open store with its schema on a freshly provisioned
    target; closed and its target removed after the test."""
    with contextlib.ExitStack() as stack:

        def make(name: str, settings: Settings = Settings(rtt_ms=2.0)):
            cls = backends.get(name)
            workdir = tmp_path / name
            workdir.mkdir()
            target = stack.enter_context(cls.provision(workdir, settings))
            store = stack.enter_context(cls.opened(target, settings))
            store.setup_schema()
            return store

        yield make


def conv(cid: str, at: int = BIG_MS) -> Conversation:
    return Conversation(cid, "t", at, at, [])


# Availability -------------------------------------------------------------------------------

def test_every_node_backend_is_registered():
    assert set(NODE_BACKENDS) <= set(backends.names())
    assert all(backends.get(name).self_timed for name in NODE_BACKENDS)


def test_without_node_on_the_path_every_node_backend_says_why(monkeypatch, tmp_path, no_cached_node_check):
    monkeypatch.setenv("PATH", str(tmp_path))
    for name in NODE_BACKENDS:
        reason = backends.unavailable_reason(name)
        assert reason is not None and "Node.js >= 20 is not on the PATH" in reason, name


def test_a_node_older_than_20_is_named_with_its_version(monkeypatch, tmp_path, no_cached_node_check):
    fake_node = tmp_path / "node"  # a fake `node` that only reports an old version
    fake_node.write_text("#!/bin/sh\necho v18.19.0\n")
    fake_node.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert backends.unavailable_reason("better-sqlite3") == (
        "Node.js v18.19.0 is too old: the Node backends need Node >= 20")


def test_an_uninstalled_node_folder_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(node_runner, "NODE_DIR", tmp_path)
    assert backends.unavailable_reason("node-libsql") == (
        "node/node_modules is missing: run `make install`, which runs `npm ci` in node/")
    (tmp_path / "node_modules").mkdir()
    assert backends.unavailable_reason("node-libsql") is None
    assert "node/generated/prisma-client.mjs is missing" in backends.unavailable_reason("prisma")


def test_the_node_systems_run_the_same_sql_as_the_python_backends():
    script = "import('./systems/sql.mjs').then((m) => console.log(JSON.stringify(m)))"
    js = json.loads(subprocess.run(["node", "--input-type=module", "-e", script], cwd=node_runner.NODE_DIR,
                                   capture_output=True, text=True, check=True).stdout)
    assert js["SCHEMA"] == list(sql.SCHEMA)
    for name in ("SELECT_CONVERSATIONS", "SELECT_MESSAGES", "SELECT_PAGE", "SELECT_PAGE_MESSAGES",
                 "INSERT_CONVERSATION", "INSERT_MESSAGE", "TOUCH_CONVERSATION", "UPDATE_TITLE", "DELETE_MESSAGES",
                 "DELETE_CONVERSATION"):
        assert js[name] == getattr(sql, name), name


# The timing protocol ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["better-sqlite3", "node-libsql"])
def test_time_plan_times_every_step_after_the_warmup_and_counts_failures_per_op(open_store, name):
    store = open_store(name)
    steps = [
        (1, "create_conversation", (conv("c1"),)),  # warm-up
        (1, "create_conversation", (conv("c1"),)),  # warm-up, fails: duplicate id
        (2, "add_message", (Message("m1", "c1", "user", "hi", BIG_MS + 1),)),
        (1, "create_conversation", (conv("c1"),)),  # fails: duplicate id
        (3, "update_title", ("c1", "x", BIG_MS + 2)),
        (0, "load_all", ()),
        (0, "load_all", ()),
    ]
    sizes = []
    timing = store.time_plan(steps, slots=5, warmup=2, store_size=lambda *size: sizes.append(size))
    assert sizes == [(1, 1), (1, 1)]  # each timed load_all's answer, counted in Node
    assert [len(s) for s in timing.samples] == [2, 0, 1, 1, 0]
    assert all(ns > 0 for s in timing.samples for ns in s)
    assert timing.errors == [0, 1, 0, 0, 0]
    assert timing.failed == [1, 3]
    assert "UNIQUE" in timing.error_examples[1][0]
    assert timing.round_trips == [0, 0, 0, 0, 0]
    [c] = store.load_all()
    assert (c.title, c.updated_at, [m.id for m in c.messages]) == ("x", BIG_MS + 2, ["m1"])


@pytest.mark.parametrize("name", ["node-sqld", "node-turso"])
def test_remote_ops_cross_the_wire_once_each_and_are_counted_there(open_store, name):
    store = open_store(name)
    workload = Workload(Params(conversations=3, messages=2, iterations=2, warmup=0, cold_starts=0), seed=5)
    store.preload(workload.initial_state)
    steps = [(OPS.index(op), op, args) for op, args in workload.plan(2)]
    timing = store.time_plan(steps, slots=len(OPS), warmup=0)
    assert sum(timing.errors) == 0
    # One client.batch per op is one HTTP request; sqld's metrics count exactly those, the
    # proxy also counts a new connection's handshake as a round trip.
    if name == "node-sqld":
        assert timing.round_trips == [2] * len(OPS)
    else:
        assert all(trips >= 2 for trips in timing.round_trips)
    assert store.round_trips() >= sum(timing.round_trips)


def test_the_runner_floor_and_versions_are_recorded(open_store):
    info = open_store("better-sqlite3").describe()
    floor = info["runner_floor"]
    assert floor["n"] == node_runner.FLOOR_CALLS - node_runner.FLOOR_CALLS // 10
    assert 0 < floor["min_ns"] <= floor["p50_ns"]
    assert info["node_version"].startswith("v")
    assert info["driver_version"].startswith("better-sqlite3 12.")


def test_an_error_in_node_is_a_store_error_carrying_its_message(open_store):
    store = open_store("node-libsql")
    store.create_conversation(conv("c1"))
    with pytest.raises(StoreError, match="UNIQUE constraint failed"):
        store.create_conversation(conv("c1"))


# Fair settings and exact values -------------------------------------------------------------

@pytest.mark.parametrize("name", FILE_BACKENDS)
def test_the_settings_stay_in_force_through_write_transactions(open_store, name):
    # Per-connection PRAGMAs are lost when a client opens a new connection (as @libsql/client
    # 0.17 did after every transaction, the client Prisma's adapter would otherwise bring);
    # a new connection here has synchronous FULL and a busy timeout of 0.
    store = open_store(name, Settings(busy_timeout_ms=1234))
    store.create_conversation(conv("c1"))
    store.add_message(Message("m1", "c1", "user", "hi", BIG_MS + 1))
    store.delete_conversation("c1")
    settings = store.observations()["settings_after_run"]
    keys = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout_ms")
    assert tuple(settings[k] for k in keys) == ("wal", "normal", True, 1234)


@pytest.mark.parametrize("name", FILE_BACKENDS)
def test_epoch_milliseconds_are_stored_as_integers(open_store, name):
    store = open_store(name)
    store.create_conversation(conv("c1"))
    store.add_message(Message("m1", "c1", "user", "hi", BIG_MS + 1))
    store.update_title("c1", "x", BIG_MS + 2)
    with contextlib.closing(sqlite3.connect(store.target.path)) as db:
        conversations = db.execute("SELECT typeof(created_at), typeof(updated_at) FROM conversations").fetchall()
        messages = db.execute("SELECT typeof(created_at) FROM messages").fetchall()
    assert (conversations, messages) == ([("integer", "integer")], [("integer",)])


# Cold start ---------------------------------------------------------------------------------

def test_a_cold_start_is_a_fresh_node_process_up_to_the_first_load_all(open_store):
    store = open_store("node-libsql")
    store.preload([conv("c1"), conv("c2")])
    request = json.dumps({"backend": "node-libsql", "target": asdict(store.target), "settings": asdict(store.settings)})
    proc = subprocess.run([sys.executable, "-m", "storebench.core.coldstart"], input=request,
                          capture_output=True, text=True, timeout=WAIT_S)
    assert proc.returncode == 0, proc.stderr
    ready, line = proc.stdout.splitlines()
    answer = json.loads(line)
    assert ready == "ready" and answer["conversations"] == 2 and answer["ns"] > 0


def test_a_failing_cold_start_reports_the_error_without_the_token(open_store):
    store = open_store("node-turso")
    bad = Target(url=store.target.url, auth_token="not-a-jwt-secret", extra=store.target.extra)
    samples, problems = cold_starts("node-turso", bad, store.settings, 1)
    assert samples == [] and len(problems) == 1
    assert "401" in problems[0] and "not-a-jwt-secret" not in problems[0]


# Processes ----------------------------------------------------------------------------------

def test_closing_a_store_ends_its_node_process(open_store):
    store = open_store("better-sqlite3")
    proc = store.process.proc
    store.close()
    assert proc.poll() is not None and store.process is None


def test_a_store_that_fails_to_open_leaves_no_node_process(tmp_path, monkeypatch):
    store = backends.get("node-libsql")(Target(path=str(tmp_path / "missing-dir" / "x.db")), Settings())
    started = []
    real_init = node_runner.NodeProcess.__init__

    def recording_init(self, *args):
        real_init(self, *args)
        started.append(self.proc)

    monkeypatch.setattr(node_runner.NodeProcess, "__init__", recording_init)
    with pytest.raises(StoreError):
        store.open()
    assert [p.poll() is not None for p in started] == [True]


def test_inside_reusing_a_closed_store_leaves_its_runner_to_the_next_store(tmp_path):
    """The probes' own stores: each a fresh client, without a Node start-up each; the scope
    stops what is left."""
    cls = backends.get("node-libsql")
    with cls.provision(tmp_path, Settings()) as target:
        with cls.reusing():
            first = cls.opened(target, Settings())
            first.setup_schema()
            first.create_conversation(conv("a"))
            runner = first.process.proc
            first.close()
            assert runner.poll() is None and first.process is None
            second = cls.opened(target, Settings())
            assert second.process.proc is runner
            assert [c.id for c in second.load_all()] == ["a"]
            second.close()
        assert runner.poll() is not None


def test_a_wrong_token_is_refused_without_showing_it(open_store):
    target = open_store("node-turso").target
    store = NodeTursoStore(Target(url=target.url, auth_token="not-a-jwt-secret", extra=target.extra), Settings())
    with pytest.raises(StoreError) as error:
        store.open()
    assert "401" in str(error.value) and "not-a-jwt-secret" not in str(error.value)


def node_children(pid: int) -> list[int]:
    """Pids of the Node runners descending from `pid` (a run's measuring workers start them)."""
    parents, runners = {}, []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        parents[int(proc.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        if b"runner.mjs" in cmdline:
            runners.append(int(proc.name))
    found = []
    for runner in runners:
        ancestor = parents.get(runner)
        while ancestor and ancestor != pid:
            ancestor = parents.get(ancestor)
        if ancestor == pid:
            found.append(runner)
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_in_the_middle_of_a_run_stops_the_node_process(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "storebench", "run", "--backends", "node-libsql",
                             "--profile", "smoke", "--iterations", "2000", "--cold-starts", "100", "--no-progress",
                             "--out", "out.json"],  # cold starts: a run that cannot be over before the Ctrl-C
                            preexec_fn=default_sigint,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + WAIT_S
        while not (children := node_children(proc.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert children, "the Node runner never started"
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    deadline = time.monotonic() + WAIT_S  # a bound for exiting, not a speed expectation
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in children)
