"""api-routes specifics beyond the contract: the server process's life cycle, the settings it
runs with, HTTP error mapping, round-trip counting, and the overhead columns against `libsql`."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from storebench.backends.api_routes import ApiRoutesStore
from storebench.backends.base import Conversation, Message, Settings, StoreError
from storebench.core.workload import EPOCH_MS
from storebench.model.overhead_ratio import add_overhead_ratios
from storebench.model.results import BackendResult, OpResult, Results, RunInfo
from tests.conftest import default_sigint

pytestmark = pytest.mark.server  # starts real servers (sqld, the API server, the WAN proxy)

# upper bound for a process to appear or go away, generous for a loaded machine running the suite in
# parallel workers; never a timing assertion
WAIT_S = 120.0


def server_pids(marker: str) -> list[int]:
    """Running api-routes server processes whose command line contains `marker`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue  # exited while we looked
            if "storebench.servers.api_routes_server" in cmdline and marker in cmdline:
                pids.append(int(entry.name))
    return pids


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {WAIT_S:.0f} s waiting for {what}")
        time.sleep(0.05)


def test_server_runs_while_provisioned_and_is_gone_after(tmp_path):
    with ApiRoutesStore.provision(tmp_path, Settings()) as target:
        assert server_pids(str(tmp_path)) == [target.extra["server_pid"]]
    assert server_pids(str(tmp_path)) == []


@pytest.mark.parametrize("exc_type", [RuntimeError, KeyboardInterrupt])
def test_server_is_stopped_when_the_run_fails_or_is_interrupted(tmp_path, exc_type):
    with pytest.raises(exc_type):
        with ApiRoutesStore.provision(tmp_path, Settings()):
            assert len(server_pids(str(tmp_path))) == 1
            raise exc_type("boom")
    assert server_pids(str(tmp_path)) == []


def test_an_interrupted_storebench_run_leaves_no_server_behind(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the server's database path names tmp_path
    command = [sys.executable, "-m", "storebench", "run", "--backends", "api-routes", "--profile", "smoke",
               "--no-progress", "--out", str(tmp_path / "results.json")]
    run = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           preexec_fn=default_sigint)
    try:
        # The WAL file appears with the first write through the routes: the run is under way.
        wait_for(lambda: list(tmp_path.glob("storebench-api-routes-*/api-routes.db-wal")) or run.poll() is not None,
                 "the run to write through the server")
        assert run.poll() is None, f"the run ended before it could be interrupted: {run.stderr.read()}"
        assert len(server_pids(str(tmp_path))) >= 1  # one per worker process
        run.send_signal(signal.SIGINT)
        _, stderr = run.communicate(timeout=WAIT_S)
    finally:
        run.kill()
    assert run.returncode == 130, stderr
    assert server_pids(str(tmp_path)) == []


def test_the_server_exits_when_the_harness_is_killed_outright(tmp_path):
    script = ("import sys, time; from pathlib import Path; from storebench.backends.api_routes import ApiRoutesStore; "
              "from storebench.backends.base import Settings\n"
              "with ApiRoutesStore.provision(Path(sys.argv[1]), Settings()):\n"
              "    print('ready', flush=True); time.sleep(600)")
    harness = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], cwd=tmp_path,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert harness.stdout.readline().strip() == "ready"
        assert len(server_pids(str(tmp_path))) == 1
        harness.kill()  # SIGKILL: no finally runs in the harness
        harness.wait(WAIT_S)
        wait_for(lambda: not server_pids(str(tmp_path)), "the orphaned server to exit")
    finally:
        harness.kill()


def test_a_database_the_server_cannot_open_fails_provision_with_the_reason(tmp_path):
    (tmp_path / "api-routes.db").mkdir()  # a directory where the database file should be
    with pytest.raises(StoreError, match=r"exited with status 2 before answering: .*cannot open the database"):
        with ApiRoutesStore.provision(tmp_path, Settings()):
            pass
    assert server_pids(str(tmp_path)) == []


@pytest.fixture
def routes(tmp_path):
    settings = Settings(synchronous="full", busy_timeout_ms=1234)
    with ApiRoutesStore.provision(tmp_path, settings) as target:
        store = ApiRoutesStore(target, settings)
        store.open()
        try:
            store.setup_schema()
            yield store
        finally:
            store.close()


