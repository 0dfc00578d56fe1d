"""The one storage interface every backend implements, and the data it stores.

The workload drives a `Store` and knows nothing else about a backend, as in go-ycsb's `DB`
interface. A backend module defines one `Store` subclass and is listed in the registry
(`backends/__init__.py`); nothing else changes when a backend is added.
"""

from __future__ import annotations

import contextlib
import importlib
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from storebench.errors import StorebenchError

if TYPE_CHECKING:
    from storebench.core.timing import Timing

Role = Literal["user", "assistant"]
Kind = Literal["embedded", "server", "remote", "replica", "api", "orm"]
SYNCHRONOUS_LEVELS = ("normal", "full")


@dataclass(slots=True)
class Message:
    id: str
    conversation_id: str
    role: Role
    content: str
    created_at: int  # Unix epoch milliseconds: above 2**31, so it tests integer round-trips.


@dataclass(slots=True)
class Conversation:
    id: str
    title: str
    created_at: int
    updated_at: int
    messages: list[Message] = field(default_factory=list)


@dataclass(frozen=True)
class Settings:
    """Run-wide settings: the fairness settings applied to, and read back from, every backend
    that has them, plus the few options particular backends read."""

    synchronous: str = "normal"
    busy_timeout_ms: int = 5000
    journal_mode: str = "wal"
    foreign_keys: bool = True
    rtt_ms: float = 20.0  # emulated round-trip time for the emulated remote backends
    sqlalchemy_url: str | None = None  # the ORM backends' database; None: an embedded libSQL file
    op_timeout_s: float = 60.0  # per op, for backends whose driver can bound a network call


@dataclass
class Target:
    """What a client needs to reach one store; sent to child processes (cold start, probes).

    `auth_token` never goes into results or logs: `public()` is the printable form.
    """

    path: str | None = None
    url: str | None = None
    auth_token: str | None = field(default=None, repr=False)
    extra: dict = field(default_factory=dict)

    def public(self) -> dict:
        from storebench.model.secrets import redact_url

        return {"path": self.path, "url": redact_url(self.url), "extra": self.extra}

    def require_path(self) -> str:
        """`path`, for a store that opens a file (its provisioning always sets one)."""
        if self.path is None:
            raise StoreError("the target has no path: this store opens a database file")
        return self.path

    def require_url(self) -> str:
        """`url`, for a store that connects to a server (its provisioning always sets one)."""
        if self.url is None:
            raise StoreError("the target has no url: this store connects to a server")
        return self.url


# What `Capabilities.needs` may name: what a backend needs outside Python. Preflight checks the
# configured ones (a server URL, a real Turso database) before anything is measured.
NEEDS = {
    "sqld": "a sqld server: the one at SQLD_URL, else the sqld binary (bench/servers/sqld_server.py)",
    "sqld-binary": "the sqld binary itself (SQLD_URL is one server; the backend starts several)",
    "turso": "a Turso database: TURSO_DATABASE_URL and TURSO_AUTH_TOKEN, else one emulated with sqld",
    "node": "Node with node/node_modules installed (make install)",
    "nextjs": "Node and the Next.js app in web/, built (make install)",
    "chromium": "a system Chromium (apt-get install chromium)",
}


@dataclass(frozen=True)
class Capabilities:
    """What a backend declares beyond the five ops, as a class attribute of its `Store`
    (`capabilities = Capabilities(...)`). The harness reads these declarations and never
    probes a store for methods; tests/test_architecture.py checks that every registered
    backend's declaration agrees with what it implements."""

    backup: bool = False  # overrides `Store.backup`: its own way to copy the store while open
    second_device: bool = False  # overrides `Store.second_device_target`
    paging: bool = False  # implements `Store.load_page` (else sweeps report pagination unsupported)
    emulated: bool = False  # may run on an emulated target; `Store.emulated` says, once provisioned
    # Python modules the driver imports: the default `Store.unavailable_reason` checks them.
    required_modules: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # what it needs outside Python, keys of NEEDS

    def __post_init__(self) -> None:
        unknown = [need for need in self.needs if need not in NEEDS]
        if unknown:
            raise ValueError(f"unknown needs {unknown}; known: {', '.join(NEEDS)}")


