"""The engine both SQLAlchemy backends use: URL choice, the fair settings, transactions,
the settings read back, and a statement counter.

Default database: an embedded libSQL file through the `sqlalchemy-libsql` dialect
(`sqlite+libsql:///path`, driver `libsql_experimental`). `Settings.sqlalchemy_url` replaces it
with any SQLite-family SQLAlchemy URL (e.g. `sqlite:///file.db` for the stdlib driver).

Transactions follow SQLAlchemy's documented SQLite recipe: the DB-API driver is put in
autocommit mode (its own implicit BEGIN DEFERRED is off) and a "begin" event listener issues
our BEGIN, so writes take the write lock up front with BEGIN IMMEDIATE, as every raw backend does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import ClassVar

from sqlalchemy import Engine, MetaData, create_engine, event, inspect, make_url
from sqlalchemy.engine import URL

from storebench.backends.base import Settings, Store, StoreError, Target
from storebench.backends.sql import SYNCHRONOUS_NAMES

# Execution option naming the BEGIN statement; the write engine sets it, reads use plain BEGIN.
BEGIN_OPTION = "storebench_begin"
WRITE_BEGIN = "BEGIN IMMEDIATE"
READ_BEGIN = "BEGIN"
# The raw backend on the same engine, per SQLAlchemy driver name, for the overhead ratio.
RAW_BACKEND_BY_DRIVER = {"libsql": "libsql", "pysqlite": "sqlite3"}
DBAPI_DISTRIBUTION = {"libsql": "libsql-experimental"}  # others: the stdlib


def database_url(target: Target, settings: Settings) -> URL:
    """The user's URL when given, else the embedded libSQL file of the target."""
    if settings.sqlalchemy_url:
        url = make_url(settings.sqlalchemy_url)
    else:
        url = URL.create("sqlite+libsql", database=target.path)
    if url.get_backend_name() != "sqlite":
        raise StoreError(f"--sqlalchemy-url must be a SQLite-family URL (sqlite+libsql://, sqlite://), not {url.drivername}://")
    return url


@contextlib.contextmanager
def provision(name: str, workdir: Path, settings: Settings, tables: MetaData) -> Iterator[Target]:
    """A fresh file in `workdir`; or, with a user's URL, that database, in which the store's
    tables must not exist yet: they are created by the run and dropped at the end, so the
    next backend of the run (or the next run) starts empty too."""
    if not settings.sqlalchemy_url:
        yield Target(path=str(workdir / f"{name}.db"))
        return
    url = database_url(Target(), settings)
    engine = create_engine(url)
    try:
        existing = sorted(set(inspect(engine).get_table_names()) & set(tables.tables))
        if existing:
            raise StoreError(f"the --sqlalchemy-url database already has table(s) {', '.join(existing)}; "
                             "storebench needs a database where it may create and drop them")
        try:
            yield Target(url=settings.sqlalchemy_url)
        finally:
            tables.drop_all(engine)
    finally:
        engine.dispose()


def is_local_file(url: URL) -> bool:
    return not url.host and url.database not in (None, "", ":memory:")


