"""The storebench-ab action's steps (.github/actions/storebench-ab/gate.py), run here the way the
action runs them: a repository holding docs/example-backend with a base and a head commit,
base checked out beside head, each side installed into its own temporary environment (offline:
the dependencies are this environment's, the two projects are installed), then `storebench ab`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GATE = ROOT / ".github" / "actions" / "storebench-ab" / "gate.py"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=test", "-c", "user.email=test@example.invalid",
                    *args], check=True, capture_output=True)


@pytest.mark.slow
def test_the_action_script_compares_base_and_head_of_the_example_backend_in_two_environments(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "docs" / "example-backend", repo)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    source = repo / "teamstore" / "__init__.py"
    old = 'description = "sqlite3 without'
    source.write_text(source.read_text().replace(old, 'description = "head: sqlite3 without'))
    git(repo, "commit", "-qam", "head")
    proc = subprocess.run(
        [sys.executable, str(GATE), "--base-ref", "HEAD~1", "--repo", str(repo), "--work", str(tmp_path / "work"),
         "--backends", "sqlite3-nocache", "--deps-from", sys.executable,
         "--summary", str(tmp_path / "ab.md"), "--out", str(tmp_path / "ab.json"),
         "--", "--rounds", "100", "--pairs", "3", "--max-pairs", "6"],
        capture_output=True, text=True, timeout=900)
    assert proc.returncode in (0, 3), proc.stdout[-2000:] + proc.stderr[-2000:]  # A/A code: never a regression
    assert (tmp_path / "ab.md").read_text().startswith("### storebench ab: ")
    data = json.loads((tmp_path / "ab.json").read_text())
    # Each side's workers ran the teamstore installed in that side's environment (its entry point).
    descriptions = {entry["side"]: entry["description"] for entry in data["backends"]}
    assert descriptions["head"].startswith("head: ") and not descriptions["base"].startswith("head: ")
    assert {data["ab"]["python"][side] for side in ("base", "head")} == {
        str(tmp_path / "work" / f"venv-{side}" / "bin" / "python") for side in ("base", "head")}
    listed = subprocess.run(["git", "-C", str(repo), "worktree", "list"], capture_output=True, text=True)
    assert listed.stdout.count("\n") == 1  # base's worktree removed after
