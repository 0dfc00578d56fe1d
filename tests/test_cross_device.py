"""Cross-device means another host: the probe's second client runs in a network namespace of
its own (its own address, no way to the host's loopback), and where none can be made the
probe names what it showed instead."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

import pytest

from storebench import backends
from storebench.capabilities import netns, probes

needs_netns = pytest.mark.skipif(netns.unavailable_reason() is not None,
                                 reason=f"no network namespace here: {netns.unavailable_reason()}")


def namespaces() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


@pytest.fixture
def loopback_server():
    """A TCP server on 127.0.0.1 that answers every connection with `hello`."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.sendall(b"hello")
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def connect_from(host: netns.OtherHost, address: str, port: int) -> str:
    code = (f"import socket\ntry:\n    s = socket.create_connection(({address!r}, {port:d}), timeout=2)\n"
            "    print(s.recv(5).decode())\nexcept OSError as e:\n    print('unreachable', e.errno)")
    return subprocess.run([*host.command(), sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=30).stdout.strip()


@needs_netns
def test_the_other_host_reaches_a_loopback_server_only_through_its_link_and_is_removed_after(loopback_server):
    with netns.OtherHost() as host:
        assert host.name in namespaces()
        assert host.address.startswith("169.254.") and host.address != host.host_address
        assert connect_from(host, "127.0.0.1", loopback_server).startswith("unreachable")  # not this host's loopback
        url = host.reach(f"http://127.0.0.1:{loopback_server}/path?q=1")
        assert url.startswith(f"http://{host.host_address}:") and url.endswith("/path?q=1")
        relay_port = int(url.split(":")[2].split("/")[0])
        assert connect_from(host, host.host_address, relay_port) == "hello"
        name, host_if = host.name, host.host_if
    assert name not in namespaces()
    assert host_if not in subprocess.run(["ip", "link"], capture_output=True, text=True).stdout


@needs_netns
def test_urls_that_are_not_on_loopback_are_left_as_they_are():
    with netns.OtherHost() as host:
        assert host.reach("libsql://db.example.turso.io") == "libsql://db.example.turso.io"
        assert host.reach(None) is None
        target = host.target(probes.Target(url="http://127.0.0.1:9/", auth_token="t",
                                           extra={"replica_url": "http://localhost:8/", "n": 1}))
        assert target.url.startswith(f"http://{host.host_address}:") and target.auth_token == "t"
        assert target.extra["replica_url"].startswith(f"http://{host.host_address}:") and target.extra["n"] == 1


@pytest.fixture
def sqld(settings, tmp_path):
    cls = backends.get("sqld")
    if cls.unavailable_reason():
        pytest.skip(cls.unavailable_reason())
    with cls.provision(tmp_path, settings) as target:
        store = cls.opened(target, settings)
        store.setup_schema()
        store.close()
        yield cls, target


@needs_netns
def test_the_cross_device_probe_reads_from_another_host(sqld, settings, tmp_path, monkeypatch):
    cls, target = sqld
    made: list[str] = []  # this probe's namespaces (parallel test workers make their own)
    real_init = netns.OtherHost.__init__

    def recording_init(self):
        real_init(self)
        made.append(self.name)

    monkeypatch.setattr(netns.OtherHost, "__init__", recording_init)
    answer = probes.probe_cross_device(cls, target, settings, tmp_path)
    assert answer["result"] == "yes", answer
    assert answer["figures"]["client_network"] == "namespace"
    assert "a client on another host (network namespace" in answer["evidence"]
    assert len(made) == 1 and made[0] not in namespaces()


def test_without_a_namespace_the_probe_names_what_it_showed(sqld, settings, tmp_path, monkeypatch):
    cls, target = sqld
    monkeypatch.setattr(netns, "unavailable_reason", lambda: "creating a network namespace needs root")
    answer = probes.probe_cross_device(cls, target, settings, tmp_path)
    assert answer["result"] == "yes"
    assert answer["figures"] == {"client_network": "loopback",
                                 "why_not_namespace": "creating a network namespace needs root"}
    assert "reachability by URL + token from another process, not from another device" in answer["evidence"]


def test_the_report_claims_cross_device_only_on_evidence_from_another_host():
    from fake_results import FakeResults

    from storebench.reports import report

    fake = FakeResults().backend("sqld", 1.0, kind="server")
    run = report.Run("r", fake.results)
    loopback = report.capability_cell(run, "sqld", "cross_device")
    assert loopback.text == "yes (loopback)"
    assert loopback.tip.startswith("loopback only: reachable by URL + token from another process")
    assert "on loopback: not shown from another device" in report.recommend(run)[3]

    fake.data["backends"][0]["capabilities"]["cross_device"]["figures"] = {"client_network": "namespace"}
    run = report.Run("r", fake.results)
    namespace = report.capability_cell(run, "sqld", "cross_device")
    assert namespace.text == "yes" and namespace.tip.startswith("client in another network namespace")
    assert "a client in another network namespace reached" in report.recommend(run)[3]
