"""The report's PNG plots (matplotlib, headless Agg backend), drawn from results data only.

Each plot always gets written, with a "no data" note where a results file lacks what it
needs (an older file without raw samples, a run with no backend measured), so the report's
set of files does not depend on the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import matplotlib

matplotlib.use("Agg")  # headless: no display needed, deterministic output

import matplotlib.lines  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from storebench.core.workload import ALL_OPS, COLD_START  # noqa: E402
from storebench.model.results import BackendResult, OpResult, Results  # noqa: E402
from storebench.reports import document, labels, ranking  # noqa: E402
from storebench.reports.sweep_plot import plot_sweep  # noqa: E402

PERCENTILES = ("p50", "p95", "p99")  # the order of `_percentiles`
PERCENTILE_MARKERS = {"p50": "o", "p95": "s", "p99": "^"}
DPI = 110


def colors(names: Sequence[str]) -> dict[str, str]:
    """Each backend's fixed colour (bench.labels.PALETTE): the same in every plot and report."""
    return {name: labels.color(name) for name in names}


def _entries(datas: Sequence[Results]) -> dict[str, BackendResult]:
    """Backend name -> its results entry (the last file's wins), for labels."""
    return {b.name: b for d in datas for b in d.backends}


def _label(name: str, entries: dict[str, BackendResult]) -> str:
    """A backend as named on a plot: emulated and Python-equivalent ones say so."""
    return labels.plain(name, entries.get(name))


def op_names(datas: Sequence[Results]) -> list[str]:
    """The workload's ops, then any other op a backend recorded (a replica's sync, say)."""
    seen = [o.op for d in datas for o in d.ops]
    return list(ALL_OPS) + [op for op in dict.fromkeys(seen) if op not in ALL_OPS]


def measured_ops(datas: Sequence[Results]) -> list[str]:
    """The ops some file has samples of: a panel per op measured (a smoke run has no cold start)."""
    measured = {o.op for d in datas for o in d.ops if o.n and o.p50_ms is not None}
    return [op for op in op_names(datas) if op in measured] or op_names(datas)[:1]


def _not_shown(datas: Sequence[Results]) -> str:
    missing = [op for op in op_names(datas) if op not in measured_ops(datas)]
    return f" (not measured here: {', '.join(missing)})" if missing else ""


def _no_data(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#777")
    ax.set_xticks([])
    ax.set_yticks([])


def _ms_label(value: float, _pos: int | None = None) -> str:
    """Tick labels as plain milliseconds (0.02, 5, 300), not powers of ten."""
    if value >= 1:
        return f"{value:g}"
    return f"{value:.6f}".rstrip("0")


def _log_ms_axis(ax: Axes, which: Literal["x", "y"], values: Sequence[float]) -> None:
    """A log axis in ms with 1-2-5 ticks labelled plainly, padded around the data."""
    low, high = min(values), max(values)
    getattr(ax, f"set_{which}scale")("log")
    getattr(ax, f"set_{which}lim")(low / 1.4, high * 1.4)
    axis = ax.xaxis if which == "x" else ax.yaxis
    # 1-2-5 ticks while they fit; only powers of ten over wider ranges, so labels never collide.
    subs = (1.0, 2.0, 5.0) if high / low < 300 else (1.0,)
    axis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=subs))
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(_ms_label))
    # 1-2-5 majors suffice; laying out minor ticks was 0.9 s of the smoke run's report.
    axis.set_minor_locator(matplotlib.ticker.NullLocator())
    getattr(ax, f"set_{which}label")("ms (log scale)")
    ax.grid(axis=which, which="major", alpha=0.3)


COLUMNS = 2  # panels a row: wide enough for 16 backend names, and legible when the page is narrow


