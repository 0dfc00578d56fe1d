"""A loopback TCP proxy that emulates a wide-area link and counts round trips on the wire.

Why a proxy: `tc netem` is not available here, so round-trip time is added in user space.
It runs in its own process (`python -m storebench.servers.wan_proxy`) so it never competes for the
GIL with the client being timed.

The link model: every chunk of bytes is delivered `rtt/2` after it was read, in order, in
each direction, like a wire with latency and no bandwidth limit. A request/response
exchange therefore pays exactly one RTT, and requests a client sends without waiting
(pipelining) share one. A new TCP connection pays one more RTT (the SYN/SYN-ACK handshake
the kernel completes locally here); TLS is not emulated.

Round trips are counted as *turns*: a client chunk that arrives on a connection after the
server last spoke (or on a fresh connection) starts a new round trip. Handshakes count too.
Counters live in a small file both processes map, so reading them costs no request.

Faults, for tests and for trying a client's behaviour: the same file holds a fault switch
(`Counters.set_fault`) that the proxy reads before delivering each answer (server -> client):
`reset` aborts the connection with a TCP RST, `stall` holds answers while the switch is on,
`trickle` delivers them one byte every TRICKLE_S. Requests still reach the server, so an op
that fails this way may have been applied: the case the data-safety check must allow.
"""

from __future__ import annotations

import argparse
import contextlib
import mmap
import queue
import signal
import socket
import struct
import sys
import threading
import time
from pathlib import Path

from storebench.errors import StorebenchError
from storebench.servers.managed import ManagedServer

COUNTERS = struct.Struct("qq")  # round trips, connections
FAULT = struct.Struct("q")  # after the counters: the fault switch, an index into FAULTS
FAULTS = ("none", "reset", "stall", "trickle")
FILE_SIZE = COUNTERS.size + FAULT.size
TRICKLE_S = 0.05
STALL_POLL_S = 0.01
CHUNK = 65536
START_TIMEOUT_S = 15


class ProxyError(StorebenchError):
    """The WAN proxy was used before it started (its start failures are the `ManagedServer` errors)."""


class Counters:
    """Counters in a mapped file: the proxy writes them, the harness reads them."""

    def __init__(self, path: Path, create: bool = False) -> None:
        if create:
            path.write_bytes(bytes(FILE_SIZE))
        self._file = open(path, "r+b")
        self._map = mmap.mmap(self._file.fileno(), FILE_SIZE)
        self._lock = threading.Lock()

    def read(self) -> tuple[int, int]:
        return COUNTERS.unpack_from(self._map, 0)

    def add(self, round_trips: int = 0, connections: int = 0) -> None:
        with self._lock:
            trips, conns = COUNTERS.unpack_from(self._map, 0)
            COUNTERS.pack_into(self._map, 0, trips + round_trips, conns + connections)

    def fault(self) -> str:
        return FAULTS[FAULT.unpack_from(self._map, COUNTERS.size)[0]]

    def set_fault(self, fault: str) -> None:
        """Switch a fault on for every connection through the proxy ("none" switches it off)."""
        FAULT.pack_into(self._map, COUNTERS.size, FAULTS.index(fault))

    def close(self) -> None:
        self._map.close()
        self._file.close()


