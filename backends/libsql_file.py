"""`libsql`: the maintained `libsql` package on an embedded libSQL file (the seed's engine)."""

from __future__ import annotations

from importlib import metadata
from typing import ClassVar

from storebench.backends.base import Capabilities, Kind
from storebench.backends.sql import SqlStore


class LibsqlStore(SqlStore):
    name = "libsql"
    kind: ClassVar[Kind] = "embedded"  # declared here too: SqldStore (a subclass) is a "server"
    capabilities = Capabilities(paging=True, required_modules=("libsql",))
    driver = "libsql"
    description = "libSQL embedded in the process (pip libsql) on a local file"

    def _connect(self):
        import libsql

        # libsql keeps no statement cache, so there is no reuse to enable; autocommit mode
        # (isolation_level=None) lets us issue BEGIN IMMEDIATE ourselves.
        return libsql.connect(self.target.path, isolation_level=None)

    def _driver_version(self) -> str:
        return metadata.version("libsql")
