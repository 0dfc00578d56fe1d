"""pytest-benchmark integration: benchmarks/ exposes backend x op benchmarks through the real
adapters and workload, and `storebench check` reads pytest-benchmark's JSON, with or without
raw samples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from storebench.cli import main
from storebench.gate import check
from storebench.model.pytest_benchmark_json import convert, is_pytest_benchmark
from storebench.model.results import Results

pytestmark = pytest.mark.slow  # runs pytest-benchmark in a child process

ROOT = Path(__file__).resolve().parents[1]


def not_an_xdist_worker() -> dict[str, str]:
    """This environment without the variables a pytest-xdist worker sets: pytest-benchmark
    turns itself off when it finds PYTEST_XDIST_WORKER, which a child of a worker inherits."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST_")}


# The tests reading the module-scoped `saved_json` run on one pytest-xdist worker (loadgroup),
# which computes it once.
same_benchmark_run = pytest.mark.xdist_group("pytest-benchmark-json")


@pytest.fixture(scope="module")
def saved_json(tmp_path_factory) -> Path:
    """A real pytest-benchmark JSON (it always carries the raw data): sqlite3 update_title and add_message, smoke."""
    out = tmp_path_factory.mktemp("pb") / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "benchmarks/", "--benchmark-only", "--storebench-backends", "sqlite3",
         "-k", "update_title or add_message", f"--benchmark-json={out}", "-q", "-p",
         "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=not_an_xdist_worker())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


@same_benchmark_run
def test_benchmarks_run_each_op_through_the_workload(saved_json):
    raw = json.loads(saved_json.read_text())
    assert is_pytest_benchmark(raw)
    names = sorted(b["name"] for b in raw["benchmarks"])
    assert names == ["test_op[sqlite3-add_message]", "test_op[sqlite3-update_title]"]
    for b in raw["benchmarks"]:
        assert b["extra_info"]["backend"] == "sqlite3" and b["stats"]["rounds"] == 30  # smoke: 30 timed rounds


@same_benchmark_run
def test_saved_data_converts_to_raw_samples(saved_json):
    data = convert(json.loads(saved_json.read_text()))
    ops = {(o["backend"], o["op"]): o for o in data["ops"]}
    assert set(ops) == {("sqlite3", "add_message"), ("sqlite3", "update_title")}
    entry = ops[("sqlite3", "add_message")]
    assert entry["n"] == 30 and len(entry["samples_ns"]) == 30 and all(s > 0 for s in entry["samples_ns"])
    assert entry["p50_ms"] <= entry["p99_ms"] and entry["iterations"] == 1


@same_benchmark_run
def test_check_compares_pytest_benchmark_json_with_itself(saved_json, capsys):
    assert main(["check", str(saved_json), str(saved_json)]) == 0
    assert "no regression" in capsys.readouterr().out


def summary_only(median_s: float) -> dict:
    """A pytest-benchmark run saved under .benchmarks/ without --benchmark-save-data: summary only."""
    return {"machine_info": {"cpu": {"brand_raw": "x"}}, "commit_info": {}, "version": "5.1.0",
            "benchmarks": [{"name": "test_insert", "fullname": "tests/test_db.py::test_insert", "group": None,
                            "extra_info": {}, "stats": {"median": median_s, "mean": median_s, "max": 2 * median_s,
                                                        "stddev": 0.0, "rounds": 100, "iterations": 1,
                                                        "ops": 1 / median_s}}]}


def test_summary_only_json_keeps_its_median_and_no_samples():
    [entry] = convert(summary_only(0.002))["ops"]
    assert (entry["backend"], entry["op"]) == ("test_db", "test_insert")
    assert entry["samples_ns"] == [] and entry["p50_ms"] == pytest.approx(2.0) and entry["p99_ms"] is None


def test_check_refuses_to_judge_without_raw_samples(tmp_path, capsys):
    (tmp_path / "a.json").write_text(json.dumps(summary_only(0.002)))
    (tmp_path / "b.json").write_text(json.dumps(summary_only(0.004)))
    assert main(["check", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 2
    assert "--benchmark-save-data" in capsys.readouterr().err


@same_benchmark_run
def test_converted_json_is_judged_call_by_call_like_a_results_file(saved_json):
    data = Results.from_dict(convert(json.loads(saved_json.read_text())))
    outcome = check.compare(data, data, check.Options())
    assert not outcome.regressions and len(outcome.judged) == 2  # p50 of both ops; p99 needs more samples
    assert all(c.paired for c in outcome.judged)  # same seed and plan recorded in extra_info
