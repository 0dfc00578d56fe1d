"""Configuration a run depends on, checked before anything is measured: a bad one is the
user's to fix (exit 2, one line), not a backend failure found minutes into the run."""

from __future__ import annotations

import os
import urllib.error

from storebench import backends
from storebench.backends.base import Settings, StoreError, Target
from storebench.errors import UsageError
from storebench.model.secrets import redact_url, scrub

PREFLIGHT_TIMEOUT_S = 5.0


class PreflightError(UsageError):
    """A configuration problem, in one actionable line without secrets."""


def check(names: list[str], settings: Settings) -> None:
    """Raise PreflightError when a chosen backend's configured server cannot be used."""
    needs = {need for name in names for need in declared_needs(name)}
    if "sqld" in needs:  # the backends that use a sqld server honour SQLD_URL
        check_sqld_url()
    if "turso" in needs:
        check_real_turso(settings)


def declared_needs(name: str) -> tuple[str, ...]:
    try:
        return backends.get(name).capabilities.needs
    except ImportError:  # its module cannot be imported: the run reports it unavailable
        return ()


def check_sqld_url() -> None:
    from storebench.servers import sqld_server

    url = os.environ.get(sqld_server.SQLD_URL_ENV)
    if not url:
        return
    try:
        sqld_server.http_get(f"{url.rstrip('/')}/health", timeout=PREFLIGHT_TIMEOUT_S)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise PreflightError(f"{sqld_server.SQLD_URL_ENV}={redact_url(url)} does not answer ({reason}); "
                             f"start that server or unset {sqld_server.SQLD_URL_ENV} "
                             "to let storebench start one") from None


def check_real_turso(settings: Settings) -> None:
    """A configured real Turso must be complete, reachable and accept the token."""
    from storebench.backends.turso import URL_VARIABLE, TursoStore, real_turso

    try:
        real = real_turso()
    except StoreError as exc:  # half configured: the message names the variable to set
        raise PreflightError(str(exc)) from None
    if real is None:
        return
    store = TursoStore(Target(url=real[0], auth_token=real[1]),
                       Settings(op_timeout_s=min(settings.op_timeout_s, PREFLIGHT_TIMEOUT_S)))
    try:
        store.open()
    except Exception as exc:  # any failure to open (a StoreError, or the driver's own, e.g. a bad scheme)
        message = scrub(str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}", [real[1]])
        if not message.startswith("authentication failed"):
            message = f"{URL_VARIABLE} {redact_url(real[0])} cannot be used: {message}; check the URL"
        raise PreflightError(message) from None
    finally:
        store.close()
