"""One concurrent client, run in its own process with its own connection (bench/concurrency.py).

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

BUSY_WORDS = ("locked", "busy")


def is_busy(text: str) -> bool:
    """A `database is locked` / SQLITE_BUSY error, in any driver's wording."""
    lowered = text.lower()
    return any(word in lowered for word in BUSY_WORDS)


def run(request: dict, stdin, stdout) -> dict:
    import backends
    from backends.base import Settings, Target
    from bench.secrets import scrub
    from bench.workload import OPS, Params, Workload

    params = Params(**request["params"])
    target = Target(**request["target"])
    store = backends.get(request["backend"])(target, Settings(**request["settings"]))
    workload = Workload(params, request["seed"])
    steps = workload.plan(params.warmup + params.iterations)
    calls = [(OPS.index(op), getattr(store, op), args) for op, args in steps]
    warmup = params.warmup * len(OPS)
    samples: list[list[int]] = [[] for _ in OPS]
    errors = [0] * len(OPS)
    busy = [0] * len(OPS)
    examples: list[list[str]] = [[] for _ in OPS]
    failed: list[int] = []
    clock = time.perf_counter_ns
    store.open()
    try:
        started = 0
        for i, (slot, fn, args) in enumerate(calls):
            if i == warmup:
                print(json.dumps({"ready": True}), file=stdout, flush=True)
                stdin.readline()  # the go signal: every worker starts its timed rounds together
                started = time.monotonic_ns()
            t0 = clock()
            try:
                fn(*args)
                t1 = clock()
            except Exception as exc:
                failed.append(i)
                if i >= warmup:
                    errors[slot] += 1
                    busy[slot] += is_busy(f"{type(exc).__name__}: {exc}")
                    if len(examples[slot]) < 3:
                        examples[slot].append(scrub(f"{type(exc).__name__}: {exc}", [target.auth_token])[:300])
                continue
            if i >= warmup:
                samples[slot].append(t1 - t0)
        finished = time.monotonic_ns()
    finally:
        store.close()
    return {"started_ns": started, "finished_ns": finished, "samples_ns": samples, "errors": errors,
            "busy_errors": busy, "error_examples": examples, "failed_steps": failed}


def main() -> int:
    request = json.loads(sys.stdin.readline())
    result = run(request, sys.stdin, sys.stdout)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
