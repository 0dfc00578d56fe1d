"""Bad input the issue lists, beyond tests/test_cli.py and friends: each is one actionable line
on stderr, exit status 2, no traceback — and `--debug` shows the traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from fake_results import FakeResults

from storebench.cli import EXIT_USAGE, main

SMOKE = ["run", "--backends", "sqlite3", "--profile", "smoke", "--no-progress"]


def refused(capsys, argv: list[str]) -> str:
    """Run `storebench argv` in-process; assert it was refused properly; return the line."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == EXIT_USAGE, err
    assert err.count("\n") == 1 and err.startswith("storebench: error: ") and "Traceback" not in err
    return err


@pytest.mark.parametrize("args, expected", [
    (["--inject", "sqlite3.frobnicate=+5ms"], "unknown or untimed op 'frobnicate'"),
    (["--inject", "nosuch.add_message=+5ms"], "backend 'nosuch' is not in this run"),
    (["--op-timeout-s", "0"], "--op-timeout-s: 0 must be more than 0"),
    (["--op-timeout-s", "soon"], "--op-timeout-s: 'soon' is not a number"),
    (["--op-timeout-s", "inf"], "--op-timeout-s: inf must be a finite number"),
    (["--busy-timeout-ms", "-1"], "--busy-timeout-ms: -1 must be 0 or more"),
    (["--rtt-ms", "-5"], "--rtt-ms: -5 must be a finite number, 0 or more"),
    (["--messages", "-3"], "--messages: -3 must be 0 or more"),
    (["--warmup", "1.5"], "--warmup: '1.5' is not a whole number"),
    (["--cold-starts", "x"], "--cold-starts: 'x' is not a whole number"),
    (["--seed", "-1"], "--seed: -1 must be 0 or more"),
    (["--rate", "-2"], "--rate: -2 must be a finite number, 0 or more"),
])
def test_bad_run_options(capsys, tmp_path, args, expected):
    err = refused(capsys, [*SMOKE, "--out", str(tmp_path / "r.json"), *args])
    assert expected in err
    assert not (tmp_path / "r.json").exists()


def test_an_unwritable_reports_folder(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    err = refused(capsys, [*SMOKE, "--out", str(tmp_path / "r.json"), "--reports", str(blocker / "reports")])
    assert "cannot write reports to" in err and "choose another --reports" in err


# Preflight follows each backend's declared needs (Capabilities.needs), not its name.
@pytest.mark.parametrize("backend", ["sqld", "sqld-ws", "node-sqld"])
def test_an_unreachable_SQLD_URL(capsys, tmp_path, monkeypatch, backend):
    monkeypatch.setenv("SQLD_URL", "http://127.0.0.1:1")
    err = refused(capsys, ["run", "--backends", backend, "--profile", "smoke", "--out", str(tmp_path / "r.json")])
    assert "SQLD_URL=http://127.0.0.1:1 does not answer" in err and "unset SQLD_URL" in err


@pytest.mark.parametrize("backend", ["turso", "turso-replica", "node-turso"])
@pytest.mark.parametrize("url", ["ws://127.0.0.1:1", "ftp://127.0.0.1:1"])  # unreachable; a scheme no client speaks
def test_an_unusable_real_turso_url(capsys, tmp_path, monkeypatch, backend, url):
    monkeypatch.setenv("TURSO_DATABASE_URL", url)
    monkeypatch.setenv("TURSO_AUTH_TOKEN", "secret-token-42")
    err = refused(capsys, ["run", "--backends", backend, "--profile", "smoke", "--out", str(tmp_path / "r.json")])
    assert f"TURSO_DATABASE_URL {url} cannot be used" in err and "check the URL" in err
    assert "secret-token-42" not in err


@pytest.fixture
def results_file(tmp_path):
    path = tmp_path / "good.json"
    path.write_text(json.dumps(FakeResults().backend("sqlite3", 0.02).data))
    return path


@pytest.fixture
def truncated(tmp_path, results_file):
    text = results_file.read_text()
    path = tmp_path / "truncated.json"
    path.write_text(text[: len(text) // 2])  # what a run killed mid-write would leave without the rename
    return path


@pytest.fixture
def future(tmp_path, results_file):
    data = json.loads(results_file.read_text())
    data["schema"] = "storebench.results/2"
    path = tmp_path / "future.json"
    path.write_text(json.dumps(data))
    return path


def test_report_on_a_truncated_results_file(capsys, tmp_path, truncated):
    assert "the file may be truncated" in refused(capsys, ["report", str(truncated), "--out", str(tmp_path / "o")])


def test_check_on_a_truncated_results_file(capsys, results_file, truncated):
    assert "truncated" in refused(capsys, ["check", str(results_file), str(truncated)])


def test_check_on_a_future_schema(capsys, results_file, future):
    assert "upgrade storebench" in refused(capsys, ["check", str(future), str(results_file)])


def test_report_on_a_future_schema_among_good_files(capsys, tmp_path, results_file, future):
    err = refused(capsys, ["report", str(results_file), str(future), "--out", str(tmp_path / "o")])
    assert "upgrade storebench" in err and not (tmp_path / "o").exists()


def test_debug_shows_the_traceback_and_still_exits_2():
    proc = subprocess.run([sys.executable, "-m", "storebench", "--debug", "run", "--op-timeout-s", "0"],
                          capture_output=True, text=True, timeout=60, env={**os.environ})
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr and proc.stderr.rstrip().endswith("--op-timeout-s: 0 must be more than 0")


# Values that pass a type check but no report could draw: refused by the reader (issue 25, case 12).
@pytest.mark.parametrize("change, expected", [
    ({"p50_ci_low_ms": 5.0, "p50_ci_high_ms": 6.0}, "is outside its own interval"),
    ({"p50_ci_low_ms": 0.03, "p50_ci_high_ms": 0.01}, "p50_ci_low_ms 0.03 is above p50_ci_high_ms 0.01"),
    ({"samples_ns": [20_000, -142_800]}, "samples_ns must be a list of non-negative integers"),
    ({"p95_ms": -1.0}, "p95_ms must be a non-negative number or null"),
])
@pytest.mark.parametrize("command", ["report", "check"])
def test_values_no_report_could_draw(capsys, tmp_path, change, expected, command):
    fake = FakeResults().backend("sqlite3", 0.02)
    fake.entry("sqlite3", "add_message").update(change)
    bad = fake.write(tmp_path / "bad.json")
    good = FakeResults().backend("sqlite3", 0.02).write(tmp_path / "good.json")
    argv = ["report", str(bad), "--out", str(tmp_path / "o")] if command == "report" else ["check", str(good), str(bad)]
    err = refused(capsys, argv)
    assert "bad.json: ops[" in err and expected in err


def test_report_on_a_fifo_is_refused_at_once(capsys, tmp_path):
    fifo = tmp_path / "results.json"
    os.mkfifo(fifo)  # nobody writes to it: opening it would wait for ever
    assert "not a regular file" in refused(capsys, ["report", str(fifo), "--out", str(tmp_path / "o")])


def test_report_on_a_file_that_is_not_json_says_it_is_not_a_results_file(capsys, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# storebench\n\nA benchmarking harness.\n")
    err = refused(capsys, ["report", str(readme), "--out", str(tmp_path / "o")])
    assert "README.md: not a results file" in err and "truncated" not in err