def test_the_server_runs_with_the_run_settings_read_back_from_its_connection(routes):
    info = routes.describe()
    assert info["settings"] == {"journal_mode": "wal", "synchronous": "full", "foreign_keys": True,
                                "busy_timeout_ms": 1234, "transactions": "BEGIN IMMEDIATE per write op"}
    assert set(info["stack"]) == {"server", "framework", "process", "client"}


def test_a_store_failure_is_an_http_error_carrying_the_server_message(routes):
    routes.create_conversation(Conversation("c1", "t", EPOCH_MS, EPOCH_MS))
    with pytest.raises(StoreError, match=r"HTTP 500: .*UNIQUE constraint failed: conversations\.id"):
        routes.create_conversation(Conversation("c1", "t", EPOCH_MS, EPOCH_MS))


@pytest.mark.parametrize("body", [
    {"id": "c1", "title": "x", "updated_at": float(EPOCH_MS)},  # a float is not an int
    {"id": "c1", "title": "x", "updated_at": True},  # nor is a bool
    {"id": "c1", "title": "x"},
])
def test_a_malformed_body_is_rejected_with_400_and_changes_nothing(routes, body):
    routes.create_conversation(Conversation("c1", "t", EPOCH_MS, EPOCH_MS))
    response = httpx.post(f"{routes.target.url}/api/conversations/title", json=body, trust_env=False)
    assert response.status_code == 400 and "updated_at" in response.json()["error"]
    assert [(c.title, c.updated_at) for c in routes.load_all()] == [("t", EPOCH_MS)]


def test_each_op_is_one_http_round_trip(routes):
    ops = [
        (routes.create_conversation, (Conversation("c1", "t", EPOCH_MS, EPOCH_MS),)),
        (routes.add_message, (Message("m1", "c1", "user", "hi", EPOCH_MS + 1),)),
        (routes.update_title, ("c1", "T", EPOCH_MS + 2)),
        (routes.load_all, ()),
        (routes.delete_conversation, ("c1",)),
    ]
    for fn, args in ops:
        before = routes.round_trips()
        fn(*args)
        assert routes.round_trips() - before == 1, fn.__name__


def test_a_connection_the_server_closed_is_replaced_before_the_next_request(routes):
    routes.load_all()
    sock = routes.conn.sock
    sock.shutdown(socket.SHUT_WR)  # the server sees end of input and closes its side
    wait_for(lambda: select.select([sock], [], [], 0)[0], "the server to close the connection")
    before = routes.round_trips()
    assert routes.load_all() == []
    assert routes.round_trips() - before == 1
    assert routes.conn.sock is not sock


def test_a_request_to_a_stopped_server_raises_a_store_error(tmp_path):
    with ApiRoutesStore.provision(tmp_path, Settings()) as target:
        store = ApiRoutesStore(target, Settings())
        store.open()
        os.kill(target.extra["server_pid"], signal.SIGTERM)
        wait_for(lambda: not server_pids(str(tmp_path)), "the server to stop")
        with pytest.raises(StoreError, match="did not answer GET /api/conversations/load"):
            store.load_all()
        store.close()


def test_describe_names_libsql_as_the_engine_beneath_the_routes(routes):
    assert routes.describe()["overhead_vs"] == "libsql"


def test_overhead_pass_gives_what_the_route_layer_adds_over_libsql():
    data = Results(run=RunInfo(),
                   backends=[BackendResult(name="libsql", status="ok"),
                             BackendResult(name="api-routes", status="ok", overhead_vs="libsql")],
                   ops=[OpResult(backend="libsql", op="add_message", p50_ms=0.05),
                        OpResult(backend="api-routes", op="add_message", p50_ms=0.55)])
    libsql_add, routes_add = add_overhead_ratios(data).to_dict()["ops"]
    assert routes_add["overhead_vs"] == "libsql" and routes_add["overhead_reason"] is None
    assert routes_add["overhead_p50_ms"] == pytest.approx(0.5)
    assert routes_add["overhead_ratio"] == pytest.approx(11.0)
    assert "overhead_vs" not in libsql_add  # libsql compares with nothing