class Link:
    """One proxied connection: two directions, each a reader thread and a delayed writer."""

    def __init__(self, client: socket.socket, upstream: socket.socket, one_way_s: float, counters: Counters) -> None:
        self.client, self.upstream = client, upstream
        self.one_way_s = one_way_s
        self.counters = counters
        self.last_speaker = "server"  # so the first client chunk opens a round trip
        self.lock = threading.Lock()
        self.open_directions = 2

    def start(self) -> None:
        # The handshake: the kernel accepted locally; on a real link it costs a round trip.
        self.counters.add(round_trips=1, connections=1)
        handshake_s = 2 * self.one_way_s
        for src, dst, side in ((self.client, self.upstream, "client"), (self.upstream, self.client, "server")):
            pending: queue.Queue = queue.Queue()
            threading.Thread(target=self._read, args=(src, pending, side, handshake_s), daemon=True).start()
            threading.Thread(target=self._write, args=(dst, pending), daemon=True).start()

    def _read(self, src: socket.socket, pending: queue.Queue, side: str, extra_s: float) -> None:
        # Client bytes also wait out the emulated handshake: on a real link the first request
        # leaves only when the SYN-ACK is back (one RTT), then travels one way.
        not_before = time.monotonic() + extra_s if side == "client" else 0.0
        while True:
            try:
                data = src.recv(CHUNK)
            except OSError:
                data = b""
            if data:
                self._note(side)
            due = max(time.monotonic(), not_before) + self.one_way_s
            pending.put((due, data))
            if not data:
                return

    def _note(self, side: str) -> None:
        with self.lock:
            if side == "client" and self.last_speaker == "server":
                self.counters.add(round_trips=1)
            self.last_speaker = side

    def _write(self, dst: socket.socket, pending: queue.Queue) -> None:
        while True:
            due, data = pending.get()
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            fault = self.counters.fault() if data and dst is self.client else "none"
            try:
                if fault == "reset":
                    self._reset()
                    return
                if data:
                    self._deliver(dst, data, fault)
                    continue
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            self._direction_done()
            return

    def _deliver(self, dst: socket.socket, data: bytes, fault: str) -> None:
        if fault == "stall":
            while self.counters.fault() == "stall":  # until the switch goes off
                time.sleep(STALL_POLL_S)
        if fault == "trickle":
            for i in range(len(data)):
                dst.sendall(data[i:i + 1])
                time.sleep(TRICKLE_S)
            return
        dst.sendall(data)

    def _reset(self) -> None:
        """Abort the connection: closing with a zero linger time sends the client a RST. The
        reader thread blocked in recv holds the socket open; SHUT_RD wakes it (sending nothing)."""
        self.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.client.shutdown(socket.SHUT_RD)
        for s in (self.client, self.upstream):
            s.close()

    def _direction_done(self) -> None:
        with self.lock:
            self.open_directions -= 1
            if self.open_directions:
                return
        for s in (self.client, self.upstream):
            s.close()


def serve(listener: socket.socket, upstream: tuple[str, int], one_way_s: float, counters: Counters) -> None:
    while True:
        client, _ = listener.accept()
        try:
            server = socket.create_connection(upstream, timeout=10)
        except OSError:
            client.close()
            continue
        for s in (client, server):
            s.settimeout(None)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        Link(client, server, one_way_s, counters).start()


def main() -> None:
    parser = argparse.ArgumentParser(description="delaying, round-trip counting loopback TCP proxy")
    parser.add_argument("--upstream-port", type=int, required=True)
    parser.add_argument("--rtt-ms", type=float, required=True)
    parser.add_argument("--counters", type=Path, required=True)
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the harness's to handle; it stops us
    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    serve(listener, ("127.0.0.1", args.upstream_port), args.rtt_ms / 2000, Counters(args.counters))


def printed_port(server: ManagedServer) -> int | None:
    """The port the proxy prints first thing in its log once it listens, or None before."""
    with contextlib.suppress(OSError):
        first = server.log.read_text().partition("\n")
        if first[1] and first[0].isdigit():
            return int(first[0])
    return None


class WanProxy:
    """The proxy process, started and stopped by the harness (a context manager)."""

    def __init__(self, upstream_port: int, rtt_ms: float, workdir: Path) -> None:
        self.upstream_port = upstream_port
        self.rtt_ms = rtt_ms
        self.counter_path = workdir / f"wan-proxy-{upstream_port}.counters"
        self.server: ManagedServer | None = None
        self.port: int | None = None
        self.counters: Counters | None = None

    def __enter__(self) -> WanProxy:
        self.counters = Counters(self.counter_path, create=True)
        argv = [sys.executable, "-m", "storebench.servers.wan_proxy", "--upstream-port", str(self.upstream_port),
                "--rtt-ms", str(self.rtt_ms), "--counters", str(self.counter_path)]
        server = self.server = ManagedServer("the WAN proxy", argv, self.counter_path.with_suffix(".log")).start()
        try:
            self.port = server.wait_ready(lambda: printed_port(server), "print its port", START_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _opened_counters(self) -> Counters:
        if self.counters is None:
            raise ProxyError("the WAN proxy is not started")
        return self.counters

    def round_trips(self) -> int:
        return self._opened_counters().read()[0]

    def connections(self) -> int:
        return self._opened_counters().read()[1]

    def set_fault(self, fault: str) -> None:
        self._opened_counters().set_fault(fault)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.counters is not None:
            self.counters.close()
            self.counters = None


if __name__ == "__main__":
    main()
