"""The timing core: the one loop that times calls, for the closed loop, the open loop and the
concurrent workers alike (`time_steps` and `time_open_loop` are its two faces), the one wait
until a deadline (open-loop arrivals, injected delays), and how failed calls are counted.

A sample is a `perf_counter_ns` pair around one call and nothing else; samples go into
preallocated integer arrays; statistics come afterwards (storebench.model.stats). Closed
loop: each call starts when the previous one ended and is timed from its real start. Open
loop: each call has an intended start on a schedule and is timed from that intended start, so
a stall is charged to every call queued behind it (no coordinated omission).
"""

from __future__ import annotations

import sys
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from storebench.backends.base import OpTimeout
from storebench.model.secrets import scrub

ERROR_EXAMPLES = 3
PROGRESS_EVERY = 25
# Sleep until this close to a deadline, then spin: a sleep can overshoot by a scheduler tick.
SLEEP_MARGIN_NS = 2_000_000
BUSY_WORDS = ("locked", "busy")

Step = tuple[int, Callable, tuple]  # (slot, function, arguments)


@dataclass
class Timing:
    samples: list[array]
    errors: list[int]
    error_examples: list[list[str]]
    round_trips: list[int]
    failed: list[int]  # indices of the steps that raised (warm-up too): their writes are unacknowledged
    timeouts: list[int]  # per slot: the errors that were op time-outs (OpTimeout)
    busy: list[int]  # per slot: the errors that were `database is locked` / busy


@dataclass
class OpenTiming(Timing):
    """`samples` hold latency from the intended start; `service` and `wait` its two parts."""

    service: list[array]
    wait: list[array]


def is_busy(text: str) -> bool:
    """A `database is locked` / SQLITE_BUSY error, in any driver's wording."""
    lowered = text.lower()
    return any(word in lowered for word in BUSY_WORDS)


class Failures:
    """What the timed calls that raised left behind, per slot: how many, how many were op
    time-outs or busy errors, and the first few messages (secrets scrubbed)."""

    def __init__(self, slots: int, secrets: Sequence[str | None] = ()) -> None:
        self.errors = [0] * slots
        self.timeouts = [0] * slots
        self.busy = [0] * slots
        self.examples: list[list[str]] = [[] for _ in range(slots)]
        self.secrets = list(secrets)

    def record(self, slot: int, exc: Exception) -> None:
        text = scrub(f"{type(exc).__name__}: {exc}", self.secrets)
        self.errors[slot] += 1
        self.timeouts[slot] += isinstance(exc, OpTimeout)
        self.busy[slot] += is_busy(text)
        if len(self.examples[slot]) < ERROR_EXAMPLES:
            self.examples[slot].append(text[:300])


def no_round_trips() -> int:
    return 0


def wait_until(deadline_ns: int, clock: Callable[[], int] = time.perf_counter_ns) -> None:
    """Return at `deadline_ns` (on `clock`) or just after, never before."""
    greenlets = _under_gevent()
    while True:
        remaining = deadline_ns - clock()
        if remaining <= 0:
            return
        if remaining > SLEEP_MARGIN_NS:
            time.sleep((remaining - SLEEP_MARGIN_NS) / 1e9)
        elif greenlets:
            # Inside a gevent process (a Locust user: bench/core/locustfiles/) a spin without
            # yielding would hold up every other user of that process.
            time.sleep(0)
        # Elsewhere the last stretch spins without yielding: a process that gives up the CPU
        # there, on a busy machine, comes back to cold caches, and the ops after an injected
        # delay were measured 20-50 % slower (an A/B test under load flagged them).


