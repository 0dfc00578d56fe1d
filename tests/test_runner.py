"""The runner's own logic: timing loop, overhead, and failure marking (Fake stores here test
the harness, not a backend)."""

from __future__ import annotations

import time

from storebench.backends.base import Settings, Target
from storebench.backends.sqlite3_file import Sqlite3Store
from storebench.core import runner
from storebench.core.timing import time_open_loop, time_steps
from storebench.core.workload import OPS, Params

PARAMS = Params(conversations=5, messages=3, iterations=6, warmup=2, cold_starts=0)


def test_time_steps_records_successes_and_counts_errors_separately():
    def ok():
        pass

    def boom():
        raise RuntimeError("disk on fire")

    steps = [(0, ok, ()), (1, boom, ())] * 5
    timing = time_steps(steps, slots=2, warmup=2)
    assert len(timing.samples[0]) == 4 and len(timing.samples[1]) == 0
    assert timing.errors == [0, 4]
    assert timing.error_examples[1] == ["RuntimeError: disk on fire"] * 3


def test_time_steps_measures_the_call():
    timing = time_steps([(0, time.sleep, (0.002,))] * 3, slots=1)
    assert all(s >= 2_000_000 for s in timing.samples[0])


def test_round_trips_are_counted_per_timed_op_reading_the_counter_once_between_ops():
    """A counter may cost a request (sqld's metrics page): it is read once between two timed
    calls, again after a failed call, and never during the warm-up."""
    server = {"requests": 0, "reads": 0}

    def request(n):
        server["requests"] += n

    def fail():
        server["requests"] += 1
        raise RuntimeError("reset")

    def counter():
        server["reads"] += 1
        return server["requests"]

    steps = [(0, request, (1,)), (1, request, (3,)), (2, fail, ())] * 3
    timing = time_steps(steps, slots=3, warmup=3, round_trips=counter)
    assert timing.round_trips == [2, 6, 0]
    assert server["reads"] == 6  # per round: before the first call, after it, after the second

    # Open loop: a call waits for its start time, and traffic meanwhile is not its own, so the
    # counter is read again after the wait.
    server.update(requests=0, reads=0)
    timing = time_open_loop(steps, slots=3, offsets_ns=[0] * 6, warmup=3, round_trips=counter)
    assert timing.round_trips == [2, 6, 0]
    assert server["reads"] == 10  # before and after each of the 4 calls that returned, before the 2 that failed


def test_observe_sees_each_timed_result_after_its_sample_is_taken():
    """The store-size count happens outside the timed call: a slow observer adds nothing."""
    seen = []

    def observe(slot, result):
        seen.append((slot, result))
        time.sleep(0.003)

    timing = time_steps([(0, lambda: "w", ()), (1, lambda: None, ())] * 3, slots=2, warmup=2,
                               observe=observe)
    assert seen == [(0, "w"), (1, None), (0, "w"), (1, None)]
    assert all(s < 3_000_000 for slot in timing.samples for s in slot)


def test_store_sizes_count_what_load_all_returned():
    from storebench.backends.base import Conversation, Message

    def conversation(cid: str, n: int) -> Conversation:
        return Conversation(cid, "t", 1, 1, [Message(f"{cid}{i}", cid, "user", "x", i) for i in range(n)])

    sizes = runner.StoreSizes(slot=0)
    sizes(0, [conversation("a", 3), conversation("b", 1)])
    sizes(1, [conversation("ignored", 99)])
    sizes(0, [conversation("a", 5)])
    assert sizes.fields() == {"store_conversations_min": 1, "store_conversations_max": 2,
                              "store_messages_min": 4, "store_messages_max": 5}
    sizes.merge({"store_conversations_min": 3, "store_conversations_max": 3,
                 "store_messages_min": 2, "store_messages_max": 9})
    assert sizes.fields() == {"store_conversations_min": 1, "store_conversations_max": 3,
                              "store_messages_min": 2, "store_messages_max": 9}
    assert runner.StoreSizes(0).fields()["store_messages_min"] is None


def test_error_messages_never_carry_secrets():
    def leak():
        raise RuntimeError("bad token sekrit-123")

    timing = time_steps([(0, leak, ())], slots=1, secrets=["sekrit-123"])
    assert timing.error_examples[0] == ["RuntimeError: bad token ***"]


def test_null_op_overhead_is_recorded():
    overhead = runner.measure_overhead(2000)
    assert overhead["op"] == "null" and overhead["n"] > 0 and overhead["p50_ns"] > 0


class FakeLossyStore(Sqlite3Store):
    """Loses every second message: the runner must notice and mark the backend failed."""

    name = "fake-lossy"
    calls = 0

    def add_message(self, message):
        FakeLossyStore.calls += 1
        if FakeLossyStore.calls % 2:
            super().add_message(message)


def test_a_store_that_loses_writes_is_marked_failed(tmp_path):
    entry, ops = runner._measure(FakeLossyStore, Target(path=str(tmp_path / "f.db")), PARAMS, 1, Settings(), None)
    assert entry["status"] == "failed"
    assert entry["reason"].startswith("content after run differs: conversation ")
    assert entry["checks"]["after_preload"] == "ok"


def test_a_correct_store_gets_every_op_with_the_planned_sample_count(tmp_path):
    entry, ops = runner._measure(Sqlite3Store, Target(path=str(tmp_path / "s.db")), PARAMS, 1, Settings(), None)
    assert entry["status"] == "ok", entry["reason"]
    assert entry["checks"] == {"after_preload": "ok", "after_run": "ok"}
    by_op = {o["op"]: o for o in ops}
    assert all(by_op[op]["n"] == PARAMS.iterations and by_op[op]["errors"] == 0 for op in OPS)
    assert by_op["cold_start"]["n"] == 0


def test_cold_start_runs_in_a_fresh_process(tmp_path):
    target = Target(path=str(tmp_path / "c.db"))
    with Sqlite3Store(target, Settings()) as s:
        s.setup_schema()
    samples, problems = runner.cold_starts("sqlite3", target, Settings(), 2)
    assert problems == [] and len(samples) == 2 and all(v > 0 for v in samples)


def test_an_unavailable_backend_says_why_instead_of_vanishing(monkeypatch):
    monkeypatch.setattr(Sqlite3Store, "unavailable_reason", classmethod(lambda cls: "no driver here"))
    entry, ops = runner.run_backend("sqlite3", PARAMS, 1, Settings())
    assert (entry["status"], entry["reason"], ops) == ("unavailable", "no driver here", [])
