"""`storebench swarm`: real Locust master and worker processes against a harness-started sqld.

The merge is tested on plain data (chunked messages, exact percentiles); the command end to
end with a few seconds of load, closed and open loop, and interrupted with Ctrl-C. Nothing
here depends on speed: counts, equalities and process lists only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from array import array
from dataclasses import replace
from pathlib import Path

import pytest

from storebench import backends
from storebench.cli import main
from storebench.core import swarm, swarm_records
from storebench.core.safety import replay
from storebench.core.timing import Timing
from storebench.core.workload import OPS
from storebench.model import results, stats
from tests.conftest import default_sigint

pytestmark = pytest.mark.skipif(backends.unavailable_reason("sqld") is not None, reason="no sqld here")
STOREBENCH = [sys.executable, "-m", "storebench"]
LOAD = ["--backends", "sqld", "--workers", "2", "--users", "4", "--conversations", "5", "--messages", "2",
        "--warmup", "1"]


def _timing(samples: list[list[int]], failed: list[int] = ()) -> Timing:
    slots = len(samples)
    return Timing([array("q", s) for s in samples], [0] * slots, [[] for _ in range(slots)], [0] * slots,
                  list(failed), [0] * slots, [0] * slots)


def test_merged_percentiles_are_those_of_all_raw_samples_sent_in_chunks(monkeypatch):
    monkeypatch.setattr(swarm_records, "CHUNK", 7)  # many chunks per op
    users = []
    for k, (worker, index) in enumerate([(0, 0), (0, 1), (1, 0)]):
        record = swarm_records.UserRecord(f"{worker}:{index}", worker, seed=k, slots=len(OPS))
        record.add_timing(_timing([[1_000 * (k + 1) + 37 * i + slot for i in range(20 + slot)] for slot in range(5)]),
                          0, 5)
        users.append(record)
    collector = swarm_records.Collector()
    for record in users:
        for kind, data in record.messages():
            (collector.add_samples if kind == "storebench_samples" else collector.add_done)(data)
    received, problems = collector.records()
    assert problems == []
    ops = swarm_records.merged_ops("sqld", OPS, received, None)
    for slot, op in enumerate(ops):
        everything = [s for u in users for s in u.samples["latency"][slot]]
        assert op["n"] == len(everything) == sum(op["process_n"])
        assert op["p50_ms"] == stats.summarize(everything)["p50_ms"]
        assert op["p99_ms"] == stats.summarize(everything)["p99_ms"]
        assert op["processes"] == 2 and len(op["process_p50_ms"]) == 2


def test_a_user_whose_samples_did_not_all_arrive_is_reported_not_merged():
    record = swarm_records.UserRecord("0:0", 0, seed=1, slots=len(OPS))
    record.add_timing(_timing([[10, 20, 30]] * 5), 0, 5)
    collector = swarm_records.Collector()
    messages = list(record.messages())
    for kind, data in messages[1:]:  # the first chunk is lost
        (collector.add_samples if kind == "storebench_samples" else collector.add_done)(data)
    received, problems = collector.records()
    assert received == [] and "0:0" in problems[0]


def test_failed_calls_of_a_round_are_unacknowledged_plan_steps_and_extra_ops_are_not():
    record = swarm_records.UserRecord("0:0", 0, seed=1, slots=6)
    record.add_timing(_timing([[1]] * 6, failed=[1, 5]), round_start=10, round_steps=5)
    assert record.failed == [11]  # call 5 is the backend's extra op (no write)


def test_workers_missing_for_a_while_fail_the_run_even_when_no_user_was_stopped():
    users = [swarm_records.UserRecord(f"0:{i}", 0, seed=i, slots=len(OPS), window_ns=30_000_000_000) for i in range(2)]
    assert swarm_records.window_problem(users, 30, missing=0, workers=2) is None
    assert swarm_records.window_problem(users, 30, missing=1, workers=2) == (
        "1 of 2 workers missed their heartbeats and Locust counted them missing: their users' samples have a gap")
    users[1].cut_short, users[1].window_ns = True, 4_200_000_000
    assert swarm_records.window_problem(users, 30, missing=0, workers=2) == (
        "1 of 2 users were stopped 4.2 s into the 30 s window")
    assert swarm_records.measured_s(users) == 4.2


@pytest.mark.parametrize("argv, words", [
    (["swarm", "--backends", "nope"], "unknown backend nope"),
    (["swarm", "--duration", "ten"], "is not a duration"),
    (["swarm", "--duration", "0s"], "must be more than 0"),
    (["swarm", "--workers", "4", "--users", "2"], "fewer than --workers"),
    (["swarm", "--master"], "--master needs --url"),
    (["swarm", "--backends", "sqld-ws"], "cannot run in a Locust worker"),
])
def test_bad_input_is_one_line_and_exit_2_before_anything_starts(argv, words, capsys, tmp_path):
    assert main(argv + ["--out", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def swarm_env(folder: Path) -> dict[str, str]:
    """The environment of a `storebench swarm` child whose temporary folders (the server's data,
    Locust's log folders) are made under `folder`, a folder of the test's own."""
    return {**os.environ, "TMPDIR": str(folder)}


def _ours(folder: Path) -> list[str]:
    """Live processes a swarm run given swarm_env(folder) started and may have left behind: the
    server names its data folder under `folder` in its command line, Locust's master and
    workers run in a log folder below it (the test itself runs in its tmp_path, not below).
    Only this test's: other tests' runs (in other pytest-xdist workers, or another checkout's
    suite) have folders of their own."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except (OSError, ValueError, IndexError):
            continue
        if state != "Z" and (f"{folder}/" in cmdline or cwd.startswith(f"{folder}/")):
            found.append(cmdline[:200])
    return found


# The tests reading the module-scoped `closed_run` run on one pytest-xdist worker (loadgroup),
# which computes it once.
same_swarm_run = pytest.mark.xdist_group("swarm-closed-run")


@pytest.fixture(scope="module")
def closed_run(tmp_path_factory):
    """(the finished process, its results file); its temporary folders were in out's folder."""
    out = tmp_path_factory.mktemp("swarm") / "closed.json"
    proc = subprocess.run(STOREBENCH + ["swarm", *LOAD, "--duration", "3s", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, env=swarm_env(out.parent))
    return proc, out


@same_swarm_run
def test_swarm_writes_exact_merged_results_that_locust_counted_too(closed_run):
    proc, out = closed_run
    assert proc.returncode == 0, proc.stderr
    data = results.Results.load(out)
    assert data.run.engine == "locust" and data.run.locust_version
    assert (data.run.workers, data.run.users, data.run.duration_s) == (2, 4, 3.0)
    (backend,) = data.backends
    assert backend.status == "ok" and backend.checks["after_run"] == "ok"
    assert backend.writes["acknowledged"] > 0 and backend.writes["lost"] == []
    assert [o.op for o in data.ops] == list(OPS)
    for op in data.ops:
        assert op.n > 0 and op.n == len(op.samples_ns) == sum(op.process_n)
        assert op.processes == 2  # both workers contributed
        assert op.p50_ms == stats.summarize(op.samples_ns)["p50_ms"]
        assert op.p99_ms == stats.summarize(op.samples_ns)["p99_ms"]
        assert any(s % 1_000_000 for s in op.samples_ns)  # not Locust's whole milliseconds
        # Locust's own statistics (its request events, merged by its master) saw every op.
        assert op.locust["requests"] == op.n + op.errors
        assert op.locust["failures"] == op.errors


@same_swarm_run
def test_swarm_results_are_read_by_report_and_check(closed_run, tmp_path, capsys):
    _, out = closed_run
    assert main(["report", str(out), "--out", str(tmp_path / "reports")]) == 0
    assert (tmp_path / "reports" / "index.html").is_file()
    assert main(["check", str(out), str(out)]) == 0


@same_swarm_run
def test_no_master_worker_or_server_is_left_after_a_run(closed_run):
    _, out = closed_run
    assert _ours(out.parent) == []


def test_open_loop_records_wait_and_service_apart(tmp_path):
    out = tmp_path / "open.json"
    proc = subprocess.run(STOREBENCH + ["swarm", *LOAD, "--duration", "2s", "--rate", "100", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, env=swarm_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    data = results.Results.load(out)
    for op in data.ops:
        assert op.latency_basis == "intended" and op.rate_per_s == 100
        assert len(op.service_samples_ns) == len(op.wait_samples_ns) == op.n > 0
        # Merged in the same order: each latency is its own op's service time plus its wait.
        assert op.samples_ns == [s + w for s, w in zip(op.service_samples_ns, op.wait_samples_ns)]
        assert op.locust["requests"] == op.n + op.errors
    assert _ours(tmp_path) == []


def test_ctrl_c_stops_master_workers_and_server(tmp_path):
    # A duration no loaded machine reaches before the Ctrl-C (60 s did, with a CPU hog beside 4 test workers).
    proc = subprocess.Popen(STOREBENCH + ["swarm", *LOAD, "--duration", "600s", "--out", str(tmp_path / "r.json")],
                            preexec_fn=default_sigint,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=swarm_env(tmp_path))
    try:
        deadline = time.monotonic() + 120
        while sum(str(swarm.LOCUSTFILE) in line for line in _ours(tmp_path)) < 3:  # master and both workers
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "slow"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert _ours(tmp_path) == []


# The load of the report: 4 users per worker, the default workload (20 conversations of
# 5 messages per user). Under it, with Locust's `gevent.sleep(0)` between rounds, the workers'
# heartbeats stopped and Locust ended a 15 s test after about 5 s.
BUSY_LOAD = ["--backends", "sqld", "--workers", "2", "--users", "8"]


def _swarm(out: Path, duration: str) -> results.Results:
    proc = subprocess.run(STOREBENCH + ["swarm", *BUSY_LOAD, "--duration", duration, "--out", str(out)],
                          capture_output=True, text=True, timeout=300, env=swarm_env(out.parent))
    assert proc.returncode == 0, proc.stderr
    return results.Results.load(out)


@pytest.mark.slow
def test_a_longer_window_is_measured_whole_and_gives_more_samples(tmp_path):
    short, long = _swarm(tmp_path / "short.json", "3s"), _swarm(tmp_path / "long.json", "15s")
    for data in (short, long):
        (backend,) = data.backends
        assert backend.status == "ok", backend.reason
        assert backend.measured_s >= data.run.duration_s  # every user measured its whole window
    for a, b in zip(short.ops, long.ops):
        assert b.n > a.n, a.op


def _worker_pids(folder: Path) -> list[int]:
    """The Locust workers of a swarm run given swarm_env(folder) (they run in a log folder below it)."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if b"--worker" in cmdline and cwd.startswith(f"{folder}/"):
            pids.append(int(pid))
    return pids


def _wait_for_line(folder: Path, pattern: str, text: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while not any(text in log.read_text(errors="replace") for log in folder.glob(pattern)):
        assert proc.poll() is None and time.monotonic() < deadline, f"no {text!r} in {pattern}"
        time.sleep(0.1)


@pytest.mark.slow
def test_a_run_whose_workers_went_missing_fails_and_says_how_long_it_measured(tmp_path):
    # Both workers frozen (SIGSTOP) inside the window send no heartbeat: the master counts them
    # missing and Locust stops the test, long before the 600 s asked for.
    out = tmp_path / "missing.json"
    proc = subprocess.Popen(STOREBENCH + ["swarm", *LOAD, "--duration", "600s", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=swarm_env(tmp_path))
    master_log = "storebench-swarm-*/sqld-logs/master.log"
    try:
        _wait_for_line(tmp_path, master_log, "storebench: go", proc)
        workers = _worker_pids(tmp_path)
        assert len(workers) == 2
        for pid in workers:
            os.kill(pid, signal.SIGSTOP)
        try:
            _wait_for_line(tmp_path, master_log, "The last worker went missing", proc)
        finally:
            for pid in workers:
                os.kill(pid, signal.SIGCONT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    data = results.Results.load(out)
    (backend,) = data.backends
    assert backend.status == "failed"
    assert "4 of 4 users were stopped" in backend.reason
    assert "into the 600 s window (2 of 2 workers missed their heartbeats" in backend.reason
    assert 0 < backend.measured_s < 600
    assert all(op.n == len(op.samples_ns) > 0 for op in data.ops)  # what was measured is kept
    assert backend.checks["after_run"] == "ok"  # the interrupted rounds' writes count as unacknowledged
    assert _ours(tmp_path) == []


def test_the_write_check_leaves_out_conversations_that_are_not_the_users_own():
    params = swarm.SwarmConfig("sqld", {}, {}, 3, 1, 0, 1, 1.0, 1, 1, "-").params()
    record = swarm_records.UserRecord("0:0", 0, seed=5, slots=len(OPS), rounds=2)
    workload, plan = swarm_records.user_plan(params, 5, 2)
    expected = list(replay(workload.initial_state, plan, set())[0].values())
    foreign = swarm_records.user_plan(params, 6, 0)[0].initial_state  # e.g. a given server's earlier data
    store = [replace(c, messages=sorted(c.messages, key=lambda m: (m.created_at, m.id)))
             for c in sorted(expected + foreign, key=lambda c: (-c.updated_at, c.id))]
    problem, writes = swarm_records.check_writes(params, [record], store)
    assert problem is None and writes["acknowledged"] == sum(op != "load_all" for op, _ in plan)
    problem, _ = swarm_records.check_writes(params, [record], [c for c in store if c.id != expected[0].id])
    assert problem is not None
