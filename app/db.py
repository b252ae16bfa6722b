"""SQLAlchemy 2 persistence: the declarative base, the engine and the request-scoped session."""

from __future__ import annotations

import importlib
import pkgutil
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlalchemy.dialects.postgresql
from flask import Flask, current_app, has_app_context
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.sql.functions import GenericFunction

from app.wal import WalCheckpointer
from app.wal import checkpointer as process_checkpointer

# Stable constraint names, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# ``info`` key of a foreign key that PostgreSQL checks per statement instead of per row:
# triggers with transition tables stand in for it there (migration 0010, for tables loaded
# in bulk); SQLite keeps the declared key.
PER_STATEMENT_ON_POSTGRESQL = "per_statement_on_postgresql"

# Packages whose ``models`` modules hold mapped classes; Alembic and the app import them all.
MODEL_PACKAGES = ("app", "providers", "billing")


class Base(DeclarativeBase):
    """Declarative base of every mapped class."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive values)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def import_all_models() -> None:
    """Import every ``models`` module below the model packages so metadata is complete."""
    for package_name in MODEL_PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            if info.name.rsplit(".", 1)[-1] == "models" and ".migrations" not in info.name:
                importlib.import_module(info.name)


def create_db_engine(url: str, *, checkpointer: WalCheckpointer | None = None,
                     **kwargs: Any) -> Engine:
    """An engine tuned per backend: SQLite gets WAL, foreign keys and working savepoints.

    ``checkpointer``: the thread that checkpoints a SQLite file's log (``app.wal``; this
    process's own by default).
    """
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = sa.create_engine(url, **kwargs)
        _configure_sqlite(engine, checkpointer or process_checkpointer)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kwargs)


class unicode_lower(GenericFunction):
    """``lower()`` that folds every script's letters, on both backends.

    SQLite's own ``lower()`` folds ASCII letters only ("ÜBERSEE" stays "Übersee";
    https://www.sqlite.org/lang_corefunc.html#lower), so on SQLite this is Python's
    ``str.lower`` (registered on each connection, ``_register_sqlite_functions``), the same
    folding the API applies to what a user typed. PostgreSQL's ``lower()`` folds by the
    database's character type (a UTF-8 one folds every script).
    """

    type = sa.Text()
    inherit_cache = True


@compiles(unicode_lower)
def _unicode_lower_elsewhere(element: unicode_lower, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(unicode_lower, "sqlite")
def _unicode_lower_on_sqlite(element: unicode_lower, compiler: Any, **kw: Any) -> str:
    return f"unicode_lower({compiler.process(element.clauses, **kw)})"


def _python_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _register_sqlite_functions(engine: Engine) -> None:
    """The SQL functions the app's queries call on SQLite beyond its built-in ones."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.create_function("unicode_lower", 1, _python_lower, deterministic=True)


