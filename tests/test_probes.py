"""Capability probes, run for real against every registered backend (child processes, SIGKILL
and all); the answers follow from what the backend's Target exposes, not from its name."""

from __future__ import annotations

import os

import pytest

from storebench import backends
from storebench.backends.base import Target
from storebench.capabilities import netns, probes
from storebench.core import runner
from storebench.core.workload import Params
from storebench.servers.managed import data_holders
from tests.conftest import skip_if_in_a_browser

EMBEDDED_FILES = ("sqlite3", "apsw", "libsql")
ANSWERS = {"yes", "no", "n/a"}


@pytest.fixture
def probed(backend_name, settings, tmp_path, monkeypatch):
    """(target, capabilities) for a freshly provisioned store with its schema. The crash probe
    kills its writer after CRASH_ACKS acknowledgements or CRASH_SECONDS after the first; here
    the time bound is the child deadline, so the kill follows the count, not the clock."""
    skip_if_in_a_browser(backend_name)
    monkeypatch.setattr(probes, "CRASH_SECONDS", probes.CHILD_TIMEOUT_S)
    cls = backends.get(backend_name)
    with cls.provision(tmp_path, settings) as target:
        store = cls(target, settings)
        store.open()
        try:
            store.setup_schema()
        finally:
            store.close()
        yield target, probes.run_all(cls, target, settings, tmp_path)


def test_probe_answers_follow_from_what_the_target_exposes(probed):
    """One provisioned store per backend, all five probes on it (each probe starts processes)."""
    target, caps = probed
    assert list(caps) == list(probes.PROBES)
    for name, answer in caps.items():
        assert answer["result"] in ANSWERS, name
        assert answer["evidence"] and "probe failed" not in answer["evidence"], (name, answer)
    # cross-device needs a URL; auth is only probed where there is a token.
    assert caps["cross_device"]["result"] == ("yes" if target.url else "no")
    if target.url and netns.unavailable_reason() is None:  # the second client ran on another host
        assert caps["cross_device"]["figures"]["client_network"] == "namespace"
    assert caps["auth_enforced"]["result"] == ("yes" if target.auth_token else "n/a")
    # Every acknowledged write survives a SIGKILL of the process holding the data: the server
    # this run started (restarted on the same data), else the writer of an embedded store.
    crash = caps["process_crash"]
    if target.url and not data_holders(target.url):
        assert crash["result"] == "n/a" and "killing only the client would not crash it" in crash["evidence"]
    else:
        assert crash["figures"]["killed"] == ("server" if target.url else "writer")
        assert crash["figures"]["acknowledged"] >= probes.CRASH_ACKS
        assert crash["figures"]["present"] == crash["figures"]["acknowledged"] and crash["result"] == "yes"
        assert "a process crash, not a power loss" in crash["evidence"]
    # Two writers: every write either succeeded (and is there) or is counted as an error.
    concurrent = caps["concurrent_writers"]["figures"]
    if concurrent:
        assert concurrent["succeeded"] + concurrent["errors"] == concurrent["writes"]
        assert concurrent["present"] == concurrent["succeeded"]


@pytest.mark.parametrize("name", EMBEDDED_FILES)
def test_embedded_sqlite_files_take_two_writers_and_an_online_backup(name, settings, tmp_path, monkeypatch):
    # The writers' time bound is the child deadline here: each then stops only after its count
    # and once the other has begun, however late a loaded machine starts it.
    monkeypatch.setattr(probes, "CONCURRENT_SECONDS", probes.CHILD_TIMEOUT_S)
    cls = backends.get(name)
    with cls.provision(tmp_path, settings) as target:
        store = cls(target, settings)
        store.open()
        store.setup_schema()
        store.close()
        caps = probes.run_all(cls, target, settings, tmp_path)
    concurrent = caps["concurrent_writers"]
    assert concurrent["result"] == "yes" and concurrent["figures"]["overlapped"] is True
    assert concurrent["figures"]["present"] == concurrent["figures"]["writes"]
    backup = caps["online_backup"]
    assert backup["result"] == "yes"
    assert backup["figures"]["checksum"] == backup["figures"]["restored_checksum"]


def test_a_writer_goes_on_past_its_count_until_the_other_writer_has_begun(settings, tmp_path):
    cls = backends.get("sqlite3")
    mine, peer = tmp_path / "mine", tmp_path / "peer"
    with cls.provision(tmp_path, settings) as target:
        store = cls.opened(target, settings)
        store.setup_schema()
        store.close()
        writer = probes.Child("sqlite3", target, settings, "write", prefix="w-", count=5,
                              seconds=probes.CHILD_TIMEOUT_S, marker=str(mine), peer_marker=str(peer))
        try:
            deadline = probes._deadline()
            acknowledged = [writer.next_line(deadline) for _ in range(10)]  # twice its count, no peer yet
            assert all(line and line.startswith("ok w-") for line in acknowledged) and mine.exists()
            peer.touch()  # the other writer has begun: this one stops
            rest, code, _ = writer.finish(deadline)
        finally:
            writer.close()
    assert code == 0 and rest[-1].startswith("done ")


def test_run_records_the_capabilities_in_the_backend_entry(settings):
    tiny = Params(conversations=3, messages=2, iterations=2, warmup=0, cold_starts=0)
    entry, _ = runner.run_backend("sqlite3", tiny, seed=1, settings=settings)
    assert entry["status"] == "ok"
    assert set(entry["capabilities"]) == set(probes.PROBES)
    assert entry["capabilities"]["process_crash"]["result"] == "yes"


@pytest.mark.parametrize("url, expected", [
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/dump"),
    ("ws://127.0.0.1:8080/", "http://127.0.0.1:8080/dump"),
    ("libsql://127.0.0.1:9000", "http://127.0.0.1:9000/dump"),
    ("libsql://db-org.turso.io", "https://db-org.turso.io/dump"),
])
def test_server_dump_url_is_derived_from_the_client_url(url, expected):
    assert probes.dump_url(url) == expected


@pytest.mark.server
@pytest.mark.parametrize("name", ["sqld", "api-routes"])
def test_the_process_crash_of_a_server_backend_kills_the_server_not_only_the_client(name, settings, tmp_path):
    """The server keeps the data, so the server is SIGKILLed (and restarted on the same data
    and address); a killed client alone would leave the store untouched."""
    cls = backends.get(name)
    with cls.provision(tmp_path, settings) as target:
        store = cls.opened(target, settings)
        store.setup_schema()
        store.close()
        (holder,) = data_holders(target.url)
        before = holder.server.pid
        crash = probes.probe_process_crash(cls, target, settings, tmp_path)
        assert crash["result"] == "yes" and crash["figures"]["killed"] == "server"
        assert f"SIGKILL of the server holding the data (pid {before}; restarted on the same data)" in crash["evidence"]
        assert holder.server.pid != before and holder.server.process().poll() is None  # a new server process
        assert not os.path.exists(f"/proc/{before}")  # killed and reaped
        assert crash["figures"]["present"] == crash["figures"]["acknowledged"] > 0


def test_a_server_this_run_did_not_start_is_not_crash_probed(settings):
    cls = backends.get("sqld")
    crash = probes.probe_process_crash(cls, Target(url="http://127.0.0.1:9"), settings, None)
    assert crash["result"] == "n/a" and "killing only the client would not crash it" in crash["evidence"]
