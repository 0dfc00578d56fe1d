"""How much the harness adds: storebench's `add_message` p50 vs a bare driver loop.

The bare loop issues the same statements (BEGIN IMMEDIATE, INSERT message, UPDATE
conversation, COMMIT) on the same driver, file settings and connection, timed with the same
clock pair, with no Store method, no step list and no argument tuples in between. Blocks of
the two alternate so that drift (page cache, WAL growth, CPU frequency) hits both alike.

    python benchmarks/harness_vs_bare.py [--samples 2000] [--blocks 6]

Prints per embedded backend: bare p50, harness p50, their ratio; and the null-op p50.
The target (issue 2) is a ratio within 1.15 and a null-op p50 of at most 1 µs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import backends  # noqa: E402
from backends.base import Conversation, Message, Settings, Target  # noqa: E402
from backends.sql import INSERT_MESSAGE, TOUCH_CONVERSATION  # noqa: E402
from bench.runner import measure_overhead, time_steps  # noqa: E402
from bench.workload import EPOCH_MS  # noqa: E402

EMBEDDED = ("sqlite3", "apsw", "libsql")


def messages(prefix: str, n: int, start: int) -> list[Message]:
    body = "x" * 400
    return [Message(f"{prefix}{i}", "c1", "user", body, start + i) for i in range(n)]


def bare_block(conn, batch: list[Message]) -> list[int]:
    clock = time.perf_counter_ns
    execute = conn.execute
    out = []
    for m in batch:
        t0 = clock()
        execute("BEGIN IMMEDIATE")
        execute(INSERT_MESSAGE, (m.id, m.conversation_id, m.role, m.content, m.created_at))
        execute(TOUCH_CONVERSATION, (m.created_at, m.conversation_id))
        execute("COMMIT")
        out.append(clock() - t0)
    return out


def harness_block(store, batch: list[Message]) -> list[int]:
    timing = time_steps([(0, store.add_message, (m,)) for m in batch], slots=1)
    assert timing.errors == [0], timing.error_examples
    return list(timing.samples[0])


def compare(name: str, samples: int, blocks: int) -> tuple[float, float]:
    cls = backends.get(name)
    with tempfile.TemporaryDirectory() as tmp:
        store = cls(Target(path=str(Path(tmp) / "bench.db")), Settings())
        store.open()
        store.setup_schema()
        store.create_conversation(Conversation("c1", "t", EPOCH_MS, EPOCH_MS, []))
        per_block = samples // blocks
        bare, harness = [], []
        clock_ms = EPOCH_MS + 1
        for b in range(blocks):
            first, second = (bare_block, harness_block) if b % 2 == 0 else (harness_block, bare_block)
            for fn in (first, second):
                batch = messages(f"{fn.__name__}-{b}-", per_block, clock_ms)
                clock_ms += per_block
                target = store.conn if fn is bare_block else store
                (bare if fn is bare_block else harness).extend(fn(target, batch))
        store.close()
    return float(np.median(bare)) / 1e3, float(np.median(harness)) / 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--blocks", type=int, default=6)
    args = parser.parse_args()
    print(f"null op p50: {measure_overhead()['p50_ns']} ns")
    print(f"{'backend':<10} {'bare p50 µs':>12} {'harness p50 µs':>15} {'ratio':>7}")
    for name in EMBEDDED:
        bare, harness = compare(name, args.samples, args.blocks)
        print(f"{name:<10} {bare:>12.2f} {harness:>15.2f} {harness / bare:>7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
