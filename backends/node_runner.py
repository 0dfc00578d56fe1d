"""The Node tier: `Store`s whose system runs in a Node process (`node/runner.mjs`).

The design document's own stack is Node (`@libsql/client`, Drizzle, Prisma, better-sqlite3);
these backends measure those systems themselves, not Python equivalents. A `NodeStore` starts
one `node node/runner.mjs` process per open store and stops it on close (also on error and
Ctrl-C, and by the kernel if the harness dies). Each op method is one request/answer line
pair, so contract tests, probes and checks work one call at a time; the timed run instead hands
Node whole chunks of steps (`time_plan`), and Node times each call with `process.hrtime.bigint()`
around the system's call only, so no Python or pipe overhead enters a sample. The runner's own
floor (a null call timed the same way) is recorded with the backend (`runner_floor`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import shutil
import subprocess
import tempfile
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar

from storebench.backends.base import Conversation, Message, OpTimeout, Settings, Store, StoreError, Target
from storebench.servers.processes import die_with_parent, pipes, stop_process

if TYPE_CHECKING:
    from storebench.core.timing import Timing

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
RUNNER = NODE_DIR / "runner.mjs"
MIN_NODE_MAJOR = 20
PLAN_CHUNK = 250  # steps per request: bounded answers, and Ctrl-C is never far away
FLOOR_CALLS = 20_000
STOP_GRACE_S = 5.0
INSTALL_HINT = "run `make install`, which runs `npm ci` in node/"


@functools.cache
def node_binary_reason() -> str | None:
    """Why no suitable Node is on the PATH, or None."""
    node = shutil.which("node")
    if node is None:
        return f"Node.js >= {MIN_NODE_MAJOR} is not on the PATH: install nodejs, then {INSTALL_HINT}"
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`node --version` failed: {exc}"
    match = re.match(r"v(\d+)\.", version)
    if match is None or int(match.group(1)) < MIN_NODE_MAJOR:
        return f"Node.js {version or '(unknown version)'} is too old: the Node backends need Node >= {MIN_NODE_MAJOR}"
    return None


def node_unavailable_reason(needs: Sequence[str] = ()) -> str | None:
    """Why the Node tier cannot run here: Node missing or too old, or node/ not installed
    (`needs`: further files under node/ the system imports, e.g. the generated Prisma client)."""
    reason = node_binary_reason()
    if reason:
        return reason
    for part in ("node_modules", *needs):
        if not (NODE_DIR / part).exists():
            return f"node/{part} is missing: {INSTALL_HINT}"
    return None


def message_to_wire(m: Message) -> dict:
    return {"id": m.id, "conversationId": m.conversation_id, "role": m.role, "content": m.content,
            "createdAt": m.created_at}


def conversation_to_wire(c: Conversation) -> dict:
    return {"id": c.id, "title": c.title, "createdAt": c.created_at, "updatedAt": c.updated_at,
            "messages": [message_to_wire(m) for m in c.messages]}


def conversations_from_wire(rows: list) -> list[Conversation]:
    """The runner's arrays as dataclasses, values untouched (an integer stays an int, so the
    type-exact check sees exactly what Node returned)."""
    return [Conversation(cid, title, created, updated, [Message(*m) for m in messages])
            for cid, title, created, updated, messages in rows]


class NodeProcess:
    """One `node runner.mjs` child: a JSON line out, a JSON line back."""

    def __init__(self, secrets: Sequence[str | None] = ()) -> None:
        self.secrets: list[str] = []
        self.keep_secret(secrets)
        self._stderr: IO[bytes] = tempfile.TemporaryFile()
        # stdin, not argv or the environment, carries the target: a token never shows in `ps`.
        self.proc = subprocess.Popen(
            ["node", str(RUNNER)], cwd=NODE_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, preexec_fn=die_with_parent,
        )
        self.stdin, self.stdout = pipes(self.proc)

    def request(self, message: dict) -> dict:
        """Send one request and return the answer; a failure answer raises StoreError
        (OpTimeout when the system's op timeout fired)."""
        try:
            self.stdin.write(json.dumps(message, ensure_ascii=False).encode() + b"\n")
            self.stdin.flush()
            line = self.stdout.readline()
        except (BrokenPipeError, ValueError):  # ValueError: the pipes were closed by stop()
            line = b""
        if not line:
            raise StoreError(f"the Node runner exited ({self.proc.poll()}): {self._stderr_tail()}")
        answer = json.loads(line)
        if not answer.pop("ok"):
            raise error_from(self.scrub(answer["error"]))
        return answer

    def keep_secret(self, secrets: Sequence[str | None]) -> None:
        """Scrub these from its errors too (a reused runner serves another store's target)."""
        self.secrets += [s for s in secrets if s and s not in self.secrets]

    def scrub(self, text: str) -> str:
        from storebench.model.secrets import scrub

        return scrub(text, self.secrets)

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        lines = self._stderr.read().decode(errors="replace").strip().splitlines()
        return self.scrub(lines[-1] if lines else "no output on stderr")[:300]

    def stop(self) -> None:
        """Ask the runner to close the store and exit; stop it harder if it does not."""
        if self.proc.poll() is None:
            try:
                self.request({"op": "close"})
                self.stdin.close()
                self.proc.wait(STOP_GRACE_S)
            except (StoreError, OSError, subprocess.TimeoutExpired):
                pass
        stop_process(self.proc)
        for stream in (self.stdin, self.stdout):
            stream.close()
        self._stderr.close()


def error_from(text: str) -> StoreError:
    """The runner's error line as the harness's exception (a fired op timeout is OpTimeout)."""
    return OpTimeout(text) if "TimeoutError" in text else StoreError(text)


# Inside NodeStore.reusing(): runners whose store was closed, each ready to open the next.
_spare_runners: list[list[NodeProcess]] = []


class NodeStore(Store):
    """A store whose system is `node/systems/<system>.mjs`; subclasses say which, and where."""

    system: ClassVar[str]
    self_timed = True
    # Files under node/ the system needs besides node_modules (e.g. the compiled Prisma client).
    node_files: ClassVar[tuple[str, ...]] = ()
    # The raw backend on the same engine, for the overhead ratio (bench/model/overhead_ratio.py).
    overhead_vs: ClassVar[str | None] = None

    process: NodeProcess | None = None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return super().unavailable_reason() or node_unavailable_reason(cls.node_files)

    @classmethod
    def cold_start(cls, target: Target, settings: Settings, started_ns: int) -> tuple[int, int]:
        """Spawn `node node/runner.mjs`, which imports the system, opens the store and does the
        first `load_all`; timed from the spawn to the answer line (Node's start-up is part of
        what a user pays, Python's is not). The answer carries only the number of
        conversations, so encoding the data for the harness is not timed."""
        store = cls(target, settings)
        lines = [store.open_request(), {"op": "call", "name": "load_all", "args": [], "reply": "count"},
                 {"op": "close"}]
        payload = "".join(json.dumps(line) + "\n" for line in lines).encode()
        t0 = time.perf_counter_ns()
        proc = subprocess.Popen(["node", str(RUNNER)], cwd=NODE_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                preexec_fn=die_with_parent)
        stdin, stdout = pipes(proc)
        stdin.write(payload)  # read by the runner as soon as it has started
        stdin.close()
        opened = stdout.readline()
        loaded = stdout.readline()
        t1 = time.perf_counter_ns()
        stdout.read()
        proc.wait()
        for line in (opened, loaded):
            answer = json.loads(line or b'{"ok": false, "error": "the Node runner exited without answering"}')
            if not answer["ok"]:
                raise StoreError(answer["error"])
        return t1 - t0, json.loads(loaded)["value"]

    def node_target(self) -> dict:
        """What the system module connects to (the target as @libsql/client spells it)."""
        return asdict(self.target)

    def counter_spec(self) -> dict | None:
        """How the runner counts round trips on the wire (None: it does not)."""
        return None

    def open_request(self) -> dict:
        return {"op": "open", "system": self.system, "target": self.node_target(), "settings": asdict(self.settings),
                "counter": self.counter_spec()}

    @classmethod
    @contextlib.contextmanager
    def reusing(cls) -> Iterator[None]:
        """Stores closed inside leave their runner (its store closed, the system's module loaded)
        to the next store opened: the probes' own stores then cost no Node start-up each
        (prisma's is about a second of CPU). Runners left at the end are stopped."""
        spares: list[NodeProcess] = []
        _spare_runners.append(spares)
        try:
            yield
        finally:
            _spare_runners.remove(spares)
            for process in spares:
                process.stop()

    def open(self) -> None:
        spares = _spare_runners[-1] if _spare_runners else []
        self.process = spares.pop() if spares else NodeProcess()
        self.process.keep_secret([self.target.auth_token])
        try:
            self.process.request(self.open_request())
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.process is None:
            return
        process, self.process = self.process, None
        if _spare_runners and process.proc.poll() is None:
            try:
                process.request({"op": "close"})  # the runner closes the store and waits for the next
                _spare_runners[-1].append(process)
                return
            except StoreError:
                pass
        process.stop()

    def _runner(self) -> NodeProcess:
        """The runner process `open` started."""
        if self.process is None:
            raise StoreError(f"{self.name} is not open")
        return self.process

    def _call(self, name: str, *args: Any) -> Any:
        return self._runner().request({"op": "call", "name": name, "args": list(args)})["value"]

    def setup_schema(self) -> None:
        self._call("schema")

    def preload(self, conversations: list[Conversation]) -> None:
        self._call("preload", [conversation_to_wire(c) for c in conversations])

    def load_all(self) -> list[Conversation]:
        return conversations_from_wire(self._call("load_all"))

    def load_page(self, limit: int) -> list[Conversation]:
        return conversations_from_wire(self._call("load_page", limit))

    def create_conversation(self, conversation: Conversation) -> None:
        self._call("create_conversation", conversation_to_wire(conversation))

    def add_message(self, message: Message) -> None:
        self._call("add_message", message_to_wire(message))

    def update_title(self, conversation_id: str, title: str, updated_at: int) -> None:
        self._call("update_title", conversation_id, title, updated_at)

    def delete_conversation(self, conversation_id: str) -> None:
        self._call("delete_conversation", conversation_id)

    def describe(self) -> dict:
        from storebench.model import stats

        info = self._call("describe")
        floor = self._runner().request({"op": "floor", "n": FLOOR_CALLS})["ns"]
        info["runner_floor"] = {"op": "null (timed in Node like an op)",
                                **stats.overhead_summary(floor[FLOOR_CALLS // 10:])}
        info["node_version"] = node_version()
        if self.overhead_vs:
            info["overhead_vs"] = self.overhead_vs
        return info

    def observations(self) -> dict:
        """The settings read back again after the timed run: a client that reopens connections
        (as @libsql/client 0.17 did after every transaction) would lose per-connection PRAGMAs."""
        return {"settings_after_run": self._call("describe")["settings"]}

    def time_plan(self, steps: Sequence[tuple[int, str, tuple]], slots: int, warmup: int,
                  store_size: Callable[[int, int], None] | None = None) -> Timing:
        """Node times every step (and counts what each load_all returned, after the clock read);
        the answers fill what `storebench.core.timing.time_steps` returns."""
        from storebench.core.timing import Failures, Timing

        process = self._runner()
        failures = Failures(slots, [self.target.auth_token])
        samples: list[array] = [array("q") for _ in range(slots)]
        trips = [0] * slots
        failed: list[int] = []
        for start in range(0, len(steps), PLAN_CHUNK):
            chunk = steps[start:start + PLAN_CHUNK]
            answer = process.request({"op": "plan", "steps": [[op, wire_args(args)] for _, op, args in chunk]})
            for k, ((slot, _, _), ns) in enumerate(zip(chunk, answer["ns"])):
                i = start + k
                if ns is None:
                    failed.append(i)
                    if i >= warmup:
                        failures.record(slot, error_from(process.scrub(answer["errors"][str(k)])))
                elif i >= warmup:
                    samples[slot].append(ns)
                    if answer["trips"] is not None:
                        trips[slot] += answer["trips"][k]
                    if store_size is not None and str(k) in answer["sizes"]:
                        store_size(*answer["sizes"][str(k)])
        return Timing(samples, failures.errors, failures.examples, trips, failed, failures.timeouts, failures.busy)


def wire_args(args: tuple) -> list:
    return [conversation_to_wire(a) if isinstance(a, Conversation) else message_to_wire(a) if isinstance(a, Message)
            else a for a in args]


@functools.cache
def node_version() -> str:
    return subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
