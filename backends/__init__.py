"""The backend registry: name -> "module:Class", imported only when used, so a missing
driver makes its own backend unavailable instead of breaking the others."""

from __future__ import annotations

import importlib
import os

from backends.base import Store

# The libSQL drivers (libsql_experimental, also under sqlalchemy-libsql) read RUST_LOG once, at
# their first import, and otherwise log every replica reconnection and retry to stdout. Their
# failures reach us as exceptions, so keep the terminal readable unless the user sets it.
os.environ.setdefault("RUST_LOG", "off")

REGISTRY: dict[str, str] = {
    "sqlite3": "backends.sqlite3_file:Sqlite3Store",
    "apsw": "backends.apsw_file:ApswStore",
    "libsql": "backends.libsql_file:LibsqlStore",
    "sqlalchemy-core": "backends.sqlalchemy_core:SqlalchemyCoreStore",
    "sqlalchemy-orm": "backends.sqlalchemy_orm:SqlalchemyOrmStore",
    "pyturso": "backends.pyturso_file:PytursoStore",
    "api-routes": "backends.api_routes:ApiRoutesStore",
    "sqld": "backends.sqld:SqldStore",
    "sqld-ws": "backends.sqld_ws:SqldWsStore",
    "sqld-replica": "backends.sqld_replica:SqldReplicaStore",
    "turso": "backends.turso:TursoStore",
    "turso-replica": "backends.turso_replica:TursoReplicaStore",
    "nextjs-routes": "backends.nextjs_routes:NextjsRoutesStore",
    "browser-turso": "backends.browser_turso:BrowserTursoStore",
}


def in_all(name: str) -> bool:
    """Whether `--backends all` runs it (a backend that cannot be imported is listed, as unavailable)."""
    try:
        return get(name).not_in_all is None
    except ImportError:
        return True


class UnknownBackend(ValueError):
    pass


def names() -> list[str]:
    return list(REGISTRY)


def get(name: str) -> type[Store]:
    """The Store class registered under `name`."""
    try:
        module_name, class_name = REGISTRY[name].split(":")
    except KeyError:
        raise UnknownBackend(f"unknown backend {name!r}; valid backends: {', '.join(REGISTRY)}") from None
    return getattr(importlib.import_module(module_name), class_name)


def unavailable_reason(name: str) -> str | None:
    """None when the backend can run here, else why not (an import failure included)."""
    try:
        return get(name).unavailable_reason()
    except ImportError as exc:
        return f"cannot import backend module: {exc}"
