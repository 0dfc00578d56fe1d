"""`storebench report`: the decision matrix, the latency report, plots and one HTML page,
rendered from results files and nothing else (a pure function of the data).

Every number shown comes from a results file; a measured cell links to its evidence and
names the results-file key it was read from. Seed-document facts are shown as documented,
never mixed up with measurements. Optional keys (round_trips, capabilities,
overhead_ratio, samples_ns …) may be missing: older files still render.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from storebench.core.workload import ALL_OPS, COLD_START, OPS
from storebench.model import stats
from storebench.model.pytest_benchmark_json import load_any
from storebench.model.results import BackendResult, Capability, Host, OpResult, Results, Sweep
from storebench.reports import claims, labels, outliers, paired, ranking
from storebench.reports import document as doc
from storebench.reports import plots as plots_mod
from storebench.reports.document import (
    DOCUMENTED,
    MEASURED,
    Answer,
    Block,
    Bullets,
    Cell,
    Details,
    Heading,
    Image,
    Para,
    Table,
)
from storebench.reports.plots import op_names
from storebench.reports.ranking import Figure

MATRIX, LATENCY, INDEX = "decision-matrix.md", "latency.md", "index.html"

SEED_FACTORS = ("Cross-device", "Type Safety", "Ease of Setup", "API Routes Needed", "Production Ready",
                "Cloud Backup", "Cost", "Migration Effort")
# The seed's decision matrix, verbatim, by its column (shown with its emoji as words: `seed_words`).
SEED_MATRIX: dict[str, tuple[str, ...]] = {
    "Current (File + API)": ("❌ No", "❌ No", "✅ Easy", "✅ Yes (5)", "⚠️ Local only", "❌ No", "Free", "-"),
    "Turso": ("✅ Yes", "✅ Yes", "✅ Easy", "❌ No", "✅ Yes", "✅ Yes", "Free tier", "Moderate"),
    "Drizzle": ("✅ Yes*", "✅ Yes", "⚠️ Medium", "❌ No", "✅ Yes", "✅ Yes*", "Free", "Moderate"),
    "Prisma": ("✅ Yes*", "✅ Yes", "❌ Complex", "❌ No", "✅ Yes", "✅ Yes*", "Free", "High"),
    "Self-Hosted": ("✅ Yes", "✅ Yes", "⚠️ Medium", "✅ Yes", "⚠️ Complex", "❌ Manual", "Free", "Low"),
    "Better-SQLite3": ("❌ No", "⚠️ Partial", "✅ Easy", "✅ Yes", "⚠️ Local only", "❌ No", "Free", "Low"),
}

# The seed's own measurements of its "Current" design, beside ours for the same operation.
SEED_FIGURES: list[tuple[str, str]] = [
    (COLD_START, "initial load 83 ms (with compilation)"),
    ("load_all", "initial load 3–6 ms (cached)"),
    ("create_conversation", "create conversation 57–67 ms"),
    ("add_message", "add message: similar to create (57–67 ms)"),
]

PROBES = (("cross_device", "cross-device"), ("auth_enforced", "auth enforced"),
          ("process_crash", "process crash: acknowledged writes kept"), ("concurrent_writers", "concurrent writers"),
          ("online_backup", "online backup"))
# Older files' name of the process-crash probe, which then SIGKILLed the writing client only
# (for a server backend the server kept running): shown with that said.
LEGACY_PROBES = {"process_crash": ("crash_durability", "older probe: only the writing client was killed")}
POWER_LOSS = ("Power loss (a crash that drops data the OS had not yet written to disk) is not measured: the process "
              "crash probe kills a process, and the OS keeps what it was given; no layer that drops unsynced "
              "writes runs here (docs/failures.md).")
NOT_IN_RUN = "not in this run"
MODEL_RTTS_MS = (0, 5, 20, 50, 100)


@dataclass
class Run:
    """One loaded results file, where it came from and how the report links to it."""

    source: str
    data: Results
    link: str = ""  # the results file relative to the report folder, for links

    def __post_init__(self) -> None:
        self.link = self.link or self.source

    def backend_names(self) -> list[str]:
        return [b.name for b in self.data.backends]

    def entries(self) -> dict[str, BackendResult]:
        """Backend name -> its entry (the file's index: the last of a name), in file order."""
        return {name: entry for name in self.backend_names() if (entry := self.data.backend(name))}

    def label(self) -> str:
        run = self.data.run
        return f"{run.started_at or '?'} ({run.profile or '?'}, {self.source})"


def load_runs(paths: Sequence[str | Path], out: Path | None = None) -> list[Run]:
    """Load and validate every file first, so a bad one stops the report before any output.
    A pytest-benchmark JSON file is read as `check` reads it."""
    runs = []
    for p in paths:
        link = os.path.relpath(Path(p).resolve(), out.resolve()) if out is not None else str(p)
        runs.append(Run(str(p), load_any(p), link))
    return runs


# ---------------------------------------------------------------- formatting


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def fmt_num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def lat_anchor(backend: str, op: str) -> str:
    return doc.slug(f"lat-{backend}-{op}")


def cap_anchor(backend: str, probe: str) -> str:
    return doc.slug(f"cap-{backend}-{probe}")


def emulated_text(entry: BackendResult) -> str:
    emulated = entry.emulated
    if not emulated:
        return "no"
    return "yes" if emulated is True else f"yes: {doc.text(emulated)}"


def status_text(entry: BackendResult) -> str:
    status, reason = entry.status, entry.reason
    return doc.text(f"{status}: {reason}" if reason and status != "ok" else status)


def probe_short(result: Capability) -> str:
    """`yes`, `no`, `n/a`, with the deciding figure when there is one."""
    text = doc.text(result.result or "?")
    figures = result.figures or {}
    if "acknowledged" in figures:
        text += doc.text(f" ({figures.get('present')}/{figures['acknowledged']} kept)")
    elif "errors" in figures:
        text += doc.text(f" ({figures['errors']} errors)")
    return text


def round_cost(run: Run, backend: str) -> Figure | None:
    """The p50s of the five operations added, with the interval their intervals add up to:
    the cost of one request of each route."""
    figures = [ranking.p50_figure(o) if (o := run.data.op(backend, op)) else None for op in OPS]
    present = [f for f in figures if f is not None]
    return ranking.total(present) if len(present) == len(figures) else None


# ---------------------------------------------------------------- decision matrix


def matrix_rows(run: Run) -> list[labels.Row]:
    """The seed's options (the real system first, else a labelled Python equivalent), then a
    row for every backend in the results that no option names."""
    return labels.rows(run.entries())


EMOJI_WORDS = (("✅", "good:"), ("❌", "bad:"), ("⚠️", "caution:"))


def seed_words(text: str) -> str:
    """The seed's ✅ / ❌ / ⚠️ as words: emoji render as empty boxes where no emoji font is installed."""
    for emoji, word in EMOJI_WORDS:
        text = text.replace(emoji, word)
    return text


def _status_cell(run: Run, entry: BackendResult) -> Cell:
    """The status in a word (emulation marked); the reason in the tooltip and the detail tables."""
    text = entry.status + (" (emulated)" if labels.emulation(entry) else "")
    return Cell(text, MEASURED, run.link, f"{run.source} {run.data.where(entry)}.status",
                tip=f"{status_text(entry)}; {run.data.where(entry)}.status", md_link=False)


def _system_cells(row: labels.Row) -> list[Cell]:
    """The option and the backend (which says when it is a Python equivalent)."""
    option = row.option.removesuffix(f" — Python equivalent: {doc.code(row.backend)}")
    backend = doc.code(row.backend) + (" (Python equivalent)" if option != row.option else "")
    return [Cell(option), Cell(backend)]


def measured_rows(run: Run) -> list[labels.Row]:
    return [row for row in matrix_rows(run) if run.data.backend(row.backend) is not None]


def not_in_run(run: Run) -> Para:
    """The seed options of which nothing ran, on one line."""
    missing = [row for row in matrix_rows(run) if run.data.backend(row.backend) is None]
    if not missing:
        return Para("Every seed option has a system in this run.")
    names = "; ".join(f"{row.option.removeprefix('not in the seed: ')} ({doc.code(row.backend)})" for row in missing)
    return Para(f"Not in this run: {names}.")


def seed_table(run: Run) -> Table:
    rows = []
    for row in matrix_rows(run):
        entry = run.data.backend(row.backend)
        cells = [Cell(row.option), Cell(doc.code(row.backend)), Cell(entry.status if entry else NOT_IN_RUN)]
        for k in range(len(SEED_FACTORS)):
            if row.column is None:
                cells.append(Cell("not in the seed"))
            else:
                cells.append(Cell(seed_words(SEED_MATRIX[row.column][k]), DOCUMENTED))
        rows.append(cells)
    return Table(["option (seed)", "backend", "status in this run", *SEED_FACTORS], rows)


def p50_text(o: OpResult) -> str:
    """A p50 with its 95 % interval: "1.23 [1.20–1.27]"."""
    figure = ranking.p50_figure(o)
    return "–" if figure is None else ranking.fmt_interval(figure, fmt_ms)


def fmt_p50(value: float) -> str:
    """The matrix's p50: three significant figures (0.0426, 1.23, 12.3), whole ms from 100."""
    return f"{value:,.0f}" if value >= 100 else f"{value:#.3g}".rstrip(".")


def _span(low: int | None, high: int | None) -> str | None:
    if low is None or high is None:
        return None
    return f"{low:,}" if low == high else f"{low:,}–{high:,}"


def store_size(o: OpResult) -> str | None:
    """The store load_all returned, as recorded with the entry: "100 conv. / 2,000 msg", ranges when it varied."""
    conversations = _span(o.store_conversations_min, o.store_conversations_max)
    messages = _span(o.store_messages_min, o.store_messages_max)
    if conversations is None or messages is None:
        return None
    return f"{conversations} conv. / {messages} msg"


def latency_cell(run: Run, backend: str, op: str) -> Cell:
    """The p50 alone; its interval, p95, store size, errors and results-file key in the tooltip
    and in the op's detail table the cell links to."""
    o = run.data.op(backend, op)
    if o is None:
        return Cell("–")
    where = run.data.where(o)
    href = f"{LATENCY}#{lat_anchor(backend, op)}"
    if not o.n or o.p50_ms is None:
        return Cell(f"no samples ({o.errors} errors)", MEASURED, href, f"{run.source} {where}.n", md_link=False)
    tip = f"{op}: p50 {p50_text(o)} ms, p95 {fmt_ms(o.p95_ms)} ms, n {o.n:,}"
    if op == "load_all":
        tip += f"; store: {store_size(o) or 'size not recorded'}"
    if o.errors:
        tip += f"; {o.errors} errors"
    key = f"{run.source} {where}.p50_ms, {where}.p95_ms"
    text = fmt_p50(o.p50_ms) + (f" ({o.errors} err.)" if o.errors else "")
    return Cell(text, MEASURED, href, key, tip=f"{tip}; {key}", md_link=False)


def matrix_ops(run: Run) -> list[str]:
    """The workload's ops that some backend of this run measured (smoke runs no cold start)."""
    return [op for op in ALL_OPS if any(o.op == op for o in run.data.ops)]


def latency_table(run: Run) -> Table:
    ops = matrix_ops(run)
    rows, previous, entries = [], None, run.entries()
    for row in measured_rows(run):
        option, backend = _system_cells(row)
        shown = option.text
        if shown == previous:  # the option named once for its rows
            option = Cell("")
        previous = shown
        rows.append([option, backend, _status_cell(run, entries[row.backend])]
                    + [latency_cell(run, row.backend, op) for op in ops])
    return Table(["seed option", "backend", "status", *ops], rows, "matrix")


def probe_result(entry: BackendResult, probe: str) -> tuple[str, Capability] | None:
    """(the key it was recorded under, the result) of a probe, older files' key included."""
    caps = entry.capabilities or {}
    if probe in caps:
        return probe, caps[probe]
    legacy = LEGACY_PROBES.get(probe)
    if legacy and legacy[0] in caps:
        return legacy[0], caps[legacy[0]]
    return None


def capability_cell(run: Run, backend: str, probe: str) -> Cell:
    entry = run.data.backend(backend)
    if entry is None:
        return Cell("–")
    found = probe_result(entry, probe)
    if found is None:
        return Cell("not probed")
    key, result = found
    # The matrix's short form: "0 errors" goes to the tooltip; a cross-device "yes" from loopback says so.
    text = probe_short(result).removesuffix(" (0 errors)")
    if key != probe:
        text += f" ({LEGACY_PROBES[probe][1]})"
    tip = doc.plain_text(result.evidence or "")
    if probe == "cross_device" and result.result == "yes":
        if cross_device_basis(result) == "namespace":
            tip = f"client in another network namespace; {tip}"
        else:
            text, tip = text + " (loopback)", f"loopback only: reachable by URL + token from another process; {tip}"
    ref = f"{run.source} {run.data.where(entry)}.capabilities.{key}"
    return Cell(text, MEASURED, f"{LATENCY}#{cap_anchor(backend, key)}", ref, tip=f"{tip}; {ref}", md_link=False)


def writes_text(entry: BackendResult) -> str:
    """What the run's own content check found of its acknowledged writes: one lost, none of
    them lost, or unknown (the store was not checked: no record, or `lost` null; the status
    says why)."""
    writes = entry.writes or {}
    if writes.get("lost") is None or str(entry.checks.get("after_run")).startswith("not checked"):
        return "unknown: not checked"
    if writes["lost"]:
        return f"lost: {doc.text(writes['lost'][0])}"
    return f"none of {writes.get('acknowledged', 0):,} lost"


def writes_cell(run: Run, backend: str) -> Cell:
    entry = run.data.backend(backend)
    if entry is None:
        return Cell("–")
    key = f"{run.source} {run.data.where(entry)}.writes"
    return Cell(writes_text(entry), MEASURED, None, key, tip=key, md_link=False)


def probes_run(run: Run) -> list[tuple[str, str]]:
    """The probes some backend of this run has a result for (under an older key too)."""
    return [(p, label) for p, label in PROBES if any(probe_result(e, p) for e in run.data.backends)]


def capability_blocks(run: Run) -> list[Block]:
    probes = probes_run(run)
    rows = [[Cell(doc.code(row.backend)), writes_cell(run, row.backend)]
            + [capability_cell(run, row.backend, p) for p, _ in probes] for row in measured_rows(run)]
    unprobed = ", ".join(label for p, label in PROBES if (p, label) not in probes)
    table = Table(["backend", "acknowledged writes lost in the run", *(label for _, label in probes)], rows,
                  "matrix caps")
    unprobed_text = (f"Not probed in this run: {unprobed}." if probes else
                     "No capability probes in this run (`--probes`; the smoke profile runs none).")
    return [table, *([Para(unprobed_text)] if unprobed else []), Para(POWER_LOSS)]


def cross_device_basis(result: Capability | None) -> str | None:
    """Where the cross-device probe's client ran: "namespace" (another network namespace, its
    own address: another host as far as the network is concerned) or "loopback" (another
    process on this host; older results files are all loopback)."""
    if not result:
        return None
    return (result.figures or {}).get("client_network") or "loopback"


def seed_disagreements(run: Run) -> list[Block]:
    """Where this run's cross-device probe contradicts the seed's documented answer. A "yes"
    measured from another process on loopback shows reachability by URL + token only, never
    that another device can reach the store, so it is not called a contradiction."""
    items = []
    factor = SEED_FACTORS.index("Cross-device")
    entries = run.entries()
    for row in matrix_rows(run):
        if row.column is None or row.backend not in entries or \
                labels.representative(row.column, entries) != row.backend:
            continue
        result = (entries[row.backend].capabilities or {}).get("cross_device")
        measured = result.result if result else None
        if measured not in ("yes", "no"):
            continue
        documented = seed_words(SEED_MATRIX[row.column][factor])
        says_yes = "Yes" in documented
        link = f"[{doc.text(measured)}]({LATENCY}#{cap_anchor(row.backend, 'cross_device')})"
        who = (row.option if row.backend in labels.EQUIVALENT_OF
               else f"{row.option} → {labels.prose(row.backend, entries[row.backend])}")
        if measured == "yes" and cross_device_basis(result) == "loopback":
            if not says_yes:
                items.append(f"{who}: the seed says {documented}; measured: {link} only from another process "
                             "on this host's loopback, which "
                             "shows it is reachable by URL + token from another process, not from another device: "
                             "no evidence either way.")
            continue
        if says_yes != (measured == "yes"):
            note = " (the seed's * means: with Turso or another cloud provider)" if documented.endswith("*") else ""
            where = (" (a client in another network namespace; the server listens on loopback and a relay on the "
                     "namespace link forwarded to it, so this shows a client needs only the URL and token once the "
                     "server's port is reachable, not that it is exposed)") if measured == "yes" else ""
            items.append(f"{who}: the seed says {documented}{note}; measured: {link}{where}.")
    if not items:
        return [Para("The cross-device probe agrees with the seed for every row measured in this run.")]
    return [Bullets(items)]


def capability_evidence(run: Run) -> list[Block]:
    blocks: list[Block] = []
    for name, entry in run.entries().items():
        caps = entry.capabilities or {}
        if not caps:
            continue
        items, anchors = [], []
        for probe, label in PROBES:
            found = probe_result(entry, probe)
            if found is not None:
                key, result = found
                older = f" ({LEGACY_PROBES[probe][1]})" if key != probe else ""
                items.append(f"**{label}: {doc.text(result.result)}**{older}: {doc.text(result.evidence or '')} "
                             f"({doc.code(f'{run.data.where(entry)}.capabilities.{key}')})")
                anchors.append(cap_anchor(name, key))
        blocks += [Heading(3, doc.code(name)), Bullets(items, anchors)]
    return blocks or [Para("No capability probes in this results file (older files have none).")]


# ---------------------------------------------------------------- recommendation

PHASE_KINDS = {1: ("embedded", "api"), 2: ("remote", "server", "replica"), 3: ("orm",)}
PHASE_HEADS = {1: "Phase 1, single machine now", 2: "Phase 2, cross-device next", 3: "Phase 3, type safety later"}
APP = "the Next.js app"


@dataclass(frozen=True)
class Decision:
    """One phase's answer for one stack: the names it recommends (the leader and those tied
    with it; none when it cannot answer), how they tie, and the sentence."""

    stack: str  # "node" (the document's Next.js app) or "python"
    phase: int
    names: tuple[str, ...]
    ties: tuple[str, ...]  # per tied name: paired.TIE or paired.UNRESOLVED
    text: str
    others: tuple[paired.Comparison, ...] = ()  # every other candidate against the first name


Candidate = tuple[str, BackendResult, Figure]


def _ok_backends(run: Run) -> list[Candidate]:
    """Backends with status ok and all five operations measured, cheapest round first."""
    out = []
    for name, entry in run.entries().items():
        cost = round_cost(run, name)
        if entry.status == "ok" and cost is not None:
            out.append((name, entry, cost))
    return sorted(out, key=lambda t: t[2].value)


def _capability(entry: BackendResult, probe: str) -> str | None:
    found = probe_result(entry, probe)
    return found[1].result if found else None


def _cold(run: Run, name: str) -> str:
    found = run.data.op(name, COLD_START)
    return f"; cold start p50 {p50_text(found)} ms" if found and found.n else ""


def _chosen(run: Run, candidates: list[Candidate], why: str) -> tuple[paired.Ranking, str]:
    """The cheapest candidate by paired comparison (bench/reports/paired.py), or the candidates
    that tie with it: within the practical margin, or not resolved, and which."""
    entries = {name: entry for name, entry, _ in candidates}
    costs = {name: cost for name, _, cost in candidates}
    ranked = paired.rank(run.data, [name for name, _, _ in candidates], costs)
    assert ranked is not None  # candidates is never empty here
    leader = ranked.leader
    cost = f"{ranking.fmt_interval(costs[leader], fmt_ms)} ms for one of each op{_cold(run, leader)}"
    if not ranked.tied:
        runner = f"; {ranked.others[0].inverse().text()}{_blocks(ranked.others[0])}" if ranked.others else ""
        return ranked, f"{labels.prose(leader, entries[leader])}, {why}: {cost}{runner}."
    names = [labels.prose(n, entries[n]) for n in [leader] + [c.backend for c in ranked.tied]]
    reasons = "; ".join(_tie_reason(c) for c in ranked.tied)
    return ranked, f"{', '.join(names[:-1])} and {names[-1]} tie ({why}; {doc.code(leader)} {cost}): {reasons}."


def _blocks(c: paired.Comparison) -> str:
    return f" (paired over {c.blocks} blocks of the interleaving)" if c.low is not None else ""


def _tie_reason(c: paired.Comparison) -> str:
    if c.outcome == paired.TIE:
        return f"{c.text()}{_blocks(c)}, within the ±{paired.MARGIN * 100:.0f} % margin"
    if c.estimate is None:
        return c.note
    return (f"{c.text()}{_blocks(c)}: cannot be resolved (the interval straddles 1 and reaches past the "
            f"±{paired.MARGIN * 100:.0f} % margin)")


def _thin(run: Run, names: Sequence[str]) -> str:
    """Which figures of these backends have fewer than stats.ENOUGH_SAMPLES samples or
    come from fewer than two processes, and why (their share of the rounds)."""
    found = []
    for name in names:
        short = [o for op in OPS if (o := run.data.op(name, op)) and
                 (o.n < stats.ENOUGH_SAMPLES or (o.processes or 0) < 2)]
        if not short:
            continue
        rounds = (run.data.backend(name) or BackendResult(name=name, status="?")).rounds or {}
        every = rounds.get("load_every", 1)
        share = (f" (it ran {rounds['timed']} rounds, {rounds.get('fraction', 1):g} of the profile's, load_all in "
                 f"{'every round' if every == 1 else f'one round in {every}'})" if "timed" in rounds else "")
        shapes = {(o.n, o.processes) for o in short}
        figures = (f"every op {_samples(short[0])}" if len(short) == len(OPS) and len(shapes) == 1
                   else ", ".join(f"{o.op} {_samples(o)}" for o in short))
        found.append(f"{doc.code(name)} {figures}{share}")
    if not found:
        return ""
    return (f" Thin figures (fewer than {stats.ENOUGH_SAMPLES} samples or from one process): "
            + "; ".join(found) + ".")


def _samples(o: OpResult) -> str:
    processes = "unrecorded processes" if o.processes is None else \
        f"{o.processes} process{'es' if o.processes != 1 else ''}"
    return f"{o.n} samples from {processes}"


def _named(ranked: paired.Ranking) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return (ranked.leader, *(c.backend for c in ranked.tied)), tuple(c.outcome for c in ranked.tied)


def _decision(run: Run, stack: str, phase: int, candidates: list[Candidate], why: str,
              extra: Callable[[paired.Ranking], str] = lambda ranked: "") -> Decision:
    ranked, text = _chosen(run, candidates, why)
    names, ties = _named(ranked)
    text += (extra(ranked) + _thin(run, mine_names(candidates))  # every candidate's figures entered the ranking
             + outliers.text(run.data, names, OPS))
    return Decision(stack, phase, names, ties, text, tuple(ranked.others))


def _phase1(run: Run, stack: str, ok: list[Candidate]) -> Decision | str:
    """The single-machine answer: the cheapest whose acknowledged writes were kept where the
    process-crash probe ran (no durability claim where it did not, and none about power loss)."""
    kept = [t for t in ok if _capability(t[1], "process_crash") != "no"]
    if not kept:
        return "no backend ran ok with all five operations measured and its acknowledged writes kept"
    probed = [t[0] for t in kept if _capability(t[1], "process_crash") == "yes"]
    crash = "kept their acknowledged writes when the process holding the data was killed (process crash)"
    if len(probed) == len(kept):
        why = f"the lowest cost among ok backends that {crash}"
    elif probed:
        why = (f"the lowest cost among ok backends that {crash} where probed "
               f"(not probed: {', '.join(doc.code(t[0]) for t in kept if t[0] not in probed)})")
    else:
        why = "the lowest cost among ok backends; the process-crash probe did not run in this run"
    return _decision(run, stack, 1, kept, why, _current_design if stack == "node" else lambda ranked: "")


def _current_design(ranked: paired.Ranking) -> str:
    """The document's current design against the phase-1 choice, when it is not the choice."""
    current = next((c for c in ranked.others if c.backend == labels.CURRENT_DESIGN and not c.ties), None)
    return f" The document's current design: {current.text()}{_blocks(current)}." if current else ""


def _phase2(run: Run, stack: str, ok: list[Candidate]) -> Decision | str:
    remote = [t for t in ok if _capability(t[1], "cross_device") != "no"]
    if not remote:
        return "no backend in it was reached by a second client with only a URL and token (cross-device probe)"
    probed = [t for t in remote if _capability(t[1], "cross_device") == "yes"]
    if not probed:
        return _decision(run, stack, 2, remote, "the lowest cost among the cross-device architectures; "
                         "reachability was not probed in this run")
    # Enforced auth first; among those, the cheapest (ties stay ties).
    authed = [t for t in probed if _capability(t[1], "auth_enforced") == "yes"] or probed
    namespace = all(cross_device_basis((t[1].capabilities or {}).get("cross_device")) == "namespace"
                    for t in authed)
    reached = ("a client in another network namespace reached with only a URL and token" if namespace
               else "a second process reached with only a URL and token (on loopback: not shown from another device)")
    auth = "enforced auth" if authed is not probed else "none of them enforced auth"
    return _decision(run, stack, 2, authed, f"the lowest cost among backends {reached}, {auth}")


def _phase3(run: Run, stack: str, ok: list[Candidate], cross: Sequence[str]) -> Decision | str:
    """The typed layer on the phase-2 choice: over one of `cross` (the cross-device
    candidates) first, else any."""
    if not ok:
        return "no typed query layer (kind `orm`) ran ok"
    over = [t for t in ok if t[1].overhead_vs in cross or _capability(t[1], "cross_device") == "yes"]
    on = "over the cross-device store" if over else "(none ran over the cross-device store: among the local ones)"
    decision = _decision(run, stack, 3, over or ok, f"the lowest-cost typed query layer {on} (type safety itself "
                         "is documented, not measured)")
    name = decision.names[0]
    ratios = [(o.overhead_ratio, o.overhead_vs or "raw driver")
              for o in run.data.indexed_ops() if o.backend == name and o.overhead_ratio]
    if ratios:
        values = [r for r, _ in ratios]
        text = (decision.text + f" {doc.code(name)} costs {min(values):.1f}–{max(values):.1f}× the p50 of "
                f"{doc.code(ratios[0][1])}.")
        decision = replace(decision, text=text)
    return decision


def _in_stack(stack: str, name: str, entry: BackendResult, phase: int) -> bool:
    if stack == "node":
        return labels.APP_STACK.get(name) == phase
    return name not in labels.APP_STACK and entry.kind in PHASE_KINDS[phase]


def _missing(run: Run, phase: int, answered: Sequence[str] = ()) -> str:
    """The Node app's systems of a phase that are not in its answer, each with its status."""
    entries = run.entries()
    systems = [n for n, p in labels.APP_STACK.items() if p == phase and n not in answered]
    return "; ".join(f"{doc.code(n)} {status_text(entries[n]) if n in entries else NOT_IN_RUN}" for n in systems)


def decisions(run: Run) -> list[Decision | tuple[str, int, str]]:
    """Each phase's decision for the Node app, then for a Python app; a phase that cannot be
    answered is (stack, phase, why not)."""
    ok = _ok_backends(run)
    out: list[Decision | tuple[str, int, str]] = []
    for stack in ("node", "python"):
        cross: list[str] = []
        for phase in (1, 2, 3):
            mine = [t for t in ok if _in_stack(stack, t[0], t[1], phase)]
            if phase == 2:
                cross = [t[0] for t in mine]
            if not mine:
                out.append((stack, phase, f"none of its systems of this phase ran ok with all five operations "
                                          f"measured ({_missing(run, phase)})" if stack == "node" else
                            f"no Python backend of this phase (kind {' or '.join(PHASE_KINDS[phase])}) ran ok "
                            "with all five operations measured"))
                continue
            found = (_phase1(run, stack, mine) if phase == 1 else _phase2(run, stack, mine) if phase == 2
                     else _phase3(run, stack, mine, cross))
            if isinstance(found, Decision) and stack == "node" and (absent := _missing(run, phase, mine_names(mine))):
                found = replace(found, text=f"{found.text} Based on {', '.join(doc.code(n) for n in mine_names(mine))} "
                                            f"only; not in this answer: {absent}.")
            out.append(found if isinstance(found, Decision) else (stack, phase, found))
    return out


def mine_names(candidates: Sequence[Candidate]) -> list[str]:
    return [name for name, _, _ in candidates]


def _node_line(found: Decision | tuple[str, int, str]) -> str:
    if isinstance(found, Decision):
        return f"**{PHASE_HEADS[found.phase]}, for {APP}:** {found.text}"
    _, phase, why = found
    return (f"**{PHASE_HEADS[phase]}, for {APP}:** not answered: {why}. A Python client is not the app's "
            "system, so its figures (the line for a Python app) do not answer this phase.")


def _python_line(found: list[Decision | tuple[str, int, str]]) -> str:
    parts = [f"{PHASE_HEADS[f.phase].split(',')[0]}: {f.text}" if isinstance(f, Decision)
             else f"{PHASE_HEADS[f[1]].split(',')[0]}: {f[2]}." for f in found]
    return "**For a Python app** (the Python clients measured in this run): " + " ".join(parts)


def recommend(run: Run) -> list[str]:
    """The document's phases for its Next.js app, among its Node and browser systems; then one
    line for a Python app; then the rules. Chosen from this run's measurements."""
    found = decisions(run)
    node = [f for f in found if (f.stack if isinstance(f, Decision) else f[0]) == "node"]
    python = [f for f in found if f not in node]
    return [*(_node_line(f) for f in node), _python_line(python),
            "Rules: cost = the five operations' p50s added (one request of each route), among backends with status "
            "ok; its interval adds the ops' 95 % intervals (widened to the between-process spread where recorded). "
            "Two backends are ranked by paired comparison: blocks of interleaving cycles in which both ran (measured "
            "at the same time), per block the ratio of their costs, and the ratios' mean with a Student-t interval "
            f"(95 %, Bonferroni over the line's comparisons; the `ab` gate's verdict). They tie when that interval "
            f"lies within ±{paired.MARGIN * 100:.0f} % (the practical margin: the `ab` gate's minimum effect on p50) "
            f"or when it cannot be resolved; each tie says which. Every figure of a named backend needs "
            f"{stats.ENOUGH_SAMPLES} samples from two processes, or the line names it as thin. The Next.js app's "
            "lines choose among its own Node and browser systems only; Python equivalents answer the Python line. "
            "Failures are visible in the tables below."]


# ---------------------------------------------------------------- documents


def run_facts(run: Run) -> str:
    r = run.data.run
    host = r.host or Host()
    params = r.params or {}
    sizes = doc.text(", ".join(f"{k} {v}" for k, v in params.items()
                               if k != "settings" and v not in (None, False, [], {})))
    known = {name: doc.text(_known(value)) for name, value in (
        ("started", r.started_at), ("profile", r.profile), ("cpu", host.cpu_model), ("cores", host.cores),
        ("python", host.python))}
    return (f"Source: {doc.code(run.source)} (run {doc.code(_known(r.id))}, started {known['started']}, "
            f"profile {known['profile']}{', ' + sizes if sizes else ''}; {known['cpu']}, "
            f"{known['cores']} cores, Python {known['python']}; "
            f"{'complete' if run.data.complete else 'INCOMPLETE: the run did not finish'}).")


def _known(value: object) -> str:
    return "?" if value is None else str(value)


LEGEND = (f"Measured; lower is faster; “–”: not measured. Intervals, p95, results-file keys: the cell's tooltip and "
          f"[{LATENCY}]({LATENCY}).")


def matrix_blocks(run: Run) -> list[Block]:
    """The answer first, then the compact matrix; the evidence is in `detail_blocks`."""
    return [
        Heading(1, "Decision matrix"),
        Answer(recommend(run), "recommendation"),
        Para(run_facts(run)),
        Heading(2, "Measured p50 per route (ms)", "matrix-latency"),
        Para(LEGEND),
        latency_table(run),
        not_in_run(run),
        Heading(2, "Measured capabilities", "matrix-capabilities"),
        *capability_blocks(run),
        Para(f"Evidence, where the measurements disagree with the seed, and the seed's documented factors: "
             f"[{LATENCY}]({LATENCY})."),
    ]


def evidence_blocks(run: Run) -> list[Block]:
    """What the matrix rests on, collapsed in the page: the seed's factors and the probes' evidence."""
    return [
        Details("Where the measurements disagree with the seed", seed_disagreements(run), "disagreements"),
        Details("The seed's factors (documented, not measured)", [
            Para("From `database-persistence-strategy.md` (2025-11-04), verbatim; "
                 "* = with Turso or another cloud provider."),
            seed_table(run)], "seed"),
        Details("Capability evidence (what each probe did and saw)", capability_evidence(run), "capability-evidence"),
    ]


def _sampling_text(o: OpResult) -> str:
    """How the samples were taken, from the optional fields: processes, their spread, why sampling stopped."""
    parts = []
    if o.processes:
        parts.append(f"{o.processes} processes")
    if o.between_process_cv is not None:
        parts.append(f"between-process CV {o.between_process_cv * 100:.1f} %")
    if o.process_p50_ms:
        parts.append("p50s " + ", ".join(fmt_ms(v) for v in o.process_p50_ms))
    if o.stop_reason:
        parts.append(f"stopped: {doc.text(o.stop_reason)}")
    return "; ".join(parts) or "–"


def op_table(run: Run, op: str) -> Table:
    ops = [o for o in run.data.indexed_ops() if o.op == op]
    with_ratio = any(o.overhead_ratio is not None for o in ops)
    with_sampling = any(_sampling_text(o) != "–" for o in ops)
    headers = ["backend", "status", "emulated", "n", "errors", "p50 [95 % CI]", "p90", "p95", "p99", "max", "ops/s",
               "round trips"]
    if op == "load_all":
        headers.append("store load_all returned")
    if with_sampling:
        headers.append("sampling")
    if with_ratio:
        headers.append("vs raw driver (p50 ratio)")
    rows = []
    for name, entry in run.entries().items():
        o = run.data.op(name, op)
        if o is None:
            continue
        row = [Cell(labels.prose(name), anchor=lat_anchor(name, op)), Cell(status_text(entry)),
               Cell(emulated_text(entry)), Cell(fmt_num(o.n)), Cell(fmt_num(o.errors)), Cell(p50_text(o))]
        row += [Cell(fmt_ms(v)) for v in (o.p90_ms, o.p95_ms, o.p99_ms, o.max_ms)]
        row.append(Cell(fmt_num(o.ops_per_s, 0)))
        trips = o.round_trips
        row.append(Cell(fmt_num(trips, 1) if trips is not None else "not counted"))
        if op == "load_all":
            row.append(Cell(store_size(o) or "not recorded (older results file)"))
        if with_sampling:
            row.append(Cell(_sampling_text(o)))
        if with_ratio:
            ratio = o.overhead_ratio
            row.append(Cell(doc.text(f"{ratio:.2f}× {o.overhead_vs or ''}".strip()) if ratio is not None else "–"))
        row.append(Cell(doc.code(run.data.where(o))))
        rows.append(row)
    return Table(headers + ["results key"], rows)


def outlier_blocks(run: Run, op: str) -> list[Block]:
    """Under an op's table: each p50 more than 3× its closest peer's (same op and kind), with its reason."""
    found = outliers.of_op(run.data, op)
    return [Bullets([f"Outlier: {f.text()}." for f in found])] if found else []


def overhead_blocks(run: Run) -> list[Block]:
    o = run.data.overhead
    if not o:
        return [Para("This results file has no harness-overhead measurement.")]
    return [Para(f"A no-op timed through the same loop costs p50 {o.p50_ns} ns, p99 {o.p99_ns} ns, "
                 f"min {o.min_ns} ns (n {_known(o.n)}): differences smaller than this are the harness, "
                 "not the backend (key `overhead`).")]


def seed_comparison(run: Run) -> Table:
    names = run.backend_names()
    rows = []
    for op, figure in SEED_FIGURES:
        row = [Cell(doc.code(op)), Cell(figure, DOCUMENTED)]
        for name in names:
            o = run.data.op(name, op)
            if o and o.n:
                row.append(Cell(p50_text(o), MEASURED, f"{LATENCY}#{lat_anchor(name, op)}",
                                f"{run.source} {run.data.where(o)}.p50_ms"))
            else:
                row.append(Cell("–"))
        rows.append(row)
    return Table(["operation", "seed (its Next.js app over HTTP, documented)",
                  *(f"{labels.prose(n)} p50 \\[95 % CI\\] ms" for n in names)], rows)


def _network_rtt(entry: BackendResult, settings: dict) -> tuple[float | None, str]:
    """The round-trip time inside this backend's measured p50s, or None with why it is unknown."""
    if entry.emulated:
        return float(settings.get("rtt_ms") or 0), "emulated"
    url = ((entry.target or {}).get("url")) or ""
    host = urlsplit(url).hostname if url else None
    if host is None or host in ("127.0.0.1", "localhost", "::1"):
        return 0.0, "loopback"  # a loopback round trip is tens of µs: left in the local figure
    return None, f"it ran over a real network to {host}, whose round-trip time was not measured"


def local_p50(p50: float, trips: float, rtt: float | None, why: str) -> tuple[float | None, str]:
    """The p50 without the network's round trips, or None and the reason it cannot be derived."""
    if rtt is None:
        return None, f"not derivable: {why}"
    local = p50 - trips * rtt
    if local <= 0:
        return None, (f"not derivable: the p50 ({fmt_ms(p50)} ms) is not more than {fmt_num(trips, 1)} round trips × "
                      f"{rtt:g} ms {why} RTT, so the counted trips overlap (pipelined requests share a round trip) "
                      "and the model's one-RTT-per-trip assumption does not hold")
    return local, fmt_ms(local)


def rtt_model(run: Run) -> list[Block]:
    """What each op would cost at other round-trip times: a labelled model, not a measurement."""
    settings = (run.data.run.params or {}).get("settings") or {}
    rows = []
    for name, entry in run.entries().items():
        rtt, why = _network_rtt(entry, settings)
        for op in OPS:
            o = run.data.op(name, op)
            if not o or o.round_trips is None or o.p50_ms is None:
                continue
            local, text = local_p50(o.p50_ms, o.round_trips, rtt, why)
            model = [Cell("–" if local is None else fmt_ms(local + o.round_trips * r)) for r in MODEL_RTTS_MS]
            rows.append([Cell(labels.prose(name, entry)), Cell(doc.code(op)), Cell(fmt_num(o.round_trips, 1)),
                         Cell(text)] + model)
    if not rows:
        return [Para("No backend in this run counts network round trips (embedded backends make none).")]
    return [Para("Modelled, not measured: p50 service time without the network's round trips (the emulated delay "
                 "removed; loopback's tens of µs left in) + round trips × RTT. Use it to read the network backends' "
                 "numbers for your own region. Where the local figure cannot be derived, the row says why."),
            Table(["backend", "op", "round trips", "local p50 ms", *(f"at {r} ms RTT" for r in MODEL_RTTS_MS)], rows)]


def error_blocks(run: Run) -> list[Block]:
    items = [f"{doc.code(o.backend)} {doc.code(o.op)}: {o.errors} errors, e.g. "
             f"{doc.text('; '.join(o.error_examples or []) or '–')}"
             for o in run.data.ops if o.errors]
    return [Bullets(items)] if items else [Para("No operation failed.")]


def _figure(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_figure(v)}" for k, v in value.items())
    return str(value)


def observation_blocks(run: Run) -> list[Block]:
    """What backends measured about themselves after the run (replication lag,
    read-your-writes), each value with the results-file key it comes from."""
    rows = []
    for i, b in enumerate(run.data.backends):
        for name, value in (b.observations or {}).items():
            rows.append([Cell(doc.code(b.name)), Cell(doc.code(name)),
                         Cell(doc.text(_figure(value)), MEASURED, run.link,
                              f"{run.source} backends[{i}].observations.{name}")])
    if not rows:
        return [Para("No backend in this run records observations.")]
    return [Table(["backend", "observation", "measured"], rows)]


def fitted_over(sweep: Sweep, series: dict) -> str:
    """The sizes a growth exponent was fitted over (those with a measured p50, as `fit_growth` uses)."""
    sizes = [size for size, p50 in zip(sweep.values, series.get("p50_ms") or []) if p50 is not None and p50 > 0]
    if len(set(sizes)) < 2:
        return f"not fitted: {len(sizes)} measured size(s)"
    return f"{min(sizes):,}–{max(sizes):,} ({len(sizes)} sizes: {', '.join(f'{v:,}' for v in sizes)})"


def sweep_blocks(run: Run) -> list[Block]:
    """Growth exponents (p50 ~ size^b) and where load_all stops being viable, per sweep."""
    blocks: list[Block] = []
    for k, sweep in enumerate(run.data.sweeps or []):
        rows = []
        for j, b in enumerate(sweep.backends):
            for op, series in b.ops.items():
                exponent = series.get("growth_exponent")
                rows.append([Cell(doc.code(b.backend)), Cell(doc.code(op)),
                             Cell("–" if exponent is None else f"{exponent:.2f}", MEASURED, run.link,
                                  f"{run.source} sweeps[{k}].backends[{j}].ops.{op}.growth_exponent"),
                             Cell(doc.text(fitted_over(sweep, series)))])
            limit = b.load_all_limit or {}
            rows.append([Cell(doc.code(b.backend)), Cell(f"load_all passes {sweep.load_all_limit_ms:g} ms at"),
                         Cell(doc.text(f"{limit.get('size') or '–'} {sweep.param} ({limit.get('basis', '–')})"),
                              MEASURED, run.link, f"{run.source} sweeps[{k}].backends[{j}].load_all_limit"), Cell("")])
        fixed = doc.text(", ".join(f"{key} {value}" for key, value in (sweep.fixed or {}).items()))
        param = doc.text(sweep.param)
        blocks += [Heading(3, doc.text(f"{sweep.param} = {', '.join(map(str, sweep.values))}")),
                   Para(f"Each exponent is the least-squares slope of log p50 on log {param} over the sizes "
                        "named in its row (the measured points; a failed point is left out)"
                        f"{', at ' + fixed if fixed else ''}. "
                        "It describes that range only, not sizes beyond it."),
                   Table(["backend", "op", "growth exponent b (p50 ∝ size^b)", f"fitted over {param}"], rows)]
    return blocks


def comparison_blocks(runs: list[Run]) -> list[Block]:
    if len(runs) < 2:
        return []
    names = list(dict.fromkeys(n for r in runs for n in r.backend_names()))
    rows = []
    for name in names:
        for op in op_names([r.data for r in runs]):
            cells = []
            for r in runs:
                found = r.data.op(name, op)
                cells.append(Cell(p50_text(found), MEASURED, r.link, f"{r.source} {r.data.where(found)}.p50_ms")
                             if found else Cell("–"))
            if any(c.text != "–" for c in cells):
                rows.append([Cell(labels.prose(name)), Cell(doc.code(op)), *cells])
    return [Heading(2, "Runs compared: p50 [95 % CI] ms", "comparison"),
            Bullets([f"run {k + 1}: {doc.text(r.label())}" for k, r in enumerate(runs)]),
            Table(["backend", "op", *(f"run {k + 1}" for k in range(len(runs)))], rows),
            Image("comparison.png", "p50 per operation across the given runs")]


def plot_blocks(plots: list[tuple[str, str]]) -> list[Block]:
    images = [Image(file, caption) for file, caption in plots if file != "comparison.png"]
    return [Heading(2, "Plots", "plots"), *images]


def detail_blocks(runs: list[Run]) -> list[Block]:
    """Everything behind the matrix, one collapsible section each: per-op tables (with every
    figure's results-file key), the seed's figures and claims, the round-trip model, errors."""
    run = runs[-1]
    per_op = [Details(f"{doc.code(op)}: every percentile, interval and results-file key",
                      [op_table(run, op), *outlier_blocks(run, op)],
                      doc.slug(f"op-{op}"), level=3) for op in op_names([run.data])]
    blocks: list[Block] = [
        Details("Per-operation detail", [
            Para("Milliseconds, nearest-rank percentiles (every value is a measured sample). "
                 "ops/s is single-client service throughput. Emulated conditions are labelled."), *per_op],
                "latency-detail"),
        *evidence_blocks(run),
        Details("Harness overhead floor", overhead_blocks(run), "overhead"),
        Details("The seed's figures beside ours", [
            Para("The seed's figures are for its Next.js app (browser → API route → libSQL file); ours are "
                 "store-level. `cold_start` (fresh process: import, open, first load) is its “with compilation” "
                 "case, `load_all` its cached one; the `api-routes` row, when present, is the like-for-like one."),
            seed_comparison(run), *claims.claims_blocks(run)], "seed-figures"),
        Details("Round-trip model (modelled, not measured)", rtt_model(run), "rtt-model"),
        Details("Errors", error_blocks(run), "errors"),
        Details("Backend observations", observation_blocks(run), "observations"),
    ]
    if run.data.sweeps:
        blocks.append(Details("Data-size sweeps", sweep_blocks(run), "sweeps"))
    return blocks + comparison_blocks(runs)


def latency_blocks(runs: list[Run], plots: list[tuple[str, str]]) -> list[Block]:
    """The detail document (latency.md): the plots, then everything the matrix rests on."""
    return [Heading(1, "Latency and evidence"), Para(run_facts(runs[-1])), *plot_blocks(plots), *detail_blocks(runs)]


def write_reports(paths: Sequence[str | Path], out: Path) -> list[Path]:
    """Render every report for the given results files (the last is the current run)."""
    return render(load_runs(paths, out), out)


def render(runs: list[Run], out: Path) -> list[Path]:
    """Write the reports for loaded runs into `out`; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    plots = plots_mod.write_plots([r.data for r in runs], [r.source for r in runs], out)
    matrix, latency = matrix_blocks(runs[-1]), latency_blocks(runs, plots)
    written = []
    for name, blocks in ((MATRIX, matrix), (LATENCY, latency)):
        path = out / name
        path.write_text(doc.render_markdown(blocks, name), encoding="utf-8")
        written.append(path)
    # The page: the answer and the matrix, the plots, then the evidence collapsed.
    page = doc.render_html("storebench report", [("decision-matrix", matrix), ("figures", plot_blocks(plots)),
                                                 ("evidence", detail_blocks(runs))], out)
    (out / INDEX).write_text(page, encoding="utf-8")
    written.append(out / INDEX)
    return written + [out / file for file, _ in plots]
