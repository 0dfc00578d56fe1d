"""Open-loop load: ops start on a schedule of arrivals, not when the previous op ends.

A closed loop (the default) times each call from when it really starts, so a stall delays
every later op without any of them being charged for it ("coordinated omission"). Here each
op has an intended start drawn from an arrival process at `rate` ops/s; its latency is
measured from that intended start, as a user who clicked at that moment would see it, and
split into queue wait (intended start -> real start) and service time (real start -> end).
"""

from __future__ import annotations

import random
import time
from array import array
from dataclasses import dataclass
from typing import Callable, Sequence

from storebench.model import stats
from storebench.core.runner import PROGRESS_EVERY, Failures, Timing, _no_round_trips

ARRIVALS = ("poisson", "uniform")
SLEEP_MARGIN_NS = 2_000_000  # sleep until this close to the intended start, then spin: sleep overshoots


@dataclass(frozen=True)
class OpenLoop:
    """The open-loop options of a run: `rate` ops/s with Poisson or evenly spaced arrivals."""

    rate: float
    arrivals: str = "poisson"


@dataclass
class OpenTiming(Timing):
    """`samples` hold latency from the intended start; `service` and `wait` its two parts."""

    service: list[array]
    wait: list[array]


def schedule(n: int, rate: float, arrivals: str, seed: int) -> array:
    """Intended start of each of `n` ops, in ns after the first; the same for a given seed.

    Poisson arrivals have exponential gaps of mean 1/rate; uniform ones are exactly 1/rate apart.
    """
    if arrivals not in ARRIVALS:
        raise ValueError(f"unknown arrivals {arrivals!r}; valid: {', '.join(ARRIVALS)}")
    gap_ns = 1e9 / rate
    if arrivals == "uniform":
        return array("q", (round(i * gap_ns) for i in range(n)))
    rng = random.Random(seed)
    out, t = array("q"), 0.0
    for _ in range(n):
        out.append(round(t))
        t += rng.expovariate(1.0) * gap_ns
    return out


def _wait_until(deadline_ns: int, clock: Callable[[], int]) -> None:
    while True:
        remaining = deadline_ns - clock()
        if remaining <= 0:
            return
        # The last stretch spins for precision; sleep(0) in it lets other greenlets run when
        # this loop runs inside a gevent process (a Locust user: bench/swarm_locustfile.py),
        # where a spin without yielding would hold up every other user of that process.
        time.sleep((remaining - SLEEP_MARGIN_NS) / 1e9 if remaining > SLEEP_MARGIN_NS else 0)


def time_open_loop(
    steps: Sequence[tuple[int, Callable, tuple]],
    slots: int,
    offsets_ns: Sequence[int],
    warmup: int = 0,
    round_trips: Callable[[], int] = _no_round_trips,
    progress: Callable[[int], None] | None = None,
    secrets: Sequence[str | None] = (),
    begin_ns: int | None = None,
) -> OpenTiming:
    """Run the first `warmup` steps back to back (untimed), then the rest on the schedule:
    step `warmup + k` is due `offsets_ns[k]` after the timed part begins (`begin_ns`, a
    `perf_counter_ns` time; default: now). A late step starts at once; nothing is skipped, so
    a stall queues the steps behind it, as real users would. A caller running one schedule
    in pieces passes the same `begin_ns` to each, so lateness carries over between pieces.
    """
    timed = steps[warmup:]
    if len(offsets_ns) < len(timed):
        raise ValueError(f"schedule has {len(offsets_ns)} starts for {len(timed)} steps")
    failed: list[int] = []
    for i, (_, fn, args) in enumerate(steps[:warmup]):
        try:
            fn(*args)
        except Exception:
            failed.append(i)  # warm-up errors are not measured, but their writes are unacknowledged
    counts = [0] * slots
    for slot, _, _ in timed:
        counts[slot] += 1
    latency, service, wait = ([array("q", bytes(8 * n)) for n in counts] for _ in range(3))
    filled, trips = [0] * slots, [0] * slots
    failures = Failures(slots, secrets)
    clock = time.perf_counter_ns
    begin = clock() if begin_ns is None else begin_ns
    for i, (slot, fn, args) in enumerate(timed):
        intended = begin + offsets_ns[i]
        _wait_until(intended, clock)
        rt0 = round_trips()
        t0 = clock()
        try:
            fn(*args)
            t1 = clock()
        except Exception as exc:
            failed.append(warmup + i)
            failures.record(slot, exc)
            continue
        k = filled[slot]
        latency[slot][k], service[slot][k], wait[slot][k] = t1 - intended, t1 - t0, t0 - intended
        filled[slot] = k + 1
        trips[slot] += round_trips() - rt0
        if progress is not None and i % PROGRESS_EVERY == 0:
            progress(warmup + i)
    cut = [a[:n] for a, n in zip(latency, filled)]
    return OpenTiming(cut, failures.errors, failures.examples, trips, failed, failures.timeouts, failures.busy,
                      service=[a[:n] for a, n in zip(service, filled)], wait=[a[:n] for a, n in zip(wait, filled)])


def open_loop_fields(timing: OpenTiming, slot: int, load: OpenLoop) -> dict:
    """The additive fields of an op entry measured open-loop (see bench/model/results.py)."""
    service, wait = timing.service[slot], timing.wait[slot]
    out: dict = {"latency_basis": "intended", "rate_per_s": load.rate, "arrivals": load.arrivals}
    for name, samples in (("service", service), ("wait", wait)):
        summary = stats.summarize(samples)
        for key in ("p50_ms", "p99_ms", "max_ms", "mean_ms"):
            out[f"{name}_{key}"] = summary[key]
        out[f"{name}_samples_ns"] = list(samples)
    return out
