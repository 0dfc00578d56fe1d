"""`sqlalchemy-core`: SQLAlchemy Core — table metadata and the SQL expression language, no
identity map (the seed's Drizzle row: a thin typed query layer over the same engine).

One pooled engine per store; each op is one `engine.begin()` block (a pooled connection and
one transaction), as a web handler written with Core would do it.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)

from storebench.backends import sqlalchemy_support as support
from storebench.backends.base import Capabilities, Conversation, Message
from storebench.backends.sql import assemble

metadata = MetaData()

conversations = Table(
    "conversations", metadata,
    Column("id", Text, primary_key=True),
    Column("title", Text, nullable=False),
    Column("created_at", Integer, nullable=False),
    Column("updated_at", Integer, nullable=False),
)

messages = Table(
    "messages", metadata,
    Column("id", Text, primary_key=True),
    Column("conversation_id", Text, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("role", Text, CheckConstraint("role IN ('user', 'assistant')"), nullable=False),
    Column("content", Text, nullable=False),
    Column("created_at", Integer, nullable=False),
    Index("messages_by_conversation", "conversation_id", "created_at", "id"),
)


def conversation_values(c: Conversation) -> dict:
    return {"id": c.id, "title": c.title, "created_at": c.created_at, "updated_at": c.updated_at}


def message_values(m: Message) -> dict:
    return {"id": m.id, "conversation_id": m.conversation_id, "role": m.role, "content": m.content,
            "created_at": m.created_at}


class SqlalchemyCoreStore(support.SqlalchemyStore):
    name = "sqlalchemy-core"
    kind = "orm"
    capabilities = Capabilities(paging=True, required_modules=("sqlalchemy", "sqlalchemy_libsql"))
    driver = "sqlalchemy"
    description = "SQLAlchemy Core (expression language, no ORM) on an embedded libSQL file, or --sqlalchemy-url"

    metadata = metadata

    def preload(self, items: list[Conversation]) -> None:
        with self.writer.begin() as conn:
            conn.execute(insert(conversations), [conversation_values(c) for c in items])
            rows = [message_values(m) for c in items for m in c.messages]
            if rows:
                conn.execute(insert(messages), rows)

    def load_all(self) -> list[Conversation]:
        return self._load(None)

    def load_page(self, limit: int) -> list[Conversation]:
        return self._load(limit)

    def _load(self, limit: int | None) -> list[Conversation]:
        # One read transaction, so both queries see the same snapshot; two queries, no N+1.
        recent = (select(conversations.c.id, conversations.c.title, conversations.c.created_at,
                         conversations.c.updated_at)
                  .order_by(conversations.c.updated_at.desc(), conversations.c.id).limit(limit))
        wanted = select(messages.c.id, messages.c.conversation_id, messages.c.role, messages.c.content,
                        messages.c.created_at)
        if limit is not None:
            wanted = wanted.where(messages.c.conversation_id.in_(recent.with_only_columns(conversations.c.id)))
        with self.reader.begin() as conn:
            conversation_rows = conn.execute(recent).all()
            message_rows = conn.execute(
                wanted.order_by(messages.c.conversation_id, messages.c.created_at, messages.c.id)).all()
        return assemble(conversation_rows, message_rows)

    def create_conversation(self, conversation: Conversation) -> None:
        with self.writer.begin() as conn:
            conn.execute(insert(conversations), conversation_values(conversation))
            if conversation.messages:
                conn.execute(insert(messages), [message_values(m) for m in conversation.messages])

    def add_message(self, message: Message) -> None:
        with self.writer.begin() as conn:
            conn.execute(insert(messages), message_values(message))
            conn.execute(update(conversations).where(conversations.c.id == message.conversation_id)
                         .values(updated_at=message.created_at))

    def update_title(self, conversation_id: str, title: str, updated_at: int) -> None:
        with self.writer.begin() as conn:
            conn.execute(update(conversations).where(conversations.c.id == conversation_id)
                         .values(title=title, updated_at=updated_at))

    def delete_conversation(self, conversation_id: str) -> None:
        # Messages are deleted explicitly, as in backends/sql.py: independent of foreign_keys.
        with self.writer.begin() as conn:
            conn.execute(delete(messages).where(messages.c.conversation_id == conversation_id))
            conn.execute(delete(conversations).where(conversations.c.id == conversation_id))
