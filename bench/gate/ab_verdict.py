"""The A/B gate's decision: three verdicts from base and head samples measured side by side.

`storebench ab` measures base and head in pairs of fresh worker processes whose rounds the
coordinator interleaves, so whatever the machine does hits both sides of a pair alike. What
still varies is the pair: a process's memory layout, its core, the state of the machine while
it ran. So the unit of evidence is the pair, not the sample:

- per pair and per backend x op x metric, the log ratio of head's metric to base's
  (a nearest-rank percentile of that pair's raw samples on each side);
- across the K pairs, the mean log ratio with a Student-t confidence interval on K - 1
  degrees of freedom. The interval's level is Bonferroni-corrected for the whole family of
  judged comparisons (1 - alpha/m, two-sided), so `alpha` bounds the chance that any
  interval in the job misses its true ratio;
- with a minimum effect d (what counts as a slowdown worth failing for):
  regression     the interval lies above 1 and the estimate is at least 1 + d;
  no regression  the interval's upper end is below 1 + d (any slowdown is smaller than d);
  inconclusive   otherwise: the pairs cannot tell, and more pairs narrow the interval.

A tail percentile is judged only when every pair has at least MIN_TAIL samples beyond it on
both sides (p99: 500 samples per pair and side); below that a p99 is one unlucky stall.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

METRICS = {"p50": 50, "p90": 90, "p95": 95, "p99": 99}
# A tail moves more between processes than the median, so it needs a larger minimum effect
# before the pairs can ever call it "no regression".
DEFAULT_MIN_EFFECT = {"p50": 0.05, "p90": 0.08, "p95": 0.08, "p99": 0.10}
DEFAULT_ALPHA = 0.05
MIN_PAIRS = 3
MIN_TAIL = 5

REGRESSION, NO_REGRESSION, INCONCLUSIVE, NOT_JUDGED = "regression", "no regression", "inconclusive", "not judged"


@dataclass(frozen=True)
class Pair:
    """One pair's raw samples (ns) of one backend x op: base side and head side."""

    base: Sequence[int]
    head: Sequence[int]


@dataclass
class Verdict:
    backend: str
    op: str
    metric: str
    pairs: int
    min_effect: float
    ratios: list[float]  # head / base per pair
    estimate: float | None = None  # geometric mean of the ratios
    low: float | None = None  # simultaneous confidence interval of the ratio
    high: float | None = None
    verdict: str = NOT_JUDGED
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.backend}.{self.op} {self.metric}"


def nearest_rank(samples: Sequence[int], q: float) -> float:
    return float(np.percentile(np.asarray(samples, dtype=np.int64), q, method="inverted_cdf"))


def samples_needed(q: float) -> int:
    """Fewest samples with MIN_TAIL of them beyond the q-th percentile."""
    return math.ceil(MIN_TAIL / (1 - q / 100) - 1e-9)


def _pair_ratios(pairs: Sequence[Pair], q: float) -> list[float] | str:
    need = samples_needed(q)
    short = min(min(len(p.base), len(p.head)) for p in pairs)
    if short < need:
        return f"needs {need} samples per pair and side, has {short}"
    return [nearest_rank(p.head, q) / max(nearest_rank(p.base, q), 1e-9) for p in pairs]


def applicable(choices: Sequence[str], backend: str, op: str) -> list[str]:
    """The metrics judged on backend.op: `p50` is judged on every op, `p99:load_all` on every
    backend's load_all, `p99:sqlite3.load_all` on that one only."""
    chosen = []
    for choice in choices:
        metric, _, where = choice.partition(":")
        if not where or where in (op, f"{backend}.{op}"):
            chosen.append(metric)
    return list(dict.fromkeys(chosen))


def decide(cells: Mapping[tuple[str, str], Sequence[Pair]], metrics: Sequence[str] = ("p50", "p99"),
           alpha: float = DEFAULT_ALPHA, min_effect: Mapping[str, float] | None = None) -> list[Verdict]:
    """A verdict for every backend x op x metric; `cells` maps (backend, op) to its pairs."""
    effects = {**DEFAULT_MIN_EFFECT, **(min_effect or {})}
    verdicts = []
    for (backend, op), pairs in cells.items():
        for metric in applicable(metrics, backend, op):
            v = Verdict(backend, op, metric, len(pairs), effects[metric], [])
            if len(pairs) < MIN_PAIRS:
                v.note = f"needs at least {MIN_PAIRS} pairs"
            else:
                ratios = _pair_ratios(pairs, METRICS[metric])
                if isinstance(ratios, str):
                    v.note = ratios
                else:
                    v.ratios = ratios
            verdicts.append(v)
    judged = [v for v in verdicts if v.ratios]
    for v in judged:
        _interval(v, len(judged), alpha)
    return verdicts


def interval(ratios: Sequence[float], family: int, alpha: float) -> tuple[float, float, float]:
    """The geometric mean of per-pair ratios and its Student-t interval on K - 1 degrees of
    freedom, two-sided at 1 - alpha/family (Bonferroni over `family` comparisons)."""
    # Imported here: `storebench run` renders its reports through a module that imports this
    # one (the A/B page), and scipy.stats was 0.8 s of a 20 s smoke run.
    from scipy.stats import t as student_t

    logs = np.log(np.asarray(ratios))
    k = len(logs)
    mean = float(logs.mean())
    se = float(logs.std(ddof=1)) / math.sqrt(k)
    half = float(student_t.ppf(1 - alpha / (2 * family), k - 1)) * se
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half)


