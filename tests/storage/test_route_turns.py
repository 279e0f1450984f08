"""Round robin on PostgreSQL: two cases routed at the same moment (two processes, or
two chats' transactions) must not both read the same last turn and both go to the
same person, nor collide on `route_turns`' key and lose a case."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from storage.db import make_engine, make_sessions
from storage.uow import SqlUnitOfWork
from tests.conftest import truncate_pg

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def _turn(sessions: object, name: str, first: asyncio.Event, go: asyncio.Event) -> str:
    """Read the turn, take the next of (ann, bob), write it and commit."""
    async with sessions() as session, session.begin():  # type: ignore[operator]
        uow = SqlUnitOfWork(session)
        last = await uow.route_turn("category:billing")
        first.set()
        await go.wait()
        person = "bob" if last == "ann" else "ann"
        await uow.set_route_turn("category:billing", person, NOW)
    return person


@pytest.mark.parametrize("seeded", [False, True], ids=["first-turn", "later-turn"])
async def test_two_round_robin_turns_at_once_go_to_different_people(
    pg_database: str | None, seeded: bool
) -> None:
    if pg_database is None:
        pytest.skip("PostgreSQL not reachable")
    await truncate_pg(pg_database)
    engine = make_engine(pg_database)
    sessions = make_sessions(engine)
    try:
        if seeded:
            async with sessions() as session, session.begin():
                await SqlUnitOfWork(session).set_route_turn("category:billing", "bob", NOW)
        a_read, b_read, a_go, b_go = (asyncio.Event() for _ in range(4))
        a = asyncio.create_task(_turn(sessions, "a", a_read, a_go))
        await a_read.wait()
        b = asyncio.create_task(_turn(sessions, "b", b_read, b_go))
        b_go.set()
        # b may only read the turn once a has written it: let a finish first
        await asyncio.sleep(0.2)
        a_go.set()
        people = await asyncio.gather(a, b)
        assert sorted(people) == ["ann", "bob"]
    finally:
        await engine.dispose()
