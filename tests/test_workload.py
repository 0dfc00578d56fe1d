"""The workload: deterministic, chat-like data and a plan whose end state is known."""

from __future__ import annotations

from dataclasses import replace

from bench.workload import (
    EPOCH_MS, MAX_CONTENT, MIN_CONTENT, OPS, Params, Workload, checksum, difference,
)

PARAMS = Params(conversations=30, messages=6, iterations=10, warmup=2, cold_starts=0)


def test_same_seed_gives_identical_data_and_plan():
    a, b = Workload(PARAMS, seed=3), Workload(PARAMS, seed=3)
    assert checksum(a.initial_state) == checksum(b.initial_state)
    assert a.plan(12) == b.plan(12)


def test_different_seeds_give_different_data():
    assert checksum(Workload(PARAMS, 1).initial_state) != checksum(Workload(PARAMS, 2).initial_state)


def test_data_looks_like_a_chat():
    w = Workload(Params(conversations=200, messages=10, iterations=1, warmup=0, cold_starts=0), seed=1)
    messages = [m for c in w.initial_state for m in c.messages]
    sizes = [len(m.content.encode()) for m in messages]
    assert len(messages) == 2000
    assert min(sizes) >= MIN_CONTENT and max(sizes) <= MAX_CONTENT + 40  # last word may overshoot
    assert max(sizes) > 2000 and sorted(sizes)[len(sizes) // 2] < 1000  # skewed: most short, some long
    assert {m.role for m in messages} == {"user", "assistant"}
    assert any(not m.content.isascii() for m in messages)
    assert all(type(m.created_at) is int and m.created_at > 2**31 for m in messages)
    assert all(m.created_at > EPOCH_MS for m in messages)


def test_plan_runs_every_op_once_per_round_in_order():
    steps = Workload(PARAMS, seed=1).plan(4)
    assert [op for op, _ in steps] == list(OPS) * 4


def test_plan_keeps_the_conversation_count_stable():
    w = Workload(PARAMS, seed=1)
    w.plan(50)
    assert len(w.model.conversations) == PARAMS.conversations


def test_plan_targets_only_conversations_that_exist_at_that_point():
    w = Workload(PARAMS, seed=5)
    alive = {c.id for c in w.initial_state}
    for op, args in w.plan(40):
        if op == "create_conversation":
            alive.add(args[0].id)
        elif op == "add_message":
            assert args[0].conversation_id in alive
        elif op == "update_title":
            assert args[0] in alive
        elif op == "delete_conversation":
            alive.remove(args[0])
    assert alive == set(w.model.conversations)


def test_initial_state_is_not_changed_by_planning():
    w = Workload(PARAMS, seed=1)
    before = checksum(w.initial_state)
    w.plan(20)
    assert checksum(w.initial_state) == before


def test_checksum_ignores_order_but_not_content_or_types():
    state = Workload(PARAMS, seed=1).initial_state
    assert checksum(list(reversed(state))) == checksum(state)
    changed = [replace(state[0], title=state[0].title + "!")] + state[1:]
    assert checksum(changed) != checksum(state)
    as_float = [replace(state[0], created_at=float(state[0].created_at))] + state[1:]
    assert checksum(as_float) != checksum(state)


def test_difference_names_what_differs():
    state = Workload(PARAMS, seed=1).initial_state
    assert difference(state, state) is None
    assert difference(state, state[1:]) == f"expected {len(state)} conversations, store returned {len(state) - 1}"
    floaty = [replace(state[0], updated_at=float(state[0].updated_at))] + state[1:]
    assert "updated_at is" in difference(state, floaty) and "(float)" in difference(state, floaty)
    c = state[0]
    lost = [replace(c, messages=c.messages[:-1])] + state[1:]
    assert difference(state, lost) == f"conversation {c.id}: {len(c.messages) - 1} messages, expected {len(c.messages)}"
    assert "not in load_all order" in difference(state, [state[1], state[0], *state[2:]])