def _interval(v: Verdict, family: int, alpha: float) -> None:
    v.estimate, v.low, v.high = interval(v.ratios, family, alpha)
    limit = 1 + v.min_effect
    if v.low > 1 and v.estimate >= limit:
        v.verdict = REGRESSION
    elif v.high < limit:
        v.verdict = NO_REGRESSION
    else:
        v.verdict = INCONCLUSIVE
        v.note = (f"interval {_pct(v.low)} to {_pct(v.high)} straddles the "
                  f"{v.min_effect:.0%} minimum effect")


def _pct(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.1f} %"


def overall(verdicts: Sequence[Verdict]) -> str:
    """The job's verdict: any regression wins; else any inconclusive; else no regression, when
    something was judged. A job that judged nothing is "not judged", never a pass."""
    found = {v.verdict for v in verdicts}
    for verdict in (REGRESSION, INCONCLUSIVE, NO_REGRESSION):
        if verdict in found:
            return verdict
    return NOT_JUDGED


def why_not_judged(verdicts: Sequence[Verdict], failures: Sequence[str]) -> str:
    """One line: why a job judged nothing (the comparisons' notes, else the sides that failed)."""
    reasons = sorted({v.note for v in verdicts if v.note}) or list(failures) or ["no backend ran on both sides"]
    return "; ".join(reasons)


def summary_markdown(verdicts: Sequence[Verdict], context: str = "") -> str:
    """A pull-request comment: the verdict, then every comparison that was not a clear pass."""
    verdict = overall(verdicts)
    heading = {REGRESSION: "❌ regression", INCONCLUSIVE: "⚠️ inconclusive",
               NO_REGRESSION: "✅ no regression", NOT_JUDGED: "⛔ nothing judged (not a pass)"}[verdict]
    lines = [f"### storebench ab: {heading}", ""]
    if context:
        lines += [context, ""]
    judged = [v for v in verdicts if v.verdict != NOT_JUDGED]
    counts = sorted({v.pairs for v in verdicts}) or [0]  # every backend that ran, judged or not
    span = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    more = " (more where a backend was undecided)" if len(counts) > 1 else ""
    lines.append(f"{len(judged)} comparisons judged over {span} process pairs per backend{more}, "
                 "base and head interleaved.")
    notable = [v for v in verdicts if v.verdict in (REGRESSION, INCONCLUSIVE)]
    if notable:
        lines += ["", "| backend.op | metric | head vs base | interval | verdict |", "|---|---|---|---|---|"]
        for v in sorted(notable, key=lambda v: (v.verdict != REGRESSION, -(v.estimate or 1))):
            lines.append(f"| `{v.backend}.{v.op}` | {v.metric} | {_pct(v.estimate or 1)} | "
                         f"{_pct(v.low or 1)} to {_pct(v.high or 1)} | {v.verdict} |")
    skipped = [v for v in verdicts if v.verdict == NOT_JUDGED]
    if skipped:
        lines += ["", f"Not judged: {len(skipped)} ({skipped[0].key}: {skipped[0].note})."]
    return "\n".join(lines) + "\n"


def _t(alpha: float, family: int, k: int) -> float:
    from scipy.stats import t as student_t  # imported late, as in _interval

    return float(student_t.ppf(1 - alpha / (2 * family), k - 1))


def pairs_needed(ratios: Sequence[float], min_effect: float, family: int, alpha: float = DEFAULT_ALPHA,
                 most: int = 1000) -> int | None:
    """Fewest pairs whose interval would decide, if more pairs kept these pairs' mean and spread
    of log ratios; None when no number up to `most` would (the estimate sits at the minimum
    effect, where neither verdict can be reached)."""
    logs = np.log(np.asarray(ratios, dtype=float))
    mean, sd = float(logs.mean()), float(logs.std(ddof=1)) if len(logs) > 1 else 0.0
    limit = math.log(1 + min_effect)
    # regression: the interval's low end above 0 (mean at least the limit); no regression: its
    # high end below the limit
    margin = mean if mean >= limit else limit - mean
    for k in range(MIN_PAIRS, most + 1):
        if _t(alpha, family, k) * sd / math.sqrt(k) < margin:
            return k
    return None


CLIFF = 3.0  # a tail whose next percentile is this many times higher is a cliff, not a slope


def tail_problem(pairs: Sequence[Pair], metric: str, family: int, alpha: float, most: int) -> str | None:
    """Why a pilot's pairs say this op's tail `metric` cannot be judged, or None. A cliff: the
    percentile halfway to the maximum (p99.5 for p99) is CLIFF times the metric in most
    processes, so the metric counts rare long calls (a checkpoint, a scheduler stall) and moves
    by their number. A spread: deciding even a null at the minimum effect would take more than
    `most` pairs."""
    q = METRICS[metric]
    beyond = 100 - (100 - q) / 2
    steps = [nearest_rank(s, beyond) / max(nearest_rank(s, q), 1e-9) for p in pairs for s in (p.base, p.head)]
    step = float(np.median(steps))
    if step >= CLIFF:
        return (f"its {metric} sits on a cliff: p{beyond:g} is {step:.0f}x {metric} in the pilot "
                f"(rare long calls decide it)")
    ratios = _pair_ratios(pairs, q)
    if isinstance(ratios, str):
        return ratios
    needed = pairs_needed(ratios, DEFAULT_MIN_EFFECT[metric], family, alpha, most)
    if needed is None:
        spread = float(np.log(np.asarray(ratios)).std(ddof=1))
        return (f"its {metric} moved ±{spread:.0%} between the pilot's pairs: more than {most} pairs "
                "would be needed to decide it")
    return None
