"""The server backends' machinery, against the real sqld: the WAN proxy's delay and round-trip
counting, auth errors, and that no process the harness starts outlives it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storebench.backends.base import Settings, StoreError, Target
from storebench.backends.sqld import SqldStore
from storebench.backends.sqld_ws import SqldWsStore
from storebench.backends.turso import TursoStore, emulated_turso, real_turso
from storebench.backends.turso_replica import TursoReplicaStore
from storebench.core.workload import Params, Workload
from storebench.servers.sqld_server import find_sqld, running_sqld
from storebench.servers.wan_proxy import WanProxy
from tests.conftest import default_sigint

pytestmark = pytest.mark.server  # starts real servers (sqld, the API server, the WAN proxy)

RTT_MS = 50
PROCESS_WAIT_S = 60


@pytest.fixture
def sqld(tmp_path):
    with running_sqld(tmp_path) as server:
        yield server


def health(conn: http.client.HTTPConnection) -> None:
    conn.request("GET", "/health")
    response = conn.getresponse()
    response.read()
    assert response.status == 200


def run_workload(store, rounds: int = 3) -> None:
    workload = Workload(Params(conversations=3, messages=2, iterations=rounds, warmup=0, cold_starts=0), seed=3)
    store.setup_schema()
    store.preload(workload.initial_state)
    for op, args in workload.plan(rounds):
        getattr(store, op)(*args)


# Where sqld comes from ------------------------------------------------------------------

def test_a_users_own_sqld_binary_is_used_via_SQLD_BIN(monkeypatch, tmp_path, settings):
    monkeypatch.setenv("SQLD_BIN", str(find_sqld()))
    with SqldStore.provision(tmp_path, settings) as target:
        with SqldStore(target, settings) as store:
            assert store.describe()["server_version"].startswith("sqld ")


def test_a_sqld_that_exits_on_start_is_tried_three_times_and_its_error_line_reported(monkeypatch, tmp_path):
    """FakeCrashingSqld: a stand-in binary that prints a panic and exits, to test the start logic."""
    fake = tmp_path / "fake-crashing-sqld"
    fake.write_text("#!/bin/sh\necho started >> \"$0.calls\"\n"
                    "echo \"thread 'main' panicked at src/main.rs:1:1:\"\necho 'Address already in use'\n"
                    "echo '   11: _start'\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("SQLD_BIN", str(fake))
    with pytest.raises(StoreError,
                       match=r"sqld exited with status 1 before answering: .*panicked at .* Address already in use$"):
        with running_sqld(tmp_path):
            pass
    assert (tmp_path / "fake-crashing-sqld.calls").read_text().count("started") == 3


def test_a_bad_SQLD_BIN_makes_the_server_backends_unavailable_saying_why(monkeypatch, tmp_path):
    monkeypatch.setenv("SQLD_BIN", str(tmp_path / "no-such-sqld"))
    for cls in (SqldStore, SqldWsStore):
        assert "SQLD_BIN" in cls.unavailable_reason()


def test_an_already_running_server_is_used_via_SQLD_URL(monkeypatch, sqld, tmp_path, settings):
    monkeypatch.setenv("SQLD_URL", sqld.url)
    with SqldStore.provision(tmp_path / "unused", settings) as target:
        assert target.url == sqld.url
        with SqldStore(target, settings) as store:
            store.setup_schema()
            assert store.load_all() == []
            assert store.round_trips() is None  # not our server: no metrics to count with
    assert not (tmp_path / "unused").exists()  # nothing was started


# The WAN proxy -------------------------------------------------------------------------

def test_proxy_adds_at_least_one_rtt_per_exchange_and_one_more_per_new_connection(sqld, tmp_path):
    with WanProxy(sqld.port, RTT_MS, tmp_path) as proxy:
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        t0 = time.perf_counter()
        health(conn)  # connection handshake + request
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        health(conn)
        second = time.perf_counter() - t0
        conn.close()
    assert first >= 2 * RTT_MS / 1000
    assert second >= RTT_MS / 1000


def test_proxy_counts_each_request_response_exchange_and_each_handshake(sqld, tmp_path):
    with WanProxy(sqld.port, 0, tmp_path) as proxy:
        before = sqld.http_requests()
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        for _ in range(7):
            health(conn)
        conn.close()
        assert sqld.http_requests() - before == 7  # what the server answered
        assert (proxy.round_trips(), proxy.connections()) == (8, 1)  # 7 exchanges + 1 handshake


def test_pipelined_requests_share_one_round_trip(sqld, tmp_path):
    with WanProxy(sqld.port, RTT_MS, tmp_path) as proxy:
        before = sqld.http_requests()
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as s:
            request = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
            s.sendall(request * 2)  # the second leaves before the first is answered
            received = b""
            while received.count(b"HTTP/1.1 200") < 2:
                received += s.recv(65536)
        assert sqld.http_requests() - before == 2
        assert proxy.round_trips() == 2  # handshake + one exchange carrying both requests


def test_sqld_round_trips_from_server_metrics_match_the_wire(sqld, tmp_path, settings):
    with WanProxy(sqld.port, 0, tmp_path) as proxy:
        store = SqldStore(Target(url=f"http://127.0.0.1:{proxy.port}", extra={"admin_url": sqld.admin_url}), settings)
        with store:
            counted, wire = store.round_trips(), proxy.round_trips() - proxy.connections()
            run_workload(store)
            counted, wire = store.round_trips() - counted, proxy.round_trips() - proxy.connections() - wire
    assert counted == wire > 0


def test_websocket_client_round_trips_match_the_wire(sqld, tmp_path, settings):
    # With latency, as on any real link: the client's messages of one batch leave together,
    # so the server cannot answer between them (at zero latency it can, and the wire would see
    # more, shorter turns than a WAN would). "Together" means before the server's answer to
    # the first reaches the proxy, one way (RTT/2) later: 100 ms, which outlasts the few tens of
    # ms a thread may wait for a CPU on a loaded machine (at 10 ms, under load, the wire saw a
    # batch's second message after the answer to its first: 18 turns for 17).
    with WanProxy(sqld.port, 200, tmp_path) as proxy:
        store = SqldWsStore(Target(url=f"ws://127.0.0.1:{proxy.port}"), settings)
        with store:
            counted, wire = store.round_trips(), proxy.round_trips()
            run_workload(store)
            counted, wire = store.round_trips() - counted, proxy.round_trips() - wire
    assert counted == wire > 0


def test_emulated_turso_counts_round_trips_on_the_wire_and_pays_the_rtt(tmp_path):
    settings = Settings(rtt_ms=RTT_MS)
    with emulated_turso(tmp_path, RTT_MS) as target:
        with TursoStore(target, settings) as store:
            store.setup_schema()
            trips = store.round_trips()
            t0 = time.perf_counter()
            store.update_title("none", "t", 1)  # a one-statement op: one batch, one round trip
            elapsed = time.perf_counter() - t0
            assert store.round_trips() - trips == 1
            assert store.counter.count >= 1  # the client-side counter runs too
    assert elapsed >= RTT_MS / 1000
    assert store.emulated


# Auth ------------------------------------------------------------------------------------

@pytest.mark.parametrize("token", [None, "not-a-jwt", "wrong-signature"])
def test_a_wrong_or_missing_token_is_an_auth_error_naming_the_variable(tmp_path, token):
    settings = Settings(rtt_ms=0)
    with emulated_turso(tmp_path, 0) as target:
        if token == "wrong-signature":
            token = target.auth_token[:-8] + "AAAAAAAA"
        store = TursoStore(Target(url=target.url, auth_token=token, extra=target.extra), settings)
        with pytest.raises(StoreError) as error:
            store.open()
        store.close()
    message = str(error.value)
    assert "authentication failed" in message and "TURSO_AUTH_TOKEN" in message
    assert "\n" not in message
    assert not token or token not in message


def test_the_replica_reports_a_wrong_token_as_an_auth_error(tmp_path):
    with emulated_turso(tmp_path, 0) as target:
        replica = TursoReplicaStore(Target(path=str(tmp_path / "replica.db"), url=target.url,
                                           auth_token="not-a-jwt", extra=target.extra), Settings(rtt_ms=0))
        with pytest.raises(StoreError, match="authentication failed.*TURSO_AUTH_TOKEN") as error:
            replica.open()
    assert "not-a-jwt" not in str(error.value)


@pytest.mark.parametrize("present,missing", [("TURSO_DATABASE_URL", "TURSO_AUTH_TOKEN"),
                                             ("TURSO_AUTH_TOKEN", "TURSO_DATABASE_URL")])
def test_half_configured_real_turso_names_the_missing_variable(monkeypatch, present, missing):
    monkeypatch.delenv(missing, raising=False)
    monkeypatch.setenv(present, "libsql://example.turso.io" if present.endswith("URL") else "secret-token")
    with pytest.raises(StoreError, match=f"set {missing}") as error:
        real_turso()
    assert "secret-token" not in str(error.value)


def storebench(args: list[str], tmp_path: Path, env: dict | None = None, **kwargs) -> subprocess.Popen:
    """`storebench` in a child process whose temporary folders (and so every server's
    data directory, which appears in its command line) live under tmp_path/harness-tmp."""
    harness_tmp = tmp_path / "harness-tmp"
    harness_tmp.mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "storebench", *args], env={**os.environ, "TMPDIR": str(harness_tmp), **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, preexec_fn=default_sigint, **kwargs,
    )


def test_a_run_with_the_url_but_no_token_is_refused_naming_TURSO_AUTH_TOKEN(tmp_path):
    env = {"TURSO_DATABASE_URL": "libsql://example.turso.io", "TURSO_AUTH_TOKEN": ""}
    proc = storebench(["run", "--backends", "turso", "--profile", "smoke", "--no-progress", "--out", "out.json"],
                      tmp_path, env=env)
    _, stderr = proc.communicate(timeout=PROCESS_WAIT_S)
    assert proc.returncode == 2 and not (tmp_path / "out.json").exists()  # refused before measuring
    assert "set TURSO_AUTH_TOKEN" in stderr and stderr.count("\n") == 1


def test_a_run_against_real_turso_with_a_bad_token_is_refused_with_one_line_and_no_token(tmp_path):
    token = "bad-token-0123456789"
    with emulated_turso(tmp_path, 0) as target:
        url = "ws" + target.url.removeprefix("http")
        proc = storebench(["run", "--backends", "turso", "--profile", "smoke", "--cold-starts", "0",
                           "--no-progress", "--out", "out.json"], tmp_path,
                          env={"TURSO_DATABASE_URL": url, "TURSO_AUTH_TOKEN": token})
        stdout, stderr = proc.communicate(timeout=PROCESS_WAIT_S)
    assert proc.returncode == 2 and not (tmp_path / "out.json").exists()  # refused before measuring
    assert "authentication failed" in stderr and "TURSO_AUTH_TOKEN" in stderr and stderr.count("\n") == 1
    assert token not in stdout + stderr


# Processes ------------------------------------------------------------------------------

def processes_mentioning(marker: str) -> list[str]:
    """Command lines of running processes that mention `marker`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append(cmdline)
    return found


