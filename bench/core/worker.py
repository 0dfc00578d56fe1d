"""One concurrent client, run in its own process with its own connection (bench/core/concurrency.py).

Protocol on stdin/stdout, one JSON object per line (stdin, never argv, so a token never shows
in the process list): the parent sends {"backend", "target", "settings", "params", "seed"};
the worker opens the store, builds its own workload (its own conversations: workers never
touch each other's data), runs the warm-up rounds, prints {"ready": true} and waits for a
line saying go. It then runs the timed rounds and prints its samples, its errors and the
indices of the steps that failed, so the parent knows exactly which writes were acknowledged.
Nothing is retried: a `database is locked` error is counted and reported as it happened.
"""

from __future__ import annotations

import json
import sys
import time


def run(request: dict, stdin, stdout) -> dict:
    from storebench import backends
    from storebench.backends.base import Settings, Target
    from storebench.core.timing import time_steps
    from storebench.core.workload import OPS, Params, Workload

    params = Params(**request["params"])
    target = Target(**request["target"])
    store = backends.get(request["backend"])(target, Settings(**request["settings"]))
    workload = Workload(params, request["seed"])
    steps = workload.plan(params.warmup)
    warmup = len(steps)
    steps += workload.plan(params.iterations)
    store.open()

    def timing(part: list, untimed: int):
        # The same timing loop as a single-client run; a self-timed store times in its runtime.
        if store.self_timed:
            return store.time_plan([(slot, OPS[slot], args) for slot, _, args in part], len(OPS), untimed)
        return time_steps(part, len(OPS), untimed, secrets=[target.auth_token])

    try:
        calls = [(OPS.index(op), getattr(store, op), args) for op, args in steps]
        warm = timing(calls[:warmup], warmup)  # the warm-up goes through it untimed
        print(json.dumps({"ready": True}), file=stdout, flush=True)
        stdin.readline()  # the go signal: every worker starts its timed rounds together
        started = time.monotonic_ns()
        timed = timing(calls[warmup:], 0)
        finished = time.monotonic_ns()
    finally:
        store.close()
    return {"started_ns": started, "finished_ns": finished, "samples_ns": [list(s) for s in timed.samples],
            "errors": timed.errors, "busy_errors": timed.busy, "error_examples": timed.error_examples,
            "failed_steps": warm.failed + [warmup + i for i in timed.failed]}


def main() -> int:
    request = json.loads(sys.stdin.readline())
    result = run(request, sys.stdin, sys.stdout)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
