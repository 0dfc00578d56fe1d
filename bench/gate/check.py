"""`storebench check BASELINE CURRENT`: a latency-regression gate over two results files.

How it decides, per backend x op x metric present in both files (docs/regression-gate.md):

- the change is the ratio of the metric (a nearest-rank percentile of the raw samples),
  current / baseline; for p50 of paired runs (below) it is the median of the call-by-call
  ratios instead, which equals the p50 ratio for a uniform slowdown but is far steadier (an
  A/A spread of 1.9 % instead of 4.6 % for load_all, whose p50 call changes with the store);
- its significance comes from the raw samples. Two runs with the same seed and workload
  parameters made exactly the same calls in the same order, so sample i of the baseline and
  sample i of the current run are the same call: they are *paired*, and the test uses that
  (it removes the spread that comes from the workload itself, e.g. deleting a conversation
  with 2 or with 40 messages). For p50: a one-sided Wilcoxon signed-rank test on the paired
  log ratios, or, when the runs cannot be paired, a one-sided Mann-Whitney U rank test (asv's
  choice). For tail percentiles: a seeded bootstrap of the log percentile ratio, resampling
  each run on its own even when paired (a rank test says nothing about the tail, and the
  slowest calls of two runs are mostly different calls: stalls, checkpoints);
- the p-values of the whole family (every backend x op x metric judged) are corrected with
  Holm's method, so --alpha bounds the chance of any false "significant" in the check, as
  far as the samples within each run can tell;
- a regression needs both: Holm-adjusted p < alpha AND a change of at least --min-effect.
  The minimum effect is what absorbs run-to-run drift (machine state differs between two
  runs more than the samples within one run suggest), so it is not a formality: the
  validation in benchmarks/gate_validation.py measured the rates it gives.

A percentile is judged only when at least MIN_TAIL samples lie beyond it (p50: n >= 10,
p99: n >= 500): below that a p99 is simply the maximum, one unlucky scheduler stall.

Options: --relative-to BACKEND.OP divides each file's samples by that op's p50 in the same
file (a baseline from another machine); --confirm CURRENT2 keeps a regression only when a
second current run shows it again (a noisy neighbour rarely strikes the same op twice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Literal

import numpy as np
from scipy.stats import mannwhitneyu, wilcoxon

from storebench.core.workload import OPS
from storebench.errors import UsageError
from storebench.model import pytest_benchmark_json
from storebench.model.results import OpResult, Results, ResultsError

METRICS = {"p50": 50, "p90": 90, "p95": 95, "p99": 99}
DEFAULT_METRICS = ("p50", "p99")
DEFAULT_MIN_EFFECT = 0.07
DEFAULT_ALPHA = 0.01
MIN_TAIL = 5  # samples needed beyond a percentile before it is judged
RESAMPLES = 2000
BOOTSTRAP_SEED = 20251104
MAX_RESAMPLE_CELLS = 4_000_000  # bootstrap memory bound: resamples x n per chunk

REGRESSION, FASTER, UNCHANGED, NOT_JUDGED = "regression", "faster", "unchanged", "not judged"


class CheckError(UsageError, ValueError):
    """Bad input to check: one line saying what to do."""


@dataclass
class Options:
    metrics: tuple[str, ...] = DEFAULT_METRICS
    min_effect: float = DEFAULT_MIN_EFFECT
    alpha: float = DEFAULT_ALPHA
    relative_to: tuple[str, str] | None = None  # (backend, op)
    confirmed: bool = False  # a confirmation run was given
    allow_mismatch: bool = False  # compare files of different profiles or workload parameters


@dataclass
class Comparison:
    backend: str
    op: str
    metric: str
    baseline: float | None  # ms, or multiples of the reference op with --relative-to
    current: float | None
    ratio: float | None = None
    p_value: float | None = None  # one-sided, in the direction of the change
    p_adjusted: float | None = None  # Holm, over the judged family
    verdict: str = NOT_JUDGED
    note: str = ""
    paired: bool = False  # tested call by call (same seed and workload in both runs)


@dataclass
class Outcome:
    comparisons: list[Comparison]
    missing: list[str]
    warnings: list[str] = field(default_factory=list)
    options: Options = field(default_factory=Options)

    @property
    def regressions(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.verdict == REGRESSION]

    @property
    def judged(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.verdict != NOT_JUDGED]


# ---- input -------------------------------------------------------------------------------

def load_any(path: str | Path) -> Results:
    """A storebench results file, or pytest-benchmark JSON converted to the same model."""
    try:
        return pytest_benchmark_json.load_any(path)
    except ResultsError as exc:
        raise CheckError(str(exc)) from None


def parse_metrics(text: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))
    bad = [m for m in chosen if m not in METRICS]
    if bad or not chosen:
        raise CheckError(f"--metric {text!r}: valid metrics are {', '.join(METRICS)} (comma-separated)")
    return chosen


def parse_percent(text: str) -> float:
    """'10%' or '10' -> 0.10."""
    try:
        value = float(text.strip().rstrip("%"))
    except ValueError:
        raise CheckError(f"--min-effect {text!r}: expected a percentage such as 10%") from None
    if not 0 <= value < 1000:
        raise CheckError(f"--min-effect {text!r}: expected a percentage from 0% to below 1000%")
    return value / 100


def parse_alpha(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise CheckError(f"--alpha {text!r}: expected a probability such as 0.01") from None
    if not 0 < value < 1:
        raise CheckError(f"--alpha {text!r}: expected a probability above 0 and below 1, such as 0.01")
    return value


def parse_reference(text: str) -> tuple[str, str]:
    backend, dot, op = text.partition(".")
    if not dot or not backend or not op:
        raise CheckError(f"--relative-to {text!r}: expected BACKEND.OP, e.g. sqlite3.update_title")
    return backend, op


Key = tuple[str, str]  # (backend, op): `Results.op(*key)` finds its entry


def usable(data: Results) -> list[Key]:
    """The (backend, op) of every op entry of a backend that ran to completion (status ok)."""
    ok = {b.name for b in data.backends if b.status == "ok"}
    return [(o.backend, o.op) for o in data.indexed_ops() if o.backend in ok]


def entry(data: Results, key: Key) -> OpResult:
    """The op entry of a key from `usable(data)`."""
    found = data.op(*key)
    assert found is not None, key
    return found


# ---- statistics --------------------------------------------------------------------------

def percentile(samples: np.ndarray, q: float) -> float:
    """Nearest-rank, as in the results file: a value that was really measured."""
    return float(np.percentile(samples, q, method="inverted_cdf"))


def judgeable(n: int, q: float) -> bool:
    return n * (1 - q / 100) >= MIN_TAIL


def min_samples(q: float) -> int:
    return math.ceil(MIN_TAIL / (1 - q / 100) - 1e-9)


def _resampled_log_percentile(x: np.ndarray, q: float, rng: np.random.Generator) -> np.ndarray:
    """log of the q-th percentile of RESAMPLES bootstrap resamples of x (vectorised, in chunks)."""
    chunk = max(1, MAX_RESAMPLE_CELLS // len(x))
    out = []
    for start in range(0, RESAMPLES, chunk):
        rows = min(chunk, RESAMPLES - start)
        idx = rng.integers(0, len(x), size=(rows, len(x)))
        out.append(np.percentile(x[idx], q, axis=1, method="inverted_cdf"))
    return np.log(np.maximum(np.concatenate(out), 1e-12))


def bootstrap_p(base: np.ndarray, cur: np.ndarray, q: float, rng: np.random.Generator) -> float:
    """One-sided p-value that the q-th percentile ratio is on the side it was observed,
    from the bootstrap standard error of the log ratio (a normal interval: it reaches the
    tiny per-test levels a correction asks for, which a percentile interval of 2000
    resamples cannot)."""
    observed = math.log(max(percentile(cur, q), 1e-12) / max(percentile(base, q), 1e-12))
    cur_q, base_q = _resampled_log_percentile(cur, q, rng), _resampled_log_percentile(base, q, rng)
    spread = float(np.std(cur_q - base_q, ddof=1))
    if spread == 0:
        return 0.0 if observed != 0 else 1.0
    return 1 - NormalDist().cdf(abs(observed) / spread)


def rank_p(base: np.ndarray, cur: np.ndarray, slower: bool, paired: bool) -> float:
    """One-sided rank-test p-value that current is slower (or faster) than baseline:
    Wilcoxon signed-rank on paired log ratios, else Mann-Whitney U."""
    alternative: Literal["greater", "less"] = "greater" if slower else "less"
    if paired:
        diffs = np.log(np.maximum(cur, 1e-12) / np.maximum(base, 1e-12))
        if not np.any(diffs):
            return 1.0
        return float(wilcoxon(diffs, alternative=alternative).pvalue)
    return float(mannwhitneyu(cur, base, alternative=alternative).pvalue)


PLAN_KEYS = ("conversations", "messages", "iterations", "warmup")


def same_plan(baseline: Results, current: Results) -> bool:
    """Whether both runs made the same calls in the same order (same seed and workload)."""
    b, c = baseline.run, current.run
    if b.seed is None or b.seed != c.seed:
        return False
    bp, cp = b.params or {}, c.params or {}
    return all(bp.get(k) is not None and bp.get(k) == cp.get(k) for k in PLAN_KEYS)


def holm(p_values: list[float]) -> list[float]:
    """Holm-adjusted p-values (step-down, monotone), in the input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


