"""`ab --budget` and per-op metrics: the harness's choices, from fake measurements (named as
such: they test the logic that picks rounds, pairs and metrics, not a measurement)."""

from __future__ import annotations

import sys

import pytest

from storebench.backends.base import Settings
from storebench.cli import main
from storebench.core import coordinator
from storebench.core.workload import PROFILES
from storebench.gate import ab, ab_budget, ab_verdict
from storebench.gate.ab_verdict import Pair

PY = sys.executable


def fake_measure(asked: list, wobble: dict[str, float], round_s: float = 0.001):
    """Harness logic only: a backend's head differs from its base by a process effect of
    ±wobble[backend] that alternates from pair to pair; each side's rounds "took" round_s each."""

    def measure(specs, params, seed, settings, processes, **_):
        rounds = params.iterations // processes
        asked.append((tuple(dict.fromkeys(s.backend for s in specs)), processes, rounds))
        out = []
        for s in specs:
            w = wobble[s.backend]
            runs = [[100_000 * ((1 + w if i % 2 else 1 - w) if s.side == "head" else 1.0)] * rounds
                    for i in range(processes)]
            entry = {"status": "ok", "phase_s": {"rounds": round_s * rounds * processes}}
            out.append(coordinator.Measured(s, entry, [], {"add_message": runs}))
        return out

    return measure


def plan(*names: str, metrics=("p50",)) -> ab.Plan:
    return ab.Plan(names, {"base": "py", "head": "py"}, PROFILES["smoke"], 1, Settings(), metrics=metrics,
                   max_pairs=ab_budget.MOST_PAIRS)


def test_the_pilot_sets_rounds_and_pairs_and_the_job_decides_within_the_budget(monkeypatch):
    asked: list = []
    monkeypatch.setattr(coordinator, "measure", fake_measure(asked, {"sqlite3": 0.0, "apsw": 0.03}))
    outcome, spent = ab_budget.run(plan("sqlite3", "apsw"), budget_s=600)
    # pilot: both backends, 3 pairs of 100 rounds; then 500 rounds (ab's default) per pair
    assert asked[0] == (("sqlite3", "apsw"), 3, 100)
    assert spent.rounds == {"sqlite3": 500, "apsw": 500}
    # one batch at those rounds, as many pairs as the noisier backend's pilot spread asks for
    # (backends of the same rounds share a batch, so sqlite3 gets them too)
    needed = ab_verdict.pairs_needed([0.97, 1.03, 0.97], 0.05, family=2)
    assert asked[1:] == [(("sqlite3", "apsw"), needed, 500)]
    assert spent.pairs == {"sqlite3": needed, "apsw": needed}
    assert outcome.overall == "no regression" and spent.undecided == []


def test_what_the_budget_cannot_decide_is_named_with_the_budget_that_would(monkeypatch):
    asked: list = []
    monkeypatch.setattr(coordinator, "measure", fake_measure(asked, {"apsw": 0.2}, round_s=0.01))
    outcome, spent = ab_budget.run(plan("apsw"), budget_s=5)
    assert outcome.overall == "inconclusive"
    [undecided] = spent.undecided
    assert undecided["comparison"] == "apsw.add_message p50"
    assert undecided["pairs_needed"] > undecided["pairs"] and undecided["budget_s"] > 5
    text = "\n".join(ab_budget.summary_lines(spent))
    assert f"about {undecided['pairs_needed']} would decide it, `--budget " in text


def test_a_slow_backend_gets_fewer_rounds_but_never_fewer_than_its_metrics_need(monkeypatch):
    asked: list = []
    monkeypatch.setattr(coordinator, "measure", fake_measure(asked, {"apsw": 0.0}, round_s=0.05))
    _, spent = ab_budget.run(plan("apsw"), budget_s=60)
    assert ab_verdict.samples_needed(50) <= spent.rounds["apsw"] < 500
    _, spent = ab_budget.run(plan("apsw", metrics=("p50", "p99:add_message")), budget_s=60)
    assert spent.rounds["apsw"] == 500 and spent.pilot_rounds == 500


@pytest.mark.parametrize("text, seconds", [("5m", 300), ("90s", 90), ("1h", 3600), ("300", 300), ("1.5m", 90)])
def test_a_budget_is_a_duration(text, seconds):
    assert ab_budget.parse_budget(text) == seconds


def test_per_op_metrics_judge_the_tail_only_where_asked():
    assert ab_verdict.applicable(("p50", "p99:load_all"), "sqlite3", "load_all") == ["p50", "p99"]
    assert ab_verdict.applicable(("p50", "p99:load_all"), "sqlite3", "add_message") == ["p50"]
    assert ab_verdict.applicable(("p99:apsw.load_all",), "sqlite3", "load_all") == []
    cells = {("sqlite3", op): [Pair([1000] * 500, [1000] * 500)] * 3 for op in ("load_all", "add_message")}
    judged = {(v.op, v.metric) for v in ab_verdict.decide(cells, ("p50", "p99:load_all"))}
    assert judged == {("load_all", "p50"), ("load_all", "p99"), ("add_message", "p50")}


def test_p99_on_an_op_whose_pilot_tail_is_a_cliff_is_refused_saying_why():
    # 496 calls of 10 µs and 4 of 1 ms: the p99 is at the body's edge, the p99.5 a rare long call
    cliff = [10_000] * 496 + [1_000_000] * 4
    cells = {("sqlite3", "delete_conversation"): [Pair(cliff, cliff)] * 3}
    with pytest.raises(ab.AbError, match=r"sqlite3.delete_conversation cannot be judged on p99: its p99 sits on a "
                                         r"cliff: p99.5 is 100x p99"):
        ab.check_tails(cells, plan("sqlite3", metrics=("p50", "p99:delete_conversation")), 18)
    smooth = list(range(10_000, 10_500))
    ab.check_tails({("sqlite3", "load_all"): [Pair(smooth, smooth)] * 3}, plan("sqlite3", metrics=("p99:load_all",)),
                   18)


@pytest.mark.parametrize("args, message", [
    (["--budget", "soon"], "--budget 'soon': expected a duration such as 5m"),
    (["--budget", "0m"], "--budget '0m'"),
    (["--metric", "p50,p99:nope"], "--metric 'p99:nope': no op 'nope' among --backends sqlite3"),
    (["--metric", "p42"], "'p42' is not one of p50, p90, p95, p99"),
    (["--metric", "p99:apsw.load_all"], "no op 'apsw.load_all'"),
    (["--metric", "p50,p99:load_all", "--rounds", "100"], "needs --rounds 500 or more"),
])
def test_bad_budget_or_metric_is_one_line_and_exit_2_before_anything_runs(tmp_path, capsys, args, message):
    assert main(["ab", "--base-python", PY, "--head-python", PY, "--backends", "sqlite3",
                 "--out", str(tmp_path / "ab.json"), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "ab.json").exists()
