"""`turso`: a `libsql://` database with an auth token — real Turso, or emulated.

Real: when `TURSO_DATABASE_URL` and `TURSO_AUTH_TOKEN` are both set, the run uses that
database (it must be empty; the run leaves its rows there). Otherwise the run emulates one,
and the results say so: the real sqld with JWT auth (an Ed25519 key pair made for the run, a
token with `a: rw` and an expiry, the scheme Turso uses) behind a loopback proxy that adds
`--rtt-ms` of round-trip time and counts round trips on the wire (`bench/servers/wan_proxy.py`).

The client is `libsql-client` (Turso's Python SDK for `libsql://` URLs, Hrana over WebSocket)
with one batch per op, like `sqld-ws`: the same server and client, plus the link.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from storebench.backends.base import Capabilities, Settings, StoreError, Target
from storebench.backends.hrana_batch import HranaBatchStore
from storebench.servers import sqld_server
from storebench.servers.managed import data_holders, holding_data
from storebench.servers.wan_proxy import Counters, WanProxy

URL_VARIABLE = "TURSO_DATABASE_URL"
TOKEN_VARIABLE = "TURSO_AUTH_TOKEN"
TOKEN_TTL_S = 24 * 3600
EMULATION = (
    "Turso emulated on loopback: sqld with Ed25519 JWT auth behind a proxy adding the run's "
    "rtt_ms of round-trip time (no TLS, no real WAN)"
)


def real_turso() -> tuple[str, str] | None:
    """(url, token) of a real Turso database from the environment, or None to emulate one."""
    url, token = os.environ.get(URL_VARIABLE), os.environ.get(TOKEN_VARIABLE)
    if url and not token:
        raise StoreError(f"{URL_VARIABLE} is set but {TOKEN_VARIABLE} is not: set {TOKEN_VARIABLE} "
                         f"(or unset {URL_VARIABLE} to use the emulated Turso)")
    if token and not url:
        raise StoreError(f"{TOKEN_VARIABLE} is set but {URL_VARIABLE} is not: set {URL_VARIABLE} "
                         f"(or unset {TOKEN_VARIABLE} to use the emulated Turso)")
    return (url, token) if url and token else None


def new_key_pair(workdir: Path):
    """A fresh Ed25519 key pair: the private key stays in memory, sqld gets the PEM public key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private_key = Ed25519PrivateKey.generate()
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    key_file = workdir / "jwt-public-key.pem"
    key_file.write_bytes(public_pem)
    return private_key, key_file


def mint_token(private_key, access: str = "rw", ttl_s: int = TOKEN_TTL_S) -> str:
    """A Turso-style database token: EdDSA-signed JWT with `a` (access) and `exp` claims."""
    import jwt

    now = int(time.time())
    return jwt.encode({"a": access, "iat": now, "exp": now + ttl_s}, private_key, algorithm="EdDSA")


@contextlib.contextmanager
def emulated_turso(workdir: Path, rtt_ms: float) -> Iterator[Target]:
    """sqld with JWT auth behind the WAN proxy; the target's url is the proxy's (http://)."""
    private_key, key_file = new_key_pair(workdir)
    with sqld_server.running_sqld(workdir, jwt_key_file=key_file) as server:
        with WanProxy(server.port, rtt_ms, workdir) as proxy, \
                holding_data(f"http://127.0.0.1:{proxy.port}", data_holders(server.url)):
            yield Target(url=f"http://127.0.0.1:{proxy.port}", auth_token=mint_token(private_key), extra={
                "emulated": EMULATION, "rtt_ms": rtt_ms, "round_trip_counter": str(proxy.counter_path),
                "server_version": sqld_server.server_version(server.url),
            })


@contextlib.contextmanager
def turso_target(workdir: Path, settings: Settings) -> Iterator[Target]:
    """The real database when configured, else the emulated one."""
    real = real_turso()
    if real:
        yield Target(url=real[0], auth_token=real[1], extra={"emulated": False})
        return
    with emulated_turso(workdir, settings.rtt_ms) as target:
        yield target


def wire_counter(target: Target) -> Counters | None:
    """The proxy's counters when the target is emulated (None for real Turso)."""
    path = target.extra.get("round_trip_counter")
    return Counters(Path(path)) if path else None


def turso_unavailable_reason() -> str | None:
    """None for a real Turso (the run's preflight checks it can be used); a half-configured
    one's reason names the variable to set, as `run` refuses it with (`backends` lists it so)."""
    try:
        if real_turso() is not None:
            return None
    except StoreError as exc:
        return str(exc)
    return sqld_server.unavailable_reason()


class TursoTarget:
    """What every store on the `turso` target shares (mixed in before its Store base): real or
    emulated (declared from the environment before provisioning, then the target decides), the
    proxy's wire counter (opened by the store when it connects), the target's availability and
    its provisioning."""

    # What the results say before provisioning (e.g. when it fails); then the target decides.
    emulated: str | Literal[False] = False if os.environ.get(URL_VARIABLE) else EMULATION

    def __init__(self, target: Target, settings: Settings) -> None:
        super().__init__(target, settings)  # type: ignore[call-arg]
        self.emulated = target.extra.get("emulated", False)
        self.wire: Counters | None = None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return super().unavailable_reason() or turso_unavailable_reason()  # type: ignore[misc]

    @classmethod
    @contextlib.contextmanager
    def provision(cls, workdir: Path, settings: Settings) -> Iterator[Target]:
        with turso_target(workdir, settings) as target:
            yield target


class TursoStore(TursoTarget, HranaBatchStore):
    name = "turso"
    kind = "remote"
    capabilities = Capabilities(paging=True, emulated=True, required_modules=("libsql_client", "jwt"), needs=("turso",))
    description = "a libsql:// database with an auth token via libsql-client, one batch per op (real Turso or emulated)"
    # Every op pays the WAN round trip (20 ms by default), so its spread is small (its writes'
    # p50 intervals are ±1 %); a fifth of the rounds (40 in quick) pins the percentiles and
    # gives two processes of 20 rounds, so each op has the 20 samples from two processes a
    # recommendation needs; all 200 would add half a minute to the default run for nothing.
    rounds_fraction = 0.2
    token_variable = TOKEN_VARIABLE

    @classmethod
    def unavailable_reason(cls) -> str | None:
        try:
            import jwt  # noqa: F401
            import libsql_client  # noqa: F401
        except ImportError as exc:
            return f"a driver is missing ({exc}); pip install libsql-client 'pyjwt[crypto]'"
        return super().unavailable_reason()

    def open(self) -> None:
        self.wire = wire_counter(self.target)
        super().open()

    def _client_url(self) -> str:
        # The emulated server speaks plain ws:// through the proxy; libsql:// means wss://.
        url = self.target.require_url()
        return "ws" + url.removeprefix("http") if url.startswith("http") else url

    def close(self) -> None:
        super().close()
        if self.wire is not None:
            self.wire.close()
            self.wire = None

    def round_trips(self) -> int | None:
        """On the wire (the proxy's count) when emulated; counted by the client for real Turso."""
        if self.wire is not None:
            return self.wire.read()[0]
        return super().round_trips()

    def describe(self) -> dict:
        return {**super().describe(), "server_version": self.target.extra.get("server_version")}
