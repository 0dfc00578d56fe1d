"""The load options of `storebench run` as a user meets them: a real process."""

from __future__ import annotations

import json

import pytest
from test_cli import storebench

from storebench.core.workload import OPS


@pytest.mark.parametrize("args, expected", [
    (["--rate", "0"], "--rate: 0 must be more than 0"),
    (["--rate", "fast"], "--rate: 'fast' is not a number"),
    (["--rate", "0.01"],
     "--rate 0.01 would take 100000 s per backend (limit 3600 s); raise --rate or lower --iterations"),
    (["--arrivals", "bursty"], "invalid choice: 'bursty' (choose from 'poisson', 'uniform')"),
    (["--concurrency", "0"], "--concurrency: 0 must be at least 1; give a client count like 4 or a list like 1,2,4,8"),
    (["--concurrency", "1,x"], "--concurrency: 'x' is not a whole number"),
    (["--sweep", "rows=1,2"], "--sweep: --sweep takes PARAM=N1,N2,... with PARAM one of conversations, messages"),
    (["--sweep", "conversations=10"], "give at least two different sizes"),
])
def test_bad_load_options_are_one_line_and_exit_2(args, expected):
    proc = storebench("run", *args)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and expected in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_a_run_with_rate_concurrency_and_sweep_records_all_three(tmp_path):
    out = tmp_path / "r.json"
    proc = storebench("run", "--profile", "smoke", "--backends", "sqlite3", "--no-progress", "--rate", "2000",
                      "--concurrency", "1,2", "--sweep", "conversations=4,8", "--iterations", "4",
                      "--cold-starts", "0", "--out", str(out), "--reports", str(tmp_path / "reports"))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["complete"] is True
    assert (data["run"]["params"]["rate"], data["run"]["params"]["arrivals"]) == (2000.0, "poisson")
    # The sweep reaches the report: its plot and its growth-exponent table.
    assert (tmp_path / "reports" / "sweep-conversations.png").stat().st_size > 0
    assert "Data-size sweeps" in (tmp_path / "reports" / "latency.md").read_text()
    assert data["run"]["params"]["concurrency"] == [1, 2]
    assert all(o["latency_basis"] == "intended" for o in data["ops"] if o["op"] in OPS)
    assert [(c["backend"], c["clients"], c["status"]) for c in data["concurrency"]] == [
        ("sqlite3", 1, "ok"), ("sqlite3", 2, "ok")]
    assert [len(c["workers"]) for c in data["concurrency"]] == [1, 2]
    (spec,) = data["sweeps"]
    assert (spec["param"], spec["values"], spec["backends"][0]["backend"]) == ("conversations", [4, 8], "sqlite3")
    assert "growth exponents" in proc.stderr and "concurrent clients" in proc.stderr
