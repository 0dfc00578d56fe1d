"""No acknowledged write lost: the check after a run with errors (bench/core/safety.py)."""

from dataclasses import replace

from storebench.core import safety
from storebench.core.workload import Params, Workload

PARAMS = Params(conversations=5, messages=2, iterations=4, warmup=0, cold_starts=0)


def applied(workload: Workload, steps, skip: set[int]):
    """The store as it would be if exactly the steps not in `skip` had been applied."""
    state, _ = safety.replay(workload.initial_state, steps, skip)
    return safety._ordered(state.values())


def first(steps, op: str) -> int:
    return next(i for i, (name, _) in enumerate(steps) if name == op)


def first_lasting_message(steps) -> int:
    """The first add_message whose conversation is still there at the end (so whether it was
    applied can be seen)."""
    deleted = {args[0] for name, args in steps if name == "delete_conversation"}
    return next(i for i, (name, args) in enumerate(steps)
                if name == "add_message" and args[0].conversation_id not in deleted)


def test_without_errors_the_store_must_equal_the_plans_end_state():
    w = Workload(PARAMS, 1)
    steps = w.plan(4)
    problem, counts = safety.check(w.initial_state, steps, set(), w.model.snapshot())
    assert problem is None
    assert counts["unacknowledged"] == 0 and counts["acknowledged"] == 16


def test_an_unacknowledged_write_may_be_applied_or_not_and_is_reported_as_such():
    w = Workload(PARAMS, 1)
    steps = w.plan(4)
    failed = first_lasting_message(steps)
    for store, applied_count in ((applied(w, steps, {failed}), 0), (applied(w, steps, set()), 1)):
        problem, counts = safety.check(w.initial_state, steps, {failed}, store)
        assert problem is None
        assert counts["unacknowledged"] == 1
        assert counts["unacknowledged_applied"] == applied_count
        assert counts["unacknowledged_not_applied"] == 1 - applied_count


def test_a_lost_acknowledged_message_fails_even_in_a_conversation_an_error_touched():
    w = Workload(PARAMS, 1)
    steps = w.plan(4)
    store = applied(w, steps, set())
    failed, target = next((i, args[0]) for i, (op, args) in enumerate(steps)
                          if op == "update_title" and any(c.id == args[0] and c.messages for c in store))
    store = applied(w, steps, {failed})
    damaged = [replace(c, messages=c.messages[1:]) if c.id == target else c for c in store]
    problem, counts = safety.check(w.initial_state, steps, {failed}, damaged)
    assert problem is not None and "acknowledged write lost" in problem
    assert counts["lost"]


def test_a_lost_acknowledged_create_elsewhere_fails():
    w = Workload(PARAMS, 1)
    steps = w.plan(4)
    failed = first(steps, "add_message")
    store = applied(w, steps, {failed})
    _, uncertain = safety.replay(w.initial_state, steps, {failed})
    created = next(args[0].id for op, args in steps if op == "create_conversation"
                   and args[0].id not in uncertain and any(c.id == args[0].id for c in store))
    problem, _ = safety.check(w.initial_state, steps, {failed}, [c for c in store if c.id != created])
    assert problem is not None


def test_an_unacknowledged_delete_may_have_removed_the_conversation():
    w = Workload(PARAMS, 1)
    steps = w.plan(4)
    failed = first(steps, "delete_conversation")
    for skip in ({failed}, set()):
        problem, _ = safety.check(w.initial_state, steps, {failed}, applied(w, steps, skip))
        assert problem is None


def test_a_store_that_could_not_be_read_has_its_lost_writes_unknown_not_none():
    w = Workload(PARAMS, 1)
    steps = w.plan(4)
    counts = safety.unchecked(w.initial_state, steps, {first_lasting_message(steps)})
    assert (counts["acknowledged"], counts["unacknowledged"]) == (15, 1)  # the plan alone says so
    assert counts["lost"] is None and counts["unacknowledged_applied"] is None


def test_one_unchecked_client_makes_the_merged_lost_writes_unknown():
    w = Workload(PARAMS, 1)
    steps = w.plan(4)
    _, checked = safety.check(w.initial_state, steps, set(), w.model.snapshot())
    unchecked = safety.unchecked(w.initial_state, steps, set())
    assert safety.merge([checked, checked]) == {**checked, "acknowledged": 32}
    for other in (unchecked, None):  # None: that client's check never ran (no record)
        merged = safety.merge([checked, other])
        assert merged["lost"] is None and merged["unacknowledged_applied"] is None
    assert safety.merge([checked, unchecked])["acknowledged"] == 32
    assert safety.merge([None, None]) == {}