def _grid(title: str, panels: int) -> tuple[plt.Figure, list[Axes]]:
    """Two panels a row, one per op; unused panels are removed."""
    rows = max(1, -(-panels // COLUMNS))
    fig, axes = plt.subplots(rows, COLUMNS, figsize=(12, 4.6 * rows), squeeze=False)
    fig.suptitle(title, fontsize=14)
    flat = list(axes.flat)
    for ax in flat[panels:]:
        ax.remove()
    return fig, flat[:panels]


def _save(fig: plt.Figure, path: Path, legend_handles: list | None = None, legend_title: str | None = None) -> None:
    """Save with the legend below the plots, where it cannot cover data; long labels (a
    Python equivalent, an emulated backend) get fewer columns, so none runs off the figure."""
    if legend_handles:
        longest = max(len(h.get_label()) for h in legend_handles)
        width_chars = fig.get_figwidth() * 12  # about twelve legend characters per inch at font size 10
        ncol = max(1, min(6, len(legend_handles), int(width_chars // (longest + 6))))
        rows = -(-len(legend_handles) // ncol)
        inches = 0.35 + 0.25 * rows + 0.2 * (legend_title or "").count("\n")
        fig.legend(handles=legend_handles, loc="lower center", ncol=ncol, title=legend_title, frameon=False,
                   fontsize=10)
        tight_layout(fig, rect=(0, inches / fig.get_figheight(), 1, 0.96))
    else:
        tight_layout(fig, rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def tight_layout(fig: plt.Figure, rect: tuple[float, float, float, float] = (0, 0, 1, 1)) -> None:
    """Matplotlib's tight layout, applied once. Its `tight_layout` leaves a placeholder layout
    engine behind, for which `savefig` draws the whole figure once more before drawing it (for
    nothing: the PNG is byte for byte the same without it); that draw was 0.8 s of the smoke
    run's plots."""
    fig.tight_layout(rect=rect)
    fig.set_layout_engine(None)


def _p50_interval(ax: Axes, entry: OpResult, at: float, color: str, horizontal: bool) -> None:
    """The p50's 95 % interval as a capped bar across its marker (nothing when there is none)."""
    figure = ranking.p50_figure(entry)
    if figure is None or figure.low is None or figure.high is None:
        return
    # Drawn from its ends, not as offsets from the p50: the bar is the interval whatever the p50.
    middle, half = (figure.low + figure.high) / 2, [abs(figure.high - figure.low) / 2]
    if horizontal:
        ax.errorbar(middle, at, xerr=half, fmt="none", ecolor=color, capsize=4, elinewidth=1.5, zorder=4)
    else:
        ax.errorbar(at, middle, yerr=half, fmt="none", ecolor=color, capsize=4, elinewidth=1.5, zorder=4)


def _percentiles(o: OpResult) -> list[float | None]:
    return [o.p50_ms, o.p95_ms, o.p99_ms]


def percentiles_plot(data: Results, path: Path) -> None:
    """p50 / p95 / p99 per op and backend as markers on a log axis (bars would start at an
    arbitrary axis minimum on a log scale and so mislead)."""
    names = [b.name for b in data.backends]
    palette = colors(names)
    ops_shown = measured_ops([data])
    entries = _entries([data])
    fig, axes = _grid("Latency percentiles per operation (ms, log scale; further left is faster)"
                      + _not_shown([data]), len(ops_shown))
    for ax, op in zip(axes, ops_shown):
        ax.set_title(op)
        rows = [(n, o) for n in names if (o := data.op(n, op)) and o.p50_ms]
        if not rows:
            _no_data(ax, "no samples")
            continue
        for y, (n, o) in enumerate(rows):
            values = _percentiles(o)
            present = [v for v in values if v]
            ax.hlines(y, min(present), max(present), color=palette[n], linewidth=2, alpha=0.5)
            # Drawn p99 first so the p50 marker stays visible when percentiles coincide.
            for v, label in reversed(list(zip(values, PERCENTILES))):
                if v:
                    ax.plot(v, y, PERCENTILE_MARKERS[label], color=palette[n], markersize=8)
            _p50_interval(ax, o, y, palette[n], horizontal=True)
        # Three panels a row leave no room for long names: marks here, explained under the plot.
        ax.set_yticks(range(len(rows)), [labels.marked(n, entries.get(n)) for n, _ in rows])
        ax.set_ylim(len(rows) - 0.5, -0.5)
        _log_ms_axis(ax, "x", [v for _, o in rows for v in _percentiles(o) if v])
    handles = [matplotlib.lines.Line2D([], [], color="#444", marker=PERCENTILE_MARKERS[label], linestyle="",
                                       label=label, markersize=8) for label in PERCENTILES]
    marks = labels.mark_legend([(n, entries.get(n)) for n in names])
    _save(fig, path, handles,
          "\n".join(["percentile (colour = backend; the capped bar around p50 is its 95 % interval)", *marks]))


def _samples(data: Results, backend: str, op: str) -> list[int]:
    found = data.op(backend, op)
    return (found.samples_ns if found else None) or []


def cdf_plot(data: Results, path: Path) -> None:
    """The distribution of every op: fraction of samples at or below each latency."""
    names = [b.name for b in data.backends]
    palette = colors(names)
    ops_shown = measured_ops([data])
    entries = _entries([data])
    fig, axes = _grid("Latency distribution per operation (cumulative; further left is faster)"
                      + _not_shown([data]), len(ops_shown))
    drawn: set[str] = set()
    for ax, op in zip(axes, ops_shown):
        ax.set_title(op)
        any_line = False
        for n in names:
            samples = _samples(data, n, op)
            if not samples:
                continue
            x = np.sort(np.asarray(samples, dtype=np.float64)) / 1e6
            y = np.arange(1, len(x) + 1) / len(x)
            ax.step(x, y, where="post", color=palette[n], label=n, linewidth=1.6, linestyle=labels.linestyle(n),
                    marker=labels.marker(n), markevery=max(1, len(x) // 6), markersize=5)
            drawn.add(n)
            any_line = True
        if not any_line:
            _no_data(ax, "no raw samples in this results file")
            continue
        _log_ms_axis(ax, "x", [v / 1e6 for n in names for v in _samples(data, n, op)])
        ax.set_ylabel("fraction of samples ≤ x")
        ax.set_ylim(0, 1.02)
        ax.grid(axis="y", alpha=0.3)
    handles = [matplotlib.lines.Line2D([], [], color=palette[n], label=_label(n, entries), linewidth=2,
                                       linestyle=labels.linestyle(n), marker=labels.marker(n), markersize=6)
               for n in names if n in drawn]
    _save(fig, path, handles, "backend (dashed: a Python equivalent of a Node system)")


def cold_start_plot(data: Results, path: Path) -> None:
    """Every cold-start sample per backend, with its median marked."""
    names = [b.name for b in data.backends]
    palette = colors(names)
    rows = [(n, o) for n in names if (o := data.op(n, COLD_START)) and o.n]
    fig, ax = plt.subplots(figsize=(12, 1.8 + 0.75 * max(1, len(rows))))
    ax.set_title("Cold start: fresh process, import driver, open, first load_all\n"
                 "(ms; dots = runs, bar and label = p50)")
    if not rows:
        _no_data(ax, "no cold-start samples")
    else:
        for y, (n, o) in enumerate(rows):
            samples = np.asarray(o.samples_ns or [], dtype=np.float64) / 1e6
            if o.p50_ms is not None:
                ax.barh(y, o.p50_ms, color=palette[n], alpha=0.35, height=0.6)
                # The label sits at the p50 (the bar's end), above the dots, not past the last dot.
                ax.annotate(f"p50 {o.p50_ms:.1f} ms", (o.p50_ms, y - 0.3), ha="center", va="bottom",
                            fontsize=9, annotation_clip=False)
            if len(samples):
                ax.scatter(samples, np.full(len(samples), y), color=palette[n], s=18, zorder=3)
        ax.set_yticks(range(len(rows)), [_label(n, _entries([data])) for n, _ in rows])
        ax.set_ylim(len(rows) - 0.4, -0.9)  # room above the first bar for its p50 label
        values = [v for _, o in rows for v in (o.p50_ms, o.max_ms) if v]
        if values and max(values) / min(values) > 20:
            _log_ms_axis(ax, "x", values)
        else:
            ax.set_xlim(0, max(values or [1]) * 1.2)
            ax.set_xlabel("ms")
            ax.grid(axis="x", alpha=0.3)
    tight_layout(fig)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def _p50(data: Results, backend: str, op: str) -> float | None:
    found = data.op(backend, op)
    return found.p50_ms if found else None


def comparison_plot(datas: Sequence[Results], run_labels: Sequence[str], path: Path) -> None:
    """p50 of each op per backend across several results files (run 1, run 2, …)."""
    names = list(dict.fromkeys(b.name for d in datas for b in d.backends))
    palette = colors(names)
    entries = _entries(datas)
    ops_shown = measured_ops(datas)
    fig, axes = _grid(f"p50 per operation across {len(datas)} runs (ms, log scale)", len(ops_shown))
    x = np.arange(1, len(datas) + 1)
    drawn: set[str] = set()
    for ax, op in zip(axes, ops_shown):
        ax.set_title(op)
        for n in names:
            y = [_p50(d, n, op) or np.nan for d in datas]
            if all(np.isnan(v) for v in y):
                continue
            ax.plot(x, y, marker=labels.marker(n), color=palette[n], label=_label(n, entries),
                    linestyle=labels.linestyle(n))
            for k, d in enumerate(datas):
                if (found := d.op(n, op)) is not None:
                    _p50_interval(ax, found, x[k], palette[n], horizontal=False)
            drawn.add(n)
        ax.set_xticks(x, [f"run {i}" for i in x])
        values = [v for d in datas for n in names if (v := _p50(d, n, op))]
        if values:
            _log_ms_axis(ax, "y", values)
        else:
            _no_data(ax, "no samples")
    handles = [matplotlib.lines.Line2D([], [], color=palette[n], marker=labels.marker(n), label=_label(n, entries),
                                       linestyle=labels.linestyle(n))
               for n in names if n in drawn]
    runs = "; ".join(f"{i + 1} = {label}" for i, label in enumerate(run_labels))[:150]
    _save(fig, path, handles, f"backend; bars: the p50's 95 % interval (runs: {runs})")


def write_plots(datas: Sequence[Results], labels: Sequence[str], out: Path) -> list[tuple[str, str]]:
    """Draw every plot for the last results file (and the comparison for several);
    returns (file name, caption) pairs."""
    # Names come from results files: a `$` in one stays a dollar sign, never starts mathtext.
    with matplotlib.rc_context({"text.parse_math": False, "font.size": 11}):
        return _write_plots(datas, labels, out)


def _write_plots(datas: Sequence[Results], labels: Sequence[str], out: Path) -> list[tuple[str, str]]:
    current = datas[-1]
    plots = [
        ("latency-percentiles.png", "p50 / p95 / p99 per operation and backend", percentiles_plot),
        ("latency-cdf.png", "latency distribution per operation", cdf_plot),
        ("cold-start.png", "cold start per backend", cold_start_plot),
    ]
    for file, _, draw in plots:
        draw(current, out / file)
    written = [(file, caption) for file, caption, _ in plots]
    for sweep in current.sweeps or []:
        file = f"sweep-{document.slug(sweep.param)}.png"
        plot_sweep(sweep, out / file, _entries([current]))
        written.append((file, f"p50 against {sweep.param}, log-log, with each backend's growth exponent b"))
    if len(datas) > 1:
        comparison_plot(datas, labels, out / "comparison.png")
        written.append(("comparison.png", "p50 per operation across the given runs"))
    return written
