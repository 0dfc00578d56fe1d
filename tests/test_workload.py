"""The workload: deterministic, chat-like data and a plan whose end state is known."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from storebench.core.workload import (
    EPOCH_MS,
    MAX_CONTENT,
    MIN_CONTENT,
    OPS,
    PROFILES,
    Params,
    Workload,
    checksum,
    difference,
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


def test_load_all_opens_every_kth_round_from_the_first_and_writes_run_in_every_round():
    steps = Workload(replace(PARAMS, load_every=3), seed=1).plan(7)
    writes = list(OPS[1:])
    assert [op for op, _ in steps] == (["load_all"] + writes + writes * 2) * 2 + ["load_all"] + writes
    assert [op for op, _ in Workload(replace(PARAMS, load_every=3), seed=1).plan(3)] == ["load_all"] + writes * 3


def test_the_writes_and_the_store_do_not_depend_on_how_often_load_all_runs():
    every, sparse = Workload(PARAMS, seed=2).plan(30), Workload(replace(PARAMS, load_every=4), seed=2).plan(30)
    assert [s for s in every if s[0] != "load_all"] == [s for s in sparse if s[0] != "load_all"]


def test_plan_keeps_the_conversation_count_stable():
    w = Workload(PARAMS, seed=1)
    w.plan(50)
    assert len(w.model.conversations) == PARAMS.conversations


def store_sizes(w: Workload, steps) -> list[tuple[int, int]]:
    """(conversations, messages) in the store as each step starts, and after the last one,
    replayed from the initial state by the steps' own arguments."""
    size = {c.id: len(c.messages) for c in w.initial_state}
    messages = sum(size.values())
    seen = []
    for op, args in steps:
        seen.append((len(size), messages))
        if op == "create_conversation":
            size[args[0].id] = len(args[0].messages)
            messages += len(args[0].messages)
        elif op == "add_message":
            size[args[0].conversation_id] += 1
            messages += 1
        elif op == "delete_conversation":
            messages -= size.pop(args[0])
    return seen + [(len(size), messages)]


def assert_stationary(params: Params, seed: int, rounds: int) -> list[tuple[int, int]]:
    w = Workload(params, seed)
    seen = store_sizes(w, w.plan(rounds))
    n, total = params.conversations, params.conversations * params.messages
    for conversations, messages in seen:
        assert abs(conversations - n) <= 0.05 * n, (seed, rounds, conversations)
        assert abs(messages - total) <= 0.05 * total, (seed, rounds, messages)
    return seen


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_op_of_every_profile_sees_the_stated_store_size_within_5_percent(profile):
    params = PROFILES[profile]
    rounds = params.warmup + params.iterations if profile != "standard" else 300
    for seed in range(1, 6 if profile != "standard" else 2):
        assert_stationary(params, seed, rounds)


def test_stationary_for_many_seeds_sizes_and_round_counts():
    # From 20 conversations and 40 messages on, 5 % leaves room for a create ahead of its delete.
    rng = random.Random(17)
    for _ in range(60):
        params = Params(conversations=rng.randint(20, 150), messages=rng.randint(2, 30), iterations=1, warmup=0,
                        cold_starts=0)
        assert_stationary(params, seed=rng.randrange(10**6), rounds=rng.randint(1, 400))


def test_long_runs_on_the_smallest_profile_stay_stationary():
    # smoke (20 x 5) leaves 5 messages of slack: the tightest case, over many rounds.
    assert_stationary(PROFILES["smoke"], seed=3, rounds=3000)


def test_a_share_of_the_rounds_is_a_prefix_of_the_same_plan():
    """What a backend with `rounds_fraction` runs: the first rounds of everyone's plan, so its
    store is the same size at every op as every other backend's."""
    for profile in ("smoke", "quick"):
        whole = Workload(PROFILES[profile], seed=9).plan(45)
        for rounds in (1, 2, 11, 44):
            part = Workload(PROFILES[profile], seed=9).plan(rounds)
            assert part == whole[:len(part)] and part[-1][0] == OPS[-1]


def test_load_all_mostly_sees_exactly_the_stated_size():
    w = Workload(PROFILES["quick"], seed=1)
    steps = w.plan(220)
    seen = store_sizes(w, steps)
    at_load_all = [size for size, (op, _) in zip(seen, steps) if op == "load_all"]
    assert len(at_load_all) == 55 and all(s == (100, 2000) for s in at_load_all)


def test_new_conversations_start_with_a_first_exchange_and_deletes_take_old_ones():
    w = Workload(PROFILES["quick"], seed=4)
    steps = w.plan(100)
    created = [args[0] for op, args in steps if op == "create_conversation"]
    sizes = [len(c.messages) for c in created]
    assert 15 <= sum(sizes) / len(sizes) <= 25  # about M = 20, like the conversations they replace
    for c in created:
        n = len(c.messages)
        assert [m.role for m in c.messages] == ["user", "assistant"] * (n // 2) + ["user"] * (n % 2)
        assert all(m.conversation_id == c.id for m in c.messages)
        assert c.updated_at == (c.messages[-1].created_at if c.messages else c.created_at)
    deleted = [args[0] for op, args in steps if op == "delete_conversation"]
    new_ids = [c.id for c in created]
    assert all(d != new_ids[i] for i, d in enumerate(deleted))  # never the chat created that round
    assert len(set(deleted)) == len(deleted)
    assert any(d in {c.id for c in w.initial_state} for d in deleted)
    assert any(d in set(new_ids) for d in deleted)  # chats created earlier get deleted too


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
