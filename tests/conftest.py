"""Shared fixtures: every registered backend, provisioned for real in a temporary folder."""

from __future__ import annotations

import pytest

import backends
from backends.base import Settings


def pytest_generate_tests(metafunc):
    if "backend_name" in metafunc.fixturenames:
        metafunc.parametrize("backend_name", backends.names())


@pytest.fixture
def settings() -> Settings:
    # A short emulated RTT: the suite checks behaviour, and the proxy's delay still applies.
    return Settings(rtt_ms=2.0)


@pytest.fixture
def store(backend_name, settings, tmp_path):
    """An open store with its schema, on the real backend (a real server where it has one)."""
    reason = backends.unavailable_reason(backend_name)
    if reason:
        pytest.fail(f"{backend_name} is unavailable here: {reason}")
    cls = backends.get(backend_name)
    with cls.provision(tmp_path, settings) as target:
        s = cls(target, settings)
        s.open()
        try:
            s.setup_schema()
            yield s
        finally:
            s.close()