# ---- the check ---------------------------------------------------------------------------

def _scale(data: Results, reference: Key | None, where: str) -> float:
    """Divisor for every sample of a file: 1e6 (ns -> ms), or the reference op's p50."""
    if reference is None:
        return 1e6
    found = entry(data, reference) if reference in usable(data) else None
    if found is None or not found.samples_ns:
        raise CheckError(f"--relative-to {'.'.join(reference)}: not measured (with samples) in {where}")
    return percentile(np.asarray(found.samples_ns, dtype=float), 50)


def compare(baseline: Results, current: Results, options: Options, confirm: Results | None = None) -> Outcome:
    """Judge `current` against `baseline`. With `confirm` (a second current run), a regression
    stands only if the confirmation run shows it again (see `_confirm`)."""
    if not options.allow_mismatch:
        refuse_mismatch(baseline, current)
    base_ops, cur_ops = usable(baseline), usable(current)
    missing = _only_in(base_ops, cur_ops, "the baseline") + _only_in(cur_ops, base_ops, "the current results")
    missing += _not_ok(baseline, "baseline") + _not_ok(current, "current results")
    in_current = set(cur_ops)
    common = [k for k in base_ops if k in in_current and k != options.relative_to]
    if not common:
        raise CheckError("no backend/op is present in both files; nothing to compare")
    comparisons = _judge(baseline, current, options, [(k, m) for k in common for m in options.metrics])
    warnings = _run_warnings(baseline, "baseline") + _run_warnings(current, "current run")
    warnings += _pair_warnings(baseline, current, options)
    if confirm is not None:
        _confirm(baseline, confirm, options, comparisons)
        warnings += _run_warnings(confirm, "confirmation run")
    return Outcome(comparisons, missing, warnings, options)


