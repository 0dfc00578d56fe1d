"""The report section "The design document's performance claims, measured": each figure the
seed document states, beside our p50/p95 for the systems it describes, computed from the
results file like every other section.

The seed's figures were read off a browser's network panel in its Next.js app (under
`npm run dev`, its "with compilation" case says). Our columns:
- `nextjs-routes` (next start): the same architecture built for production, timed in the page;
- `nextjs-routes` (next dev): its `observations.next_dev` — each route's first request after
  a fresh `next dev` (compiling it) and the requests after it;
- `api-routes`: the same five routes in Python (uvicorn + Starlette), timed by a Python client;
- `browser-turso`: phase 2, the page talking to Turso directly, at the run's RTT (emulated
  unless real Turso was configured).
"""

from __future__ import annotations

from dataclasses import dataclass

from storebench.reports.document import DOCUMENTED, MEASURED, Block, Cell, Heading, Para, Table

ROUTES, API, TURSO = "nextjs-routes", "api-routes", "browser-turso"


@dataclass(frozen=True)
class Claim:
    label: str  # the document's words
    low_ms: float
    high_ms: float
    prod_op: str  # the op measured for it in production (and by api-routes and browser-turso)
    dev_op: str  # the op of observations.next_dev
    dev_kinds: tuple[str, ...]  # of it: "first" (the compiling request), "cached" (the ones after)
    why: str  # what our columns show about it, the start of the row's one sentence


CLAIMS = (
    Claim("Initial load (with compilation)", 83, 83, "cold_start", "load_all", ("first",),
          "under next dev a route's first request compiles it (and opens the database); next start has nothing "
          "to compile, so its column is the server's cold start instead"),
    Claim("Initial load (cached)", 3, 6, "load_all", "load_all", ("cached",),
          "a cached load is one request through the route layer (HTTP, JSON, the framework) to one read "
          "transaction; what else differs is data size ({size}) and machine load"),
    Claim("Create conversation", 57, 67, "create_conversation", "create_conversation", ("cached", "first"),
          "a create is one small write transaction on a local file; a figure near the document's needs more than "
          "that, such as a route's first (compiling) request or a network round trip"),
    Claim("Add message (similar to create)", 57, 67, "add_message", "add_message", ("cached", "first"),
          "like create, one small write transaction on a local file"),
)

def _range(claim: Claim) -> str:
    if claim.low_ms == claim.high_ms:
        return f"{claim.low_ms:g} ms"
    return f"{claim.low_ms:g}–{claim.high_ms:g} ms"


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _pair(p50: float | None, p95: float | None) -> str:
    return f"{_fmt(p50)} / {_fmt(p95)}"


def _op_cell(run, backend: str, op: str) -> tuple[Cell, float | None]:
    o = run.data.op(backend, op)
    if not o or not o.n:
        return Cell("not in this run"), None
    return (Cell(_pair(o.p50_ms, o.p95_ms), MEASURED, run.link, f"{run.source} {run.data.where(o)}.p50_ms/p95_ms"),
            o.p50_ms)


def _dev_cells(run, claim: Claim) -> tuple[Cell, dict[str, float | None]]:
    """One cell with each kind asked for, and each kind's p50 by column name."""
    found = run.data.backend(ROUTES)
    dev = ((found.observations or {}).get("next_dev") if found else None) or {}
    parts, keys, p50s = [], [], {}
    for kind in claim.dev_kinds:
        figures = (dev.get(kind) or {}).get(claim.dev_op) or {}
        if figures.get("n"):
            parts.append(f"{kind}: {_pair(figures.get('p50_ms'), figures.get('p95_ms'))} (n {figures['n']})")
            keys.append(f"{run.source} {run.data.where(found)}.observations.next_dev.{kind}.{claim.dev_op}")
            p50s[f"{ROUTES} (next dev, {kind})"] = figures.get("p50_ms")
    if not parts:
        return Cell("not in this run"), {}
    return Cell("; ".join(parts), MEASURED, run.link, ", ".join(keys)), p50s


def _sentence(claim: Claim, measured: dict[str, float | None], size: str) -> str:
    """The row's one sentence: the cause, then which of our p50s come near the claim."""
    why = claim.why.format(size=size)
    why = why[0].upper() + why[1:]
    known = {name: v for name, v in measured.items() if v is not None}
    if not known:
        return f"{why}; nothing measured for it in this run."
    middle = (claim.low_ms + claim.high_ms) / 2
    nearest = min(known, key=lambda name: abs(known[name] - middle))
    inside = [name for name, v in known.items() if claim.low_ms * 0.8 <= v <= claim.high_ms * 1.25]
    verdict = (f"within about 20 % of it: {', '.join(inside)}" if inside
               else f"none of ours comes within 20 % of it; nearest: {nearest}, p50 {_fmt(known[nearest])} ms")
    return f"{why}; {verdict}."


def _turso_header(run) -> str:
    entry = run.data.backend(TURSO)
    rtt = ((run.data.run.params or {}).get("settings") or {}).get("rtt_ms")
    if not entry:
        return f"{TURSO} p50 / p95 ms"
    label = f"emulated, {rtt:g} ms RTT" if entry.emulated and rtt is not None else "real Turso"
    return f"{TURSO} ({label}) p50 / p95 ms"


def claims_blocks(run) -> list[Block]:
    """The section, for one run (`bench.report.Run`)."""
    params = run.data.run.params or {}
    size = f"{params.get('conversations', '?')} conversations × {params.get('messages', '?')} messages here"
    rows = []
    for claim in CLAIMS:
        prod, prod_v = _op_cell(run, ROUTES, claim.prod_op)
        dev, dev_v = _dev_cells(run, claim)
        api, api_v = _op_cell(run, API, claim.prod_op)
        turso, turso_v = _op_cell(run, TURSO, claim.prod_op)
        sentence = _sentence(claim, {f"{ROUTES} (next start)": prod_v, **dev_v, API: api_v, TURSO: turso_v}, size)
        rows.append([Cell(claim.label), Cell(_range(claim), DOCUMENTED), prod, dev, api, turso, Cell(sentence)])
    load = run.data.run.load_average
    loaded = f" The machine's 1-minute load average was {load.start:.1f} at the start of the run." \
        if load and isinstance(load.start, (int, float)) else ""
    return [
        Heading(2, "The design document's performance claims, measured", "design-claims"),
        Para("The document's figures (read off a browser's network panel in its Next.js app) beside ours, "
             "p50 / p95 in ms. `nextjs-routes`: its architecture built with next build and served by next "
             "start, ops issued with fetch by a page in headless Chromium and timed there; (next dev): fresh "
             "dev servers, each route's first request (compiling it) or the ones after it (cached); "
             "`api-routes`: the same routes in Python; `browser-turso`: the page using @libsql/client/web "
             "straight to Turso. For the initial load with compilation, the production columns show "
             f"`cold_start` (a fresh server's, process's or page's first load).{loaded}"),
        Table(["claim", "document", f"{ROUTES} (next start) p50 / p95 ms", f"{ROUTES} (next dev) p50 / p95 ms",
               f"{API} p50 / p95 ms", _turso_header(run), "what explains the difference"], rows),
    ]
