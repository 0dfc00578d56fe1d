"""How many SQL statements each op of the SQLAlchemy backends sends, on the benchmark's data.

Preloads the workload (quick profile size by default), runs a few rounds of the op plan, and
counts statements with SQLAlchemy's `before_cursor_execute` event (our BEGIN not counted;
COMMIT goes through the driver's commit()). Documents that `load_all` is N+1-free: its count
does not grow with the number of conversations (the ORM: one messages query per 500).

    python benchmarks/orm_statements.py [--conversations 100] [--messages 20] [--rounds 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storebench import backends  # noqa: E402
from storebench.backends.base import Settings  # noqa: E402
from storebench.backends.sqlalchemy_support import StatementCounter  # noqa: E402
from storebench.core.workload import OPS, Params, Workload  # noqa: E402

SQLALCHEMY_BACKENDS = ("sqlalchemy-core", "sqlalchemy-orm")


def statements_per_op(name: str, params: Params, rounds: int) -> dict[str, set[int]]:
    """The distinct statement counts seen for each op over `rounds` rounds of the plan."""
    cls = backends.get(name)
    settings = Settings()
    workload = Workload(params, seed=1)
    seen: dict[str, set[int]] = defaultdict(set)
    with tempfile.TemporaryDirectory() as tmp, cls.provision(Path(tmp), settings) as target:
        store = cls(target, settings)
        store.open()
        try:
            store.setup_schema()
            store.preload(workload.initial_state)
            counter = StatementCounter(store.engine)
            for op, args in workload.plan(rounds):
                with counter.counting():
                    getattr(store, op)(*args)
                seen[op].add(counter.count)
        finally:
            store.close()
    return seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    params = Params(args.conversations, args.messages, args.rounds, 0, 0)
    print(f"SQL statements per op, {args.conversations} conversations x {args.messages} messages")
    print(f"{'backend':<16}" + "".join(f"{op:>22}" for op in OPS))
    for name in SQLALCHEMY_BACKENDS:
        seen = statements_per_op(name, params, args.rounds)
        print(f"{name:<16}" + "".join(f"{'/'.join(map(str, sorted(seen[op]))):>22}" for op in OPS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
