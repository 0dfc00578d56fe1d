"""Another host for the cross-device probe: a network namespace with its own address.

A second process on 127.0.0.1 is not another device: it shares the host's loopback, files
and sockets. A client in a network namespace has its own network stack: the host's loopback
is unreachable from it (connecting to 127.0.0.1 there fails), and it reaches the store only
over a link with addresses of its own, as another machine on the LAN would.

How (root and iproute2 needed; `unavailable_reason` says why not, and the probe then names
what it showed instead): `ip netns add`, a veth pair with one end moved into the namespace, a
/30 from the link-local range 169.254.0.0/16 (never routed; a free one is picked) with the
host end .1 and the namespace end .2. The store's servers stay bound to 127.0.0.1; for each
loopback URL the client needs, a relay listening on the host end's address only (reachable
from the namespace alone) forwards the bytes to it, as a LAN address in front of the server
would. Traffic never leaves the veth pair and loopback. Everything is removed on exit, also on
error and Ctrl-C (the namespace is deleted with its end of the pair, the host end with it).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from storebench.backends.base import Target
from storebench.errors import StorebenchError
from storebench.servers.wan_proxy import Counters, Link

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")
RESERVED = ipaddress.ip_network("169.254.169.0/24")  # cloud metadata lives here: never used
IP_TIMEOUT_S = 10


class NetnsError(StorebenchError):
    """A network namespace could not be made or used here."""


def _ip(*args: str, namespace: str | None = None) -> str:
    prefix = ["ip", "netns", "exec", namespace] if namespace else []
    done = subprocess.run([*prefix, "ip", *args], capture_output=True, text=True, timeout=IP_TIMEOUT_S)
    if done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def unavailable_reason() -> str | None:
    """Why no namespace can be made here (None: it can)."""
    if shutil.which("ip") is None:
        return "iproute2's `ip` is not installed"
    if os.geteuid() != 0:
        return "creating a network namespace needs root"
    return None


def _free_subnet() -> ipaddress.IPv4Network:
    """A /30 in 169.254.0.0/16 that no address or route on the host overlaps."""
    used = [ipaddress.ip_interface(word).network for line in _ip("-o", "addr").splitlines()
            for word in line.split() if "/" in word and "." in word]
    used += [ipaddress.ip_network(line.split()[0]) for line in _ip("route").splitlines()
             if line and line.split()[0][0].isdigit()]
    seed = uuid.uuid4().int
    for k in range(256):
        candidate = ipaddress.IPv4Network(f"169.254.{(seed + k) % 256}.{4 * ((seed >> 8) % 64)}/30")
        if not candidate.overlaps(RESERVED) and not any(candidate.overlaps(u) for u in used):
            return candidate
    raise NetnsError("no free /30 in 169.254.0.0/16")


@contextlib.contextmanager
def _subnet_lock() -> Iterator[None]:
    """Held from picking a free /30 until its address is on the host: probes run in parallel."""
    with open(Path(tempfile.gettempdir()) / "storebench-netns.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class Relay:
    """Forwards connections to `address:port` (the namespace side of the link) to a loopback
    server; byte for byte, no delay (bench/wan_proxy's Link with no latency)."""

    def __init__(self, listen: str, upstream: tuple[str, int], counters: Counters) -> None:
        self.listener = socket.create_server((listen, 0))
        self.port = self.listener.getsockname()[1]
        self.upstream = upstream
        self.counters = counters
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed: the relay stops
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            for s in (client, server):
                s.settimeout(None)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            Link(client, server, 0.0, self.counters).start()

    def close(self) -> None:
        self.listener.close()


class OtherHost:
    """A network namespace with its own address, linked to this host (a context manager)."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.name = f"storebench-{tag}"
        self.host_if, self.ns_if = f"sbh{tag}", f"sbn{tag}"  # interface names: at most 15 characters
        self.relays: list[Relay] = []
        self.created: list[str] = []
        self._dir = tempfile.TemporaryDirectory(prefix="storebench-netns-")
        self.counters = Counters(Path(self._dir.name) / "relay.counters", create=True)
        self.host_address = self.address = ""

    def __enter__(self) -> OtherHost:
        try:
            with _subnet_lock():  # another probe (a parallel one) must not pick the same /30
                subnet = _free_subnet()
                host, ns = (str(a) for a in list(subnet.hosts())[:2])
                _ip("netns", "add", self.name)
                self.created.append("netns")
                _ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
                self.created.append("link")
                _ip("link", "set", self.ns_if, "netns", self.name)
                _ip("addr", "add", f"{host}/30", "dev", self.host_if)
            _ip("link", "set", self.host_if, "up")
            _ip("addr", "add", f"{ns}/30", "dev", self.ns_if, namespace=self.name)
            _ip("link", "set", self.ns_if, "up", namespace=self.name)
            self.host_address, self.address = host, ns
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def command(self) -> list[str]:
        """The prefix that runs a command on the other host."""
        return ["ip", "netns", "exec", self.name]

    def reach(self, url: str | None) -> str | None:
        """The URL the other host uses for a loopback URL (a relay on the link); others unchanged."""
        if not url or "://" not in url:
            return url
        parts = urlsplit(url)
        if parts.hostname not in LOOPBACK_HOSTS or parts.port is None:
            return url
        relay = Relay(self.host_address, (parts.hostname, parts.port), self.counters)
        self.relays.append(relay)
        netloc = f"{parts.username}@" if parts.username else ""
        return urlunsplit((parts.scheme, f"{netloc}{self.host_address}:{relay.port}", parts.path, parts.query,
                           parts.fragment))

    def target(self, target: Target) -> Target:
        """`target` as the other host reaches it: every loopback URL (the main one and those in
        `extra`) replaced by its relay's."""
        extra = {k: self.reach(v) if isinstance(v, str) else v for k, v in target.extra.items()}
        return Target(path=target.path, url=self.reach(target.url), auth_token=target.auth_token, extra=extra)

    def close(self) -> None:
        for relay in self.relays:
            relay.close()
        self.relays = []
        if "link" in self.created:  # gone with the namespace already, unless moving it failed
            subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, timeout=IP_TIMEOUT_S)
        if "netns" in self.created:
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=IP_TIMEOUT_S)
        self.created = []
        self.counters.close()
        self._dir.cleanup()
