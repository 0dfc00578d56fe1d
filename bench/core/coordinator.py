"""The coordinator: each backend measured by several fresh worker processes, their rounds
interleaved, sampling until each op's p50 is known to ±3 % (docs/measurement.md).

A worker is described by a `WorkerSpec`: the backend, the Python interpreter that starts it
(so two installations of storebench can be measured side by side), a side label and an
optional `--inject` spec applied inside the worker. Specs with the same (backend, side) form
a group; each group gets `processes` workers (bench/core/backend_worker.py), each with its own
store built from the same seed. All workers start, provision and warm up together; then the
coordinator hands out "run the next k rounds" in cycles: every group's next worker in turn
(its processes round-robin), the backends in a seeded random order each cycle and a
backend's sides (`ab`'s base and head) back to back, in A B / B A order on alternate cycles,
so whatever the machine does at any moment hits every group alike, and every side follows the
same mix of neighbours. Only one worker runs at a time. A group stops when every op's p50
95 % confidence interval is within `StoppingRule.ci` (or at its cap of rounds). A worker
whose store's connections expire when idle (`Store.idle_timeout_s`, e.g. sqld-replica's
Hrana stream to the replica) runs an untimed round and a load_all before it would reach
70 % of that limit. When all timing is done, every worker checks its writes and closes its
store (all at once); then each group's first worker runs the cold starts, one group after the
other, and last the capability probes, several groups at a time (they check behaviour, not
speed). Each backend entry records the seconds of each phase (`phase_s`).
"""

from __future__ import annotations

import json
import os
import random
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

from storebench import backends
from storebench.backends.base import Settings, Store
from storebench.core import safety
from storebench.core.inject import Injection
from storebench.core.inject import parse as parse_inject
from storebench.core.runner import StoreSizes, _rounds, backend_entry, mark_failures, op_entry
from storebench.core.timing import ERROR_EXAMPLES
from storebench.core.workload import COLD_START, OPS, Params
from storebench.errors import StorebenchError
from storebench.model import stats
from storebench.servers.processes import pipes

PROCESSES = 3
READY_TIMEOUT_S = 600  # provisioning, preloading and warming up, all workers at once
KEEP_ALIVE_POLL_S = 1.0  # while waiting for a worker, how often the others' idle time is checked
KEEP_ALIVE_AT = 0.7  # refresh a store's connections before they have been idle this share of their limit
FINISH_TIMEOUT_S = 1800  # cold starts and probes
STOP_GRACE_S = 10
PROBES_AT_ONCE = 6  # groups whose capability probes run at the same time (after all timing)
PHASES = ("ready", "rounds", "check", "cold_starts", "probes")


@dataclass(frozen=True)
class WorkerSpec:
    backend: str
    side: str = ""  # a label for one of two code versions (issue 11's base and head); "" for one
    python: str = sys.executable
    inject: str | None = None  # an --inject spec for this backend, applied inside the worker
    # The STOREBENCH_BACKEND_MODULES its environment sees (`ab`: each side its own version of a
    # user's file); None: this process's.
    backend_modules: str | None = None


@dataclass(frozen=True)
class StoppingRule:
    ci: float = 0.03  # stop an op once its p50's 95 % interval is within ±3 % of it ...
    min_samples: int = 30  # ... and it has at least this many samples
    chunk_s: float = 0.05  # the wall time a chunk of rounds aims at: fine interleaving
    max_chunk_rounds: int = 20
    # A group's cap is run in at least this many chunks (where it has the rounds), so two
    # backends share enough cycles to be compared block by block (bench/reports/paired.py):
    # at 20 rounds a chunk, smoke's 30 rounds were 2 chunks, too few to pair.
    min_chunks: int = 12
    # Each process runs at least this many rounds, so its own p50 (the between-process
    # spread) means something: a slow backend's small share (turso-replica: 10 rounds) runs in
    # one process rather than in three of 3 rounds, each with its own warm-up.
    min_process_rounds: int = 20


RULE = StoppingRule()


class WorkerFailed(StorebenchError):
    """A worker crashed, reported an error or did not answer in time (message: why)."""


