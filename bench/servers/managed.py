"""`ManagedServer`: one child server process the harness owns, from start to stop.

Every server the harness starts (sqld, the WAN proxy, the API-routes server, Next.js) is one:
started with its output in a log file and `die_with_parent` (the kernel stops it if the
harness is killed), polled until a readiness check passes, its log's last line quoted in the
errors about it, and stopped (terminate, then kill; its whole process group when it has one)
on exit, error and Ctrl-C. `started` adds the retry of a start that fails at once: a port is
picked free, then bound by the server a moment later, and another process can take it between.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from storebench.backends.base import StoreError
from storebench.servers.processes import die_with_parent, stop_process

READY_POLL_S = 0.05
STOP_GRACE_S = 5.0
LOG_TAIL_CHARS = 300

T = TypeVar("T")


class EarlyExit(StoreError):
    """A server stopped before it was ready (a bad flag, a port taken, a broken binary)."""


def last_line(log: Path) -> str:
    """The log's last line: what a server says last is, as a rule, why it stopped."""
    try:
        lines = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return (lines[-1] if lines else "no output")[-LOG_TAIL_CHARS:]


def poll(ready: Callable[[], T | None], timeout_s: float, poll_s: float = READY_POLL_S,
         exited: Callable[[], None] = lambda: None) -> T | None:
    """`ready()`'s first true result within `timeout_s`, else None; `exited` raises when the
    server has gone, so a dead server fails at once instead of at the deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        exited()
        result = ready()
        if result:
            return result
        time.sleep(poll_s)
    return None


@dataclass
class ManagedServer:
    """One server process; a context manager that stops it on exit."""

    name: str  # as the error messages call it: "sqld", "next", "api-routes server"
    argv: Sequence[str]
    log: Path  # its stdout and stderr
    ports: tuple[int, ...] = ()  # the loopback ports it was told to listen on
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    pass_fds: Sequence[int] = ()
    own_group: bool = False  # a session of its own, stopped as a group (a server that forks workers)
    reason: Callable[[Path], str] = last_line  # the line of its log that says why it stopped
    proc: subprocess.Popen | None = field(default=None, init=False)
    started_ns: int = field(default=0, init=False)  # perf_counter_ns just before the spawn

    def start(self) -> ManagedServer:
        with open(self.log, "wb") as log_file:
            self.started_ns = time.perf_counter_ns()
            self.proc = subprocess.Popen(list(self.argv), cwd=self.cwd, env=self.env, pass_fds=tuple(self.pass_fds),
                                         stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                         start_new_session=self.own_group, preexec_fn=die_with_parent)
        return self

    def process(self) -> subprocess.Popen:
        if self.proc is None:
            raise StoreError(f"{self.name} is not started")
        return self.proc

    @property
    def pid(self) -> int:
        return self.process().pid

    @property
    def url(self) -> str:
        """http://127.0.0.1 on its first port."""
        return f"http://127.0.0.1:{self.ports[0]}"

    def log_tail(self) -> str:
        return self.reason(self.log)

    def check_running(self) -> None:
        """Raise EarlyExit, with the log's reason, if the process has exited."""
        proc = self.process()
        if proc.poll() is not None:
            raise EarlyExit(f"{self.name} exited with status {proc.returncode} before answering: {self.log_tail()}")

    def wait_ready(self, ready: Callable[[], T | None], awaited: str, timeout_s: float,
                   poll_s: float = READY_POLL_S) -> T:
        """Poll `ready` until it returns something true (which is returned); `awaited` says
        what was awaited in the timeout's message (e.g. "answer GET /health at http://…")."""
        result = poll(ready, timeout_s, poll_s, self.check_running)
        if not result:
            raise StoreError(f"{self.name} did not {awaited} within {timeout_s:.0f} s: {self.log_tail()}")
        return result

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, STOP_GRACE_S, group=self.own_group)

    def kill(self) -> int:
        """SIGKILL it (its group when it has one), as a crash would; the killed pid."""
        proc = self.process()
        if self.own_group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait(STOP_GRACE_S)
        return proc.pid

    def __enter__(self) -> ManagedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class DataHolder:
    """A server process the harness started that holds a store's data, and how to start it
    again on the same data and address (its readiness check included)."""

    server: ManagedServer
    restart: Callable[[], object]


# Address (host:port) a client reaches -> the processes holding the data served there, while
# their provisioning runs: the process-crash probe (bench/capabilities/probes.py) kills these,
# not only the client. By address, so http:// and ws:// URLs of one server find the same.
_HOLDERS: dict[str, list[DataHolder]] = {}


@contextlib.contextmanager
def holding_data(url: str, holders: Sequence[DataHolder]) -> Iterator[None]:
    """While the block runs, `holders` hold (also) the data a client reaches at `url`."""
    listed = _HOLDERS.setdefault(urlsplit(url).netloc, [])
    listed += holders
    try:
        yield
    finally:
        for holder in holders:
            listed.remove(holder)
        if not listed:
            del _HOLDERS[urlsplit(url).netloc]


def data_holders(url: str | None) -> list[DataHolder]:
    """The started processes holding the data served at `url` (none: not a server we started)."""
    return list(_HOLDERS.get(urlsplit(url).netloc, [])) if url else []


def started(make: Callable[[int], ManagedServer], ready: Callable[[ManagedServer], object], attempts: int = 1,
            retry: Callable[[ManagedServer], bool] = lambda server: True) -> ManagedServer:
    """`make(attempt)` started and `ready(server)` (which calls `wait_ready`) passed. A start
    that exits before it is ready is made anew (new ports) up to `attempts` times while
    `retry(server)` agrees; a server that fails otherwise, or is interrupted, is stopped."""
    for attempt in range(1, attempts + 1):
        server = make(attempt).start()
        try:
            ready(server)
            return server
        except EarlyExit:
            server.stop()
            if attempt == attempts or not retry(server):
                raise
        except BaseException:
            server.stop()
            raise
    raise ValueError(f"attempts must be at least 1, got {attempts}")


# --- readiness checks -------------------------------------------------------------------------

def http_get(url: str, path: str, timeout: float) -> tuple[int, bytes]:
    """GET `path` below `url` (http or https) on a connection of its own: (status, body)."""
    parts = urlsplit(url)
    connection = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = connection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path.rstrip("/") + path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def answers(url: str, path: str) -> Callable[[], bool]:
    """Ready once GET `path` answers 200 (a refused connection or another status: not yet,
    the socket may listen before the app has started)."""
    def check() -> bool:
        try:
            return http_get(url, path, timeout=1.0)[0] == 200
        except (OSError, http.client.HTTPException):
            return False
    return check


def listening(port: int) -> Callable[[], bool]:
    """Ready once 127.0.0.1:`port` accepts a connection (no request is sent)."""
    def check() -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
        return False
    return check
