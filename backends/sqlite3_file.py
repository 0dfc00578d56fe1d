"""`sqlite3`: Python's standard-library driver on a local file (the better-sqlite3 row's peer)."""

from __future__ import annotations

import sqlite3

from storebench.backends.base import Capabilities
from storebench.backends.sql import SqlStore


class Sqlite3Store(SqlStore):
    name = "sqlite3"
    kind = "embedded"
    capabilities = Capabilities(paging=True)
    driver = "stdlib"
    description = "Python's built-in sqlite3 module on a local file"

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions, so BEGIN IMMEDIATE is ours to issue.
        # The module's statement cache (cached_statements) gives statement reuse.
        return sqlite3.connect(
            self.target.require_path(),
            isolation_level=None,
            timeout=self.settings.busy_timeout_ms / 1000,
            cached_statements=256,
        )

    def _driver_version(self) -> str:
        import platform

        return f"python {platform.python_version()}"
