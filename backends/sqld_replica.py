"""`sqld-replica`: a real sqld primary and a real sqld replica, both started by the harness.

The primary listens for replicas on a gRPC port (`--grpc-listen-addr`); the replica follows it
(`--primary-grpc-url`) with its own HTTP port and data directory. The client is the `libsql`
package, as for `sqld`, so the two rows differ only in topology: writes go to the primary,
`load_all` reads from the replica.

Replication is asynchronous, so a read from the replica can miss a write the primary has
already acknowledged. `load_all` therefore reads at the primary's position, as an app on this
topology must to show its user their own writes: it asks the primary for its replication index
(the frame number every Hrana result carries: one `SELECT 1` request; `libsql` 0.1.11 does not
expose it), waits until the replica has applied that frame (its admin API's stats, bounded by
`CATCH_UP_TIMEOUT_S`), then reads. The wait is part of `load_all`'s latency. So `load_all` sees
every write acknowledged before it started, from any client, and the harness's content checks
(which read through `load_all`) check the replica, caught up. (The primary's admin stats carry
the same counter, but sqld updates them from a background task: under load they lagged a
commit already acknowledged, and a read that waited for them missed that write.)

`load_all`'s two queries run outside a transaction: the replica forwards any transaction, even
`BEGIN READONLY`, to the primary (measured: its `write_requests_delegated` counts every
statement of it), which would make it a primary read. Instead the replica's index is read again
after the queries, and the read is repeated if a commit was applied between them.

Measured after the run (`observations.replication_lag`): how long a write acknowledged by the
primary takes to become visible on the replica.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import statistics
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from storebench.backends.api_routes import connection
from storebench.backends.base import Capabilities, Conversation, Settings, StoreError, Target
from storebench.backends.libsql_file import LibsqlStore
from storebench.backends.sql import (
    INSERT_CONVERSATION,
    SELECT_CONVERSATIONS,
    SELECT_MESSAGES,
    SELECT_PAGE,
    SELECT_PAGE_MESSAGES,
    assemble,
    conversation_row,
)
from storebench.backends.sqld import SqldStore
from storebench.servers import sqld_server
from storebench.servers.processes import free_port

CATCH_UP_TIMEOUT_S = 10.0  # longest a read waits for the replica to reach the primary's frame
SNAPSHOT_ATTEMPTS = 5  # reads repeated at most this often when a commit lands mid-read
HTTP_TIMEOUT_S = 5
LAG_PROBES = 100
LAG_PROBE_TIMEOUT_S = 5.0
PROBE_EPOCH_MS = 4_102_444_800_000  # 2100-01-01: probe rows sort first and never clash with the workload
STATS_PATH = "/v1/namespaces/default/stats"
POLL_SQL = "SELECT 1 FROM conversations WHERE id = ?"
DELETE_PROBES = "DELETE FROM conversations WHERE created_at >= ?"  # the probes' rows (no messages)
TOPOLOGY = "sqld primary (writes) + sqld replica over gRPC (reads), both on loopback"


@contextlib.contextmanager
def running_topology(workdir: Path) -> Iterator[tuple[sqld_server.Sqld, sqld_server.Sqld]]:
    """(primary, replica): two fresh sqld processes, both stopped on exit (error and Ctrl-C too)."""
    grpc = f"127.0.0.1:{free_port()}"
    with sqld_server.running_sqld(workdir, name="primary", extra_args=["--grpc-listen-addr", grpc]) as primary:
        with sqld_server.running_sqld(workdir, name="replica",
                                      extra_args=["--primary-grpc-url", f"http://{grpc}"]) as replica:
            yield primary, replica


class JsonHttp:
    """One keep-alive HTTP connection for small JSON exchanges (admin stats, Hrana polls): a
    new TCP connection per request would add a handshake to every poll."""

    def __init__(self, url: str) -> None:
        self.conn = connection(url, HTTP_TIMEOUT_S)

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body)
        for attempt in (1, 2):  # a keep-alive connection the server closed is reopened once
            try:
                self.conn.request(method, path, data, {"Content-Type": "application/json"})
                response = self.conn.getresponse()
                text = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                if attempt == 2:
                    raise
        if response.status != 200:
            raise StoreError(f"{method} {path} answered HTTP {response.status}: {text[:200]!r}")
        return json.loads(text)

    def close(self) -> None:
        self.conn.close()


class SqldReplicaStore(SqldStore):
    name = "sqld-replica"
    kind = "server"
    capabilities = Capabilities(paging=True, second_device=True, required_modules=("libsql",), needs=("sqld-binary",))
    driver = "libsql"
    description = ("a real sqld primary and replica on loopback via libsql over Hrana HTTP: writes to the "
                   "primary, load_all from the replica once it has caught up")
    not_in_all = ("an architecture the design document does not discuss (turso-replica is its embedded "
                  "replica), left out of the default run to keep it within 120 s")
    # sqld expires an idle Hrana HTTP stream after 10 s, and the libsql 0.1.11 connection to
    # the replica (reads outside a transaction) then fails every later call with STREAM_EXPIRED
    # (it does not reconnect). The connection to the primary, `sqld`'s own, outlives such gaps
    # (measured after every kind of op; tests/test_sqld_replica.py), so `sqld` declares none.
    idle_timeout_s = 10.0

    replica: Any = None  # libsql's connection to the replica (the driver has no type hints)
    primary_hrana: JsonHttp | None = None
    replica_admin: JsonHttp | None = None

    def __init__(self, target: Target, settings: Settings) -> None:
        super().__init__(target, settings)
        self.index_reads = 0  # admin requests for the replica's index: round trips too
        self.reads = self.reads_that_waited = self.reads_repeated = self.forwarded_at_open = 0

    @classmethod
    def unavailable_reason(cls) -> str | None:
        # Needs a sqld binary to start both servers: an external SQLD_URL is one server only.
        return LibsqlStore.unavailable_reason() or sqld_server.binary_unavailable_reason()

    @classmethod
    @contextlib.contextmanager
    def provision(cls, workdir: Path, settings: Settings) -> Iterator[Target]:
        with running_topology(workdir) as (primary, replica):
            yield Target(url=primary.url, extra={
                "admin_url": primary.admin_url, "replica_url": replica.url, "replica_admin_url": replica.admin_url,
                "server_version": sqld_server.server_version(primary.url), "topology": TOPOLOGY,
            })

    @classmethod
    def second_device_target(cls, target: Target, workdir: Path) -> Target:
        """Another device is given both servers' addresses, as an app deployed on this topology is."""
        return Target(url=target.url, extra=dict(target.extra))

    def open(self) -> None:
        import libsql

        super().open()
        self.replica = libsql.connect(self.target.extra["replica_url"], isolation_level=None)
        self.primary_hrana = JsonHttp(self.target.require_url())
        self.replica_admin = JsonHttp(self.target.extra["replica_admin_url"])
        self.forwarded_at_open = self.forwarded()

    def close(self) -> None:
        for client in (self.primary_hrana, self.replica_admin):
            if client is not None:
                client.close()
        self.primary_hrana = self.replica_admin = None
        if self.replica is not None:
            self.replica.close()
            self.replica = None
        super().close()

    # Reads -------------------------------------------------------------------------------

    def load_all(self) -> list[Conversation]:
        return self._replica_read(SELECT_CONVERSATIONS, SELECT_MESSAGES, ())

    def load_page(self, limit: int) -> list[Conversation]:
        return self._replica_read(SELECT_PAGE, SELECT_PAGE_MESSAGES, (limit,))

    def _replica_read(self, conversations_sql: str, messages_sql: str, params: Sequence) -> list[Conversation]:
        """Both queries on the replica, at or after the primary's position when the read began,
        with no replicated commit applied between them."""
        self.reads += 1
        wanted = self._primary_index()
        for _ in range(SNAPSHOT_ATTEMPTS):
            before, polls = self.wait_for_replica(wanted)
            self.reads_that_waited += polls > 1
            conversations = self.replica.execute(conversations_sql, params).fetchall()
            messages = self.replica.execute(messages_sql, params).fetchall()
            if self._replica_index() == before:
                return assemble(conversations, messages)
            self.reads_repeated += 1
        raise StoreError(f"the replica applied commits during each of {SNAPSHOT_ATTEMPTS} read attempts; "
                         "no consistent read")

    def wait_for_replica(self, frame: int) -> tuple[int, int]:
        """Poll the replica's index until it reaches `frame`: (index reached, polls made). Each
        poll is one admin request (well under a millisecond on loopback), so the wait ends
        within one poll of the frame arriving."""
        deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
        index, polls = self._replica_index(), 1
        while index < frame:
            if time.monotonic() > deadline:
                raise StoreError(f"the replica did not reach the primary's frame {frame} within "
                                 f"{CATCH_UP_TIMEOUT_S:g} s (it is at {index})")
            index, polls = self._replica_index(), polls + 1
        return index, polls

    def _replica_index(self) -> int:
        self.index_reads += 1
        return int(self._admin().request("GET", STATS_PATH)["replication_index"])

    def _admin(self) -> JsonHttp:
        """The replica's admin API client that `open` made."""
        if self.replica_admin is None:
            raise StoreError("sqld-replica is not open")
        return self.replica_admin

    def _primary_index(self) -> int:
        """The primary's replication index as of now (0 before its first commit). The request
        goes to the primary's user port, so its metrics count it as a round trip."""
        if self.primary_hrana is None:
            raise StoreError("sqld-replica is not open")
        return int(hrana_execute(self.primary_hrana, "SELECT 1")["replication_index"] or 0)

    # Reporting ----------------------------------------------------------------------------

    def describe(self) -> dict:
        info = super().describe()
        info["topology"] = TOPOLOGY
        info["replica_server_version"] = sqld_server.server_version(self.target.extra["replica_url"])
        return info

    def round_trips(self) -> int | None:
        """HTTP requests both servers answered on their user ports (their own metrics), plus
        the admin requests this client made for the replica's index."""
        extra = self.target.extra
        primary = sqld_server.Sqld(self.target.require_url(), extra["admin_url"]).http_requests()
        replica = sqld_server.Sqld(extra["replica_url"], extra["replica_admin_url"]).http_requests()
        if primary is None or replica is None:  # not so here: both servers are given an admin URL
            return None
        return primary + replica + self.index_reads

    def observations(self) -> dict:
        reads = {  # before the lag probes, whose polls the replica may forward too
            "reads": self.reads, "waited_for_replica": self.reads_that_waited,
            "repeated_for_a_consistent_read": self.reads_repeated,
            "statements_forwarded_to_primary": self.forwarded() - self.forwarded_at_open,
            "note": "each read first waits (bounded) until the replica has applied the primary's "
                    "frame as of the read's start; that wait is part of the read's latency. sqld "
                    "itself forwards some autocommit reads to the primary (its own counter, "
                    "write_requests_delegated): those statements were answered by the primary",
        }
        return {
            "replication_lag": self.measure_lag(LAG_PROBES),
            "reads_from_replica": reads,
            "sqld_replication_latency": self._sqld_reported_latency(),
        }

    def forwarded(self) -> int:
        """Statements the replica has forwarded to the primary over its life (its own stats)."""
        return int(self._admin().request("GET", STATS_PATH)["write_requests_delegated"])

    def measure_lag(self, probes: int) -> dict:
        """Write acknowledged by the primary -> visible on the replica, `probes` times.

        Each probe inserts a conversation on the primary in one Hrana request (an autocommit
        statement: its response is the commit's acknowledgement); the clock starts when that
        response arrives. Then one Hrana request per poll asks the replica for the row in a
        tight loop (no sleep; bounded) and the clock stops at the response that shows it. The
        visibility instant lies after the previous poll and before this one, so the figure is
        an upper bound with one poll's round trip as its resolution (reported); the sending of
        the last poll that missed the row gives a lower bound (reported too). The next probe
        starts once the row is visible, so the replica is caught up at each start (the first
        waits for the replica to reach the primary, or it could lack the table). Probes
        speak Hrana directly: libsql would send two requests per statement (describe, then
        execute), doubling the poll period.
        """
        # Imported here: it brings numpy, which would otherwise count in every cold start.
        from storebench.model.stats import summarize

        writer = JsonHttp(self.target.require_url())
        poller = JsonHttp(self.target.extra["replica_url"])
        lags: list[float] = []
        lower_bounds: list[float] = []
        polls: list[int] = []
        periods: list[float] = []
        try:
            self.wait_for_replica(self._primary_index())
            for i in range(probes):
                probe = Conversation(f"lag-probe-{i}", "probe", PROBE_EPOCH_MS + i, PROBE_EPOCH_MS + i)
                hrana_execute(writer, INSERT_CONVERSATION, conversation_row(probe))
                acked = time.perf_counter()
                seen, missed, n = _poll_until_visible(poller, probe.id, periods, acked)
                lags.append(seen - acked)
                lower_bounds.append(missed - acked)
                polls.append(n)
        finally:
            try:
                hrana_execute(writer, DELETE_PROBES, (PROBE_EPOCH_MS,))
            finally:
                writer.close()
                poller.close()
        summary = summarize([round(lag * 1e9) for lag in lags])
        lower = summarize([round(bound * 1e9) for bound in lower_bounds])
        return {
            "n": probes,
            "p50_ms": round(summary["p50_ms"], 3),
            "p99_ms": round(summary["p99_ms"], 3),
            "max_ms": round(summary["max_ms"], 3),
            "lower_bound_p50_ms": round(lower["p50_ms"], 3),
            "lower_bound_p99_ms": round(lower["p99_ms"], 3),
            "resolution_ms": _ms(statistics.median(periods)),
            "polls_p50": statistics.median(polls),
            "visible_on_first_poll": polls.count(1),
            "method": "autocommit insert acknowledged by the primary -> first replica poll response showing "
                      "the row (upper bound); lower bound: -> sending of the last poll that did not show it; "
                      "resolution = one poll's round trip (p50)",
        }

    def _sqld_reported_latency(self) -> dict:
        """The replica's own summary (commit on the primary -> commit frame received by the
        replica, over the server's life): a cross-check from the server's side."""
        wanted = {'quantile="0.5"': "p50_ms", 'quantile="0.99"': "p99_ms"}
        figures = {}
        text = sqld_server.http_get(f"{self.target.extra['replica_admin_url']}/metrics")
        for line in text.splitlines():
            if line.startswith("libsql_server_replication_latency{"):
                label = line[line.index("{") + 1:line.index("}")]
                if label in wanted:
                    figures[wanted[label]] = _ms(float(line.rsplit(" ", 1)[1]))
            elif line.startswith("libsql_server_replication_latency_count "):
                figures["n"] = int(float(line.rsplit(" ", 1)[1]))
        return figures


