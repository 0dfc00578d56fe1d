"""Helpers for the child processes the harness starts: free ports, dying with the parent,
pipes, and stopping them."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, AnyStr

PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (the caller binds it right after)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent() -> None:
    """`preexec_fn` for children: on Linux the kernel sends SIGTERM when the harness dies,
    even by SIGKILL, so no server outlives it."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def pipes(proc: subprocess.Popen[AnyStr]) -> tuple[IO[AnyStr], IO[AnyStr]]:
    """The stdin and stdout of a child started with stdin=PIPE and stdout=PIPE."""
    if proc.stdin is None or proc.stdout is None:
        raise ValueError("the child was started without stdin=PIPE and stdout=PIPE")
    return proc.stdin, proc.stdout


def stop_process(proc: subprocess.Popen, grace_s: float = 5.0, group: bool = False) -> None:
    """Terminate, then kill if it does not exit within `grace_s` or the wait is interrupted
    (a second Ctrl-C); always reaps it. `group`: signal its whole process group (a child
    started with `start_new_session=True`), and kill what is left of the group (workers it
    forked) once the leader has exited."""

    def send(sig: signal.Signals) -> None:
        if group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
        elif proc.poll() is None:
            proc.send_signal(sig)

    try:
        if proc.poll() is None:
            send(signal.SIGTERM)
            proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        pass
    finally:
        if group or proc.poll() is None:
            send(signal.SIGKILL)
        proc.wait()


def processes_naming(text: str) -> list[int]:
    """Live processes whose command line contains `text` (Linux /proc; elsewhere none known)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*") if sys.platform.startswith("linux") else ():
        with contextlib.suppress(OSError):
            if text.encode() in (entry / "cmdline").read_bytes():  # empty for a zombie
                found.append(int(entry.name))
    return found


def stop_processes_naming(text: str, grace_s: float = 10.0) -> None:
    """Wait up to `grace_s` for every process naming `text` in its command line (e.g. a
    folder it writes to) to exit by itself, then kill those left."""
    deadline = time.monotonic() + grace_s
    while (left := processes_naming(text)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
