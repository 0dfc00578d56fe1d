"""`api-routes`: the seed's "Current" design — an HTTP server with five API routes over a local
libSQL file — reached through a keep-alive HTTP client.

`provision` starts the server (`bench/servers/api_routes_server.py`: Starlette served by uvicorn,
over the same embedded `LibsqlStore` the `libsql` row uses) as a separate process on a free
loopback port, waits until it answers, and stops it on exit, also on error and Ctrl-C
(`bench/servers/api_routes_process.py`). The
store here is only the client: one `http.client` connection kept alive, one HTTP request per
op. So the difference to the `libsql` row is what the route layer adds: HTTP, JSON both ways,
the framework, and a second process.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import platform
import select
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from storebench.backends.base import Capabilities, Conversation, Message, OpTimeout, Settings, Store, StoreError, Target
from storebench.servers.api_routes_process import running_api_routes

ROUTES = "/api/conversations"  # the seed's app/api/conversations/{load,create,message,delete,title}
LOG_TAIL_CHARS = 300


# --- JSON form of the data, shared by client and server -------------------------------------

def json_field(obj: Any, key: str, kind: type) -> Any:
    """obj[key], checked to be exactly of `kind` (so a float or bool never passes for an int)."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object holding {key!r}, got {type(obj).__name__}")
    value = obj.get(key)
    if type(value) is not kind:
        raise ValueError(f"{key!r} must be {kind.__name__}, got {type(value).__name__}")
    return value


def encode_message(m: Message) -> dict:
    return {"id": m.id, "conversation_id": m.conversation_id, "role": m.role, "content": m.content,
            "created_at": m.created_at}


def decode_message(d: Any) -> Message:
    role = json_field(d, "role", str)
    if role not in ("user", "assistant"):
        raise ValueError(f"'role' must be 'user' or 'assistant', got {role!r}")
    return Message(json_field(d, "id", str), json_field(d, "conversation_id", str), role,
                   json_field(d, "content", str), json_field(d, "created_at", int))


def encode_conversation(c: Conversation) -> dict:
    return {"id": c.id, "title": c.title, "created_at": c.created_at, "updated_at": c.updated_at,
            "messages": [encode_message(m) for m in c.messages]}


def decode_conversation(d: Any) -> Conversation:
    return Conversation(json_field(d, "id", str), json_field(d, "title", str), json_field(d, "created_at", int),
                        json_field(d, "updated_at", int), [decode_message(m) for m in json_field(d, "messages", list)])


def decode_conversations(d: Any) -> list[Conversation]:
    return [decode_conversation(c) for c in json_field(d, "conversations", list)]


def connection(url: str, timeout: float) -> http.client.HTTPConnection:
    """A (lazily connecting) HTTP/1.1 connection to the server at `url`."""
    parts = urlsplit(url)
    if parts.hostname is None:
        raise StoreError(f"no host in the url {url!r}")
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)


# --- the client store -----------------------------------------------------------------------

class ApiRoutesStore(Store):
    name = "api-routes"
    kind = "api"
    capabilities = Capabilities(required_modules=("uvicorn", "starlette", "libsql"))
    driver = "libsql"  # the engine behind the routes; the HTTP stack is in describe()["stack"]
    description = ("the seed's 5 API routes (uvicorn + Starlette, own process) over an embedded libSQL file; "
                   "keep-alive HTTP client")

    op_timeout = "enforced: http.client socket timeout on every request (connect, send, each read)"
    conn: http.client.HTTPConnection | None = None
    requests = 0

    @classmethod
    def unavailable_reason(cls) -> str | None:
        for module in ("uvicorn", "starlette", "libsql"):
            try:
                __import__(module)
            except ImportError as exc:
                return f"{module} is not installed ({exc}); pip install {module}"
        return None

    @classmethod
    @contextlib.contextmanager
    def provision(cls, workdir: Path, settings: Settings) -> Iterator[Target]:
        db, log = workdir / f"{cls.name}.db", workdir / f"{cls.name}-server.log"
        with running_api_routes(db, settings, log) as server:
            yield Target(path=str(db), url=server.url, extra={"server_pid": server.pid})

    def open(self) -> None:
        # One connection kept alive across requests, as a browser tab keeps one to its app.
        # The standard library's client: about half the per-request client cost of httpx
        # here, so the numbers show the route layer rather than our client library.
        self.conn = connection(self.target.require_url(), self.settings.op_timeout_s)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _connection(self) -> http.client.HTTPConnection:
        """The keep-alive connection `open` made. An idle socket is readable only when the
        server has closed it; then reconnect before sending, rather than fail on (or resend) a
        request."""
        if self.conn is None:
            raise StoreError("api-routes is not open")
        sock = self.conn.sock
        if sock is not None and select.select([sock], [], [], 0)[0]:
            self.conn.close()  # the next request connects anew
        return self.conn

    def _request(self, method: str, path: str, body: dict | None = None) -> Any:
        """One HTTP request; a 4xx/5xx answer raises StoreError carrying the server's message."""
        self.requests += 1
        payload = None if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {} if body is None else {"Content-Type": "application/json"}
        try:
            conn = self._connection()
            conn.request(method, path, payload, headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            if self.conn is not None:
                self.conn.close()
            error = OpTimeout if isinstance(exc, TimeoutError) else StoreError  # socket.timeout is TimeoutError
            raise error(f"api-routes server at {self.target.url} did not answer {method} {path}: {exc}") from exc
        if response.status >= 400:
            try:
                message = json.loads(data)["error"]
            except (ValueError, KeyError, TypeError):
                message = data[:LOG_TAIL_CHARS].decode(errors="replace")
            raise StoreError(f"{method} {path}: HTTP {response.status}: {message}")
        return json.loads(data)

    def round_trips(self) -> int:
        return self.requests

    def describe(self) -> dict:
        info = self._request("GET", "/api/info")
        info["stack"]["client"] = f"http.client (Python {platform.python_version()}), one keep-alive connection"
        # The same engine and SQL called in-process without the routes: the post-run pass
        # (bench.overhead_ratio) sets on each op what the route layer costs over it.
        info["overhead_vs"] = "libsql"
        return info

    def setup_schema(self) -> None:
        self._request("POST", "/api/setup")

    def preload(self, conversations: list[Conversation]) -> None:
        self._request("POST", "/api/preload", {"conversations": [encode_conversation(c) for c in conversations]})

    def load_all(self) -> list[Conversation]:
        return decode_conversations(self._request("GET", f"{ROUTES}/load"))

    def create_conversation(self, conversation: Conversation) -> None:
        self._request("POST", f"{ROUTES}/create", {"conversation": encode_conversation(conversation)})

    def add_message(self, message: Message) -> None:
        self._request("POST", f"{ROUTES}/message", {"message": encode_message(message)})

    def update_title(self, conversation_id: str, title: str, updated_at: int) -> None:
        self._request("POST", f"{ROUTES}/title", {"id": conversation_id, "title": title, "updated_at": updated_at})

    def delete_conversation(self, conversation_id: str) -> None:
        self._request("POST", f"{ROUTES}/delete", {"id": conversation_id})
