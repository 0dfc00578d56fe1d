"""How much the harness adds: storebench's p50 of every op vs a bare loop, at the stated size.

For each embedded driver (sqlite3, apsw, libsql) and each of the five ops, on a store of the
quick profile's size (100 conversations × 20 messages, the workload's own generated data):

- the harness side is what `storebench run` times: the Store method called through
  `storebench.core.timing.time_steps`;
- the bare side issues the same statements (the same BEGIN / SQL / COMMIT, and for
  `load_all` the same row-to-object assembly) straight on the same connection, timed with the
  same `perf_counter_ns` pair, with no Store method, step list or argument tuple in between.

The store stays at the stated size: each timed call is paired with an untimed restore on the
same connection, done alike on both sides (a created conversation is deleted again, an added
message removed, a deleted conversation re-created with its messages first). Blocks of the
two sides alternate, so drift (page cache, WAL growth, CPU frequency) hits both alike.

    python benchmarks/harness_vs_bare.py [--samples 600] [--load-samples 200] [--block 50] [--load-block 10]
                                         [--json PATH]

Prints the machine's load average, the null-op p50, and per driver and op: bare p50, harness
p50, their ratio. The target (issue 17) is every ratio within 1.15 (±15 %). `--json` also
writes the rows to PATH (benchmarks/repeatability.py reads them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storebench import backends  # noqa: E402
from storebench.backends.base import Conversation, Message, Settings, Target  # noqa: E402
from storebench.backends.sql import (  # noqa: E402
    DELETE_CONVERSATION,
    DELETE_MESSAGES,
    INSERT_CONVERSATION,
    INSERT_MESSAGE,
    SELECT_CONVERSATIONS,
    SELECT_MESSAGES,
    TOUCH_CONVERSATION,
    UPDATE_TITLE,
    assemble,
)
from storebench.core.runner import measure_overhead  # noqa: E402
from storebench.core.timing import time_steps  # noqa: E402
from storebench.core.workload import OPS, PROFILES, DataGenerator  # noqa: E402

EMBEDDED = ("sqlite3", "apsw", "libsql")
TARGET_RATIO = 1.15
SEED = 1

# ---------------------------------------------------------------- the bare side: SqlStore's statements, inline


def bare_load_all(conn) -> list[Conversation]:
    conn.execute("BEGIN")
    conversations = conn.execute(SELECT_CONVERSATIONS).fetchall()
    messages = conn.execute(SELECT_MESSAGES).fetchall()
    conn.execute("COMMIT")
    return assemble(conversations, messages)


def bare_create_conversation(conn, c: Conversation) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(INSERT_CONVERSATION, (c.id, c.title, c.created_at, c.updated_at))
    for m in c.messages:
        conn.execute(INSERT_MESSAGE, (m.id, m.conversation_id, m.role, m.content, m.created_at))
    conn.execute("COMMIT")


def bare_add_message(conn, m: Message) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(INSERT_MESSAGE, (m.id, m.conversation_id, m.role, m.content, m.created_at))
    conn.execute(TOUCH_CONVERSATION, (m.created_at, m.conversation_id))
    conn.execute("COMMIT")


def bare_update_title(conn, conversation_id: str, title: str, updated_at: int) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(UPDATE_TITLE, (title, updated_at, conversation_id))
    conn.execute("COMMIT")


def bare_delete_conversation(conn, conversation_id: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(DELETE_MESSAGES, (conversation_id,))
    conn.execute(DELETE_CONVERSATION, (conversation_id,))
    conn.execute("COMMIT")


BARE: dict[str, Callable] = {"load_all": bare_load_all, "create_conversation": bare_create_conversation,
                             "add_message": bare_add_message, "update_title": bare_update_title,
                             "delete_conversation": bare_delete_conversation}

# ---------------------------------------------------------------- the calls, each with its untimed restore

Call = tuple[Callable | None, tuple, Callable | None]  # (restore before, op arguments, restore after)


def calls(op: str, n: int, conn, gen: DataGenerator, ids: list[str], messages: int) -> list[Call]:
    """`n` calls of `op` with fresh arguments, each with the restore that keeps the store at its size."""
    out: list[Call] = []
    for _ in range(n):
        if op == "load_all":
            out.append((None, (), None))
        elif op == "create_conversation":  # a new chat with its first exchange; deleted again
            c = gen.conversation(2)
            out.append((None, (c,), lambda cid=c.id: bare_delete_conversation(conn, cid)))
        elif op == "add_message":  # to an existing chat; removed again
            m = gen.message(ids[gen.rng.randrange(len(ids))], "user")
            out.append((None, (m,), lambda mid=m.id: conn.execute("DELETE FROM messages WHERE id = ?", (mid,))))
        elif op == "update_title":
            out.append((None, (ids[gen.rng.randrange(len(ids))], gen.title(), gen.tick()), None))
        else:  # delete_conversation: a chat of the stated size is created first, then deleted
            c = gen.conversation(messages)
            out.append((lambda c=c: bare_create_conversation(conn, c), (c.id,), None))
    return out


def bare_block(conn, op: str, block: list[Call]) -> list[int]:
    fn = BARE[op]
    clock = time.perf_counter_ns
    out = []
    for before, args, after in block:
        if before:
            before()
        t0 = clock()
        fn(conn, *args)
        t1 = clock()
        if after:
            after()
        out.append(t1 - t0)
    return out


def _untimed(fn: Callable | None) -> list[tuple[int, Callable, tuple]]:
    return [(1, fn, ())] if fn else []


def harness_block(store, op: str, block: list[Call]) -> list[int]:
    """The block through time_steps; the restores are steps of a second slot, whose samples are dropped."""
    method = getattr(store, op)
    steps = [s for before, args, after in block for s in (*_untimed(before), (0, method, args), *_untimed(after))]
    timing = time_steps(steps, slots=2)
    assert timing.errors == [0, 0], timing.error_examples
    return list(timing.samples[0])


def compare(name: str, op: str, samples: int, block_size: int) -> tuple[float, float, int, int]:
    """(bare p50 µs, harness p50 µs, conversations, messages at the end: the store's size)."""
    params = PROFILES["quick"]
    cls = backends.get(name)
    with tempfile.TemporaryDirectory() as tmp:
        store = cls(Target(path=str(Path(tmp) / "bench.db")), Settings())
        store.open()
        store.setup_schema()
        gen = DataGenerator(SEED)
        data = [gen.conversation(params.messages) for _ in range(params.conversations)]
        store.preload(data)
        ids = [c.id for c in data]
        bare, harness = [], []
        for b in range(max(2, samples // block_size)):
            order = ((bare_block, store.conn, bare), (harness_block, store, harness))
            for fn, target, into in (order if b % 2 == 0 else order[::-1]):
                into.extend(fn(target, op, calls(op, block_size, store.conn, gen, ids, params.messages)))
        loaded = store.load_all()
        store.close()
    return (float(np.median(bare)) / 1e3, float(np.median(harness)) / 1e3, len(loaded),
            sum(len(c.messages) for c in loaded))


def add_block_options(parser: argparse.ArgumentParser) -> None:
    """The sample and block sizes (the Node runner's comparison takes the same)."""
    parser.add_argument("--samples", type=int, default=600, help="timed calls per side for the write ops")
    parser.add_argument("--load-samples", type=int, default=200, help="timed calls per side for load_all")
    parser.add_argument("--block", type=int, default=50, help="calls per alternating block (write ops)")
    parser.add_argument("--load-block", type=int, default=10,
                        help="calls per alternating block for load_all: its calls are long, so finer interleaving "
                             "is needed for drift to hit both sides alike")


def print_conditions() -> None:
    params = PROFILES["quick"]
    print(f"load average (1, 5, 15 min): {', '.join(f'{v:.2f}' for v in os.getloadavg())}; {os.cpu_count()} cores")
    print(f"store: {params.conversations} conversations × {params.messages} messages (quick profile), seed {SEED}")


def ratio_table(names: list[str], ops: list[str], compare: Callable, args: argparse.Namespace, side: str) -> list[dict]:
    """Print one row per backend and op, `compare(name, op, samples, block)` giving (bare p50 µs,
    `side`'s p50 µs, conversations, messages after); the rows, and the largest difference last."""
    width = max(map(len, names)) + 1
    print(f"{'backend':<{width}} {'op':<20} {'bare p50 µs':>12} {side + ' p50 µs':>15} {'ratio':>7}  store after")
    worst, rows = 0.0, []
    for name in names:
        for op in ops:
            n, block = (args.load_samples, args.load_block) if op == "load_all" else (args.samples, args.block)
            bare, other, conversations, messages = compare(name, op, n, min(block, n))
            ratio = other / bare
            worst = max(worst, abs(ratio - 1))
            print(f"{name:<{width}} {op:<20} {bare:>12.1f} {other:>15.1f} {ratio:>7.3f}  {conversations} / {messages}",
                  flush=True)
            rows.append({"backend": name, "op": op, "bare_p50_us": bare, f"{side}_p50_us": other})
    print(f"largest difference: {worst * 100:.1f} % (target: within {(TARGET_RATIO - 1) * 100:.0f} %)")
    return rows


def within_target(rows: list[dict], side: str) -> bool:
    return all(abs(row[f"{side}_p50_us"] / row["bare_p50_us"] - 1) <= TARGET_RATIO - 1 for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_block_options(parser)
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    print_conditions()
    print(f"null op p50: {measure_overhead()['p50_ns']} ns")
    rows = ratio_table(list(EMBEDDED), list(OPS), compare, args, "harness")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0 if within_target(rows, "harness") else 1


if __name__ == "__main__":
    raise SystemExit(main())