def make_engines(url: URL, settings: Settings) -> tuple[Engine, Engine]:
    """(read engine, write engine): one connection pool; writes begin with BEGIN IMMEDIATE."""
    # isolation_level=None: the driver never opens a transaction by itself (libsql_experimental's
    # isolation_level cannot be changed after connect, so it goes in connect_args).
    engine = create_engine(url, connect_args={"isolation_level": None})
    local = is_local_file(url)

    @event.listens_for(engine, "connect")
    def apply_settings(dbapi_connection, _record) -> None:
        if not local:  # a server keeps its own journal and durability settings
            return
        cursor = dbapi_connection.cursor()
        try:  # busy_timeout first, as backends/sql.py says
            cursor.execute(f"PRAGMA busy_timeout={int(settings.busy_timeout_ms)}")
            cursor.execute(f"PRAGMA journal_mode={settings.journal_mode}")
            cursor.fetchall()
            cursor.execute(f"PRAGMA synchronous={settings.synchronous}")
            cursor.execute(f"PRAGMA foreign_keys={'ON' if settings.foreign_keys else 'OFF'}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def begin(connection) -> None:
        connection.exec_driver_sql(connection.get_execution_options().get(BEGIN_OPTION, READ_BEGIN))

    return engine, engine.execution_options(**{BEGIN_OPTION: WRITE_BEGIN})


def describe_engine(engine: Engine) -> dict:
    """Versions, dialect and the settings in force, read back over a pooled connection."""
    driver = engine.dialect.driver
    dbapi_dist = DBAPI_DISTRIBUTION.get(driver)
    with engine.connect() as conn:
        def one(sql: str):
            return conn.exec_driver_sql(sql).scalar()

        settings = {
            "journal_mode": str(one("PRAGMA journal_mode")).lower(),
            "synchronous": SYNCHRONOUS_NAMES.get(one("PRAGMA synchronous"), "unknown"),
            "foreign_keys": bool(one("PRAGMA foreign_keys")),
            "busy_timeout_ms": int(one("PRAGMA busy_timeout")),
            "transactions": "BEGIN IMMEDIATE per write op",
        }
        sqlite_version = one("SELECT sqlite_version()")
        conn.rollback()
    return {
        "driver_version": metadata.version("sqlalchemy"),
        "sqlite_version": sqlite_version,
        "settings": settings,
        "sqlalchemy_version": metadata.version("sqlalchemy"),
        "dialect": f"{engine.dialect.name}+{driver}",
        "dbapi": f"{engine.dialect.loaded_dbapi.__name__} {metadata.version(dbapi_dist) if dbapi_dist else '(stdlib)'}",
        "dialect_package": f"sqlalchemy-libsql {metadata.version('sqlalchemy-libsql')}" if driver == "libsql" else None,
        "overhead_vs": RAW_BACKEND_BY_DRIVER.get(driver) if is_local_file(engine.url) else None,
    }


class StatementCounter:
    """Counts the SQL statements an engine sends to the driver, to document how many queries
    an op issues. Transaction control is not counted: our BEGIN is skipped here and COMMIT
    goes through the driver's commit(), not a cursor."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0

    def _count(self, _conn, _cursor, statement: str, *_rest) -> None:
        if not statement.startswith("BEGIN"):
            self.count += 1

    @contextlib.contextmanager
    def counting(self) -> Iterator[StatementCounter]:
        self.count = 0
        event.listen(self.engine, "before_cursor_execute", self._count)
        try:
            yield self
        finally:
            event.remove(self.engine, "before_cursor_execute", self._count)


def unavailable_reason() -> str | None:
    try:
        import sqlalchemy  # noqa: F401
        import sqlalchemy_libsql  # noqa: F401
    except ImportError as exc:
        return f"SQLAlchemy or sqlalchemy-libsql is not installed ({exc}); pip install sqlalchemy sqlalchemy-libsql"
    return None


class SqlalchemyStore(Store):
    """What both SQLAlchemy backends share: availability, provisioning, the read and write
    engines over the run's database URL, `describe`, and the schema from `metadata`."""

    metadata: ClassVar[MetaData]
    engine: Engine | None = None
    write_engine: Engine | None = None

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return unavailable_reason()

    @classmethod
    @contextlib.contextmanager
    def provision(cls, workdir: Path, settings: Settings) -> Iterator[Target]:
        with provision(cls.name, workdir, settings, cls.metadata) as target:
            yield target

    def open(self) -> None:
        self.engine, self.write_engine = make_engines(database_url(self.target, self.settings), self.settings)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()  # closes the pooled connections
            self.engine = self.write_engine = None

    @property
    def reader(self) -> Engine:
        """The engine for reads that `open` made."""
        if self.engine is None:
            raise StoreError(f"{self.name} is not open")
        return self.engine

    @property
    def writer(self) -> Engine:
        """The engine for write ops (BEGIN IMMEDIATE) that `open` made."""
        if self.write_engine is None:
            raise StoreError(f"{self.name} is not open")
        return self.write_engine

    def describe(self) -> dict:
        return describe_engine(self.reader)

    def setup_schema(self) -> None:
        self.metadata.create_all(self.writer)
