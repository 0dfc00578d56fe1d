"""One backend's store in one process, measured a chunk of rounds at a time.

A session owns an open, preloaded store and the backend's workload (built from the seed, so
every process of every backend plans the same steps). `start` checks the preload and runs the
warm-up rounds untimed; each `run(k)` plans the next k rounds and times them through
`storebench.core.timing.time_steps` (or the store's own `time_plan` for `self_timed` stores); `finish`
checks that no acknowledged write was lost and closes the store. A worker process
(bench/core/backend_worker.py) drives one session for the coordinator (bench/core/coordinator.py).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from storebench.backends.base import Settings, Store, StoreError, Target
from storebench.core.inject import Injection
from storebench.core.runner import (
    StoreSizes,
    _calls,
    _round_trip_counter,
    backend_entry,
    check_writes,
    freeze_heap,
    prepare,
)
from storebench.core.timing import Timing, time_steps
from storebench.core.workload import OPS, Params, Step, Workload
from storebench.model.secrets import scrub

LOAD_ALL = OPS.index("load_all")


class Session:
    def __init__(self, cls: type[Store], target: Target, params: Params, seed: int, settings: Settings,
                 inject: Injection | None = None) -> None:
        if inject is not None and cls.self_timed:
            raise StoreError(f"--inject cannot reach {cls.name}: it times its calls in its own runtime")
        self.cls = cls
        self.names = OPS + tuple(cls.extra_ops)
        self.workload = Workload(params, seed)
        self.store = cls(target, settings)
        self.secrets = [target.auth_token]
        self.inject = inject
        self.entry = backend_entry(cls, "ok")
        self.entry["target"] = target.public()
        self.plan: list[Step] = []
        self.calls: list[tuple[int, Callable, tuple]] = []
        self.failed: list[int] = []  # indices into self.calls of the calls that raised
        self.warmup_rounds = 0
        self.timed_rounds = 0
        self.idle_rounds = 0  # untimed rounds that kept the store's connections alive
        self.counted = False
        self.opened = False
        self.round_s: float | None = None  # one warm-up round's wall time

    def start(self, warmup_rounds: int) -> bool:
        """Open, prepare and warm up; False (the entry says why) when the preload is wrong."""
        self.entry["emulated"] = self.store.emulated  # known once provisioned
        self.store.open()
        self.opened = True
        if not prepare(self.store, self.workload, self.entry):
            return False
        self.counted = self.store.round_trips() is not None  # asked now: a dead server cannot answer later
        self.warmup_rounds = warmup_rounds
        t0 = time.perf_counter()
        self._time(warmup_rounds, timed=False)
        self.round_s = (time.perf_counter() - t0) / warmup_rounds if warmup_rounds else None
        return True

    def run(self, rounds: int) -> dict:
        """Time the next `rounds` rounds: per op its samples, errors and round trips, and the
        store size load_all returned."""
        self.timed_rounds += rounds
        timing, sizes = self._time(rounds, timed=True)
        ops = {}
        for slot, name in enumerate(self.names):
            ops[name] = {"samples_ns": list(timing.samples[slot]), "errors": timing.errors[slot],
                         "timeouts": timing.timeouts[slot], "error_examples": timing.error_examples[slot],
                         "round_trips": timing.round_trips[slot] if self.counted else None}
        return {"rounds": rounds, "ops": ops, "store": sizes.fields()}

    def idle(self, rounds: int) -> None:
        """Run the next `rounds` rounds untimed, and a load_all (keeps connections that expire
        when idle alive: a plan round may not read, with load_every > 1, and a store that
        reads from elsewhere than it writes, as sqld-replica does, needs both kept alive)."""
        self.idle_rounds += rounds
        self._time(rounds, timed=False)
        self.store.load_all()  # read-only: the plan and the expected state are unchanged

    def _time(self, rounds: int, timed: bool) -> tuple[Timing, StoreSizes]:
        steps = self.workload.plan(rounds)
        calls = _calls(self.store, self.names, steps, self.inject)
        base = len(self.calls)
        self.plan += steps
        self.calls += calls
        untimed = 0 if timed else len(calls)
        sizes = StoreSizes(LOAD_ALL)
        freeze_heap()  # stays frozen between chunks; finish() unfreezes
        if self.cls.self_timed:
            timing = self.store.time_plan([(slot, self.names[slot], args) for slot, _, args in calls],
                                          len(self.names), untimed, store_size=sizes.count)
        else:
            timing = time_steps(calls, len(self.names), untimed, _round_trip_counter(self.store),
                                secrets=self.secrets, observe=sizes)
        self.failed += [base + i for i in timing.failed]
        return timing, sizes

    def finish(self, observe: bool = True) -> dict:
        """Check the writes (the store against the plan run so far), record observations
        (unless `observe` is false) and close the store; the backend entry."""
        try:
            if self.opened and self.entry["status"] == "ok":
                problem, self.entry["writes"] = check_writes(self.workload, self.plan, self.calls, self.failed,
                                                             self.store, self.secrets)
                self.entry["checks"]["after_run"] = problem or "ok"
            if self.opened and self.entry["status"] == "ok" and observe:
                try:
                    observed = self.store.observations()
                except Exception as exc:  # the timings stand; say what could not be observed
                    observed = {"error": scrub(f"{type(exc).__name__}: {exc}", self.secrets)[:300]}
                if observed:
                    self.entry["observations"] = observed
        finally:
            gc.unfreeze()
            if self.opened:
                self.store.close()
                self.opened = False
        self.entry["rounds"] = {"timed": self.timed_rounds, "warmup": self.warmup_rounds, "idle": self.idle_rounds,
                                "fraction": self.cls.rounds_fraction}
        return self.entry
