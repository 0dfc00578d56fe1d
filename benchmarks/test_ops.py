"""Each backend x op as a pytest-benchmark benchmark (see conftest.py for how it is driven)."""

from __future__ import annotations


def test_op(benchmark, backend_op, planned):
    backend, op = backend_op
    driver, params, profile = planned
    benchmark.group = backend
    # Read back by bench/model/pytest_benchmark_json.py, so `storebench check` can compare these runs.
    # seed and plan: two such runs made the same calls, so check can compare them call by call.
    benchmark.extra_info.update(backend=backend, op=op, profile=profile, seed=driver.workload.seed,
                                plan=driver.workload.params.__dict__)
    method = getattr(driver.store, op)
    benchmark.pedantic(method, setup=driver.next_args, rounds=params.iterations,
                       warmup_rounds=params.warmup, iterations=1)
    problem = driver.finish()
    assert problem is None, f"content after the benchmark differs: {problem}"
