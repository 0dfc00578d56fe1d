"""The browser backends (`nextjs-routes`, `browser-turso`): the real Next.js server, the real
Chromium page, timing in the page, the run's verification, and nothing left running after
exit, error, Ctrl-C or the harness being killed. (The storage contract itself is in
test_contract.py, which runs against these backends too.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storebench import backends
from storebench.backends import browser, nextjs_routes
from storebench.backends.base import Conversation, Settings
from storebench.capabilities import probes
from storebench.cli import main, parse_backends
from storebench.core import concurrency, runner
from storebench.core.workload import ALL_OPS, COLD_START, OPS, Params, Workload
from storebench.reports import claims, report
from storebench.servers import next_server
from tests.conftest import default_sigint
from tests.fake_results import FakeResults

ROUTES, TURSO = "nextjs-routes", "browser-turso"
SETTINGS = Settings(rtt_ms=2.0)  # as conftest's: the session's shared stores were made with it
REPO = Path(__file__).resolve().parent.parent
GONE_WITHIN_S = 30  # a bound for processes to exit after their parent, not a speed expectation

needs_browser = pytest.mark.skipif(
    backends.unavailable_reason(ROUTES) is not None, reason=f"{backends.unavailable_reason(ROUTES)}")


def descendants(pid: int) -> set[int]:
    """Every live process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def wait_gone(pids: set[int]) -> set[int]:
    """The pids still alive after waiting up to GONE_WITHIN_S for them to exit."""
    deadline = time.monotonic() + GONE_WITHIN_S
    while time.monotonic() < deadline and any(map(alive, pids)):
        time.sleep(0.1)
    return {p for p in pids if alive(p)}


def small_workload() -> Workload:
    return Workload(Params(conversations=3, messages=2, iterations=2, warmup=1, cold_starts=0), seed=3)


def plan_steps(workload: Workload, rounds: int) -> list[tuple[int, str, tuple]]:
    return [(OPS.index(op), op, args) for op, args in workload.plan(rounds)]


def fresh(store) -> None:
    for conversation in store.load_all():
        store.delete_conversation(conversation.id)


@needs_browser
@pytest.mark.xdist_group(ROUTES)  # with the other tests of the session's ROUTES store (conftest.backend_marks)
def test_time_plan_times_each_step_in_the_page_and_counts_failures_in_their_slot(shared_stores):
    store = shared_stores(ROUTES, SETTINGS)
    fresh(store)
    workload = small_workload()
    store.preload(workload.initial_state)
    steps = plan_steps(workload, 3)
    twice = (OPS.index("create_conversation"), "create_conversation", (Conversation("twice", "t", 1, 1, []),))
    sizes: list[tuple[int, int]] = []
    timing = store.time_plan(steps + [twice, twice], len(OPS), warmup=len(OPS),
                             store_size=lambda c, m: sizes.append((c, m)))
    assert [len(s) for s in timing.samples] == [2, 3, 2, 2, 2]  # the failed create is no sample
    assert len(sizes) == 2 and all(c > 0 and m >= c for c, m in sizes)  # counted in the page, per timed load_all
    assert all(ns > 0 for s in timing.samples for ns in s)
    assert timing.errors == [0, 1, 0, 0, 0] and timing.failed == [len(steps) + 1]
    assert "UNIQUE" in timing.error_examples[1][0]
    assert timing.round_trips == [len(s) for s in timing.samples]  # one fetch per op
    observed = store.observations()
    assert observed["page_timing"]["cross_origin_isolated"] is True
    assert 0 < observed["page_timing"]["performance_now_ms"] <= 0.1
    assert set(observed["resource_timing"]["ops"]) == set(OPS)


