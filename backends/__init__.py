"""The backend registry: name -> "module:Class", imported only when used, so a missing
driver makes its own backend unavailable instead of breaking the others.

Users add their own backends without touching this file, in two ways:
- a package declares an entry point in the group `storebench.backends` (name = "module:Class");
- a run names a file, `--backend-module path/to/file.py:ClassName`; the class registers under
  its `name`. The CLI puts such files in STOREBENCH_BACKEND_MODULES, so every process the run
  starts (measuring workers, cold starts, probes) finds the same backends.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

from storebench.backends.base import Store
from storebench.errors import UsageError

# The libSQL drivers (libsql_experimental, also under sqlalchemy-libsql) read RUST_LOG once, at
# their first import, and otherwise log every replica reconnection and retry to stdout. Their
# failures reach us as exceptions, so keep the terminal readable unless the user sets it.
os.environ.setdefault("RUST_LOG", "off")

REGISTRY: dict[str, str] = {
    "sqlite3": "storebench.backends.sqlite3_file:Sqlite3Store",
    "apsw": "storebench.backends.apsw_file:ApswStore",
    "libsql": "storebench.backends.libsql_file:LibsqlStore",
    "sqlalchemy-core": "storebench.backends.sqlalchemy_core:SqlalchemyCoreStore",
    "sqlalchemy-orm": "storebench.backends.sqlalchemy_orm:SqlalchemyOrmStore",
    "pyturso": "storebench.backends.pyturso_file:PytursoStore",
    "api-routes": "storebench.backends.api_routes:ApiRoutesStore",
    "sqld": "storebench.backends.sqld:SqldStore",
    "sqld-ws": "storebench.backends.sqld_ws:SqldWsStore",
    "sqld-replica": "storebench.backends.sqld_replica:SqldReplicaStore",
    "turso": "storebench.backends.turso:TursoStore",
    "turso-replica": "storebench.backends.turso_replica:TursoReplicaStore",
    "node-libsql": "storebench.backends.node:NodeLibsqlStore",
    "node-sqld": "storebench.backends.node:NodeSqldStore",
    "node-turso": "storebench.backends.node:NodeTursoStore",
    "drizzle": "storebench.backends.node:DrizzleStore",
    "drizzle-turso": "storebench.backends.node:DrizzleTursoStore",
    "prisma": "storebench.backends.node:PrismaStore",
    "better-sqlite3": "storebench.backends.node:BetterSqlite3Store",
    "nextjs-routes": "storebench.backends.nextjs_routes:NextjsRoutesStore",
    "browser-turso": "storebench.backends.browser_turso:BrowserTursoStore",
}


ENTRY_POINT_GROUP = "storebench.backends"
MODULES_VARIABLE = "STOREBENCH_BACKEND_MODULES"  # FILE.py:Class specs, separated by ";" (":" is in each)
SEPARATOR = ";"


def in_all(name: str) -> bool:
    """Whether `--backends all` runs it (a backend that cannot be imported is listed, as unavailable)."""
    try:
        return get(name).not_in_all is None
    except ImportError:
        return True


class UnknownBackend(UsageError, ValueError):
    """A backend name that is not registered."""


class BackendModuleError(UsageError, ValueError):
    """A user's backend could not be registered; the message says what to fix."""


def _add(name: str, location: str, where: str) -> None:
    if name in REGISTRY and REGISTRY[name] != location:
        raise BackendModuleError(f"{where}: backend name {name!r} is taken by {REGISTRY[name]}; choose another name")
    REGISTRY[name] = location


_file_classes: dict[str, type[Store]] = {}  # location -> class: each file is executed once


def _from_file(location: str) -> type[Store]:
    """The class named by `path/to/file.py:ClassName`, its module loaded from the file."""
    if location in _file_classes:
        return _file_classes[location]
    path, _, class_name = location.rpartition(":")
    if not path.endswith(".py") or not class_name:
        raise BackendModuleError(f"--backend-module {location!r}: expected path/to/file.py:ClassName")
    file = Path(path)
    if not file.is_file():
        raise BackendModuleError(f"--backend-module {location!r}: no such file {path}")
    spec = importlib.util.spec_from_file_location(f"storebench_user_backend_{file.stem}", file)
    if spec is None or spec.loader is None:
        raise BackendModuleError(f"--backend-module {location!r}: {path} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Store)):
        raise BackendModuleError(f"--backend-module {location!r}: {class_name} is not a Store subclass in {path}")
    _file_classes[location] = cls
    return cls


def register_file(location: str) -> str:
    """Register the Store class in `path/to/file.py:ClassName` under its `name`, for this
    process and the processes it starts; returns the name."""
    path, _, class_name = location.rpartition(":")
    location = f"{Path(path).resolve()}:{class_name}" if path else location
    cls = _from_file(location)
    _add(cls.name, location, f"--backend-module {location}")
    known = [spec for spec in os.environ.get(MODULES_VARIABLE, "").split(SEPARATOR) if spec]
    if location not in known:
        os.environ[MODULES_VARIABLE] = SEPARATOR.join(known + [location])
    return cls.name


# Why a user's backend could not be registered (register_plugins): the CLI reports
# these as bad input (exit 2) instead of letting a traceback through.
PLUGIN_ERRORS: list[str] = []


_plugins_registered = False


def register_plugins() -> None:
    """Add the entry points' and STOREBENCH_BACKEND_MODULES' backends (once per process).
    Called on first need, not at import: scanning every installed distribution's metadata
    took 80 ms, paid by each of the ~170 processes a default run starts (workers, probe
    clients, cold starts), which only ever name a built-in or an already known backend."""
    global _plugins_registered
    if _plugins_registered:
        return
    _plugins_registered = True
    from importlib import metadata

    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            _add(entry_point.name, entry_point.value, f"entry point {entry_point.name!r}")
        except BackendModuleError as exc:
            PLUGIN_ERRORS.append(str(exc))
    for location in filter(None, os.environ.get(MODULES_VARIABLE, "").split(SEPARATOR)):
        try:
            _add(_from_file(location).name, location, f"{MODULES_VARIABLE} {location}")
        except Exception as exc:  # a user's module that fails to import, too
            PLUGIN_ERRORS.append(f"{MODULES_VARIABLE} {location}: {type(exc).__name__}: {exc}")


def names() -> list[str]:
    register_plugins()
    return list(REGISTRY)


def get(name: str) -> type[Store]:
    """The Store class registered under `name`."""
    if name not in REGISTRY:
        register_plugins()
    try:
        location = REGISTRY[name]
    except KeyError:
        raise UnknownBackend(f"unknown backend {name!r}; valid backends: {', '.join(REGISTRY)}") from None
    module_name, _, class_name = location.rpartition(":")
    if module_name.endswith(".py"):
        return _from_file(location)
    return getattr(importlib.import_module(module_name), class_name)


def unavailable_reason(name: str) -> str | None:
    """None when the backend can run here, else why not (an import failure included)."""
    try:
        return get(name).unavailable_reason()
    except ImportError as exc:
        return f"cannot import backend module: {exc}"

