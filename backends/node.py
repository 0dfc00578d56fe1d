"""The design document's Node systems, measured for real (see `backends/node_runner.py` and
`node/`): one small class per backend, each naming its system module and its target.

- `node-libsql`: `@libsql/client` on a local file, the design's current database layer;
- `node-sqld`: the same client over HTTP to the harness-started sqld (the self-hosted option);
- `node-turso`: the same client with a `libsql://` URL and a token: real Turso with the
  TURSO_* variables, else the emulated one (sqld + JWT + delaying proxy), labelled as such;
- `drizzle` / `drizzle-turso`: drizzle-orm over `@libsql/client`, on a file / the turso target;
- `prisma`: Prisma ORM 7 with the libSQL driver adapter, on a file;
- `better-sqlite3`: better-sqlite3 on a file (synchronous API, prepared statements).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from storebench.backends.base import Capabilities, Settings, Target
from storebench.backends.node_runner import NodeStore
from storebench.backends.turso import TursoTarget, wire_counter
from storebench.servers import sqld_server

REMOTE_TIMEOUT = ("enforced in Node: every HTTP request of @libsql/client carries AbortSignal.timeout(op_timeout_s); "
                  "a request that times out fails the op")


class NodeLibsqlStore(NodeStore):
    name = "node-libsql"
    kind = "embedded"
    capabilities = Capabilities(paging=True, needs=("node",))
    driver = "@libsql/client (npm)"
    description = "Node: @libsql/client on a local file (file: URL), the design document's current database layer"
    system = "libsql"


class BetterSqlite3Store(NodeStore):
    name = "better-sqlite3"
    kind = "embedded"
    capabilities = Capabilities(paging=True, needs=("node",))
    driver = "better-sqlite3 (npm)"
    description = "Node: better-sqlite3 on a local file, synchronous API, prepared statements"
    system = "better-sqlite3"


class DrizzleStore(NodeStore):
    name = "drizzle"
    kind = "orm"
    capabilities = Capabilities(paging=True, needs=("node",))
    driver = "drizzle-orm (npm)"
    description = "Node: drizzle-orm over @libsql/client on a local file, one db.batch per op"
    system = "drizzle"
    overhead_vs = "node-libsql"


class PrismaStore(NodeStore):
    name = "prisma"
    kind = "orm"
    capabilities = Capabilities(paging=True, needs=("node",))
    driver = "prisma (npm)"
    description = "Node: Prisma ORM 7 (prisma-client generator, @prisma/adapter-libsql) on a local file"
    system = "prisma"
    node_files = ("generated/prisma-client.mjs",)
    overhead_vs = "node-libsql"


class NodeSqldStore(NodeStore):
    name = "node-sqld"
    kind = "server"
    capabilities = Capabilities(paging=True, needs=("node", "sqld"))
    driver = "@libsql/client (npm)"
    description = "Node: @libsql/client over HTTP to the real sqld on loopback, the self-hosted option"
    system = "libsql"
    op_timeout = REMOTE_TIMEOUT
    # Node 20's fetch reads sqld's 2 MB load_all answer in about half a second (docs/node.md),
    # and the writes (a few ms, on loopback) reach their ±3 % interval within the 25 rounds an
    # eighth of quick's gives them.
    rounds_fraction = 0.125
    not_in_all = ("the client of node-turso against the server of sqld, without the WAN: left out of the "
                  "default run, which its start-up, cold starts and probes took past 120 s (133 s with it)")

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return super().unavailable_reason() or sqld_server.unavailable_reason()

    @classmethod
    @contextlib.contextmanager
    def provision(cls, workdir: Path, settings: Settings) -> Iterator[Target]:
        with sqld_server.sqld_for_run(workdir) as server:
            yield Target(url=server.url, extra={
                "admin_url": server.admin_url, "server_version": sqld_server.server_version(server.url),
            })

    def counter_spec(self) -> dict | None:
        admin_url = self.target.extra.get("admin_url")
        return {"metrics_url": f"{admin_url}/metrics",
                "metric": sqld_server.HTTP_RESPONSES_METRIC} if admin_url else None

    def round_trips(self) -> int | None:
        """HTTP requests sqld answered (its own metrics; each is one round trip)."""
        admin_url = self.target.extra.get("admin_url")
        if not admin_url:
            return None
        try:
            return sqld_server.Sqld(self.target.require_url(), admin_url).http_requests()
        except OSError:  # the server is gone: the op itself reports the error
            return None

    def describe(self) -> dict:
        return {**super().describe(), "server_version": self.target.extra.get("server_version")}


class NodeTursoStore(TursoTarget, NodeStore):
    name = "node-turso"
    kind = "remote"
    capabilities = Capabilities(paging=True, emulated=True, required_modules=("jwt",), needs=("node", "turso"))
    driver = "@libsql/client (npm)"
    description = "Node: @libsql/client with a libsql:// URL and a token (real Turso or emulated)"
    system = "libsql"
    op_timeout = REMOTE_TIMEOUT
    # Every op pays the (emulated) WAN round trip, so its spread is small next to it, and
    # load_all (Node's fetch of 2 MB, ~0.5 s, docs/node.md) is the op that costs the time.
    # Over four default runs at 25 rounds, each write's p50 varied by 1.0-2.8 % (CV) and
    # load_all's by 4.8-6.6 %. A fifth of the rounds (40 in quick): two processes of 20, and
    # load_all in every second round, so every op of the document's phase 2 and 3 systems has
    # the 20 samples from two processes a recommendation needs (issue 32; 15 rounds gave
    # load_all 5 samples from one process).
    rounds_fraction = 0.2

    def node_target(self) -> dict:
        # The emulated database is plain HTTP through the proxy: in libsql:// form that is
        # `?tls=0` (libsql:// alone means HTTPS, as for real Turso, whose URL goes as it is).
        target = super().node_target()
        url = urlsplit(self.target.url)
        if url.scheme == "http":
            target["url"] = f"libsql://{url.netloc}?tls=0"
        return target

    def counter_spec(self) -> dict | None:
        path = self.target.extra.get("round_trip_counter")
        return {"file": path} if path else None

    def open(self) -> None:
        self.wire = wire_counter(self.target)
        super().open()

    def close(self) -> None:
        super().close()
        if self.wire is not None:
            self.wire.close()
            self.wire = None

    def round_trips(self) -> int | None:
        """On the wire (the proxy's count) when emulated; not counted for real Turso."""
        return self.wire.read()[0] if self.wire is not None else None

    def describe(self) -> dict:
        return {**super().describe(), "server_version": self.target.extra.get("server_version")}


class DrizzleTursoStore(NodeTursoStore):
    name = "drizzle-turso"
    kind = "orm"
    capabilities = Capabilities(paging=True, emulated=True, required_modules=("jwt",), needs=("node", "turso"))
    driver = "drizzle-orm (npm)"
    description = "Node: drizzle-orm over @libsql/client on the turso target (the document's phase 3: Drizzle + Turso)"
    system = "drizzle"
    overhead_vs = "node-turso"
