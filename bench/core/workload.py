"""The conversation workload: seeded chat-like data, the expected state, and the op plan.

Everything here is deterministic for a given seed, so every backend receives exactly the same
operations with the same arguments, and the expected final state is known before timing.
The workload knows nothing about backends: it produces calls on the `Store` interface.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from storebench.backends.base import Conversation, Message, Role

if TYPE_CHECKING:
    import numpy as np

OPS = ("load_all", "create_conversation", "add_message", "update_title", "delete_conversation")
COLD_START = "cold_start"
ALL_OPS = OPS + (COLD_START,)

# 2025-11-04T00:00:00Z, the seed document's date, in epoch milliseconds (> 2**31).
EPOCH_MS = 1_762_214_400_000
MIN_CONTENT, MAX_CONTENT = 50, 4096

WORDS = (
    "the a to of and is in it you that for on with as this be are can we an or not have but "
    "database sqlite query latency index conversation message persistence turso replica server "
    "client request response migrate schema transaction commit sync cloud device browser token "
    "please thanks could would should explain example error function python typescript api route "
    "café naïve résumé 数据库 会话 ✓ → 🙂"
).split()
TITLE_WORDS = "Planning Notes Question Debugging Ideas Recipe Trip Review Draft Summary Chat Help".split()


@functools.cache
def _word_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ordered pair of words (a chunk of text is joined from half as many pieces), and
    each word's UTF-8 bytes and characters with its separator. numpy is imported here, not at
    the top: the capability probes' client processes import this module for EPOCH_MS and
    `checksum` only, and numpy's import (with OpenBLAS starting its threads) cost each about
    0.2 s of CPU, seconds in all over a default run's ~70 clients."""
    import numpy as np

    pairs = np.array([f"{a} {b}" for a in WORDS for b in WORDS], dtype=object)
    return (pairs, np.array([len(w.encode()) + 1 for w in WORDS]), np.array([len(w) + 1 for w in WORDS]))


@dataclass(frozen=True)
class Params:
    conversations: int
    messages: int  # per preloaded conversation
    iterations: int  # timed rounds (each runs every op once); closed-loop runs stop earlier once every p50 is precise
    warmup: int  # untimed rounds before the timed ones
    cold_starts: int  # fresh processes for the cold_start op
    probes: bool = True  # run the capability probes (bench/capabilities/probes.py) after the timing
    load_every: int = 1  # load_all opens every this many rounds (the writes run in every round)


PROFILES: dict[str, Params] = {
    # smoke is the CI gate's profile: latency only, no capability probes (they cost more than
    # the timing on the WAN-emulated backends and do not change between commits).
    # No cold starts: one sample per backend judges nothing (ab and check leave it out), and
    # 17 fresh processes were 6 s of its 30 s here; --cold-starts N adds them. 30 rounds, in
    # one process per backend (StoppingRule.min_process_rounds): starting 29 workers at once
    # was its longest phase on 2 cores. So smoke records no between-process spread.
    "smoke": Params(conversations=20, messages=5, iterations=30, warmup=5, cold_starts=0, probes=False),
    # From quick on, load_all (the page load) opens every 4th round, as a chat app lists its
    # conversations when a page opens and then writes several times: the read of the whole
    # store costs 10-1000x a write, and sampling it in every round made it most of the run.
    # Quick times 3 cold starts per backend (each a fresh process; with 19 backends they were
    # a fifth of the default run): a median, no interval; standard times 10.
    "quick": Params(conversations=100, messages=20, iterations=200, warmup=20, cold_starts=3, load_every=4),
    "standard": Params(conversations=1000, messages=20, iterations=1000, warmup=50, cold_starts=10, load_every=4),
}


def params_for(profile: str, **overrides: int | bool | None) -> Params:
    """The profile's parameters with any non-None overrides applied."""
    changes: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    return replace(PROFILES[profile], **changes)


