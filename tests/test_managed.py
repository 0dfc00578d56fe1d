"""`ManagedServer`, the start / readiness / log tail / stop every server of the harness shares,
with stand-in servers (`sh` scripts, named as such) to test that logic alone; the real servers
are tested through it in test_servers.py, test_api_routes.py and test_browser.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from storebench.backends.base import StoreError
from storebench.servers.managed import EarlyExit, ManagedServer, poll, started


def stand_in(tmp_path, script: str, name: str = "stand-in", attempt: int = 1, **options) -> ManagedServer:
    return ManagedServer(name, ["sh", "-c", script], tmp_path / f"{name}-{attempt}.log", **options)


def running(pid: int) -> bool:
    """Whether `pid` is a live process (a killed one may stay a zombie until init reaps it)."""
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except FileNotFoundError:
        return False


def test_a_server_that_exits_at_once_is_made_anew_and_its_last_log_line_reported(tmp_path):
    made = []

    def make(attempt: int) -> ManagedServer:
        made.append(attempt)
        return stand_in(tmp_path, "echo starting; echo 'port taken' >&2; exit 3", attempt=attempt)

    with pytest.raises(EarlyExit, match=r"^stand-in exited with status 3 before answering: port taken$"):
        started(make, lambda server: server.wait_ready(lambda: False, "answer", 60), attempts=3)
    assert made == [1, 2, 3]


def test_no_new_attempt_when_retry_says_the_failure_is_not_a_taken_port(tmp_path):
    made = []

    def make(attempt: int) -> ManagedServer:
        made.append(attempt)
        return stand_in(tmp_path, "echo 'bad flag'; exit 2", attempt=attempt)

    with pytest.raises(EarlyExit, match="bad flag"):
        started(make, lambda server: server.wait_ready(lambda: False, "answer", 60), attempts=3,
                retry=lambda server: "EADDRINUSE" in server.log.read_text())
    assert made == [1]


def test_a_server_that_never_gets_ready_is_stopped_and_the_timeout_names_its_last_line(tmp_path):
    server = stand_in(tmp_path, "echo 'still compiling'; exec sleep 600")
    with pytest.raises(StoreError, match=r"^stand-in did not answer GET / within 0 s: still compiling$"):
        started(lambda attempt: server, lambda s: s.wait_ready(lambda: False, "answer GET /", 0.3))
    assert server.process().poll() is not None


def test_readiness_gives_what_the_check_returned(tmp_path):
    with stand_in(tmp_path, "exec sleep 600").start() as server:
        assert server.wait_ready(lambda: (1, b"body"), "answer", 60) == (1, b"body")
    assert server.process().poll() is not None


def test_a_server_in_its_own_group_is_stopped_with_the_workers_it_forked(tmp_path):
    pid_file = tmp_path / "worker.pid"
    with stand_in(tmp_path, f"sleep 600 & echo $! > {pid_file}; wait", own_group=True).start() as server:
        server.wait_ready(lambda: pid_file.is_file() and pid_file.read_text().strip(), "fork", 60)
    worker = int(pid_file.read_text())
    assert server.process().poll() is not None
    assert poll(lambda: not running(worker), 60)  # a zombie, or reaped by init
