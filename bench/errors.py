"""The one exception hierarchy of storebench.

`StorebenchError` is the base of every error the harness raises on purpose. Its subclass
`UsageError` is bad input from the user (an option, a file, a configuration): the CLI prints
its message as one line and exits with status 2, in one place (`storebench.cli.main`). Every
other `StorebenchError` is a runtime failure (a store, a server, a worker process): a run
records it against the backend, or the CLI reports it with exit status 1.
"""

from __future__ import annotations


class StorebenchError(Exception):
    """An error storebench raises on purpose; its message is one line without secrets."""


class UsageError(StorebenchError):
    """Bad input from the user: printed as one line, exit status 2, before anything runs."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread (`storebench.cli`) so that a run unwinds, stops what
    it started and saves what it measured, as on Ctrl-C."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM once a command has saved what it measured: the message says where (or
    that nothing was), `code` is the exit status (128 + the signal, as a shell reports it)."""

    def __init__(self, message: str, signalled: KeyboardInterrupt) -> None:
        super().__init__(message)
        self.code = exit_status(signalled)


def exit_status(signalled: KeyboardInterrupt) -> int:
    """128 + the signal, as a shell reports it: 143 for SIGTERM, 130 for Ctrl-C."""
    return 143 if isinstance(signalled, Terminated) else 130
