"""`storebench ab`: base and head measured side by side in one job, and a three-way verdict.

Each side is a Python interpreter whose environment holds that side's code, drivers and
settings (CI installs the pull request's base and head into two virtual environments). The
coordinator (bench/core/coordinator.py) starts, per backend, K worker processes with each side's
interpreter — pair i is base's worker i and head's worker i — all with the same seed and plan
and each with its own store, pins them to one CPU, and interleaves their rounds finely
(A B B A …), so whatever the machine does hits both sides of a pair alike. The verdict comes
from the pairs (bench/gate/ab_verdict.py). While any comparison is inconclusive, more pairs of
the backends it concerns are measured, up to `max_pairs`.

Exit status: 0 no regression, 1 regression, 2 bad input or nothing judged (as `check`),
3 inconclusive after max_pairs.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from storebench import backends
from storebench.backends.base import Settings
from storebench.core import coordinator
from storebench.core.workload import Params
from storebench.errors import UsageError
from storebench.gate import ab_verdict
from storebench.gate.ab_verdict import INCONCLUSIVE, NOT_JUDGED, REGRESSION, Pair, Verdict
from storebench.model.results import AbSection, BackendResult, OpResult

SIDES = ("base", "head")
EXIT = {ab_verdict.NO_REGRESSION: 0, REGRESSION: 1, NOT_JUDGED: 2, INCONCLUSIVE: 3}
DEFAULT_PAIRS, DEFAULT_MAX_PAIRS = 6, 18
# A sample in fewer rounds than this cannot judge p99 (ab_verdict.samples_needed(99) = 500).
TAIL_ROUNDS = ab_verdict.samples_needed(99)


class AbError(UsageError, ValueError):
    """Bad input to ab: one line saying what to do (exit 2)."""


@dataclass(frozen=True)
class Plan:
    backends: tuple[str, ...]
    python: dict[str, str]  # side -> interpreter
    params: Params  # the profile's; `iterations` is replaced by rounds per pair
    seed: int
    settings: Settings
    metrics: tuple[str, ...] = ("p50", "p99")
    rounds: int = TAIL_ROUNDS  # timed rounds per worker process (per pair and side)
    pairs: int = DEFAULT_PAIRS
    max_pairs: int = DEFAULT_MAX_PAIRS
    inject: dict[str, str | None] = field(default_factory=lambda: {"base": None, "head": None})
    pin_cpu: int | None = None
    alpha: float = ab_verdict.DEFAULT_ALPHA
    # side -> STOREBENCH_BACKEND_MODULES of its workers: each side's own copy of a user's file
    backend_modules: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    verdicts: list[Verdict]
    pairs: int
    measured: list[tuple[int, coordinator.Measured]]  # (batch, group): every batch's groups, both sides
    batches: list[int]  # pairs per batch

    @property
    def overall(self) -> str:
        return ab_verdict.overall(self.verdicts)

    @property
    def exit_code(self) -> int:
        return EXIT[self.overall]


def check_python(side: str, python: str) -> str:
    """The interpreter's absolute path, once it has shown it can start a storebench worker."""
    path = Path(python).expanduser()
    if not path.exists():
        raise AbError(f"--{side}-python {python}: no such file; give the python of the {side} side's environment")
    try:
        proc = subprocess.run([str(path), "-c", "import storebench.core.backend_worker"],
                              capture_output=True, text=True,
                              timeout=60)
    except OSError as exc:
        raise AbError(f"--{side}-python {python}: cannot run it ({exc.strerror})") from None
    if proc.returncode != 0:
        raise AbError(f"--{side}-python {python}: its environment has no storebench with measuring workers "
                      f"(pip install -e the {side} checkout into it)")
    return str(path.absolute())


def check_rounds(rounds: int, metrics: Sequence[str]) -> None:
    """Refuse rounds too few for any metric to be judged: a round has each op once, so a pair
    has at most `rounds` samples of an op on each side."""
    metric = min((c.partition(":")[0] for c in metrics), key=ab_verdict.METRICS.__getitem__)
    need = ab_verdict.samples_needed(ab_verdict.METRICS[metric])
    if rounds < need:
        raise AbError(f"--rounds {rounds} gives each pair at most {rounds} samples of an op per side, and "
                      f"{metric} needs {need}: nothing could be judged; give --rounds {need} or more")


def side_modules(locations: Sequence[str], dirs: dict[str, Path | None]) -> dict[str, str]:
    """Each side's STOREBENCH_BACKEND_MODULES: every `FILE.py:Class` resolved in that side's
    checkout, so base runs base's version of the user's code and head runs head's."""
    if not locations:
        return {}
    for location in locations:
        path, _, class_name = location.rpartition(":")
        if not path.endswith(".py") or not class_name:
            raise AbError(f"--backend-module {location!r}: expected path/to/file.py:ClassName")
        if Path(path).is_absolute():
            raise AbError(f"--backend-module {location}: give the path relative to the checkouts "
                          "(--base-dir, --head-dir), so each side runs its own version of it")
    out = {}
    for side in SIDES:
        folder = dirs[side]
        if folder is None:
            raise AbError(f"--backend-module needs --{side}-dir, the {side} side's checkout, "
                          f"so {side} runs its own version of {locations[0].rpartition(':')[0]}")
        if not folder.is_dir():
            raise AbError(f"--{side}-dir {folder}: no such folder; give the {side} side's checkout")
        out[side] = ";".join(f"{(folder / path).resolve()}:{class_name}"
                             for path, _, class_name in (loc.rpartition(":") for loc in locations))
    return out


