"""The SQLAlchemy backends beyond the contract: transactions, settings and dialect read back,
the schema their metadata creates, the SQL statements each op issues (load_all is N+1-free),
and the database URL."""

from __future__ import annotations

import math
import sqlite3
from importlib import metadata

import pytest
from sqlalchemy import event

from storebench import backends
from storebench.backends.base import Conversation, Message, Settings, StoreError, Target
from storebench.backends.sql import SCHEMA
from storebench.backends.sqlalchemy_support import StatementCounter
from storebench.core.workload import EPOCH_MS

SQLALCHEMY_BACKENDS = ("sqlalchemy-core", "sqlalchemy-orm")
T = EPOCH_MS
SELECTIN_BATCH = 500  # SQLAlchemy's selectinload batch: conversations per IN query


def open_store(name: str, path, settings: Settings = Settings()):
    store = backends.get(name)(Target(path=str(path)), settings)
    store.open()
    store.setup_schema()
    return store


@pytest.fixture(params=SQLALCHEMY_BACKENDS)
def sqla(request, tmp_path):
    store = open_store(request.param, tmp_path / "store.db")
    yield store
    store.close()


def conversations(n: int, messages: int) -> list[Conversation]:
    return [
        Conversation(f"c{i:05}", f"title {i}", T + i, T + i,
                     [Message(f"m{i:05}_{j}", f"c{i:05}", "user", "hi", T + i + j) for j in range(messages)])
        for i in range(n)
    ]


def sent_statements(store, fn) -> list[str]:
    """Every statement the store's engine sends to the driver while fn runs."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, *_rest) -> None:
        sent.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        fn()
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    return sent


def test_write_ops_begin_immediate_and_reads_begin_deferred(sqla):
    sqla.create_conversation(Conversation("c1", "t", T, T, []))
    write = sent_statements(sqla, lambda: sqla.add_message(Message("m1", "c1", "user", "hi", T + 1)))
    read = sent_statements(sqla, sqla.load_all)
    assert write[0] == "BEGIN IMMEDIATE" and write.count("BEGIN IMMEDIATE") == 1
    assert read[0] == "BEGIN" and "BEGIN IMMEDIATE" not in read


def test_a_failing_write_op_leaves_nothing_behind(sqla):
    sqla.create_conversation(Conversation("c1", "t", T, T, []))
    sqla.add_message(Message("m1", "c1", "user", "hi", T + 1))
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error (libSQL: ValueError, not wrapped by SQLAlchemy)
        sqla.add_message(Message("m1", "c1", "user", "again", T + 2))  # duplicate id
    [c] = sqla.load_all()
    assert c.updated_at == T + 1 and [m.content for m in c.messages] == ["hi"]


def test_default_database_is_an_embedded_libsql_file_with_the_fair_settings(sqla):
    info = sqla.describe()
    assert info["dialect"] == "sqlite+libsql"
    assert info["dbapi"] == f"libsql_experimental {metadata.version('libsql-experimental')}"
    assert info["sqlalchemy_version"] == info["driver_version"] == metadata.version("sqlalchemy")
    assert info["dialect_package"] == f"sqlalchemy-libsql {metadata.version('sqlalchemy-libsql')}"
    assert info["overhead_vs"] == "libsql"
    assert info["settings"] == {"journal_mode": "wal", "synchronous": "normal", "foreign_keys": True,
                                "busy_timeout_ms": 5000, "transactions": "BEGIN IMMEDIATE per write op"}


@pytest.mark.parametrize("name", SQLALCHEMY_BACKENDS)
def test_a_plain_sqlite_url_uses_the_stdlib_driver_with_the_same_settings(name, tmp_path):
    settings = Settings(synchronous="full", sqlalchemy_url=f"sqlite:///{tmp_path / 'plain.db'}")
    store = open_store(name, tmp_path / "unused.db", settings)
    try:
        store.create_conversation(Conversation("c1", "t", T, T, []))
        store.add_message(Message("m1", "c1", "user", "hi", T + 1))
        [c] = store.load_all()
        info = store.describe()
    finally:
        store.close()
    assert type(c.updated_at) is int and c.updated_at == T + 1
    assert (tmp_path / "plain.db").exists() and not (tmp_path / "unused.db").exists()
    assert info["dialect"] == "sqlite+pysqlite" and info["overhead_vs"] == "sqlite3"
    assert info["settings"]["synchronous"] == "full" and info["settings"]["journal_mode"] == "wal"


def test_with_a_url_each_backend_creates_its_tables_and_drops_them_at_the_end(tmp_path):
    settings = Settings(sqlalchemy_url=f"sqlite:///{tmp_path / 'shared.db'}")
    for name in SQLALCHEMY_BACKENDS:  # one after the other on the same database, as in a run
        cls = backends.get(name)
        with cls.provision(tmp_path, settings) as target:
            store = cls(target, settings)
            store.open()
            store.setup_schema()
            store.create_conversation(Conversation("c1", "t", T, T, []))
            assert [c.id for c in store.load_all()] == ["c1"]
            store.close()
    tables = sqlite3.connect(tmp_path / "shared.db").execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == []


@pytest.mark.parametrize("name", SQLALCHEMY_BACKENDS)
def test_a_url_whose_database_already_has_the_tables_is_refused(name, tmp_path):
    db = sqlite3.connect(tmp_path / "used.db")
    db.execute("CREATE TABLE conversations (id TEXT)")
    db.close()
    settings = Settings(sqlalchemy_url=f"sqlite:///{tmp_path / 'used.db'}")
    with pytest.raises(StoreError, match="already has table"):
        with backends.get(name).provision(tmp_path, settings):
            pass
    assert sqlite3.connect(tmp_path / "used.db").execute("SELECT name FROM sqlite_master").fetchall() == [
        ("conversations",)]


@pytest.mark.parametrize("name", SQLALCHEMY_BACKENDS)
def test_a_non_sqlite_url_is_refused_in_one_line(name, tmp_path):
    store = backends.get(name)(Target(path=str(tmp_path / "x.db")),
                               Settings(sqlalchemy_url="postgresql://user:secret@db.example/app"))
    with pytest.raises(StoreError, match="SQLite-family URL") as info:
        store.open()
    assert "secret" not in str(info.value) and "\n" not in str(info.value)


def test_orm_refuses_to_run_without_foreign_keys(tmp_path):
    store = backends.get("sqlalchemy-orm")(Target(path=str(tmp_path / "x.db")), Settings(foreign_keys=False))
    with pytest.raises(StoreError, match="foreign_keys=ON"):
        store.open()


def table_shape(db: sqlite3.Connection) -> dict:
    """Columns (name, type, not null, primary key), foreign keys and indexes as SQLite reports
    them (not the DDL text). Primary keys count as NOT NULL: SQLAlchemy's DDL says so, while
    SCHEMA leaves SQLite's legacy NULL-able TEXT primary key; no id is ever NULL here."""
    shape = {}
    for table in ("conversations", "messages"):
        shape[table] = {
            "columns": [(r[1], r[2].upper(), bool(r[3] or r[5]), r[5])
                        for r in db.execute(f"PRAGMA table_info({table})")],
            "foreign_keys": [(r[2], r[3], r[4], r[6]) for r in db.execute(f"PRAGMA foreign_key_list({table})")],
            "indexes": sorted(
                (r[1], r[2], tuple(c[2] for c in db.execute(f"PRAGMA index_info({r[1]})")))
                for r in db.execute(f"PRAGMA index_list({table})")
            ),
        }
    return shape