@needs_browser
@pytest.mark.xdist_group(TURSO)  # with the other tests of the session's TURSO store (conftest.backend_marks)
def test_browser_turso_counts_each_ops_round_trips_on_the_wire(shared_stores):
    store = shared_stores(TURSO, SETTINGS)
    fresh(store)
    workload = small_workload()
    store.preload(workload.initial_state)
    timing = store.time_plan(plan_steps(workload, 2), len(OPS), warmup=0)
    assert timing.errors == [0] * len(OPS)
    # A CORS request with a token: its request plus, where Chromium sends one, the preflight.
    assert all(trips >= len(s) for trips, s in zip(timing.round_trips, timing.samples))
    assert store.emulated  # no TURSO_* variables in the test environment


@needs_browser
@pytest.mark.parametrize("name", [ROUTES, TURSO])
def test_a_run_measures_six_ops_without_errors_and_verifies_the_store(name, monkeypatch):
    monkeypatch.setattr(nextjs_routes, "DEV_SERVERS", 1)
    monkeypatch.setattr(nextjs_routes, "DEV_REPEATS", 1)
    before = descendants(os.getpid())
    params = Params(conversations=4, messages=2, iterations=4, warmup=1, cold_starts=1, probes=False)
    entry, ops = runner.run_backend(name, params, 5, SETTINGS)
    assert entry["status"] == "ok", entry["reason"]
    assert entry["checks"] == {"after_preload": "ok", "after_run": "ok"}
    assert [o["op"] for o in ops] == list(ALL_OPS)
    assert all(o["errors"] == 0 and o["n"] > 0 for o in ops)
    assert entry["settings"]["journal_mode"] == "wal"
    cold = next(o for o in ops if o["op"] == COLD_START)
    assert cold["n"] == 1 and cold["p50_ms"] > 0
    load_all = ops[OPS.index("load_all")]
    assert 3 <= load_all["store_conversations_min"] <= load_all["store_conversations_max"] <= 5
    if name == ROUTES:
        assert entry["settings"]["synchronous"] == "normal" and entry["settings"]["busy_timeout_ms"] == 5000
        dev = entry["observations"]["next_dev"]
        assert dev["errors"] == [] and dev["first"]["load_all"]["n"] == 1 and dev["cached"]["add_message"]["n"] == 1
    else:
        assert entry["emulated"]
    assert wait_gone(descendants(os.getpid()) - before) == set()


@needs_browser
def test_two_concurrent_page_clients_leave_exactly_the_acknowledged_writes():
    params = Params(conversations=4, messages=2, iterations=4, warmup=1, cold_starts=0)
    entry = concurrency.run_clients(ROUTES, params, 1, SETTINGS, 2)
    assert entry["status"] == "ok", entry["reason"]
    assert entry["checks"] == {"after_run": "ok"} and entry["errors"] == 0
    assert all(entry["ops"][op]["n"] == 4 for op in OPS)  # 2 rounds per client, timed in each page


@needs_browser
def test_a_second_device_opens_the_same_page_with_the_url_and_token(tmp_path):
    cls = backends.get(TURSO)
    with cls.provision(tmp_path, SETTINGS) as target:
        with cls(target, SETTINGS) as store:
            store.setup_schema()
        answer = probes.probe_cross_device(cls, target, SETTINGS, tmp_path)
    assert answer["result"] == "yes", answer["evidence"]


@needs_browser
def test_ctrl_c_stops_the_run_the_server_and_the_browser(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the run's folders, and so its database, are in tmp_path
    command = [sys.executable, "-m", "storebench", "run", "--backends", ROUTES, "--profile", "smoke", "--no-progress",
               "--out", str(tmp_path / "results.json"), "--reports", str(tmp_path / "reports")]
    run = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           preexec_fn=default_sigint)
    try:
        deadline = time.monotonic() + GONE_WITHIN_S * 4
        while not any("chromium" in command_line(p) for p in descendants(run.pid)) and run.poll() is None:
            assert time.monotonic() < deadline, "the run did not start Chromium"
            time.sleep(0.1)
        started = descendants(run.pid)
        assert run.poll() is None and len(started) > 2  # next, Playwright's driver, Chromium
        run.send_signal(signal.SIGINT)
        _, stderr = run.communicate(timeout=GONE_WITHIN_S * 2)
    finally:
        run.kill()
    assert run.returncode == 130, stderr
    assert wait_gone(started) == set()


