"""`apsw`: Another Python SQLite Wrapper on a local file, with its own bundled SQLite."""

from __future__ import annotations

from collections.abc import Sequence

from storebench.backends.base import Capabilities
from storebench.backends.sql import SqlStore


class ApswStore(SqlStore):
    name = "apsw"
    kind = "embedded"
    capabilities = Capabilities(paging=True, required_modules=("apsw",))
    driver = "apsw"
    description = "APSW (thin SQLite wrapper, bundled SQLite) on a local file"

    def _connect(self):
        import apsw

        # APSW is in autocommit mode unless a BEGIN is issued; its statement cache reuses
        # prepared statements.
        return apsw.Connection(self.target.require_path(), statementcachesize=256)

    def _execute(self, sql: str, params: Sequence = ()) -> None:
        for _ in self.conn.execute(sql, params):
            pass

    def _executemany(self, sql: str, rows: Sequence[Sequence]) -> None:
        self.conn.executemany(sql, rows)

    def _query(self, sql: str, params: Sequence = ()) -> list[Sequence]:
        return self.conn.execute(sql, params).fetchall()

    def _driver_version(self) -> str:
        import apsw

        return apsw.apsw_version()
