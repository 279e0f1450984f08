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

import json
import numbers
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import UtcDateTime
from storage.sqlite_inline import InlineConnection


class FastRow:
    """A result row with attribute access, like SQLAlchemy's Row (for column names a
    named tuple cannot take)."""

    __slots__ = ("_values",)
    _index: dict[str, int] = {}

    def __init__(self, values: Sequence[Any]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[type(self)._index[name]]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, i: int) -> Any:
        return self._values[i]

    def _asdict(self) -> dict[str, Any]:
        return {name: self._values[i] for name, i in type(self)._index.items()}


def _bind_utc(value: datetime | None) -> str | None:
    """`UtcDateTime` then SQLAlchemy's SQLite DATETIME, in one step: naive UTC as
    "YYYY-MM-DD HH:MM:SS.ffffff"."""
    global _last_utc
    if value is None:
        return None
    last = _last_utc
    if last[0] is value:  # an event binds its own time in most of its statements
        return last[1]
    tz = value.tzinfo
    if tz is UTC:  # nearly all of them: no conversion to make
        text = value.replace(tzinfo=None).isoformat(" ", "microseconds")
    elif tz is None:
        raise ValueError("naive datetime given to the database; use aware UTC")
    else:
        text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    _last_utc = (value, text)
    return text


# the last datetime _bind_utc bound and its text (one tuple, so it is replaced whole)
_last_utc: tuple[datetime | None, str] = (None, "")


def _bind_json(slow: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """SQLAlchemy's SQLite JSON bind processor (json.dumps; None as JSON null), with
    the empty values most rows hold made without the encoder."""

    def process(value: Any) -> Any:
        if value is None:
            return "null"
        if not value and type(value) is dict:
            return "{}"
        if not value and type(value) is list:
            return "[]"
        return slow(value)

    return process


def _result_utc(slow: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def process(value: Any) -> Any:
        # SQLAlchemy's own format parses in C; anything else the way SQLAlchemy would
        if type(value) is str and len(value) == 26:
            return datetime.fromisoformat(value + "+00:00")
        return slow(value)

    return process


def _result_json(value: Any) -> Any:
    """SQLAlchemy's SQLite JSON result processor (json.loads), with the empty values
    most rows hold made without the parser."""
    if value == "{}":
        return {}
    if value == "[]":
        return []
    if value == "null":
        return None
    try:
        return json.loads(value)
    except TypeError:
        if isinstance(value, numbers.Number):  # SQLite's JSON functions give numbers
            return value
        raise


def _fast_bind(type_: Any, dialect: Dialect, slow: Callable[[Any], Any] | None) -> Any:
    """A quicker bind processor that gives what SQLAlchemy's would, where there is one."""
    if dialect.name != "sqlite":
        return slow
    if isinstance(type_, UtcDateTime):
        return _bind_utc
    if (
        slow is not None
        and isinstance(type_, JSON)
        and not type_.none_as_null
        and getattr(dialect, "_json_serializer", None) is None
        and type_._str_impl.bind_processor(dialect) is None
    ):
        return _bind_json(slow)
    return slow


def _fast_result(type_: Any, dialect: Dialect, slow: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A quicker processor that gives what SQLAlchemy's would, where there is one."""
    if dialect.name != "sqlite":
        return slow
    if isinstance(type_, UtcDateTime):
        return _result_utc(slow)
    if isinstance(type_, JSON) and getattr(dialect, "_json_deserializer", None) is None:
        return _result_json
    return slow


class FastStatement:
    def __init__(self, statement: Any, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        # see SqlUnitOfWork.buffered_events
        self.touches_events = "case_events" in self.sql
        processors: Mapping[str, Callable[[Any], Any] | None] = compiled._bind_processors
        names = list(compiled.positiontup or [])
        binds = [
            (n, _fast_bind(compiled.binds[n].type, dialect, processors.get(n))) for n in names
        ]
        # values fixed in the statement itself, such as LIMIT 1
        self.defaults = {name: bind.effective_value for name, bind in compiled.binds.items()}
        self._fixed = {n: b.effective_value for n, b in compiled.binds.items() if not b.required}
        self._get = itemgetter(*names) if len(names) > 1 else None
        self._names = names
        self._procs = [(i, p) for i, (_, p) in enumerate(binds) if p is not None]
        columns = compiled._result_columns or []
        results: list[tuple[int, Callable[[Any], Any]]] = []
        for i, col in enumerate(columns):
            slow = col[3]._cached_result_processor(dialect, None) if col[3] is not None else None
            if slow is not None:
                results.append((i, _fast_result(col[3], dialect, slow)))
        self._results = results
        keys = [c[0] for c in columns]
        if all(k.isidentifier() and not k.startswith("_") for k in keys) and len(set(keys)) == len(
            keys
        ):
            self.row_type: Any = namedtuple("Row", keys)  # type: ignore[misc]
            self._make: Callable[[Any], Any] = partial(tuple.__new__, self.row_type)
        else:
            self.row_type = type("Row", (FastRow,), {"_index": {k: i for i, k in enumerate(keys)}})
            self._make = self.row_type

    def params(self, values: Mapping[str, Any]) -> Sequence[Any]:
        if self._fixed:
            values = {**self._fixed, **values}
        try:
            out = list(self._get(values)) if self._get else [values[n] for n in self._names]
        except KeyError:  # a parameter not given is NULL, as SQLAlchemy has it
            merged = {**self.defaults, **values}
            out = [merged[n] for n in self._names]
        for i, process in self._procs:
            out[i] = process(out[i])
        return out

    def rows(self, fetched: list[Any]) -> list[Any]:
        """Rows fetched from SQLite, their values as SQLAlchemy would give them."""
        make, results = self._make, self._results
        if not results:
            return [make(raw) for raw in fetched]
        out = []
        for raw in fetched:
            values = list(raw)
            for i, process in results:
                value = values[i]
                # SQLAlchemy's result processors of these types keep None as None
                if value is not None:
                    values[i] = process(value)
            out.append(make(values))
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