def missing_module(modules: Sequence[str]) -> tuple[str, ImportError] | None:
    """The first of `modules` that cannot be imported here, with why; None when all can."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            return module, exc
    return None


class StoreError(StorebenchError):
    """A backend could not do what was asked; the message says why, without secrets."""


class OpTimeout(StoreError):
    """An op gave up after `Settings.op_timeout_s` (counted apart from other errors)."""


class Store(ABC):
    """A conversation store: the five API routes of the seed design as five operations.

    Ordering contract of `load_all`: conversations by `updated_at` descending then `id`;
    each conversation's messages by `created_at` then `id`.
    Write operations are each one transaction. `add_message` also sets the conversation's
    `updated_at` to the message's `created_at`, as a chat app does to sort its sidebar.
    """

    name: ClassVar[str]
    kind: ClassVar[Kind]
    driver: ClassVar[str]  # the PyPI distribution (or "stdlib") whose version is recorded
    description: ClassVar[str]
    # Why only one process at a time can open this store (None: any number can). Multi-process
    # measurements (concurrent clients) then report the backend unavailable with this reason.
    single_process_reason: ClassVar[str | None] = None
    # Why this store cannot run in a gevent-patched process (a Locust worker of
    # `storebench swarm`, bench/core/swarm.py), or None when it can.
    gevent_reason: ClassVar[str | None] = None
    # Backend-specific ops (methods without arguments, e.g. a replica's `sync`), timed once
    # after every round and reported like the five ops.
    extra_ops: ClassVar[tuple[str, ...]] = ()
    # The share of the profile's timed and warm-up rounds this backend runs (at least 2): below
    # 1 for backends whose ops are dominated by round trips (an emulated WAN), whose spread is
    # small next to the round trip. The rounds actually run are recorded in the results.
    rounds_fraction: ClassVar[float] = 1.0
    # How `Settings.op_timeout_s` is enforced, or why it is not: recorded with the backend.
    op_timeout: ClassVar[str] = "not applicable: no network between client and store (lock waits end at busy_timeout)"
    # Capability: the store times its own calls in its own runtime (a Node process, a browser
    # page), so no Python-side overhead enters a sample. The harness then hands it whole
    # chunks of steps through `time_plan` instead of timing each method call itself; the five
    # op methods still work one call at a time (contract tests, probes, checks).
    self_timed: ClassVar[bool] = False
    # Why `--backends all` (the default run) leaves this backend out; None: it is in. Such a
    # backend runs when named, e.g. `--backends all,nextjs-routes`.
    not_in_all: ClassVar[str | None] = None
    # Seconds after which an idle connection of this store stops working (None: never). A
    # multi-process measurement interleaves backends, so a worker can wait between its chunks;
    # the coordinator runs an untimed round (and a load_all) on any worker that would
    # otherwise stay idle for 70 % of this long.
    idle_timeout_s: ClassVar[float | None] = None
    # The optional hooks it implements and what it needs (see Capabilities): none by default.
    capabilities: ClassVar[Capabilities] = Capabilities()
    # False, or what was emulated (a sentence for the results and reports). A class attribute
    # for what is known before provisioning; a store on a target that may be real or emulated
    # (`capabilities.emulated`) sets it per instance from the provisioned target.
    emulated: str | Literal[False] = False

    def __init__(self, target: Target, settings: Settings) -> None:
        self.target = target
        self.settings = settings

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why this backend cannot run on this machine, or None when it can. By default: the
        first of `capabilities.required_modules` that cannot be imported; backends that need
        more (a binary, Node) extend it."""
        missing = missing_module(cls.capabilities.required_modules)
        return None if missing is None else f"{missing[0]} is not installed ({missing[1]})"

    @classmethod
    def second_device_target(cls, target: Target, workdir: Path) -> Target | None:
        """What a second device gets to reach this store (the cross-device probe): by default
        the URL and token only, no shared path, and its own local file for a backend that keeps
        one (an embedded replica); None when the store has no URL. A backend whose clients are
        given more (another server's address, a page) overrides it and declares
        `capabilities.second_device`."""
        if not target.url:
            return None
        private = Path(tempfile.mkdtemp(prefix="device2-", dir=workdir))
        path = str(private / Path(target.path).name) if target.path else None
        return Target(path=path, url=target.url, auth_token=target.auth_token)

    @classmethod
    def backup(cls, target: Target, dest: Path) -> None:
        """Copy the store at `target`, while it stays open, into the SQLite file `dest`. Only
        for backends declaring `capabilities.backup`; without it the backup probe uses the
        database file's SQLite online backup API or the server's SQL dump, where there is one."""
        raise NotImplementedError(f"{cls.name} declares no backup")

    @classmethod
    @contextlib.contextmanager
    def provision(cls, workdir: Path, settings: Settings) -> Iterator[Target]:
        """Create the place the store lives (a file; a server for server backends) and
        remove or stop it on exit, also on error and Ctrl-C."""
        yield Target(path=str(workdir / f"{cls.name}.db"))

    @classmethod
    def opened(cls, target: Target, settings: Settings) -> Store:
        """A new store on `target`, already open; the caller closes it."""
        store = cls(target, settings)
        store.open()
        return store

    @classmethod
    def reusing(cls) -> contextlib.AbstractContextManager[None]:
        """A scope in which a closed store may leave what it started (a runtime process) to the
        next store this process opens, which is still a fresh client: the capability probes
        open and close several stores in a row. By default nothing is kept."""
        return contextlib.nullcontext()

    @classmethod
    def cold_start(cls, target: Target, settings: Settings, started_ns: int) -> tuple[int, int]:
        """One cold start, run in a fresh process (bench/core/coldstart.py) whose clock started at
        `started_ns` (perf_counter_ns) before this backend's module was imported: (ns, number of
        conversations loaded). By default: open the store and do the first `load_all`, so
        importing the driver counts. A store whose cold start is another program's (a server's,
        a browser's) overrides it and times that instead."""
        store = cls(target, settings)
        store.open()
        conversations = store.load_all()
        ns = time.perf_counter_ns() - started_ns
        store.close()
        return ns, len(conversations)

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def setup_schema(self) -> None:
        """Create the tables if they do not exist (idempotent)."""

    @abstractmethod
    def preload(self, conversations: list[Conversation]) -> None:
        """Bulk-insert conversations with their messages (not timed as an op)."""

    @abstractmethod
    def load_all(self) -> list[Conversation]: ...

    @abstractmethod
    def create_conversation(self, conversation: Conversation) -> None: ...

    @abstractmethod
    def add_message(self, message: Message) -> None: ...

    @abstractmethod
    def update_title(self, conversation_id: str, title: str, updated_at: int) -> None: ...

    @abstractmethod
    def delete_conversation(self, conversation_id: str) -> None:
        """Delete the conversation and its messages."""

    def load_page(self, limit: int) -> list[Conversation]:
        """The `limit` most recently updated conversations with their messages, in `load_all`'s
        order: what a paginated app would load on start instead of everything. Only for
        backends declaring `capabilities.paging`; sweeps report the others as not measuring
        pagination."""
        raise NotImplementedError(f"{self.name} does not implement load_page")

    @abstractmethod
    def describe(self) -> dict:
        """Versions and the settings in force, read back from the store itself:
        keys driver_version, sqlite_version, settings (journal_mode, synchronous,
        foreign_keys, busy_timeout_ms)."""

    def time_plan(self, steps: Sequence[tuple[int, str, tuple]], slots: int, warmup: int,
                  store_size: Callable[[int, int], None] | None = None) -> Timing:
        """Only for `self_timed` stores: run `steps` (slot, op name, args) in order, time each
        call after the first `warmup` in the store's own runtime, and return what
        `storebench.core.timing.time_steps` would (samples in ns per slot, errors, failed step indices).
        Where the runtime counts them, call `store_size(conversations, messages)` with what each
        timed load_all returned (counted outside the timed call)."""
        raise NotImplementedError(f"{self.name} is not self_timed")

    def round_trips(self) -> int | None:
        """Network round trips made so far, for backends that can count them."""
        return None

    def observations(self) -> dict:
        """Behaviour measured after the timed run (untimed), recorded with the backend."""
        return {}

    def __enter__(self) -> Store:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
