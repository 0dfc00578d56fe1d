"""The conversation workload: seeded chat-like data, the expected state, and the op plan.

Everything here is deterministic for a given seed, so every backend receives exactly the same
operations with the same arguments, and the expected final state is known before timing.
The workload knows nothing about backends: it produces calls on the `Store` interface.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass, replace
from typing import Iterable

import numpy as np

from backends.base import Conversation, Message

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
# Every ordered pair of words, so a chunk of text is joined from half as many pieces.
WORD_PAIRS = np.array([f"{a} {b}" for a in WORDS for b in WORDS], dtype=object)
WORD_BYTES = np.array([len(w.encode()) + 1 for w in WORDS])  # each word with its separator
WORD_CHARS = np.array([len(w) + 1 for w in WORDS])


@dataclass(frozen=True)
class Params:
    conversations: int
    messages: int  # per preloaded conversation
    iterations: int  # timed rounds; each round runs every op once
    warmup: int  # untimed rounds before the timed ones
    cold_starts: int  # fresh processes for the cold_start op
    probes: bool = True  # run the capability probes (bench/probes.py) after the timing


PROFILES: dict[str, Params] = {
    # smoke is the CI gate's profile: latency only, no capability probes (they cost more than
    # the timing on the WAN-emulated backends and do not change between commits).
    "smoke": Params(conversations=20, messages=5, iterations=40, warmup=5, cold_starts=2, probes=False),
    "quick": Params(conversations=100, messages=20, iterations=200, warmup=20, cold_starts=5),
    "standard": Params(conversations=1000, messages=20, iterations=1000, warmup=50, cold_starts=10),
}


def params_for(profile: str, **overrides: int | bool | None) -> Params:
    """The profile's parameters with any non-None overrides applied."""
    return replace(PROFILES[profile], **{k: v for k, v in overrides.items() if v is not None})


class WordStream:
    """An endless seeded stream of words drawn uniformly (independently) from WORDS, cut into
    message bodies. Words are drawn in vectorized chunks: drawing them one `rng.choice` at a
    time made generating 1,000,000 messages take ~40 s; the drawn text is the same kind."""

    CHUNK = 1 << 16  # words per draw (even: the text is joined from pairs of words)

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self._refill()

    def _refill(self) -> None:
        picks = self.rng.integers(0, len(WORDS), self.CHUNK)
        self.text = " ".join(WORD_PAIRS[picks[0::2] * len(WORDS) + picks[1::2]].tolist()) + " "
        self.byte_end = np.cumsum(WORD_BYTES[picks])  # UTF-8 bytes up to and including word i
        self.char_end = np.cumsum(WORD_CHARS[picks])
        self.pos = 0  # the next unused word

    def take(self, target: int) -> str:
        """The next words, as few as make the body (words joined by spaces) at least `target`
        UTF-8 bytes long: the rule of adding a word while the body is shorter than `target`."""
        parts = []
        need = target + 1  # counting a separator after every word, the last one included
        while True:
            if self.pos == self.CHUNK:
                self._refill()
            base_bytes = int(self.byte_end[self.pos - 1]) if self.pos else 0
            base_chars = int(self.char_end[self.pos - 1]) if self.pos else 0
            last = int(np.searchsorted(self.byte_end, base_bytes + need))  # first word reaching it
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

    def message(self, conversation_id: str, role: str) -> Message:
        return Message(self.new_id("msg"), conversation_id, role, self.content(), self.tick())

    def conversation(self, messages: int) -> Conversation:
        created = self.tick()
        c = Conversation(self.new_id("conv"), self.title(), created, created, [])
        for i in range(messages):
            c.messages.append(self.message(c.id, "user" if i % 2 == 0 else "assistant"))
        if c.messages:
            c.updated_at = c.messages[-1].created_at
        return c


class Model:
    """The expected content of the store, updated as the plan is generated."""

    def __init__(self) -> None:
        self.conversations: dict[str, Conversation] = {}
        self._ids: list[str] = []  # for O(1) random choice and removal
        self._index: dict[str, int] = {}

    def add(self, c: Conversation) -> None:
        self.conversations[c.id] = c
        self._index[c.id] = len(self._ids)
        self._ids.append(c.id)

    def remove(self, cid: str) -> None:
        del self.conversations[cid]
        i = self._index.pop(cid)
        last = self._ids.pop()
        if last != cid:
            self._ids[i] = last
            self._index[last] = i

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


class Workload:
    """Initial data plus a plan of steps; `model` is the state after all planned steps."""

    def __init__(self, params: Params, seed: int) -> None:
        self.params = params
        self.seed = seed
        self.gen = DataGenerator(seed)
        self.model = Model()
        for _ in range(params.conversations):
            self.model.add(self.gen.conversation(params.messages))
        # A deep copy: what to preload and check against, untouched by later planning.
        self.initial_state = self.model.snapshot()

    def plan(self, rounds: int) -> list[Step]:
        """`rounds` rounds of every op, arguments drawn from (and applied to) the model."""
        steps: list[Step] = []
        for _ in range(rounds):
            for op in OPS:
                steps.append((op, self._next_args(op)))
        return steps

    def _next_args(self, op: str) -> tuple:
        g, m = self.gen, self.model
        if op == "load_all":
            return ()
        if op == "create_conversation":
            created = g.tick()
            c = Conversation(g.new_id("conv"), g.title(), created, created, [])
            m.add(c)
            return (Conversation(c.id, c.title, c.created_at, c.updated_at, []),)
        target = m.pick(g.rng)
        if op == "add_message":
            role = "user" if len(target.messages) % 2 == 0 else "assistant"
            msg = g.message(target.id, role)
            target.messages.append(msg)
            target.updated_at = msg.created_at
            return (replace(msg),)
        if op == "update_title":
            title, now = g.title(), g.tick()
            target.title, target.updated_at = title, now
            return (target.id, title, now)
        if op == "delete_conversation":
            m.remove(target.id)
            return (target.id,)
        raise ValueError(f"unknown op {op!r}")


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
