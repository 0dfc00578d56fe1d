"""The second clients of the capability probes (bench/capabilities/probes.py): each runs as
`python -m storebench.capabilities.probe_client`, reads its request as one JSON line on stdin
(never in argv, so a token stays out of the process list) and answers on stdout.

A module of its own with few imports: a default run starts about 90 of these processes, and
loading the parent side's modules too (urllib, the network-namespace code) cost each 60 ms.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable

from storebench import backends
from storebench.backends.base import Conversation, Message, Settings, Store, Target
from storebench.core.workload import EPOCH_MS
from storebench.model.secrets import scrub


def _child_store(request: dict) -> Store:
    return backends.get(request["backend"]).opened(Target(**request["target"]), Settings(**request["settings"]))


def conversation(cid: str, at: int) -> Conversation:
    """A probe's conversation (no messages)."""
    return Conversation(cid, f"probe {cid}", at, at, [])


def _connects(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


def child_read(request: dict) -> None:
    """Print whether conversation `find` is in the store (and, with `server`, whether the
    server's own loopback address can be reached from here: from another host it cannot)."""
    store = _child_store(request)
    try:
        ids = {c.id for c in store.load_all()}
    finally:
        store.close()
    answer = {"found": request["find"] in ids, "conversations": len(ids)}
    if request.get("server"):
        answer["server_loopback_reachable"] = _connects(*request["server"])
    print(json.dumps(answer), flush=True)


def child_write(request: dict) -> None:
    """Write conversations one transaction each and print `ok ID` after each one returns
    (the acknowledgement), or `err MESSAGE`. With `wait_go`, print `ready` after opening and
    start only when the parent sends a line, so two writers start together. With `marker` and
    `peer_marker` (two writers), create `marker` after the first write and go on past `count`
    until `peer_marker` exists: each is then still writing when the other starts, however
    the machine schedules them (a fast file takes its `count` writes in milliseconds)."""
    store = _child_store(request)
    if request.get("wait_go"):
        print("ready", flush=True)
        sys.stdin.readline()
    prefix, count = request["prefix"], request["count"]
    marker, peer = request.get("marker"), request.get("peer_marker")
    start = time.time()
    stop = time.monotonic() + request.get("seconds", float("inf"))
    i = 0
    while i < count or (peer and not os.path.exists(peer)):
        if time.monotonic() > stop:
            break
        cid = f"{prefix}{i:06d}"
        at = EPOCH_MS + i * 2
        try:
            store.create_conversation(conversation(cid, at))
            if request.get("with_message"):
                store.add_message(Message(f"{cid}-m", cid, "user", "probe", at + 1))
            print(f"ok {cid}", flush=True)
        except Exception as exc:
            message = scrub(f"{type(exc).__name__}: {exc}", [request["target"].get("auth_token")])
            print("err " + message.replace("\n", " ")[:200], flush=True)
        if marker and i == 0:
            open(marker, "x").close()
        i += 1
    print(f"done {start} {time.time()}", flush=True)
    store.close()


CHILD_ACTIONS: dict[str, Callable[[dict], None]] = {"read": child_read, "write": child_write}


def main() -> int:
    request = json.loads(sys.stdin.readline())
    secrets = [request["target"].get("auth_token")]
    try:
        CHILD_ACTIONS[request["action"]](request)
    except Exception as exc:
        print(scrub(f"{type(exc).__name__}: {exc}", secrets).replace("\n", " ")[:300], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
