"""`turso-replica`: an embedded replica of the `turso` database (real or emulated).

`libsql-experimental` keeps a local file in sync with the primary (`sync_url` + token):
reads run on the local file, writes are forwarded to the primary. (`libsql` 0.1.9+ speaks a
newer sync protocol that sqld does not serve, so the replica uses `libsql-experimental`.)
`sync` is timed as its own op after every round. Read-your-writes is measured after the run
and recorded under `observations` in the results.

Measured on the wire (emulated): every forwarded statement — BEGIN, COMMIT and PRAGMA
included — costs several round trips, so a write op is tens of RTTs. At the default 20 ms
that is over a second per round, hence `rounds_fraction`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from storebench.backends.base import Capabilities, Conversation, Settings, StoreError, Target
from storebench.backends.sql import SELECT_CONVERSATIONS, SELECT_MESSAGES, SqlStore, assemble
from storebench.backends.turso import TursoStore, TursoTarget, turso_target, wire_counter
from storebench.model.secrets import scrub

PROBES = 3  # read-your-writes probes after the run (each is about half a second at 20 ms)
FORWARDED_NOTE = "PRAGMAs are forwarded to the primary by the replica: these are the primary's settings"
PROBE_EPOCH_MS = 4_102_444_800_000  # 2100-01-01: probe rows sort first and never clash with the workload


class TursoReplicaStore(TursoTarget, SqlStore):
    name = "turso-replica"
    kind = "replica"
    capabilities = Capabilities(
        paging=True, emulated=True, required_modules=("libsql_experimental", "jwt"), needs=("turso",))
    driver = "libsql-experimental"
    description = ("embedded replica of the turso database (libsql-experimental): local reads, "
                   "writes forwarded to the primary")
    extra_ops = ("sync",)
    # 4 rounds in quick: a round is over two seconds at 20 ms (a new chat's first exchange is
    # written through to the primary one statement at a time, ~1.5 s); every op's spread is
    # small next to its round trips: over four default runs at 5 rounds, each write's p50
    # varied by 1.5-2.0 % (CV).
    rounds_fraction = 0.02
    op_timeout = ("not supported by driver libsql-experimental 0.0.55: reads are local, forwarded writes "
                  "and sync take no network timeout and hold the GIL while blocked")
    single_process_reason = ("an embedded replica's local file belongs to one process: two processes "
                             "syncing into one file broke it here ('database disk image is malformed'); "
                             "each client needs its own replica file")

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            import jwt  # noqa: F401
            import libsql_experimental  # noqa: F401
        except ImportError as exc:
            return f"a driver is missing ({exc}); pip install libsql-experimental 'pyjwt[crypto]'"
        return super().unavailable_reason()

    @classmethod
    @contextlib.contextmanager
    def provision(cls, workdir: Path, settings: Settings) -> Iterator[Target]:
        with turso_target(workdir, settings) as primary:
            yield Target(path=str(workdir / "replica.db"), url=primary.url, auth_token=primary.auth_token,
                         extra=primary.extra)

    def _connect(self):
        import libsql_experimental

        self.wire = wire_counter(self.target)
        try:
            conn = libsql_experimental.connect(self.target.path, sync_url=self.target.url,
                                               auth_token=self.target.auth_token or "", isolation_level=None)
            conn.sync()
        except Exception as exc:
            raise self._error(exc) from None
        return conn

    def _error(self, exc: Exception) -> Exception:
        """The driver reports a rejected token only as a handshake timeout; ask the primary
        directly, so an auth problem is reported as one (naming TURSO_AUTH_TOKEN)."""
        try:
            with self._primary_client():
                pass
        except StoreError as primary_error:
            return primary_error
        return StoreError(scrub(f"{type(exc).__name__}: {exc}", [self.target.auth_token])[:300])

    def _apply_settings(self) -> None:
        # PRAGMA writes are forwarded to the primary, which rejects them over Hrana
        # ("unsupported statement"); the local file is the driver's to configure.
        pass

    def close(self) -> None:
        super().close()
        if self.wire is not None:
            self.wire.close()
            self.wire = None

    def _driver_version(self) -> str:
        return metadata.version("libsql-experimental")

    def preload(self, conversations: list[Conversation]) -> None:
        # Bulk set-up, not an op: sent to the primary in batches, then pulled by one sync.
        # Through the replica it would be thousands of forwarded statements (minutes at 20 ms).
        with self._primary_client() as primary:
            primary.preload(conversations)
        self.sync()

    def _primary_client(self) -> TursoStore:
        return TursoStore(Target(url=self.target.url, auth_token=self.target.auth_token), self.settings)

    def load_all(self) -> list[Conversation]:
        # Local reads. No BEGIN: the replica would forward it to the primary. The local file
        # changes only when this connection syncs, so the two queries see one state.
        return assemble(self._query(SELECT_CONVERSATIONS), self._query(SELECT_MESSAGES))

    def sync(self) -> None:
        """Pull the primary's new frames into the local file."""
        self.conn.sync()

    def describe(self) -> dict:
        info = super().describe()
        info["settings"]["note"] = FORWARDED_NOTE
        info["server_version"] = self.target.extra.get("server_version")
        return info

    def round_trips(self) -> int | None:
        return self.wire.read()[0] if self.wire is not None else None

    def observations(self) -> dict:
        """Read-your-writes, measured: is a write visible in the local file right after it
        returns, and is another client's write visible before and after `sync`?"""
        own = other_before = other_after = 0
        writer = self._primary_client()
        writer.open()
        try:
            for i in range(PROBES):
                mine = Conversation(f"ryw-own-{i}", "probe", PROBE_EPOCH_MS + i, PROBE_EPOCH_MS + i)
                self.create_conversation(mine)
                own += self._visible(mine.id)
                theirs = Conversation(f"ryw-other-{i}", "probe", PROBE_EPOCH_MS + i, PROBE_EPOCH_MS + i)
                writer.create_conversation(theirs)
                other_before += self._visible(theirs.id)
                self.sync()
                other_after += self._visible(theirs.id)
                self.delete_conversation(mine.id)
                writer.delete_conversation(theirs.id)
            self.sync()
        finally:
            writer.close()
        return {"read_your_writes": {
            "probes": PROBES,
            "own_write_visible_locally_at_return": own,
            "other_client_write_visible_before_sync": other_before,
            "other_client_write_visible_after_sync": other_after,
        }}

    def _visible(self, conversation_id: str) -> int:
        return len(self._query("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)))

