"""`storebench report`: the decision matrix, the latency report, plots and one HTML page,
rendered from results files and nothing else (a pure function of the data).

Every number shown comes from a results file; a measured cell links to its evidence and
names the results-file key it was read from. Seed-document facts are shown as documented,
never mixed up with measurements. Optional keys (round_trips, capabilities,
overhead_ratio, samples_ns …) may be missing: older files still render.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from bench import claims
from bench import document as doc
from bench.document import DOCUMENTED, MEASURED, Block, Bullets, Cell, Heading, Image, Para, Table
from bench import plots as plots_mod
from bench.plots import op_names
from bench.results import load
from bench.workload import ALL_OPS, COLD_START, OPS

MATRIX, LATENCY, INDEX = "decision-matrix.md", "latency.md", "index.html"

# The seed document's options (its decision-matrix columns) mapped to our backends.
# Backends the seed lacks follow; any other backend in a results file gets a row of its own.
ROWS: list[tuple[str, str, str | None]] = [  # (option, backend, seed column)
    ("Current (file + API routes)", "api-routes", "Current (File + API)"),
    ("Turso", "turso", "Turso"),
    ("Drizzle", "sqlalchemy-core", "Drizzle"),
    ("Prisma", "sqlalchemy-orm", "Prisma"),
    ("Self-hosted libSQL", "sqld", "Self-Hosted"),
    ("better-sqlite3", "apsw", "Better-SQLite3"),
    ("better-sqlite3", "sqlite3", "Better-SQLite3"),
    ("not in the seed: embedded libSQL", "libsql", None),
    ("not in the seed: Turso embedded replica", "turso-replica", None),
    ("not in the seed: self-hosted libSQL over WebSocket", "sqld-ws", None),
    ("not in the seed: self-hosted libSQL primary + replica", "sqld-replica", None),
    ("not in the seed: Turso's new engine", "pyturso", None),
]

SEED_FACTORS = ("Cross-device", "Type Safety", "Ease of Setup", "API Routes Needed", "Production Ready",
                "Cloud Backup", "Cost", "Migration Effort")
# The seed's decision matrix, verbatim, by its column.
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
    """One loaded results file and the indexes the report reads it through."""

    source: str
    data: dict
    link: str = ""  # the results file relative to the report folder, for links

    def __post_init__(self) -> None:
        self.link = self.link or self.source

    @property
    def backends(self) -> dict[str, tuple[int, dict]]:
        return {b["name"]: (i, b) for i, b in enumerate(self.data["backends"])}

    @property
    def ops(self) -> dict[tuple[str, str], tuple[int, dict]]:
        return {(o["backend"], o["op"]): (i, o) for i, o in enumerate(self.data["ops"])}

    def backend_names(self) -> list[str]:
        return [b["name"] for b in self.data["backends"]]

    def label(self) -> str:
        run = self.data.get("run", {})
        return f"{run.get('started_at') or '?'} ({run.get('profile') or '?'}, {self.source})"


def load_runs(paths: Sequence[str | Path], out: Path | None = None) -> list[Run]:
    """Load and validate every file first, so a bad one stops the report before any output."""
    runs = []
    for p in paths:
        link = os.path.relpath(Path(p).resolve(), out.resolve()) if out is not None else str(p)
        runs.append(Run(str(p), load(p), link))
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
    return f"lat-{backend}-{op}"


def cap_anchor(backend: str, probe: str) -> str:
    return f"cap-{backend}-{probe}"


def emulated_text(entry: dict) -> str:
    emulated = entry.get("emulated")
    if not emulated:
        return "no"
    return "yes" if emulated is True else f"yes: {emulated}"


def status_text(entry: dict) -> str:
    status = entry.get("status", "?")
    reason = entry.get("reason")
    return f"{status}: {reason}" if reason and status != "ok" else status


def probe_short(result: dict) -> str:
    """`yes`, `no`, `n/a`, with the deciding figure when there is one."""
    text = str(result.get("result", "?"))
    figures = result.get("figures") or {}
    if "acknowledged" in figures:
        text += f" ({figures.get('present')}/{figures['acknowledged']} kept)"
    elif "errors" in figures:
        text += f" ({figures['errors']} errors)"
    return text


def round_sum(run: Run, backend: str) -> float | None:
    """The p50s of the five operations added: the cost of one request of each route."""
    ops = run.ops
    values = [ops[(backend, op)][1].get("p50_ms") if (backend, op) in ops else None for op in OPS]
    return None if any(v is None for v in values) else sum(values)


# ---------------------------------------------------------------- decision matrix


def matrix_rows(run: Run) -> list[tuple[str, str, str | None]]:
    """The mapped rows, then a row for every backend in the results that the table lacks."""
    known = {backend for _, backend, _ in ROWS}
    extra = [("not in the seed", name, None) for name in run.backend_names() if name not in known]
    return ROWS + extra


def _backend_cells(option: str, backend: str, run: Run) -> list[Cell]:
    found = run.backends.get(backend)
    if found is None:
        status = Cell(NOT_IN_RUN)
    else:
        i, entry = found
        text = status_text(entry) + (" (emulated)" if entry.get("emulated") else "")
        status = Cell(text, MEASURED, run.link, f"{run.source} backends[{i}].status")
    return [Cell(option), Cell(f"`{backend}`"), status]


def seed_table(run: Run) -> Table:
    rows = []
    for option, backend, column in matrix_rows(run):
        cells = _backend_cells(option, backend, run)
        for k in range(len(SEED_FACTORS)):
            if column is None:
                cells.append(Cell("not in the seed"))
            else:
                cells.append(Cell(SEED_MATRIX[column][k], DOCUMENTED))
        rows.append(cells)
    return Table(["option (seed)", "backend", "status", *SEED_FACTORS], rows)


def latency_cell(run: Run, backend: str, op: str) -> Cell:
    found = run.ops.get((backend, op))
    if found is None:
        return Cell("–" if backend not in run.backends else "not measured")
    i, o = found
    if not o.get("n"):
        return Cell(f"no samples ({o.get('errors', 0)} errors)", MEASURED, f"{LATENCY}#{lat_anchor(backend, op)}",
                    f"{run.source} ops[{i}].n")
    text = f"{fmt_ms(o.get('p50_ms'))} / {fmt_ms(o.get('p95_ms'))}"
    if o.get("errors"):
        text += f" ({o['errors']} errors)"
    return Cell(text, MEASURED, f"{LATENCY}#{lat_anchor(backend, op)}", f"{run.source} ops[{i}].p50_ms, ops[{i}].p95_ms")


def latency_table(run: Run) -> Table:
    rows = []
    for option, backend, _ in matrix_rows(run):
        rows.append(_backend_cells(option, backend, run) + [latency_cell(run, backend, op) for op in ALL_OPS])
    return Table(["option (seed)", "backend", "status", *(f"{op} p50 / p95 ms" for op in ALL_OPS)], rows)


def capability_cell(run: Run, backend: str, probe: str) -> Cell:
    found = run.backends.get(backend)
    if found is None:
        return Cell("–")
    i, entry = found
    result = (entry.get("capabilities") or {}).get(probe)
    if result is None:
        return Cell("not probed")
    return Cell(probe_short(result), MEASURED, f"{MATRIX}#{cap_anchor(backend, probe)}",
                f"{run.source} backends[{i}].capabilities.{probe}")


def capability_table(run: Run) -> Table:
    rows = []
    for option, backend, _ in matrix_rows(run):
        rows.append(_backend_cells(option, backend, run) + [capability_cell(run, backend, p) for p, _ in PROBES])
    return Table(["option (seed)", "backend", "status", *(label for _, label in PROBES)], rows)


def seed_disagreements(run: Run) -> list[Block]:
    """Where this run's cross-device probe contradicts the seed's documented answer."""
    items = []
    factor = SEED_FACTORS.index("Cross-device")
    for option, backend, column in ROWS:
        found = run.backends.get(backend)
        measured = _capability(found[1], "cross_device") if found else None
        if column is None or measured not in ("yes", "no"):
            continue
        documented = SEED_MATRIX[column][factor]
        says_yes = "Yes" in documented
        if says_yes != (measured == "yes"):
            note = " (the seed's * means: with Turso or another cloud provider)" if documented.endswith("*") else ""
            items.append(f"{option} → `{backend}`: the seed says {documented}{note}; "
                         f"measured: [{measured}]({MATRIX}#{cap_anchor(backend, 'cross_device')}).")
    if not items:
        return [Para("The cross-device probe agrees with the seed for every row measured in this run.")]
    return [Bullets(items)]


def capability_evidence(run: Run) -> list[Block]:
    blocks: list[Block] = []
    for name in run.backend_names():
        i, entry = run.backends[name]
        caps = entry.get("capabilities") or {}
        if not caps:
            continue
        items, anchors = [], []
        for probe, label in PROBES:
            if probe in caps:
                items.append(f"**{label}: {caps[probe].get('result')}**: {caps[probe].get('evidence', '')} "
                             f"(`backends[{i}].capabilities.{probe}`)")
                anchors.append(cap_anchor(name, probe))
        blocks += [Heading(3, f"`{name}`"), Bullets(items, anchors)]
    return blocks or [Para("No capability probes in this results file (older files have none).")]


# ---------------------------------------------------------------- recommendation


def _ok_backends(run: Run) -> list[tuple[str, dict, float]]:
    """Backends with status ok and all five operations measured, cheapest round first."""
    out = []
    for name in run.backend_names():
        entry = run.backends[name][1]
        cost = round_sum(run, name)
        if entry.get("status") == "ok" and cost is not None:
            out.append((name, entry, cost))
    return sorted(out, key=lambda t: t[2])


def _capability(entry: dict, probe: str) -> str | None:
    return ((entry.get("capabilities") or {}).get(probe) or {}).get("result")


def _emulated_note(entry: dict) -> str:
    return f" (emulated: {entry['emulated']})" if entry.get("emulated") not in (None, False) else ""


def _cold(run: Run, name: str) -> str:
    found = run.ops.get((name, COLD_START))
    return f"; cold start p50 {fmt_ms(found[1].get('p50_ms'))} ms" if found and found[1].get("n") else ""


def _phase1(run: Run, ok: list[tuple[str, dict, float]]) -> str:
    head = "**Phase 1, single machine now:**"
    durable = [t for t in ok if _capability(t[1], "crash_durability") in ("yes", None)]
    if not durable:
        return f"{head} no backend ran ok with all five operations measured and its acknowledged writes kept."
    name, entry, cost = durable[0]
    probed = _capability(entry, "crash_durability") == "yes"
    kept = "whose acknowledged writes survived a killed writer" if probed else "(crash durability not probed)"
    text = (f"{head} `{name}`{_emulated_note(entry)}, the lowest cost among ok backends {kept}: "
            f"{fmt_ms(cost)} ms per round{_cold(run, name)}.")
    current = round_sum(run, "api-routes")
    if current is not None and name != "api-routes":
        text += f" The seed's current design (`api-routes`) costs {fmt_ms(current)} ms ({current / cost:.1f}×)."
    return text


def _phase2(run: Run, ok: list[tuple[str, dict, float]]) -> str:
    head = "**Phase 2, cross-device next:**"
    remote = sorted((t for t in ok if _capability(t[1], "cross_device") == "yes"),
                    key=lambda t: (_capability(t[1], "auth_enforced") != "yes", t[2]))
    if not remote:
        return (f"{head} no backend in this run was reached by a second process with only a URL and token "
                "(cross-device probe = yes); run the server backends to decide this phase.")
    name, entry, cost = remote[0]
    auth = _capability(entry, "auth_enforced") or "not probed"
    return (f"{head} `{name}`{_emulated_note(entry)}, the lowest cost among backends a second process reached "
            f"with only a URL and token, enforced auth first (here: {auth}): {fmt_ms(cost)} ms per round{_cold(run, name)}.")


def _phase3(run: Run, ok: list[tuple[str, dict, float]]) -> str:
    head = "**Phase 3, type safety later:**"
    # The seed's phase 3 is a typed layer over the cross-device store, so reachable ones come first.
    typed = sorted((t for t in ok if t[1].get("kind") == "orm"),
                   key=lambda t: (_capability(t[1], "cross_device") != "yes", t[2]))
    if not typed:
        return f"{head} no typed query layer (kind `orm`) ran ok in this run."
    name, entry, cost = typed[0]
    ratios = [(o["overhead_ratio"], o.get("overhead_vs") or "raw driver")
              for (b, _), (_, o) in run.ops.items() if b == name and o.get("overhead_ratio")]
    extra = ""
    if ratios:
        values = [r for r, _ in ratios]
        extra = f", {min(values):.1f}–{max(values):.1f}× the p50 of `{ratios[0][1]}`"
    return (f"{head} `{name}`, the lowest-cost typed query layer (kind `orm`; type safety itself is documented, "
            f"not measured), cross-device first (here: {_capability(entry, 'cross_device') or 'not probed'}): "
            f"{fmt_ms(cost)} ms per round{extra}.")


def recommend(run: Run) -> list[str]:
    """One sentence per seed phase, chosen from this run's measurements by stated rules."""
    ok = _ok_backends(run)
    return [_phase1(run, ok), _phase2(run, ok), _phase3(run, ok),
            "Rules: cost = the five operations' p50s added (one request of each route), lowest first, among "
            "backends with status ok; ties and failures are visible in the tables below."]


