"""What a backend is called wherever a name appears: the seed option it stands for, whether it
is that system or a Python equivalent of a Node system, whether it is emulated, and its colour.

One place for these, so the decision matrix, the recommendation lines, the HTML page, the
plots, `storebench backends` and the terminal summary never disagree, and a Python stand-in
is never shown under the Node system's name alone.

A seed option lists the backends that *are* the system (a Node client, or the service or
server itself reached from Python) and the Python backends that stand in for a Node system.
A seed row prefers the real system when its results are in the run (status ok) and falls
back to a labelled Python equivalent otherwise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from storebench.model.results import BackendResult
from storebench.reports.document import code, text

EMULATED_MARK = "*"
EQUIVALENT_MARK = "~"


@dataclass(frozen=True)
class SeedOption:
    option: str  # the seed's name for it
    column: str | None  # its column in the seed's decision matrix (None: not in the seed)
    real: tuple[str, ...]  # backends that are this system
    equivalents: tuple[str, ...] = ()  # Python backends standing in for a Node system
    node_system: str | None = None  # what the equivalents stand in for, when not the option's name


SEED_OPTIONS: tuple[SeedOption, ...] = (
    SeedOption("Current (file + API routes)", "Current (File + API)", ("nextjs-routes",), ("api-routes",),
               "the seed's Next.js API routes"),
    SeedOption("Turso", "Turso", ("node-turso", "turso")),
    SeedOption("Drizzle", "Drizzle", ("drizzle", "drizzle-turso"), ("sqlalchemy-core",)),
    SeedOption("Prisma", "Prisma", ("prisma",), ("sqlalchemy-orm",)),
    SeedOption("Self-hosted libSQL", "Self-Hosted", ("node-sqld", "sqld")),
    SeedOption("better-sqlite3", "Better-SQLite3", ("better-sqlite3",), ("apsw", "sqlite3")),
    SeedOption("not in the seed: embedded libSQL", None, ("node-libsql", "libsql")),
    SeedOption("not in the seed: Turso embedded replica", None, ("turso-replica",)),
    SeedOption("not in the seed: Turso from a browser page", None, ("browser-turso",)),
    SeedOption("not in the seed: self-hosted libSQL over WebSocket", None, ("sqld-ws",)),
    SeedOption("not in the seed: self-hosted libSQL primary + replica", None, ("sqld-replica",)),
    SeedOption("not in the seed: Turso's new engine", None, ("pyturso",)),
)

# The document's app is a Next.js app: its own stack is these Node and browser systems, each
# with the phase of the document it answers (1 single machine now, 2 cross-device next, 3 the
# typed layer). Every other backend is a Python client, answered "for a Python app".
APP_STACK: dict[str, int] = {
    "better-sqlite3": 1, "node-libsql": 1, "nextjs-routes": 1,
    "browser-turso": 2, "node-turso": 2, "node-sqld": 2,
    "drizzle-turso": 3, "drizzle": 3, "prisma": 3,
}
# The document's current design (Next.js routes over a file), compared with the phase-1 choice.
CURRENT_DESIGN = "nextjs-routes"

# The Node system each Python equivalent stands in for.
EQUIVALENT_OF: dict[str, str] = {b: o.node_system or o.option for o in SEED_OPTIONS for b in o.equivalents}

# One fixed colour per backend, in every plot of every report: Kelly's colours of maximum
# contrast, adjusted so that no two are closer than CIE76 ΔE 25 (tests/test_labels.py checks).
PALETTE: dict[str, str] = {
    "sqlite3": "#0067A5", "apsw": "#F38400", "libsql": "#008856", "sqlalchemy-core": "#875692",
    "sqlalchemy-orm": "#E68FAC", "pyturso": "#848482", "api-routes": "#BE0032", "sqld": "#654522",
    "sqld-ws": "#17BECF", "sqld-replica": "#8DB600", "turso": "#222222", "turso-replica": "#F3C300",
    "node-libsql": "#7FDB6A", "node-sqld": "#C2B280", "node-turso": "#00338A", "drizzle": "#B3446C",
    "drizzle-turso": "#A1CAF1", "prisma": "#882D17", "better-sqlite3": "#FF66FF", "nextjs-routes": "#E25822",
    "browser-turso": "#F99379",
}
# A backend without a fixed colour (one added later) gets one of these by a hash of its name:
# stable across runs and plots, though not guaranteed distinct from the fixed ones.
FALLBACK = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")


# With 16+ lines colour alone does not tell them apart: each backend also gets a marker (by its
# place in PALETTE, so neighbours in colour differ in shape), and a Python equivalent of a Node
# system is drawn dashed beside its Node system's solid line.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "p", "h", "*")


def marker(name: str) -> str:
    names = list(PALETTE)
    index = names.index(name) if name in names else int(hashlib.sha256(name.encode()).hexdigest(), 16)
    return MARKERS[index % len(MARKERS)]


def linestyle(name: str) -> Literal["-", "--"]:
    return "--" if name in EQUIVALENT_OF else "-"


def color(name: str) -> str:
    if name in PALETTE:
        return PALETTE[name]
    return FALLBACK[int(hashlib.sha256(name.encode()).hexdigest(), 16) % len(FALLBACK)]


@dataclass(frozen=True)
class Row:
    """One decision-matrix row: the option label, the backend shown, the seed column."""

    option: str
    backend: str
    column: str | None


def option_label(option: SeedOption, backend: str) -> str:
    if backend in option.equivalents:
        return f"{option.option} — Python equivalent: {code(backend)}"
    return option.option


def _representative(option: SeedOption, entries: dict[str, BackendResult]) -> list[str]:
    """The option's backends present in the run, the one that stands for it first: a real
    one that ran ok, else an equivalent that ran ok, else any present."""
    present = [b for b in option.real + option.equivalents if b in entries]
    ok = [b for b in present if entries[b].status == "ok"]
    first = next((b for b in ok if b in option.real), None) or next(iter(ok), None) or next(iter(present), None)
    return ([first] if first else []) + [b for b in present if b != first]


def rows(entries: dict[str, BackendResult]) -> list[Row]:
    """Every seed option's rows for a run (`entries`: backend name -> results entry), then a
    row for every backend in the run that no option names."""
    out: list[Row] = []
    for option in SEED_OPTIONS:
        shown = _representative(option, entries)
        if not shown:  # nothing of it ran: one row naming what would stand for it
            shown = [option.real[-1] if not option.equivalents else option.equivalents[0]]
        out += [Row(option_label(option, b), b, option.column) for b in shown]
    named = {b for o in SEED_OPTIONS for b in o.real + o.equivalents}
    out += [Row("not in the seed", name, None) for name in entries if name not in named]
    return out


def representative(option_column: str, entries: dict[str, BackendResult]) -> str | None:
    """The backend that stands for a seed column in this run (None: none of it ran)."""
    option = next(o for o in SEED_OPTIONS if o.column == option_column)
    shown = _representative(option, entries)
    return shown[0] if shown else None


def emulation(entry: BackendResult | None) -> str | None:
    """What is emulated about a backend's run (None: nothing)."""
    emulated = entry.emulated if entry else None
    if not emulated:
        return None
    return "emulated" if emulated is True else str(emulated)


