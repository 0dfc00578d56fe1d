"""Input that used to be accepted and then failed (or was ignored, or leaked) once the run was
under way: each is one actionable line on stderr, exit status 2, before anything runs, with
no secret in it."""

from __future__ import annotations

import pytest

from storebench.cli import EXIT_USAGE, main


def refused(capsys, argv: list[str]) -> str:
    """Run `storebench argv` in-process; assert it was refused properly; return the line."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == EXIT_USAGE, err
    assert err.count("\n") == 1 and err.startswith("storebench: error: ") and "Traceback" not in err
    return err


def run_argv(tmp_path, backends: str, *more: str) -> list[str]:
    return ["run", "--backends", backends, "--profile", "smoke", "--no-progress", "--out", str(tmp_path / "r.json"),
            "--reports", str(tmp_path / "reports"), *more]


@pytest.mark.parametrize("variable, backend, expected", [
    ("SQLD_BIN", "sqld", "sqld cannot run here: SQLD_BIN=/nonexistent is not an executable file"),
    ("STOREBENCH_CHROMIUM", "nextjs-routes",
     "nextjs-routes cannot run here: STOREBENCH_CHROMIUM=/nonexistent is not an executable file"),
])
def test_a_named_backend_that_cannot_run_is_refused_not_recorded_unavailable(capsys, tmp_path, monkeypatch,
                                                                             variable, backend, expected):
    monkeypatch.setenv(variable, "/nonexistent")
    assert expected in refused(capsys, run_argv(tmp_path, backend))
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "reports").exists()


def test_backends_lists_a_half_configured_turso_as_unavailable_as_run_refuses_it(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("TURSO_DATABASE_URL", raising=False)
    monkeypatch.setenv("TURSO_AUTH_TOKEN", "secret-token-42")
    assert main(["backends"]) == 0
    listed = {line.split()[0].rstrip("~*"): line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert "unavailable: TURSO_AUTH_TOKEN is set but TURSO_DATABASE_URL is not" in listed["turso"]
    assert "TURSO_AUTH_TOKEN is set but TURSO_DATABASE_URL is not" in refused(capsys, run_argv(tmp_path, "turso"))


@pytest.mark.parametrize("name", ["latency.md", "decision-matrix.md", "index.html", "latency-cdf.png"])
def test_a_results_file_a_report_would_overwrite_is_refused(capsys, tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    err = refused(capsys, ["run", "--backends", "sqlite3", "--profile", "smoke", "--out", f"rep/{name}",
                           "--reports", "./rep/"])
    assert f"--out rep/{name} is in --reports rep, where the reports write" in err and "give the results a .json" in err
    assert list((tmp_path / "rep").iterdir()) == []


def test_a_json_results_file_beside_the_reports_is_fine(tmp_path):
    from storebench.cli import check_apart_from_reports

    check_apart_from_reports(tmp_path / "rep" / "results.json", tmp_path / "rep")