def _configure_sqlite(engine: Engine, checkpointer: WalCheckpointer) -> None:
    database = engine.url.database or ""
    file_backed = database not in ("", ":memory:")
    # A plain path: checkpointed by app.wal's thread (a "file:" URI keeps SQLite's own).
    checkpointed = file_backed and not database.startswith("file:")
    if checkpointed:
        checkpointer.register(engine, database)
    _register_sqlite_functions(engine)

    # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN itself.
    # https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if file_backed:
            cursor.execute("PRAGMA journal_mode=WAL")
        if checkpointed:
            # Checkpoints run in a thread of their own (app.wal), never inside a commit.
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A transaction that reads before it writes takes the write lock up front when asked
        # (``execution_options={"sqlite_begin": "IMMEDIATE"}``): a deferred one fails at once
        # with "database is locked" if another writer committed since its first read.
        # https://www.sqlite.org/lang_transaction.html#deferred_immediate_and_exclusive_transactions
        immediate = connection.get_execution_options().get("sqlite_begin") == "IMMEDIATE"
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """Per-app engine and session factory, plus one scoped session that follows the app.

    The session is scoped to (thread, app), so two apps in one process (tests do this) never
    share a session, and it is removed when the app context ends.
    """

    def __init__(self) -> None:
        self.session: scoped_session[Session] = scoped_session(
            self._new_session, scopefunc=_session_scope
        )

    def init_app(self, app: Flask) -> None:
        """Create the engine from ``DATABASE_URL`` and tie session clean-up to the app context."""
        import_all_models()
        # DATABASE_POOL_PRE_PING=false drops the per-checkout liveness round trip (PostgreSQL).
        options = {} if app.config.get("DATABASE_POOL_PRE_PING", True) else {
            "pool_pre_ping": False}
        engine = create_db_engine(app.config["DATABASE_URL"], **options)
        app.extensions["mobihub.db"] = self
        app.extensions["mobihub.db.state"] = _DatabaseState(
            engine, sessionmaker(bind=engine, expire_on_commit=False)
        )
        app.teardown_appcontext(self._remove_session)

    @staticmethod
    def state(app: Flask | None = None) -> _DatabaseState:
        return (app or current_app).extensions["mobihub.db.state"]

    @property
    def engine(self) -> Engine:
        """The current app's engine."""
        return self.state().engine

    def _new_session(self) -> Session:
        return self.state().factory()

    def _remove_session(self, _exc: BaseException | None) -> None:
        self.session.remove()

    def bind_to(self, app: Flask, bind: Any, **options: Any) -> None:
        """Point the app's sessions at another bind (tests use a connection in a transaction)."""
        with app.app_context():
            self.session.remove()
        self.state(app).factory.configure(bind=bind, **options)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on any error."""
        session = self.session()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@dataclass
class _DatabaseState:
    engine: Engine
    factory: sessionmaker[Session]


def _session_scope() -> tuple[int, int]:
    app_id = id(current_app._get_current_object()) if has_app_context() else 0  # type: ignore[attr-defined]
    return threading.get_ident(), app_id


db = Database()

T = TypeVar("T")
# Per app engine: its autocommit twin without pre-ping, for read-only requests (PostgreSQL).
_READ_ENGINES: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
_READ_ENGINES_LOCK = threading.Lock()


def run_read_only(session: Session, work: Callable[[Connection], T]) -> T:
    """Run a read-only ``work`` in as few round trips as the backend allows.

    A session that is bound to a connection (tests) or already in a transaction lends its
    own connection, so the reads see its uncommitted writes. Otherwise the work runs on a
    connection of a second pool of the same database, without transaction: on PostgreSQL
    autocommit and no pre-ping (no BEGIN, ROLLBACK or liveness probe, just the statements);
    each statement then reads a consistent snapshot of its own. Pre-ping is replaced by one
    retry when the pooled connection turns out dead (the pool then drops it), so ``work``
    must only read.
    """
    bind = session.get_bind()
    if isinstance(bind, Connection) or session.in_transaction():
        return work(session.connection())
    engine = _read_engine(bind)  # type: ignore[arg-type]
    if engine is bind:
        return work(session.connection())
    try:
        with engine.connect() as connection:
            return work(connection)
    except sa.exc.DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    with engine.connect() as connection:
        return work(connection)


def _read_engine(engine: Engine) -> Engine:
    sqlite = engine.dialect.name == "sqlite"
    if sqlite and engine.url.database in (None, "", ":memory:"):
        return engine  # a private in-memory database: only the engine's own connections see it
    found = _READ_ENGINES.get(engine)
    if found is None:
        with _READ_ENGINES_LOCK:
            found = _READ_ENGINES.get(engine)
            if found is None:
                # SQLite: pysqlite's own mode, where a SELECT opens no transaction (the app's
                # engine emits BEGIN itself, for savepoints); PostgreSQL: autocommit.
                options: dict[str, Any] = {
                    "connect_args": {"check_same_thread": False, "timeout": 30}
                } if sqlite else {"isolation_level": "AUTOCOMMIT", "pool_pre_ping": False}
                found = _READ_ENGINES[engine] = sa.create_engine(engine.url, **options)
                if sqlite:
                    _register_sqlite_functions(found)
                # disposing the app's engine (tests, forks) closes the twin's connections too
                event.listen(engine, "engine_disposed", lambda _engine: found.dispose())
    return found


def get_db() -> Database:
    """The database extension (its ``session`` follows the current app)."""
    return current_app.extensions["mobihub.db"]


# Integer primary keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# JSON documents: JSONB on PostgreSQL, JSON text elsewhere.
JSONDocument = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