def qualifiers(name: str, entry: BackendResult | None) -> list[str]:
    out = []
    if name in EQUIVALENT_OF:
        out.append(f"Python equivalent of {EQUIVALENT_OF[name]}")
    if emulation(entry):
        out.append("emulated")
    return out


def prose(name: str, entry: BackendResult | None = None) -> str:
    """A backend named in a sentence (Markdown): "`sqlalchemy-core` (Python equivalent of Drizzle)"."""
    extra = qualifiers(name, entry)
    return code(name) + (f" ({text('; '.join(extra))})" if extra else "")


def plain(name: str, entry: BackendResult | None = None) -> str:
    """A backend named in a plot legend or axis: no Markdown."""
    extra = qualifiers(name, entry)
    return name + (f" ({'; '.join(extra)})" if extra else "")


def marked(name: str, entry: BackendResult | None = None) -> str:
    """A backend in a narrow table (the terminal): the name with short marks, see `mark_legend`."""
    return name + (EQUIVALENT_MARK if name in EQUIVALENT_OF else "") + (EMULATED_MARK if emulation(entry) else "")


def mark_legend(names_entries: Sequence[tuple[str, BackendResult | None]]) -> list[str]:
    """The legend lines for the marks used by `marked` among these backends."""
    lines = []
    equivalents = [n for n, _ in names_entries if n in EQUIVALENT_OF]
    if equivalents:
        lines.append(f"{EQUIVALENT_MARK} Python equivalent of a Node system: "
                     + ", ".join(f"{n} = {EQUIVALENT_OF[n]}" for n in equivalents))
    emulated = [(n, emulation(e)) for n, e in names_entries if emulation(e)]
    for n, what in emulated:
        lines.append(f"{EMULATED_MARK} emulated: {n}: {what}")
    return lines
