"""The overhead-ratio pass: each orm op's p50 over its raw backend's p50 in the same run."""

from __future__ import annotations

import pytest

from storebench.model.overhead_ratio import add_overhead_ratios
from storebench.model.results import BackendResult, OpResult, Results, RunInfo


def backend(name: str, kind: str, status: str = "ok", reason: str | None = None, **extra) -> BackendResult:
    # from_dict, as read from a file: `overhead_vs: null` is present, unlike an absent key
    return BackendResult.from_dict({"name": name, "kind": kind, "status": status, "reason": reason, **extra})


def op(backend_name: str, name: str, p50_ms: float | None) -> OpResult:
    return OpResult(backend=backend_name, op=name, p50_ms=p50_ms)


def results(backends: list[BackendResult], ops: list[OpResult]) -> dict:
    return add_overhead_ratios(Results(run=RunInfo(), backends=backends, ops=ops)).to_dict()


def orm_op(data: dict, name: str = "add_message") -> dict:
    [found] = [o for o in data["ops"] if o["backend"] == "sqlalchemy-orm" and o["op"] == name]
    return found


def test_ratio_is_orm_p50_over_raw_p50_of_the_same_op():
    data = results(
        [backend("libsql", "embedded"), backend("sqlalchemy-orm", "orm", overhead_vs="libsql")],
        [op("libsql", "add_message", 0.04), op("libsql", "load_all", 2.0),
         op("sqlalchemy-orm", "add_message", 0.1), op("sqlalchemy-orm", "load_all", 5.0)],
    )
    assert orm_op(data)["overhead_ratio"] == pytest.approx(2.5)
    assert orm_op(data, "load_all")["overhead_ratio"] == pytest.approx(2.5)
    assert orm_op(data)["overhead_vs"] == "libsql"
    assert orm_op(data)["overhead_reason"] is None


def test_raw_backends_get_no_ratio_fields():
    data = results(
        [backend("libsql", "embedded"), backend("sqlalchemy-orm", "orm", overhead_vs="libsql")],
        [op("libsql", "add_message", 0.04), op("sqlalchemy-orm", "add_message", 0.1)],
    )
    assert "overhead_ratio" not in data["ops"][0]


def test_raw_backend_not_in_the_run_gives_none_and_says_so():
    data = results(
        [backend("sqlalchemy-orm", "orm", overhead_vs="libsql")], [op("sqlalchemy-orm", "add_message", 0.1)],
    )
    entry = orm_op(data)
    assert entry["overhead_ratio"] is None and entry["overhead_vs"] == "libsql"
    assert "libsql did not run" in entry["overhead_reason"]


@pytest.mark.parametrize("status", ["failed", "unavailable"])
def test_raw_backend_that_did_not_finish_gives_none_with_its_reason(status):
    data = results(
        [backend("libsql", "embedded", status, "driver missing"),
         backend("sqlalchemy-orm", "orm", overhead_vs="libsql")],
        [op("libsql", "add_message", 0.04), op("sqlalchemy-orm", "add_message", 0.1)],
    )
    assert orm_op(data)["overhead_ratio"] is None
    assert orm_op(data)["overhead_reason"] == f"libsql {status}: driver missing"


def test_no_raw_backend_for_the_engine_gives_none():
    data = results(
        [backend("libsql", "embedded"), backend("sqlalchemy-orm", "orm", overhead_vs=None)],
        [op("libsql", "add_message", 0.04), op("sqlalchemy-orm", "add_message", 0.1)],
    )
    assert orm_op(data)["overhead_ratio"] is None and orm_op(data)["overhead_vs"] is None
    assert "no raw backend" in orm_op(data)["overhead_reason"]


@pytest.mark.parametrize("raw_p50, orm_p50, reason", [
    (None, 0.1, "libsql has no add_message samples"),
    (0.04, None, "no add_message samples"),
])
def test_missing_samples_on_either_side_give_none(raw_p50, orm_p50, reason):
    data = results(
        [backend("libsql", "embedded"), backend("sqlalchemy-orm", "orm", overhead_vs="libsql")],
        [op("libsql", "add_message", raw_p50), op("sqlalchemy-orm", "add_message", orm_p50)],
    )
    assert orm_op(data)["overhead_ratio"] is None
    assert orm_op(data)["overhead_reason"] == reason
