"""Runs the workload against each backend and turns raw samples into results entries.

Per backend: provision -> open -> schema -> preload -> verify -> warm-up + timed plan ->
verify -> cold starts in fresh processes. The calls are timed by the timing core
(bench/core/timing.py), closed or open loop; statistics come afterwards.
"""

from __future__ import annotations

import contextlib
import gc
import json
import select
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import cast

from storebench import backends
from storebench.backends.base import Conversation, Settings, Store, StoreError, Target
from storebench.core import openloop, safety
from storebench.core.inject import Injection, wrap
from storebench.core.timing import ERROR_EXAMPLES, OpenTiming, no_round_trips, time_open_loop, time_steps
from storebench.core.workload import COLD_START, OPS, Params, Workload, difference
from storebench.model import stats
from storebench.model.secrets import scrub

Progress = Callable[[str, int, int], None]  # (backend, done, total)
COLD_START_TIMEOUT_S = 120


class StoreSizes:
    """The store size each timed `load_all` returned (conversations and messages, min and
    max), counted by `time_steps`'s `observe` hook after the clock read: recorded, not assumed."""

    def __init__(self, slot: int) -> None:
        self.slot = slot
        self.conversations: list[int] = []  # [min, max] once anything was seen
        self.messages: list[int] = []

    def __call__(self, slot: int, result: object) -> None:
        if slot == self.slot:
            conversations = cast("list[Conversation]", result)  # what load_all (this slot's op) returns
            self.count(len(conversations), sum(len(c.messages) for c in conversations))

    def count(self, conversations: int, messages: int) -> None:
        """One load_all's answer: `conversations` holding `messages` in all."""
        self.merge({"store_conversations_min": conversations, "store_conversations_max": conversations,
                    "store_messages_min": messages, "store_messages_max": messages})

    def merge(self, fields: dict) -> None:
        """Fold in another count's fields (another chunk's, another process's)."""
        if fields.get("store_conversations_min") is None:
            return
        for name, span in (("conversations", self.conversations), ("messages", self.messages)):
            low, high = fields[f"store_{name}_min"], fields[f"store_{name}_max"]
            span[:] = [min(span[0], low), max(span[1], high)] if span else [low, high]

    def fields(self) -> dict:
        """The load_all entry's store_* fields (None where no load_all returned)."""
        out: dict[str, int | None] = {}
        for name, span in (("conversations", self.conversations), ("messages", self.messages)):
            out[f"store_{name}_min"], out[f"store_{name}_max"] = (span[0], span[1]) if span else (None, None)
        return out


def freeze_heap() -> None:
    """Keep the harness's own objects (model, plan, arguments) out of the garbage collector's
    scans while timing: otherwise a full collection triggered inside an op would walk them too,
    and the op's tail latency would grow with the harness's memory, not the backend's work.
    The collector still runs on whatever the ops allocate after this call. Objects frozen by an
    earlier call are not scanned again (the collection here walks only what is new), so a
    session can call it before every chunk of rounds: unfreezing after each chunk made the next
    call walk the whole heap, 35 ms per chunk with SQLAlchemy's ORM loaded, a third of its
    rounds' wall time."""
    gc.collect()
    gc.freeze()


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """`freeze_heap` for the duration of the block."""
    freeze_heap()
    try:
        yield
    finally:
        gc.unfreeze()


def _null_op() -> None:
    return None


