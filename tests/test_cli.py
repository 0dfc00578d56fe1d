"""The command line as a user meets it: a real `storebench` process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import backends
from bench.workload import ALL_OPS


def storebench(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["run", "--backends", "nosuch"], "unknown backend nosuch; valid backends: " + ", ".join(backends.names())),
        (["run", "--backends", ","], "unknown backend"),
        (["run", "--profile", "huge"], "invalid choice: 'huge' (choose from 'smoke', 'quick', 'standard')"),
        (["run", "--conversations", "0"], "--conversations: 0 must be at least 1"),
        (["run", "--iterations", "ten"], "--iterations: 'ten' is not a whole number"),
        (["run", "--iterations", "100000000"], "--iterations: 100000000 is more than 10,000,000, the most storebench accepts here"),
        (["run", "--synchronous", "off"], "choose from 'normal', 'full'"),
        (["run", "--rtt-ms", "nan"], "--rtt-ms: nan must be a finite number, 0 or more"),
        (["explode"], "invalid choice: 'explode'"),
        ([], "the following arguments are required: command"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, expected):
    proc = storebench(*args)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and expected in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unwritable_output_folder_is_a_usage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = storebench("run", "--profile", "smoke", "--out", str(blocker / "sub" / "r.json"))
    assert proc.returncode == 2 and "cannot write results to" in proc.stderr and proc.stderr.count("\n") == 1


def test_backends_lists_every_backend_with_its_availability():
    proc = storebench("backends")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()[:len(backends.names())]  # then the legend of the marks (~ *)
    assert [line.split()[0].rstrip("~*") for line in lines] == backends.names()
    assert all(("available" in line) for line in lines)


def test_smoke_run_writes_a_complete_results_file(tmp_path):
    proc = storebench("run", "--profile", "smoke", "--backends", "sqlite3,apsw,libsql", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((tmp_path / "results" / "latest.json").read_text())
    assert data["complete"] is True and data["schema"] == "storebench.results/1"
    assert [b["name"] for b in data["backends"]] == ["sqlite3", "apsw", "libsql"]
    assert all(b["status"] == "ok" for b in data["backends"])
    assert {(o["backend"], o["op"]) for o in data["ops"]} == {
        (b, op) for b in ("sqlite3", "apsw", "libsql") for op in ALL_OPS
    }
    for o in data["ops"]:
        assert o["errors"] == 0 and o["n"] == len(o["samples_ns"]) > 0
        assert o["p50_ms"] <= o["p90_ms"] <= o["p95_ms"] <= o["p99_ms"] <= o["max_ms"]
    assert data["overhead"]["p50_ns"] > 0
    timestamped = [p for p in (tmp_path / "results").iterdir() if p.name != "latest.json"]
    assert len(timestamped) == 1 and json.loads(timestamped[0].read_text()) == data