class WordStream:
    """An endless seeded stream of words drawn uniformly (independently) from WORDS, cut into
    message bodies. Words are drawn in vectorized chunks: drawing them one `rng.choice` at a
    time made generating 1,000,000 messages take ~40 s; the drawn text is the same kind."""

    CHUNK = 1 << 16  # words per draw (even: the text is joined from pairs of words)

    def __init__(self, seed: int) -> None:
        import numpy as np  # see _word_tables

        self.rng = np.random.default_rng(seed)
        self._refill()

    def _refill(self) -> None:
        pairs, word_bytes, word_chars = _word_tables()
        picks = self.rng.integers(0, len(WORDS), self.CHUNK)
        self.text = " ".join(pairs[picks[0::2] * len(WORDS) + picks[1::2]].tolist()) + " "
        self.byte_end = word_bytes[picks].cumsum()  # UTF-8 bytes up to and including word i
        self.char_end = word_chars[picks].cumsum()
        self.pos = 0  # the next unused word

    def take(self, target: int) -> str:
        """The next words, as few as make the body (words joined by spaces) at least `target`
        UTF-8 bytes long: the rule of adding a word while the body is shorter than `target`."""
        parts: list[str] = []
        need = target + 1  # counting a separator after every word, the last one included
        while True:
            if self.pos == self.CHUNK:
                self._refill()
            base_bytes = int(self.byte_end[self.pos - 1]) if self.pos else 0
            base_chars = int(self.char_end[self.pos - 1]) if self.pos else 0
            last = int(self.byte_end.searchsorted(base_bytes + need))  # first word reaching it
            if last < self.CHUNK:
                self.pos = last + 1
                body = self.text[base_chars:int(self.char_end[last]) - 1]  # without the last separator
                return "".join(parts) + body if parts else body
            parts.append(self.text[base_chars:])  # the body continues in the next chunk
            need -= int(self.byte_end[-1]) - base_bytes
            self.pos = self.CHUNK


class DataGenerator:
    """Seeded source of ids, timestamps, titles and message bodies."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words = WordStream(seed)
        self.now = EPOCH_MS

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{self.rng.getrandbits(64):016x}"

    def tick(self) -> int:
        """A strictly increasing clock, so message order by created_at is total."""
        self.now += self.rng.randint(1, 90_000)
        return self.now

    def title(self) -> str:
        return f"{self.rng.choice(TITLE_WORDS)} {self.rng.randint(1, 9999)}"

    def content(self) -> str:
        """A body of 50 B to 4 KB (UTF-8), log-uniform: most short, some long, like chat."""
        target = int(math.exp(self.rng.uniform(math.log(MIN_CONTENT), math.log(MAX_CONTENT))))
        return self.words.take(target)

    def message(self, conversation_id: str, role: Role) -> Message:
        return Message(self.new_id("msg"), conversation_id, role, self.content(), self.tick())

    def conversation(self, messages: int) -> Conversation:
        created = self.tick()
        c = Conversation(self.new_id("conv"), self.title(), created, created, [])
        for i in range(messages):
            c.messages.append(self.message(c.id, "user" if i % 2 == 0 else "assistant"))
        if c.messages:
            c.updated_at = c.messages[-1].created_at
        return c


WRITES = ("create_conversation", "add_message", "update_title", "delete_conversation")


def conversation_of(op: str, args: tuple) -> str:
    """The id of the conversation a write step acts on."""
    if op == "create_conversation":
        return args[0].id
    if op == "add_message":
        return args[0].conversation_id
    return args[0]


class Model:
    """The expected content of the store, updated as the plan is generated. `apply` is the one
    definition of what each write op does to it, used by the plan, by the safety check's replay
    (bench/core/safety.py) and so by the checks of concurrent clients and swarm users."""

    def __init__(self) -> None:
        self.conversations: dict[str, Conversation] = {}
        self._ids: list[str] = []  # for O(1) random choice and removal
        self._index: dict[str, int] = {}

    def add(self, c: Conversation) -> None:
        if c.id not in self._index:
            self._index[c.id] = len(self._ids)
            self._ids.append(c.id)
        self.conversations[c.id] = c

    def remove(self, cid: str) -> None:
        del self.conversations[cid]
        i = self._index.pop(cid)
        last = self._ids.pop()
        if last != cid:
            self._ids[i] = last
            self._index[last] = i

    def apply(self, op: str, args: tuple) -> bool:
        """Apply one write step (a `Store` method's name and arguments; the contract is in
        backends/base.py), copying what it stores so later changes to either side stay apart.
        False, changing nothing, when it acts on a conversation the model does not hold."""
        if op == "create_conversation":
            c = args[0]
            self.add(replace(c, messages=[replace(m) for m in c.messages]))
            return True
        cid = conversation_of(op, args)
        target = self.conversations.get(cid)
        if target is None:
            return False
        if op == "add_message":
            target.messages.append(replace(args[0]))
            target.updated_at = args[0].created_at
        elif op == "update_title":
            target.title, target.updated_at = args[1], args[2]
        elif op == "delete_conversation":
            self.remove(cid)
        else:
            raise ValueError(f"{op} is not a write op")
        return True

    def id_at(self, i: int) -> str:
        return self._ids[i]

    def pick(self, rng: random.Random) -> Conversation:
        return self.conversations[self._ids[rng.randrange(len(self._ids))]]

    def snapshot(self) -> list[Conversation]:
        """Deep copy in load_all's contract order."""
        out = []
        for c in sorted(self.conversations.values(), key=lambda c: (-c.updated_at, c.id)):
            msgs = sorted(c.messages, key=lambda m: (m.created_at, m.id))
            out.append(Conversation(c.id, c.title, c.created_at, c.updated_at, [replace(m) for m in msgs]))
        return out


