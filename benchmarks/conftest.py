"""pytest-benchmark entry point: each backend x op as a pytest-benchmark benchmark.

    pytest benchmarks/ --benchmark-only [--storebench-backends sqlite3,apsw] [--storebench-profile smoke]
           [--benchmark-save=NAME] [--benchmark-save-data] [--benchmark-json=PATH]

Same adapters, same seeded workload and same content checks as `storebench run`: the store is
provisioned and preloaded, the plan's rounds of all five ops run in order, and only the
benchmarked op's calls are timed (pytest-benchmark's rounds, one call each); the other ops run
untimed between them, so every call sees the store `storebench run` would. cold_start (a
fresh process per sample) is not offered here. `make test` does not collect this folder (its
pytest testpaths is tests/).
"""

from __future__ import annotations

import pytest

from storebench import backends
from storebench.backends.base import Settings
from storebench.core.workload import OPS, PROFILES, Workload, difference


def pytest_addoption(parser):
    group = parser.getgroup("storebench")
    group.addoption("--storebench-backends", default="all", help="comma-separated backends, or all (default)")
    group.addoption("--storebench-profile", default="smoke", choices=list(PROFILES),
                    help="data size, timed rounds and warm-up rounds (default smoke)")
    group.addoption("--storebench-seed", type=int, default=1, help="workload seed (default 1)")


def chosen_backends(config) -> list[str]:
    text = config.getoption("--storebench-backends")
    names = backends.names() if text.strip() == "all" else [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in backends.REGISTRY]
    if unknown:
        raise pytest.UsageError(f"--storebench-backends: unknown {', '.join(unknown)}; "
                                f"valid: {', '.join(backends.names())}, all")
    return names


def pytest_generate_tests(metafunc):
    if "backend_op" in metafunc.fixturenames:
        pairs = [(b, op) for b in chosen_backends(metafunc.config) for op in OPS]
        metafunc.parametrize("backend_op", pairs, ids=[f"{b}-{op}" for b, op in pairs])


class PlannedStore:
    """A store driven through the workload plan, one benchmarked op at a time.

    `next_args()` (pytest-benchmark's setup) runs, untimed, the rest of the previous round
    and the ops of the next round that come before the benchmarked op, then returns that
    op's arguments; pytest-benchmark times exactly that one call.
    """

    def __init__(self, store, workload: Workload, op: str) -> None:
        self.store, self.workload, self.op = store, workload, op
        self.after: list = []  # the rest of the current round, run before the next round

    def next_args(self) -> tuple[tuple, dict]:
        self._run(self.after)
        steps = self.workload.plan(1)
        at = [op for op, _ in steps].index(self.op)
        self._run(steps[:at])
        self.after = steps[at + 1:]
        return steps[at][1], {}

    def finish(self) -> str | None:
        """Complete the last round; None when the store holds exactly the expected content."""
        self._run(self.after)
        self.after = []
        return difference(self.workload.model.snapshot(), self.store.load_all())

    def _run(self, steps) -> None:
        for op, args in steps:
            getattr(self.store, op)(*args)


@pytest.fixture
def planned(backend_op, tmp_path, request):
    backend, op = backend_op
    reason = backends.unavailable_reason(backend)
    if reason:
        pytest.skip(f"{backend} is unavailable here: {reason}")
    profile = request.config.getoption("--storebench-profile")
    params = PROFILES[profile]
    settings = Settings()
    cls = backends.get(backend)
    with cls.provision(tmp_path, settings) as target:
        store = cls(target, settings)
        store.open()
        try:
            store.setup_schema()
            workload = Workload(params, request.config.getoption("--storebench-seed"))
            store.preload(workload.initial_state)
            problem = difference(workload.initial_state, store.load_all())
            assert problem is None, f"content after preload differs: {problem}"
            yield PlannedStore(store, workload, op), params, profile
        finally:
            store.close()