def hrana_execute(client: JsonHttp, sql: str, args: Sequence = ()) -> dict:
    """One statement in one Hrana pipeline request (autocommit); its result, or StoreError."""
    stmt = {"sql": sql, "args": [hrana_value(a) for a in args]}
    result = client.request("POST", "/v3/pipeline",
                            {"requests": [{"type": "execute", "stmt": stmt}, {"type": "close"}]})["results"][0]
    if result["type"] != "ok":
        raise StoreError(f"sqld refused {sql.split()[0]}: {json.dumps(result)[:200]}")
    return result["response"]["result"]


def hrana_value(value: str | int) -> dict:
    """A Hrana argument; integers travel as decimal strings, so 64-bit values stay exact."""
    if isinstance(value, int):
        return {"type": "integer", "value": str(value)}
    return {"type": "text", "value": value}


def _poll_until_visible(poller: JsonHttp, conversation_id: str, periods: list[float],
                        since: float) -> tuple[float, float, int]:
    """Poll from `since` until the row shows: (time of the response that showed it, time the
    last poll that did not was sent, or `since`; polls made). Each poll's round trip is
    appended to `periods`."""
    deadline = since + LAG_PROBE_TIMEOUT_S
    missed_at, n = since, 0
    while True:
        sent = time.perf_counter()
        rows = hrana_execute(poller, POLL_SQL, (conversation_id,))["rows"]
        answered = time.perf_counter()
        periods.append(answered - sent)
        n += 1
        if rows:
            return answered, missed_at, n
        missed_at = sent
        if answered > deadline:
            raise StoreError(f"a write was not visible on the replica within {LAG_PROBE_TIMEOUT_S:g} s")


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)
