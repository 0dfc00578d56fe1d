"""One exception hierarchy: user errors are `UsageError`s (exit 2 from one place in the CLI),
runtime failures are the other `StorebenchError`s."""

from __future__ import annotations

import pytest

from storebench import backends
from storebench.backends.base import OpTimeout, StoreError
from storebench.capabilities.netns import NetnsError
from storebench.capabilities.preflight import PreflightError
from storebench.core.backend_worker import WorkerError
from storebench.core.coordinator import WorkerFailed
from storebench.core.inject import InjectError
from storebench.core.swarm import SwarmUsage
from storebench.errors import StorebenchError, UsageError
from storebench.gate.ab import AbError
from storebench.gate.check import CheckError
from storebench.model.results import ResultsError
from storebench.servers.managed import EarlyExit
from storebench.servers.wan_proxy import ProxyError

USER_ERRORS = [ResultsError, CheckError, AbError, SwarmUsage, InjectError, backends.UnknownBackend,
               backends.BackendModuleError, PreflightError]
RUNTIME_ERRORS = [StoreError, OpTimeout, EarlyExit, WorkerFailed, WorkerError, ProxyError, NetnsError]


@pytest.mark.parametrize("error", USER_ERRORS, ids=lambda e: e.__name__)
def test_user_errors_are_usage_errors(error):
    assert issubclass(error, UsageError)


@pytest.mark.parametrize("error", [e for e in USER_ERRORS if e is not PreflightError], ids=lambda e: e.__name__)
def test_user_errors_stay_value_errors_for_callers_that_catch_those(error):
    assert issubclass(error, ValueError)


@pytest.mark.parametrize("error", RUNTIME_ERRORS, ids=lambda e: e.__name__)
def test_runtime_errors_are_storebench_errors_but_not_usage_errors(error):
    assert issubclass(error, StorebenchError) and not issubclass(error, UsageError)


@pytest.mark.parametrize("error", USER_ERRORS, ids=lambda e: e.__name__)
def test_the_cli_reports_any_user_error_as_one_line_and_exit_2(error, monkeypatch, capsys):
    from storebench import cli

    def raise_it(args):
        raise error("what to fix")

    monkeypatch.setitem(cli.COMMANDS, "backends", raise_it)
    assert cli.main(["backends"]) == cli.EXIT_USAGE
    assert capsys.readouterr().err == "storebench: error: what to fix\n"
