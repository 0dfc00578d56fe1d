"""`nextjs-routes`: the design document's current architecture, for real. A Next.js app (`web/`)
with the five route handlers `app/api/conversations/{load,create,message,title,delete}` over
`@libsql/client` on a local file, built with `next build` and served by `next start`; the ops
are `fetch` calls from its page in headless Chromium, timed in the page (backends/browser.py).

Cold start is the server's: from spawning a fresh `next start` on the same file to its first
answered `load`. The document's "initial load with compilation" is `next dev`'s: after the
run, fresh `next dev` servers are started and each op's first request (which compiles its
route) and a few later ones are timed in a page; recorded under `observations.next_dev`.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from storebench.backends.base import Capabilities, Conversation, Message, Settings, StoreError, Target
from storebench.backends.browser import BrowserStore, encode_args, ms_summary, open_page, read_package_version
from storebench.backends.sqlite3_file import Sqlite3Store
from storebench.core.workload import OPS
from storebench.servers.managed import http_get
from storebench.servers.next_server import first_answer, next_server, running_next

DEV_SERVERS = 2  # fresh `next dev` processes after the run
DEV_REPEATS = 5  # calls of each op after its first, on each dev server


class NextjsRoutesStore(BrowserStore):
    name = "nextjs-routes"
    kind = "api"
    capabilities = Capabilities(second_device=True, required_modules=("playwright",), needs=("nextjs", "chromium"))
    description = ("the design's 5 Next.js route handlers (next start) over @libsql/client on a file, "
                   "called with fetch from a page in headless Chromium, timed in the page")

    @classmethod
    @contextlib.contextmanager
    def provision(cls, workdir: Path, settings: Settings) -> Iterator[Target]:
        db = workdir / f"{cls.name}.db"
        with running_next("start", db, settings, workdir) as server:
            yield Target(path=str(db), url=server.url, extra={"page_url": server.url, "server_pid": server.pid})

    def _configure_page(self) -> None:
        self._evaluate("ms => window.storebench.useRoutes(ms)", self.settings.op_timeout_s * 1000)

    def _info(self) -> dict:
        status, body = http_get(self.target.require_url(), "/api/info", self.settings.op_timeout_s)
        info = json.loads(body)
        if status != 200:
            raise StoreError(f"/api/info answered HTTP {status}: {info.get('error')}")
        return info

    def setup_schema(self) -> None:
        self._info()  # the app opens the file with the settings and creates the schema

    def preload(self, conversations: list[Conversation]) -> None:
        # Bulk, straight into the same file with Python's sqlite3 (set-up, not timed); WAL lets
        # the server's open connection see it at its next read.
        with Sqlite3Store(Target(path=self.target.path), self.settings) as store:
            store.preload(conversations)

    def describe(self) -> dict:
        info = self._info()
        stack = {**info.pop("stack"), "browser": self.page_timing.get("user_agent"),
                 "timing": "performance.now() around each fetch + response.json() in the page"}
        return {**info, "settings": {**info["settings"], "transactions": "one batch per op: BEGIN IMMEDIATE … COMMIT"},
                "stack": stack}

    @classmethod
    def cold_start(cls, target: Target, settings: Settings, started_ns: int) -> tuple[int, int]:
        """A fresh `next start` on the same file: from its spawn to its first answered load."""
        with tempfile.TemporaryDirectory(prefix="storebench-next-cold-") as tmp:
            with next_server("start", Path(target.require_path()), settings, Path(tmp) / "next.log").start() as server:
                answered, body = first_answer(server, "/api/conversations/load")
        return answered - server.started_ns, len(json.loads(body)["conversations"])

    def observations(self) -> dict:
        return {**super().observations(),
                "next_dev": next_dev_figures(Path(self.target.require_path()), self.settings, self.context,
                                                                  DEV_SERVERS, DEV_REPEATS)}


def dev_steps(repeats: int) -> list[tuple[str, tuple]]:
    """Each op once (the first call compiles its route), then `repeats` more rounds; every
    conversation made here is deleted again, so the store ends as it began."""
    now = int(time.time() * 1000)
    steps = []
    for k in range(repeats + 1):
        cid = f"next-dev-{uuid.uuid4().hex[:12]}"
        at = now + k
        steps += [("load_all", ()), ("create_conversation", (Conversation(cid, "dev", at, at, []),)),
                  ("add_message", (Message(f"{cid}-m", cid, "user", "hello", at + 1),)),
                  ("update_title", (cid, "dev title", at + 2)), ("delete_conversation", (cid,))]
    return steps


def dev_server_run(db: Path, settings: Settings, browser: Any, steps: list[tuple[str, tuple]],
                   ready_ms: list[float]) -> list:
    """One fresh `next dev`: the page's results for `steps`; appends its time to listen."""
    with tempfile.TemporaryDirectory(prefix="storebench-next-dev-") as tmp:
        with running_next("dev", db, settings, Path(tmp), ready_path=None) as server:
            ready_ms.append((time.perf_counter_ns() - server.started_ns) / 1e6)
            try:
                page = open_page(browser, server.url)  # the page's own compilation is untimed
            except Exception as exc:
                raise StoreError(f"{exc}; next dev's log ends: {server.log_tail()}") from None
            try:
                page.evaluate("ms => window.storebench.useRoutes(ms)", settings.op_timeout_s * 1000)
                return page.evaluate("steps => window.storebench.run(steps)",
                                     [[op, encode_args(op, args)] for op, args in steps])
            finally:
                page.close()


def next_dev_figures(db: Path, settings: Settings, browser: Any, servers: int, repeats: int) -> dict:
    """Under `next dev`, in fresh servers: each op's first request (compiling its route) and the
    `repeats` after it, timed in a new tab of `browser` like the run's ops (ms)."""
    first: dict[str, list[float]] = {op: [] for op in OPS}
    cached: dict[str, list[float]] = {op: [] for op in OPS}
    ready_ms: list[float] = []
    errors: list[str] = []
    steps = dev_steps(repeats)
    for k in range(servers):
        try:
            results = dev_server_run(db, settings, browser, steps, ready_ms)
        except Exception as exc:  # the other servers' figures stand; say what failed
            errors.append(f"dev server {k + 1}: {type(exc).__name__}: {exc}"[:600])
            continue
        for i, ((op, _), (ms, detail, *_)) in enumerate(zip(steps, results)):
            if ms is None:
                errors.append(f"{op}: {detail}"[:300])
            else:
                (first if i < len(OPS) else cached)[op].append(ms)
    return {"servers": servers, "repeats": repeats, "listening_ms": [round(ms, 1) for ms in ready_ms],
            "first": {op: ms_summary(values) for op, values in first.items()},
            "cached": {op: ms_summary(values) for op, values in cached.items()},
            "errors": errors, "next_version": read_package_version("next"),
            "note": "fresh `next dev` per server; first: each op's first request, which compiles its route; "
                    "cached: the requests after it; timed in the page (fetch + response.json())"}

