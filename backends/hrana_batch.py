"""A `Store` over `libsql-client`'s Hrana WebSocket client, one `batch` request per op.

Shared by `sqld-ws` and `turso`. Each op is one Hrana batch: `libsql-client` wraps the
statements in BEGIN … COMMIT (ROLLBACK on failure) inside that single request, so a write op
is one transaction and costs one network round trip, as a careful client of a remote
database would do it. `load_all`'s two queries share one batch, so they see one snapshot.

Round trips are counted in the client as *turns* of its WebSocket: a message sent after a
message was received (or the first on a socket) starts a round trip. This counts what crosses
the wire, including pipelined messages sent together (which share one round trip).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from storebench.backends.base import Conversation, Message, OpTimeout, Store, StoreError
from storebench.backends.sql import (
    DELETE_CONVERSATION,
    DELETE_MESSAGES,
    INSERT_CONVERSATION,
    INSERT_MESSAGE,
    SCHEMA,
    SELECT_CONVERSATIONS,
    SELECT_MESSAGES,
    SELECT_PAGE,
    SELECT_PAGE_MESSAGES,
    SYNCHRONOUS_NAMES,
    TOUCH_CONVERSATION,
    UPDATE_TITLE,
    assemble,
    conversation_row,
    message_row,
)
from storebench.model.secrets import redact_url, scrub

CLOSE_TIMEOUT_S = 5  # closing a client whose link stalled must not stall the run
PRELOAD_ROWS = 500  # preload batch size: well under sqld's request limits
SERVER_SETTINGS_NOTE = (
    "read back from the server; Hrana rejects PRAGMA journal_mode/synchronous/busy_timeout "
    "('unsupported statement'), so these are sqld's own settings, not ours"
)


class TurnCounter:
    """Counts round trips on a `libsql-client` Hrana connection (see the module docstring)."""

    def __init__(self) -> None:
        self.count = 0
        self._last = "received"
        self._lock = threading.Lock()

    def attach(self, client_sync: Any) -> bool:
        """Hook every Hrana connection the client opens; False if the client is not one
        this counter understands (then round trips are not counted)."""
        client = getattr(client_sync, "_client", None)
        if client is None or not hasattr(client, "_open_conn") or not hasattr(client, "_conn"):
            return False
        open_conn = client._open_conn

        def counted_open_conn():
            conn = open_conn()
            self._hook(conn)
            return conn

        client._open_conn = counted_open_conn
        self._hook(client._conn)
        return True

    def _hook(self, conn: Any) -> None:
        send, receive = conn._send, conn._receive

        def counted_send(msg):
            with self._lock:
                if self._last == "received":
                    self.count += 1
                self._last = "sent"
            return send(msg)

        def counted_receive(text):
            with self._lock:
                self._last = "received"
            return receive(text)

        self._last = "received"  # a new socket: its first message opens a round trip
        conn._send, conn._receive = counted_send, counted_receive


def _ignore_loop_errors(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """The client loop's exception handler: nothing to print (see HranaBatchStore._connect)."""


