"""`sqld-replica` against a real sqld primary and replica: reads come from the replica and see
every acknowledged write, replication lag is measured, and both servers are always stopped.
(The storage contract itself runs in test_contract.py, as for every backend.)"""

from __future__ import annotations

import sys
import time

import pytest

from storebench.backends.base import Conversation, Settings, Target
from storebench.backends.sqld import SqldStore
from storebench.backends.sqld_replica import SqldReplicaStore
from storebench.core.workload import EPOCH_MS
from storebench.servers.sqld_server import Sqld
from tests.test_servers import processes_mentioning

pytestmark = pytest.mark.server  # starts real servers (sqld, the API server, the WAN proxy)

SETTINGS = Settings()


@pytest.fixture
def target(tmp_path):
    with SqldReplicaStore.provision(tmp_path, SETTINGS) as target:
        yield target


@pytest.fixture
def store(target):
    with SqldReplicaStore(target, SETTINGS) as store:
        store.setup_schema()
        yield store


def user_requests(url: str, admin_url: str) -> int:
    return Sqld(url, admin_url).http_requests()


def primary_only(target: Target) -> Target:
    """What a plain `sqld` client of the primary gets: another writer."""
    return Target(url=target.url, extra={"admin_url": target.extra["admin_url"]})


def test_load_all_sends_its_queries_to_the_replica_and_asks_the_primary_only_for_its_position(store, target):
    store.create_conversation(Conversation("c1", "t", EPOCH_MS, EPOCH_MS))
    extra = target.extra
    primary_before = user_requests(target.url, extra["admin_url"])
    replica_before = user_requests(extra["replica_url"], extra["replica_admin_url"])
    forwarded_before = store.forwarded()
    assert [c.id for c in store.load_all()] == ["c1"]
    assert user_requests(target.url, extra["admin_url"]) - primary_before == 1  # the position to read at
    assert user_requests(extra["replica_url"], extra["replica_admin_url"]) > replica_before
    # sqld may forward an autocommit read to the primary on its own (its counter shows it, for a
    # few per cent of statements here), but never more than the two queries load_all sent: a
    # transaction (BEGIN, two SELECTs, COMMIT) would show four.
    assert store.forwarded() - forwarded_before <= 2


def test_load_all_sees_a_write_another_client_made_on_the_primary_just_before(store, target):
    with SqldStore(primary_only(target), SETTINGS) as other:
        for i in range(20):  # each read follows the write at once: no time for replication
            other.create_conversation(Conversation(f"other-{i}", "t", EPOCH_MS + i, EPOCH_MS + i))
            assert store.load_all()[0].id == f"other-{i}"


def test_replication_lag_is_measured_over_the_probes_asked_for(store):
    lag = store.measure_lag(20)
    assert lag["n"] == 20
    assert 0 < lag["p50_ms"] <= lag["p99_ms"] <= lag["max_ms"]
    assert 0 <= lag["lower_bound_p50_ms"] <= lag["p50_ms"] and lag["lower_bound_p99_ms"] <= lag["p99_ms"]
    assert lag["resolution_ms"] > 0 and lag["polls_p50"] >= 1
    assert store.load_all() == []  # the probes removed their rows


def test_observations_report_lag_and_how_reads_waited(store):
    store.load_all()
    observed = store.observations()
    assert observed["replication_lag"]["n"] == 100
    assert observed["reads_from_replica"]["reads"] == 1
    assert 0 <= observed["reads_from_replica"]["statements_forwarded_to_primary"] <= 2
    assert observed["sqld_replication_latency"]["n"] > 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_both_servers_are_stopped_when_provision_exits(tmp_path):
    marker = str(tmp_path)
    with SqldReplicaStore.provision(tmp_path, SETTINGS):
        running = processes_mentioning(marker)
        assert len(running) == 2
        assert any("--grpc-listen-addr" in cmd for cmd in running)
        assert any("--primary-grpc-url" in cmd for cmd in running)
    assert processes_mentioning(marker) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("failure", [RuntimeError, KeyboardInterrupt])  # an error; Ctrl-C
def test_both_servers_are_stopped_when_the_run_stops_inside_provision(tmp_path, failure):
    marker = str(tmp_path)
    with pytest.raises(failure):
        with SqldReplicaStore.provision(tmp_path, SETTINGS):
            assert len(processes_mentioning(marker)) == 2
            raise failure()
    assert processes_mentioning(marker) == []


STREAM_EXPIRY_S = 10  # sqld's, for an idle Hrana HTTP stream


def test_only_the_replica_connection_expires_when_idle_and_an_untimed_round_keeps_it(target):
    """Why sqld-replica declares `idle_timeout_s` and sqld does not (the coordinator's untimed
    rounds cost a default run seconds): after more than sqld's stream expiry without a call, a
    store on the primary still works, a replica store fails, and a replica store that made a
    write and a load_all halfway through (the coordinator's untimed round) works."""
    assert (SqldStore.idle_timeout_s, SqldReplicaStore.idle_timeout_s) == (None, STREAM_EXPIRY_S)
    stores = {"primary": SqldStore(primary_only(target), SETTINGS), "replica": SqldReplicaStore(target, SETTINGS),
              "kept": SqldReplicaStore(target, SETTINGS)}
    failures = {}
    try:
        for n, store in enumerate(stores.values()):
            store.open()
            store.setup_schema()
            store.create_conversation(Conversation(f"c{n}", "t", EPOCH_MS, EPOCH_MS))
            store.load_all()
        time.sleep(STREAM_EXPIRY_S * 0.6)
        stores["kept"].update_title("c2", "kept", EPOCH_MS + 1)
        stores["kept"].load_all()
        time.sleep(STREAM_EXPIRY_S * 0.6)
        for name, store in stores.items():
            try:
                store.load_all()
                store.update_title(f"c{list(stores).index(name)}", "later", EPOCH_MS + 2)
            except Exception as exc:
                failures[name] = str(exc)
    finally:
        for store in stores.values():
            store.close()
    assert list(failures) == ["replica"] and "STREAM_EXPIRED" in failures["replica"]
