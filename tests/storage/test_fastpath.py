"""The SQLite fast path's own bind processors give exactly what SQLAlchemy's would
(storage.fastpath): the JSON text of the empty values and of None, and UTC datetimes,
made without the encoder or a time zone conversion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import JSON, bindparam, text
from sqlalchemy.dialects import sqlite

from storage.fastpath import FastStatement
from storage.models import UtcDateTime

STATEMENT = text("SELECT :doc, :at, :nullable").bindparams(
    bindparam("doc", type_=JSON()),
    bindparam("at", type_=UtcDateTime()),
    bindparam("nullable", type_=JSON(none_as_null=True)),
)


def _sqlalchemy(name: str, value: Any) -> Any:
    process = STATEMENT.compile(dialect=sqlite.dialect())._bind_processors[name]
    return process(value)


@pytest.mark.parametrize(
    "value", [None, {}, [], {"a": [None, 1]}, [{}], "text", 0, False, {"ü": "中"}]
)
def test_json_binds_as_sqlalchemy_would(value: Any) -> None:
    fast = FastStatement(STATEMENT, sqlite.dialect())
    doc, _, nullable = fast.params({"doc": value, "at": None, "nullable": value})
    assert doc == _sqlalchemy("doc", value)
    assert nullable == _sqlalchemy("nullable", value)


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 9, 0, 0, 1, tzinfo=UTC),
        datetime(2026, 3, 2, 1, 30, tzinfo=timezone(timedelta(hours=8))),
        datetime(2026, 3, 2, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_utc_datetimes_bind_as_sqlalchemy_would(at: datetime) -> None:
    fast = FastStatement(STATEMENT, sqlite.dialect())
    assert fast.params({"doc": None, "at": at, "nullable": None})[1] == _sqlalchemy("at", at)


def test_a_naive_datetime_is_refused() -> None:
    fast = FastStatement(STATEMENT, sqlite.dialect())
    with pytest.raises(ValueError, match="naive"):
        fast.params({"doc": None, "at": datetime(2026, 3, 2, 9, 0), "nullable": None})


def test_the_same_datetime_bound_again_gives_its_own_text() -> None:
    """_bind_utc remembers the last datetime it bound (by identity): another one, even
    an equal instant in another zone, is bound anew."""
    fast = FastStatement(STATEMENT, sqlite.dialect())
    first = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    same_instant = first.astimezone(timezone(timedelta(hours=8)))
    later = first + timedelta(microseconds=1)
    for at in (first, first, same_instant, later, first):
        bound = fast.params({"doc": None, "at": at, "nullable": None})[1]
        assert bound == _sqlalchemy("at", at)
