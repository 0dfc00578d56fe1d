"""Input that used to be accepted and then failed (or was ignored, or leaked) once the run was
under way: each is one actionable line on stderr, exit status 2, before anything runs, with
no secret in it."""

from __future__ import annotations

import socket

import pytest
from test_bad_input import refused

from storebench.backends.turso import mint_token, new_key_pair
from storebench.cli import main
from storebench.model.secrets import redact_url
from storebench.servers import sqld_server
from storebench.servers.processes import free_port


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


@pytest.mark.parametrize("args, expected", [
    (["--op-timeout-s", "1e300"], "--op-timeout-s: 1e300 is more than 86,400 s, the most storebench accepts here"),
    (["--rtt-ms", "1e300"], "--rtt-ms: 1e300 is more than 60,000 ms, the most storebench accepts here"),
    (["--arrivals", "uniform"], "--arrivals uniform needs --rate"),
])
def test_run_options_that_would_fail_or_be_ignored_mid_run(capsys, tmp_path, args, expected):
    assert expected in refused(capsys, run_argv(tmp_path, "sqlite3", *args))
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("args, expected", [
    (["--master-port", "70000"], "--master-port: 70000 is more than 65,535"),
    (["--master-port", "6000"], "--master-port is for --master or --worker; a local swarm picks a free port"),
    (["--arrivals", "uniform"], "--arrivals uniform needs --rate"),
])
def test_swarm_options_that_would_be_ignored(capsys, tmp_path, args, expected):
    assert expected in refused(capsys, ["swarm", "--out", str(tmp_path / "r.json"), *args])
    assert list(tmp_path.iterdir()) == []


def test_swarm_url_to_a_closed_port_is_refused_before_locust_starts(capsys, tmp_path):
    port = free_port()  # nothing listens there
    err = refused(capsys, ["swarm", "--url", f"http://user:pw@127.0.0.1:{port}", "--out", str(tmp_path / "r.json")])
    assert f"--url http://***@127.0.0.1:{port} does not answer (Connection refused)" in err and "pw" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.server
def test_swarm_with_a_wrong_token_is_refused_before_locust_starts(capsys, tmp_path, monkeypatch):
    _, key_file = new_key_pair(tmp_path)
    (tmp_path / "other").mkdir()
    wrong = mint_token(new_key_pair(tmp_path / "other")[0])  # signed with another key
    monkeypatch.setenv("STOREBENCH_AUTH_TOKEN", wrong)
    with sqld_server.running_sqld(tmp_path, key_file) as server:
        err = refused(capsys, ["swarm", "--url", server.url, "--out", str(tmp_path / "r.json")])
    assert f"sqld cannot use --url {server.url}: " in err and "check the URL and $STOREBENCH_AUTH_TOKEN" in err
    assert wrong not in err and not (tmp_path / "r.json").exists()


def test_credentials_in_SQLD_URL_never_reach_the_name_resolver(capsys, tmp_path, monkeypatch):
    looked_up = []
    getaddrinfo = socket.getaddrinfo

    def recorded(host, *args, **kwargs):
        looked_up.append(host)
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recorded)
    monkeypatch.setenv("SQLD_URL", "http://user:pw@127.0.0.1:9/db")
    err = refused(capsys, run_argv(tmp_path, "sqld"))
    assert "SQLD_URL=http://***@127.0.0.1:9/db carries a user and password" in err and "pw" not in err
    assert not any("pw" in str(host) for host in looked_up)


@pytest.mark.parametrize("backend", ["turso", "turso-replica"])
def test_swapped_turso_variables_never_print_the_token(capsys, tmp_path, monkeypatch, backend):
    token = "eyJhbGciOiJFZERTQSJ9.eyJhIjoicnciLCJleHAiOjE3fQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
    monkeypatch.setenv("TURSO_DATABASE_URL", token)
    monkeypatch.setenv("TURSO_AUTH_TOKEN", "libsql://db-user.turso.io")
    err = refused(capsys, run_argv(tmp_path, backend))
    assert "TURSO_DATABASE_URL='***' is not the URL of a server; e.g. libsql://<database>.turso.io" in err
    assert "eyJ" not in err


@pytest.mark.parametrize("value", ["eyJhbGciOiJFZERTQSJ9.eyJhIjoicnciLCJleHAiOjE3fQ.c2lnbmF0dXJl",
                                   "0123456789abcdef0123456789abcdef0123"])
def test_a_value_shaped_like_a_token_is_redacted_whole(value):
    assert redact_url(value) == "***"
    assert redact_url("libsql://db.turso.io/x?authToken=abc") == "libsql://db.turso.io/x?***"
