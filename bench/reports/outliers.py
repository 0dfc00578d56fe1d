"""Outliers explained where they appear: a p50 more than FACTOR times its closest peer's (the
same op, a backend of the same kind) carries a one-line reason when one is known.

A reason is evidence, never a guess: either a finding measured and written up in the docs
(KNOWN, each naming its page), or what the results file itself records (the round trips
counted per call against the peer's). Where neither explains it, the line says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from storebench.model.results import OpResult, Results
from storebench.reports import document as doc

FACTOR = 3.0

_GZIP = ("Node's `fetch` asks for gzip, so sqld compresses the 2.2 MB answer and Node spends 565–890 ms of CPU "
         "per load_all reading it, at any RTT (docs/node.md, “Node 20's fetch and large results”)")
# (backend, op) -> the documented reason.
KNOWN: dict[tuple[str, str], str] = {
    ("node-turso", "load_all"): _GZIP,
    ("drizzle-turso", "load_all"): _GZIP,
    ("node-sqld", "load_all"): _GZIP,
}


@dataclass(frozen=True)
class Outlier:
    backend: str
    op: str
    p50_ms: float
    peer: str
    peer_p50_ms: float
    reason: str

    def text(self) -> str:
        return (f"{doc.code(self.backend)} {self.op} p50 {self.p50_ms:.3g} ms is {self.p50_ms / self.peer_p50_ms:.1f}× "
                f"its closest peer {doc.code(self.peer)} ({self.peer_p50_ms:.3g} ms): {self.reason}")


def _peers(results: Results, entry: OpResult) -> list[OpResult]:
    mine = results.backend(entry.backend)
    kind = mine.kind if mine else None
    out = []
    for other in results.indexed_ops():
        found = results.backend(other.backend)
        if (other.op == entry.op and other.backend != entry.backend and other.p50_ms and found
                and found.kind == kind and found.status == "ok"):
            out.append(other)
    return out


def find(results: Results, backend: str, op: str) -> Outlier | None:
    """The outlier of `backend`'s `op`, or None when its p50 is within FACTOR of its closest peer's
    (the peer whose p50 is nearest on a log scale) or it has no peer."""
    entry = results.op(backend, op)
    if entry is None or not entry.p50_ms:
        return None
    peers = _peers(results, entry)
    if not peers:
        return None
    closest = min(peers, key=lambda o: abs(_log_ratio(entry.p50_ms or 0, o.p50_ms or 0)))
    peer_p50 = closest.p50_ms or 0
    if entry.p50_ms <= FACTOR * peer_p50:
        return None
    return Outlier(backend, op, entry.p50_ms, closest.backend, peer_p50, _reason(entry, closest))


def _log_ratio(a: float, b: float) -> float:
    return math.log(a / b)


def _reason(entry: OpResult, peer: OpResult) -> str:
    known = KNOWN.get((entry.backend, entry.op))
    if known:
        return known
    trips, theirs = entry.round_trips, peer.round_trips
    if trips is not None and trips > 0 and (theirs is None or trips >= FACTOR * max(theirs, 1e-9)):
        counted = "none counted" if theirs is None else f"{theirs:.3g}"
        return (f"{trips:.3g} network round trips counted per call against {counted} for {doc.code(peer.backend)} "
                "(docs/backends.md; the report's round-trip model)")
    return "no reason is known (not explained by the round trips counted)"


def of_op(results: Results, op: str) -> list[Outlier]:
    """Every outlier of one op, in file order."""
    return [found for o in results.indexed_ops() if o.op == op if (found := find(results, o.backend, op))]


def text(results: Results, names: Sequence[str], ops: Sequence[str]) -> str:
    """" Outliers: …" for the named backends' ops, short (each with its reason under its op's
    table in the detail document), "" when none is an outlier."""
    found = [f for name in names for op in ops if (f := find(results, name, op))]
    if not found:
        return ""
    by_backend: dict[str, list[Outlier]] = {}
    for f in found:
        by_backend.setdefault(f.backend, []).append(f)
    parts = [f"{doc.code(name)} " + ", ".join(f"{f.op} {f.p50_ms / f.peer_p50_ms:.1f}× {doc.code(f.peer)}" for f in fs)
             for name, fs in by_backend.items()]
    return (f" Outliers (p50 over {FACTOR:g}× the closest peer of the same kind; the reasons are under each op's "
            "table in latency.md): " + "; ".join(parts) + ".")
