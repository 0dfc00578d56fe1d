"""`sqld`: the real self-hosted libSQL server, through the maintained `libsql` package over
Hrana HTTP. The harness starts sqld itself (see `bench/servers/sqld_server.py`), or uses `SQLD_URL`.

Measured on the wire: `libsql` 0.1.11 sends two HTTP requests per statement (a `describe`,
then the statement), and each op is its statements inside BEGIN IMMEDIATE … COMMIT, as for
the embedded backends; so a write op here costs 6–8 round trips.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from storebench.backends.base import Capabilities, Conversation, Settings, Target
from storebench.backends.hrana_batch import SERVER_SETTINGS_NOTE
from storebench.backends.libsql_file import LibsqlStore
from storebench.backends.sql import INSERT_CONVERSATION, INSERT_MESSAGE, conversation_row, message_row
from storebench.servers import sqld_server


def sql_literal(value: str | int) -> str:
    """`value` as an SQLite literal, for the preload script (our own generated data only)."""
    if type(value) is int:
        return str(value)
    if isinstance(value, str) and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    raise ValueError(f"no SQL literal for {type(value).__name__} value in the preload")


class SqldStore(LibsqlStore):
    name = "sqld"
    kind = "server"
    capabilities = Capabilities(paging=True, required_modules=("libsql",), needs=("sqld",))
    driver = "libsql"
    description = "the real sqld (libSQL server) on loopback, via the libsql package over Hrana HTTP"
    # Two HTTP requests per statement make a round of ops ~30 ms, and load_all ~100 ms: a
    # quarter of the profile's rounds (50 in quick) keeps the default run within its budget.
    rounds_fraction = 0.25
    op_timeout = ("not supported by driver libsql 0.1.11: its Hrana HTTP calls take no network timeout "
                  "(connect's `timeout` is SQLite's busy timeout) and hold the GIL while blocked, "
                  "so no Python watchdog can interrupt them")

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

    def _connect(self):
        import libsql

        return libsql.connect(self.target.url, auth_token=self.target.auth_token or "", isolation_level=None)

    def _apply_settings(self) -> None:
        # Hrana rejects PRAGMA journal_mode/synchronous/busy_timeout ("unsupported
        # statement"); foreign_keys is per connection and can be set on our stream.
        self._execute(f"PRAGMA foreign_keys={'ON' if self.settings.foreign_keys else 'OFF'}")

    def preload(self, conversations: list[Conversation]) -> None:
        # Bulk set-up, not an op. libsql's executemany sends two HTTP requests per row (4,200
        # for the quick profile's preload, about a second); one script is one request.
        rows = [INSERT_CONVERSATION.replace("?", "{}").format(*map(sql_literal, conversation_row(c)))
                for c in conversations]
        rows += [INSERT_MESSAGE.replace("?", "{}").format(*map(sql_literal, message_row(m)))
                 for c in conversations for m in c.messages]
        self.conn.executescript(";\n".join(["BEGIN IMMEDIATE", *rows, "COMMIT;"]))

    def describe(self) -> dict:
        info = super().describe()
        info["settings"]["note"] = SERVER_SETTINGS_NOTE
        info["server_version"] = self.target.extra.get("server_version")
        return info

    def round_trips(self) -> int | None:
        """HTTP requests sqld answered (its own metrics; each is one round trip)."""
        admin_url = self.target.extra.get("admin_url")
        if not admin_url:
            return None
        try:
            return sqld_server.Sqld(self.target.require_url(), admin_url).http_requests()
        except OSError:  # the server is gone (killed mid-run): the op itself reports the error
            return None

    def _driver_version(self) -> str:
        return metadata.version("libsql")