def _under_gevent() -> bool:
    """Whether time.sleep is gevent's (the process was monkey-patched)."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("time"))


@dataclass
class _Run:
    samples: list[array]
    waits: list[array] | None  # open loop: intended start -> real start, per sample
    failures: Failures
    round_trips: list[int]
    failed: list[int]

    def timing(self) -> Timing:
        f = self.failures
        return Timing(self.samples, f.errors, f.examples, self.round_trips, self.failed, f.timeouts, f.busy)


def _run(steps: Sequence[Step], slots: int, warmup: int, round_trips: Callable[[], int],
         progress: Callable[[int], None] | None, secrets: Sequence[str | None],
         observe: Callable[[int, object], None] | None, offsets_ns: Sequence[int] | None,
         begin_ns: int | None) -> _Run:
    """The loop. The first `warmup` steps run untimed, back to back; then each call is timed.
    With `offsets_ns`, timed step `warmup + k` first waits until `offsets_ns[k]` after the
    timed part begins (`begin_ns`, default: when it begins) and is timed from then."""
    if offsets_ns is not None and len(offsets_ns) < len(steps) - warmup:
        raise ValueError(f"schedule has {len(offsets_ns)} starts for {len(steps) - warmup} steps")
    counts = [0] * slots
    for slot, _, _ in steps[warmup:]:
        counts[slot] += 1
    samples = [array("q", bytes(8 * n)) for n in counts]
    waits = None if offsets_ns is None else [array("q", bytes(8 * n)) for n in counts]
    filled, trips = [0] * slots, [0] * slots
    failures = Failures(slots, secrets)
    failed: list[int] = []
    clock = time.perf_counter_ns
    begin = begin_ns
    # The counter's reading after the previous timed call, when nothing has run since: it is
    # also this call's reading before. A counter may cost a request (sqld's metrics page), and
    # asking it twice per op was a third of sqld's rounds' wall time.
    reading: int | None = None
    for i, (slot, fn, args) in enumerate(steps):
        timed = i >= warmup
        intended = None
        if timed and offsets_ns is not None:
            if begin is None:
                begin = clock()
            intended = begin + offsets_ns[i - warmup]
            wait_until(intended, clock)
            reading = None  # time has passed: traffic meanwhile (a replica's sync) is not this op's
        rt0 = (round_trips() if reading is None else reading) if timed else 0
        reading = None
        t0 = clock()
        try:
            result = fn(*args)
            t1 = clock()
        except Exception as exc:
            failed.append(i)  # warm-up errors are not measured, but their writes are unacknowledged
            if timed:
                failures.record(slot, exc)
            continue
        if timed:
            k = filled[slot]
            if intended is None:
                samples[slot][k] = t1 - t0
            else:
                samples[slot][k] = t1 - intended
                waits[slot][k] = t0 - intended  # type: ignore[index]  # set whenever intended is
            filled[slot] = k + 1
            reading = round_trips()
            trips[slot] += reading - rt0
            if observe is not None:
                observe(slot, result)
        result = None  # freed here, outside the sample, also when nothing observes it
        if progress is not None and i % PROGRESS_EVERY == 0:
            progress(i)
    cut = [a[:n] for a, n in zip(samples, filled)]
    return _Run(cut, None if waits is None else [a[:n] for a, n in zip(waits, filled)], failures, trips, failed)


def time_steps(
    steps: Sequence[Step],
    slots: int,
    warmup: int = 0,
    round_trips: Callable[[], int] = no_round_trips,
    progress: Callable[[int], None] | None = None,
    secrets: Sequence[str | None] = (),
    observe: Callable[[int, object], None] | None = None,
) -> Timing:
    """Closed loop: call each step's function; time the calls after the first `warmup` steps.

    A failing call is counted as an error of its slot (with its message), not as a sample.
    `observe(slot, returned value)` is called for each timed call that returned, after the
    second clock read. A sample is the call until it returns: its result is freed after the
    clock read too (outside the sample, also when nothing observes it).
    """
    return _run(steps, slots, warmup, round_trips, progress, secrets, observe, None, None).timing()


def time_open_loop(
    steps: Sequence[Step],
    slots: int,
    offsets_ns: Sequence[int],
    warmup: int = 0,
    round_trips: Callable[[], int] = no_round_trips,
    progress: Callable[[int], None] | None = None,
    secrets: Sequence[str | None] = (),
    begin_ns: int | None = None,
) -> OpenTiming:
    """Open loop: run the first `warmup` steps back to back (untimed), then the rest on the
    schedule: step `warmup + k` is due `offsets_ns[k]` after the timed part begins (`begin_ns`,
    a `perf_counter_ns` time; default: now). A late step starts at once; nothing is skipped, so
    a stall queues the steps behind it, as real users would. A caller running one schedule in
    pieces passes the same `begin_ns` to each, so lateness carries over between pieces.
    """
    run = _run(steps, slots, warmup, round_trips, progress, secrets, None, offsets_ns, begin_ns)
    closed, waits = run.timing(), run.waits or []
    service = [array("q", (s - w for s, w in zip(lat, wait))) for lat, wait in zip(run.samples, waits)]
    return OpenTiming(closed.samples, closed.errors, closed.error_examples, closed.round_trips, closed.failed,
                      closed.timeouts, closed.busy, service=service, wait=waits)