# ---------------------------------------------------------------- documents


def run_facts(run: Run) -> str:
    r = run.data.get("run", {})
    host = r.get("host") or {}
    params = r.get("params") or {}
    sizes = ", ".join(f"{k} {v}" for k, v in params.items() if k != "settings")
    return (f"Source: `{run.source}` (run `{r.get('id', '?')}`, started {r.get('started_at', '?')}, profile "
            f"{r.get('profile', '?')}{', ' + sizes if sizes else ''}; {host.get('cpu_model', '?')}, "
            f"{host.get('cores', '?')} cores, Python {host.get('python', '?')}; "
            f"{'complete' if run.data.get('complete') else 'INCOMPLETE: the run did not finish'}).")


LEGEND = ("Each cell says where it comes from: **(m)** measured in this run (the link goes to the evidence, and "
          "its title names the results-file key), **(d)** documented (the seed document's decision matrix, "
          "not measured). Rows whose backend is absent from the results say “not in this run”.")


def matrix_blocks(run: Run) -> list[Block]:
    return [
        Heading(1, "Decision matrix"),
        Para(run_facts(run)),
        Para(LEGEND),
        Heading(2, "Recommendation, derived from this run", "recommendation"),
        Bullets(recommend(run)),
        Heading(2, "Measured latency: p50 / p95 per operation (ms)", "matrix-latency"),
        latency_table(run),
        Heading(2, "Measured capabilities", "matrix-capabilities"),
        capability_table(run),
        Heading(2, "Where the measurements disagree with the seed", "disagreements"),
        *seed_disagreements(run),
        Heading(2, "The seed's factors (documented)", "seed"),
        Para("From `database-persistence-strategy.md` (2025-11-04), verbatim; * = with Turso or another cloud provider."),
        seed_table(run),
        Heading(2, "Capability evidence", "capability-evidence"),
        *capability_evidence(run),
    ]


