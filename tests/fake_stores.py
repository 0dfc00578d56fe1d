"""Fake stores for tests of the harness's own logic (named fake-*; never a measured backend).
Real sqlite3 underneath; each changes one thing the coordinator must cope with."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from storebench.backends.base import Settings, Target
from storebench.backends.sqlite3_file import Sqlite3Store

SLOW_START_S = 5.0


class ExpiringStore(Sqlite3Store):
    """Declares that its connections expire after 2 s idle (as sqld's Hrana streams do after 10)."""

    name = "fake-expiring"
    description = "fake: sqlite3 declaring connections that expire when idle"
    idle_timeout_s = 2.0


class SlowStartStore(Sqlite3Store):
    """Takes SLOW_START_S to provision (as a server that starts slowly would)."""

    name = "fake-slow-start"
    description = "fake: sqlite3 that takes seconds to provision"

    @classmethod
    @contextlib.contextmanager
    def provision(cls, workdir: Path, settings: Settings) -> Iterator[Target]:
        time.sleep(SLOW_START_S)
        with super().provision(workdir, settings) as target:
            yield target