KILLED_HARNESS = """
import json, sys, time
from pathlib import Path
from storebench import backends
from storebench.backends.base import Settings
cls = backends.get(sys.argv[1])
with cls.provision(Path(sys.argv[2]), Settings(rtt_ms=2.0)) as target, cls(target, Settings(rtt_ms=2.0)) as store:
    store.setup_schema()
    store.load_all()
    print("ready", flush=True)
    time.sleep(600)
"""


@needs_browser
@pytest.mark.parametrize("name", [ROUTES, TURSO])
def test_a_killed_harness_leaves_no_server_or_browser(name, tmp_path):
    harness = subprocess.Popen([sys.executable, "-c", KILLED_HARNESS, name, str(tmp_path)], stdout=subprocess.PIPE,
                               text=True, cwd=REPO)
    try:
        assert harness.stdout.readline().strip() == "ready"
        started = descendants(harness.pid)
        assert started
        harness.send_signal(signal.SIGKILL)
        harness.wait()
        assert wait_gone(started) == set()
    finally:
        if harness.poll() is None:
            harness.kill()


def test_missing_chromium_node_or_build_make_the_backends_unavailable_with_the_reason(monkeypatch, tmp_path):
    monkeypatch.setenv(browser.CHROMIUM_ENV, str(tmp_path / "no-chromium"))
    assert "is not an executable file" in backends.unavailable_reason(ROUTES) or ""
    monkeypatch.delenv(browser.CHROMIUM_ENV)
    monkeypatch.setattr(next_server, "NEXT_BIN", tmp_path / "next")
    assert "make web" in backends.unavailable_reason(TURSO)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert backends.unavailable_reason(ROUTES).startswith("no Node.js on the PATH")


def test_the_default_run_includes_the_documents_two_architectures():
    assert ROUTES in parse_backends("all") and TURSO in parse_backends("all")
    assert parse_backends("browser-turso") == [TURSO]


