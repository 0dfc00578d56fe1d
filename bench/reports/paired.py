"""Paired comparison of two backends of one run: what the interleaving gives, as `ab` uses it.

The coordinator runs every backend's chunks of rounds in cycles, all backends in each cycle
(docs/measurement.md), and records per op entry which cycle each chunk ran in (`chunks`).
Samples of two backends from the same cycles were measured within the same second or so, so
the machine's drift (a run factor of ±6–12 % between runs here, several % within one) hits
both alike. Comparing the two backends' marginal intervals throws that away: the drift widens
both intervals, and their overlap decided the old ties, run by run differently (issue 32).

So two backends are compared on blocks of cycles in which both ran: per block, the cost of one
round (the five ops' p50s of that block's samples, added) of each, and their ratio. The blocks
are the pairs of the `ab` gate's verdict (bench/gate/ab_verdict.py): the mean log ratio with
its Student-t interval, Bonferroni-corrected over the comparisons of a line. The outcome:

- cheaper / dearer: the interval lies below / above 1 and not within the margin;
- tie within the margin: the interval lies within [1/(1 + MARGIN), 1 + MARGIN];
- unresolved: otherwise (it straddles 1 and reaches past the margin), or too few blocks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from storebench.core.workload import OPS
from storebench.gate import ab_verdict
from storebench.model.results import OpResult, Results
from storebench.reports import document as doc
from storebench.reports.ranking import Figure

# Two backends whose round costs differ by less than this are the same for an app: the `ab`
# gate's minimum effect on p50 (a slowdown smaller than it does not fail a pull request).
MARGIN = ab_verdict.DEFAULT_MIN_EFFECT["p50"]
ALPHA = ab_verdict.DEFAULT_ALPHA
MAX_BLOCKS = 12  # the re-judged quick runs: 12 blocks gave per-op intervals of ±3–23 %
MIN_BLOCK_SAMPLES = 5  # of every op, on each side, in each block: a p50 of fewer is one call

CHEAPER, DEARER, TIE, UNRESOLVED = "cheaper", "dearer", "tie within the margin", "unresolved"


@dataclass(frozen=True)
class Comparison:
    """`backend`'s round cost over `reference`'s, from `blocks` pairs of blocks."""

    backend: str
    reference: str
    blocks: int
    outcome: str
    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    note: str = ""

    @property
    def ties(self) -> bool:
        return self.outcome in (TIE, UNRESOLVED)

    def inverse(self) -> Comparison:
        """The same comparison seen from the reference."""
        flip = {CHEAPER: DEARER, DEARER: CHEAPER}.get(self.outcome, self.outcome)
        if self.estimate is None:
            return Comparison(self.reference, self.backend, self.blocks, flip, note=self.note)
        if self.low is None or self.high is None:
            return Comparison(self.reference, self.backend, self.blocks, flip, 1 / self.estimate, note=self.note)
        return Comparison(self.reference, self.backend, self.blocks, flip, 1 / self.estimate, 1 / self.high,
                          1 / self.low, self.note)

    def text(self) -> str:
        """"`a` costs 0.86× `b` [0.83–0.89]", or why no ratio can be given."""
        if self.estimate is not None and (self.low is None or self.high is None):
            return (f"{doc.code(self.backend)} costs {self.estimate:.2f}× {doc.code(self.reference)}, unpaired "
                    f"({self.note})")
        if self.estimate is None or self.low is None or self.high is None:
            return f"{doc.code(self.backend)} against {doc.code(self.reference)}: {self.note}"
        return (f"{doc.code(self.backend)} costs {self.estimate:.2f}× {doc.code(self.reference)} "
                f"[{self.low:.2f}–{self.high:.2f}]")


Blocks = dict[int, dict[str, list[int]]]  # cycle -> op -> that cycle's samples


def by_cycle(results: Results, backend: str) -> Blocks | None:
    """The backend's samples of every round op, grouped by the interleaving cycle of their
    chunk (None when an op has no recorded chunks: an older results file, or not closed loop)."""
    out: Blocks = {}
    for op in OPS:
        entry = results.op(backend, op)
        if entry is None or not entry.chunks:
            return None
        for cycle, samples in _cycles(entry):
            out.setdefault(cycle, {}).setdefault(op, []).extend(samples)
    return out


def _cycles(entry: OpResult) -> list[tuple[int, list[int]]]:
    out, start = [], 0
    for cycle, _process, n in entry.chunks or []:
        out.append((cycle, entry.samples_ns[start:start + n]))
        start += n
    return out


def blocks(a: Blocks, b: Blocks) -> list[tuple[dict[str, list[int]], dict[str, list[int]]]]:
    """Consecutive cycles in which both ran, cut into up to MAX_BLOCKS blocks of about equal
    samples, each with at least MIN_BLOCK_SAMPLES of every op on each side (a last, shorter
    block stands when it has them, else it joins the one before)."""
    common = sorted(set(a) & set(b))
    totals = [sum(len(side[c].get(op, [])) for c in common) for side in (a, b) for op in OPS]
    count = min(MAX_BLOCKS, min(totals) // MIN_BLOCK_SAMPLES)
    if count < 1:
        return []
    targets = [t // count for t in totals]
    out: list[tuple[dict[str, list[int]], dict[str, list[int]]]] = []
    current: tuple[dict[str, list[int]], dict[str, list[int]]] = ({}, {})
    for cycle in common:
        for side, cut in zip((a, b), current):
            for op, samples in side[cycle].items():
                cut.setdefault(op, []).extend(samples)
        counts = [len(cut.get(op, [])) for cut in current for op in OPS]
        if all(n >= t for n, t in zip(counts, targets)):
            out.append(current)
            current = ({}, {})
    rest_counts = [len(cut.get(op, [])) for cut in current for op in OPS]
    if min(rest_counts) >= MIN_BLOCK_SAMPLES:
        out.append(current)
    elif current[0] and out:
        for merged, rest in zip(out[-1], current):
            for op, samples in rest.items():
                merged.setdefault(op, []).extend(samples)
    return out


def _cost(block: dict[str, list[int]]) -> float:
    return sum(ab_verdict.nearest_rank(block[op], 50) for op in OPS)


def compare(results: Results, backend: str, reference: str, family: int = 1,
            costs: Mapping[str, Figure] | None = None) -> Comparison:
    """`backend` against `reference` on their paired blocks; `family`: the comparisons made
    together (the interval's Bonferroni correction). Where they cannot be paired, `costs` (their
    marginal round costs with intervals) still separate two backends whose intervals do not
    overlap: the old, conservative rule, which only ever fails to resolve a close pair."""
    a, b = by_cycle(results, backend), by_cycle(results, reference)
    pairs = blocks(a, b) if a is not None and b is not None else []
    if len(pairs) < ab_verdict.MIN_PAIRS:
        why = ("the results file records no interleaving cycles (`chunks`) to pair them by" if a is None or b is None
               else f"{len(pairs)} blocks measured at the same time with {MIN_BLOCK_SAMPLES}+ samples of every op "
                    f"(needs {ab_verdict.MIN_PAIRS})")
        return _unpaired(backend, reference, len(pairs), why, costs or {})
    ratios = [_cost(x) / max(_cost(y), 1e-9) for x, y in pairs]
    estimate, low, high = ab_verdict.interval(ratios, family, ALPHA)
    return Comparison(backend, reference, len(pairs), outcome(low, high), estimate, low, high)


def _unpaired(backend: str, reference: str, count: int, why: str, costs: Mapping[str, Figure]) -> Comparison:
    mine, theirs = costs.get(backend), costs.get(reference)
    if (mine is None or theirs is None or mine.low is None or mine.high is None or theirs.low is None
            or theirs.high is None or (mine.low <= theirs.high and theirs.low <= mine.high)):
        return Comparison(backend, reference, count, UNRESOLVED, note=f"cannot be resolved: {why}")
    verdict = CHEAPER if mine.value < theirs.value else DEARER
    return Comparison(backend, reference, count, verdict, mine.value / theirs.value,
                      note=f"{why}; their cost intervals do not overlap")


def outcome(low: float, high: float) -> str:
    if low >= 1 / (1 + MARGIN) and high <= 1 + MARGIN:
        return TIE
    if high < 1:
        return CHEAPER
    if low > 1:
        return DEARER
    return UNRESOLVED


@dataclass(frozen=True)
class Ranking:
    """The cheapest backend and every other one compared with it."""

    leader: str
    others: list[Comparison]

    @property
    def tied(self) -> list[Comparison]:
        return [c for c in self.others if c.ties]


def rank(results: Results, by_cost: Sequence[str], costs: Mapping[str, Figure] | None = None) -> Ranking | None:
    """The leader among `by_cost` (names, cheapest marginal round cost first) by paired
    comparison: the cheapest, unless another one is resolved cheaper than it."""
    if not by_cost:
        return None
    leader, seen = by_cost[0], set()
    while True:
        seen.add(leader)
        family = max(1, len(by_cost) - 1)
        others = [compare(results, name, leader, family, costs) for name in by_cost if name != leader]
        cheaper = [c for c in others if c.outcome == CHEAPER and c.backend not in seen]
        if not cheaper:
            return Ranking(leader, sorted(others, key=lambda c: _order(c)))
        leader = min(cheaper, key=lambda c: c.estimate or math.inf).backend


def _order(c: Comparison) -> tuple[bool, float]:
    return (not c.ties, c.estimate if c.estimate is not None else math.inf)