# Run by each side's interpreter: can it find every backend, and which extra ops does it declare?
_RESOLVE = """
import json, sys
import storebench.core.backend_worker
from storebench import backends
found = {}
for name in sys.argv[1:]:
    try:
        found[name] = {"extra_ops": list(backends.get(name).extra_ops)}
    except Exception as exc:
        error = backends.PLUGIN_ERRORS[0] if backends.PLUGIN_ERRORS else f"{type(exc).__name__}: {exc}"
        found[name] = {"error": error.splitlines()[0]}
print(json.dumps(found))
"""


def check_backends(python: dict[str, str], names: Sequence[str], modules: dict[str, str]) -> None:
    """Every backend resolves in both sides' environments (a user's file in that side's checkout,
    an entry point installed there) and declares the same extra ops on both, else an AbError."""
    declared = {}
    for side in SIDES:
        env = {**os.environ, **({backends.MODULES_VARIABLE: modules[side]} if side in modules else {})}
        proc = subprocess.run([python[side], "-P", "-c", _RESOLVE, *names], capture_output=True, text=True,
                              timeout=120, env=env)
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]
            raise AbError(f"--{side}-python {python[side]}: cannot look up the backends there ({last})")
        declared[side] = json.loads(lines[-1])
        for name in names:
            if "error" in declared[side][name]:
                raise AbError(f"backend {name} on the {side} side: {declared[side][name]['error']} "
                              f"(install it, or give --backend-module, in the {side} side's environment)")
    for name in names:
        if declared["base"][name] != declared["head"][name]:
            raise AbError(f"backend {name}: base and head declare different extra ops "
                          f"({declared['base'][name]['extra_ops']} and {declared['head'][name]['extra_ops']}); "
                          "ab compares the same ops on both sides")


def default_cpu() -> int | None:
    """The last CPU this process may use: both sides' workers share it (issue 11's prototype:
    pair ratios spread 5x wider when the two processes of a pair ran on different cores)."""
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return allowed[-1] if allowed else None


def run(plan: Plan, progress: Callable[[str, int, int], None] | None = None) -> Outcome:
    """Measure `plan.pairs` pairs of every backend; then, while anything is inconclusive,
    more pairs of the backends with an undecided comparison only, up to `plan.max_pairs`.
    A decided backend keeps its verdict (its pairs do not change), and a batch of one backend
    costs a third of one of three: an A/A job over sqlite3, apsw and libsql needed 12 pairs,
    and 3 of 20 were still undecided on one 10 µs op there, which 18 pairs of it alone settle."""
    cells: dict[tuple[str, str], list[Pair]] = {}
    measured: list[tuple[int, coordinator.Measured]] = []
    batches: list[int] = []
    undecided = plan.backends
    while True:
        batch = plan.pairs if not batches else min(plan.pairs, plan.max_pairs - sum(batches))
        groups = measure_batch(plan, undecided, batch, plan.rounds, progress)
        measured += [(len(batches), g) for g in groups]
        batches.append(batch)
        _add_pairs(cells, groups)
        if len(batches) == 1:  # the first batch is the pilot of the per-op tails asked for
            check_tails(cells, plan, plan.max_pairs)
        verdicts = ab_verdict.decide(cells, plan.metrics, plan.alpha)
        if ab_verdict.overall(verdicts) != INCONCLUSIVE or sum(batches) >= plan.max_pairs:
            return Outcome(verdicts, sum(batches), measured, batches)
        undecided = tuple(dict.fromkeys(v.backend for v in verdicts if v.verdict == INCONCLUSIVE))


def measure_batch(plan: Plan, backends: Sequence[str], pairs: int, rounds: int,
                  progress: Callable[[str, int, int], None] | None = None) -> list[coordinator.Measured]:
    """`pairs` new pairs of `rounds` rounds of every backend named, interleaved."""
    # Each batch its own seed offset would change the plan; the same seed keeps every pair's
    # calls identical, so pairs differ only in process and moment.
    return coordinator.measure(_specs(plan, backends), replace(plan.params, iterations=rounds * pairs),
                               plan.seed, plan.settings, processes=pairs, pin_cpu=plan.pin_cpu,
                               rule=coordinator.StoppingRule(ci=0.0, min_process_rounds=1), progress=progress)


