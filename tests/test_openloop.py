"""Open-loop timing: latency counts from the intended start, so a stall is charged to every
op queued behind it (no coordinated omission). Fake ops here test the harness, not a backend.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from storebench.backends.base import Settings, Target
from storebench.backends.sqlite3_file import Sqlite3Store
from storebench.core import openloop, runner
from storebench.core.timing import OpenTiming, time_open_loop
from storebench.core.workload import OPS, Params

RATE = 100.0  # ops/s
STALL_S = 1.0


class FakeStallingOp:
    """Does nothing, except that call number `stall_at` blocks for `stall_s` seconds."""

    def __init__(self, stall_at: int, stall_s: float) -> None:
        self.stall_at, self.stall_s, self.calls = stall_at, stall_s, 0

    def __call__(self) -> None:
        if self.calls == self.stall_at:
            time.sleep(self.stall_s)
        self.calls += 1


def analytic_latencies_ns(offsets_ns, service_ns) -> list[int]:
    """Latency from the intended start of ops served one at a time in arrival order (Lindley):
    each starts at max(its intended start, the previous op's end)."""
    out, free_at = [], 0
    for due, service in zip(offsets_ns, service_ns):
        end = max(due, free_at) + service
        out.append(end - due)
        free_at = end
    return out


def nearest_rank(values, p: float) -> float:
    return float(np.percentile(np.asarray(values), p, method="inverted_cdf"))


def run_stall(n: int, arrivals: str, stall_at: int) -> tuple[OpenTiming, list]:
    offsets = openloop.schedule(n, RATE, arrivals, seed=7)
    op = FakeStallingOp(stall_at, STALL_S)
    timing = time_open_loop([(0, op, ())] * n, slots=1, offsets_ns=offsets)
    service = [round(STALL_S * 1e9) if i == stall_at else 0 for i in range(n)]
    return timing, analytic_latencies_ns(offsets, service)


def assert_the_stall_is_charged_to_the_ops_queued_behind_it(timing, analytic, stall_at: int) -> None:
    """What open-loop timing must show, whatever the machine's speed: no op starts before it is
    due and the stall lasts at least STALL_S, so every latency is at least its analytic value
    (a lower bound, exact); the ops due after the queue drained are not charged the stall (their
    median is far below it: a clock started anywhere but at the op's intended start would charge
    them whole seconds); only the stalled call itself looks slow in closed-loop (service) terms;
    and each sample is exactly wait + service."""
    measured = timing.samples[0]
    assert len(measured) == len(analytic) and timing.errors == [0]
    assert all(m >= a for m, a in zip(measured, analytic))
    drained = [m for i, (m, a) in enumerate(zip(measured, analytic)) if i > stall_at and a == 0]
    assert drained and np.median(drained) < STALL_S * 1e9 / 10
    assert [i for i, s in enumerate(timing.service[0]) if s >= STALL_S * 1e9] == [stall_at]
    assert all(lat == w + s for lat, w, s in zip(measured, timing.wait[0], timing.service[0]))


@pytest.mark.slow
def test_uniform_arrivals_stall_p99_is_at_least_the_analytic_value():
    """500 ops 10 ms apart; op 100 stalls 1 s. The op stalling waits 1000 ms; the 99 ops due in
    the next second queue behind it and finish at the same moment, so they see 990, 980, ... 10
    ms; every other op is on time (~0). Nearest-rank p99 of 500 samples is sample 495 ascending,
    the 6th largest: 1000 - 5 * 10 = 950 ms; p90 is the 51st largest: 500 ms."""
    timing, analytic = run_stall(500, "uniform", stall_at=100)
    assert nearest_rank(analytic, 99) == 950e6 and nearest_rank(analytic, 90) == 500e6
    assert_the_stall_is_charged_to_the_ops_queued_behind_it(timing, analytic, stall_at=100)
    assert nearest_rank(timing.samples[0], 99) >= 950e6 and nearest_rank(timing.samples[0], 90) >= 500e6


@pytest.mark.slow
def test_poisson_arrivals_stall_p99_is_at_least_the_analytic_value_of_the_seeded_schedule():
    timing, analytic = run_stall(300, "poisson", stall_at=50)
    expected = nearest_rank(analytic, 99)
    assert expected > 0.5e9  # the stall dominates the tail of this seeded schedule
    assert_the_stall_is_charged_to_the_ops_queued_behind_it(timing, analytic, stall_at=50)
    assert nearest_rank(timing.samples[0], 99) >= expected


def test_schedules_are_deterministic_and_have_the_requested_rate():
    a = openloop.schedule(20_000, 250.0, "poisson", seed=3)
    assert a == openloop.schedule(20_000, 250.0, "poisson", seed=3)
    assert a != openloop.schedule(20_000, 250.0, "poisson", seed=4)
    gaps = np.diff(np.asarray(a)) / 1e9
    assert gaps.mean() == pytest.approx(1 / 250, rel=0.03)
    assert gaps.std() == pytest.approx(1 / 250, rel=0.05)  # exponential: stdev equals mean
    assert list(openloop.schedule(4, 100.0, "uniform", seed=3)) == [0, 10_000_000, 20_000_000, 30_000_000]
    with pytest.raises(ValueError, match="unknown arrivals"):
        openloop.schedule(3, 1.0, "bursty", seed=1)


def test_open_loop_counts_errors_and_skips_nothing():
    def boom():
        raise RuntimeError("locked")

    steps = [(0, lambda: None, ()), (1, boom, ())] * 10
    timing = time_open_loop(steps, 2, openloop.schedule(18, 10_000.0, "uniform", 1), warmup=2)
    assert len(timing.samples[0]) == 9 and timing.errors == [0, 9]
    assert timing.error_examples[1] == ["RuntimeError: locked"] * 3


def test_a_rate_run_records_intended_latency_with_service_and_wait(tmp_path):
    params = Params(conversations=5, messages=2, iterations=8, warmup=1, cold_starts=0)
    load = openloop.OpenLoop(rate=2000.0, arrivals="poisson")
    entry, ops = runner._measure(Sqlite3Store, Target(path=str(tmp_path / "o.db")), params, 1, Settings(), None, load)
    assert entry["status"] == "ok", entry["reason"]
    for o in ops:
        if o["op"] not in OPS:
            assert "latency_basis" not in o  # cold start is not scheduled
            continue
        assert (o["latency_basis"], o["rate_per_s"], o["arrivals"]) == ("intended", 2000.0, "poisson")
        assert o["n"] == len(o["service_samples_ns"]) == len(o["wait_samples_ns"]) == params.iterations
        assert all(w >= 0 for w in o["wait_samples_ns"])
        assert o["samples_ns"] == [s + w for s, w in zip(o["service_samples_ns"], o["wait_samples_ns"])]
        assert o["service_p99_ms"] <= o["max_ms"]
