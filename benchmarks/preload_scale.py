"""How long preloading a big history takes: 100,000 conversations / 1,000,000 messages.

Per backend: a fresh file, the schema, then `bench.preload.bulk_preload` (generated batch by
batch, one transaction per batch of conversations); then the row counts are read back to
prove every row arrived. Generation and insertion are timed apart. Target (issue 8): under
60 s in total for an embedded backend.

    python benchmarks/preload_scale.py [--backends sqlite3,apsw,libsql] [--conversations 100000]
                                       [--messages 10] [--batch 2000]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storebench import backends  # noqa: E402
from storebench.backends.base import Settings  # noqa: E402
from storebench.core.preload import BATCH, bulk_preload  # noqa: E402

BUDGET_S = 60.0


def row_counts(path: str) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        return (conn.execute("SELECT count(*) FROM conversations").fetchone()[0],
                conn.execute("SELECT count(*) FROM messages").fetchone()[0])
    finally:
        conn.close()


def measure(name: str, conversations: int, messages: int, batch: int) -> str:
    cls = backends.get(name)
    reason = backends.unavailable_reason(name)
    if reason:
        return f"{name:<9} unavailable: {reason}"
    if cls.kind != "embedded":
        return f"{name:<9} skipped: not an embedded backend"
    settings = Settings()
    with tempfile.TemporaryDirectory() as tmp, cls.provision(Path(tmp), settings) as target:
        store = cls(target, settings)
        store.open()
        try:
            store.setup_schema()
            t0 = time.perf_counter()
            timing = bulk_preload(store, seed=1, conversations=conversations, messages=messages, batch=batch)
            wall = time.perf_counter() - t0
        finally:
            store.close()
        counts = row_counts(target.path)
        size_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
    ok = counts == (conversations, conversations * messages)
    verdict = "within" if wall < BUDGET_S else "OVER"
    return (f"{name:<9} {wall:6.1f} s ({verdict} {BUDGET_S:.0f} s budget): generate {timing.generate_s:5.1f} s, "
            f"insert {timing.insert_s:5.1f} s; {timing.content_bytes / 1e6:.0f} MB of bodies, files {size_mb:.0f} MB; "
            f"rows {counts[0]}/{counts[1]} {'ok' if ok else 'MISMATCH'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite3,apsw,libsql")
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=10, help="messages per conversation")
    parser.add_argument("--batch", type=int, default=BATCH, help="conversations per transaction")
    args = parser.parse_args()
    for name in args.backends.split(","):
        print(measure(name.strip(), args.conversations, args.messages, args.batch), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
