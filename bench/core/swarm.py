"""`storebench swarm`: distributed load on real Locust, with exact merged percentiles.

Locust is the engine: a master process and worker processes (on this machine, or workers on
other machines), talking over ZeroMQ. Our part is the locustfile
(bench/core/locustfiles/storebench_swarm.py): one Locust User class per backend, driving our
`Store` with our workload through our timing loops, firing Locust's request events (so
Locust's own console stats, CSV and UI keep working), and shipping raw samples to the
master, which merges them into a storebench results file (bench/core/swarm_records.py).

This module is the command: it checks the input, starts the server under test (the
backend's own `provision`) unless a URL is given, starts the Locust master and, on one
machine, the workers, waits, and stops every process it started, on error and Ctrl-C too.
It never imports Locust itself (Locust patches the process with gevent on import).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from storebench import backends
from storebench.backends.base import Settings, StoreError, Target
from storebench.core.workload import Params
from storebench.errors import Interrupted, UsageError
from storebench.model import results as results_mod
from storebench.model.results import Results
from storebench.model.secrets import redact_url, scrub
from storebench.servers.processes import die_with_parent, free_port, stop_process

CONFIG_ENV = "STOREBENCH_SWARM"  # the run's configuration (JSON, no secrets) for the master
TOKEN_ENV = "STOREBENCH_AUTH_TOKEN"  # the server's auth token, read from the environment only
LOCUSTFILE = Path(__file__).parent / "locustfiles" / "storebench_swarm.py"
DEFAULT_MASTER_PORT = 5557  # Locust's own default
URL_CHECK_TIMEOUT_S = 5.0
DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443, "libsql": 443}
READY_TIMEOUT_S = 300  # every user preloaded and warmed up
GRACE_S = 30  # after the duration: users finishing an op (or, open loop, catching up a late schedule)
WORKERS_EXIT_S = 10  # after the master: workers that got its quit message exit by themselves
MAX_DURATION_S = 24 * 3600
DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}


class SwarmUsage(UsageError, ValueError):
    """Bad input to `storebench swarm` (one line, exit 2)."""


def parse_duration(text: str) -> float:
    """`30s`, `2m`, `1h`, `500ms` or plain seconds, as seconds."""
    match = DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration; give one like 30s, 2m or 1h")
    seconds = float(match.group(1)) * UNITS[match.group(2)]
    if not 0 < seconds <= MAX_DURATION_S:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0 and at most 24h")
    return seconds


def user_class_name(backend: str) -> str:
    """The Locust User class of a backend: `sqld-replica` -> `SqldReplicaUser`."""
    return "".join(part.capitalize() for part in re.split(r"[-_]", backend)) + "User"


@dataclass(frozen=True)
class SwarmConfig:
    """What the master needs to run one backend; the master forwards it to the workers with
    Locust's spawn messages. No secret in it: the token travels in `TOKEN_ENV` only."""

    backend: str
    target: dict  # Target fields but the token: path, url, extra
    settings: dict
    conversations: int  # preloaded per user: each user has its own conversations
    messages: int
    warmup: int  # untimed rounds per user before the timed window
    seed: int
    duration_s: float
    users: int
    workers: int
    out: str
    rate: float | None = None  # open loop: ops/s over all users
    arrivals: str = "poisson"
    grace_s: float = GRACE_S

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> SwarmConfig:
        return cls(**json.loads(text))

    def params(self) -> Params:
        """Each user's workload size (its rounds are bounded by time, not a count)."""
        return Params(self.conversations, self.messages, iterations=0, warmup=self.warmup, cold_starts=0, probes=False)

    def make_target(self) -> Target:
        return Target(**self.target, auth_token=os.environ.get(TOKEN_ENV) or None)

    def record(self) -> dict:
        """The run's parameters as written to the results file."""
        keys = ("conversations", "messages", "warmup", "users", "workers", "duration_s", "rate", "arrivals", "settings")
        return {"conversations_per_user": self.conversations, **{k: getattr(self, k) for k in keys[1:]},
                "arrivals": self.arrivals if self.rate else None}


