"""The Locust side of `storebench swarm` (bench/core/swarm.py starts Locust with this file).

Users: one Locust User class per backend (`SqldUser`, …). Each user opens its own store
connection, preloads its own conversations (its own seeded workload, so users never touch
each other's data and every write stays checkable), runs the warm-up rounds, reports ready,
and waits for the master's go. Then it runs the workload a round at a time through
`storebench.core.timing.time_steps` (closed loop) or `time_open_loop` (open loop, on a
schedule that carries over between rounds), keeps every raw sample, and fires one Locust
request event per sample, so Locust's own statistics see every op. When its time is up it
ships its samples to the master in chunks (Locust's `send_message`).

Master: sets up the schema, forwards the configuration to the workers (a custom option,
which Locust sends with its spawn messages), says go once every user is ready, waits for
every user's samples (at most the duration plus a grace period), stops the users, merges
the samples, checks that no acknowledged write was lost, and writes the results file.

Locust runs users as gevent greenlets: in one worker process, users take turns whenever one
waits on I/O that gevent sees. A driver whose calls block in native code without releasing
the process (the libsql package does) runs one op at a time per process, so concurrency is
the number of worker processes, and a user's op due while another runs is measured as wait
(open loop). docs/swarm.md says how to size workers for that.
"""

from __future__ import annotations

import logging
import os
import random
import time
from array import array
from pathlib import Path

import gevent
import locust
from gevent.event import Event
from locust import User, constant, events, task
from locust import runners as locust_runners
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner

from storebench import backends
from storebench.backends.base import Settings
from storebench.core import openloop, runner, safety, swarm, swarm_records
from storebench.core.timing import time_open_loop, time_steps
from storebench.core.workload import OPS
from storebench.model import results
from storebench.model.secrets import scrub

REQUEST_TYPE = "storebench"
POLL_S = 0.05
# Between rounds a user yields through the event loop, not with Locust's `gevent.sleep(0)`:
# a zero sleep switches only to greenlets that are ready, and gevent looks at its timers and
# sockets again only every 50 such switches. With a driver that blocks the process (libsql),
# 50 rounds of sqld went by without a heartbeat, the master counted every worker missing and
# stopped the test ("The last worker went missing") a few seconds into the window. Any
# positive sleep waits for the next loop iteration, where heartbeats and the master's
# messages are handled: then a worker is silent for at most one round of each of its users.
YIELD_S = 1e-6
# Heartbeats (1 s apart) the master lets a worker miss before it counts it missing; Locust's
# own is 3. A worker whose driver blocks is still silent for one round of each of its users,
# and on a loaded machine (other jobs on both cores) 4 users' rounds on sqld took over 3 s:
# a 3 s run lost a worker. A worker silent for longer fails the run (window_problem).
HEARTBEAT_LIVENESS = 15
log = logging.getLogger("storebench.swarm")


class WorkerState:
    """Per worker process: the master's go, when it arrived, and how many users started."""

    def __init__(self) -> None:
        self.go = Event()
        self.go_ns = 0
        self.users = 0

    def on_go(self, environment, msg, **_) -> None:
        self.go_ns = time.perf_counter_ns()
        self.go.set()


WORKER = WorkerState()


def user_seed(seed: int, worker: int, index: int) -> int:
    """A workload seed per user, the same for the same run seed and user position."""
    return random.Random(f"storebench-swarm:{seed}:{worker}:{index}").getrandbits(62)


