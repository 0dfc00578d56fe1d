"""Shared fixtures: every registered backend, provisioned for real in a temporary folder; and
the suite's promise to leave the checkout as it found it."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from hypothesis.configuration import set_hypothesis_home_dir

from storebench import backends
from storebench.backends.base import Settings

CHECKOUT = Path(__file__).resolve().parent.parent
# Tool state that may change while the suite runs: the virtual environment, bytecode, pytest's
# cache, the editable install's metadata, the Node packages and what Next.js generates (`next
# dev` compiles into web/.next/dev and rewrites web/next-env.d.ts; both are git-ignored).
# Everything else in the checkout must stay as it was.
TOOL_STATE = {".git", ".venv", "__pycache__", ".pytest_cache", "storebench.egg-info", "node_modules", ".next",
              "next-env.d.ts", ".mypy_cache", ".ruff_cache", "build"}  # build/: make lint's package tree

# Hypothesis keeps its example database and caches in .hypothesis/ under the folder pytest
# started in, some of it while test modules are imported: its home is a temporary folder
# from the start, removed at exit.
hypothesis_settings.register_profile("storebench", database=None)
hypothesis_settings.load_profile("storebench")
HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="storebench-tests-hypothesis-")
set_hypothesis_home_dir(HYPOTHESIS_HOME)
atexit.register(shutil.rmtree, HYPOTHESIS_HOME, ignore_errors=True)


def checkout_files() -> dict[str, tuple[int, int]]:
    """Every file of the checkout outside TOOL_STATE: relative path -> (mtime, size)."""
    files = {}
    for folder, subfolders, names in os.walk(CHECKOUT):
        subfolders[:] = [d for d in subfolders if d not in TOOL_STATE]
        for name in names:
            if name not in TOOL_STATE:
                stat = os.lstat(os.path.join(folder, name))
                files[os.path.relpath(os.path.join(folder, name), CHECKOUT)] = (stat.st_mtime_ns, stat.st_size)
    return files


BEFORE = checkout_files()  # as pytest loads this file, before any test module is imported

# Most of the suite's time is spent waiting on other processes (sqld, Node, Chromium, Next.js,
# child runs of storebench), so more workers than the 2 cores of the target machine pay.
DEFAULT_WORKERS = 4


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    """A plain `pytest` runs in DEFAULT_WORKERS pytest-xdist workers, each test group on one
    worker (`--dist loadgroup`: the tests that share a session's Node runner, browser or module
    fixture carry one xdist_group mark, so it starts once). An -n or --dist given wins: `-n 0` or
    `-p no:xdist` runs in this process, for debugging; --pdb implies it."""
    if not config.pluginmanager.hasplugin("xdist") or config.option.usepdb:
        return
    if hasattr(config, "workerinput"):  # a worker: it parsed only the command line, see below
        config.option.loadgroup = config.workerinput["storebench_loadgroup"]
        return
    if config.option.numprocesses is None:
        config.option.numprocesses = DEFAULT_WORKERS
    if config.option.numprocesses and config.option.dist == "no":
        config.option.dist = "loadgroup"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist starts each worker with the command line, not the options set above, and a
    worker names its tests after their xdist_group only under loadgroup: tell it."""
    node.workerinput["storebench_loadgroup"] = node.config.option.dist == "loadgroup"


@pytest.fixture(scope="session", autouse=True)
def checkout_unchanged():
    """Fails the suite (an error at the last test's teardown) when any test created, changed or
    removed a file in the checkout: reports/, results/ and the user's files are theirs. Under
    pytest-xdist each worker checks at its end, against the checkout as it found it before any
    test ran (workers collect before the first test is handed out), so the worker that ran the
    offending test always reports it, and no worker can report another's tool state."""
    yield
    after = checkout_files()
    changed = sorted(p for p in BEFORE.keys() | after.keys() if BEFORE.get(p) != after.get(p))
    assert not changed, f"the tests changed the checkout (use tmp_path): {', '.join(changed[:10])}"


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Every test runs in its own temporary folder, so a default output path (results/,
    reports/) lands there and never in the checkout or wherever pytest was started."""
    monkeypatch.chdir(tmp_path)


# Backend kinds whose provisioning starts a server process (sqld, the API server, the proxy).
SERVER_KINDS = {"server", "api", "remote", "replica"}


def backend_marks(name: str) -> list[pytest.MarkDecorator]:
    """A server backend's tests are marked `server`. A self-timed backend's tests share its
    session store (shared_stores: a Node runner or a browser page, seconds to start), so they run
    on one pytest-xdist worker: the group named after the backend."""
    cls = backends.get(name)
    return ([pytest.mark.server] if cls.kind in SERVER_KINDS else []) + \
        ([pytest.mark.xdist_group(name)] if cls.self_timed else [])


def pytest_generate_tests(metafunc):
    if "backend_name" in metafunc.fixturenames:
        metafunc.parametrize("backend_name",
                             [pytest.param(name, marks=backend_marks(name)) for name in backends.names()])


def skip_if_in_a_browser(name: str) -> None:
    """The generic per-backend tests that start a client process per writer (probes, concurrent
    clients) skip the backends whose client is a page in Chromium: each such client starts its
    own browser, seconds apiece. tests/test_browser.py covers those paths for them."""
    if "chromium" in backends.get(name).capabilities.needs:
        pytest.skip(f"{name} runs in a browser (one per client); see tests/test_browser.py")


def default_sigint() -> None:
    """`preexec_fn` for a harness a Ctrl-C test interrupts: a suite started as a shell's
    background job (`make test &`, nohup) has SIGINT ignored, children inherit that, and Python
    then never turns Ctrl-C into KeyboardInterrupt. The Ctrl-C tests need the default back."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


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
