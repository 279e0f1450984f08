"""Regression for what the PostgreSQL chaos test found: a dropped connection in the
middle of a group-commit batch was taken for a bad event, one event after another,
so the whole batch was "rejected" and acknowledged: lost. A database failure must
fail the batch (nothing acknowledged, the adapter fetches it again); only the event's
own errors are that event's."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError

from cases.model import ChatKey, Inbound, InboundKind
from storage.models import MessageRow
from tests.harness import ACME, Harness


def _batch(h: Harness) -> list[Inbound]:
    return [
        Inbound(
            InboundKind.MESSAGE,
            f"x{i}",
            ChatKey("telegram", ACME),
            h.clock.now(),
            h.actor("alice"),
            message_id=f"70{i}",
            text=f"message {i}",
        )
        for i in range(3)
    ]


class _Dropped(Exception):
    pass


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("INSERT", {}, _Dropped("server closed the connection unexpectedly")),
        DBAPIError("INSERT", {}, _Dropped("connection was closed"), connection_invalidated=True),
    ],
    ids=["operational", "invalidated"],
)
async def test_a_database_failure_fails_the_whole_batch(
    db_url: str, monkeypatch: Any, error: Exception
) -> None:
    async with Harness(db_url) as h:
        real = h.engine.handle

        async def dropping(uow: Any, event: Inbound) -> Any:
            if event.event_id == "x1":
                raise error
            return await real(uow, event)

        monkeypatch.setattr(h.engine, "handle", dropping)
        with pytest.raises(type(error)):
            await h.ingestor.handle_batch(_batch(h))
        async with h.sessions() as session:
            assert list((await session.execute(select(MessageRow))).scalars()) == []
        monkeypatch.setattr(h.engine, "handle", real)
        results = await h.ingestor.handle_batch(_batch(h))
        assert not any(isinstance(r, Exception) for r in results), "the retry stores all"


async def test_an_event_error_still_fails_that_event_alone(
    sqlite_url: str, monkeypatch: Any
) -> None:
    async with Harness(sqlite_url) as h:
        real = h.engine.handle

        async def buggy(uow: Any, event: Inbound) -> Any:
            if event.event_id == "x1":
                raise KeyError("engine bug")
            return await real(uow, event)

        monkeypatch.setattr(h.engine, "handle", buggy)
        results = await h.ingestor.handle_batch(_batch(h))
        assert [isinstance(r, Exception) for r in results] == [False, True, False]