def _judge(baseline: Results, current: Results, options: Options,
           wanted: list[tuple[Key, str]]) -> list[Comparison]:
    """Compare each wanted ((backend, op), metric); Holm over the ones that can be judged."""
    base_scale = _scale(baseline, options.relative_to, "the baseline")
    cur_scale = _scale(current, options.relative_to, "the current results")
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    plan = same_plan(baseline, current)
    comparisons = []
    for key, metric in wanted:
        b_entry, c_entry = entry(baseline, key), entry(current, key)
        base = np.asarray(b_entry.samples_ns, dtype=float) / base_scale
        cur = np.asarray(c_entry.samples_ns, dtype=float) / cur_scale
        # Pairs line up only when no call failed (a failed call leaves no sample) and the op is
        # one of the planned ones (cold starts are independent processes).
        paired = plan and key[1] in OPS and len(base) == len(cur) and not b_entry.errors and not c_entry.errors
        comparisons.append(_compare_one(key, metric, base, cur, b_entry, c_entry, rng, paired))
    # A comparison has a ratio whenever it has a p-value (_compare_one sets the ratio first).
    judged = [(c, c.ratio, c.p_value) for c in comparisons if c.ratio is not None and c.p_value is not None]
    for (c, ratio, _), p in zip(judged, holm([p for _, _, p in judged])):
        c.p_adjusted = p
        c.verdict, c.note = _verdict(ratio, p, options)
    return comparisons


