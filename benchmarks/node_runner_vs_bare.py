"""How much the Node runner adds: each Node file backend's p50 of every op through storebench (the
runner times each call of the system module, `time_plan`, as `storebench run` times it) vs a
bare Node loop of the same statements on the same driver (`node/bench/bare-loop.mjs`: the driver
called directly, same settings, same `process.hrtime.bigint()` pair).

The store holds the quick profile's 100 conversations × 20 messages (the workload's own data,
seed 1) and stays at that size: each timed call is paired with untimed restores, done alike on
both sides, through the same op calls (a created conversation is deleted again; the
conversation a message was added to is deleted and re-created as it was; a conversation of the
stated size is created before each timed delete). Both sides are long-lived processes on the same
file; their blocks alternate, the order swapped every block, and each block starts with a few
untimed calls (the other process's writes have just invalidated this one's page cache).

    python benchmarks/node_runner_vs_bare.py [--samples 600] [--load-samples 200] [--block 50] [--load-block 10]
                                             [--backends better-sqlite3,node-libsql,drizzle] [--ops load_all,...]

Prints the machine's load average, the runner's floor (null call) and per backend and op: bare
p50, runner p50, their ratio and the store's size after the op's samples. The target (issues 14
and 30) is every ratio within 1.15.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness_vs_bare import SEED, add_block_options, print_conditions, ratio_table, within_target  # noqa: E402
from storebench import backends  # noqa: E402
from storebench.backends.base import Conversation, Settings, Target  # noqa: E402
from storebench.backends.node_runner import NODE_DIR, wire_args  # noqa: E402
from storebench.core.workload import OPS, PROFILES, DataGenerator  # noqa: E402
from storebench.servers.processes import die_with_parent, pipes, stop_process  # noqa: E402

DRIVERS = {"better-sqlite3": "better-sqlite3", "node-libsql": "libsql", "drizzle": "drizzle"}  # backend -> bare loop
WARM_CALLS = 3  # untimed calls at the start of every block, on both sides

Step = tuple[int, str, tuple]  # (slot: 0 timed op, 1 restore; op name; arguments)


def calls(op: str, n: int, gen: DataGenerator, data: dict[str, Conversation], messages: int) -> list[list[Step]]:
    """`n` calls of `op` with fresh arguments, each with the restores that keep the store at its size."""
    ids = list(data)
    out = []
    for _ in range(n):
        if op == "load_all":
            out.append([(0, op, ())])
        elif op == "create_conversation":  # a new chat with its first exchange; deleted again
            c = gen.conversation(2)
            out.append([(0, op, (c,)), (1, "delete_conversation", (c.id,))])
        elif op == "add_message":  # to an existing chat, which is then restored as it was
            cid = ids[gen.rng.randrange(len(ids))]
            out.append([(0, op, (gen.message(cid, "user"),)), (1, "delete_conversation", (cid,)),
                        (1, "create_conversation", (data[cid],))])
        elif op == "update_title":
            out.append([(0, op, (ids[gen.rng.randrange(len(ids))], gen.title(), gen.tick()))])
        else:  # delete_conversation: a chat of the stated size is created first, then deleted
            c = gen.conversation(messages)
            out.append([(1, "create_conversation", (c,)), (0, op, (c.id,))])
    return out


class BareLoop:
    """The long-lived `node bench/bare-loop.mjs` process: a block of steps out, its samples back."""

    def __init__(self, driver: str, path: str, settings: Settings) -> None:
        config = json.dumps({"driver": driver, "path": path, "settings": asdict(settings)})
        self.proc = subprocess.Popen(["node", "bench/bare-loop.mjs", config], cwd=NODE_DIR, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, preexec_fn=die_with_parent)
        self.stdin, self.stdout = pipes(self.proc)

    def block(self, steps: list[Step], warmup: int) -> list[int]:
        wire = [[op, wire_args(args), slot == 0 and i >= warmup] for i, (slot, op, args) in enumerate(steps)]
        self.stdin.write(json.dumps({"steps": wire}, ensure_ascii=False).encode() + b"\n")
        self.stdin.flush()
        line = self.stdout.readline()
        if not line:
            raise RuntimeError(f"the bare loop exited ({self.proc.poll()})")
        return json.loads(line)["ns"]

    def close(self) -> None:
        self.stdin.close()
        stop_process(self.proc)
        self.stdout.close()


def runner_block(store, steps: list[Step], warmup: int) -> list[int]:
    timing = store.time_plan(steps, slots=2, warmup=warmup)
    assert timing.errors == [0, 0], timing.error_examples
    return list(timing.samples[0])


def compare(name: str, op: str, samples: int, block_size: int) -> tuple[float, float, int, int]:
    """(bare p50 µs, runner p50 µs, conversations, messages at the end: the store's size)."""
    params = PROFILES["quick"]
    settings = Settings()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.db")
        with backends.get(name).opened(Target(path=path), settings) as store:
            store.setup_schema()
            gen = DataGenerator(SEED)
            data = {c.id: c for c in (gen.conversation(params.messages) for _ in range(params.conversations))}
            store.preload(list(data.values()))
            bare = BareLoop(DRIVERS[name], path, settings)
            try:
                bare_ns: list[int] = []
                runner_ns: list[int] = []
                for b in range(max(2, samples // block_size)):
                    for side in (("bare", "runner") if b % 2 == 0 else ("runner", "bare")):
                        warm = calls(op, WARM_CALLS, gen, data, params.messages)
                        steps = [s for call in warm + calls(op, block_size, gen, data, params.messages) for s in call]
                        warmup = sum(len(call) for call in warm)
                        if side == "bare":
                            bare_ns += bare.block(steps, warmup)
                        else:
                            runner_ns += runner_block(store, steps, warmup)
            finally:
                bare.close()
            loaded = store.load_all()
    return (float(np.median(bare_ns)) / 1e3, float(np.median(runner_ns)) / 1e3, len(loaded),
            sum(len(c.messages) for c in loaded))


def runner_floor(name: str) -> int:
    with tempfile.TemporaryDirectory() as tmp, backends.get(name).opened(Target(path=str(Path(tmp) / "f.db")),
                                                                          Settings()) as store:
        return store.describe()["runner_floor"]["p50_ns"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_block_options(parser)
    parser.add_argument("--backends", default=",".join(DRIVERS), help="comma-separated, of: " + ", ".join(DRIVERS))
    parser.add_argument("--ops", default=",".join(OPS), help="comma-separated, of: " + ", ".join(OPS))
    args = parser.parse_args()
    names, ops = args.backends.split(","), args.ops.split(",")
    unknown = sorted(set(names) - set(DRIVERS)) + sorted(set(ops) - set(OPS))
    if unknown:
        parser.error(f"unknown backend or op: {', '.join(unknown)}")
    print_conditions()
    rows = ratio_table(names, ops, compare, args, "runner")
    print(f"runner floor (null call) p50 ns: {', '.join(f'{name} {runner_floor(name)}' for name in names)}")
    return 0 if within_target(rows, "runner") else 1


if __name__ == "__main__":
    raise SystemExit(main())
