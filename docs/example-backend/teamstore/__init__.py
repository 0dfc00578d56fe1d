"""sqlite3 without its statement cache: what does re-preparing every statement cost?

A backend is one `Store` subclass. This one reuses storebench's sqlite3 adapter and changes
only how it connects, so it keeps the fair settings (WAL, synchronous, foreign keys, busy
timeout, BEGIN IMMEDIATE) and passes the contract suite like every built-in backend.
"""

from __future__ import annotations

import sqlite3

from storebench.backends.sqlite3_file import Sqlite3Store


class NoCacheStore(Sqlite3Store):
    name = "sqlite3-nocache"
    description = "sqlite3 without a statement cache (an example of a user's own backend)"

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.target.path, isolation_level=None,
                               timeout=self.settings.busy_timeout_ms / 1000, cached_statements=0)