def _confirm(baseline: Results, confirm: Results, options: Options, comparisons: list[Comparison]) -> None:
    """Keep a regression only if a second, independent current run shows it too.

    A neighbour's burst of disk or CPU work can slow a whole backend for one run; it rarely
    hits the same op in two runs. The confirmation tests only the regressions found, so its
    Holm family is that small set (pre-specified hypotheses), with the same alpha and minimum
    effect.
    """
    flagged = [c for c in comparisons if c.verdict == REGRESSION]
    available = set(usable(confirm))
    testable = [c for c in flagged if (c.backend, c.op) in available]
    again = _judge(baseline, confirm, options, [((c.backend, c.op), c.metric) for c in testable])
    seen = {(a.backend, a.op, a.metric): a for a in again}
    for c in flagged:
        a = seen.get((c.backend, c.op, c.metric))
        if a is None or a.p_value is None:  # cannot be confirmed: keep the regression (fail safe)
            c.note = "not testable in the confirmation run"
        elif a.verdict != REGRESSION:
            c.verdict, c.note = UNCHANGED, f"not reproduced: {fmt_change(a.ratio)} in the confirmation run"
        else:
            c.note = f"confirmed: {fmt_change(a.ratio)}"


def _compare_one(key: tuple[str, str], metric: str, base: np.ndarray, cur: np.ndarray,
                 base_entry: OpResult, cur_entry: OpResult, rng: np.random.Generator, paired: bool) -> Comparison:
    q = METRICS[metric]
    c = Comparison(key[0], key[1], metric, _summary_value(base, base_entry, metric),
                   _summary_value(cur, cur_entry, metric))
    if len(base) == 0 or len(cur) == 0:
        c.note = "no raw samples" + (" (save pytest-benchmark runs with --benchmark-save-data)"
                                     if base_entry.source or cur_entry.source else "")
        if c.baseline and c.current:
            c.ratio = c.current / c.baseline
        return c
    if not c.baseline:
        c.note = "baseline is zero"
        return c
    assert c.current is not None  # a percentile of the samples, never None
    c.ratio = c.current / c.baseline
    if paired and q == 50:
        c.ratio = float(np.exp(np.median(np.log(np.maximum(cur, 1e-12) / np.maximum(base, 1e-12)))))
    n = min(len(base), len(cur))
    if not judgeable(n, q):
        c.note = f"needs n>={min_samples(q)}, has {n}"
        return c
    slower = c.ratio >= 1
    c.p_value = rank_p(base, cur, slower, paired) if q == 50 else bootstrap_p(base, cur, q, rng)
    c.paired = paired
    return c


def _summary_value(samples: np.ndarray, found: OpResult, metric: str) -> float | None:
    if len(samples):
        return percentile(samples, METRICS[metric])
    return found.percentile_ms(METRICS[metric])  # pytest-benchmark without raw data: its own summary