def add_arguments(parser: argparse.ArgumentParser, positive_int, positive_float, non_negative_int, port) -> None:
    parser.add_argument("--backends", default="sqld", help="backend(s) to load, comma-separated (default sqld)")
    parser.add_argument("--workers", type=positive_int, default=2,
                        help="Locust worker processes: started here, or with --master the number to wait for "
                             "(default 2)")
    parser.add_argument("--users", type=positive_int, default=8, help="Locust users over all workers (default 8)")
    parser.add_argument("--duration", type=parse_duration, default=30.0,
                        help="timed window, e.g. 30s, 2m (default 30s)")
    parser.add_argument("--rate", type=positive_float,
                        help="open loop: ops per second over all users, each op timed from its scheduled start")
    parser.add_argument("--arrivals", choices=("poisson", "uniform"),
                        help="arrival process for --rate (default poisson)")
    parser.add_argument("--conversations", type=positive_int, default=20,
                        help="conversations preloaded per user (default 20)")
    parser.add_argument("--messages", type=non_negative_int, default=5,
                        help="messages per preloaded conversation (default 5)")
    parser.add_argument("--warmup", type=non_negative_int, default=2, help="untimed rounds per user (default 2)")
    parser.add_argument("--seed", type=non_negative_int, default=1, help="workload seed (default 1)")
    parser.add_argument("--url", help=f"the server under test, already running (its token, if any, in ${TOKEN_ENV})")
    parser.add_argument("--out", type=Path, help="results file (default results/swarm-<timestamp>-<random>.json)")
    parser.add_argument("--csv", metavar="PREFIX",
                        help="also write Locust's own CSV statistics "
                             "(its --csv; PREFIX_<backend> with several backends)")
    role = parser.add_mutually_exclusive_group()
    role.add_argument("--master", action="store_true", help="run only the master; workers join from other machines")
    role.add_argument("--worker", action="store_true", help="run only a worker, joining the master at --master-host")
    parser.add_argument("--master-host", help="with --worker: the master's host")
    parser.add_argument("--master-port", type=port,
                        help=f"with --master or --worker: the master's port (default {DEFAULT_MASTER_PORT})")
    parser.add_argument("--bind-host", default="127.0.0.1",
                        help="with --master: the address the master listens on "
                             "(default 127.0.0.1; 0.0.0.0 for other machines)")


def check_input(args: argparse.Namespace, names: Sequence[str]) -> None:
    """Everything that can be wrong with the input, before anything starts."""
    if args.master_port is not None and not (args.master or args.worker):
        raise SwarmUsage("--master-port is for --master or --worker; a local swarm picks a free port itself")
    if args.arrivals is not None and args.rate is None:
        raise SwarmUsage(f"--arrivals {args.arrivals} needs --rate: without a rate every user runs closed-loop")
    if args.worker:
        if not args.master_host:
            raise SwarmUsage("--worker needs --master-host, the host running `storebench swarm --master`")
        return
    if args.master_host:
        raise SwarmUsage("--master-host is for --worker; the master listens on --bind-host")
    if args.master and not args.url:
        raise SwarmUsage("--master needs --url: workers on other machines must reach the server under test")
    if args.master and len(names) > 1:
        raise SwarmUsage("--master runs one backend at a time (remote workers quit after each run)")
    if args.users < args.workers:
        raise SwarmUsage(f"--users {args.users} is fewer than --workers {args.workers}: a worker would have no user")
    for name in names:
        cls = backends.get(name)
        if cls.self_timed:
            raise SwarmUsage(f"{name} times its calls in its own runtime and cannot run as a Locust user")
        if cls.gevent_reason:
            raise SwarmUsage(f"{name} cannot run in a Locust worker: {cls.gevent_reason}")
        if cls.single_process_reason:
            raise SwarmUsage(f"{name} cannot be opened by several processes: {cls.single_process_reason}")
        reason = None if args.url else backends.unavailable_reason(name)
        if reason:
            raise SwarmUsage(f"{name} is unavailable here: {reason}")
    if args.url:
        check_url(args.url, names)


