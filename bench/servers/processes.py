"""Starting and stopping the helper processes the server backends need (sqld, the WAN proxy)."""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import sys
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


def stop_process(proc: subprocess.Popen, grace_s: float = 5.0) -> None:
    """Terminate, then kill if it does not exit within `grace_s`; always reaps it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