def test_storebench_backends_says_why_a_backend_is_not_in_the_default_run(capsys):
    assert main(["backends"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("sqld-ws "))
    assert line.endswith("(not in the default run: " + backends.get("sqld-ws").not_in_all + ")")


def fake_claims_run() -> FakeResults:
    fake = FakeResults()
    fake.backend(ROUTES, 5.0, kind="api").backend("api-routes", 1.0, kind="api")
    fake.backend(TURSO, 48.0, kind="remote", emulated="emulated for the test")
    figures = {"n": 2, "p50_ms": 900.0, "p95_ms": 1500.0, "max_ms": 1500.0}
    cached = {"n": 10, "p50_ms": 15.0, "p95_ms": 30.0, "max_ms": 31.0}
    fake.data["backends"][0]["observations"] = {"next_dev": {
        "first": {op: figures for op in OPS}, "cached": {op: cached for op in OPS}}}
    return fake


def test_the_claims_section_sets_each_documented_figure_beside_the_measured_ones(tmp_path):
    path = fake_claims_run().write(tmp_path / "r.json")
    [run] = report.load_runs([path])
    table = claims.claims_blocks(run)[-1]
    assert [[c.text for c in row[:2]] for row in table.rows] == [
        ["Initial load (with compilation)", "83 ms"], ["Initial load (cached)", "3–6 ms"],
        ["Create conversation", "57–67 ms"], ["Add message (similar to create)", "57–67 ms"]]
    with_compilation, cached_load, create, _ = table.rows
    assert with_compilation[3].text == "first: 900 / 1500 (n 2)"
    assert with_compilation[3].key.endswith("backends[0].observations.next_dev.first.load_all")
    assert create[3].text == "cached: 15.0 / 30.0 (n 10); first: 900 / 1500 (n 2)"
    load_op = next(i for i, o in enumerate(run.data.ops) if (o.backend, o.op) == (ROUTES, "load_all"))
    assert cached_load[2].key.endswith(f"ops[{load_op}].p50_ms/p95_ms")
    assert "emulated, 20 ms RTT" in table.headers[5]
    assert "within about 20 % of it: browser-turso" in create[-1].text
    report.render([run], tmp_path / "reports")
    for name in ("latency.md", "index.html"):
        text = (tmp_path / "reports" / name).read_text()
        assert "performance claims, measured" in text and "57–67 ms" in text


def test_the_claims_section_says_what_a_run_did_not_measure(tmp_path):
    path = FakeResults().backend("sqlite3", 0.02).write(tmp_path / "r.json")
    [run] = report.load_runs([path])
    table = claims.claims_blocks(run)[-1]
    assert {c.text for row in table.rows for c in row[2:6]} == {"not in this run"}
    assert all(row[-1].text.endswith("nothing measured for it in this run.") for row in table.rows)


FLAKY_CHROMIUM = """#!/bin/sh
# Exits at launch, as Chromium did under load, on the first FAILURES calls; then the real one.
n=$(cat "{counter}" 2>/dev/null || echo 0); echo $((n + 1)) > "{counter}"
if [ "$n" -lt {failures} ]; then echo "dying at launch $n" >&2; exit 1; fi
exec "{real}" "$@"
"""


def flaky_chromium(tmp_path: Path, failures: int) -> Path:
    script = tmp_path / f"chromium-failing-{failures}"
    script.write_text(FLAKY_CHROMIUM.format(counter=tmp_path / f"launches-{failures}", failures=failures,
                                            real=browser.chromium_path()))
    script.chmod(0o755)
    return script


@needs_browser
def test_a_chromium_that_exits_at_launch_is_launched_again_up_to_the_limit(monkeypatch, tmp_path):
    monkeypatch.setenv(browser.CHROMIUM_ENV, str(flaky_chromium(tmp_path, browser.LAUNCH_ATTEMPTS - 1)))
    with browser.chromium() as context:
        assert context.new_page().evaluate("1 + 1") == 2
    monkeypatch.setenv(browser.CHROMIUM_ENV, str(flaky_chromium(tmp_path, browser.LAUNCH_ATTEMPTS)))
    with pytest.raises(browser.StoreError, match=r"Chromium did not start \(3 attempts\): .*dying at launch 2"):
        with browser.chromium():
            pass


@needs_browser
def test_the_crash_probe_leaves_no_chromium_profile_behind(tmp_path, monkeypatch):
    # Each probe client has a temporary folder of its own, which the probe removes: the writer
    # it kills cannot remove the Chromium profile it made there (it leaked, 2.5 MB a run).
    profiles: list[list[str]] = []
    folders: list[Path] = []
    close = probes.Child.close

    def close_and_record(child):
        folders.append(Path(child.tmp))
        profiles.append([p.name[:len("storebench-chromium-")] for p in Path(child.tmp).iterdir()])
        close(child)

    monkeypatch.setattr(probes.Child, "close", close_and_record)
    cls = backends.get(TURSO)  # its writer is a page; the emulated Turso's sqld is killed with it
    (tmp_path / "work").mkdir()
    with cls.provision(tmp_path / "work", SETTINGS) as target:
        with cls(target, SETTINGS) as store:
            store.setup_schema()
        answer = probes.probe_process_crash(cls, target, SETTINGS, tmp_path / "work")
    assert answer["result"] == "yes", answer["evidence"]
    assert answer["figures"]["killed"] == "server"  # sqld holds the data, not the page
    assert "storebench-chromium-" in profiles[0]  # the killed writer's, where it would have stayed
    assert folders and not any(folder.exists() for folder in folders)
