"""What the Locust users of a swarm run measured, and how the master merges it exactly.

Each user keeps its raw samples (ns, per op) and ships them to the master at the end in
chunks, then a summary (`done`): its seed, how many plan rounds it ran, which plan steps'
writes are unacknowledged, its errors, how many samples it sent, and how long it measured
(stopped before its window was over, or not). The master merges the
raw samples of every user into one op entry per op, so its percentiles are those of the
concatenated samples: exact, at nanosecond resolution, not Locust's rounded buckets.

No Locust import here: the merge is plain data, tested without starting anything.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from storebench.backends.base import Conversation
from storebench.core import openloop, safety
from storebench.core.runner import op_entry
from storebench.core.timing import ERROR_EXAMPLES, OpenTiming
from storebench.core.workload import Params, Step, Workload
from storebench.model import stats

KINDS = ("latency", "service", "wait")  # service and wait only in open-loop runs
CHUNK = 50_000  # samples per message: a few hundred kB of msgpack


def chunks(values: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield list(values[start:start + size])


@dataclass
class UserRecord:
    """One user's measurements, as kept by the user and rebuilt by the master."""

    user: str  # "<worker index>:<user index in that worker>"
    worker: int
    seed: int
    slots: int
    rounds: int = 0  # plan rounds started (warm-up included): the plan is rebuilt from seed and rounds
    failed: list[int] = field(default_factory=list)  # plan step indices whose writes are unacknowledged
    errors: list[int] = field(default_factory=list)
    timeouts: list[int] = field(default_factory=list)
    examples: list[list[str]] = field(default_factory=list)
    samples: dict[str, list[array]] = field(default_factory=dict)
    window_ns: int = 0  # from the go to the user's end, on its process's clock
    cut_short: bool = False  # stopped (by Locust) before its window was over

    def __post_init__(self) -> None:
        self.errors = self.errors or [0] * self.slots
        self.timeouts = self.timeouts or [0] * self.slots
        self.examples = self.examples or [[] for _ in range(self.slots)]
        self.samples = self.samples or {kind: [array("q") for _ in range(self.slots)] for kind in KINDS}

    def add_timing(self, timing, round_start: int, round_steps: int) -> None:
        """A round timed by `timing.time_steps` or `timing.time_open_loop`: its `round_steps`
        plan steps have plan indices from `round_start`; the backend's extra ops (no writes)
        come after them."""
        for slot in range(self.slots):
            self.samples["latency"][slot].extend(timing.samples[slot])
            if isinstance(timing, OpenTiming):
                self.samples["service"][slot].extend(timing.service[slot])
                self.samples["wait"][slot].extend(timing.wait[slot])
            self.errors[slot] += timing.errors[slot]
            self.timeouts[slot] += timing.timeouts[slot]
            room = ERROR_EXAMPLES - len(self.examples[slot])
            self.examples[slot].extend(timing.error_examples[slot][:max(0, room)])
        self.failed.extend(round_start + i for i in timing.failed if i < round_steps)

    def messages(self) -> Iterator[tuple[str, dict]]:
        """(message type, data) to send to the master: sample chunks, then the summary."""
        for kind, per_slot in self.samples.items():
            for slot, values in enumerate(per_slot):
                for part in chunks(values, CHUNK):
                    yield "storebench_samples", {"user": self.user, "kind": kind, "slot": slot, "values": part}
        yield "storebench_done", {
            "user": self.user, "worker": self.worker, "seed": self.seed, "slots": self.slots, "rounds": self.rounds,
            "failed": self.failed, "errors": self.errors, "timeouts": self.timeouts, "examples": self.examples,
            "counts": {kind: [len(v) for v in per_slot] for kind, per_slot in self.samples.items()},
            "window_ns": self.window_ns, "cut_short": self.cut_short,
        }


class Collector:
    """The master's side: sample chunks and summaries as they arrive, per user."""

    def __init__(self) -> None:
        self.samples: dict[tuple[str, str, int], array] = {}
        self.done: dict[str, dict] = {}

    def add_samples(self, data: dict) -> None:
        self.samples.setdefault((data["user"], data["kind"], data["slot"]), array("q")).extend(data["values"])

    def add_done(self, data: dict) -> None:
        self.done[data["user"]] = data

    def records(self) -> tuple[list[UserRecord], list[str]]:
        """Every user that reported, in user order, and the problems found (a user whose
        samples did not all arrive)."""
        out, problems = [], []
        for user in sorted(self.done, key=_user_order):
            d = self.done[user]
            got = {kind: [self.samples.get((user, kind, s), array("q")) for s in range(d["slots"])] for kind in KINDS}
            sizes = {kind: [len(a) for a in per_slot] for kind, per_slot in got.items()}
            if sizes != d["counts"]:
                problems.append(f"user {user}: samples received {sizes} differ from those sent {d['counts']}")
                continue
            out.append(UserRecord(user, d["worker"], d["seed"], d["slots"], d["rounds"], d["failed"], d["errors"],
                                  d["timeouts"], d["examples"], got, d["window_ns"], d["cut_short"]))
        return out, problems


