"""Data safety after a run with errors: was any acknowledged write lost?

An op that returned is *acknowledged*; one that raised is not, and may or may not have been
applied (a reset connection can lose the request or only its answer). So the check is:

- Replay the plan on the preloaded state, skipping the unacknowledged steps: the expected state.
- A conversation no unacknowledged write touched must equal its expected form exactly
  (present or absent, every field, every message).
- A conversation an unacknowledged write touched is *uncertain*: it must still hold every
  acknowledged message the replay put there, and exist if the replay has it, unless an
  unacknowledged delete of it may have run. Its title may be either version.
- Each unacknowledged write is reported as applied or not applied, as the store shows it.

With no errors this is exactly the equality check: expected state == store content.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Sequence

from storebench.backends.base import Conversation
from storebench.core.workload import difference

WRITES = ("create_conversation", "add_message", "update_title", "delete_conversation")
LOST_EXAMPLES = 3


def _conversation_id(op: str, args: tuple) -> str:
    if op == "create_conversation":
        return args[0].id
    if op == "add_message":
        return args[0].conversation_id
    return args[0]


def replay(initial: Sequence[Conversation], steps: Sequence[tuple[str, tuple]],
           unacknowledged: set[int]) -> tuple[dict[str, Conversation], set[str]]:
    """(expected state by id, uncertain conversation ids): `steps` applied to `initial`,
    skipping the indices in `unacknowledged`."""
    state = {c.id: replace(c, messages=[replace(m) for m in c.messages]) for c in initial}
    uncertain: set[str] = set()
    for i, (op, args) in enumerate(steps):
        if op not in WRITES:
            continue
        cid = _conversation_id(op, args)
        if i in unacknowledged:
            uncertain.add(cid)
            continue
        if op == "create_conversation":
            state[cid] = replace(args[0], messages=[replace(m) for m in args[0].messages])
        elif cid not in state:  # acknowledged against a conversation whose fate is unknown
            uncertain.add(cid)
        elif op == "add_message":
            state[cid].messages.append(replace(args[0]))
            state[cid].updated_at = args[0].created_at
        elif op == "update_title":
            state[cid].title, state[cid].updated_at = args[1], args[2]
        else:
            del state[cid]
    return state, uncertain


def _ordered(conversations: Iterable[Conversation]) -> list[Conversation]:
    """In load_all's order, messages too (as the model's snapshot is)."""
    out = []
    for c in sorted(conversations, key=lambda c: (-c.updated_at, c.id)):
        out.append(replace(c, messages=sorted(c.messages, key=lambda m: (m.created_at, m.id))))
    return out


def _applied(op: str, args: tuple, actual: dict[str, Conversation]) -> bool:
    """Whether the store shows this (unacknowledged) write as done."""
    cid = _conversation_id(op, args)
    if op == "create_conversation":
        return cid in actual
    if op == "delete_conversation":
        return cid not in actual
    if op == "add_message":
        return cid in actual and any(m.id == args[0].id for m in actual[cid].messages)
    return cid in actual and actual[cid].title == args[1]


def check(initial: Sequence[Conversation], steps: Sequence[tuple[str, tuple]], unacknowledged: set[int],
          actual_list: Sequence[Conversation]) -> tuple[str | None, dict]:
    """(the first lost acknowledged write or other difference in words, or None; the counts)."""
    expected, uncertain = replay(initial, steps, unacknowledged)
    actual = {c.id: c for c in actual_list}
    certain_expected = [c for cid, c in expected.items() if cid not in uncertain]
    certain_actual = [c for c in actual_list if c.id not in uncertain]
    problem = difference(_ordered(certain_expected), certain_actual)
    lost = _lost_in_uncertain(expected, uncertain, actual, steps, unacknowledged)
    writes = [i for i, (op, _) in enumerate(steps) if op in WRITES]
    unacked = [i for i in writes if i in unacknowledged]
    applied = sum(_applied(*steps[i], actual) for i in unacked)
    summary = {
        "acknowledged": len(writes) - len(unacked), "unacknowledged": len(unacked),
        "unacknowledged_applied": applied, "unacknowledged_not_applied": len(unacked) - applied,
        "uncertain_conversations": len(uncertain), "lost": lost[:LOST_EXAMPLES],
    }
    if problem is None and lost:
        problem = f"acknowledged write lost: {lost[0]}"
    return problem, summary


def _lost_in_uncertain(expected: dict[str, Conversation], uncertain: set[str], actual: dict[str, Conversation],
                       steps: Sequence[tuple[str, tuple]], unacknowledged: set[int]) -> list[str]:
    """Acknowledged content of uncertain conversations that the store no longer has."""
    maybe_deleted = {args[0] for i, (op, args) in enumerate(steps)
                     if op == "delete_conversation" and i in unacknowledged}
    lost = []
    for cid in sorted(uncertain):
        want = expected.get(cid)
        if want is None or cid in maybe_deleted and cid not in actual:
            continue
        have = actual.get(cid)
        if have is None:
            lost.append(f"conversation {cid} is missing")
            continue
        have_ids = {m.id: m for m in have.messages}
        for m in want.messages:
            if have_ids.get(m.id) != m:
                lost.append(f"message {m.id} of conversation {cid} is missing or changed")
                break
    return lost