def op_table(run: Run, op: str) -> Table:
    with_ratio = any(o.get("overhead_ratio") is not None for (_, name), (_, o) in run.ops.items() if name == op)
    headers = ["backend", "status", "emulated", "n", "errors", "p50", "p90", "p95", "p99", "max", "ops/s", "round trips"]
    if with_ratio:
        headers.append("vs raw driver (p50 ratio)")
    rows = []
    for name in run.backend_names():
        entry = run.backends[name][1]
        found = run.ops.get((name, op))
        if found is None:
            continue
        i, o = found
        row = [Cell(f"`{name}`", anchor=lat_anchor(name, op)), Cell(status_text(entry)), Cell(emulated_text(entry)),
               Cell(fmt_num(o.get("n"))), Cell(fmt_num(o.get("errors")))]
        row += [Cell(fmt_ms(o.get(f))) for f in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms")]
        row.append(Cell(fmt_num(o.get("ops_per_s"), 0)))
        trips = o.get("round_trips")
        row.append(Cell(fmt_num(trips, 1) if trips is not None else "not counted"))
        if with_ratio:
            ratio = o.get("overhead_ratio")
            row.append(Cell(f"{ratio:.2f}× {o.get('overhead_vs') or ''}".strip() if ratio is not None else "–"))
        row.append(Cell(f"`ops[{i}]`"))
        rows.append(row)
    return Table(headers + ["results key"], rows)


def overhead_blocks(run: Run) -> list[Block]:
    o = run.data.get("overhead")
    if not o:
        return [Para("This results file has no harness-overhead measurement.")]
    return [Para(f"A no-op timed through the same loop costs p50 {o.get('p50_ns')} ns, p99 {o.get('p99_ns')} ns, "
                 f"min {o.get('min_ns')} ns (n {o.get('n', '?')}): differences smaller than this are the harness, "
                 "not the backend (key `overhead`).")]


def seed_comparison(run: Run) -> Table:
    names = run.backend_names()
    rows = []
    for op, figure in SEED_FIGURES:
        row = [Cell(f"`{op}`"), Cell(figure, DOCUMENTED)]
        for name in names:
            found = run.ops.get((name, op))
            if found and found[1].get("n"):
                i, o = found
                row.append(Cell(fmt_ms(o.get("p50_ms")), MEASURED, f"{LATENCY}#{lat_anchor(name, op)}", f"{run.source} ops[{i}].p50_ms"))
            else:
                row.append(Cell("–"))
        rows.append(row)
    return Table(["operation", "seed (its Next.js app over HTTP, documented)", *(f"{n} p50 ms" for n in names)], rows)


def rtt_model(run: Run) -> list[Block]:
    """What each op would cost at other round-trip times: a labelled model, not a measurement."""
    settings = (run.data.get("run", {}).get("params") or {}).get("settings") or {}
    rows = []
    for name in run.backend_names():
        entry = run.backends[name][1]
        emulated_rtt = float(settings.get("rtt_ms") or 0) if entry.get("emulated") else 0.0
        for op in OPS:
            found = run.ops.get((name, op))
            if not found or found[1].get("round_trips") is None or found[1].get("p50_ms") is None:
                continue
            o = found[1]
            local = max(0.0, o["p50_ms"] - o["round_trips"] * emulated_rtt)
            rows.append([Cell(f"`{name}`"), Cell(f"`{op}`"), Cell(fmt_num(o["round_trips"], 1)), Cell(fmt_ms(local))]
                        + [Cell(fmt_ms(local + o["round_trips"] * r)) for r in MODEL_RTTS_MS])
    if not rows:
        return [Para("No backend in this run counts network round trips (embedded backends make none).")]
    return [Para("Modelled, not measured: p50 service time without the emulated delay + round trips × RTT. "
                 "Use it to read the network backends' numbers for your own region."),
            Table(["backend", "op", "round trips", "local p50 ms", *(f"at {r} ms RTT" for r in MODEL_RTTS_MS)], rows)]


def error_blocks(run: Run) -> list[Block]:
    items = [f"`{o['backend']}` `{o['op']}`: {o['errors']} errors, e.g. {'; '.join(o.get('error_examples') or []) or '–'}"
             for o in run.data["ops"] if o.get("errors")]
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
    for i, b in enumerate(run.data["backends"]):
        for name, value in (b.get("observations") or {}).items():
            rows.append([Cell(f"`{b['name']}`"), Cell(f"`{name}`"),
                         Cell(_figure(value), MEASURED, run.link, f"{run.source} backends[{i}].observations.{name}")])
    if not rows:
        return [Para("No backend in this run records observations.")]
    return [Table(["backend", "observation", "measured"], rows)]


def sweep_blocks(run: Run) -> list[Block]:
    """Growth exponents (p50 ~ size^b) and where load_all stops being viable, per sweep."""
    blocks: list[Block] = []
    for k, sweep in enumerate(run.data.get("sweeps") or []):
        rows = []
        for j, b in enumerate(sweep["backends"]):
            for op, series in b["ops"].items():
                exponent = series.get("growth_exponent")
                rows.append([Cell(f"`{b['backend']}`"), Cell(f"`{op}`"),
                             Cell("–" if exponent is None else f"{exponent:.2f}", MEASURED, run.link,
                                  f"{run.source} sweeps[{k}].backends[{j}].ops.{op}.growth_exponent")])
            limit = b.get("load_all_limit") or {}
            rows.append([Cell(f"`{b['backend']}`"), Cell(f"load_all passes {sweep['load_all_limit_ms']:g} ms at"),
                         Cell(f"{limit.get('size') or '–'} {sweep['param']} ({limit.get('basis', '–')})", MEASURED,
                              run.link, f"{run.source} sweeps[{k}].backends[{j}].load_all_limit")])
        blocks += [Heading(3, f"{sweep['param']} = {', '.join(map(str, sweep['values']))}"),
                   Table(["backend", "op", "growth exponent b (p50 ∝ size^b)"], rows)]
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
                found = r.ops.get((name, op))
                cells.append(Cell(fmt_ms(found[1].get("p50_ms")), MEASURED, r.link, f"{r.source} ops[{found[0]}].p50_ms")
                             if found else Cell("–"))
            if any(c.text != "–" for c in cells):
                rows.append([Cell(f"`{name}`"), Cell(f"`{op}`"), *cells])
    return [Heading(2, "Runs compared: p50 ms", "comparison"),
            Bullets([f"run {k + 1}: {r.label()}" for k, r in enumerate(runs)]),
            Table(["backend", "op", *(f"run {k + 1}" for k in range(len(runs)))], rows),
            Image("comparison.png", "p50 per operation across the given runs")]


def latency_blocks(runs: list[Run], plots: list[tuple[str, str]]) -> list[Block]:
    run = runs[-1]
    blocks: list[Block] = [Heading(1, "Latency"), Para(run_facts(run)),
                           Para("Milliseconds, nearest-rank percentiles (every value is a measured sample). "
                                "ops/s is single-client service throughput. Emulated conditions are labelled."),
                           Heading(2, "Harness overhead floor", "overhead"), *overhead_blocks(run)]
    for op in op_names([run.data]):
        blocks += [Heading(2, f"`{op}`", f"op-{op}"), op_table(run, op)]
    blocks += [Heading(2, "The seed's figures beside ours", "seed-figures"),
               Para("The seed's figures are for its Next.js app (browser → API route → libSQL file); ours are "
                    "store-level. `cold_start` (fresh process: import, open, first load) is its “with compilation” "
                    "case, `load_all` its cached one; the `api-routes` row, when present, is the like-for-like one."),
               seed_comparison(run),
               *claims.claims_blocks(run),
               Heading(2, "Round-trip model", "rtt-model"), *rtt_model(run),
               Heading(2, "Errors", "errors"), *error_blocks(run),
               Heading(2, "Backend observations", "observations"), *observation_blocks(run),
               *([Heading(2, "Data-size sweeps", "sweeps"), *sweep_blocks(run)] if run.data.get("sweeps") else []),
               *comparison_blocks(runs),
               Heading(2, "Plots", "plots"),
               *[Image(file, caption) for file, caption in plots if file != "comparison.png"]]
    return blocks


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
    page = doc.render_html("storebench report", [("decision-matrix", matrix), ("latency", latency)], out)
    (out / INDEX).write_text(page, encoding="utf-8")
    written.append(out / INDEX)
    return written + [out / file for file, _ in plots]
