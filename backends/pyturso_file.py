"""`pyturso`: Turso's new in-process engine, a rewrite of SQLite in Rust (pip pyturso,
`import turso`), on a local file through its DB-API module.

It takes the four fair settings (journal_mode=WAL, synchronous, foreign_keys, busy_timeout),
as PRAGMAs read back in describe(). It holds an exclusive lock on the file while the
database object is alive, and `Connection.close()` does not release it: the lock goes only
when the connection object is freed. SqlStore.close() drops our only reference, so a cold
start in a fresh process can open the file after the parent closed its store.
"""

from __future__ import annotations

from importlib import metadata

from storebench.backends.base import Capabilities
from storebench.backends.sql import SqlStore


class PytursoStore(SqlStore):
    name = "pyturso"
    kind = "embedded"
    capabilities = Capabilities(paging=True, required_modules=("turso",))
    driver = "pyturso"
    description = "Turso's in-process Rust engine (pip pyturso, DB-API) on a local file"
    single_process_reason = ("pyturso locks its file exclusively: a second process is refused with "
                             "'File is locked by another process' (see the concurrent_writers probe)")

    def _connect(self):
        import turso

        # isolation_level=None: autocommit, so BEGIN IMMEDIATE is ours to issue.
        return turso.connect(self.target.require_path(), isolation_level=None)

    def _driver_version(self) -> str:
        return metadata.version("pyturso")
