"""benchmarks/verdict_stability.py's own logic: each line's answer without figures, and the pair
its --inject slows (made-up results; no run is started)."""

from __future__ import annotations

import benchmark_scripts
from fake_results import drifting, durable_twins

verdict_stability = benchmark_scripts.load("verdict_stability")


def test_each_lines_answer_is_its_name_or_its_sorted_tie_group_or_not_answered():
    found = verdict_stability.answers(durable_twins(0.3, 1.01).results)
    assert found[("python", 1)] == "tie: apsw, sqlite3"
    assert found[("node", 1)] == found[("python", 2)] == "not answered"
    assert verdict_stability.answers(durable_twins(0.05, 1.5).results)[("python", 1)] == "apsw"


def test_the_injected_pair_is_the_closest_within_15_percent_whose_cheaper_one_is_a_python_client():
    cheaper, runner, ratio = verdict_stability.close_pair(
        drifting({"apsw": 1.0, "sqlite3": 1.1, "libsql": 1.05}, drift=0.05).results)
    assert (cheaper, runner) == ("apsw", "libsql") and 0.9 < ratio < 1.0
    assert verdict_stability.close_pair(drifting({"apsw": 1.0, "sqlite3": 1.3}, drift=0.05).results) is None
    # better-sqlite3 times its calls in Node, where no delay can be injected
    assert verdict_stability.close_pair(drifting({"better-sqlite3": 1.0, "node-libsql": 1.1}, drift=0.05).results) \
        is None