class StoreUser(User):
    """Drives one backend's `Store` with the workload; a subclass per backend names it."""

    abstract = True
    backend: str
    wait_time = constant(YIELD_S)

    def on_start(self) -> None:
        env_runner = self.environment.runner
        self.config = swarm.SwarmConfig.from_json(self.environment.parsed_options.storebench)
        index, WORKER.users = WORKER.users, WORKER.users + 1
        worker = env_runner.worker_index
        cls = backends.get(self.backend)
        self.names = OPS + tuple(cls.extra_ops)
        seed = user_seed(self.config.seed, worker, index)
        self.record = swarm_records.UserRecord(f"{worker}:{index}", worker, seed, len(self.names))
        self.workload, _ = swarm_records.user_plan(self.config.params(), seed, 0)
        target = self.config.make_target()
        self.secrets = [target.auth_token]
        self.store = None
        self.planned = 0  # plan steps drawn so far
        self.scheduled = 0  # timed calls so far (plan steps and extra ops): the next open-loop slot
        self.pending: tuple[int, int] | None = None  # the round being timed: (first plan index, steps)
        self.finished = False
        self.begin_ns = 0  # the go, on this process's clock (0: not yet)
        self.offsets: array | None = None
        try:
            self.store = cls.opened(target, Settings(**self.config.settings))
            self.store.preload(self.workload.initial_state)
            for _ in range(self.config.warmup):
                self.run_round(warmup=True)
        except Exception as exc:
            message = scrub(f"{type(exc).__name__}: {exc}", self.secrets)[:300]
            env_runner.send_message("storebench_ready", {"user": self.record.user, "error": message})
            raise StopUser() from None
        env_runner.send_message("storebench_ready", {"user": self.record.user, "error": None})
        WORKER.go.wait()
        self.begin_ns = WORKER.go_ns
        self.window_ns = round(self.config.duration_s * 1e9)
        self.offsets = self.schedule(self.config.rate) if self.config.rate else None

    def schedule(self, total_rate: float) -> array:
        """This user's share of the open-loop rate, as intended starts after the go; shifted by a
        seeded phase within one mean gap, so the users' first ops do not all fall at once."""
        rate = total_rate / self.config.users
        count = int(rate * self.config.duration_s) + 2 * len(self.names)  # whole rounds past the window's end
        phase = round(random.Random(self.record.seed).uniform(0, 1e9 / rate))
        return array("q", (phase + t for t in openloop.schedule(count, rate, self.config.arrivals, self.record.seed)))

    @task
    def round(self) -> None:
        if self.finished:
            gevent.sleep(1)  # idle until the master stops the run
            return
        if self.window_over():
            self.finish(window_over=True)
            return
        timing = self.run_round(warmup=False)
        self.fire_events(timing)

    def window_over(self) -> bool:
        if self.offsets is None:
            return time.perf_counter_ns() - self.begin_ns >= self.window_ns
        return self.scheduled + len(self.names) > len(self.offsets) or self.offsets[self.scheduled] >= self.window_ns

    def run_round(self, warmup: bool):
        steps = self.workload.plan(1)
        assert self.store is not None  # opened by on_start, which stops the user when it cannot
        calls = runner._calls(self.store, self.names, steps)
        first = self.planned
        self.pending = (first, len(steps))
        if warmup:
            timing = time_steps(calls, len(self.names), warmup=len(calls))
        elif self.offsets is None:
            timing = time_steps(calls, len(self.names), secrets=self.secrets)
        else:
            slots = self.offsets[self.scheduled:self.scheduled + len(calls)]
            timing = time_open_loop(calls, len(self.names), slots, secrets=self.secrets, begin_ns=self.begin_ns)
        if not warmup:
            self.scheduled += len(calls)
        self.record.rounds += 1
        self.planned += len(steps)
        self.pending = None
        self.record.add_timing(timing, first, len(steps))
        return timing

    def fire_events(self, timing) -> None:
        """One Locust request event per timed call, so Locust's own statistics count them all
        (its figures are its own rounded ones; ours come from the raw samples)."""
        fire = self.environment.events.request.fire
        for slot, op in enumerate(self.names):
            for ns in timing.samples[slot]:
                fire(request_type=REQUEST_TYPE, name=op, response_time=ns / 1e6, response_length=0, exception=None,
                     context={})
            example = (timing.error_examples[slot] or ["error"])[0]
            for _ in range(timing.errors[slot]):
                fire(request_type=REQUEST_TYPE, name=op, response_time=0, response_length=0,
                     exception=RuntimeError(example), context={})

    def finish(self, window_over: bool) -> None:
        """Close the store and ship everything to the master: first Locust's own statistics
        (so the master's Locust figures include this user's last events), then our samples
        with how long this user measured (`window_over` False: it was stopped before its end)."""
        if self.finished:
            return
        self.finished = True
        self.record.window_ns = time.perf_counter_ns() - self.begin_ns if self.begin_ns else 0
        self.record.cut_short = not window_over
        if self.pending is not None:  # stopped inside a round: its writes are unacknowledged
            first, count = self.pending
            self.record.rounds += 1
            self.record.failed.extend(range(first, first + count))
        if self.store is not None:
            try:
                self.store.close()
            except Exception as exc:  # the samples still count; the master's check reads the store itself
                log.warning("closing the store: %s", scrub(str(exc), self.secrets)[:300])
        env_runner = self.environment.runner
        # The report a worker otherwise sends every 3 s (`report_to_master`, message "stats"),
        # sent now: messages from one worker arrive in order, so the master's Locust figures
        # hold this user's events by the time our samples arrive.
        report: dict = {}
        self.environment.events.report_to_master.fire(client_id=env_runner.client_id, data=report)
        env_runner.send_message("stats", report)
        for kind, data in self.record.messages():
            env_runner.send_message(kind, data)

    def on_stop(self) -> None:
        if hasattr(self, "record"):
            self.finish(window_over=bool(self.begin_ns) and self.window_over())


