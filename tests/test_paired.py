"""The paired ranking (bench/reports/paired.py): two backends of one run compared on blocks of
interleaving cycles in which both ran, with the `ab` verdict's interval (made-up samples)."""

from __future__ import annotations

from fake_results import FakeResults, drifting

from storebench.reports import paired
from storebench.reports.ranking import Figure


def test_a_difference_hidden_by_the_machines_drift_is_resolved_by_pairing():
    # 15 % drift per cycle, shared by both, hides 6 %; pairing by cycle takes it out.
    c = paired.compare(drifting({"a": 1.0, "b": 1.06}, drift=0.15).results, "a", "b")
    assert c.outcome == paired.CHEAPER and c.blocks == paired.MAX_BLOCKS
    assert c.low < 1 / 1.06 < c.high and c.high < 1


def test_the_same_comparison_seen_from_the_other_side():
    c = paired.compare(drifting({"a": 1.0, "b": 1.06}, drift=0.15).results, "b", "a")
    assert c.outcome == paired.DEARER
    back = c.inverse()
    assert (back.backend, back.reference, back.outcome) == ("a", "b", paired.CHEAPER)
    assert abs(back.estimate * c.estimate - 1) < 1e-12 and abs(back.low * c.high - 1) < 1e-12


def test_an_interval_within_the_margin_is_a_tie_within_the_margin():
    c = paired.compare(drifting({"a": 1.0, "b": 1.01}, drift=0.15).results, "a", "b")
    assert c.outcome == paired.TIE
    assert 1 / (1 + paired.MARGIN) <= c.low and c.high <= 1 + paired.MARGIN


def test_an_interval_across_one_and_past_the_margin_is_unresolved():
    c = paired.compare(drifting({"a": 1.0, "b": 1.0}, drift=0.15, spread=1.0, cycles=20).results, "a", "b")
    assert c.outcome == paired.UNRESOLVED and c.ties
    assert c.low < 1 < c.high and (c.low < 1 / (1 + paired.MARGIN) or c.high > 1 + paired.MARGIN)


def test_too_few_blocks_measured_at_the_same_time_cannot_be_resolved():
    c = paired.compare(drifting({"a": 1.0, "b": 2.0}, drift=0.0, cycles=2).results, "a", "b")
    assert (c.outcome, c.estimate, c.blocks) == (paired.UNRESOLVED, None, 2)
    assert "2 blocks measured at the same time" in c.text()


def test_a_results_file_without_cycles_cannot_be_paired():
    fake = FakeResults().backend("a", 1.0).backend("b", 2.0)
    c = paired.compare(fake.results, "a", "b")
    assert c.outcome == paired.UNRESOLVED and "records no interleaving cycles" in c.note


def test_only_the_cycles_both_ran_in_are_paired():
    fake = drifting({"a": 1.0, "b": 1.0}, drift=0.0, cycles=60)
    for o in fake.data["ops"]:  # b ran 30 more cycles, twice as slow, after a had finished
        if o["backend"] == "b":
            o["samples_ns"] += [2 * s for s in o["samples_ns"][:150]]
            o["chunks"] += [[60 + k, k % 2, 5] for k in range(30)]
    c = paired.compare(fake.results, "a", "b")
    assert c.outcome == paired.TIE


def test_the_leader_is_the_one_resolved_cheapest_whatever_the_order_given():
    results = drifting({"a": 1.0, "b": 0.8, "c": 1.01}, drift=0.1).results
    ranked = paired.rank(results, ["a", "b", "c"])
    assert ranked.leader == "b" and ranked.tied == []
    assert [c.backend for c in ranked.others] == ["a", "c"]


def test_backends_that_cannot_be_paired_are_still_ranked_when_their_cost_intervals_do_not_overlap():
    fake = drifting({"a": 1.0, "b": 10.0}, drift=0.1)
    for o in fake.data["ops"]:
        o.pop("chunks", None)  # an older file: nothing to pair by
    apart = {"a": Figure(5.0, 4.8, 5.2), "b": Figure(50.0, 48.0, 52.0)}
    c = paired.compare(fake.results, "a", "b", costs=apart)
    assert (c.outcome, round(c.estimate, 2), c.low) == (paired.CHEAPER, 0.1, None)
    assert c.text().startswith("`a` costs 0.10× `b`, unpaired (the results file records no interleaving cycles")
    assert c.inverse().text().startswith("`b` costs 10.00× `a`, unpaired (")
    close = {"a": Figure(5.0, 4.8, 5.2), "b": Figure(5.1, 4.9, 5.3)}
    assert paired.compare(fake.results, "a", "b", costs=close).outcome == paired.UNRESOLVED
    assert paired.compare(fake.results, "a", "b").outcome == paired.UNRESOLVED