def _verdict(ratio: float, p_adjusted: float, options: Options) -> tuple[str, str]:
    significant = p_adjusted < options.alpha
    big = options.min_effect
    if significant and ratio >= 1 + big:
        return REGRESSION, ""
    if significant and ratio <= 1 / (1 + big):
        return FASTER, ""
    if significant:
        return UNCHANGED, f"significant, under {big:.0%}"
    return UNCHANGED, ""


def _only_in(ops: list[Key], others: list[Key], where: str) -> list[str]:
    """What `ops` has and `others` lacks: a whole backend in one line, else backend.op."""
    other = set(others)
    lines = []
    for backend in dict.fromkeys(b for b, _ in ops):
        mine = [o for b, o in ops if b == backend]
        lacking = [o for o in mine if (backend, o) not in other]
        if lacking and len(lacking) == len(mine):
            lines.append(f"{backend}: only in {where}")
        else:
            lines += [f"{backend}.{o}: only in {where}" for o in lacking]
    return lines


def _not_ok(data: Results, where: str) -> list[str]:
    return [f"{b.name}: {b.status} in the {where}" + (f" ({b.reason})" if b.reason else "")
            for b in data.backends if b.status != "ok"]


def _run_warnings(data: Results, where: str) -> list[str]:
    """What makes one file's numbers suspect: an injected delay, a busy machine."""
    complete = data.complete or not data.has("complete")  # a file without the key is taken as complete
    out = [] if complete else [f"the {where} is incomplete (its run was interrupted)"]
    spec = (data.run.params or {}).get("inject")
    if spec:
        out.append(f"the {where} has an injected delay ({spec['spec']}): a gate test, not a real measurement")
    load = data.run.load_average
    busiest = max((v for v in (load.start, load.end) if isinstance(v, (int, float))), default=None) if load else None
    cores = data.run.host.cores if data.run.host else None
    if busiest is not None and cores and busiest > cores:
        out.append(f"the machine was busy during the {where} (load average {busiest:g} on {cores} cores): "
                   "a change may come from other processes, not the code")
    return out


WORKLOAD_KEYS = ("conversations", "messages")


def refuse_mismatch(baseline: Results, current: Results) -> None:
    """Files of different profiles or data sizes measure different work: no verdict on them."""
    b, c = baseline.run, current.run
    if b.profile != c.profile:
        raise CheckError(f"the files come from different profiles ({b.profile} vs {c.profile}); "
                         "measure both with the same --profile, or pass --allow-mismatch")
    bp, cp = b.params or {}, c.params or {}
    differ = [f"{k} {bp.get(k)} vs {cp.get(k)}" for k in WORKLOAD_KEYS if bp.get(k) != cp.get(k)]
    if differ:
        raise CheckError(f"the files measure different workloads ({', '.join(differ)}); "
                         "use the same sizes, or pass --allow-mismatch")


def _pair_warnings(baseline: Results, current: Results, options: Options) -> list[str]:
    """What makes two files hard to compare: other CPUs, other profiles, other times."""
    out = []
    b_host, c_host = baseline.run.host, current.run.host
    if options.relative_to is None and b_host and c_host and b_host.cpu_model != c_host.cpu_model:
        out.append(f"different CPUs ({b_host.cpu_model} vs {c_host.cpu_model}): "
                   "consider --relative-to BACKEND.OP")
    if baseline.run.profile != current.run.profile:
        out.append(f"different profiles ({baseline.run.profile} vs {current.run.profile})")
    # Two runs made at different times differ as a whole (machine state, neighbours, clock
    # frequency), which no test on the samples within each run can see (issue 11's A/A pairs).
    elsewhere = b_host and c_host and b_host.hostname and c_host.hostname and b_host.hostname != c_host.hostname
    out.append("the two files were measured at different times" + (" on different machines" if elsewhere else "") +
               ": this verdict is about the files, not the code; `storebench ab` measures base and head side by side")
    return out


