"""A user's own backend runs like ours, registered without touching any file of storebench:
from a file (`--backend-module`) or from an installed package's entry point.

The backend is defined right here: sqlite3 without its statement cache, the kind of variant a
team would want to price (what does re-preparing every statement cost?). It keeps the fair
settings, so it must pass the whole contract suite like ours.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from storebench.backends.sqlite3_file import Sqlite3Store

HERE = Path(__file__).resolve()
TESTS = HERE.parent


class NoCacheStore(Sqlite3Store):
    name = "sqlite3-nocache"
    description = "sqlite3 without a statement cache: a user's backend defined in a test"

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.target.path, isolation_level=None,
                               timeout=self.settings.busy_timeout_ms / 1000, cached_statements=0)


def storebench(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "storebench", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def test_a_backend_from_a_file_passes_the_contract_suite(tmp_path):
    # The contract suite, collected with the user's backend registered (as --backend-module does).
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",  # in this one process
         str(TESTS / "test_contract.py"), "-k", "sqlite3-nocache", "--rootdir", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=TESTS,
        env={**os.environ, "STOREBENCH_BACKEND_MODULES": f"{HERE}:NoCacheStore"})
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert " passed" in proc.stdout and "failed" not in proc.stdout


def test_a_backend_from_a_file_runs_and_is_reported(tmp_path):
    out, reports = tmp_path / "r.json", tmp_path / "reports"
    proc = storebench("run", "--backend-module", f"{HERE}:NoCacheStore", "--backends", "sqlite3-nocache",
                      "--profile", "smoke", "--cold-starts", "1", "--no-progress", "--out", str(out),
                      "--reports", str(reports), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    [entry] = data["backends"]
    assert (entry["name"], entry["status"]) == ("sqlite3-nocache", "ok")
    assert entry["settings"]["journal_mode"] == "wal"  # read back from the engine
    cold = next(o for o in data["ops"] if o["op"] == "cold_start")  # a fresh process found it too
    assert cold["n"] == 1 and cold["errors"] == 0
    assert "sqlite3-nocache" in (reports / "latency.md").read_text()


def test_the_documented_example_package_registers_through_its_entry_point(tmp_path):
    # docs/example-backend installed for real (a copy: a build writes beside its sources),
    # into a folder of its own, offline.
    source, site = tmp_path / "example-backend", tmp_path / "site"
    shutil.copytree(TESTS.parent / "docs" / "example-backend", source)
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                          "--no-build-isolation", "--target", str(site), str(source)],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert pip.returncode == 0, pip.stderr[-2000:]
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    listed = storebench("backends", env=env, cwd=tmp_path)
    assert "sqlite3-nocache" in listed.stdout and listed.returncode == 0
    out = tmp_path / "r.json"
    proc = storebench("run", "--backends", "sqlite3-nocache", "--profile", "smoke", "--cold-starts", "0",
                      "--no-progress", "--out", str(out), "--reports", str(tmp_path / "reports"), env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(out.read_text())["backends"][0]["status"] == "ok"


def test_a_bad_backend_module_is_one_line_and_exit_2(tmp_path):
    for spec, message in ((f"{tmp_path}/missing.py:X", "no such file"),
                          (f"{HERE}:NoSuchClass", "NoSuchClass is not a Store subclass"),
                          ("not-a-spec", "expected path/to/file.py:ClassName")):
        proc = storebench("run", "--backend-module", spec, "--backends", "sqlite3", "--out", str(tmp_path / "x.json"),
                          cwd=tmp_path)
        assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
