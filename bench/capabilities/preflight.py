"""Configuration a run depends on, checked before anything is measured: a bad one is the
user's to fix (exit 2, one line), not a backend failure found minutes into the run."""

from __future__ import annotations

import os
import urllib.error
from urllib.parse import SplitResult, urlsplit

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
    # Parsed before any lookup: a user and password in it would go to the name resolver.
    parts = server_url(sqld_server.SQLD_URL_ENV, url, ("http", "https"), "http://127.0.0.1:8080")
    if parts.username or parts.password:
        raise PreflightError(f"{sqld_server.SQLD_URL_ENV}={redact_url(url)} carries a user and password; sqld's "
                             "HTTP API takes none in the URL: remove them")
    try:
        sqld_server.http_get(f"{url.rstrip('/')}/health", timeout=PREFLIGHT_TIMEOUT_S)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise PreflightError(f"{sqld_server.SQLD_URL_ENV}={redact_url(url)} does not answer ({reason}); "
                             f"start that server or unset {sqld_server.SQLD_URL_ENV} "
                             "to let storebench start one") from None


def server_url(variable: str, url: str, schemes: tuple[str, ...] | None, example: str) -> SplitResult:
    """`url` split, if it is a server URL (of one of `schemes`, if given), else a PreflightError
    that shows it redacted (a token put in the wrong variable is never printed)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port out of range
    except ValueError as exc:
        raise PreflightError(f"{variable}={redact_url(url)!r} is not a URL ({exc}); e.g. {example}") from None
    if not parts.hostname or not parts.scheme or (schemes and parts.scheme not in schemes):
        kind = f"{' or '.join(schemes)} URL" if schemes else "URL"
        raise PreflightError(f"{variable}={redact_url(url)!r} is not the {kind} of a server; e.g. {example}")
    return parts


def check_real_turso(settings: Settings) -> None:
    """A configured real Turso must be complete, reachable and accept the token."""
    from storebench.backends.turso import URL_VARIABLE, TursoStore, real_turso

    try:
        real = real_turso()
    except StoreError as exc:  # half configured: the message names the variable to set
        raise PreflightError(str(exc)) from None
    if real is None:
        return
    server_url(URL_VARIABLE, real[0], None, "libsql://<database>.turso.io")  # the driver names the schemes it takes
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
