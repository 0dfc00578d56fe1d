"""The Next.js app in `web/` served for the browser backends: `next start`, or `next dev`.

What must be on the machine for it (Node 20 or newer, `web/` installed and built), its
environment (the database file and the run's settings), and the server as a `ManagedServer`:
a free 127.0.0.1 port, its own process group (`next dev` forks a worker), stopped as a group;
ready when a path answers 200 or, for `next dev`, when it listens (a request would make it
compile something). A start that fails at once because its port was taken is tried again.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from storebench.backends.base import Settings, StoreError
from storebench.servers.managed import LOG_TAIL_CHARS, ManagedServer, http_get, listening, started
from storebench.servers.processes import free_port

WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"
NEXT_BIN = WEB_DIR / "node_modules" / "next" / "dist" / "bin" / "next"
MIN_NODE = 20
READY_TIMEOUT_S = 120  # `next dev` compiles the page on first visit: seconds on a loaded machine
START_ATTEMPTS = 3
POLL_S = 0.002  # the cold-start poll: its granularity is in the figure, so keep it fine
BUILD_HINT = "run `make web` (npm ci and next build in web/)"


def node_binary() -> str | None:
    return shutil.which("node")


def node_major() -> int | None:
    node = node_binary()
    if node is None:
        return None
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    try:
        return int(out.strip().lstrip("v").split(".")[0])
    except ValueError:
        return None



def app_unavailable_reason() -> str | None:
    """Why the Next.js app cannot be served here, or None."""
    major = node_major()
    if major is None:
        return f"no Node.js on the PATH (Node {MIN_NODE} or newer serves the Next.js app in web/)"
    if major < MIN_NODE:
        return f"Node {major} is too old for Next.js 16: install Node {MIN_NODE} or newer"
    if not NEXT_BIN.is_file():
        return f"web/ has no node_modules: {BUILD_HINT}"
    if not (WEB_DIR / ".next" / "BUILD_ID").is_file():
        return f"web/ is not built: {BUILD_HINT}"
    return None



def server_env(db: Path, settings: Settings) -> dict[str, str]:
    """The server's environment: telemetry off, the database file and the fair settings."""
    inherited = {k: v for k, v in os.environ.items() if k != "NODE_ENV"}  # next sets it per mode itself
    return {
        **inherited, "NEXT_TELEMETRY_DISABLED": "1",
        "STOREBENCH_DB": str(db), "STOREBENCH_JOURNAL_MODE": settings.journal_mode,
        "STOREBENCH_SYNCHRONOUS": settings.synchronous,
        "STOREBENCH_FOREIGN_KEYS": "1" if settings.foreign_keys else "0",
        "STOREBENCH_BUSY_TIMEOUT_MS": str(int(settings.busy_timeout_ms)),
    }


def next_server(mode: str, db: Path, settings: Settings, log: Path) -> ManagedServer:
    """`next start` or `next dev` over `db` on a free 127.0.0.1 port (not started yet)."""
    port = free_port()
    argv = [node_binary() or "node", str(NEXT_BIN), mode, "--hostname", "127.0.0.1", "--port", str(port)]
    return ManagedServer("next", argv, log, (port,), env=server_env(db, settings), cwd=WEB_DIR, own_group=True)


def first_answer(server: ManagedServer, path: str, timeout_s: float = READY_TIMEOUT_S) -> tuple[int, bytes]:
    """Poll GET `path` until it answers 200: (perf_counter_ns at the answer, its body)."""
    def answer() -> tuple[int, bytes] | None:
        try:
            status, body = http_get(server.url, path, timeout_s)
        except (OSError, http.client.HTTPException):
            return None  # not listening yet
        answered = time.perf_counter_ns()
        if status != 200:
            raise StoreError(f"GET {path} answered HTTP {status}: {body[:LOG_TAIL_CHARS].decode(errors='replace')}")
        return answered, body
    return server.wait_ready(answer, f"answer GET {path} at {server.url}", timeout_s, POLL_S)


def wait_listening(server: ManagedServer, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Wait until the server accepts connections, without sending a request (which would make
    `next dev` compile something)."""
    server.wait_ready(listening(server.ports[0]), f"listen at {server.url}", timeout_s, POLL_S)


def port_taken(server: ManagedServer) -> bool:
    return "EADDRINUSE" in server.log.read_text(errors="replace")


@contextlib.contextmanager
def running_next(mode: str, db: Path, settings: Settings, workdir: Path, ready_path: str | None = "/api/info"
                 ) -> Iterator[ManagedServer]:
    """A Next.js server over `db`, answering `ready_path` (or only listening when None), stopped
    on exit. A start that fails at once because its port was taken in between is retried."""
    def make(attempt: int) -> ManagedServer:
        return next_server(mode, db, settings, workdir / f"next-{mode}-{attempt}.log")

    def ready(server: ManagedServer) -> None:
        if ready_path is None:
            wait_listening(server)
        else:
            first_answer(server, ready_path)

    with started(make, ready, START_ATTEMPTS, retry=port_taken) as server:
        yield server