class Worker:
    """One worker process and its pipe."""

    def __init__(self, spec: WorkerSpec, index: int, request: dict) -> None:
        self.index = index
        self.stderr = tempfile.TemporaryFile(mode="w+")
        # Workers use numpy for text and percentiles, never its BLAS: one OpenBLAS thread (not
        # one per core) halves numpy's import, which some 40 workers do at once.
        env = {"OPENBLAS_NUM_THREADS": "1", **os.environ}
        if spec.backend_modules is not None:
            env[backends.MODULES_VARIABLE] = spec.backend_modules
        # -P: not the current folder first on sys.path (as -m would put it), so a worker imports
        # its own environment's packages: `ab` run in head's checkout gave base's workers head's
        # copy of a user's package, found in the folder.
        self.proc = subprocess.Popen([spec.python, "-P", "-m", "storebench.core.backend_worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr, text=True, env=env)
        self.stdin, self.stdout = pipes(self.proc)
        self.pinned: int | str | None = None
        self.round_s: float | None = None
        self.ready = False  # it has provisioned, preloaded and warmed up its store
        self.finished = False  # its store is checked and closed
        self.last_seen = time.monotonic()  # when it last answered: how long it has been idle
        self.send(request)

    def send(self, message: dict) -> None:
        try:
            self.stdin.write(json.dumps(message) + "\n")
            self.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerFailed(f"worker {self.index} is gone: {self.last_error()}") from None

    def answered(self, timeout_s: float) -> bool:
        """Whether the worker has written an answer, waiting at most `timeout_s`."""
        return bool(select.select([self.stdout], [], [], timeout_s)[0])

    def receive(self, timeout_s: float) -> dict:
        if not self.answered(timeout_s):
            raise WorkerFailed(f"worker {self.index} did not answer within {timeout_s:.0f} s")
        line = self.stdout.readline()
        if not line:
            self.proc.wait(STOP_GRACE_S)
            raise WorkerFailed(f"worker {self.index} exited {self.proc.returncode}: {self.last_error()}")
        self.last_seen = time.monotonic()
        reply = json.loads(line)
        if "error" in reply:
            raise WorkerFailed(reply["error"])
        return reply

    def ask(self, message: dict, timeout_s: float) -> dict:
        self.send(message)
        return self.receive(timeout_s)

    def last_error(self) -> str:
        self.stderr.seek(0)
        lines = [line for line in self.stderr.read().splitlines() if line.strip()]
        return lines[-1][:300] if lines else "no output"

    def let_go(self) -> None:
        """Close its stdin: it stops what it started and exits; `stop` then waits for that."""
        try:
            self.stdin.close()
        except OSError:
            pass

    def stop(self) -> None:
        """Close its stdin (it stops what it started and exits), then terminate, then kill."""
        if self.stdout.closed:
            return
        self.let_go()
        for signal_it in (None, self.proc.terminate, self.proc.kill):
            if signal_it is not None:
                signal_it()
            try:
                self.proc.wait(STOP_GRACE_S)
                break
            except subprocess.TimeoutExpired:
                continue
        self.stdout.close()
        self.stderr.close()


@dataclass
class Measured:
    """One group's results: its backend entry, its op entries, and each op's samples per
    process (for callers that compare processes, e.g. A/B pairs)."""

    spec: WorkerSpec
    entry: dict
    ops: list[dict] = field(default_factory=list)
    per_process: dict[str, list[list[int]]] = field(default_factory=dict)


class Group:
    """The workers of one (backend, side) and everything they measured so far."""

    def __init__(self, spec: WorkerSpec, cls: type[Store], params: Params, processes: int,
                 rule: StoppingRule = RULE) -> None:
        self.spec = spec
        self.rule = rule
        self.cls = cls
        self.names = OPS + tuple(cls.extra_ops)
        self.cap, warmup = _rounds(cls, params)
        self.processes = max(1, min(processes, self.cap // rule.min_process_rounds))
        # The profile's warm-up shared by the processes (each warms its own caches, at least
        # one round): the same warm-up work as one process did.
        self.warmup = max(1, -(-warmup // self.processes)) if warmup else 0
        # load_all opens every `load_every`-th round of each process's plan; a group whose
        # processes run only a few rounds each (a slow remote backend's share) reads more
        # often, so its load_all still gets samples from every process, and at least
        # ENOUGH_SAMPLES in all where the cap allows (a recommendation needs them).
        every = min(params.load_every, self.cap // self.processes // 4, self.cap // stats.ENOUGH_SAMPLES)
        self.params = replace(params, load_every=max(1, every))
        self.workers: list[Worker] = []
        self.samples: dict[str, list[list[int]]] = {op: [[] for _ in range(self.processes)] for op in self.names}
        self.in_order: dict[str, list[int]] = {op: [] for op in self.names}
        # Per op, one [cycle, process, samples] per chunk, in the order of `in_order`: what
        # pairs two backends' samples measured at the same time (bench/reports/paired.py).
        self.chunks: dict[str, list[list[int]]] = {op: [] for op in self.names}
        self.errors = {op: 0 for op in self.names}
        self.timeouts = {op: 0 for op in self.names}
        self.examples: dict[str, list[str]] = {op: [] for op in self.names}
        self.trips: dict[str, int | None] = {op: 0 for op in self.names}
        self.sizes = StoreSizes(OPS.index("load_all"))
        self.rounds = 0
        self.worker_rounds = [0] * self.processes
        self.chunk_rounds = 1
        self.entry: dict | None = None  # set when the group is finished (or failed)
        self.finals: list[dict] = []  # each worker's entry after its write check
        self.done = False
        self.phase_s = dict.fromkeys(PHASES, 0.0)  # ready: its slowest worker's; the others: its own time
        self.slowest_round_s = 0.0  # the longest a round of this group took (warm-up included)
        self.cold: dict = {"samples_ns": [], "problems": []}
        self.capabilities: dict | None = None

    def add_phase(self, phase: str, seconds: float) -> None:
        self.phase_s[phase] += seconds

    @property
    def label(self) -> str:
        return f"{self.spec.backend}@{self.spec.side}" if self.spec.side else self.spec.backend

    def fail(self, reason: str) -> None:
        self.entry = backend_entry(self.cls, "failed", reason)
        self.done = True
        for worker in self.workers:
            worker.stop()

    def next_worker(self) -> Worker:
        """The worker that has run the fewest rounds (the first of them): the group's samples
        spread evenly over its processes whatever the chunk sizes."""
        return min(self.workers, key=lambda w: (self.worker_rounds[w.index], w.index))

    def share(self, worker: Worker) -> int:
        """Rounds this worker may still run: the cap split evenly over the processes (the first
        ones take the remainder), so process i of two groups ran the same calls (`ab` pairs)."""
        quota = self.cap // self.processes + (worker.index < self.cap % self.processes)
        return quota - self.worker_rounds[worker.index]

    def add(self, worker: Worker, reply: dict, cycle: int) -> None:
        self.rounds += reply["rounds"]
        self.worker_rounds[worker.index] += reply["rounds"]
        for op, got in reply["ops"].items():
            self.samples[op][worker.index] += got["samples_ns"]
            self.in_order[op] += got["samples_ns"]
            if got["samples_ns"]:
                self.chunks[op].append([cycle, worker.index, len(got["samples_ns"])])
            self.errors[op] += got["errors"]
            self.timeouts[op] += got["timeouts"]
            self.examples[op] = (self.examples[op] + got["error_examples"])[:ERROR_EXAMPLES]
            self.trips[op] = None if got["round_trips"] is None else (self.trips[op] or 0) + got["round_trips"]
        self.sizes.merge(reply["store"])
        if self.rounds >= self.cap or all(self.precise(op) for op in self.names):
            self.done = True

    def precise(self, op: str) -> bool:
        """Whether `op`'s p50 is known well enough: enough samples, from every process, and a
        95 % interval within ±rule.ci."""
        rule, samples = self.rule, self.in_order[op]
        if len(samples) < rule.min_samples or not all(per for per in self.samples[op]):
            return False
        p50 = stats.summarize(samples)["p50_ms"]
        return stats.ci_half_width(p50, *(stats.p50_ci_ms(samples) or (None, None))) <= rule.ci

    def stop_reason(self, op: str) -> str:
        """"ci": the interval reached ±rule.ci; "cap": the group's rounds ran out first.
        The rounds stay the plan's even once load_all's p50 is precise: leaving the read out
        changes what the writes are measured after (caches it evicted stay warm; a job
        measured `update_title` 60 % faster in rounds without load_all)."""
        return "ci" if self.precise(op) else "cap"


def backend_specs(names: Sequence[str], injection: Injection | None = None) -> list[WorkerSpec]:
    """One spec per backend, in this interpreter; `injection` (bench.inject) goes to its backend."""
    return [WorkerSpec(name, inject=injection.record()["spec"] if injection and injection.backend == name else None)
            for name in names]


def measure(specs: Sequence[WorkerSpec], params: Params, seed: int, settings: Settings,
            processes: int = PROCESSES, pin_cpu: int | None = None, rule: StoppingRule = RULE,
            progress: Callable[[str, int, int], None] | None = None,
            done: Callable[[Measured], None] | None = None) -> list[Measured]:
    """Measure every spec's backend interleaved; one `Measured` per spec, in order. `done` is
    called with each as soon as it is complete (so a caller can save it), and on Ctrl-C
    (KeyboardInterrupt, SIGTERM too where the caller raises one for it) with what each group
    not yet handed over measured so far (`_interrupted`) before the interruption goes on."""
    groups: list[Group] = []
    results: list[Measured] = []
    # Availability first, for every backend, before any worker starts: it imports drivers here,
    # which took 0.5 s idle but 3 s once 30 starting workers shared the 2 cores with it.
    unavailable = {spec.backend: backends.unavailable_reason(spec.backend) for spec in specs}
    try:
        for spec in specs:
            groups.append(_start(spec, params, seed, settings, processes, pin_cpu, rule, unavailable[spec.backend]))
        _await_ready(groups)
        _interleave(groups, random.Random(seed), progress)
        _checks(groups)  # right after the timing: no store waits long enough to expire
        for group in groups:
            _cold_starts(group, params)
        _probes(groups, params)
        # All at once: each worker stops its servers and runtimes while the others do (one
        # after another, 16 backends took 1.8 s here).
        for group in groups:
            for worker in group.workers:
                worker.let_go()
        for group in groups:
            measured = _entries(group)
            results.append(measured)
            if done:
                done(measured)
        return results
    except KeyboardInterrupt:
        if done:
            for group in groups[len(results):]:
                done(_interrupted(group))
        raise
    finally:
        for group in groups:
            for worker in group.workers:
                worker.stop()


def _start(spec: WorkerSpec, params: Params, seed: int, settings: Settings, processes: int,
           pin_cpu: int | None, rule: StoppingRule, reason: str | None) -> Group:
    cls = backends.get(spec.backend)
    group = Group(spec, cls, params, processes, rule)
    if reason:
        group.entry = backend_entry(cls, "unavailable", reason)
        group.done = True
        return group
    request = {"protocol": 1, "backend": spec.backend, "params": asdict(group.params), "seed": seed,
               "settings": asdict(settings), "inject": spec.inject, "pin_cpu": pin_cpu,
               "warmup_rounds": group.warmup}
    try:
        for i in range(group.processes):
            group.workers.append(Worker(spec, i, request))
    except (OSError, WorkerFailed) as exc:  # e.g. no such interpreter
        group.fail(f"cannot start a worker with {spec.python}: {exc}")
    return group


def _await_ready(groups: list[Group]) -> None:
    """Wait for every worker to be ready, taking the answers in the order they come; meanwhile
    the workers already ready are kept alive (with many backends, preparing all of them takes
    longer than sqld keeps an idle stream: a default run with 19 backends lost sqld's and
    sqld-replica's connections while it waited for other backends' workers)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    waiting = [(g, w) for g in groups if g.entry is None for w in g.workers]
    while waiting:
        if time.monotonic() > deadline:
            for group, worker in waiting:
                group.fail(f"worker {worker.index} was not ready within {READY_TIMEOUT_S} s")
            return
        ready = select.select([w.stdout for _, w in waiting], [], [], KEEP_ALIVE_POLL_S)[0]
        for group, worker in [(g, w) for g, w in waiting if w.stdout in ready]:
            waiting.remove((group, worker))
            if group.entry is None:
                _take_ready(group, worker)
        waiting = [(g, w) for g, w in waiting if g.entry is None]
        _keep_alive(groups)
    for group in groups:
        if group.entry is None:
            slowest = max((w.round_s for w in group.workers if w.round_s), default=None)
            group.chunk_rounds = _chunk_rounds(slowest, group.rule, group.cap)
            group.slowest_round_s = slowest or 0.0


def _take_ready(group: Group, worker: Worker) -> None:
    """The worker's "ready" answer: it is ready, or the group is done (failed or not ready)."""
    try:
        reply = worker.receive(KEEP_ALIVE_POLL_S)
    except WorkerFailed as exc:
        group.fail(str(exc))
        return
    if not reply["ready"]:
        group.entry = reply["entry"]
        group.done = True
        for other in group.workers:
            other.stop()
        return
    worker.ready = True
    worker.pinned, worker.round_s = reply["pinned_cpu"], reply["round_s"]
    group.phase_s["ready"] = max(group.phase_s["ready"], reply.get("ready_s", 0.0))


def _chunk_rounds(round_s: float | None, rule: StoppingRule, cap: int) -> int:
    if not round_s:
        return 1
    return max(1, min(rule.max_chunk_rounds, cap // rule.min_chunks, round(rule.chunk_s / round_s)))


def _cycle_order(active: list[Group], cycle: int, rng: random.Random) -> list[Group]:
    """One cycle's turns: the backends in random order, each backend's sides back to back,
    first side first in even cycles and last in odd ones. A fixed order reversed every other
    cycle (A B C D, D C B A) put a side after the same neighbour every time: in an `ab` job
    under a CPU hog, apsw's base always ran right after sqlite3's injected head, and apsw's
    head never did; apsw.load_all then differed by +8 % in all three pairs, same code both sides."""
    blocks: dict[str, list[Group]] = {}
    for group in active:
        blocks.setdefault(group.spec.backend, []).append(group)
    order = list(blocks.values())
    rng.shuffle(order)
    return [group for block in order for group in (block if cycle % 2 == 0 else block[::-1])]


def _interleave(groups: list[Group], rng: random.Random, progress: Callable[[str, int, int], None] | None) -> None:
    cycle = 0
    while True:
        active = [g for g in groups if not g.done]
        if not active:
            return
        for group in _cycle_order(active, cycle, rng):
            worker = group.next_worker()
            count = min(group.chunk_rounds, group.share(worker))
            # Before a chunk, not after: the others must not expire while it runs (a slow
            # backend's one round can take seconds, more on a loaded machine).
            _keep_alive(groups, ahead_s=KEEP_ALIVE_POLL_S + 1.5 * count * group.slowest_round_s)
            if group.done:  # failed while kept alive
                continue
            started = time.monotonic()
            try:
                reply = worker.ask({"cmd": "rounds", "count": count}, _chunk_timeout(count))
            except WorkerFailed as exc:
                group.fail(str(exc))
                continue
            elapsed = time.monotonic() - started
            group.add_phase("rounds", elapsed)
            group.add(worker, reply, cycle)
            group.slowest_round_s = max(group.slowest_round_s, elapsed / count)
            # Aim the next chunks at rule.chunk_s as rounds get cheaper (load_all left out).
            group.chunk_rounds = _chunk_rounds(elapsed / count, group.rule, group.cap)
            if progress:
                progress(group.label, group.rounds, group.cap)
        cycle += 1


def _chunk_timeout(rounds: int) -> float:
    return 120.0 + 60.0 * rounds * len(OPS)


def _keep_alive(groups: list[Group], ahead_s: float = KEEP_ALIVE_POLL_S) -> None:
    """An untimed round on every live worker whose store's connections expire when idle
    (`Store.idle_timeout_s`) and that would otherwise have waited KEEP_ALIVE_AT of that long
    `ahead_s` from now (what the caller runs next may take that long; until this is called
    again). Nothing else runs meanwhile. Only when needed: each is a round of the worker's
    store, and a default run that refreshed every worker idle for half the limit before every
    slow chunk spent a quarter of its time on 1,193 such rounds."""
    for group in groups:
        limit = group.cls.idle_timeout_s
        if limit is None or group.entry is not None:
            continue
        for worker in group.workers:
            idle_s = time.monotonic() - worker.last_seen
            if worker.ready and not worker.finished and idle_s + ahead_s > KEEP_ALIVE_AT * limit:
                try:
                    worker.ask({"cmd": "idle", "count": 1}, _chunk_timeout(1))
                except WorkerFailed as exc:
                    group.fail(str(exc))
                    break


def _checks(groups: list[Group]) -> None:
    """Every worker of every group checks its writes and closes its store (each group's first
    also records the backend's observations); all but each group's first then exit. The checks
    are untimed and asked of all workers at once: none then waits idle for its turn (a store
    with an idle limit cannot expire), and on 2 cores the phase takes its slowest check, not
    the sum (17 backends: about 8 s one after another)."""
    started = time.monotonic()
    asked: list[tuple[Group, Worker]] = []
    for group in groups:
        if group.entry is not None:  # unavailable, failed, or not ready
            continue
        for worker in group.workers:
            try:
                worker.send({"cmd": "finish", "observe": worker.index == 0})
            except WorkerFailed as exc:
                group.fail(f"while checking the writes: {exc}")
                break
            asked.append((group, worker))
    for group, worker in asked:  # a group's workers in order: finals[0] is its first's
        if group.entry is not None:
            continue
        try:
            group.finals.append(worker.receive(FINISH_TIMEOUT_S)["entry"])
        except WorkerFailed as exc:
            group.fail(f"while checking the writes: {exc}")
            continue
        worker.finished = True
        if worker.index:
            worker.stop()
        if len(group.finals) == len(group.workers):
            group.add_phase("check", time.monotonic() - started)


def _cold_starts(group: Group, params: Params) -> None:
    """The group's first worker times the cold starts (nothing else runs meanwhile)."""
    if group.entry is not None or not params.cold_starts:
        return
    try:
        group.cold = group.workers[0].ask({"cmd": "cold_starts", "count": params.cold_starts}, FINISH_TIMEOUT_S)
    except WorkerFailed as exc:
        group.fail(f"while running cold starts: {exc}")
        return
    group.add_phase("cold_starts", group.cold["seconds"])


def _probes(groups: list[Group], params: Params) -> None:
    """The probes of up to PROBES_AT_ONCE groups at a time, once all timing is done: they
    check behaviour (a crash, a token, a second device), not speed, and mostly wait on
    child processes, so running several at once shortens the run without touching a figure."""
    if not params.probes:
        return
    # Slowest rounds first: a backend behind a (emulated) WAN or a Node client also probes
    # slowest (its probes' writers pay the round trips), so it should not start last.
    queue = sorted((g for g in groups if g.entry is None and g.finals[0]["status"] == "ok"),
                   key=lambda g: -g.slowest_round_s)
    running: list[Group] = []
    while queue or running:
        while queue and len(running) < PROBES_AT_ONCE:
            group = queue.pop(0)
            try:
                group.workers[0].send({"cmd": "probes"})
                running.append(group)
            except WorkerFailed as exc:
                group.fail(f"while running the probes: {exc}")
        answered = [g for g in running if g.workers[0].answered(0.1)]
        for group in answered:
            running.remove(group)
            try:
                reply = group.workers[0].receive(0)
            except WorkerFailed as exc:
                group.fail(f"while running the probes: {exc}")
                continue
            group.capabilities = reply["capabilities"]
            group.add_phase("probes", reply["seconds"])


def _entries(group: Group) -> Measured:
    """The group's entries, from everything it measured."""
    if group.entry is not None:
        group.entry.setdefault("side", group.spec.side or None)
        return Measured(group.spec, group.entry)
    group.workers[0].stop()  # exited already, or exiting (measure let every worker go)
    ops = _timed_ops(group)
    cold = group.cold
    if group.params.cold_starts:  # none asked for (smoke): no cold_start entry, not an empty one
        ops.append(op_entry(group.cls.name, COLD_START, cold["samples_ns"], len(cold["problems"]),
                            cold["problems"][:ERROR_EXAMPLES]))
    entry = _merged_entry(group, group.finals)
    if group.capabilities is not None:
        entry["capabilities"] = group.capabilities
    mark_failures(entry, entry["checks"].get("after_run"), ops)
    return Measured(group.spec, entry, ops, {op: group.samples[op] for op in group.names})


def _interrupted(group: Group) -> Measured:
    """What a group measured before Ctrl-C: every sample of its timed rounds so far, with the
    backend marked failed (its rounds did not finish and its writes were not checked)."""
    if group.entry is not None:  # unavailable, or failed before: its entry says why
        return _entries(group)
    entry = backend_entry(group.cls, "failed", f"interrupted after {group.rounds} of at most {group.cap} "
                                               "timed rounds; its writes were not checked")
    entry["checks"] = {"after_run": "not checked (the run was interrupted)"}
    entry["side"] = group.spec.side or None
    entry["processes"] = group.processes
    entry["phase_s"] = {phase: round(seconds, 2) for phase, seconds in group.phase_s.items()}
    ops = _timed_ops(group) if group.rounds else []
    return Measured(group.spec, entry, ops, {op: group.samples[op] for op in group.names})


def _timed_ops(group: Group) -> list[dict]:
    """An op entry for each timed op, from every sample the group's rounds took."""
    ops = [_op_entry(group, op) for op in group.names]
    ops[OPS.index("load_all")].update(group.sizes.fields())
    if group.spec.inject:  # marked on the op itself too, so no report can mistake it for real
        for op in parse_inject(group.spec.inject, [group.spec.backend]).ops:
            ops[OPS.index(op)]["injected"] = group.spec.inject
    return ops


def _op_entry(group: Group, op: str) -> dict:
    samples = group.in_order[op]
    trips = group.trips[op]
    entry = op_entry(group.cls.name, op, samples, group.errors[op], group.examples[op],
                     trips / len(samples) if trips is not None and samples else None, group.timeouts[op])
    low, high = stats.p50_ci_ms(samples) or (None, None)
    per_process = [stats.summarize(s)["p50_ms"] for s in group.samples[op] if s]
    entry.update({"p50_ci_low_ms": low, "p50_ci_high_ms": high, "stop_reason": group.stop_reason(op),
                  "processes": len(per_process), "process_p50_ms": per_process,
                  "between_process_cv": stats.cv(per_process), "chunks": group.chunks[op]})
    if group.spec.side:
        entry["side"] = group.spec.side
    return entry


def _merged_entry(group: Group, finals: list[dict]) -> dict:
    """The first worker's entry (versions, settings, probes), with every worker's checks, writes
    and rounds folded in."""
    entry = dict(finals[0])
    problems = [f["checks"].get("after_run") for f in finals if f["checks"].get("after_run") not in (None, "ok")]
    entry["checks"] = {**entry["checks"], "after_run": problems[0] if problems else "ok"}
    entry["writes"] = safety.merge([f.get("writes") for f in finals])
    entry["rounds"] = {"timed": group.rounds, "warmup": group.warmup, "fraction": group.cls.rounds_fraction,
                       "cap": group.cap, "per_process": [f["rounds"]["timed"] for f in finals],
                       "idle": sum(f["rounds"]["idle"] for f in finals), "load_every": group.params.load_every}
    entry["processes"] = group.processes
    entry["pinned_cpu"] = [w.pinned for w in group.workers]
    entry["side"] = group.spec.side or None
    entry["phase_s"] = {phase: round(seconds, 2) for phase, seconds in group.phase_s.items()}
    entry["wall_s"] = round(sum(group.phase_s.values()) - group.phase_s["ready"], 2)
    failed = next((f for f in finals if f["status"] != "ok"), None)
    if failed is not None:
        entry.update(status="failed", reason=failed["reason"])
    return entry
