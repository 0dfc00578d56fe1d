"""What happens when things fail mid-run: a killed server, network faults on the link, and the
checks that no acknowledged write was lost. Real sqld, real drivers, the real proxy."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from pathlib import Path

import pytest

from bench import cli, summary

KILL_AFTER_STEPS = 50  # past the smoke profile's 25 warm-up steps: the kill lands in the timed rounds


def children_named(word: str) -> list[int]:
    """Pids of this process's children whose command line mentions `word` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and word in cmdline:
            found.append(int(entry.name))
    return found


@pytest.fixture
def kill_sqld_mid_run(monkeypatch):
    """Wraps the run's progress callback: once `backend` has done KILL_AFTER_STEPS steps, SIGKILL
    the sqld process the harness started for it. Yields the list of killed pids."""
    killed: list[int] = []
    real_progress_bar = summary.progress_bar

    @contextlib.contextmanager
    def progress_bar(console, names, disabled=False):
        with real_progress_bar(console, names, disabled) as update:
            def killing_update(name: str, done: int, total: int) -> None:
                if name == "sqld" and done >= KILL_AFTER_STEPS and done < total and not killed:
                    pids = children_named("--db-path")
                    assert len(pids) == 1, f"expected one sqld child, found {pids}"
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(pids[0])
                update(name, done, total)
            yield killing_update

    monkeypatch.setattr(summary, "progress_bar", progress_bar)
    return killed


def test_sqld_killed_mid_run_records_errors_and_the_run_goes_on(kill_sqld_mid_run, tmp_path, capsys):
    out = tmp_path / "results.json"
    code = cli.main(["run", "--backends", "sqld,sqlite3", "--profile", "smoke", "--cold-starts", "1",
                     "--out", str(out), "--reports", str(tmp_path / "reports"), "--no-progress"])
    stderr = capsys.readouterr().err

    assert kill_sqld_mid_run, "the test never killed sqld"
    assert code == cli.EXIT_FAILED
    data = json.loads(out.read_text())
    assert data["complete"] is True
    sqld, sqlite3 = data["backends"]
    assert sqld["status"] == "failed" and "errors in" in sqld["reason"]
    assert sqld["checks"]["after_run"].startswith("not checked: the store could not be read")
    ops = {o["op"]: o for o in data["ops"] if o["backend"] == "sqld"}
    assert all(ops[op]["n"] > 0 for op in ("load_all", "add_message")), "ops ran before the kill"
    assert all(o["errors"] > 0 and o["error_examples"] for o in ops.values())
    assert all(example.strip() for o in ops.values() for example in o["error_examples"])
    assert sqlite3["status"] == "ok" and sqlite3["checks"]["after_run"] == "ok"
    assert sqlite3["writes"]["unacknowledged"] == 0
    paragraph = stderr.strip().splitlines()[-1]
    assert paragraph.startswith("storebench: the run finished with failures (1 of 2 backends ok)")
    assert "sqld failed: " in paragraph and "errors in load_all" in paragraph and str(out) in paragraph
    assert "Traceback" not in stderr
