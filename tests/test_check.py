"""`storebench check`: exit status, verdicts and outputs, on FakeResults (made-up samples)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fake_results import FakeResults, fake_latencies, jitter

from storebench.cli import main
from storebench.gate import check

OPS5 = ("load_all", "create_conversation", "add_message", "update_title", "delete_conversation")


def fake_run(seed_offset: int, slow: dict | None = None, backends=("sqlite3", "apsw"), n: int = 40,
             run_seed: int = 1, factor: float = 1.0) -> FakeResults:
    """One fake run: the same per-call latencies as any other fake run (same workload), each
    measured with a little jitter; `slow` multiplies chosen (backend, op) samples."""
    results = FakeResults(seed=run_seed, iterations=n)
    for b_index, backend in enumerate(backends):
        for o_index, op in enumerate(OPS5):
            calls = fake_latencies(n, seed=100 * b_index + o_index)
            samples = jitter(calls, seed=1000 * seed_offset + 10 * b_index + o_index) * factor
            samples = samples * (slow or {}).get((backend, op), 1.0)
            results.op(backend, op, samples)
    return results


def run_check(tmp_path, baseline: FakeResults, current: FakeResults, *options: str) -> int:
    return main(["check", str(baseline.write(tmp_path / "base.json")), str(current.write(tmp_path / "cur.json")),
                 *options])


def test_two_runs_of_the_same_calls_pass(tmp_path, capsys):
    assert run_check(tmp_path, fake_run(1), fake_run(2)) == 0
    assert "no regression" in capsys.readouterr().out


def test_a_slower_op_fails_and_is_named(tmp_path, capsys):
    slow = fake_run(2, slow={("sqlite3", "add_message"): 1.5})
    assert run_check(tmp_path, fake_run(1), slow) == 1
    out = capsys.readouterr().out
    assert "1 regression: sqlite3.add_message p50" in out


def test_a_significant_change_below_the_minimum_effect_passes(tmp_path, capsys):
    slightly = fake_run(2, slow={("sqlite3", "add_message"): 1.04})
    assert run_check(tmp_path, fake_run(1), slightly, "--min-effect", "7%") == 0
    assert run_check(tmp_path, fake_run(1), slightly, "--min-effect", "2%") == 1


def test_a_faster_op_is_reported_and_passes(tmp_path, capsys):
    faster = fake_run(2, slow={("apsw", "load_all"): 0.5})
    assert run_check(tmp_path, fake_run(1), faster) == 0
    assert "faster" in capsys.readouterr().out


def test_runs_with_different_seeds_are_compared_unpaired():
    base, cur = fake_run(1).results, fake_run(2, run_seed=7, slow={("sqlite3", "update_title"): 2.0}).results
    outcome = check.compare(base, cur, check.Options())
    [flagged] = outcome.regressions
    assert (flagged.backend, flagged.op, flagged.metric, flagged.paired) == ("sqlite3", "update_title", "p50", False)


def test_same_seed_runs_are_compared_call_by_call():
    outcome = check.compare(fake_run(1).results, fake_run(2).results, check.Options())
    assert all(c.paired for c in outcome.judged)


def test_only_ops_in_both_files_are_compared_and_the_rest_listed():
    base = fake_run(1, backends=("sqlite3", "apsw")).results
    cur = fake_run(2, backends=("sqlite3", "libsql")).results
    outcome = check.compare(base, cur, check.Options())
    assert {c.backend for c in outcome.comparisons} == {"sqlite3"}
    assert outcome.missing == ["apsw: only in the baseline", "libsql: only in the current results"]


def test_a_backend_that_did_not_run_is_listed_not_failed():
    cur = fake_run(2, backends=("sqlite3",)).status("apsw", "unavailable", "driver not installed").results
    outcome = check.compare(fake_run(1).results, cur, check.Options())
    assert "apsw: unavailable in the current results (driver not installed)" in outcome.missing
    assert not outcome.regressions


def test_p99_is_not_judged_from_too_few_samples():
    outcome = check.compare(fake_run(1).results, fake_run(2).results, check.Options(metrics=("p99",)))
    assert all(c.verdict == check.NOT_JUDGED and "needs n>=500" in c.note for c in outcome.comparisons)


def test_p99_is_judged_with_enough_samples():
    slow = {("sqlite3", "load_all"): 3.0}
    outcome = check.compare(fake_run(1, n=1000).results, fake_run(2, n=1000, slow=slow).results,
                            check.Options(metrics=("p99",)))
    assert [(c.backend, c.op) for c in outcome.regressions] == [("sqlite3", "load_all")]
    assert all(c.verdict != check.NOT_JUDGED for c in outcome.comparisons)


def test_relative_to_cancels_a_uniformly_slower_machine(tmp_path):
    other_machine = fake_run(2, factor=2.0)
    assert run_check(tmp_path, fake_run(1), other_machine) == 1
    assert run_check(tmp_path, fake_run(1), other_machine, "--relative-to", "sqlite3.update_title") == 0
    one_op_worse = fake_run(2, factor=2.0, slow={("apsw", "add_message"): 1.5})
    assert run_check(tmp_path, fake_run(1), one_op_worse, "--relative-to", "sqlite3.update_title") == 1


def test_summary_is_markdown_naming_the_regression(tmp_path):
    summary = tmp_path / "summary.md"
    slow = fake_run(2, slow={("sqlite3", "delete_conversation"): 2.0})
    assert run_check(tmp_path, fake_run(1), slow, "--summary", str(summary)) == 1
    text = summary.read_text()
    assert text.startswith("## ❌ storebench check: 1 regression: sqlite3.delete_conversation p50")
    assert "| sqlite3 | delete_conversation | p50 |" in text and "**regression**" in text


def test_an_injected_run_is_labelled(tmp_path):
    summary = tmp_path / "summary.md"
    run_check(tmp_path, fake_run(1), fake_run(2).injected("sqlite3.add_message=+10%"), "--summary", str(summary))
    assert "injected delay (sqlite3.add_message=+10%)" in summary.read_text()


def test_a_confirmed_regression_fails(tmp_path, capsys):
    slow = {("sqlite3", "add_message"): 1.5}
    again = fake_run(3, slow=slow).write(tmp_path / "again.json")
    assert run_check(tmp_path, fake_run(1), fake_run(2, slow=slow), "--confirm", str(again)) == 1
    assert "confirmed: +" in capsys.readouterr().out


def test_a_regression_the_confirmation_run_does_not_show_passes(tmp_path, capsys):
    clean = fake_run(3).write(tmp_path / "clean.json")
    neighbour = fake_run(2, slow={("apsw", op): 2.0 for op in OPS5})  # a whole backend slowed once
    assert run_check(tmp_path, fake_run(1), neighbour, "--confirm", str(clean)) == 0
    assert "not reproduced" in capsys.readouterr().out


def test_a_regression_that_cannot_be_confirmed_still_fails(tmp_path):
    without_sqlite3 = fake_run(3, backends=("apsw",)).write(tmp_path / "partial.json")
    slow = fake_run(2, slow={("sqlite3", "add_message"): 1.5})
    assert run_check(tmp_path, fake_run(1), slow, "--confirm", str(without_sqlite3)) == 1


def test_a_busy_machine_and_an_interrupted_run_are_warned_about():
    busy = fake_run(2)
    busy.data["run"]["load_average"] = {"start": 0.5, "end": 3.5}
    busy.data["run"]["host"]["cores"] = 2
    busy.data["complete"] = False
    warnings = check.compare(fake_run(1).results, busy.results, check.Options()).warnings
    assert "the current run is incomplete (its run was interrupted)" in warnings
    assert any(w.startswith("the machine was busy during the current run (load average 3.5 on 2 cores)")
               for w in warnings)


def test_holm_adjusts_step_down_and_stays_monotone():
    assert holm_rounded([0.01, 0.04, 0.03]) == [0.03, 0.06, 0.06]
    assert holm_rounded([0.5, 0.9]) == [1.0, 1.0]


def holm_rounded(p):
    return [round(x, 10) for x in check.holm(p)]


@pytest.mark.parametrize("options, message", [
    (["--metric", "p42"], "valid metrics are p50, p90, p95, p99"),
    (["--alpha", "2"], "--alpha '2'"),
    (["--min-effect", "ten"], "--min-effect 'ten'"),
    (["--relative-to", "sqlite3"], "expected BACKEND.OP"),
    (["--relative-to", "sqlite3.cold_start"], "not measured"),
])
def test_bad_options_exit_2_with_one_line(tmp_path, capsys, options, message):
    assert run_check(tmp_path, fake_run(1), fake_run(2), *options) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_unreadable_inputs_exit_2(tmp_path, capsys):
    (tmp_path / "junk.json").write_text("{not json")
    good = fake_run(1).write(tmp_path / "good.json")
    assert main(["check", str(tmp_path / "missing.json"), str(good)]) == 2
    assert main(["check", str(tmp_path / "junk.json"), str(good)]) == 2
    (tmp_path / "other.json").write_text(json.dumps({"hello": 1}))
    assert main(["check", str(tmp_path / "other.json"), str(good)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("storebench: error: ") for line in lines)


def test_no_common_backend_exits_2(tmp_path, capsys):
    assert run_check(tmp_path, fake_run(1, backends=("apsw",)), fake_run(2, backends=("libsql",))) == 2
    assert "no backend/op is present in both files" in capsys.readouterr().err


def test_percentiles_are_nearest_rank_measured_values():
    samples = np.array([5.0, 1.0, 3.0, 2.0, 4.0])
    assert check.percentile(samples, 50) == 3.0 and check.percentile(samples, 99) == 5.0


def test_files_of_different_profiles_are_refused_unless_allowed(tmp_path, capsys):
    quick = FakeResults(profile="quick")
    for op in OPS5:
        quick.op("sqlite3", op, fake_latencies(40, seed=3))
    assert run_check(tmp_path, fake_run(1), quick) == 2
    assert capsys.readouterr().err.strip().endswith(
        "the files come from different profiles (smoke vs quick); measure both with the same --profile, "
        "or pass --allow-mismatch")
    assert run_check(tmp_path, fake_run(1), quick, "--allow-mismatch") in (0, 1)


def test_files_of_different_sizes_are_refused(tmp_path, capsys):
    bigger = fake_run(2)
    bigger.data["run"]["params"]["conversations"] += 1
    assert run_check(tmp_path, fake_run(1), bigger) == 2
    assert "different workloads (conversations" in capsys.readouterr().err


def test_the_verdict_says_it_is_about_files_not_code(tmp_path, capsys):
    run_check(tmp_path, fake_run(1), fake_run(2))
    assert "this verdict is about the files, not the code" in capsys.readouterr().out
