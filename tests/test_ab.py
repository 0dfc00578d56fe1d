"""`storebench ab`: base and head measured side by side by real worker processes."""

from __future__ import annotations

import json
import sys

import pytest

from storebench.cli import main

PY = sys.executable


def ab(tmp_path, *extra: str) -> int:
    # Up to 12 pairs, 3 at a time: a quiet machine has its verdict after the first 3; on a loaded
    # one (a CPU hog, parallel test workers) 3 pairs left even the +400 % op inconclusive, and
    # ab adds pairs until the verdict is known, as it does for a user.
    return main(["ab", "--base-python", PY, "--head-python", PY, "--backends", "sqlite3,apsw", "--pairs", "3",
                 "--max-pairs", "12", "--rounds", "40", "--metric", "p50", "--no-progress",
                 "--out", str(tmp_path / "ab.json"), "--summary", str(tmp_path / "ab.md"), *extra])


# The tests reading the module-scoped `injected` run on one pytest-xdist worker (loadgroup),
# which computes it once.
same_ab_job = pytest.mark.xdist_group("ab-injected")


@pytest.fixture(scope="module")
def injected(tmp_path_factory):
    """One real job whose head side has delete_conversation slowed to five times its own
    duration, busy-waited: far beyond what a loaded machine does to a pair. The round's last op
    is slowed, because a long wait also slows the op right after it (caches and branch
    predictors cooled by the spin: update_title, 10 µs, measured 50 % slower after a 120 µs
    wait in add_message); load_all, which follows delete_conversation, is long enough to
    notice little. (folder, exit status)"""
    folder = tmp_path_factory.mktemp("ab")
    return folder, ab(folder, "--head-inject", "sqlite3.delete_conversation=+400%")


@same_ab_job
def test_a_slowed_head_op_is_a_regression_named_in_the_summary(injected):
    tmp_path, status = injected
    assert status == 1
    data = json.loads((tmp_path / "ab.json").read_text())
    regressions = {(v["backend"], v["op"]) for v in data["ab"]["verdicts"] if v["verdict"] == "regression"}
    # The injected op is one; which others are is not the design's to say: the spin's wake
    # slows the next op of the same process (load_all), under CPU contention a process that
    # burns 5x the CPU in one op is preempted more often in its others (add_message, once
    # create_conversation), and alpha bounds a false verdict's chance, not to zero.
    assert ("sqlite3", "delete_conversation") in regressions
    assert "`sqlite3.delete_conversation` | p50 | +" in (tmp_path / "ab.md").read_text()
    assert data["ab"]["inject"] == {"base": None, "head": "sqlite3.delete_conversation=+400%"}
    assert data["ab"]["failures"] == []
    # The injection reaches sqlite3's head workers only.
    injected = {(o["backend"], o["side"], o["op"]) for o in data["ops"] if "injected" in o}
    assert injected == {("sqlite3", "head", "delete_conversation")}
    sides = {(o["side"], o["op"]): o for o in data["ops"] if o["backend"] == "sqlite3"}
    assert sides[("head", "delete_conversation")]["injected"] == "sqlite3.delete_conversation=+400%"
    # Every pair's samples are in the file: process i of each side is pair i.
    for side in ("base", "head"):
        entry = sides[(side, "update_title")]
        assert entry["process_n"] == [40, 40, 40] and len(entry["samples_ns"]) == 120


@pytest.mark.parametrize("args, message", [
    (["--base-python", "/nonexistent/python"], "--base-python /nonexistent/python: no such file"),
    (["--max-pairs", "3", "--pairs", "4"], "--max-pairs 3 is below --pairs 4"),
    (["--head-inject", "sqlite3.nope=+1ms"], "nope"),
    (["--pin-cpu", "9999"], "--pin-cpu 9999: not a CPU this process may use here"),
    (["--backends", "nosuch"], "unknown backend nosuch"),
    # The job: 5 rounds cannot judge a p50 (10 samples per pair and side), so even +500 %
    # would have passed as "no regression" with 0 comparisons.
    (["--backends", "sqlite3", "--rounds", "5", "--pairs", "3", "--max-pairs", "3",
      "--head-inject", "sqlite3.add_message=+500%"],
     "--rounds 5 gives each pair at most 5 samples of an op per side, and p50 needs 10: nothing could be judged"),
    (["--rounds", "499", "--metric", "p99"], "p99 needs 500"),
])
def test_bad_input_is_one_line_and_exit_2_before_anything_runs(tmp_path, capsys, args, message):
    base = ["ab", "--base-python", PY, "--head-python", PY, "--out", str(tmp_path / "ab.json")]
    assert main(base + args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "ab.json").exists()


