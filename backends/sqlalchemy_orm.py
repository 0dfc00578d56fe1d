"""`sqlalchemy-orm`: the SQLAlchemy ORM — declarative models, a Session unit of work, a
conversation -> messages relationship with cascade delete (the seed's Prisma row).

Session handling is the usual web pattern: one Session and one transaction per op (per API
request), never one per statement. `load_all` loads the messages with `selectinload`: one
query for the conversations and one `IN` query per 500 of them for their messages (SQLAlchemy's
batch size), never one per conversation. Writes go through the identity map: fetch the
conversation by primary key, change attributes, let the flush write them.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload, sessionmaker

from storebench.backends import sqlalchemy_support as support
from storebench.backends.base import Capabilities, Conversation, Message, Role, StoreError


class Base(DeclarativeBase):
    pass


class ConversationRow(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[int] = mapped_column(Integer)
    # passive_deletes: the database's ON DELETE CASCADE removes the messages, so deleting a
    # conversation does not first load its messages (SQLAlchemy's advice when the schema has
    # the cascade; it needs foreign_keys=ON, which open() checks).
    messages: Mapped[list[MessageRow]] = relationship(
        back_populates="conversation", cascade="all, delete-orphan", passive_deletes=True,
        order_by="(MessageRow.created_at, MessageRow.id)",
    )


class MessageRow(Base):
    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint("role IN ('user', 'assistant')"),
        Index("messages_by_conversation", "conversation_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(Text, ForeignKey("conversations.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(Integer)
    conversation: Mapped[ConversationRow] = relationship(back_populates="messages")


def message_row(m: Message) -> MessageRow:
    return MessageRow(id=m.id, conversation_id=m.conversation_id, role=m.role, content=m.content,
                      created_at=m.created_at)


def conversation_row(c: Conversation) -> ConversationRow:
    return ConversationRow(id=c.id, title=c.title, created_at=c.created_at, updated_at=c.updated_at,
                           messages=[message_row(m) for m in c.messages])


def to_conversation(row: ConversationRow) -> Conversation:
    # The role column's CHECK constraint admits only the two roles.
    return Conversation(row.id, row.title, row.created_at, row.updated_at,
                        [Message(m.id, m.conversation_id, cast(Role, m.role), m.content, m.created_at)
                         for m in row.messages])


class SqlalchemyOrmStore(support.SqlalchemyStore):
    name = "sqlalchemy-orm"
    kind = "orm"
    capabilities = Capabilities(paging=True, required_modules=("sqlalchemy", "sqlalchemy_libsql"))
    driver = "sqlalchemy"
    description = ("SQLAlchemy ORM (declarative models, Session unit of work) on an embedded libSQL file, "
                   "or --sqlalchemy-url")

    metadata = Base.metadata

    def open(self) -> None:
        if not self.settings.foreign_keys:
            raise StoreError("sqlalchemy-orm deletes messages through ON DELETE CASCADE and needs foreign_keys=ON")
        super().open()
        self.reads = sessionmaker(self.engine)
        self.writes = sessionmaker(self.write_engine)

    def preload(self, conversations: list[Conversation]) -> None:
        with self.writes.begin() as session:
            session.add_all([conversation_row(c) for c in conversations])

    def load_all(self) -> list[Conversation]:
        return self.load_page(None)

    def load_page(self, limit: int | None) -> list[Conversation]:
        with self.reads.begin() as session:
            rows = session.scalars(
                select(ConversationRow)
                .options(selectinload(ConversationRow.messages))
                .order_by(ConversationRow.updated_at.desc(), ConversationRow.id)
                .limit(limit)
            ).all()
            return [to_conversation(row) for row in rows]

    def create_conversation(self, conversation: Conversation) -> None:
        with self.writes.begin() as session:
            session.add(conversation_row(conversation))

    def _get(self, session, conversation_id: str) -> ConversationRow:
        conversation = session.get(ConversationRow, conversation_id)
        if conversation is None:
            raise StoreError(f"no conversation {conversation_id!r}")
        return conversation

    def add_message(self, message: Message) -> None:
        with self.writes.begin() as session:
            self._get(session, message.conversation_id).updated_at = message.created_at
            # Added by foreign key, not appended to .messages: appending would load the collection.
            session.add(message_row(message))

    def update_title(self, conversation_id: str, title: str, updated_at: int) -> None:
        with self.writes.begin() as session:
            conversation = self._get(session, conversation_id)
            conversation.title = title
            conversation.updated_at = updated_at

    def delete_conversation(self, conversation_id: str) -> None:
        with self.writes.begin() as session:
            conversation = session.get(ConversationRow, conversation_id)
            if conversation is not None:  # deleting a missing conversation is a no-op, as in SQL
                session.delete(conversation)
