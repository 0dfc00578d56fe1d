"""Shared fixtures: every registered backend, provisioned for real in a temporary folder."""

from __future__ import annotations

import contextlib

import pytest

import backends
from backends.base import Settings


def pytest_generate_tests(metafunc):
    if "backend_name" in metafunc.fixturenames:
        metafunc.parametrize("backend_name", backends.names())


def skip_if_opt_in(name: str) -> None:
    """The generic per-backend tests that start a client process per writer (probes, concurrent
    clients) skip the backends left out of the default run: each such client starts its own
    browser, seconds apiece. tests/test_browser.py covers those paths for them."""
    reason = backends.get(name).not_in_all
    if reason:
        pytest.skip(f"{name} is opt-in ({reason}); see tests/test_browser.py")


@pytest.fixture
def settings() -> Settings:
    # A short emulated RTT: the suite checks behaviour, and the proxy's delay still applies.
    return Settings(rtt_ms=2.0)


@pytest.fixture(scope="session")
def shared_stores(tmp_path_factory):
    """Self-timed stores run in a runtime of their own (a browser page, a Node process) that
    takes seconds to start: each is provisioned and opened once per session, and stopped at its
    end. `get(name, settings)` returns it."""
    stores = {}
    with contextlib.ExitStack() as stack:
        def get(name: str, settings: Settings):
            if name not in stores:
                cls = backends.get(name)
                target = stack.enter_context(cls.provision(tmp_path_factory.mktemp(name), settings))
                stores[name] = stack.enter_context(cls(target, settings))  # opened now, closed at the end
                stores[name].setup_schema()
            return stores[name]

        yield get


@pytest.fixture
def store(backend_name, settings, tmp_path, shared_stores):
    """An open store with its schema, on the real backend (a real server where it has one),
    empty at the start of each test."""
    reason = backends.unavailable_reason(backend_name)
    if reason:
        pytest.fail(f"{backend_name} is unavailable here: {reason}")
    cls = backends.get(backend_name)
    if cls.self_timed:
        shared = shared_stores(backend_name, settings)
        for conversation in shared.load_all():  # what the previous test left
            shared.delete_conversation(conversation.id)
        yield shared
        return
    with cls.provision(tmp_path, settings) as target:
        s = cls(target, settings)
        s.open()
        try:
            s.setup_schema()
            yield s
        finally:
            s.close()