def measured_s(users: Sequence[UserRecord]) -> float | None:
    """The window every user measured, s: the shortest user's (None without users)."""
    return round(min(u.window_ns for u in users) / 1e9, 3) if users else None


def window_problem(users: Sequence[UserRecord], duration_s: float, missing: int, workers: int) -> str | None:
    """Why the users did not all measure the window asked for, or None: users stopped before
    their window was over (Locust stops the test when its last worker goes missing), or
    workers that went missing for a while (their users' samples have a gap)."""
    gone = f"{missing} of {workers} workers missed their heartbeats and Locust counted them missing" if missing else ""
    cut = [u for u in users if u.cut_short]
    if cut:
        shortest = min(u.window_ns for u in cut) / 1e9
        return (f"{len(cut)} of {len(users)} users were stopped {shortest:.1f} s into the {duration_s:g} s window"
                + (f" ({gone})" if gone else ""))
    return f"{gone}: their users' samples have a gap" if gone else None


def _user_order(user: str) -> tuple[int, ...]:
    return tuple(int(part) for part in user.split(":"))


def merged_ops(backend: str, names: Sequence[str], users: Sequence[UserRecord],
               load: openloop.OpenLoop | None) -> list[dict]:
    """One op entry per op over every user's samples (concatenated in user order), with the
    spread between worker processes (`processes`, `process_p50_ms`, `between_process_cv`)."""
    if load is not None:
        service = [_concat(u.samples["service"][s] for u in users) for s in range(len(names))]
        wait = [_concat(u.samples["wait"][s] for u in users) for s in range(len(names))]
        timing = OpenTiming([], [], [], [], [], [], [], service=service, wait=wait)
    ops = []
    for slot, op in enumerate(names):
        samples = _concat(u.samples["latency"][slot] for u in users)
        examples = [e for u in users for e in u.examples[slot]][:ERROR_EXAMPLES]
        entry = op_entry(backend, op, samples, sum(u.errors[slot] for u in users), examples, None,
                         sum(u.timeouts[slot] for u in users))
        entry.update(process_spread(users, slot))
        if load is not None:
            entry.update(openloop.open_loop_fields(timing, slot, load))
        ops.append(entry)
    return ops


def _concat(parts) -> array:
    out = array("q")
    for part in parts:
        out.extend(part)
    return out


def process_spread(users: Sequence[UserRecord], slot: int) -> dict:
    """The sample count and p50 of each worker process that has samples of this op, and the
    p50s' coefficient of variation (sample standard deviation over mean; None below two)."""
    by_worker: dict[int, array] = {}
    for u in users:
        by_worker.setdefault(u.worker, array("q")).extend(u.samples["latency"][slot])
    measured = [s for _, s in sorted(by_worker.items()) if len(s)]
    p50s = [stats.summarize(s)["p50_ms"] for s in measured]
    cv = float(np.std(p50s, ddof=1) / np.mean(p50s)) if len(p50s) > 1 and np.mean(p50s) > 0 else None
    return {"processes": len(p50s), "process_n": [len(s) for s in measured], "process_p50_ms": p50s,
            "between_process_cv": cv}


def user_plan(params: Params, seed: int, rounds: int) -> tuple[Workload, list[Step]]:
    """A user's workload and the steps of its first `rounds` rounds, drawn a round at a time
    as the user draws them, so the master rebuilds exactly the steps the user ran."""
    workload = Workload(params, seed)
    return workload, [step for _ in range(rounds) for step in workload.plan(1)]


def check_writes(params: Params, users: Sequence[UserRecord],
                 actual: Sequence[Conversation] | None) -> tuple[str | None, dict]:
    """No acknowledged write lost, over every user (bench/core/safety.py): users touch only their
    own conversations, so their plans concatenated are one plan of disjoint steps. Other
    conversations in the store (a given server's earlier data) are not ours and are left out.
    `actual` None: the store could not be read (what is lost is unknown)."""
    clients = []
    for u in users:
        workload, plan = user_plan(params, u.seed, u.rounds)
        clients.append((workload.initial_state, plan, u.failed))
    return safety.check_clients(clients, actual)
