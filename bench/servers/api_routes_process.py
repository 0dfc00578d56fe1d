"""Starting and stopping the `api-routes` server (`api_routes_server.py`) for its backend.

The server gets a loopback socket bound here (port 0: the OS picks a free one) and handed over
as a file descriptor, so no other process can take the port between picking and binding (no
retry needed); it is ready once GET /api/info answers 200, and stopped with SIGTERM (uvicorn
shuts down gracefully), then SIGKILL.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path

from storebench.backends.base import Settings
from storebench.servers.managed import DataHolder, ManagedServer, answers, holding_data

READY_TIMEOUT_S = 30.0  # first start imports uvicorn, starlette and libsql: seconds on a slow disk


def server_settings(settings: Settings) -> str:
    """The settings as JSON for the server's command line, without the one field that can
    hold a password (the ORM backends' database URL, which the server never uses)."""
    return json.dumps(asdict(replace(settings, sqlalchemy_url=None)))


@contextlib.contextmanager
def running_api_routes(db: Path, settings: Settings, log: Path) -> Iterator[ManagedServer]:
    """The server over the libSQL file `db`, answering at its `url`; stopped on exit."""
    listener = socket.create_server(("127.0.0.1", 0))
    with ManagedServer("api-routes server", [], log, (listener.getsockname()[1],)) as server:
        start_on(server, listener, db, settings)

        def restart() -> None:  # after a crash: the same port and file
            start_on(server, socket.create_server(("127.0.0.1", server.ports[0])), db, settings)

        with holding_data(server.url, [DataHolder(server, restart)]):
            yield server


def start_on(server: ManagedServer, listener: socket.socket, db: Path, settings: Settings) -> None:
    """Start the server on `listener` (handed over, then closed here) and wait until it answers."""
    server.argv = [sys.executable, "-m", "storebench.servers.api_routes_server", "--fd", str(listener.fileno()),
                   "--db", str(db), "--settings", server_settings(settings)]
    server.pass_fds = (listener.fileno(),)
    with listener:  # the server holds the socket now
        server.start()
    server.wait_ready(answers(server.url, "/api/info"), f"answer at {server.url}", READY_TIMEOUT_S)
