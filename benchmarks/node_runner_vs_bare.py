"""How much the Node runner adds: a Node backend's `add_message` p50 through storebench (the
runner times each call of the system module, `time_plan`) vs a bare Node loop of the same
statements on the same driver (`node/bench/bare-loop.mjs`: the driver called directly, same
settings, same `process.hrtime.bigint()` pair). Blocks of the two alternate on the same file,
so drift (page cache, WAL growth, CPU frequency) hits both alike; each block warms up first.

    python benchmarks/node_runner_vs_bare.py [--samples 2000] [--blocks 6]

Prints per backend: bare p50, runner p50, their ratio, and the runner's floor (null call).
The target (issue 14) is a ratio within 1.15.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storebench import backends  # noqa: E402
from storebench.backends.base import Conversation, Message, Settings, Target  # noqa: E402
from storebench.backends.node_runner import NODE_DIR  # noqa: E402
from storebench.core.workload import EPOCH_MS  # noqa: E402

DRIVERS = {"better-sqlite3": "better-sqlite3", "node-libsql": "libsql"}  # backend -> bare loop driver
WARMUP = 200
BODY = "x" * 400


def bare_block(driver: str, path: str, n: int, prefix: str, start_ms: int) -> list[int]:
    request = json.dumps({"driver": driver, "path": path, "n": n, "warmup": WARMUP, "prefix": prefix,
                          "start_ms": start_ms})
    out = subprocess.run(["node", "bench/bare-loop.mjs", request], cwd=NODE_DIR, capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)["ns"]


def runner_block(store, n: int, prefix: str, start_ms: int) -> list[int]:
    steps = [(0, "add_message", (Message(f"{prefix}{i}", "c1", "user", BODY, start_ms + i),))
             for i in range(WARMUP + n)]
    timing = store.time_plan(steps, slots=1, warmup=WARMUP)
    assert timing.errors == [0], timing.error_examples
    return list(timing.samples[0])


def compare(name: str, samples: int, blocks: int) -> tuple[float, float, int]:
    cls = backends.get(name)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.db")
        with cls.opened(Target(path=path), Settings()) as store:
            store.setup_schema()
            store.create_conversation(Conversation("c1", "t", EPOCH_MS, EPOCH_MS, []))
            floor = store.describe()["runner_floor"]["p50_ns"]
            per_block = samples // blocks
            bare, runner = [], []
            clock_ms = EPOCH_MS + 1
            for b in range(blocks):
                order = ("bare", "runner") if b % 2 == 0 else ("runner", "bare")
                for kind in order:
                    prefix = f"{kind}-{b}-"
                    if kind == "bare":
                        bare += bare_block(DRIVERS[name], path, per_block, prefix, clock_ms)
                    else:
                        runner += runner_block(store, per_block, prefix, clock_ms)
                    clock_ms += WARMUP + per_block
    return float(np.median(bare)) / 1e3, float(np.median(runner)) / 1e3, floor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--blocks", type=int, default=6)
    args = parser.parse_args()
    print(f"{'backend':<15} {'bare p50 µs':>12} {'runner p50 µs':>14} {'ratio':>7} {'floor p50 ns':>13}")
    for name in DRIVERS:
        bare, runner, floor = compare(name, args.samples, args.blocks)
        print(f"{name:<15} {bare:>12.2f} {runner:>14.2f} {runner / bare:>7.3f} {floor:>13}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