def check_url(url: str, names: Sequence[str]) -> None:
    """--url names a server that answers and lets each backend in with $STOREBENCH_AUTH_TOKEN:
    what the Locust master does first (open a store, create the schema), done here so that a
    closed port or a wrong token is one line up front, not a failure 11 s into the run. The
    URL is parsed before any connection: its credentials never reach the name resolver."""
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError as exc:
        raise SwarmUsage(f"--url {redact_url(url)!r} is not a URL ({exc})") from None
    if not parts.hostname or port is None:
        raise SwarmUsage(f"--url {redact_url(url)!r} is not a server URL; e.g. http://127.0.0.1:8080")
    try:
        socket.create_connection((parts.hostname, port), timeout=URL_CHECK_TIMEOUT_S).close()
    except OSError as exc:
        raise SwarmUsage(f"--url {redact_url(url)} does not answer ({exc.strerror or exc}); "
                         "start that server or correct the URL") from None
    token = os.environ.get(TOKEN_ENV) or None
    for name in names:
        try:
            store = backends.get(name).opened(Target(url=url, auth_token=token),
                                              Settings(op_timeout_s=URL_CHECK_TIMEOUT_S))
            try:
                store.setup_schema()
            finally:
                store.close()
        except Exception as exc:  # the driver's own error as much as a StoreError: its message says why
            said = scrub(str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}", [token])
            first = (said.splitlines() or ["no message"])[0][:300]
            raise SwarmUsage(f"{name} cannot use --url {redact_url(url)}: {first}; "
                             f"check the URL and ${TOKEN_ENV}") from None


def run(args: argparse.Namespace, names: Sequence[str], out: Path) -> int:
    """The whole command after the input checks; the exit status."""
    if args.worker:
        return run_worker(args.master_host, args.master_port or DEFAULT_MASTER_PORT)
    parts: list[Results] = []
    try:
        with tempfile.TemporaryDirectory(prefix="storebench-swarm-") as tmp:
            for name in names:
                part = Path(tmp) / f"{name}.json"
                run_backend(args, name, Path(tmp), part, csv_prefix(args.csv, names, name))
                parts.append(Results.load(part))
    except KeyboardInterrupt as signalled:  # every process it started is stopped by now
        raise interrupted(parts, out, signalled) from None
    data = combine(parts)
    data.run.git_commit = results_mod.git_commit()  # the Locust processes ran in a temporary folder
    data.dump(out)
    print_summary(data, out)
    return 0 if all(b.status == "ok" for b in data.backends) else 1


def csv_prefix(prefix: str | None, names: Sequence[str], name: str) -> Path | None:
    """Where Locust writes its CSV statistics of `name`: --csv, suffixed with several backends."""
    return None if prefix is None else Path(prefix if len(names) == 1 else f"{prefix}_{name}").resolve()


def run_backend(args: argparse.Namespace, name: str, tmp: Path, part: Path, csv: Path | None) -> None:
    """One Locust run (master + workers) against one backend's server; writes `part` (and
    Locust's CSV files at `csv`, a prefix)."""
    settings = Settings()
    with server_target(name, args.url, tmp / name, settings) as target:
        config = SwarmConfig(name, {"path": target.path, "url": target.url, "extra": target.extra}, asdict(settings),
                             args.conversations, args.messages, args.warmup, args.seed, args.duration, args.users,
                             args.workers, str(part), args.rate, args.arrivals or "poisson")
        env = {**os.environ, CONFIG_ENV: config.to_json(), TOKEN_ENV: target.auth_token or ""}
        host = args.bind_host if args.master else "127.0.0.1"
        port = (args.master_port or DEFAULT_MASTER_PORT) if args.master else free_port()
        logs = tmp / f"{name}-logs"
        logs.mkdir()
        procs: list[subprocess.Popen] = []
        try:
            master = start(master_command(name, args, host, port, csv), env, logs / "master.log")
            procs.append(master)
            if args.master:
                print(f"Locust master for {name} at {host}:{port}, waiting for {args.workers} workers; on each worker "
                      f"machine: storebench swarm --worker --master-host <this host> --master-port {port}",
                      file=sys.stderr)
            if not args.master:
                procs += [start(worker_command("127.0.0.1", port), env, logs / f"worker-{i}.log")
                          for i in range(args.workers)]
            timeout = READY_TIMEOUT_S + args.duration + GRACE_S + 120
            try:
                master.wait(timeout)
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"the Locust master did not finish within {timeout:.0f} s; "
                                   f"last log line: {last_line(logs / 'master.log')}") from None
            for proc in procs[1:]:  # they got the master's quit message
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(WORKERS_EXIT_S)
        finally:
            stop_all(procs)  # on error and Ctrl-C too: no Locust process outlives the run
        if not part.is_file():
            raise RuntimeError(f"the Locust master wrote no results (exit {master.returncode}); "
                               f"last log line: {last_line(logs / 'master.log')}")


