"""`storebench run --inject`: a known delay really lands in one op's samples, and bad specs
are refused with one line. Timing assertions are lower bounds only (a delay is never shorter
than asked); nothing asserts an upper bound."""

from __future__ import annotations

import json
import time

import pytest

from storebench.cli import main
from storebench.core.inject import InjectError, Injection, parse, wrap
from storebench.core.workload import OPS

NAMES = ["sqlite3", "apsw"]


def test_a_spec_names_backend_op_and_amount():
    assert parse("sqlite3.add_message=+100%", NAMES) == Injection("sqlite3", "add_message", "%", 100.0)
    assert parse(" apsw.load_all=+2.5ms ", NAMES) == Injection("apsw", "load_all", "ms", 2.5)
    assert parse("sqlite3.add_message=+10%", NAMES).record()["spec"] == "sqlite3.add_message=+10%"


def test_op_all_delays_every_op_of_the_round():
    assert parse("apsw.all=+10%", NAMES).ops == OPS
    assert parse("apsw.add_message=+10%", NAMES).ops == ("add_message",)


@pytest.mark.parametrize("spec, message", [
    ("sqlite3.add_message=100%", "expected BACKEND.OP=+Xms or BACKEND.OP=+Y%"),
    ("sqlite3.add_message=+5s", "expected BACKEND.OP=+Xms or BACKEND.OP=+Y%"),
    ("sqlite3.add_message=-5ms", "expected BACKEND.OP=+Xms or BACKEND.OP=+Y%"),
    ("add_message=+5ms", "expected BACKEND.OP=+Xms or BACKEND.OP=+Y%"),
    ("libsql.add_message=+5ms", "backend 'libsql' is not in this run"),
    ("sqlite3.cold_start=+5ms", "unknown or untimed op 'cold_start'"),
    ("sqlite3.add_mesage=+5ms", "unknown or untimed op 'add_mesage'"),
    ("sqlite3.add_message=+0%", "must be above 0"),
    ("sqlite3.add_message=+999999ms", "at most 60000ms"),
])
def test_bad_specs_are_refused_saying_why(spec, message):
    with pytest.raises(InjectError, match=message.replace("+", r"\+").replace("(", r"\(")):
        parse(spec, NAMES)


def test_bad_spec_on_the_command_line_exits_2_with_one_line(tmp_path, capsys):
    code = main(["run", "--backends", "sqlite3", "--inject", "sqlite3.add_message=10%", "--out",
                 str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "r.json").exists()


def elapsed_ns(fn, *args) -> int:
    t0 = time.perf_counter_ns()
    fn(*args)
    return time.perf_counter_ns() - t0


def spin(ns: int) -> None:
    end = time.perf_counter_ns() + ns
    while time.perf_counter_ns() < end:
        pass


def test_a_fixed_delay_is_added_to_every_call():
    delayed = wrap(lambda: None, Injection("sqlite3", "add_message", "ms", 3.0))
    assert all(elapsed_ns(delayed) >= 3_000_000 for _ in range(5))


def test_a_percentage_delay_scales_the_call_itself():
    delayed = wrap(spin, Injection("sqlite3", "add_message", "%", 50.0))
    assert all(elapsed_ns(delayed, 2_000_000) >= 3_000_000 for _ in range(5))


def test_a_failing_call_still_raises_after_its_delay():
    def fail():
        raise ValueError("boom")

    delayed = wrap(fail, Injection("sqlite3", "add_message", "ms", 2.0))
    t0 = time.perf_counter_ns()
    with pytest.raises(ValueError, match="boom"):
        delayed()
    assert time.perf_counter_ns() - t0 >= 2_000_000


@pytest.mark.slow
def test_run_adds_the_delay_to_that_op_only_and_records_it(tmp_path):
    out = tmp_path / "r.json"
    code = main(["run", "--backends", "sqlite3,apsw", "--profile", "smoke", "--iterations", "5", "--warmup", "1",
                 "--cold-starts", "0", "--no-progress", "--inject", "sqlite3.update_title=+2ms", "--out", str(out),
                 "--reports", str(tmp_path / "reports")])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["run"]["params"]["inject"]["spec"] == "sqlite3.update_title=+2ms"
    assert set(data["run"]["load_average"]) == {"start", "end"}
    ops = {(o["backend"], o["op"]): o for o in data["ops"]}
    injected = ops[("sqlite3", "update_title")]
    assert injected["injected"] == "sqlite3.update_title=+2ms"
    assert len(injected["samples_ns"]) == 5 and min(injected["samples_ns"]) >= 2_000_000
    assert "injected" not in ops[("apsw", "update_title")] and "injected" not in ops[("sqlite3", "add_message")]
    assert all(b["status"] == "ok" for b in data["backends"])  # content checks still pass
