"""A measuring worker: one fresh process holding one backend's store (bench/core/coordinator.py).

Protocol, one JSON object per line (stdin and stdout; never argv, so no secret shows in the
process list, and the store's token never leaves this process):

    coordinator -> worker  {"protocol": 1, "backend", "params", "seed", "settings",
                            "inject": spec or null, "pin_cpu": n or null, "warmup_rounds"}
    worker -> coordinator  {"ready": bool, "entry", "pinned_cpu", "round_s", "ready_s"} | {"error"}
    coordinator -> worker  {"cmd": "rounds", "count": k}
    worker -> coordinator  {"rounds", "ops": {op: {samples_ns, errors, timeouts,
                            error_examples, round_trips}}, "store": {store_* fields}}
    coordinator -> worker  {"cmd": "idle", "count": k}   (k rounds untimed: keeps connections alive)
    worker -> coordinator  {"rounds": 0}
    coordinator -> worker  {"cmd": "finish", "observe": bool}   (check the writes, close the store)
    worker -> coordinator  {"entry"}
    coordinator -> worker  {"cmd": "cold_starts", "count": n}   (optional; then "probes")
    worker -> coordinator  {"samples_ns", "problems", "seconds"}
    coordinator -> worker  {"cmd": "probes"}   (optional)
    worker -> coordinator  {"capabilities", "seconds"}

The worker provisions its own store (a file, or a server it starts), builds the workload from
the seed, and runs "the next k rounds" when asked, so the pipe carries little. It stops
everything it started when stdin closes, on error, on SIGINT and on SIGTERM. Anything a driver
prints goes to stderr: stdout carries only the protocol.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from storebench.errors import StorebenchError
from storebench.model.secrets import scrub

PROTOCOL = 1
STARTED = time.monotonic()  # the worker's start: its "ready_s" is how long provisioning took


class WorkerError(StorebenchError):
    """A failure while measuring, its message already scrubbed of the store's token."""


def _terminate(signum: int, frame) -> None:
    raise SystemExit(128 + signum)  # unwinds the provision context: servers are stopped


def pin(cpu: int | None) -> int | str | None:
    """Pin this process (its calling thread and threads started later) to `cpu`; the CPU, or
    why not. Called after provisioning, so servers started for the store keep every CPU."""
    if cpu is None:
        return None
    try:
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError, ValueError) as exc:
        return f"not pinned: {exc}"
    return cpu


def serve(request: dict, read: IO[str], send) -> None:
    from storebench import backends
    from storebench.backends.base import Settings
    from storebench.core import inject as inject_mod
    from storebench.core.session import Session
    from storebench.core.workload import Params

    name = request["backend"]
    cls = backends.get(name)
    settings = Settings(**request["settings"])
    params = Params(**request["params"])
    injection = inject_mod.parse(request["inject"], [name]) if request.get("inject") else None
    with tempfile.TemporaryDirectory(prefix=f"storebench-{name}-") as tmp:
        with cls.provision(Path(tmp), settings) as target:
            try:
                _measure(cls, target, settings, Session(cls, target, params, request["seed"], settings, injection),
                         request, Path(tmp), read, send)
            except Exception as exc:  # reported by main(), without the store's token
                raise WorkerError(scrub(f"{type(exc).__name__}: {exc}", [target.auth_token])) from None


def _measure(cls, target, settings, session, request: dict, workdir: Path, read: IO[str], send) -> None:
    from storebench.core.runner import cold_starts

    pinned = pin(request.get("pin_cpu"))
    lines = iter(read)
    finish: dict = {}
    try:
        ready = session.start(request["warmup_rounds"])
        send({"ready": ready, "entry": session.entry, "pinned_cpu": pinned, "round_s": session.round_s,
              "ready_s": time.monotonic() - STARTED})
        for line in lines if ready else ():
            message = json.loads(line)
            if message["cmd"] == "finish":
                finish = message
                break
            if message["cmd"] == "idle":
                session.idle(message["count"])
                send({"rounds": 0})
            else:
                send(session.run(message["count"]))
    finally:
        entry = session.finish(observe=finish.get("observe", False))
    if not finish:  # stdin closed: the coordinator is gone or gave up on this worker
        return
    send({"entry": entry})
    for line in lines:
        message, started = json.loads(line), time.monotonic()
        if message["cmd"] == "cold_starts":
            cold, problems = cold_starts(cls.name, target, settings, message["count"])
            send({"samples_ns": cold, "problems": problems, "seconds": time.monotonic() - started})
        else:
            from storebench.capabilities import probes  # only a group's first worker probes

            capabilities = probes.run_all(cls, target, settings, workdir)
            send({"capabilities": capabilities, "seconds": time.monotonic() - started})


def main() -> int:
    signal.signal(signal.SIGTERM, _terminate)
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # drivers' prints (C libraries too) go to stderr

    def send(obj: dict) -> None:
        protocol.write(json.dumps(obj) + "\n")
        protocol.flush()

    request = json.loads(sys.stdin.readline() or "{}")
    if request.get("protocol") != PROTOCOL:
        send({"error": f"worker speaks protocol {PROTOCOL}, asked for {request.get('protocol')!r}"})
        return 2
    try:
        serve(request, sys.stdin, send)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # scrubbed of the store's token where it was known (serve)
        text = str(exc) if isinstance(exc, WorkerError) else f"{type(exc).__name__}: {exc}"
        send({"error": text[:500]})
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