def test_an_environment_without_storebench_workers_is_refused(tmp_path, capsys):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    assert main(["ab", "--base-python", str(fake), "--head-python", PY, "--out", str(tmp_path / "ab.json")]) == 2
    assert "has no storebench with measuring workers" in capsys.readouterr().err


@same_ab_job
def test_report_of_an_ab_file_is_the_ab_page(injected):
    tmp_path, _ = injected
    assert main(["report", str(tmp_path / "ab.json"), "--out", str(tmp_path / "reports")]) == 0
    page = (tmp_path / "reports" / "ab.md").read_text()
    assert page.startswith("# <a id=\"ab\"></a>A/B: regression")
    assert "**Injected delay** (a gate test, not a measurement): head `sqlite3.delete_conversation=+400%`." in page
    # Every comparison has its row, the regressions first (the injected op among them; which
    # other ops a loaded machine flags too is not fixed, see above).
    table = page.split("Comparisons", 1)[1].split("\n#", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    flagged = [row.endswith("| regression |") for row in rows]
    assert len(rows) == len(json.loads((tmp_path / "ab.json").read_text())["ab"]["verdicts"])
    assert flagged == sorted(flagged, reverse=True)
    injected_row = next(row for row in rows if row.startswith("| `sqlite3.delete_conversation` | p50 | +"))
    assert injected_row.endswith("| regression |")
    assert (tmp_path / "reports" / "ab.html").exists()


def test_more_pairs_are_measured_only_of_the_backends_left_undecided(monkeypatch):
    """After the first batch, a backend whose every comparison is decided is not measured
    again; the undecided one gets batches until it is decided or max_pairs is reached."""
    from storebench.backends.base import Settings
    from storebench.core import coordinator
    from storebench.core.workload import PROFILES
    from storebench.gate import ab

    asked: list[tuple[str, ...]] = []

    def fake_measure(specs, params, seed, settings, processes, **_):
        """Harness logic only: sqlite3's sides are identical; apsw's head differs from its base by
        a process effect that changes sign from pair to pair, so its pairs cannot tell."""
        asked.append(tuple(dict.fromkeys(s.backend for s in specs)))
        out = []
        for s in specs:
            wobble = [1.3 if i % 2 else 0.8 for i in range(processes)]
            runs = [[100_000 * (w if s.backend == "apsw" and s.side == "head" else 1.0)] * 40 for w in wobble]
            out.append(coordinator.Measured(s, {"status": "ok"}, [], {"add_message": runs}))
        return out

    monkeypatch.setattr(coordinator, "measure", fake_measure)
    plan = ab.Plan(("sqlite3", "apsw"), {"base": "py", "head": "py"}, PROFILES["smoke"], 1, Settings(),
                   metrics=("p50",), rounds=40, pairs=3, max_pairs=9)
    outcome = ab.run(plan)
    assert asked == [("sqlite3", "apsw"), ("apsw",), ("apsw",)]
    verdicts = {v.backend: v for v in outcome.verdicts}
    assert (verdicts["sqlite3"].verdict, verdicts["sqlite3"].pairs) == ("no regression", 3)
    assert (verdicts["apsw"].verdict, verdicts["apsw"].pairs) == ("inconclusive", 9)
    assert outcome.batches == [3, 3, 3] and outcome.exit_code == 3


def test_a_job_that_judged_nothing_is_not_a_pass(monkeypatch, tmp_path, capsys):
    """Every head worker failed, so no pair exists: exit 2 with why in one line, as `check`,
    and the measured base side is still in the results file."""
    from storebench.core import coordinator

    def fake_measure(specs, params, seed, settings, processes, **_):
        """Harness logic only: base measures, head fails to start."""
        return [coordinator.Measured(s, {"name": s.backend, "status": "ok"} if s.side == "base" else
                                     {"name": s.backend, "status": "failed",
                                      "reason": "ImportError: no module named nope"}, [],
                                     {"add_message": [[100_000] * 40] * processes} if s.side == "base" else {})
                for s in specs]

    monkeypatch.setattr(coordinator, "measure", fake_measure)
    status = main(["ab", "--base-python", PY, "--head-python", PY, "--backends", "sqlite3", "--pairs", "3",
                   "--max-pairs", "3", "--rounds", "40", "--no-progress", "--out", str(tmp_path / "ab.json"),
                   "--summary", str(tmp_path / "ab.md")])
    assert status == 2
    err = capsys.readouterr().err
    assert err == ("storebench: error: no comparison could be judged "
                   "(sqlite3 (head): failed — ImportError: no module named nope)\n")
    data = json.loads((tmp_path / "ab.json").read_text())
    assert data["ab"]["overall"] == "not judged" and data["ab"]["verdicts"] == []
    assert (tmp_path / "ab.md").read_text().startswith("### storebench ab: ⛔ nothing judged (not a pass)")
