"""Open-loop load: ops start on a schedule of arrivals, not when the previous op ends.

A closed loop (the default) times each call from when it really starts, so a stall delays
every later op without any of them being charged for it ("coordinated omission"). Here each
op has an intended start drawn from an arrival process at `rate` ops/s; its latency is
measured from that intended start, as a user who clicked at that moment would see it, and
split into queue wait (intended start -> real start) and service time (real start -> end).
This module holds the schedule and the results fields; the loop is the timing core's
(`storebench.core.timing.time_open_loop`).
"""

from __future__ import annotations

import random
from array import array
from dataclasses import dataclass

from storebench.core.timing import OpenTiming
from storebench.model import stats

ARRIVALS = ("poisson", "uniform")


@dataclass(frozen=True)
class OpenLoop:
    """The open-loop options of a run: `rate` ops/s with Poisson or evenly spaced arrivals."""

    rate: float
    arrivals: str = "poisson"


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
