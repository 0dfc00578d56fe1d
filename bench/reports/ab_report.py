"""The A/B page: `storebench report` of a results file written by `storebench ab`.

A pure function of the file's `ab` section and op entries: the verdict, every comparison with
its per-pair ratios and interval, and each side's p50 per backend and op. Rendered through the
same document model as the other reports (bench/reports/document.py), to `ab.md` and `ab.html`.
"""

from __future__ import annotations

from pathlib import Path

from storebench.gate.ab_verdict import REGRESSION
from storebench.model.results import Results
from storebench.reports import document as doc

AB_MD, AB_HTML = "ab.md", "ab.html"


def is_ab(data: Results) -> bool:
    return data.ab is not None


def _pct(ratio: float | None) -> str:
    return "–" if ratio is None else f"{(ratio - 1) * 100:+.1f} %"


def blocks(data: Results) -> list[doc.Block]:
    ab = data.ab
    assert ab is not None, "an ab results file (is_ab)"
    run = data.run
    out: list[doc.Block] = [
        doc.Heading(1, f"A/B: {doc.text(ab.overall)}", "ab"),
        doc.Para(f"Profile {doc.code(run.profile)}, seed {doc.text(run.seed)}, up to {ab.pairs} process pairs "
                 "per backend "
                 f"(batches of {' + '.join(map(str, ab.batches))}; after the first, only of the backends "
                 f"with an undecided comparison), {ab.rounds_per_pair} rounds per pair and "
                 f"side, workers pinned to CPU {ab.pin_cpu if ab.pin_cpu is not None else 'none'}; "
                 f"alpha {ab.alpha} over the whole job (Bonferroni). Base and head were interleaved round "
                 f"by round in one job (docs/regression-gate.md)."),
    ]
    injected = {side: spec for side, spec in ab.inject.items() if spec}
    if injected:
        out.append(doc.Para("**Injected delay** (a gate test, not a measurement): " +
                            ", ".join(f"{doc.text(side)} {doc.code(spec)}" for side, spec in injected.items()) + "."))
    rows = []
    for v in sorted(ab.verdicts, key=lambda v: (v["verdict"] != REGRESSION, v["backend"], v["op"], v["metric"])):
        rows.append([doc.Cell(doc.code(f"{v['backend']}.{v['op']}")), doc.Cell(doc.text(v["metric"])),
                     doc.Cell(_pct(v["estimate"]), doc.MEASURED, key=f"ab.verdicts[{v['backend']}.{v['op']}]"),
                     doc.Cell(f"{_pct(v['low'])} to {_pct(v['high'])}" if v["low"] is not None else "–"),
                     doc.Cell(", ".join(_pct(r) for r in v["ratios"]) or "–"),
                     doc.Cell(f"{v['min_effect']:.0%}"),
                     doc.Cell(doc.text(v["verdict"] + (f" ({v['note']})" if v["note"] else "")))])
    out += [doc.Heading(2, "Comparisons", "ab-comparisons"),
            doc.Table(["backend.op", "metric", "head vs base", "interval", "per pair", "minimum effect", "verdict"],
                      rows)]
    out += [doc.Heading(2, "Each side's p50", "ab-sides"), _sides_table(data)]
    if ab.failures:
        out += [doc.Heading(2, "Not measured", "ab-failures"), doc.Bullets([doc.text(f) for f in ab.failures])]
    return out


def _sides_table(data: Results) -> doc.Table:
    """p50 (ms) per backend and op on each side, all batches' samples together (an ab file
    has one entry per side and batch, so this is not the file's one-entry index)."""
    p50: dict[tuple[str, str], dict[str | None, list[float]]] = {}
    for o in data.ops:
        if o.p50_ms is not None:
            p50.setdefault((o.backend, o.op), {}).setdefault(o.side, []).append(o.p50_ms)
    rows = []
    for (backend, op), sides in p50.items():
        cells = [f"{min(sides[s]):.4g}–{max(sides[s]):.4g}" if s in sides else "–" for s in ("base", "head")]
        rows.append([doc.Cell(doc.code(f"{backend}.{op}")), doc.Cell(cells[0], doc.MEASURED),
                     doc.Cell(cells[1], doc.MEASURED)])
    return doc.Table(["backend.op", "base p50 ms (per batch)", "head p50 ms (per batch)"], rows)


def render(data: Results, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    content = blocks(data)
    md, page = out / AB_MD, out / AB_HTML
    md.write_text(doc.render_markdown(content, AB_MD), encoding="utf-8")
    page.write_text(doc.render_html("storebench A/B", [("ab", content)], out), encoding="utf-8")
    return [md, page]
