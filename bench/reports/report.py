"""`storebench report`: the decision matrix, the latency report, plots and one HTML page,
rendered from results files and nothing else (a pure function of the data).

Every number shown comes from a results file; a measured cell links to its evidence and
names the results-file key it was read from. Seed-document facts are shown as documented,
never mixed up with measurements. Optional keys (round_trips, capabilities,
overhead_ratio, samples_ns …) may be missing: older files still render.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from storebench.core.workload import ALL_OPS, COLD_START, OPS
from storebench.model.pytest_benchmark_json import load_any
from storebench.model.results import BackendResult, Capability, Host, OpResult, Results, Sweep
from storebench.reports import claims, labels, ranking
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
          ("crash_durability", "crash durability"), ("concurrent_writers", "concurrent writers"),
          ("online_backup", "online backup"))
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


def capability_cell(run: Run, backend: str, probe: str) -> Cell:
    entry = run.data.backend(backend)
    if entry is None:
        return Cell("–")
    result = (entry.capabilities or {}).get(probe)
    if result is None:
        return Cell("not probed")
    # The matrix's short form: "0 errors" goes to the tooltip; a cross-device "yes" from loopback says so.
    text = probe_short(result).removesuffix(" (0 errors)")
    tip = doc.plain_text(result.evidence or "")
    if probe == "cross_device" and result.result == "yes":
        if cross_device_basis(result) == "namespace":
            tip = f"client in another network namespace; {tip}"
        else:
            text, tip = text + " (loopback)", f"loopback only: reachable by URL + token from another process; {tip}"
    key = f"{run.source} {run.data.where(entry)}.capabilities.{probe}"
    return Cell(text, MEASURED, f"{LATENCY}#{cap_anchor(backend, probe)}", key, tip=f"{tip}; {key}", md_link=False)


def probes_run(run: Run) -> list[tuple[str, str]]:
    """The probes some backend of this run has a result for."""
    return [(p, label) for p, label in PROBES if any(p in (e.capabilities or {}) for e in run.data.backends)]


def capability_blocks(run: Run) -> list[Block]:
    probes = probes_run(run)
    if not probes:
        return [Para("No capability probes in this run (`--probes`; the smoke profile runs none).")]
    rows = [[Cell(doc.code(row.backend))] + [capability_cell(run, row.backend, p) for p, _ in probes]
            for row in measured_rows(run)]
    unprobed = ", ".join(label for p, label in PROBES if (p, label) not in probes)
    return [Table(["backend", *(label for _, label in probes)], rows, "matrix caps"),
            *([Para(f"Not probed in this run: {unprobed}.")] if unprobed else [])]


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
            if probe in caps:
                items.append(f"**{label}: {doc.text(caps[probe].result)}**: {doc.text(caps[probe].evidence or '')} "
                             f"({doc.code(f'{run.data.where(entry)}.capabilities.{probe}')})")
                anchors.append(cap_anchor(name, probe))
        blocks += [Heading(3, doc.code(name)), Bullets(items, anchors)]
    return blocks or [Para("No capability probes in this results file (older files have none).")]


# ---------------------------------------------------------------- recommendation


def _ok_backends(run: Run) -> list[tuple[str, BackendResult, Figure]]:
    """Backends with status ok and all five operations measured, cheapest round first."""
    out = []
    for name, entry in run.entries().items():
        cost = round_cost(run, name)
        if entry.status == "ok" and cost is not None:
            out.append((name, entry, cost))
    return sorted(out, key=lambda t: t[2].value)


def _capability(entry: BackendResult, probe: str) -> str | None:
    found = (entry.capabilities or {}).get(probe)
    return found.result if found else None


def _cold(run: Run, name: str) -> str:
    found = run.data.op(name, COLD_START)
    return f"; cold start p50 {p50_text(found)} ms" if found and found.n else ""


def _chosen(run: Run, candidates: list[tuple[str, BackendResult, Figure]], why: str) -> str:
    """The cheapest candidate, or the candidates that tie with it within their spread."""
    tied = ranking.leaders([(name, cost) for name, _, cost in candidates])
    entries = {name: entry for name, entry, _ in candidates}
    if len(tied) == 1:
        name, cost = tied[0]
        return (f"{labels.prose(name, entries[name])}, {why}: {ranking.fmt_interval(cost, fmt_ms)} ms "
                f"for one of each op{_cold(run, name)}.")
    names = [labels.prose(n, entries[n]) for n, _ in tied]
    costs = "; ".join(f"{doc.code(n)} {ranking.fmt_interval(c, fmt_ms)} ms" for n, c in tied)
    return (f"{', '.join(names[:-1])} and {names[-1]} tie within {ranking.tie_spread(tied)} ({why}; their "
            f"per-round costs' 95 % intervals overlap, so the order between them is noise): {costs}.")


def _phase1(run: Run, ok: list[tuple[str, BackendResult, Figure]]) -> str:
    head = "**Phase 1, single machine now:**"
    durable = [t for t in ok if _capability(t[1], "crash_durability") in ("yes", None)]
    if not durable:
        return f"{head} no backend ran ok with all five operations measured and its acknowledged writes kept."
    probed = all(_capability(t[1], "crash_durability") == "yes" for t in durable)
    kept = ("whose acknowledged writes survived a killed writer" if probed
            else "whose acknowledged writes survived a killed writer where probed (not all were)")
    text = f"{head} " + _chosen(run, durable, f"the lowest cost among ok backends {kept}")
    current = round_cost(run, "api-routes")
    name, _, cost = durable[0]
    if current is not None and name != "api-routes":
        text += (f" The seed's current design, {labels.prose('api-routes')}, costs "
                 f"{ranking.fmt_interval(current, fmt_ms)} ms ({current.value / cost.value:.1f}× the cheapest).")
    return text


def _phase2(run: Run, ok: list[tuple[str, BackendResult, Figure]]) -> str:
    head = "**Phase 2, cross-device next:**"
    remote = [t for t in ok if _capability(t[1], "cross_device") == "yes"]
    if not remote:
        return (f"{head} no backend in this run was reached by a second client with only a URL and token "
                "(cross-device probe = yes); run the server backends to decide this phase.")
    # Enforced auth first; among those, the cheapest (ties within the spread stay ties).
    authed = [t for t in remote if _capability(t[1], "auth_enforced") == "yes"] or remote
    namespace = all(cross_device_basis((t[1].capabilities or {}).get("cross_device")) == "namespace"
                    for t in authed)
    reached = ("a client in another network namespace reached with only a URL and token" if namespace
               else "a second process reached with only a URL and token (on loopback: not shown from another device)")
    auth = "enforced auth" if authed is not remote else "none of them enforced auth"
    return f"{head} " + _chosen(run, authed, f"the lowest cost among backends {reached}, {auth}")


def _phase3(run: Run, ok: list[tuple[str, BackendResult, Figure]]) -> str:
    head = "**Phase 3, type safety later:**"
    # The seed's phase 3 is a typed layer over the cross-device store, so reachable ones come first.
    typed = [t for t in ok if t[1].kind == "orm"]
    if not typed:
        return f"{head} no typed query layer (kind `orm`) ran ok in this run."
    reachable = [t for t in typed if _capability(t[1], "cross_device") == "yes"] or typed
    text = f"{head} " + _chosen(run, reachable, "the lowest-cost typed query layer (kind `orm`; type safety itself "
                                "is documented, not measured), cross-device first (here: "
                                f"{_capability(reachable[0][1], 'cross_device') or 'not probed'})")
    name = reachable[0][0]
    ratios = [(o.overhead_ratio, o.overhead_vs or "raw driver")
              for o in run.data.indexed_ops() if o.backend == name and o.overhead_ratio]
    if ratios:
        values = [r for r, _ in ratios]
        text += f" `{name}` costs {min(values):.1f}–{max(values):.1f}× the p50 of `{ratios[0][1]}`."
    return text


def recommend(run: Run) -> list[str]:
    """One sentence per seed phase, chosen from this run's measurements by stated rules."""
    ok = _ok_backends(run)
    return [_phase1(run, ok), _phase2(run, ok), _phase3(run, ok),
            "Rules: cost = the five operations' p50s added (one request of each route), lowest first, among "
            "backends with status ok; its interval adds the ops' 95 % intervals (widened to the between-process "
            "spread where recorded). Backends whose intervals overlap the cheapest one's tie: the order between "
            "them is within the noise. Failures are visible in the tables below."]


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
    per_op = [Details(f"{doc.code(op)}: every percentile, interval and results-file key", [op_table(run, op)],
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
