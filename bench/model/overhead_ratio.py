"""What a layer costs over the engine beneath it, from one run's results: a pass over the data.

A backend that wraps another one's engine (the ORM tier over its raw driver, the API routes
over embedded libsql) names that backend in its entry's `overhead_vs` (from `describe()`).
Each of its op entries gets `overhead_vs`, `overhead_ratio` (its p50 over the raw backend's
p50 of the same op, same run), `overhead_p50_ms` (the p50 difference: what the layer adds),
and `overhead_reason`: None when the figures are there, else why they are not.
"""

from __future__ import annotations

from storebench.model.results import BackendResult, OpResult, Results


def _p50s(raw: str | None, raw_entry: BackendResult | None, raw_op: OpResult | None,
          own_op: OpResult) -> tuple[float, float] | str:
    """The op's p50 and the raw backend's, or why they are not both there."""
    if raw is None:
        return "no raw backend runs on the same engine as this backend's database (see its dialect)"
    if raw_entry is None:
        return f"{raw} did not run in this run; add it to --backends to get the ratio"
    if raw_entry.status != "ok":
        return f"{raw} {raw_entry.status}: {raw_entry.reason}"
    if raw_op is None or raw_op.p50_ms is None:
        return f"{raw} has no {own_op.op} samples"
    if own_op.p50_ms is None:
        return f"no {own_op.op} samples"
    if raw_op.p50_ms <= 0:
        return f"{raw} {own_op.op} p50 is 0"
    return own_op.p50_ms, raw_op.p50_ms


def add_overhead_ratios(results: Results) -> Results:
    """Set the overhead fields on every op entry of a backend naming `overhead_vs`; returns `results`."""
    for entry in results.backends:
        if not entry.has("overhead_vs"):  # null is "no raw backend on this engine", and gets a reason
            continue
        raw = entry.overhead_vs
        for op in results.ops:
            if op.backend != entry.name:
                continue
            found = _p50s(raw, results.backend(raw) if raw else None, results.op(raw, op.op) if raw else None, op)
            op.overhead_vs = raw
            if isinstance(found, str):
                op.overhead_ratio = op.overhead_p50_ms = None  # assigned left to right: the file's key order
                op.overhead_reason = found
            else:
                own, base = found
                op.overhead_ratio, op.overhead_p50_ms, op.overhead_reason = own / base, own - base, None
    return results