def measure_overhead(n: int = 20_000) -> dict:
    """The harness's own cost per sample: a no-op timed through `time_steps`."""
    timing = time_steps([(0, _null_op, ())] * n, slots=1, warmup=min(1000, n // 10))
    return {"op": "null", **stats.overhead_summary(timing.samples[0])}


def op_entry(backend: str, op: str, samples: Sequence[int], errors: int = 0,
             error_examples: Sequence[str] = (), round_trips: float | None = None, timeouts: int = 0) -> dict:
    return {
        "backend": backend,
        "op": op,
        "n": len(samples),
        "errors": errors,
        "timeouts": timeouts,  # of the errors, how many were op time-outs
        "error_examples": list(error_examples),
        **stats.summarize(samples),
        "round_trips": round_trips,
        "samples_ns": list(samples),
    }


def cold_starts(name: str, target: Target, settings: Settings, count: int) -> tuple[list[int], list[str]]:
    """`count` fresh processes, each timing import + open + first load_all. They start together
    and load the interpreter and the harness (untimed; started and loaded one after another,
    that was about a third of the cold-start phase); then each is timed alone, one at a time,
    the next sent its request only once the last has exited."""
    request = json.dumps({"backend": name, "target": asdict(target), "settings": asdict(settings)})
    procs = [subprocess.Popen([sys.executable, "-m", "storebench.core.coldstart"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(count)]
    samples, problems = [], []
    try:
        for proc in procs:  # all loaded before any is timed
            _await_line(proc, COLD_START_TIMEOUT_S)
        for proc in procs:
            out, err = proc.communicate(request, timeout=COLD_START_TIMEOUT_S)
            if proc.returncode == 0:
                samples.append(int(json.loads(out)["ns"]))
            else:
                last = (err.strip().splitlines() or ["no output"])[-1]
                problems.append(scrub(f"cold start exited {proc.returncode}: {last}", [target.auth_token])[:300])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None and not stream.closed:
                    stream.close()
    return samples, problems


def _await_line(proc: subprocess.Popen, timeout_s: float) -> None:
    """Wait for the process's `ready` line (or its exit: communicate then reports why)."""
    assert proc.stdout is not None
    if select.select([proc.stdout], [], [], timeout_s)[0]:
        proc.stdout.readline()


def backend_entry(cls: type[Store], status: str, reason: str | None = None) -> dict:
    return {
        "name": cls.name, "kind": cls.kind, "description": cls.description, "driver": cls.driver,
        "driver_version": None, "sqlite_version": None, "settings": None,
        "emulated": cls.emulated, "status": status, "reason": reason,
        "target": None, "checks": {}, "op_timeout": cls.op_timeout,
    }


def run_backend(name: str, params: Params, seed: int, settings: Settings,
                progress: Progress | None = None, load: openloop.OpenLoop | None = None,
                inject: Injection | None = None, note: Callable[[str], None] | None = None) -> tuple[dict, list[dict]]:
    """Everything measured for one backend: its results entry and its op entries.

    `load` given: the timed rounds run open-loop at its rate (bench/core/openloop.py).
    `inject` adds a known delay to one op of one backend (see bench/core/inject.py).
    `note` is told what runs after the timed rounds (the probes take seconds).
    """
    cls = backends.get(name)
    reason = backends.unavailable_reason(name)
    if reason:
        return backend_entry(cls, "unavailable", reason), []
    with tempfile.TemporaryDirectory(prefix=f"storebench-{name}-") as tmp:
        try:
            with cls.provision(Path(tmp), settings) as target:
                injected = inject if inject is not None and inject.backend == name else None
                entry, ops = _measure(cls, target, params, seed, settings, progress, load, injected)
                if params.probes:
                    if note:
                        note(f"{name}: capability probes (crash, two writers, backup, auth, second device)")
                    from storebench.capabilities import probes  # loaded only to probe: most processes never do

                    entry["capabilities"] = probes.run_all(cls, target, settings, Path(tmp))
                return entry, ops
        except Exception as exc:  # the backend failed; the run goes on with the others
            entry = backend_entry(cls, "failed", f"{type(exc).__name__}: {exc}")
            return entry, []


def _measure(cls: type[Store], target: Target, params: Params, seed: int, settings: Settings,
             progress: Progress | None, load: openloop.OpenLoop | None = None,
             inject: Injection | None = None) -> tuple[dict, list[dict]]:
    entry = backend_entry(cls, "ok")
    entry["target"] = target.public()
    secrets = [target.auth_token]
    workload = Workload(params, seed)
    store = cls(target, settings)
    entry["emulated"] = store.emulated  # known once provisioned (real or emulated)
    store.open()
    try:
        if not prepare(store, workload, entry):
            return entry, []
        names = OPS + tuple(cls.extra_ops)
        iterations, warmup_rounds = _rounds(cls, params)
        entry["rounds"] = {"timed": iterations, "warmup": warmup_rounds, "fraction": cls.rounds_fraction}
        plan = workload.plan(warmup_rounds)
        warmup = len(_calls(store, names, plan))
        plan += workload.plan(iterations)
        calls = _calls(store, names, plan, inject)
        report = (lambda i: progress(cls.name, i, len(calls))) if progress else None
        counted = store.round_trips() is not None  # asked before the run: a dead server cannot answer after
        sizes = StoreSizes(OPS.index("load_all"))
        open_timing: OpenTiming | None = None  # timed open-loop (--rate): with the service and wait times
        with frozen_heap():
            if cls.self_timed:  # timed in the store's own runtime (a Node process, a page)
                if load is not None or inject is not None:
                    raise StoreError(f"{cls.name} times its calls itself: --rate and --inject do not apply to it")
                timing = store.time_plan([(slot, names[slot], args) for slot, _, args in calls], len(names), warmup,
                                         store_size=sizes.count)
            elif load is None:
                timing = time_steps(calls, len(names), warmup, _round_trip_counter(store), report, secrets, sizes)
            else:
                offsets = openloop.schedule(len(calls) - warmup, load.rate, load.arrivals, seed)
                timing = open_timing = time_open_loop(calls, len(names), offsets, warmup,
                                                      _round_trip_counter(store), report, secrets)
        problem, entry["writes"] = check_writes(workload, plan, calls, timing.failed, store, secrets)
        entry["checks"]["after_run"] = problem or "ok"
        try:
            observed = store.observations()
        except Exception as exc:  # the timings stand; say what could not be observed
            observed = {"error": scrub(f"{type(exc).__name__}: {exc}", secrets)[:300]}
        if observed:
            entry["observations"] = observed
    finally:
        store.close()
    ops = [
        op_entry(cls.name, op, timing.samples[i], timing.errors[i], timing.error_examples[i],
                 timing.round_trips[i] / len(timing.samples[i]) if counted and len(timing.samples[i]) else None,
                 timing.timeouts[i])
        for i, op in enumerate(names)
    ]
    ops[OPS.index("load_all")].update(sizes.fields())
    if load is not None and open_timing is not None:
        for i, entry_op in enumerate(ops):
            entry_op.update(openloop.open_loop_fields(open_timing, i, load))
    if inject is not None:  # marked on the op itself too, so no report can mistake it for real
        for op in inject.ops:
            ops[OPS.index(op)]["injected"] = inject.record()["spec"]
    cold, cold_problems = cold_starts(cls.name, target, settings, params.cold_starts)
    ops.append(op_entry(cls.name, COLD_START, cold, len(cold_problems), cold_problems[:ERROR_EXAMPLES]))
    mark_failures(entry, problem, ops)
    if progress:
        progress(cls.name, len(calls), len(calls))
    return entry, ops


def prepare(store: Store, workload: Workload, entry: dict) -> bool:
    """Record the store's versions and settings, create the schema, preload the initial state
    and check it reads back exactly; False (the entry marked failed) when it does not."""
    entry.update(store.describe())
    store.setup_schema()
    store.preload(workload.initial_state)
    problem = difference(workload.initial_state, store.load_all())
    entry["checks"]["after_preload"] = problem or "ok"
    if problem:
        entry.update(status="failed", reason=f"content after preload differs: {problem}")
    return not problem


def mark_failures(entry: dict, problem: str | None, ops: Sequence[dict]) -> None:
    """Mark the backend failed when its content check found `problem` or any op had errors."""
    failures = []
    if problem and problem != "ok":
        failures.append(problem if problem.startswith("not checked") else f"content after run differs: {problem}")
    if any(o["errors"] for o in ops):
        failures.append("errors in " + ", ".join(f"{o['op']} ({o['errors']})" for o in ops if o["errors"]))
    if failures:
        entry.update(status="failed", reason="; ".join(filter(None, [entry.get("reason"), *failures])))


def check_writes(workload: Workload, plan: Sequence[tuple[str, tuple]], calls: Sequence[tuple[int, Callable, tuple]],
                 failed: Sequence[int], store: Store, secrets: Sequence[str | None]) -> tuple[str | None, dict]:
    """No acknowledged write lost (bench/core/safety.py): the store's content against the plan,
    with the steps that raised counted as unacknowledged. A store that cannot be read any more
    (its server died) is reported as not checked, with the error, and what is lost as unknown."""
    failed_args = {id(calls[i][2]) for i in failed}  # plan steps' argument tuples are the calls' own
    unacknowledged = {k for k, (_, args) in enumerate(plan) if args and id(args) in failed_args}
    try:
        actual = store.load_all()
    except Exception as exc:
        message = scrub(f"{type(exc).__name__}: {exc}", list(secrets))[:300]
        return (f"not checked: the store could not be read after the run ({message})",
                safety.unchecked(workload.initial_state, plan, unacknowledged))
    return safety.check(workload.initial_state, plan, unacknowledged, actual)


def _rounds(cls: type[Store], params: Params) -> tuple[int, int]:
    """(timed, warm-up) rounds: the profile's, scaled by the backend's `rounds_fraction`."""
    if cls.rounds_fraction >= 1:
        return params.iterations, params.warmup
    timed = min(params.iterations, max(2, round(params.iterations * cls.rounds_fraction)))
    return timed, min(params.warmup, max(1, round(params.warmup * cls.rounds_fraction)))


def _calls(store: Store, names: Sequence[str], steps: Sequence[tuple[str, tuple]],
           inject: Injection | None = None) -> list[tuple[int, Callable, tuple]]:
    """The plan as (slot, bound method, args), with the backend's extra ops after each round,
    and the injected delay (if any) wrapped around its op's method."""
    methods = {name: getattr(store, name) for name in names}
    if inject is not None:
        for op in inject.ops:
            methods[op] = wrap(methods[op], inject)
    calls = []
    for op, args in steps:
        calls.append((names.index(op), methods[op], args))
        if op == OPS[-1]:  # the end of a round
            calls += [(names.index(extra), methods[extra], ()) for extra in names[len(OPS):]]
    return calls


def _round_trip_counter(store: Store) -> Callable[[], int]:
    if store.round_trips() is None:
        return no_round_trips
    return lambda: store.round_trips() or 0