def parse_metrics(text: str, names: Sequence[str]) -> tuple[str, ...]:
    """`--metric`: `p50`, `p50,p99`, or per op `p50,p99:load_all` / `p99:sqlite3.load_all`."""
    from storebench.core.workload import OPS

    ops = {op for name in names for op in (*OPS, *backends.get(name).extra_ops)}
    choices = tuple(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
    for choice in choices:
        metric, colon, where = choice.partition(":")
        if metric not in ab_verdict.METRICS:
            raise AbError(f"--metric {text!r}: {metric!r} is not one of {', '.join(ab_verdict.METRICS)} "
                          "(e.g. p50 or p50,p99:load_all)")
        backend, dot, op = where.rpartition(".")
        if colon and (op not in ops or (dot and backend not in names)):
            raise AbError(f"--metric {choice!r}: no op {where!r} among --backends {', '.join(names)}; "
                          f"ops: {', '.join(sorted(ops))}")
    if not choices:
        raise AbError(f"--metric {text!r}: name a percentile, e.g. p50 or p50,p99:load_all")
    return choices


def rounds_needed(metrics: Sequence[str]) -> int:
    """Rounds per pair and side that judge every metric chosen (p99: 500)."""
    return max(ab_verdict.samples_needed(ab_verdict.METRICS[c.partition(":")[0]]) for c in metrics)


def check_tails(cells: dict[tuple[str, str], list[Pair]], plan: Plan, most_pairs: int) -> None:
    """Refuse (AbError) a per-op tail choice, e.g. `p99:load_all`, whose pilot pairs say the
    op's tail cannot be judged, with why. A job-wide `p99` is judged as it comes."""
    family = max(1, sum(len(ab_verdict.applicable(plan.metrics, b, op)) for b, op in cells))
    for choice in plan.metrics:
        metric, _, where = choice.partition(":")
        if not where or metric == "p50":
            continue
        for (backend, op), pairs in cells.items():
            if where in (op, f"{backend}.{op}"):
                why = ab_verdict.tail_problem(pairs, metric, family, plan.alpha, most_pairs)
                if why:
                    raise AbError(f"--metric {choice}: {backend}.{op} cannot be judged on {metric}: {why}; "
                                  f"judge it on p50, or {metric} on an op with a smooth tail")


def _specs(plan: Plan, backends: Sequence[str]) -> list[coordinator.WorkerSpec]:
    return [coordinator.WorkerSpec(backend, side, plan.python[side], _inject_for(plan.inject.get(side), backend),
                                   plan.backend_modules.get(side))
            for backend in backends for side in SIDES]


def _inject_for(spec: str | None, backend: str) -> str | None:
    """A side's --inject spec for the worker of `backend`: only the backend it names gets it."""
    return spec if spec is not None and spec.split(".", 1)[0] == backend else None


def _add_pairs(cells: dict[tuple[str, str], list[Pair]], groups: Sequence[coordinator.Measured]) -> None:
    """Pair base's process i with head's process i, per backend and op, when both sides ran."""
    by_key = {(m.spec.backend, m.spec.side): m for m in groups}
    for backend in dict.fromkeys(m.spec.backend for m in groups):
        base, head = by_key[(backend, "base")], by_key[(backend, "head")]
        if base.entry["status"] != "ok" or head.entry["status"] != "ok":
            continue
        for op, base_runs in base.per_process.items():
            for b, h in zip(base_runs, head.per_process.get(op, [])):
                if b and h:
                    cells.setdefault((backend, op), []).append(Pair(b, h))


def failures(outcome: Outcome) -> list[str]:
    """Backends that did not run on a side, with the reason: they are not judged."""
    return [f"{m.spec.backend} ({m.spec.side}): {m.entry['status']} — {m.entry.get('reason')}"
            for _, m in outcome.measured if m.entry["status"] != "ok"]


def results_section(plan: Plan, outcome: Outcome) -> AbSection:
    """What the results file records of the A/B job (`ab`): the set-up and every verdict."""
    return AbSection(
        pairs=outcome.pairs, batches=outcome.batches, rounds_per_pair=plan.rounds,
        metrics=list(plan.metrics), alpha=plan.alpha, pin_cpu=plan.pin_cpu,
        python=plan.python, inject=plan.inject, overall=outcome.overall,
        verdicts=[asdict(v) for v in outcome.verdicts], failures=failures(outcome),
        backend_modules={side: value.split(";") for side, value in plan.backend_modules.items()},
    )


def entries(outcome: Outcome) -> tuple[list[BackendResult], list[OpResult]]:
    """Backend and op entries of both sides, each marked with its side and batch. An op entry's
    `samples_ns` lists its processes' samples one process after the other, and `process_n`
    says how many each had: pair i of a batch is process i of both sides."""
    backends_out, ops_out = [], []
    for batch, m in outcome.measured:
        backends_out.append(BackendResult.from_dict({**m.entry, "side": m.spec.side, "batch": batch}))
        for op in m.ops:
            runs = m.per_process.get(op["op"])
            split = {"samples_ns": [x for r in runs for x in r], "process_n": [len(r) for r in runs]} if runs else {}
            ops_out.append(OpResult.from_dict({**op, "side": m.spec.side, "batch": batch, **split}))
    return backends_out, ops_out