@pytest.mark.parametrize("name", SQLALCHEMY_BACKENDS)
def test_metadata_creates_the_same_schema_as_the_sql_backends(name, tmp_path):
    raw = sqlite3.connect(tmp_path / "raw.db")
    for sql in SCHEMA:
        raw.execute(sql)
    open_store(name, tmp_path / "sqla.db").close()
    made = sqlite3.connect(tmp_path / "sqla.db")
    assert table_shape(made) == table_shape(raw)
    made.execute("INSERT INTO conversations VALUES ('c1', 't', 1, 1)")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        made.execute("INSERT INTO messages VALUES ('m1', 'c1', 'system', 'x', 1)")
    raw.close()
    made.close()


# Statements each op sends (BEGIN not counted; COMMIT goes through the driver's commit()).
# The ORM reads the conversation by primary key before changing it (the unit-of-work idiom);
# Core writes blind, like the raw drivers. Both delete messages in the database: Core with an
# explicit DELETE, the ORM through ON DELETE CASCADE (passive_deletes), so no message is loaded.
STATEMENTS_PER_OP = {
    "sqlalchemy-core": {"load_all": 2, "create_conversation": 2, "add_message": 2, "update_title": 1,
                        "delete_conversation": 2},
    "sqlalchemy-orm": {"load_all": 2, "create_conversation": 2, "add_message": 3, "update_title": 2,
                       "delete_conversation": 2},
}


def test_statements_each_op_issues(sqla):
    sqla.preload(conversations(5, 3))
    counter = StatementCounter(sqla.engine)
    calls = {
        "load_all": (),
        "create_conversation": (Conversation("new", "t", T, T, [Message("n1", "new", "user", "x", T),
                                                                 Message("n2", "new", "assistant", "y", T + 1)]),),
        "add_message": (Message("n3", "c00001", "user", "z", T + 99),),
        "update_title": ("c00002", "renamed", T + 100),
        "delete_conversation": ("c00003",),
    }
    counted = {}
    for op, args in calls.items():
        with counter.counting():
            getattr(sqla, op)(*args)
        counted[op] = counter.count
    assert counted == STATEMENTS_PER_OP[sqla.name]


@pytest.mark.parametrize("n", [1, 100, 1001])
def test_load_all_is_n_plus_one_free(sqla, n):
    """The conversations query plus one messages query (the ORM: one per 500 conversations,
    SQLAlchemy's selectinload batch), however many conversations there are."""
    sqla.preload(conversations(n, 2))
    counter = StatementCounter(sqla.engine)
    with counter.counting():
        loaded = sqla.load_all()
    assert len(loaded) == n and all(len(c.messages) == 2 for c in loaded)
    expected = 1 + math.ceil(n / SELECTIN_BATCH) if sqla.name == "sqlalchemy-orm" else 2
    assert counter.count == expected


@pytest.mark.parametrize("url, says", [
    ("postgresql://user:secret@db.example/app", "SQLite-family URL"),
    ("not a url", "is not a database URL"),
])
def test_cli_refuses_an_unusable_sqlalchemy_url_in_one_line(url, says, tmp_path, capsys):
    from storebench.cli import EXIT_USAGE, main

    assert main(["run", "--sqlalchemy-url", url, "--out", str(tmp_path / "r.json")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert says in err and "secret" not in err and err.count("\n") == 1
    assert not (tmp_path / "r.json").exists()
