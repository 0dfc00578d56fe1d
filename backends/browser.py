"""Shared by the browser backends (`nextjs-routes`, `browser-turso`): the page of the Next.js app
in `web/` (served by `bench/servers/next_server.py`) in headless Chromium driven by Playwright.

The page (`web/lib/bench.ts`, as `window.storebench`) issues the ops the way each architecture
does and times them itself with `performance.now()`; Python hands it chunks of steps with
`page.evaluate` and reads back one result per step, so neither Python nor the DevTools protocol
is inside a sample (`self_timed`). The five op methods also work one call at a time.

Chromium is stopped on exit, error and Ctrl-C through Playwright, whose driver closes it
when its pipe to us closes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from array import array
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from storebench.backends.api_routes import decode_conversation, encode_conversation, encode_message
from storebench.backends.base import Conversation, Message, OpTimeout, Settings, Store, StoreError, Target
from storebench.model.secrets import scrub
from storebench.servers.next_server import READY_TIMEOUT_S, WEB_DIR, app_unavailable_reason

CHROMIUM_ENV = "STOREBENCH_CHROMIUM"
SYSTEM_CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
# As /work/.library/env/machines/python.md starts it: no sandbox (root in a container), no
# GPU, and none of Chromium's own network traffic (sync, updates, field trials), which this
# machine's closed network refuses and which would otherwise run beside our requests.
CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update")
CHUNK_STEPS = 50  # steps per page.evaluate: the DevTools round trip is outside the samples anyway
LOG_TAIL_CHARS = 300
LAUNCH_ATTEMPTS = 3


# --- what must be on the machine ------------------------------------------------------------

def chromium_path() -> str | None:
    """`STOREBENCH_CHROMIUM`, else a system Chromium on the PATH (Debian's `chromium`)."""
    if os.environ.get(CHROMIUM_ENV):
        return os.environ[CHROMIUM_ENV]
    return next((p for p in map(shutil.which, SYSTEM_CHROMIUM) if p), None)


def browser_unavailable_reason() -> str | None:
    """Why no page can be driven here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"Playwright for Python is missing ({exc}); pip install playwright"
    path = chromium_path()
    if path is None:
        return f"no Chromium: apt-get install chromium, or set {CHROMIUM_ENV} to a Chromium or Chrome binary"
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        return f"{CHROMIUM_ENV}={path} is not an executable file"
    return None


# --- the page in Chromium -------------------------------------------------------------------

class _Playwright:
    """The process's one Playwright (its sync API cannot run two at once in a thread), started
    with its first user and stopped with its last."""

    instance: Any = None
    users = 0

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[Any]:
        if cls.instance is None:
            from playwright.sync_api import sync_playwright

            cls.instance = sync_playwright().start()
        cls.users += 1
        try:
            yield cls.instance
        finally:
            cls.users -= 1
            if cls.users == 0:
                instance, cls.instance = cls.instance, None
                instance.stop()


def launch_failure(message: str) -> str:
    """What a failed launch says: Playwright's first line and the browser's own last log lines
    (`[pid=N][err] …`, where Chromium says why it exited), not the long command line between."""
    lines = message.splitlines()
    said = [line.strip() for line in lines if line.lstrip().startswith("[pid=")]
    return " | ".join(lines[:1] + said[-3:])[-2 * LOG_TAIL_CHARS:]


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A fresh headless Chromium with a new, empty profile (a Playwright browser context),
    closed on exit. Launching is set-up, outside every sample, so a launch in which Chromium
    exits by itself is tried again (LAUNCH_ATTEMPTS in all): it happened about once per
    suite run on a 2-core machine under a CPU hog, and never when tried in isolation."""
    from playwright.sync_api import Error

    with contextlib.ExitStack() as stack:
        pw = stack.enter_context(_Playwright.running())
        for attempt in range(1, LAUNCH_ATTEMPTS + 1):
            profile = stack.enter_context(tempfile.TemporaryDirectory(prefix="storebench-chromium-"))
            try:
                context = pw.chromium.launch_persistent_context(
                    profile, executable_path=chromium_path(), headless=True, args=list(CHROMIUM_FLAGS))
                break
            except Error as exc:
                if attempt == LAUNCH_ATTEMPTS:
                    raise StoreError(f"Chromium did not start ({LAUNCH_ATTEMPTS} attempts): "
                                     f"{launch_failure(exc.message)}") from None
        try:
            yield context
        finally:
            context.close()


def open_page(context: Any, url: str, timeout_s: float = READY_TIMEOUT_S) -> Any:
    """A new tab showing the app's page at `url`, once `window.storebench` is installed."""
    page = context.new_page()
    page.set_default_timeout(timeout_s * 1000)
    page.goto(url)
    page.wait_for_function("document.body.dataset.storebench === 'ready'")
    return page


def encode_args(op: str, args: tuple) -> list:
    """An op's arguments as the page takes them (the JSON of the api-routes backend)."""
    if op == "create_conversation":
        return [encode_conversation(args[0])]
    if op == "add_message":
        return [encode_message(args[0])]
    return list(args)


# --- the store ------------------------------------------------------------------------------

class BrowserStore(Store):
    """A store whose five ops run in the app's page. Subclasses say how the page reaches the
    database (`_configure_page`) and provide schema, preload and describe."""

    driver = "@libsql/client"  # npm; its version is read from web/node_modules
    self_timed = True
    op_timeout = "enforced in the page: AbortSignal.timeout on every fetch the op makes"
    chunk_steps: ClassVar[int] = CHUNK_STEPS

    def __init__(self, target, settings: Settings) -> None:
        super().__init__(target, settings)
        self.page: Any = None
        self.context: Any = None  # the browser, for the pages a store opens besides its own
        self._stack: contextlib.ExitStack | None = None
        self.requests = 0
        self.network_ms: dict[str, list[float]] = {}  # Resource Timing durations of the timed steps
        self.page_timing: dict = {}

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return super().unavailable_reason() or app_unavailable_reason() or browser_unavailable_reason()

    @classmethod
    def second_device_target(cls, target: Target, workdir: Path) -> Target:
        """What another device gets (bench/capabilities/probes.py): the app's page, the URL and the token."""
        return Target(url=target.url, auth_token=target.auth_token, extra={"page_url": target.extra["page_url"]})

    def page_url(self) -> str:
        return self.target.extra["page_url"]

    def open(self) -> None:
        self._stack = contextlib.ExitStack()
        try:
            self.context = self._stack.enter_context(chromium())
            self.page = open_page(self.context, self.page_url())
            self.page_timing = self._evaluate("() => window.storebench.resolution()")
            self._configure_page()
        except BaseException:
            self.close()
            raise

    def _configure_page(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        if self._stack is not None:
            stack, self._stack, self.page, self.context = self._stack, None, None, None
            stack.close()

    def _evaluate(self, script: str, arg: Any = None) -> Any:
        from playwright.sync_api import Error

        try:
            return self.page.evaluate(script, arg)
        except Error as exc:
            raise StoreError(scrub(exc.message.splitlines()[0] if exc.message else str(exc),
                                   [self.target.auth_token])[:LOG_TAIL_CHARS]) from None

    def _call(self, op: str, *args) -> Any:
        """One op in the page, untimed (contract tests, checks, probes)."""
        self.requests += 1
        return self._evaluate("([op, args]) => window.storebench.call(op, args)", [op, encode_args(op, args)])

    def load_all(self) -> list[Conversation]:
        return [decode_conversation(c) for c in self._call("load_all")]

    def create_conversation(self, conversation: Conversation) -> None:
        self._call("create_conversation", conversation)

    def add_message(self, message: Message) -> None:
        self._call("add_message", message)

    def update_title(self, conversation_id: str, title: str, updated_at: int) -> None:
        self._call("update_title", conversation_id, title, updated_at)

    def delete_conversation(self, conversation_id: str) -> None:
        self._call("delete_conversation", conversation_id)

    def _wire_round_trips(self) -> int | None:
        """Round trips counted on the wire, where a proxy counts them (else None)."""
        return None

    def time_plan(self, steps: Sequence[tuple[int, str, tuple]], slots: int, warmup: int,
                  store_size: Callable[[int, int], None] | None = None):
        from storebench.core.timing import Failures, Timing

        samples: list[list[int]] = [[] for _ in range(slots)]
        trips = [0] * slots
        failures = Failures(slots, [self.target.auth_token])
        failed: list[int] = []
        self.network_ms = {}
        for start in range(0, len(steps), self.chunk_steps):
            chunk = steps[start:start + self.chunk_steps]
            wire_before = self._wire_round_trips()
            results = self._evaluate("steps => window.storebench.run(steps)",
                                     [[op, encode_args(op, args)] for _, op, args in chunk])
            wire_after = self._wire_round_trips()
            for i, ((slot, op, _), result) in enumerate(zip(chunk, results), start):
                ms, detail, extra = result[:3]  # a success also has load_all's store size (or null)
                if ms is None:
                    failed.append(i)
                    if i >= warmup:
                        failures.record(slot, (OpTimeout if extra else StoreError)(detail))
                    continue
                self.requests += detail
                if i < warmup:
                    continue
                samples[slot].append(round(ms * 1e6))
                if store_size is not None and result[3] is not None:  # counted in the page
                    store_size(*result[3])
                # One step per chunk when the wire is counted, so its count is this op's own.
                trips[slot] += detail if wire_before is None or wire_after is None else wire_after - wire_before
                if extra is not None:
                    self.network_ms.setdefault(op, []).append(extra)
        return Timing([array("q", s) for s in samples], failures.errors, failures.examples, trips, failed,
                      failures.timeouts, failures.busy)

    def round_trips(self) -> int:
        """HTTP requests the page's ops made (preflights are invisible to the page)."""
        return self.requests

    def observations(self) -> dict:
        return {"page_timing": self.page_timing,
                "resource_timing": {"note": "the network panel's view: Resource Timing duration of the op's "
                                            "fetches (request start to response end), without JSON parsing",
                                    "ops": {op: ms_summary(values) for op, values in self.network_ms.items()}}}


def ms_summary(values_ms: Sequence[float]) -> dict:
    """n, p50, p95 and max (nearest rank, bench.stats) of samples in milliseconds."""
    from storebench.model.stats import summarize

    summary = summarize([round(v * 1e6) for v in values_ms])
    return {"n": len(values_ms), **{k: summary[k] for k in ("p50_ms", "p95_ms", "max_ms")}}


def read_package_version(package: str) -> str | None:
    try:
        return json.loads((WEB_DIR / "node_modules" / package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