for _name in backends.names():
    globals()[swarm.user_class_name(_name)] = type(swarm.user_class_name(_name), (StoreUser,),
                                                     {"backend": _name, "abstract": False})


class Master:
    """The master's part of a run: set-up, go, collection, results."""

    def __init__(self, environment, config: swarm.SwarmConfig) -> None:
        self.environment = environment
        self.config = config
        self.ready: dict[str, str | None] = {}
        self.collector = swarm_records.Collector()
        self.missing: set[str] = set()  # workers Locust counted missing (no heartbeat) during the window
        self.load_start = results.load_average()
        self.started_at = results.now_iso()
        # A custom option: Locust forwards it to the workers with every spawn message.
        environment.parsed_options.storebench = config.to_json()
        master = environment.runner
        master.register_message("storebench_ready", self.on_ready)
        master.register_message("storebench_samples",
                                lambda environment, msg, **_: self.collector.add_samples(msg.data))
        master.register_message("storebench_done", lambda environment, msg, **_: self.collector.add_done(msg.data))
        environment.events.test_start.add_listener(self.on_test_start)
        cls = backends.get(config.backend)
        store = cls.opened(config.make_target(), Settings(**config.settings))
        try:
            store.setup_schema()
        finally:
            store.close()

    def on_ready(self, environment, msg, **_) -> None:
        self.ready[msg.data["user"]] = msg.data["error"]

    def on_test_start(self, environment, **_) -> None:
        gevent.spawn(self.control)  # not in the runner's group: it outlives runner.quit()'s kill

    def control(self) -> None:
        problem = self.wait_ready()
        if problem is None:
            self.environment.runner.send_message("storebench_go", {})
            log.info("storebench: go, a timed window of %g s", self.config.duration_s)
            end = time.monotonic() + self.config.duration_s + self.config.grace_s
            while len(self.collector.done) < self.config.users and time.monotonic() < end:
                self.missing.update(worker.id for worker in self.environment.runner.clients.missing)
                gevent.sleep(POLL_S)
        # Users still running stop now; a worker sends what they measured before its "stopped".
        self.environment.runner.stop()
        try:
            self.results(problem).dump(Path(self.config.out))
            self.environment.process_exit_code = 0
        except Exception:
            log.exception("storebench: writing the results failed")
            self.environment.process_exit_code = 3
        self.environment.runner.quit()

    def wait_ready(self) -> str | None:
        """None once every user is ready, else why the run cannot start."""
        deadline = time.monotonic() + swarm.READY_TIMEOUT_S
        while len(self.ready) < self.config.users:
            errors = [f"user {u}: {e}" for u, e in self.ready.items() if e]
            if errors:
                return f"a user could not start ({errors[0]})"
            if time.monotonic() > deadline:
                return f"only {len(self.ready)} of {self.config.users} users ready within {swarm.READY_TIMEOUT_S} s"
            gevent.sleep(POLL_S)
        errors = [f"user {u}: {e}" for u, e in self.ready.items() if e]
        return f"a user could not start ({errors[0]})" if errors else None

    def results(self, problem: str | None) -> results.Results:
        config = self.config
        cls = backends.get(config.backend)
        names = OPS + tuple(cls.extra_ops)
        users, problems = self.collector.records()
        problems = ([problem] if problem else []) + problems
        if problem is None and len(self.collector.done) < config.users:
            problems.append(f"{config.users - len(self.collector.done)} of {config.users} users sent no samples "
                            f"(stuck past the {config.grace_s:g} s grace period, or their worker died)")
        data = results.Results.new("swarm", config.record(), config.seed)
        run = data.run
        run.started_at, run.engine, run.locust_version = self.started_at, "locust", locust.__version__
        run.workers, run.users, run.duration_s = config.workers, config.users, config.duration_s
        run.load_average = results.LoadAverage(start=self.load_start, end=results.load_average())
        data.overhead = results.Overhead.from_dict(runner.measure_overhead())
        entry = runner.backend_entry(cls, "ok")
        target = config.make_target()
        entry["target"] = target.public()
        check, entry["writes"] = self.check_store(cls, target, users, entry, problems)
        entry["checks"]["after_run"] = check or "ok"
        ops = swarm_records.merged_ops(cls.name, names, users,
                                       openloop.OpenLoop(config.rate, config.arrivals) if config.rate else None)
        for op in ops:
            op["locust"] = locust_figures(self.environment.runner.stats, op["op"])
        entry["measured_s"] = swarm_records.measured_s(users)
        failures = problems or ([f"content after run differs: {check}"] if check else [])
        window = swarm_records.window_problem(users, config.duration_s, len(self.missing), config.workers)
        if window:
            failures.append(window)
        if any(o["errors"] for o in ops):
            failures.append("errors in " + ", ".join(f"{o['op']} ({o['errors']})" for o in ops if o["errors"]))
        if failures:
            entry.update(status="failed", reason="; ".join(failures))
        data.backends.append(results.BackendResult.from_dict(entry))
        data.ops = [results.OpResult.from_dict(o) for o in ops]
        data.complete = True
        data.run.finished_at = results.now_iso()
        return data

    def check_store(self, cls, target, users, entry: dict, problems: list[str]) -> tuple[str | None, dict]:
        """Describe the store and run the safety check over every user's plan. Not checked:
        what is lost is unknown (null), and with a user's report missing every count is."""
        try:
            store = cls.opened(target, Settings(**self.config.settings))
            try:
                entry.update(store.describe())
                if problems:
                    return f"not checked: {problems[0]}", dict.fromkeys(safety.KEYS)
                return swarm_records.check_writes(self.config.params(), users, store.load_all())
            finally:
                store.close()
        except Exception as exc:
            message = scrub(f"{type(exc).__name__}: {exc}", [target.auth_token])[:300]
            return (f"not checked: the store could not be read after the run ({message})",
                    swarm_records.check_writes(self.config.params(), users, None)[1])


def locust_figures(stats, op: str) -> dict | None:
    """Locust's own count and (rounded) percentiles of an op, for comparison with ours."""
    entry = stats.entries.get((op, REQUEST_TYPE))
    if entry is None:
        return None
    return {"requests": entry.num_requests, "failures": entry.num_failures,
            "p50_ms": entry.get_response_time_percentile(0.5), "p99_ms": entry.get_response_time_percentile(0.99)}


@events.init.add_listener
def on_init(environment, **_) -> None:
    if isinstance(environment.runner, MasterRunner):
        locust_runners.HEARTBEAT_LIVENESS = HEARTBEAT_LIVENESS  # read when a worker connects and at each heartbeat
        environment.storebench_master = Master(environment, swarm.SwarmConfig.from_json(os.environ[swarm.CONFIG_ENV]))
    elif isinstance(environment.runner, WorkerRunner):
        environment.runner.register_message("storebench_go", WORKER.on_go)
