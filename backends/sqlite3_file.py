"""`sqlite3`: Python's standard-library driver on a local file (the better-sqlite3 row's peer)."""

from __future__ import annotations

import sqlite3
from typing import Sequence

from backends.sql import SqlStore


class Sqlite3Store(SqlStore):
    name = "sqlite3"
    kind = "embedded"
    driver = "stdlib"
    description = "Python's built-in sqlite3 module on a local file"

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions, so BEGIN IMMEDIATE is ours to issue.
        # The module's statement cache (cached_statements) gives statement reuse.
        return sqlite3.connect(
            self.target.path,
            isolation_level=None,
            timeout=self.settings.busy_timeout_ms / 1000,
            cached_statements=256,
        )

    def _execute(self, sql: str, params: Sequence = ()) -> None:
        self.conn.execute(sql, params)

    def _executemany(self, sql: str, rows: Sequence[Sequence]) -> None:
        self.conn.executemany(sql, rows)

    def _query(self, sql: str, params: Sequence = ()) -> list[Sequence]:
        return self.conn.execute(sql, params).fetchall()

    def _driver_version(self) -> str:
        import platform

        return f"python {platform.python_version()}"
