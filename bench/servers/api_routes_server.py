"""The `api-routes` server: the seed's five API routes as a Starlette app served by uvicorn.

Behind the routes is the same embedded `LibsqlStore` the `libsql` row times, with the run's
Settings, so comparing the two rows isolates the route layer. `ApiRoutesStore.provision`
starts this as `python -m storebench.servers.api_routes_server --fd N --db PATH --settings JSON`, on a
listening socket it bound itself, and stops it with SIGTERM.

Handlers call the store directly on the event loop: one connection, no thread hop. That is
right for one client at a time (the benchmark's case) and serializes concurrent requests,
as one Node.js process with a synchronous SQLite driver would.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from storebench.backends.api_routes import (
    ROUTES,
    decode_conversation,
    decode_conversations,
    decode_message,
    encode_conversation,
    json_field,
)
from storebench.backends.base import Settings, Store, Target
from storebench.backends.libsql_file import LibsqlStore

KEEP_ALIVE_S = 3600  # the client's one connection must not be closed between ops of a run
GRACEFUL_SHUTDOWN_S = 2
PR_SET_PDEATHSIG = 1

Parse = Callable[[Any], tuple]  # request body (decoded JSON) -> arguments of the Store method


def _no_args(body: Any) -> tuple:
    return ()


# path -> (HTTP method, Store method, how to read its arguments from the body)
ENDPOINTS: dict[str, tuple[str, str, Parse]] = {
    f"{ROUTES}/load": ("GET", "load_all", _no_args),
    f"{ROUTES}/create": ("POST", "create_conversation",
                         lambda b: (decode_conversation(json_field(b, "conversation", dict)),)),
    f"{ROUTES}/message": ("POST", "add_message", lambda b: (decode_message(json_field(b, "message", dict)),)),
    f"{ROUTES}/title": ("POST", "update_title",
                        lambda b: (json_field(b, "id", str), json_field(b, "title", str),
                                   json_field(b, "updated_at", int))),
    f"{ROUTES}/delete": ("POST", "delete_conversation", lambda b: (json_field(b, "id", str),)),
    # Harness-only routes, never timed: schema and bulk preload.
    "/api/setup": ("POST", "setup_schema", _no_args),
    "/api/preload": ("POST", "preload", lambda b: (decode_conversations(b),)),
}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _endpoint(store: Store, method_name: str, parse: Parse) -> Callable:
    """A handler: a malformed body is a 400, a store failure (e.g. a duplicate id) a 500 with
    the store's message; load_all answers {"conversations": [...]}, writes answer {"ok": true}."""
    call = getattr(store, method_name)

    async def handler(request: Request) -> Response:
        try:
            raw = await request.body()
            args = parse(json.loads(raw) if raw else {})
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            return _error(400, f"bad request body: {exc}")
        try:
            result = call(*args)
        except Exception as exc:
            return _error(500, f"{type(exc).__name__}: {exc}")
        if method_name == "load_all":
            return JSONResponse({"conversations": [encode_conversation(c) for c in result]})
        return JSONResponse({"ok": True})

    return handler


def _info(store: Store) -> Callable:
    async def info(request: Request) -> Response:
        described = store.describe()  # read back from the server's own libSQL connection
        described["stack"] = {"server": f"uvicorn {metadata.version('uvicorn')} (h11, asyncio)",
                              "framework": f"starlette {metadata.version('starlette')}",
                              "process": "separate from the harness"}
        return JSONResponse(described)

    return info


def build_app(store: Store) -> Starlette:
    """The app over an open store."""
    routes = [Route(path, _endpoint(store, name, parse), methods=[verb])
              for path, (verb, name, parse) in ENDPOINTS.items()]
    routes.append(Route("/api/info", _info(store), methods=["GET"]))
    return Starlette(routes=routes)


def _exit_with_parent() -> None:
    """Have the kernel send SIGTERM when the harness dies, even by SIGKILL, so the server is
    never left behind (Linux; elsewhere the harness's own stop is the only one). The kernel
    ties this to the thread that started us: provision runs on the harness's main thread."""
    if sys.platform != "linux":
        return
    parent = os.getppid()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the call above took effect
        sys.exit(1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="api_routes_server", description=__doc__.splitlines()[0])
    parser.add_argument("--fd", type=int, required=True, help="a listening TCP socket inherited from the parent")
    parser.add_argument("--db", required=True, help="the libSQL database file")
    parser.add_argument("--settings", required=True, help="the run's Settings as JSON")
    args = parser.parse_args(argv)
    _exit_with_parent()
    store = LibsqlStore(Target(path=args.db), Settings(**json.loads(args.settings)))
    try:  # opened before serving, so a bad database is one clear line, not a lifespan traceback
        store.open()
    except Exception as exc:
        print(f"api-routes server: cannot open the database {args.db}: {exc}", file=sys.stderr)
        return 2
    config = uvicorn.Config(build_app(store), http="h11", loop="asyncio", lifespan="off", log_level="warning",
                            access_log=False, timeout_keep_alive=KEEP_ALIVE_S,
                            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[socket.socket(fileno=args.fd)])
    finally:
        store.close()
    return 0 if server.started else 3  # 3: start-up failed (uvicorn's own code for it)


if __name__ == "__main__":
    raise SystemExit(main())