Step = tuple[str, tuple]
STEADY_TOLERANCE = 0.05  # the store stays within ±5 % of its stated size at every op
MIN_SLACK = 2  # messages: the least slack the planner needs to balance a round (tiny stores)


class SizeIndex:
    """Conversation ids by message count, kept as the plan is generated: lets the planner
    draw a conversation uniformly among those of a range of sizes without scanning them all."""

    def __init__(self) -> None:
        self.size: dict[str, int] = {}
        self.buckets: dict[int, list[str]] = {}
        self._pos: dict[str, int] = {}
        self.messages = 0  # total over all conversations

    def add(self, cid: str, size: int) -> None:
        bucket = self.buckets.setdefault(size, [])
        self._pos[cid] = len(bucket)
        bucket.append(cid)
        self.size[cid] = size
        self.messages += size

    def remove(self, cid: str) -> None:
        size = self.size.pop(cid)
        bucket, i = self.buckets[size], self._pos.pop(cid)
        last = bucket.pop()
        if last != cid:
            bucket[i], self._pos[last] = last, i
        if not bucket:
            del self.buckets[size]
        self.messages -= size

    def grow(self, cid: str) -> None:
        size = self.size[cid]
        self.remove(cid)
        self.add(cid, size + 1)

    def count(self, low: int, high: int, bumped: str | None = None) -> int:
        """Conversations with `low` <= size <= `high`, counting `bumped` one message larger."""
        return sum(self._count(size, bumped) for size in self._sizes(low, high, bumped))

    def nth(self, k: int, low: int, high: int, bumped: str | None = None) -> str:
        """The k-th of the `count(low, high, bumped)` conversations, in a fixed order."""
        for size in self._sizes(low, high, bumped):
            n = self._count(size, bumped)
            if k < n:
                return self._member(size, k, bumped)
            k -= n
        raise IndexError(f"no conversation {k} in sizes {low}..{high}")

    def draw(self, rng: random.Random, low: int, high: int, bumped: str | None = None) -> str:
        """Uniformly among the conversations of sizes [low, high] (`bumped` one larger); when
        there are none, among those of the size nearest the range."""
        n = self.count(low, high, bumped)
        if n == 0:
            sizes = self._sizes(0, 1 << 62, bumped)
            nearest = min(sizes, key=lambda size: (low - size if size < low else size - high, size))
            low = high = nearest
            n = self.count(low, high, bumped)
        return self.nth(rng.randrange(n), low, high, bumped)

    def _sizes(self, low: int, high: int, bumped: str | None) -> list[int]:
        sizes = set(self.buckets)
        if bumped is not None:
            sizes.add(self.size[bumped] + 1)
        return sorted(size for size in sizes if low <= size <= high and self._count(size, bumped))

    def _count(self, size: int, bumped: str | None) -> int:
        count = len(self.buckets.get(size, ()))
        if bumped is not None:
            count += (self.size[bumped] + 1 == size) - (self.size[bumped] == size)
        return count

    def _member(self, size: int, k: int, bumped: str | None) -> str:
        """The k-th of `_count(size, bumped)` (a bumped conversation counts last)."""
        bucket = self.buckets.get(size, [])
        if bumped is not None and self.size[bumped] == size:
            return bucket[k + (k >= self._pos[bumped])]
        if k < len(bucket):
            return bucket[k]
        assert bumped is not None  # k is past the bucket only when the bumped conversation counts
        return bumped


