"""Terminal output of `storebench run`: the progress bar and the end-of-run summary table."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from storebench.core.workload import ALL_OPS
from storebench.model.results import OpResult, Results
from storebench.reports import labels, ranking

SHORT = {"load_all": "load", "create_conversation": "create", "add_message": "message",
         "update_title": "title", "delete_conversation": "delete", "cold_start": "cold start"}


@contextlib.contextmanager
def progress_bar(console: Console, names: list[str], disabled: bool = False) -> Iterator:
    """Yields a callback (backend, done, total) that advances that backend's bar."""
    bar = Progress(TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=console, disable=disabled, transient=False)
    tasks = {name: bar.add_task(name, total=None, start=False) for name in names}

    def update(name: str, done: int, total: int) -> None:
        bar.start_task(tasks[name])
        bar.update(tasks[name], completed=done, total=total)

    with bar:
        yield update


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _op_cell(o: OpResult | None) -> str:
    """p50, then its interval's half-width on a second line (the cell stays narrow at 80
    columns), then the errors when there were any."""
    if not o:
        return "-"
    figure = ranking.p50_figure(o)
    lines = [fmt_ms(o.p50_ms)]
    if figure is not None:
        lines.append(f"±{figure.spread * 100:.0f}%" if figure.spread is not None else "±?")
    if o.errors:
        lines.append(f"[{o.errors}]")
    return "\n".join(lines)


def _table(title: str) -> Table:
    # No vertical rules: at 80 columns every character goes to the figures, none is cut.
    return Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1))


def print_summary(console: Console, data: Results) -> None:
    table = _table("p50 latency, ms (±: its 95 % interval, ±? too few samples; \\[errors])")
    named = [(b.name, b) for b in data.backends]
    table.add_column("backend", no_wrap=True)
    for op in ALL_OPS:
        table.add_column(SHORT.get(op, op), justify="right", overflow="fold")
    for name, b in named:
        table.add_row(Text(labels.marked(name, b)), *(Text(_op_cell(data.op(name, op))) for op in ALL_OPS))
    console.print(table)
    for line in labels.mark_legend(named):
        console.print(Text(line), overflow="fold")
    print_overhead_ratios(console, data)
    for b in data.backends:
        if b.status != "ok":
            console.print(f"{b.name}: {b.status}: {b.reason}")
    if data.overhead:
        console.print(f"harness overhead per sample (null op): p50 {data.overhead.p50_ns} ns")


def print_overhead_ratios(console: Console, data: Results) -> None:
    """The ORM tier's p50 over its raw backend's p50, op by op (set by bench.overhead_ratio)."""
    rated = [o for o in data.indexed_ops() if o.has("overhead_ratio")]
    if not rated:
        return
    table = _table("Layer overhead: p50 / the p50 of the backend beneath it, same run")
    table.add_column("backend", no_wrap=True)
    table.add_column("vs")
    for op in ALL_OPS:
        table.add_column(SHORT.get(op, op), justify="right", overflow="fold")
    for name in dict.fromkeys(o.backend for o in rated):
        cells = []
        for op in ALL_OPS:
            o = data.op(name, op)
            cells.append(f"{o.overhead_ratio:.2f}x" if o and o.overhead_ratio is not None else "-")
        first = data.op(name, ALL_OPS[0])
        table.add_row(name, str((first.overhead_vs if first else None) or "-"), *cells)
    console.print(table)
    for name, reason in dict.fromkeys((o.backend, o.overhead_reason) for o in rated if o.overhead_reason):
        console.print(f"{name}: no overhead ratio where shown '-': {reason}")


def print_load_summary(console: Console, data: Results) -> None:
    """The open-loop note, the concurrency table and the sweeps' growth exponents, when run."""
    rate = data.run.params.get("rate")
    if rate:
        console.print(f"open loop at {rate:g} ops/s ({data.run.params['arrivals']} arrivals): "
                      "latencies above count from each op's scheduled start")
    if data.concurrency:
        table = _table("concurrent clients (aggregate)")
        for column in ("backend", "clients", "status", "ops/s", "message p50", "message p99", "errors", "busy"):
            table.add_column(column, justify="left" if column in ("backend", "status") else "right", overflow="fold")
        for c in data.concurrency:
            add = (c.ops or {}).get("add_message", {})
            thr = c.throughput_ops_s
            table.add_row(c.backend, str(c.clients), c.status, f"{thr:.0f}" if thr else "-",
                          fmt_ms(add.get("p50_ms")), fmt_ms(add.get("p99_ms")),
                          str(c.errors if c.has("errors") else "-"),
                          str(c.busy_errors if c.has("busy_errors") else "-"))
        console.print(table)
    from storebench.reports.report import fitted_over

    for sweep in data.sweeps or []:
        for b in sweep.backends:
            exps = ", ".join(f"{SHORT.get(op, op)} {v['growth_exponent']:.2f} (over {fitted_over(sweep, v)})"
                             for op, v in b.ops.items() if v["growth_exponent"] is not None)
            limit = b.load_all_limit or {}
            where = f"{limit['size']} {sweep.param} ({limit['basis']})" if limit["size"] else limit["basis"]
            console.print(f"sweep {sweep.param} {b.backend}: growth exponents {exps}; "
                          f"load_all p50 passes {sweep.load_all_limit_ms:g} ms at {where}")


def failure_paragraph(data: Results, out) -> str | None:
    """One paragraph naming what failed in the run and why, or None when nothing did."""
    parts = [f"{b.name} {b.status}: {b.reason}" for b in data.backends if b.status == "failed"]
    parts += [f"{c.backend} with {c.clients} clients failed: {c.reason}"
              for c in data.concurrency or [] if c.status == "failed"]
    parts += [f"sweep {s.param} {b.backend} had failing points" for s in data.sweeps or []
              for b in s.backends if any(p["status"] == "failed" for p in b.points)]
    if not parts:
        return None
    ok = sum(b.status == "ok" for b in data.backends)
    return (f"storebench: the run finished with failures ({ok} of {len(data.backends)} backends ok). "
            + "; ".join(parts) + f". Every op's errors and error texts are in {out}; "
            "the other backends' figures are complete.")