class HranaBatchStore(Store):
    """Subclasses set name, description, kind and `provision`; the target's url is ws(s)://."""

    driver = "libsql-client"
    op_timeout = ("enforced: asyncio.wait_for around each Hrana batch, inside libsql-client's own event loop; "
                  "after a timeout the client is closed and the next op connects anew")
    token_variable: str | None = None  # the environment variable to name in auth errors
    gevent_reason = ("libsql-client runs its own asyncio event loop in a thread; under gevent's monkey-patching "
                     "(a Locust worker) no user finished connecting and preloading in 5 minutes "
                     "(measured with sqld-ws)")

    client: Any = None
    counter: TurnCounter | None = None

    def open(self) -> None:
        import aiohttp
        import libsql_client

        self._statement = libsql_client.Statement
        self._driver_errors = (libsql_client.LibsqlError, aiohttp.ClientError)
        self.counter = TurnCounter()  # one for the store's life: it also counts reconnections
        self._connect()

    def _connect(self) -> None:
        import libsql_client

        self.client = libsql_client.create_client_sync(self._client_url(), auth_token=self.target.auth_token)
        # libsql-client 0.3.1 fails a callback ("InvalidStateError") when a connection drops
        # mid-request; asyncio would print that traceback. The op reports the failure itself.
        self.client._executor._loop.set_exception_handler(_ignore_loop_errors)
        if self.counter is not None and not self.counter.attach(self.client):
            self.counter = None
        try:
            self._batch([("SELECT 1", ())])  # connects (and authenticates) now, not in the first op
        except BaseException:
            self.close()  # its event-loop thread would otherwise keep the process alive
            raise

    def _client_url(self) -> str:
        return self.target.require_url()

    def close(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            inner = client._client
            try:  # bounded: the client's own close waits for the server's goodbye on a stalled link
                client._executor.close_with_coro(lambda: asyncio.wait_for(inner.close(), CLOSE_TIMEOUT_S))
            except (TimeoutError, OSError, *self._driver_errors):
                pass  # the event-loop thread has ended either way; nothing is left running

    def round_trips(self) -> int | None:
        return self.counter.count if self.counter is not None else None

    def _batch(self, statements: Sequence[tuple[str, Sequence]]) -> list:
        """One Hrana batch: all statements in one transaction, one request."""
        if self.client is None:  # the last op timed out and dropped its client
            self._connect()
        batch = self.client._client.batch([self._statement(sql, list(params)) for sql, params in statements])
        try:
            # The op timeout runs inside the client's event loop (where the request waits), so
            # it fires even though the calling thread is blocked; see `op_timeout`.
            return self.client._executor.submit_coro(asyncio.wait_for(batch, self.settings.op_timeout_s))
        except TimeoutError:
            self.close()  # its connection may still deliver the late answer: never reuse it
            raise OpTimeout(f"no answer within the op timeout ({self.settings.op_timeout_s:g} s, --op-timeout-s); "
                             "the connection was dropped") from None
        except self._driver_errors as exc:
            raise self._error(exc) from None

    def _error(self, exc: Exception) -> Exception:
        text = scrub(str(exc), [self.target.auth_token])
        # sqld answers with AUTH_* codes; a server that refuses the WebSocket upgrade
        # instead raises aiohttp's handshake error with HTTP status 401.
        if str(getattr(exc, "code", "")).startswith("AUTH") or getattr(exc, "status", None) == 401:
            fix = f"set {self.token_variable} to a valid token" if self.token_variable else "check the auth token"
            return StoreError(f"authentication failed at {redact_url(self.target.url)}: {fix} ({text[:160]})")
        return StoreError(text[:300])

    def setup_schema(self) -> None:
        self._batch([(sql, ()) for sql in SCHEMA])

    def preload(self, conversations: list[Conversation]) -> None:
        rows = [(INSERT_CONVERSATION, conversation_row(c)) for c in conversations]
        rows += [(INSERT_MESSAGE, message_row(m)) for c in conversations for m in c.messages]
        for start in range(0, len(rows), PRELOAD_ROWS):
            self._batch(rows[start:start + PRELOAD_ROWS])

    def load_all(self) -> list[Conversation]:
        conversations, messages = self._batch([(SELECT_CONVERSATIONS, ()), (SELECT_MESSAGES, ())])
        return assemble(conversations.rows, messages.rows)

    def load_page(self, limit: int) -> list[Conversation]:
        conversations, messages = self._batch([(SELECT_PAGE, (limit,)), (SELECT_PAGE_MESSAGES, (limit,))])
        return assemble(conversations.rows, messages.rows)

    def create_conversation(self, conversation: Conversation) -> None:
        statements = [(INSERT_CONVERSATION, conversation_row(conversation))]
        statements += [(INSERT_MESSAGE, message_row(m)) for m in conversation.messages]
        self._batch(statements)

    def add_message(self, message: Message) -> None:
        self._batch([(INSERT_MESSAGE, message_row(message)),
                     (TOUCH_CONVERSATION, (message.created_at, message.conversation_id))])

    def update_title(self, conversation_id: str, title: str, updated_at: int) -> None:
        self._batch([(UPDATE_TITLE, (title, updated_at, conversation_id))])

    def delete_conversation(self, conversation_id: str) -> None:
        self._batch([(DELETE_MESSAGES, (conversation_id,)), (DELETE_CONVERSATION, (conversation_id,))])

    def describe(self) -> dict:
        version, journal, synchronous, foreign_keys, busy = (
            r.rows[0][0] for r in self._batch([
                ("SELECT sqlite_version()", ()), ("PRAGMA journal_mode", ()), ("PRAGMA synchronous", ()),
                ("PRAGMA foreign_keys", ()), ("PRAGMA busy_timeout", ()),
            ])
        )
        return {
            "driver_version": metadata.version("libsql-client"),
            "sqlite_version": version,
            "settings": {
                "journal_mode": str(journal).lower(),
                "synchronous": SYNCHRONOUS_NAMES.get(synchronous, "unknown"),
                "foreign_keys": bool(foreign_keys),
                "busy_timeout_ms": int(busy),
                "transactions": "one Hrana batch per op (BEGIN … COMMIT in one request)",
                "note": SERVER_SETTINGS_NOTE,
            },
        }