class Workload:
    """Initial data plus a plan of steps; `model` is the state after all planned steps.

    The plan keeps the store stationary (docs/workload.md): no op sees more than
    `slack` messages more or fewer than the stated N x M (5 %), nor a conversation count other
    than N or N + 1 (within 5 % from N = 20 on), and most rounds end on exactly N x M. A round
    is: load_all (in every `load_every`-th round, the first included); create a conversation
    that starts with a first exchange sized to balance the round; add a message (to a conversation
    drawn uniformly, the new one included, among those below `ceiling` messages); retitle one;
    delete one drawn uniformly among the older ones.
    Every prefix of the plan is as stationary as the whole, so a backend that runs a share of
    the rounds sees the same store size as the others.
    """

    def __init__(self, params: Params, seed: int) -> None:
        self.params = params
        self.seed = seed
        self.gen = DataGenerator(seed)
        self.model = Model()
        self.sizes = SizeIndex()
        for _ in range(params.conversations):
            c = self.gen.conversation(params.messages)
            self.model.add(c)
            self.sizes.add(c.id, len(c.messages))
        # A deep copy: what to preload and check against, untouched by later planning.
        self.initial_state = self.model.snapshot()
        self.target_messages = params.conversations * params.messages
        self.slack = max(MIN_SLACK, int(self.target_messages * STEADY_TOLERANCE))
        # No conversation grows beyond this: one round can delete any conversation up to
        # 2 x slack messages and still stay within the slack at every op (see _round).
        self.ceiling = 2 * self.slack
        self.rounds_planned = 0

    def plan(self, rounds: int) -> list[Step]:
        """The next `rounds` rounds, arguments drawn from (and applied to) the model. Every round
        ends with delete_conversation."""
        steps: list[Step] = []
        for _ in range(rounds):
            steps += self._round()
        return steps

    def _round(self) -> list[Step]:
        g, m, sizes = self.gen, self.model, self.sizes
        start = sizes.messages
        # Decided first, in sizes only: who gets the message (maybe the new conversation) and
        # who is deleted (an older one), so that the new one's first exchange can balance.
        growable = sizes.count(0, self.ceiling - 1)
        pick = g.rng.randrange(growable + 1)
        bumped = None if pick == growable else sizes.nth(pick, 0, self.ceiling - 1)
        top = self.target_messages + self.slack
        # A victim this small could leave the next round's add no room below the top.
        least = max(0, start - top + 2)
        victim = sizes.draw(g.rng, least, self.ceiling, bumped)
        deleted = sizes.size[victim] + (victim == bumped)
        first_exchange = self._first_exchange(start, deleted, to_new=bumped is None)

        reads = self.rounds_planned % self.params.load_every == 0  # the page loads this round
        self.rounds_planned += 1
        steps: list[Step] = [("load_all", ())] if reads else []

        def write(op: str, args: tuple) -> None:  # planned, and applied to the model (copied)
            m.apply(op, args)
            steps.append((op, args))

        new = g.conversation(first_exchange)
        write("create_conversation", (new,))
        sizes.add(new.id, first_exchange)

        target = m.conversations[new.id if bumped is None else bumped]
        role: Role = "user" if len(target.messages) % 2 == 0 else "assistant"
        write("add_message", (g.message(target.id, role),))
        sizes.grow(target.id)

        retitled = m.pick(g.rng)
        title, now = g.title(), g.tick()
        write("update_title", (retitled.id, title, now))

        write("delete_conversation", (victim,))
        sizes.remove(victim)
        return steps

    def _first_exchange(self, start: int, deleted: int, to_new: bool) -> int:
        """Messages the new conversation starts with: as many as bring the round's end back to
        the target (the deleted conversation's, less the added message), held within bounds:
        the peak (after create and add) at most target + slack, the end at least target -
        slack and at most target + slack - 1 (room for the next add), never over `ceiling`."""
        target, slack = self.target_messages, self.slack
        wanted = target - start - 1 + deleted
        low = max(0, target - slack - start - 1 + deleted)
        high = min(target + slack - start - 1, target + slack - 2 - start + deleted, self.ceiling - to_new)
        return min(max(wanted, low), high) if low <= high else max(0, min(wanted, high))


def canonical(conversations: Iterable[Conversation]) -> list:
    """Order-independent, type-preserving form of a store's content."""
    return [
        [c.id, c.title, c.created_at, c.updated_at,
         sorted([m.id, m.conversation_id, m.role, m.content, m.created_at] for m in c.messages)]
        for c in sorted(conversations, key=lambda c: c.id)
    ]


def checksum(conversations: Iterable[Conversation]) -> str:
    blob = json.dumps(canonical(conversations), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _typed(value) -> str:
    return f"{value!r} ({type(value).__name__})"


def difference(expected: list[Conversation], actual: list[Conversation]) -> str | None:
    """None when `actual` equals `expected` (content, types and load_all order), else the
    first difference in words."""
    if len(actual) != len(expected):
        return f"expected {len(expected)} conversations, store returned {len(actual)}"
    exp_c, act_c = canonical(expected), canonical(actual)
    fields = ("id", "title", "created_at", "updated_at")
    msg_fields = ("id", "conversation_id", "role", "content", "created_at")
    for e, a in zip(exp_c, act_c):
        for name, ev, av in zip(fields, e, a):
            if ev != av or type(ev) is not type(av):
                return f"conversation {e[0]}: {name} is {_typed(av)}, expected {_typed(ev)}"
        if len(e[4]) != len(a[4]):
            return f"conversation {e[0]}: {len(a[4])} messages, expected {len(e[4])}"
        for em, am in zip(e[4], a[4]):
            for name, ev, av in zip(msg_fields, em, am):
                if ev != av or type(ev) is not type(av):
                    return f"message {em[0]}: {name} is {_typed(av)[:80]}, expected {_typed(ev)[:80]}"
    if [c.id for c in actual] != [c.id for c in expected]:
        return "conversations are not in load_all order (updated_at descending, then id)"
    for e, a in zip(expected, actual):
        if [m.id for m in a.messages] != [m.id for m in e.messages]:
            return f"conversation {e.id}: messages are not in order (created_at, then id)"
    return None
