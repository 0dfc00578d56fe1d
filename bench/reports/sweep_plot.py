"""The sweep figure: p50 latency against data size, log-log, one panel per op.

A pure function of one `sweeps` entry of a results file (bench/core/sweep.py) to a PNG file, for
the report to embed. Each backend is a line, labelled with its fitted growth exponent b
(p50 ~ size^b); the `load_all` panel draws the viability limit and where each backend
crosses it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from storebench.model.results import BackendResult, Sweep  # noqa: E402
from storebench.reports import labels  # noqa: E402

PANEL_COLUMNS = 3


def _label(backend: str, exponent: float | None, entry: BackendResult | None) -> str:
    name = labels.plain(backend, entry)
    return f"{name} (b={exponent:.2f})" if exponent is not None else name


def plot_sweep(sweep: Sweep, path: Path, entries: dict[str, BackendResult] | None = None) -> Path:
    """Draw `sweep` (one entry of `Results.sweeps`) into the PNG file `path`; returns `path`.
    `entries` (backend name -> results entry) lets labels say what is emulated."""
    entries = entries or {}
    ops = [op for op in dict.fromkeys(op for b in sweep.backends for op in b.ops)
           if any(any(v is not None for v in b.ops[op]["p50_ms"]) for b in sweep.backends if op in b.ops)]
    rows = max(1, -(-len(ops) // PANEL_COLUMNS))
    fig, axes = plt.subplots(rows, PANEL_COLUMNS, figsize=(4.2 * PANEL_COLUMNS, 3.4 * rows), squeeze=False)
    sizes = sweep.values
    for ax, op in zip(axes.flat, ops):
        for b in sweep.backends:
            series = b.ops.get(op)
            if not series:
                continue
            points = [(s, p) for s, p in zip(sizes, series["p50_ms"]) if p is not None and p > 0]
            if points:
                ax.plot(*zip(*points), marker="o", color=labels.color(b.backend),
                        label=_label(b.backend, series["growth_exponent"], entries.get(b.backend)))
        if op == "load_all":
            ax.axhline(sweep.load_all_limit_ms, color="grey", linestyle="--", linewidth=1,
                       label=f"{sweep.load_all_limit_ms:g} ms limit")
        title = f"{op} ({sweep.page_size} most recent)" if op == "load_page" else op
        ax.set(title=title, xscale="log", yscale="log", xlabel=sweep.param, ylabel="p50 ms")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(ops):]:
        ax.set_visible(False)
    fixed = ", ".join(f"{k}={v}" for k, v in sweep.fixed.items())
    fig.suptitle(f"p50 latency vs {sweep.param} ({fixed})", fontsize=10)
    from storebench.reports.plots import tight_layout  # plots imports this module

    tight_layout(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
