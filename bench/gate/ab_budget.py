"""`storebench ab --budget 5m`: rounds and pairs per backend chosen from a short pilot.

1. Pilot: MIN_PAIRS pairs of every backend at PILOT_ROUNDS rounds (more when a tail asked for
   needs them: p99, 500). It gives each backend's cost (seconds per round of a pair, both
   sides; the start-up of a batch) and each comparison's spread of pair log ratios.
2. Rounds per backend: ab's --rounds (default 500), fewer when the backend is too slow for
   MAIN_PAIRS pairs of them in its share of the budget, never fewer than the metrics need.
   When they are the pilot's, the pilot's pairs count.
3. Pairs per backend: the fewest whose interval would decide every comparison of the backend,
   had more pairs the spread seen so far (ab_verdict.pairs_needed; a spread measured at more
   rounds is taken as it is, at fewer it is widened by the square root of the ratio: the
   cautious assumption either way), scaled down together when they do not all fit.
4. Measure them, judge, and while something is undecided and the budget left covers another
   batch, repeat 3-4 with the spread of all pairs so far.

The summary says which comparisons stayed undecided and what budget would have decided them.
Every look at the pairs spends some of alpha, as with ab's batches (docs/regression-gate.md).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from storebench.gate import ab, ab_verdict
from storebench.gate.ab_verdict import INCONCLUSIVE, Pair, Verdict

PILOT_ROUNDS = 100
MAIN_PAIRS = 6
MOST_PAIRS = 256  # the most pairs of one backend a budget may buy


@dataclass
class Spent:
    """What the budget bought, recorded in the results file and stated in the summary."""

    budget_s: float
    pilot_rounds: int
    spent_s: float = 0.0
    rounds: dict[str, int] = field(default_factory=dict)  # backend -> rounds per pair
    pairs: dict[str, int] = field(default_factory=dict)  # backend -> pairs judged
    undecided: list[dict] = field(default_factory=list)  # {comparison, pairs_needed, budget_s}


def parse_budget(text: str) -> float:
    """'5m', '90s', '1h', '300' (seconds) -> seconds."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text or "")
    if not found or float(found[1]) <= 0:
        raise ab.AbError(f"--budget {text!r}: expected a duration such as 5m, 90s or 1h")
    return float(found[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[found[2]]


def _cost(groups: Sequence, rounds: int, pairs: int) -> dict[str, float]:
    """Seconds per round of one pair (both sides) of every backend measured."""
    per: dict[str, float] = {}
    for m in groups:
        seconds = (m.entry.get("phase_s") or {}).get("rounds", 0.0)
        per[m.spec.backend] = per.get(m.spec.backend, 0.0) + seconds / max(1, rounds * pairs)
    return per


def _needed(cells: dict[tuple[str, str], list[Pair]], plan: ab.Plan, backend: str, widen: float,
            family: int) -> int | None:
    """Pairs the backend needs to decide all its comparisons (None: some never would)."""
    most = 0
    for (name, op), pairs in cells.items():
        if name != backend:
            continue
        for metric in ab_verdict.applicable(plan.metrics, name, op):
            ratios = ab_verdict._pair_ratios(pairs, ab_verdict.METRICS[metric])
            if isinstance(ratios, str):
                continue
            logs = [math.log(r) for r in ratios]
            mean = sum(logs) / len(logs)
            wide = [math.exp(mean + (x - mean) * widen) for x in logs]
            k = ab_verdict.pairs_needed(wide, ab_verdict.DEFAULT_MIN_EFFECT[metric], family, plan.alpha, MOST_PAIRS)
            if k is None:
                return None
            most = max(most, k)
    return most


def run(plan: ab.Plan, budget_s: float, progress: Callable[[str, int, int], None] | None = None
        ) -> tuple[ab.Outcome, Spent]:
    started = time.monotonic()
    pilot_rounds = max(PILOT_ROUNDS, ab.rounds_needed(plan.metrics))
    spent = Spent(budget_s, pilot_rounds)
    groups = ab.measure_batch(plan, plan.backends, ab_verdict.MIN_PAIRS, pilot_rounds, progress)
    measured = [(0, g) for g in groups]
    batches = [ab_verdict.MIN_PAIRS]
    pilot: dict[tuple[str, str], list[Pair]] = {}
    ab._add_pairs(pilot, groups)
    ab.check_tails(pilot, plan, MOST_PAIRS)
    round_s = _cost(groups, pilot_rounds, ab_verdict.MIN_PAIRS)
    accounted = time.monotonic() - started

    def used() -> float:
        """Budget spent: the wall time, or what the batches' own timings add up to if more."""
        return max(time.monotonic() - started, accounted)

    startup_s = max(0.0, time.monotonic() - started - sum(round_s.values()) * pilot_rounds * ab_verdict.MIN_PAIRS)
    family = max(1, len([v for v in ab_verdict.decide(pilot, plan.metrics, plan.alpha) if v.ratios]))
    share = max(0.0, budget_s - used()) / max(1, len(plan.backends))
    for backend in plan.backends:
        fit = int((share - startup_s) / (MAIN_PAIRS * max(round_s.get(backend, 0.0), 1e-9)))
        rounds = plan.rounds
        while rounds > fit and rounds // 2 >= ab.rounds_needed(plan.metrics):
            rounds //= 2  # halving, so backends of similar cost share their batches
        spent.rounds[backend] = rounds
    cells = {key: pairs for key, pairs in pilot.items() if spent.rounds[key[0]] == pilot_rounds}
    widen = {b: math.sqrt(max(1.0, pilot_rounds / spent.rounds[b])) for b in plan.backends}
    verdicts = ab_verdict.decide(pilot, plan.metrics, plan.alpha)
    while True:
        undecided = [b for b in plan.backends
                     if any(v.verdict == INCONCLUSIVE for v in verdicts if v.backend == b) or
                     not any(k[0] == b for k in cells)]
        have = {b: len(next((p for (n, _), p in cells.items() if n == b), [])) for b in plan.backends}
        want = {}
        for b in undecided:
            source = cells if have[b] >= ab_verdict.MIN_PAIRS else pilot
            k = _needed(source, plan, b, 1.0 if source is cells else widen[b], family) or MOST_PAIRS
            want[b] = min(max(k, ab_verdict.MIN_PAIRS), plan.max_pairs) - have[b]
        cost = {b: n * spent.rounds[b] * round_s.get(b, 0.0) for b, n in want.items() if n > 0}
        # every batch of its own rounds starts its workers: the pilot's start-up each
        left = budget_s - used() - startup_s * len({spent.rounds[b] for b in cost})
        if not cost or left <= 0:
            break
        scale = min(1.0, left / max(sum(cost.values()), 1e-9))
        batch = {b: int(want[b] * scale) for b in cost}
        batch = {b: n for b, n in batch.items() if n >= (1 if have[b] >= ab_verdict.MIN_PAIRS else
                                                          ab_verdict.MIN_PAIRS)}
        if not batch:
            break
        for rounds in sorted({spent.rounds[b] for b in batch}):
            # one batch per rounds (one start-up): coordinator.measure gives every backend of a
            # call the same number of processes, the most any of them wants
            names = [b for b in batch if spent.rounds[b] == rounds]
            pairs = max(batch[b] for b in names)
            groups = ab.measure_batch(plan, names, pairs, rounds, progress)
            measured += [(len(batches), g) for g in groups]
            batches.append(pairs)
            accounted += startup_s + sum((g.entry.get("phase_s") or {}).get("rounds", 0.0) for g in groups)
            ab._add_pairs(cells, groups)
        verdicts = ab_verdict.decide(_judged(pilot, cells), plan.metrics, plan.alpha)
    cells = _judged(pilot, cells)
    spent.spent_s = round(used(), 1)
    spent.pairs = {b: len(next((p for (n, _), p in cells.items() if n == b), [])) for b in plan.backends}
    spent.undecided = [_what_would_decide(v, spent, round_s, startup_s, family, plan.alpha)
                       for v in verdicts if v.verdict == INCONCLUSIVE]
    return ab.Outcome(verdicts, max(spent.pairs.values(), default=0), measured, batches), spent


def _judged(pilot: dict[tuple[str, str], list[Pair]], cells: dict[tuple[str, str], list[Pair]]
            ) -> dict[tuple[str, str], list[Pair]]:
    """The pairs judged: each backend's at its chosen rounds, or its pilot's if it has none."""
    measured = {backend for backend, _ in cells}
    return {**{key: pairs for key, pairs in pilot.items() if key[0] not in measured}, **cells}


def _what_would_decide(v: Verdict, spent: Spent, round_s: dict[str, float], startup_s: float, family: int,
                       alpha: float) -> dict:
    k = ab_verdict.pairs_needed(v.ratios, v.min_effect, family, alpha, MOST_PAIRS) if v.ratios else None
    budget = None if k is None else spent.spent_s + startup_s + (k - v.pairs) * spent.rounds[v.backend] * round_s.get(
        v.backend, 0.0)
    return {"comparison": v.key, "pairs": v.pairs, "pairs_needed": k,
            "budget_s": None if budget is None else math.ceil(budget)}


def summary_lines(spent: Spent) -> list[str]:
    """The budget's paragraph of the summary: what it bought, what stayed undecided and why."""
    used = ", ".join(f"{b} {spent.pairs[b]} pairs × {spent.rounds[b]} rounds" for b in spent.rounds)
    lines = [f"Budget {_duration(spent.budget_s)}: spent {_duration(spent.spent_s)} "
             f"(pilot {ab_verdict.MIN_PAIRS} pairs × {spent.pilot_rounds} rounds); {used}."]
    for u in spent.undecided:
        if u["pairs_needed"] is None:
            lines.append(f"- `{u['comparison']}` stayed undecided after {u['pairs']} pairs: its estimate sits at "
                         "the minimum effect, and no budget would decide it.")
        else:
            lines.append(f"- `{u['comparison']}` stayed undecided after {u['pairs']} pairs: about "
                         f"{u['pairs_needed']} would decide it, `--budget {_duration(u['budget_s'])}`.")
    return lines


def _duration(seconds: float) -> str:
    return f"{seconds:.0f}s" if seconds < 120 else f"{math.ceil(seconds / 60)}m"
