"""SQL shared by the backends that speak SQLite's dialect through a plain driver.

`SqlStore` implements the five operations once, over a few small driver primitives, so each
driver module only says how to connect, execute and query. ORMs and HTTP backends implement
`Store` directly.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from storebench.backends.base import Conversation, Message, Store

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS conversations (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS messages (
        id TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content TEXT NOT NULL,
        created_at INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id, created_at, id)",
)

SELECT_CONVERSATIONS = "SELECT id, title, created_at, updated_at FROM conversations ORDER BY updated_at DESC, id"
SELECT_MESSAGES = (
    "SELECT id, conversation_id, role, content, created_at FROM messages ORDER BY conversation_id, created_at, id"
)
# The page has no index on updated_at to use (the schema is the seed app's), so SQLite scans
# the conversations table once and keeps the top `limit`; messages come by the index.
SELECT_PAGE = SELECT_CONVERSATIONS + " LIMIT ?"
SELECT_PAGE_MESSAGES = (
    "SELECT id, conversation_id, role, content, created_at FROM messages WHERE conversation_id IN "
    "(SELECT id FROM conversations ORDER BY updated_at DESC, id LIMIT ?) ORDER BY conversation_id, created_at, id"
)
INSERT_CONVERSATION = "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)"
INSERT_MESSAGE = "INSERT INTO messages (id, conversation_id, role, content, created_at) VALUES (?, ?, ?, ?, ?)"
TOUCH_CONVERSATION = "UPDATE conversations SET updated_at = ? WHERE id = ?"
UPDATE_TITLE = "UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?"
# Messages are deleted explicitly, so the result does not depend on the foreign_keys setting.
DELETE_MESSAGES = "DELETE FROM messages WHERE conversation_id = ?"
DELETE_CONVERSATION = "DELETE FROM conversations WHERE id = ?"

SYNCHRONOUS_NAMES = {0: "off", 1: "normal", 2: "full", 3: "extra"}


def conversation_row(c: Conversation) -> tuple:
    return (c.id, c.title, c.created_at, c.updated_at)


def message_row(m: Message) -> tuple:
    return (m.id, m.conversation_id, m.role, m.content, m.created_at)


def assemble(conversation_rows: Sequence[Sequence], message_rows: Sequence[Sequence]) -> list[Conversation]:
    """Build the `load_all` answer from the two ordered result sets (two queries, no N+1)."""
    by_id: dict[str, Conversation] = {}
    ordered = []
    for cid, title, created, updated in conversation_rows:
        conversation = Conversation(cid, title, created, updated, [])
        by_id[cid] = conversation
        ordered.append(conversation)
    for mid, cid, role, content, created in message_rows:
        by_id[cid].messages.append(Message(mid, cid, role, content, created))
    return ordered


class SqlStore(Store):
    """A `Store` over a driver that runs SQLite SQL; subclasses say how to connect, and
    override the statement primitives when their driver is not DB-API shaped."""

    conn: Any = None

    @abstractmethod
    def _connect(self) -> Any:
        """Open and return a connection in autocommit mode (transactions are explicit)."""

    # The three statement primitives, as a DB-API 2 connection (sqlite3, libsql, pyturso, ...)
    # does them; a driver of another shape (APSW) overrides them.
    def _execute(self, sql: str, params: Sequence = ()) -> None:
        self.conn.execute(sql, params)

    def _executemany(self, sql: str, rows: Sequence[Sequence]) -> None:
        self.conn.executemany(sql, rows)

    def _query(self, sql: str, params: Sequence = ()) -> list[Sequence]:
        return self.conn.execute(sql, params).fetchall()

    @abstractmethod
    def _driver_version(self) -> str: ...

    def _begin(self) -> None:
        self._execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        self._execute("COMMIT")

    def _rollback(self) -> None:
        self._execute("ROLLBACK")

    def open(self) -> None:
        self.conn = self._connect()
        self._apply_settings()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _apply_settings(self) -> None:
        s = self.settings
        # busy_timeout first: journal_mode takes a lock, and writers opening one file at once
        # (concurrency runs) would otherwise get SQLITE_BUSY instead of waiting
        self._execute(f"PRAGMA busy_timeout={int(s.busy_timeout_ms)}")
        self._query(f"PRAGMA journal_mode={s.journal_mode}")
        self._execute(f"PRAGMA synchronous={s.synchronous}")
        self._execute(f"PRAGMA foreign_keys={'ON' if s.foreign_keys else 'OFF'}")

    def describe(self) -> dict:
        def one(sql: str):
            return self._query(sql)[0][0]

        return {
            "driver_version": self._driver_version(),
            "sqlite_version": one("SELECT sqlite_version()"),
            "settings": {
                "journal_mode": str(one("PRAGMA journal_mode")).lower(),
                "synchronous": SYNCHRONOUS_NAMES.get(one("PRAGMA synchronous"), "unknown"),
                "foreign_keys": bool(one("PRAGMA foreign_keys")),
                "busy_timeout_ms": int(one("PRAGMA busy_timeout")),
                "transactions": "BEGIN IMMEDIATE per write op",
            },
        }

    def _write(self, statements: Sequence[tuple[str, Sequence]]) -> None:
        """Run the statements as one write transaction."""
        self._begin()
        try:
            for sql, params in statements:
                self._execute(sql, params)
            self._commit()
        except BaseException:
            self._rollback()
            raise

    def setup_schema(self) -> None:
        self._write([(sql, ()) for sql in SCHEMA])

    def preload(self, conversations: list[Conversation]) -> None:
        self._begin()
        try:
            self._executemany(INSERT_CONVERSATION, [conversation_row(c) for c in conversations])
            self._executemany(INSERT_MESSAGE, [message_row(m) for c in conversations for m in c.messages])
            self._commit()
        except BaseException:
            self._rollback()
            raise

    def load_all(self) -> list[Conversation]:
        # One read transaction, so both queries see the same snapshot.
        self._execute("BEGIN")
        try:
            conversations = self._query(SELECT_CONVERSATIONS)
            messages = self._query(SELECT_MESSAGES)
        finally:
            self._commit()
        return assemble(conversations, messages)

    def load_page(self, limit: int) -> list[Conversation]:
        self._execute("BEGIN")
        try:
            conversations = self._query(SELECT_PAGE, (limit,))
            messages = self._query(SELECT_PAGE_MESSAGES, (limit,))
        finally:
            self._commit()
        return assemble(conversations, messages)

    def create_conversation(self, conversation: Conversation) -> None:
        statements = [(INSERT_CONVERSATION, conversation_row(conversation))]
        statements += [(INSERT_MESSAGE, message_row(m)) for m in conversation.messages]
        self._write(statements)

    def add_message(self, message: Message) -> None:
        self._write(
            [
                (INSERT_MESSAGE, message_row(message)),
                (TOUCH_CONVERSATION, (message.created_at, message.conversation_id)),
            ]
        )

    def update_title(self, conversation_id: str, title: str, updated_at: int) -> None:
        self._write([(UPDATE_TITLE, (title, updated_at, conversation_id))])

    def delete_conversation(self, conversation_id: str) -> None:
        self._write([(DELETE_MESSAGES, (conversation_id,)), (DELETE_CONVERSATION, (conversation_id,))])
