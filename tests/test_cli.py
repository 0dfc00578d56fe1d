"""The command line as a user meets it: a real `storebench` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from storebench import backends
from storebench.cli import EXIT_USAGE, main
from storebench.core import coordinator, runner
from storebench.core.workload import ALL_OPS


def storebench(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "storebench", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["run", "--backends", "nosuch"], "unknown backend nosuch; valid backends: " + ", ".join(backends.names())),
        (["run", "--backends", ","], "unknown backend"),
        (["run", "--profile", "huge"], "invalid choice: 'huge' (choose from 'smoke', 'quick', 'standard')"),
        (["run", "--conversations", "0"], "--conversations: 0 must be at least 1"),
        (["run", "--iterations", "ten"], "--iterations: 'ten' is not a whole number"),
        (["run", "--iterations", "100000000"],
         "--iterations: 100000000 is more than 10,000,000, the most storebench accepts here"),
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


def no_backend_may_run(*args, **kwargs):
    raise AssertionError("a backend ran before the bad input was refused")


@pytest.mark.parametrize("args, expected", [
    (["--out", "{tmp}"], "--out {tmp} is a folder; give a file name, e.g. {tmp}/results.json"),
    (["--out", "{tmp}/file/sub/r.json"], "cannot write results to {tmp}/file/sub"),
    (["--reports", "{tmp}/file/reports"], "cannot write reports to {tmp}/file/reports"),
])
def test_bad_paths_are_refused_before_any_backend_runs(tmp_path, monkeypatch, capsys, args, expected):
    (tmp_path / "file").write_text("")
    monkeypatch.setattr(runner, "run_backend", no_backend_may_run)
    monkeypatch.setattr(coordinator, "measure", no_backend_may_run)
    code = main(["run", "--backends", "sqlite3", "--profile", "smoke", "--no-progress",
                 *[a.format(tmp=tmp_path) for a in args]])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE and err.count("\n") == 1 and expected.format(tmp=tmp_path) in err, err


def fake_measure(finished: list[str]):
    """A stand-in for coordinator.measure (tests the CLI's bookkeeping, not a backend): the
    backends in `finished` are handed back with an empty entry, then Ctrl-C interrupts."""

    def measure(specs, *args, done, **kwargs):
        for spec in specs:
            if spec.backend not in finished:
                raise KeyboardInterrupt
            done(coordinator.Measured(spec, {"name": spec.backend, "status": "ok"}))

    return measure


@pytest.mark.parametrize("finished, expected", [
    ([], "storebench: interrupted; nothing had been measured; no results file was written"),
    (["sqlite3"], "storebench: interrupted; everything measured so far is in {out} (complete: false): "
                  "0 samples of sqlite3"),
])
def test_ctrl_c_names_the_results_file_or_says_none_was_written(tmp_path, monkeypatch, capsys, finished, expected):
    out = tmp_path / "r.json"
    monkeypatch.setattr(coordinator, "measure", fake_measure(finished))
    code = main(["run", "--backends", "sqlite3,apsw", "--profile", "smoke", "--no-progress", "--out", str(out),
                 "--reports", str(tmp_path / "reports")])
    assert code == 130 and capsys.readouterr().err == expected.format(out=out) + "\n"
    assert out.exists() == bool(finished)


def test_backends_lists_every_backend_with_its_availability():
    proc = storebench("backends")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()[:len(backends.names())]  # then the legend of the marks (~ *)
    assert [line.split()[0].rstrip("~*") for line in lines] == backends.names()
    assert all(("available" in line) for line in lines)


@pytest.mark.slow
def test_smoke_run_writes_a_complete_results_file(tmp_path):
    proc = storebench("run", "--profile", "smoke", "--backends", "sqlite3,apsw,libsql", "--cold-starts", "1",
                      "--no-progress", cwd=tmp_path)  # smoke times none unless asked
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
    umask = os.umask(0)
    os.umask(umask)
    assert {p.stat().st_mode & 0o777 for p in (tmp_path / "results").iterdir()} == {0o666 & ~umask}
