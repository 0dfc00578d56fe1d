"""The A/B gate's three verdicts, on synthetic pairs whose truth is known."""

import numpy as np
import pytest

from storebench.gate.ab_verdict import (
    INCONCLUSIVE,
    NO_REGRESSION,
    NOT_JUDGED,
    REGRESSION,
    Pair,
    decide,
    overall,
    samples_needed,
    summary_markdown,
)


def pairs(k: int, slowdown: float = 1.0, pair_sd: float = 0.02, n: int = 600, seed: int = 1) -> list[Pair]:
    """k pairs; each pair shares a process effect on both sides plus its own small jitter,
    and head is `slowdown` times base."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(k):
        base_level = 30_000 * np.exp(rng.normal(0, 0.1))  # pairs differ a lot as a whole...
        jitter = np.exp(rng.normal(0, pair_sd))  # ...base vs head within a pair only a little
        base = rng.lognormal(np.log(base_level), 0.2, n)
        head = rng.lognormal(np.log(base_level * slowdown * jitter), 0.2, n)
        out.append(Pair(base.astype(np.int64).tolist(), head.astype(np.int64).tolist()))
    return out


def test_the_same_code_is_no_regression():
    verdicts = decide({("sqlite3", "add_message"): pairs(8)}, metrics=("p50",))
    assert [v.verdict for v in verdicts] == [NO_REGRESSION]
    assert verdicts[0].low < 1 < verdicts[0].high


def test_a_ten_percent_slowdown_is_a_regression_and_names_its_op():
    cells = {("sqlite3", "add_message"): pairs(8, slowdown=1.10), ("sqlite3", "load_all"): pairs(8, seed=2)}
    by_op = {v.op: v for v in decide(cells, metrics=("p50",))}
    assert by_op["add_message"].verdict == REGRESSION
    assert 1.05 < by_op["add_message"].estimate < 1.15
    assert by_op["load_all"].verdict == NO_REGRESSION


def test_noisy_pairs_are_inconclusive_not_a_verdict_either_way():
    verdicts = decide({("sqld", "load_all"): pairs(4, slowdown=1.04, pair_sd=0.08)}, metrics=("p50",))
    assert verdicts[0].verdict == INCONCLUSIVE
    assert "straddles" in verdicts[0].note


def test_a_tail_is_not_judged_without_enough_samples_beyond_it():
    verdicts = decide({("apsw", "update_title"): pairs(6, n=100)}, metrics=("p50", "p99"))
    p99 = next(v for v in verdicts if v.metric == "p99")
    assert p99.verdict == NOT_JUDGED
    assert p99.note == f"needs {samples_needed(99)} samples per pair and side, has 100"
    assert samples_needed(99) == 500


def test_too_few_pairs_are_not_judged():
    assert decide({("apsw", "load_all"): pairs(2)}, metrics=("p50",))[0].verdict == NOT_JUDGED


def test_the_summary_of_a_job_that_judged_nothing_says_so():
    text = summary_markdown(decide({("apsw", "load_all"): pairs(2)}, metrics=("p50",)))
    assert text.startswith("### storebench ab: ⛔ nothing judged (not a pass)")
    assert "0 comparisons judged over 2 process pairs per backend, base and head interleaved." in text
    assert "Not judged: 1 (apsw.load_all p50: needs at least 3 pairs)." in text
    assert "0 comparisons judged over 0 process pairs per backend" in summary_markdown([])


def test_the_interval_widens_with_the_size_of_the_family():
    one = decide({("a", "x"): pairs(6)}, metrics=("p50",))[0]
    many = decide({(f"b{i}", "x"): pairs(6) for i in range(20)}, metrics=("p50",))[0]
    assert many.high - many.low > one.high - one.low


@pytest.mark.parametrize("found, expected", [
    ({REGRESSION, INCONCLUSIVE, NO_REGRESSION}, REGRESSION),
    ({INCONCLUSIVE, NO_REGRESSION, NOT_JUDGED}, INCONCLUSIVE),
    ({NO_REGRESSION, NOT_JUDGED}, NO_REGRESSION),
    ({NOT_JUDGED}, NOT_JUDGED),  # judging nothing is not a pass
])
def test_the_job_verdict_is_the_worst_one(found, expected):
    verdicts = decide({("a", f"op{i}"): pairs(8) for i in range(len(found))}, metrics=("p50",))
    for v, verdict in zip(verdicts, sorted(found)):
        v.verdict = verdict
    assert overall(verdicts) == expected


def test_the_summary_lists_the_regression_first_with_its_interval():
    cells = {("sqlite3", "add_message"): pairs(8, slowdown=1.2), ("sqld", "load_all"): pairs(4, 1.04, 0.08)}
    text = summary_markdown(decide(cells, metrics=("p50",)))
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert text.startswith("### storebench ab: ❌ regression")
    assert rows[0].startswith("| `sqlite3.add_message` | p50 | +")
    assert rows[1].startswith("| `sqld.load_all` | p50 |") and rows[1].endswith("| inconclusive |")
    assert "judged over 4–8 process pairs per backend (more where a backend was undecided)" in text