def wait_for(condition, timeout_s: float = PROCESS_WAIT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_no_server_or_proxy_is_left_after_a_run(tmp_path):
    marker = str(tmp_path / "harness-tmp")
    proc = storebench(["run", "--backends", "sqld,sqld-ws,turso", "--profile", "smoke", "--iterations", "3",
                       "--warmup", "1", "--cold-starts", "1", "--no-progress", "--out", "out.json"], tmp_path)
    stdout, stderr = proc.communicate(timeout=PROCESS_WAIT_S * 2)
    assert proc.returncode == 0, stderr
    assert processes_mentioning(marker) == []
    # The emulated turso's token (a JWT: base64 of '{"' is "eyJ") was never written out.
    assert "eyJ" not in (tmp_path / "out.json").read_text() + stdout + stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_no_server_or_proxy_is_left_after_ctrl_c_in_the_middle_of_a_run(tmp_path):
    marker = str(tmp_path / "harness-tmp")
    proc = storebench(["run", "--backends", "turso", "--profile", "smoke", "--no-progress", "--out", "out.json"],
                      tmp_path)
    try:
        # Both the server and the proxy are up: the run is in the middle of the backend.
        assert wait_for(lambda: len(processes_mentioning(marker)) >= 2), "the servers never started"
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=PROCESS_WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    # The samples measured before the Ctrl-C, if any, are kept (tests/test_nothing_lost.py).
    if (tmp_path / "out.json").exists():
        assert json.loads((tmp_path / "out.json").read_text())["complete"] is False
        assert "everything measured so far is in out.json (complete: false)" in stderr
    else:
        assert stderr.endswith("storebench: interrupted; nothing had been measured; no results file was written\n")
    assert processes_mentioning(marker) == []