@contextlib.contextmanager
def server_target(name: str, url: str | None, workdir: Path, settings: Settings) -> Iterator[Target]:
    """The given URL, or the backend's own provision (a harness-started server, stopped after)."""
    if url:
        yield Target(url=url, auth_token=os.environ.get(TOKEN_ENV) or None)
        return
    workdir.mkdir()
    with backends.get(name).provision(workdir, settings) as target:
        yield target


def locust_command() -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]


def master_command(name: str, args: argparse.Namespace, host: str, port: int, csv: Path | None) -> list[str]:
    command = locust_command() + [
        "--master", "--headless", "--users", str(args.users), "--spawn-rate", str(args.users),
        "--expect-workers", str(args.workers), "--expect-workers-max-wait", str(READY_TIMEOUT_S),
        "--master-bind-host", host, "--master-bind-port", str(port), "--only-summary",
    ]
    if csv is not None:
        command += ["--csv", str(csv)]
    return command + [user_class_name(name)]


def worker_command(master_host: str, port: int) -> list[str]:
    return locust_command() + ["--worker", "--master-host", master_host, "--master-port", str(port)]


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    # Own session: a Ctrl-C reaches only us, and we stop the children in order; the kernel
    # stops them (die_with_parent) if we are killed outright. Their working directory is
    # ours to keep: Locust puts it on sys.path, where a stray module could shadow another.
    with open(log, "wb") as out:
        return subprocess.Popen(command, env=env, cwd=log.parent, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=die_with_parent)


def stop_all(procs: Sequence[subprocess.Popen]) -> None:
    """Ask every process to stop at once (Locust shuts down cleanly on SIGTERM), then wait
    for each, killing any that takes longer than the grace period."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        stop_process(proc)


def run_worker(master_host: str, port: int) -> int:
    """A worker for a master on another machine, in the foreground, until the master quits."""
    with tempfile.TemporaryDirectory(prefix="storebench-swarm-worker-") as cwd:  # see start()
        proc = subprocess.Popen(worker_command(master_host, port), cwd=cwd, start_new_session=True,
                                preexec_fn=die_with_parent)
        try:
            return proc.wait()
        finally:
            stop_process(proc)


def last_line(log: Path) -> str:
    text = log.read_text(errors="replace") if log.is_file() else ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def interrupted(parts: list[Results], out: Path, signalled: KeyboardInterrupt) -> Interrupted:
    """Ctrl-C or SIGTERM: the backends measured to the end are saved (`complete: false`)."""
    if not parts:
        return Interrupted("no backend had finished; no results file was written", signalled)
    data = combine(parts)
    data.complete = False
    data.dump(out)
    return Interrupted(f"the results of {', '.join(b.name for b in data.backends)} are in {out} "
                       "(complete: false)", signalled)


def combine(parts: list[Results]) -> Results:
    """One results file from the per-backend runs (each written by its Locust master)."""
    data = parts[0]
    for part in parts[1:]:
        data.backends += part.backends
        data.ops += part.ops
        data.run.finished_at = part.run.finished_at
    return data


def print_summary(data: Results, out: Path) -> None:
    run_info = data.run
    print(f"locust {run_info.locust_version}: {run_info.workers} workers, {run_info.users} users, "
          f"{run_info.duration_s:g} s" + (f", open loop at {run_info.params['rate']:g} ops/s"
                                          if run_info.params.get("rate") else ""), file=sys.stderr)
    for b in data.backends:
        window = "" if b.measured_s is None else f", measured {b.measured_s:g} s"
        print(f"{b.name}: {b.status}{window}" + (f" ({b.reason})" if b.reason else ""), file=sys.stderr)
    for o in data.ops:
        if o.n:
            print(f"  {o.backend:<10} {o.op:<20} n={o.n:<7} errors={o.errors:<4} "
                  f"p50={(o.p50_ms or 0) * 1000:.1f} µs  p99={(o.p99_ms or 0) * 1000:.1f} µs  "
                  f"(processes {o.processes})",
                  file=sys.stderr)
    print(f"results: {out}", file=sys.stderr)
