"""No input crashes the results loader: it returns a valid file or raises ResultsError."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storebench.model.results import SCHEMA, Results, ResultsError

pytestmark = pytest.mark.slow  # hundreds of generated files

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
op_like = st.fixed_dictionaries(
    {"backend": st.text(max_size=5) | st.none(), "op": st.text(max_size=5), "n": json_values,
     "errors": json_values, "samples_ns": json_values, "p50_ms": json_values}
)
results_like = st.fixed_dictionaries(
    {"schema": st.sampled_from([SCHEMA, "storebench.results/2", "x"]) | json_values,
     "run": json_values | st.just({}), "backends": st.lists(json_values, max_size=3) | json_values,
     "ops": st.lists(op_like | json_values, max_size=3) | json_values}
)


def assert_loads_or_refuses(tmp_path, payload: bytes) -> None:
    path = tmp_path / "fuzz.json"
    path.write_bytes(payload)
    try:
        data = Results.load(path)
    except ResultsError as exc:
        assert "\n" not in str(exc)
    else:
        assert data.schema == SCHEMA


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(results_like)
def test_structured_garbage_is_loaded_or_refused(tmp_path, doc):
    assert_loads_or_refuses(tmp_path, json.dumps(doc).encode())


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_loaded_or_refused(tmp_path, payload):
    assert_loads_or_refuses(tmp_path, payload)


def test_deeply_nested_json_is_refused(tmp_path):
    assert_loads_or_refuses(tmp_path, b"[" * 100_000 + b"]" * 100_000)
