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

from collections.abc import Iterable, Sequence
from dataclasses import replace

from storebench.backends.base import Conversation
from storebench.core.workload import WRITES, Model, Step, conversation_of, difference

LOST_EXAMPLES = 3
KEYS = ("acknowledged", "unacknowledged", "unacknowledged_applied", "unacknowledged_not_applied",
        "uncertain_conversations", "lost")  # of `writes` in the results


def replay(initial: Sequence[Conversation], steps: Sequence[Step],
           unacknowledged: set[int]) -> tuple[dict[str, Conversation], set[str]]:
    """(expected state by id, uncertain conversation ids): `steps` applied to `initial`,
    skipping the indices in `unacknowledged`."""
    model = Model()
    for c in initial:
        model.apply("create_conversation", (c,))
    uncertain: set[str] = set()
    for i, (op, args) in enumerate(steps):
        if op not in WRITES:
            continue
        if i in unacknowledged or not model.apply(op, args):
            # unacknowledged, or acknowledged against a conversation whose fate is unknown
            uncertain.add(conversation_of(op, args))
    return model.conversations, uncertain


def _ordered(conversations: Iterable[Conversation]) -> list[Conversation]:
    """In load_all's order, messages too (as the model's snapshot is)."""
    out = []
    for c in sorted(conversations, key=lambda c: (-c.updated_at, c.id)):
        out.append(replace(c, messages=sorted(c.messages, key=lambda m: (m.created_at, m.id))))
    return out


def _applied(op: str, args: tuple, actual: dict[str, Conversation]) -> bool:
    """Whether the store shows this (unacknowledged) write as done."""
    cid = conversation_of(op, args)
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
    unacked = [i for i, (op, _) in enumerate(steps) if op in WRITES and i in unacknowledged]
    applied = sum(_applied(*steps[i], actual) for i in unacked)
    summary = {**unchecked(initial, steps, unacknowledged), "unacknowledged_applied": applied,
               "unacknowledged_not_applied": len(unacked) - applied, "lost": lost[:LOST_EXAMPLES]}
    if problem is None and lost:
        problem = f"acknowledged write lost: {lost[0]}"
    return problem, summary


def unchecked(initial: Sequence[Conversation], steps: Sequence[tuple[str, tuple]],
              unacknowledged: set[int]) -> dict:
    """`check`'s counts when the store could not be read: what the plan says, and null
    (unknown, never "none") for what only the store can say: applied or not, and lost."""
    writes = [i for i, (op, _) in enumerate(steps) if op in WRITES]
    unacked = sum(i in unacknowledged for i in writes)
    _, uncertain = replay(initial, steps, unacknowledged)
    return {"acknowledged": len(writes) - unacked, "unacknowledged": unacked, "unacknowledged_applied": None,
            "unacknowledged_not_applied": None, "uncertain_conversations": len(uncertain), "lost": None}


def merge(parts: Sequence[dict | None]) -> dict:
    """Several clients' `writes` as one: sums and the first lost writes. A count that one
    client does not know (null, or no record at all: its check never ran) is unknown (null)
    for all; no record from any client is no record ({})."""
    if not any(parts):
        return {}
    merged: dict = {}
    for key in KEYS:
        values = [(part or {}).get(key) for part in parts]
        known = [v for v in values if v is not None]
        if len(known) < len(values):
            merged[key] = None
        elif key == "lost":
            merged[key] = [x for v in known for x in v][:LOST_EXAMPLES]
        else:
            merged[key] = sum(known)
    return merged


Client = tuple[Sequence[Conversation], Sequence[Step], Iterable[int]]  # initial data, plan, failed steps


def _one_plan(clients: Iterable[Client]) -> tuple[list[Conversation], list[Step], set[int]]:
    """Clients each touching only their own conversations: their plans concatenated are one
    plan of disjoint steps (initial data, steps, unacknowledged step indices)."""
    initial: list[Conversation] = []
    steps: list[Step] = []
    unacknowledged: set[int] = set()
    for client_initial, plan, failed in clients:
        unacknowledged.update(len(steps) + i for i in failed)
        initial += client_initial
        steps += plan
    return initial, steps, unacknowledged


def check_clients(clients: Iterable[Client], actual: Sequence[Conversation] | None) -> tuple[str | None, dict]:
    """`check` over several clients (`actual` None: the store could not be read, `unchecked`).
    Conversations in the store no client preloaded or created (a given server's earlier data)
    are not theirs and are left out."""
    initial, steps, unacknowledged = _one_plan(clients)
    if actual is None:
        return None, unchecked(initial, steps, unacknowledged)
    ours = {c.id for c in initial} | {args[0].id for op, args in steps if op == "create_conversation"}
    return check(initial, steps, unacknowledged, [c for c in actual if c.id in ours])


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
