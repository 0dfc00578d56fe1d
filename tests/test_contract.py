"""The storage contract every registered backend must meet (each new adapter inherits it)."""

from __future__ import annotations

import pytest

from storebench.backends.base import Conversation, Message
from storebench.core.workload import EPOCH_MS, Params, Workload, difference

BIG_MS = EPOCH_MS + 123  # above 2**31: must come back as the same int, not a float


def conv(cid: str, updated: int, title: str = "t") -> Conversation:
    return Conversation(cid, title, updated, updated, [])


def msg(mid: str, cid: str, created: int, content: str = "hello", role: str = "user") -> Message:
    return Message(mid, cid, role, content, created)


def test_empty_store_loads_nothing(store):
    assert store.load_all() == []


def test_values_round_trip_exactly(store):
    content = "naïve café 数据库 🙂 " + "x" * 4000 + " 'quotes' \"and\" \\ backslash\n\ttabs"
    store.create_conversation(conv("c1", BIG_MS, title="Ünïcode ✓ title"))
    store.add_message(msg("m1", "c1", BIG_MS + 1, content=content, role="assistant"))
    [c] = store.load_all()
    assert (c.id, c.title, c.created_at, c.updated_at) == ("c1", "Ünïcode ✓ title", BIG_MS, BIG_MS + 1)
    assert type(c.created_at) is int and type(c.updated_at) is int
    [m] = c.messages
    assert m == Message("m1", "c1", "assistant", content, BIG_MS + 1)
    assert type(m.created_at) is int


def test_preload_round_trips_values_exactly(store):
    tricky = "it's \"quoted\"; DROP TABLE messages; -- 'x' \\ naïve 数据库 🙂\n\t" + "y" * 3000
    c = Conversation("c'1", "O'Brien's ✓ chat", BIG_MS, BIG_MS + 1,
                     [msg("m'1", "c'1", BIG_MS + 1, content=tricky, role="assistant")])
    store.preload([c])
    assert store.load_all() == [c]
    assert type(store.load_all()[0].messages[0].created_at) is int


def test_load_all_orders_conversations_by_recent_update_then_id(store):
    store.create_conversation(conv("a", BIG_MS))
    store.create_conversation(conv("b", BIG_MS + 10))
    store.create_conversation(conv("c", BIG_MS + 10))
    assert [c.id for c in store.load_all()] == ["b", "c", "a"]


def test_messages_are_ordered_by_created_at_then_id(store):
    store.create_conversation(conv("c1", BIG_MS))
    store.add_message(msg("m2", "c1", BIG_MS + 5))
    store.add_message(msg("m1", "c1", BIG_MS + 5))
    store.add_message(msg("m0", "c1", BIG_MS + 9))
    assert [m.id for m in store.load_all()[0].messages] == ["m1", "m2", "m0"]


def test_add_message_moves_the_conversation_to_the_top(store):
    store.create_conversation(conv("old", BIG_MS))
    store.create_conversation(conv("new", BIG_MS + 10))
    store.add_message(msg("m1", "old", BIG_MS + 20))
    loaded = store.load_all()
    assert [c.id for c in loaded] == ["old", "new"]
    assert loaded[0].updated_at == BIG_MS + 20


def test_update_title_sets_title_and_updated_at(store):
    store.create_conversation(conv("c1", BIG_MS))
    store.update_title("c1", "Renamed", BIG_MS + 7)
    [c] = store.load_all()
    assert (c.title, c.updated_at, c.created_at) == ("Renamed", BIG_MS + 7, BIG_MS)


def test_delete_conversation_removes_its_messages(store):
    store.create_conversation(conv("c1", BIG_MS))
    store.create_conversation(conv("c2", BIG_MS))
    store.add_message(msg("m1", "c1", BIG_MS + 1))
    store.add_message(msg("m2", "c2", BIG_MS + 2))
    store.delete_conversation("c1")
    [c] = store.load_all()
    assert c.id == "c2" and [m.id for m in c.messages] == ["m2"]
    # A later conversation reusing the id starts empty: no orphaned messages were left.
    store.create_conversation(conv("c1", BIG_MS + 3))
    assert [c.messages for c in store.load_all() if c.id == "c1"] == [[]]


def test_duplicate_id_is_rejected_and_leaves_the_store_unchanged(store):
    store.create_conversation(conv("c1", BIG_MS))
    with pytest.raises(Exception):  # noqa: B017 - each driver raises its own constraint error
        store.create_conversation(conv("c1", BIG_MS + 1))
    assert [(c.id, c.updated_at) for c in store.load_all()] == [("c1", BIG_MS)]
    store.add_message(msg("m1", "c1", BIG_MS + 2))  # the store is still usable


def test_preload_and_workload_plan_end_in_the_expected_state(store):
    workload = Workload(Params(conversations=8, messages=4, iterations=6, warmup=1, cold_starts=0), seed=7)
    store.preload(workload.initial_state)
    assert difference(workload.initial_state, store.load_all()) is None
    for op, args in workload.plan(7):
        getattr(store, op)(*args)
    assert difference(workload.model.snapshot(), store.load_all()) is None


def test_describe_reports_the_settings_in_force(store, settings):
    info = store.describe()
    assert info["driver_version"]
    assert info["sqlite_version"]
    if store.kind == "embedded":  # read back from the file's own connection
        assert info["settings"] == {
            "journal_mode": "wal", "synchronous": "normal", "foreign_keys": True,
            "busy_timeout_ms": settings.busy_timeout_ms, "transactions": "BEGIN IMMEDIATE per write op",
        }
