"""No secret leaks from a real authenticated run: `storebench run` against the emulated Turso
(real sqld with Ed25519 JWT auth behind the proxy; the harness makes the key and token) and its
embedded replica, then every file the run left and both output streams are searched."""

from __future__ import annotations

import base64
import json
import os
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from storebench.backends.turso import mint_token, new_key_pair

pytestmark = pytest.mark.server  # starts real servers (sqld, the API server, the WAN proxy)

# Any JWT: base64url header and claims (both JSON objects, so "eyJ"), then a signature.
JWT = re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{20,}")
KEY_MARKERS = (b"PRIVATE KEY", b"BEGIN PUBLIC KEY")  # no key material, private or public, is kept
DATA_URI = re.compile(rb"data:[a-z/+]+;base64,([A-Za-z0-9+/=]+)")


def png_text(data: bytes) -> bytes:
    """The text chunks of a PNG (tEXt, zTXt, iTXt), decompressed: where a plot keeps metadata."""
    out, pos = [], 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"tEXt":
            out.append(body)
        elif kind == b"zTXt":
            out.append(zlib.decompress(body.split(b"\0", 1)[1][1:]))
        elif kind == b"iTXt":
            key, rest = body.split(b"\0", 1)
            compressed, text = rest[0], rest[2:].split(b"\0", 2)[2]
            out.append(key + b" " + (zlib.decompress(text) if compressed else text))
        pos += 12 + length
    return b"\n".join(out)


def searchable(path: Path) -> bytes:
    """The file's bytes plus whatever text hides inside it (PNG chunks, data: URIs in HTML)."""
    data = path.read_bytes()
    parts = [data]
    if data.startswith(b"\x89PNG"):
        parts.append(png_text(data))
    for match in DATA_URI.finditer(data):
        inner = base64.b64decode(match.group(1))
        parts += [inner, png_text(inner) if inner.startswith(b"\x89PNG") else b""]
    return b"\n".join(parts)


def leaks(blob: bytes) -> list[str]:
    found = [m.group(0)[:20].decode() + "…" for m in JWT.finditer(blob)]
    return found + [marker.decode() for marker in KEY_MARKERS if marker in blob]


def test_the_search_would_find_a_token_and_a_key(tmp_path):
    private_key, key_file = new_key_pair(tmp_path)
    assert leaks(mint_token(private_key).encode())
    assert leaks(key_file.read_bytes())


def test_an_authenticated_run_leaves_no_token_or_key_anywhere(tmp_path):
    harness_tmp = tmp_path / "harness-tmp"
    harness_tmp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TURSO_")}  # the emulated Turso
    proc = subprocess.run(
        [sys.executable, "-m", "storebench", "run", "--backends", "turso,turso-replica", "--profile", "smoke",
         "--conversations", "5", "--messages", "2", "--iterations", "5", "--warmup", "1", "--cold-starts", "1",
         "--rtt-ms", "2", "--op-timeout-s", "30", "--no-progress", "--out", "out.json", "--reports", "reports"],
        cwd=tmp_path, env={**env, "TMPDIR": str(harness_tmp)}, capture_output=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    names = {p.relative_to(tmp_path).as_posix() for p in files}
    assert {"out.json", "reports/index.html", "reports/latency-cdf.png"} <= names
    assert not list(harness_tmp.iterdir()), "the run left temporary files (server data, logs, keys)"
    for path in files:
        assert not leaks(searchable(path)), f"{path.relative_to(tmp_path)}: {leaks(searchable(path))}"
    assert not leaks(proc.stdout + proc.stderr)
    data = json.loads((tmp_path / "out.json").read_text())
    turso, replica = data["backends"]
    assert turso["emulated"].startswith("Turso emulated on loopback")  # it really ran the authenticated backend
    assert turso["target"]["extra"]["emulated"] and replica["status"] == turso["status"] == "ok"
    # The op timeout is recorded, with how each driver enforces it or that it cannot.
    assert data["run"]["params"]["settings"]["op_timeout_s"] == 30
    assert turso["op_timeout"].startswith("enforced: asyncio.wait_for")
    assert replica["op_timeout"].startswith("not supported by driver libsql-experimental")
