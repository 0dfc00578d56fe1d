"""Concurrent clients: N worker processes against one backend, each with its own connection.

Per client count, on a fresh store: each worker gets its own seeded workload (its own
conversations, so the expected end state is computable), the parent preloads all of them,
the workers warm up, start their timed rounds together, and report their samples, errors and
which steps failed. The parent then checks the store with the safety rule
(bench/core/safety.py): every acknowledged step is there; a failed one may or may not have
applied. Busy/locked errors are counted, never
retried: the only waiting is the busy timeout the user set (--busy-timeout-ms).
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

from storebench import backends
from storebench.backends.base import Settings, Store, Target
from storebench.core import safety
from storebench.core.workload import OPS, Params, Workload
from storebench.model import stats
from storebench.model.secrets import scrub
from storebench.servers.processes import pipes

READY_TIMEOUT_S = 300
RUN_TIMEOUT_S = 1800


def worker_seed(seed: int, worker: int) -> int:
    return seed * 1000 + worker


def worker_params(params: Params, clients: int) -> Params:
    """Each worker's share: the preloaded conversations and the timed rounds are split between
    the clients, so the total work is the same for every client count; each worker's plan
    keeps its share of the store stationary (bench/core/workload.py), so the whole store is too."""
    return replace(params, conversations=max(1, params.conversations // clients),
                   iterations=max(1, params.iterations // clients), cold_starts=0)


def _read_line(proc: subprocess.Popen[str], deadline: float) -> str:
    _, stdout = pipes(proc)
    remaining = deadline - time.monotonic()
    ready, _, _ = select.select([stdout], [], [], max(0.0, remaining))
    if not ready:
        raise TimeoutError("worker did not get ready in time")
    line = stdout.readline()
    if not line:
        err = ((proc.stderr.read() if proc.stderr else "").strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"worker exited before it was ready: {err}")
    return line


def run_workers(name: str, target: Target, settings: Settings, params: Params, seeds: list[int]) -> list[dict]:
    """Start one worker per seed, release them together, and return their reports."""
    procs: list[subprocess.Popen[str]] = []
    try:
        for seed in seeds:
            proc = subprocess.Popen([sys.executable, "-m", "storebench.core.worker"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            procs.append(proc)
            request = {"backend": name, "target": asdict(target), "settings": asdict(settings),
                       "params": asdict(params), "seed": seed}
            stdin, _ = pipes(proc)
            stdin.write(json.dumps(request) + "\n")
            stdin.flush()
        deadline = time.monotonic() + READY_TIMEOUT_S
        for proc in procs:
            _read_line(proc, deadline)
        for proc in procs:
            stdin, _ = pipes(proc)
            stdin.write("go\n")
            stdin.flush()
        reports = []
        for proc in procs:
            out, err = proc.communicate(timeout=RUN_TIMEOUT_S)
            if proc.returncode != 0:
                last = (err.strip().splitlines() or ["no output"])[-1]
                raise RuntimeError(f"worker exited {proc.returncode}: {last}")
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return reports
    finally:
        for proc in procs:  # on error or Ctrl-C no worker outlives the run
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _op_figures(samples: list[int], errors: int, busy: int) -> dict:
    summary = stats.summarize(samples)
    return {"n": len(samples), "errors": errors, "busy_errors": busy,
            "p50_ms": summary["p50_ms"], "p99_ms": summary["p99_ms"]}


def _throughput(ops: int, started: int, finished: int) -> float | None:
    return ops / ((finished - started) / 1e9) if finished > started else None


def _figures(reports: list[dict]) -> dict:
    """Per op (samples merged over `reports`) and overall: counts, p50/p99, throughput over the
    span from the first start to the last finish (CLOCK_MONOTONIC is shared by processes)."""
    ops = {op: _op_figures([s for r in reports for s in r["samples_ns"][k]],
                           sum(r["errors"][k] for r in reports), sum(r["busy_errors"][k] for r in reports))
           for k, op in enumerate(OPS)}
    done = sum(o["n"] for o in ops.values())
    span = (min(r["started_ns"] for r in reports), max(r["finished_ns"] for r in reports))
    return {"ops_done": done, "errors": sum(o["errors"] for o in ops.values()),
            "busy_errors": sum(o["busy_errors"] for o in ops.values()),
            "throughput_ops_s": _throughput(done, *span), "ops": ops}


def summarize(reports: list[dict]) -> tuple[dict, list[dict]]:
    """Aggregate figures and per-worker figures."""
    workers = [{"worker": i, **_figures([r]), "error_examples": [e for ex in r["error_examples"] for e in ex][:3]}
               for i, r in enumerate(reports)]
    return _figures(reports), workers


def concurrency_entry(name: str, clients: int, status: str, reason: str | None = None) -> dict:
    return {"backend": name, "clients": clients, "status": status, "reason": reason}


def run_clients(name: str, params: Params, seed: int, settings: Settings, clients: int) -> dict:
    """One `concurrency` results entry: `clients` workers on a fresh store of backend `name`."""
    cls = backends.get(name)
    reason = backends.unavailable_reason(name) or (cls.single_process_reason if clients > 1 else None)
    if reason:
        return concurrency_entry(name, clients, "unavailable", reason)
    with tempfile.TemporaryDirectory(prefix=f"storebench-{name}-c{clients}-") as tmp:
        secrets: list[str | None] = []
        try:
            with cls.provision(Path(tmp), settings) as target:
                secrets.append(target.auth_token)
                return _measure_clients(cls, target, params, seed, settings, clients)
        except Exception as exc:  # this backend failed; the run goes on
            message = scrub(f"{type(exc).__name__}: {exc}", secrets)
            return concurrency_entry(name, clients, "failed", message[:500])


def _measure_clients(cls: type[Store], target: Target, params: Params, seed: int, settings: Settings,
                     clients: int) -> dict:
    share = worker_params(params, clients)
    seeds = [worker_seed(seed, w) for w in range(clients)]
    workloads = [Workload(share, s) for s in seeds]
    store = cls.opened(target, settings)
    try:
        store.setup_schema()
        store.preload([c for w in workloads for c in w.initial_state])
    finally:
        store.close()
    reports = run_workers(cls.name, target, settings, share, seeds)
    # The parent regenerates each worker's plan from its seed: the same steps, same arguments.
    plans = [w.plan(share.warmup + share.iterations) for w in workloads]
    failed = [set(r["failed_steps"]) for r in reports]
    store = cls.opened(target, settings)
    try:  # a failed step may or may not have applied (bench/core/safety.py)
        problem, writes = safety.check_clients(
            [(w.initial_state, plan, bad) for w, plan, bad in zip(workloads, plans, failed)], store.load_all())
    finally:
        store.close()
    totals, workers = summarize(reports)
    entry = concurrency_entry(cls.name, clients, "failed" if problem else "ok",
                              f"content after run differs: {problem}" if problem else None)
    entry.update({
        "conversations_per_client": share.conversations, "rounds_per_client": share.iterations,
        "acknowledged_writes": writes["acknowledged"], "checks": {"after_run": problem or "ok"},
        **totals, "workers": workers,
    })
    return entry
