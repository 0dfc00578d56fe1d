"""`storebench ab` on a user's own backend (docs/example-backend) through --backend-module:
each side runs its own checkout's version of the file, a +10 % slowdown of one op fails the
job naming that op, and an A/A job does not flag.

Both jobs run real worker processes. They must hold on a loaded machine: the injected wait is
a share of each call's own duration (a loaded machine slows the call and its wait alike), and
the jobs add pairs until the pairs decide (up to 30 for the slowdown, 12 for the A/A job,
which may end inconclusive but never flag)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from storebench import backends
from storebench.cli import main

PY = sys.executable
EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "example-backend"
MODULE = "teamstore/__init__.py:NoCacheStore"
NAME = "sqlite3-nocache"


@pytest.fixture(autouse=True)
def own_registry(monkeypatch):
    """ab registers head's file in this process (registry and environment): each test its own."""
    monkeypatch.setattr(backends, "REGISTRY", dict(backends.REGISTRY))
    # setenv, not delenv: an absent variable that delenv found nothing to remove is not
    # restored, and ab's setting it would leak into every later test of this worker
    monkeypatch.setenv(backends.MODULES_VARIABLE, "")


def checkouts(tmp_path: Path, head_description: str | None = None) -> tuple[Path, Path]:
    """Two copies of the example backend: base's, and head's (its description changed, when given)."""
    base, head = tmp_path / "base", tmp_path / "head"
    shutil.copytree(EXAMPLE, base)
    shutil.copytree(EXAMPLE, head)
    if head_description:
        source = head / "teamstore" / "__init__.py"
        old = 'description = "sqlite3 without'
        source.write_text(source.read_text().replace(old, f'description = "{head_description}: sqlite3 without'))
    return base, head


def ab(tmp_path: Path, base: Path, head: Path, max_pairs: int, *extra: str) -> int:
    return main(["ab", "--base-python", PY, "--head-python", PY, "--backend-module", MODULE,
                 "--base-dir", str(base), "--head-dir", str(head), "--backends", NAME, "--pairs", "6",
                 "--max-pairs", str(max_pairs), "--rounds", "200", "--no-progress",
                 "--out", str(tmp_path / "ab.json"), "--summary", str(tmp_path / "ab.md"), *extra])


@pytest.mark.slow
def test_ten_percent_on_one_op_of_a_users_backend_fails_the_job_naming_it(tmp_path):
    # delete_conversation: the round's last op, since a busy-wait also slows the op right after
    # it (docs/regression-gate.md); load_all, which follows, is long enough not to notice.
    base, head = checkouts(tmp_path)
    status = ab(tmp_path, base, head, 30, "--head-inject", f"{NAME}.delete_conversation=+10%")
    summary = (tmp_path / "ab.md").read_text()
    assert status == 1, summary
    verdicts = json.loads((tmp_path / "ab.json").read_text())["ab"]["verdicts"]
    regressions = {v["op"] for v in verdicts if v["verdict"] == "regression"}
    assert "delete_conversation" in regressions
    assert f"`{NAME}.delete_conversation` | p50 | +" in summary


@pytest.mark.slow
def test_an_aa_job_on_a_users_backend_does_not_flag_and_each_side_runs_its_own_file(tmp_path):
    base, head = checkouts(tmp_path, head_description="head's version")
    status = ab(tmp_path, base, head, 12)
    assert status in (0, 3), (tmp_path / "ab.md").read_text()
    data = json.loads((tmp_path / "ab.json").read_text())
    descriptions = {entry["side"]: entry["description"] for entry in data["backends"]}
    assert descriptions["head"].startswith("head's version: ")
    assert not descriptions["base"].startswith("head's version")
    assert data["ab"]["backend_modules"] == {
        side: [f"{(folder / 'teamstore' / '__init__.py').resolve()}:NoCacheStore"]
        for side, folder in (("base", base), ("head", head))}


@pytest.mark.parametrize("args, message", [
    (["--backend-module", MODULE], "--backend-module needs --base-dir"),
    (["--backend-module", f"/abs/{MODULE}", "--base-dir", "."], "give the path relative to the checkouts"),
    (["--backend-module", MODULE, "--base-dir", "/nonexistent"], "--base-dir /nonexistent: no such folder"),
    (["--backend-module", "nothing.py:X", "--base-dir", "."], "no such file"),
])
def test_bad_backend_module_input_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(["ab", "--base-python", PY, "--head-python", PY, "--backends", NAME,
                 "--out", str(tmp_path / "ab.json"), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "ab.json").exists()


def test_a_backend_missing_on_the_base_side_is_refused_before_anything_runs(tmp_path, capsys):
    # A backend new in this change: base's checkout has no such file.
    base, head = tmp_path / "base", tmp_path / "head"
    base.mkdir()
    shutil.copytree(EXAMPLE, head)
    assert main(["ab", "--base-python", PY, "--head-python", PY, "--backend-module", MODULE,
                 "--base-dir", str(base), "--head-dir", str(head), "--backends", NAME,
                 "--out", str(tmp_path / "ab.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"backend {NAME} on the base side" in err and "no such file" in err, err
    assert not (tmp_path / "ab.json").exists()