# ---- output ------------------------------------------------------------------------------

def fmt_value(value: float | None, relative: bool) -> str:
    if value is None:
        return "-"
    if relative:
        return f"{value:.3f}x"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def fmt_change(ratio: float | None) -> str:
    return "-" if ratio is None else f"{(ratio - 1) * 100:+.1f}%"


def fmt_confidence(c: Comparison) -> str:
    if c.p_adjusted is None:
        return "-"
    confidence = 1 - c.p_adjusted
    return ">99.9%" if confidence > 0.999 else f"{confidence * 100:.1f}%"


def fmt_verdict(c: Comparison) -> str:
    return c.verdict + (f" ({c.note})" if c.note else "")


def rows(outcome: Outcome) -> list[list[str]]:
    relative = outcome.options.relative_to is not None
    return [[c.backend, c.op, c.metric, fmt_value(c.baseline, relative), fmt_value(c.current, relative),
             fmt_change(c.ratio), fmt_confidence(c), fmt_verdict(c)] for c in outcome.comparisons]


def headers(outcome: Outcome) -> list[str]:
    unit = "x ref" if outcome.options.relative_to else "ms"
    return ["backend", "op", "metric", f"baseline ({unit})", f"current ({unit})", "change", "confidence", "verdict"]


def method_line(options: Options) -> str:
    line = (f"regression = slower by at least {options.min_effect:.0%} and significant at alpha "
            f"{options.alpha:g} (Holm-corrected over the family; p50: Wilcoxon signed-rank on paired calls, "
            f"change = median call-by-call ratio; unpaired: Mann-Whitney U; tails: bootstrap)")
    if options.confirmed:
        line += "; a regression must show again in the confirmation run"
    if options.relative_to:
        line += f"; values in multiples of the reference (ref), {'.'.join(options.relative_to)} p50 of the same run"
    return line


def headline(outcome: Outcome) -> str:
    found = outcome.regressions
    if found:
        names = ", ".join(f"{c.backend}.{c.op} {c.metric} {fmt_change(c.ratio)}" for c in found)
        return f"{len(found)} regression{'s' if len(found) > 1 else ''}: {names}"
    return f"no regression ({len(outcome.judged)} comparisons judged)"


def markdown(outcome: Outcome) -> str:
    """The summary for a pull-request comment."""
    mark = "❌" if outcome.regressions else "✅"
    lines = [f"## {mark} storebench check: {headline(outcome)}", "", method_line(outcome.options), ""]
    for w in outcome.warnings:
        lines.append(f"> ⚠️ {w}")
    if outcome.warnings:
        lines.append("")
    lines.append("| " + " | ".join(headers(outcome)) + " |")
    lines.append("|" + "---|" * 5 + "---:|---:|---|")
    for row in rows(outcome):
        if row[7].startswith(REGRESSION):
            row[7] = f"**{row[7]}**"
        lines.append("| " + " | ".join(row) + " |")
    if outcome.missing:
        lines += ["", "Not compared:", ""] + [f"- {m}" for m in outcome.missing]
    return "\n".join(lines) + "\n"


def print_table(outcome: Outcome) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # CI logs: do not squeeze the table into 80 columns
        console.width = 160
    table = Table(title="storebench check", caption=method_line(outcome.options))
    for i, name in enumerate(headers(outcome)):
        table.add_column(name, justify="right" if 3 <= i <= 6 else "left")
    for c, row in zip(outcome.comparisons, rows(outcome)):
        style = "bold red" if c.verdict == REGRESSION else ("green" if c.verdict == FASTER else None)
        table.add_row(*row, style=style)
    console.print(table)
    for w in outcome.warnings:
        console.print(f"warning: {w}")
    for m in outcome.missing:
        console.print(f"not compared: {m}")
    console.print(headline(outcome))
