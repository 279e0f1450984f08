"""Running the ingest hot path's statements straight on the SQLite connection.

Imports SQLAlchemy and the standard library. Each statement is a SQLAlchemy
statement compiled once; its SQL text, parameter order and SQLAlchemy's own bind
and result processors are kept, so values are stored exactly as SQLAlchemy would
store them. Running it costs a few microseconds instead of SQLAlchemy's ~100 us
of execution machinery per statement, which is what lets group commit reach
thousands of messages a second (bench/ingest.py). PostgreSQL goes through the
session as usual: its cost is the network round trip, not Python.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from storage.sqlite_inline import InlineConnection


class FastRow:
    """A result row with attribute access, like SQLAlchemy's Row."""

    __slots__ = ("_values",)
    _index: dict[str, int] = {}

    def __init__(self, values: Sequence[Any]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[type(self)._index[name]]
        except KeyError:
            raise AttributeError(name) from None


class FastStatement:
    def __init__(self, statement: Any, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        processors: Mapping[str, Callable[[Any], Any] | None] = compiled._bind_processors
        names = compiled.positiontup or []
        self.binds = [(name, processors.get(name)) for name in names]
        # values fixed in the statement itself, such as LIMIT 1
        self.defaults = {name: bind.effective_value for name, bind in compiled.binds.items()}
        columns = compiled._result_columns or []
        self.results: list[Callable[[Any], Any] | None] = [
            col[3]._cached_result_processor(dialect, None) if col[3] is not None else None
            for col in columns
        ]
        self.row_type = type(
            "Row", (FastRow,), {"_index": {c[0]: i for i, c in enumerate(columns)}}
        )

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        merged = {**self.defaults, **values}
        return tuple(p(merged[n]) if p else merged[n] for n, p in self.binds)

    def rows(self, cursor: sqlite3.Cursor) -> list[Any]:
        procs = self.results
        out = []
        for raw in cursor.fetchall():
            out.append(self.row_type([p(v) if p else v for p, v in zip(procs, raw, strict=False)]))
        return out


async def raw_sqlite(session: AsyncSession) -> sqlite3.Connection | None:
    """The session's sqlite3 connection when it is an inline one, else None.

    Asking for it also begins the session's transaction, so raw statements run
    inside it."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if isinstance(driver, InlineConnection) and driver._connection is not None:
        return driver._connection
    return None
