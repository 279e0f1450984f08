"""Database engines and sessions: SQLite pragmas, PostgreSQL through asyncpg, migrations.

Imports SQLAlchemy, Alembic, aiosqlite and `cases` only.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import AsyncAdaptedQueuePool

from storage.sqlite_inline import InlineConnection, inline_creator

MIGRATIONS = Path(__file__).parent / "migrations"


class StorageError(Exception):
    """A storage problem a user can fix (missing directory, unreachable server)."""


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def check_location(url: str) -> None:
    """Fail with a clear message when a SQLite file's directory does not exist."""
    path = sqlite_path(url)
    if path is not None and not path.resolve().parent.is_dir():
        raise StorageError(f"storage.url: directory {path.resolve().parent} does not exist")


# SQLSTATE classes a server answers a connection with when it refuses it: 08 connection
# exception, 28 invalid authorization (role, password), 3D invalid catalog (no database)
_REFUSING_SQLSTATES = ("08", "28", "3D")
_UNREACHABLE = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT}


def connection_problem(exc: BaseException, url: str) -> str | None:
    """One line saying why the database at `url` cannot be opened, when `exc` (or what
    it wraps) is the driver refusing a connection; None for any other error."""
    parsed = make_url(url)
    where = f"{parsed.host}:{parsed.port or 5432}" if parsed.host else url
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str) and state.startswith(_REFUSING_SQLSTATES):
            return f"the database server at {where} refused: {_first_line(current)}"
        if isinstance(current, socket.gaierror):
            return f"the database host {parsed.host} does not resolve"
        if isinstance(current, ConnectionError | TimeoutError) or (
            isinstance(current, OSError) and current.errno in _UNREACHABLE
        ):
            return f"cannot connect to the database at {where}: {_first_line(current)}"
        current = current.__cause__ or current.__context__ or getattr(current, "orig", None)
    return None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # the driver's own implicit BEGIN breaks savepoints; we emit BEGIN ourselves
    # (inline connections are opened in autocommit mode already)
    if not isinstance(getattr(dbapi_connection, "_connection", None), InlineConnection):
        dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL with NORMAL sync is still durable across process crashes, which is our bar
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front (waiting up to busy_timeout), so a
    # transaction that reads then writes never fails on a lock upgrade
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _drop_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled PostgreSQL connection the server has ended (a restart,
    `pg_terminate_backend`) is replaced before use. asyncpg marks it closed as soon as
    the loop reads the server's goodbye, so this costs no round trip; SQLAlchemy's
    `pool_pre_ping` cost three per transaction (BEGIN, a query, ROLLBACK), 5 % of the
    process at 200 cases a second. A connection ended in the instant before its use
    fails its first statement, as it could after a ping too: callers retry."""
    raw = getattr(dbapi_connection, "_connection", None)
    if raw is not None and raw.is_closed():
        raise DisconnectionError("the database server closed this connection")


def make_engine(url: str, echo: bool = False) -> AsyncEngine:
    check_location(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("postgresql"):
        kwargs.update(pool_size=10, max_overflow=10)
    else:
        path = sqlite_path(url)
        if path is not None:
            # one inline connection per process: see storage.sqlite_inline for why
            kwargs.update(
                async_creator=inline_creator(str(path)),
                poolclass=AsyncAdaptedQueuePool,
                pool_size=1,
                max_overflow=0,
                pool_timeout=60,
            )
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "postgresql":
        event.listen(engine.sync_engine.pool, "checkout", _drop_closed)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


# the session types, for the layers above storage that must not import SQLAlchemy
Session = AsyncSession
Sessions = async_sessionmaker[AsyncSession]


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# advisory lock key for start-up work (migrations, directory sync) on PostgreSQL
STARTUP_LOCK = 0x63617365626F74


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    from alembic import command

    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # processes starting together on one database take turns (released at commit)
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STARTUP_LOCK})

        def upgrade(sync_conn: Any) -> None:
            config = _alembic_config(str(engine.url))
            config.attributes["connection"] = sync_conn
            command.upgrade(config, "head")

        await conn.run_sync(upgrade)


def migrate_sync_url(url: str) -> None:
    """For the CLI: migrate the database at `url`."""

    async def run() -> None:
        engine = make_engine(url)
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


async def ping(session: AsyncSession) -> None:
    """Raise if the database does not answer (for /healthz)."""
    from sqlalchemy import text

    await session.execute(text("SELECT 1"))
