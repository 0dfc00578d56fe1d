"""Does the emulated `turso` cost what the model says? A check on a results file.

For each op: expected p50 = `sqld-ws` p50 (the same server and client, no link) +
round_trips × rtt_ms. Prints both and the deviation; exits 1 when an op is off by more than
the tolerance (±20 % by default), 2 when the file cannot be used.

    python -m storebench.capabilities.emulation_check results/latest.json [--tolerance 0.2]
"""

from __future__ import annotations

import argparse
import sys

from storebench.core.workload import OPS
from storebench.model.results import Results, ResultsError

EMULATED, BASELINE = "turso", "sqld-ws"


def compare(data: Results) -> list[dict]:
    """One row per op: p50 measured, p50 expected from the model, relative deviation."""
    turso = data.backend(EMULATED)
    if not turso or not turso.emulated or turso.status != "ok" or data.backend(BASELINE) is None:
        raise ResultsError(f"needs an ok, emulated {EMULATED!r} and a {BASELINE!r} row in the file")
    rtt_ms = float(data.run.params["settings"]["rtt_ms"])
    rows = []
    for op in OPS:
        measured, base = data.op(EMULATED, op), data.op(BASELINE, op)
        if not measured or not base or measured.round_trips is None or measured.p50_ms is None or base.p50_ms is None:
            continue
        expected = base.p50_ms + measured.round_trips * rtt_ms
        rows.append({"op": op, "p50_ms": measured.p50_ms, "expected_ms": expected,
                     "round_trips": measured.round_trips, "deviation": measured.p50_ms / expected - 1})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m storebench.capabilities.emulation_check",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--tolerance", type=float, default=0.2)
    args = parser.parse_args(argv)
    try:
        rows = compare(Results.load(args.results))
    except ResultsError as exc:
        print(f"emulation_check: error: {exc}", file=sys.stderr)
        return 2
    failed = False
    for r in rows:
        ok = abs(r["deviation"]) <= args.tolerance
        failed |= not ok
        print(f"{r['op']:<22} p50 {r['p50_ms']:8.2f} ms  expected {r['expected_ms']:8.2f} ms "
              f"({BASELINE} p50 + {r['round_trips']:g} x rtt)  {r['deviation']:+6.1%}  {'ok' if ok else 'OFF'}")
    return 1 if failed or not rows else 0


if __name__ == "__main__":
    raise SystemExit(main())
