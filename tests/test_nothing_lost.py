"""Nothing measured is lost: two runs never share a results file, a write never leaves half a
file, and an interrupted run or an output that cannot be written still keeps every sample."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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

