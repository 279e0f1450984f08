"""How the outbox's hot queries reach their rows, read from SQLite's query plan
rather than timed (bench/claim.py times the claim behind a backlog)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from storage.outbox import chats_waiting, choices, claim_due, superseded_rows
from tests.harness import Harness

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def plans(h: Harness, query: Callable[[AsyncSession], Awaitable[Any]]) -> list[str]:
    """The query plan lines of every outbox statement `query` runs."""
    statements: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "outbox" in statement and statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, params))

    event.listen(h.db.sync_engine, "before_cursor_execute", grab)
    try:
        async with h.sessions() as session, session.begin():
            await query(session)
    finally:
        event.remove(h.db.sync_engine, "before_cursor_execute", grab)
    lines = []
    async with h.db.connect() as conn:
        for statement, params in statements:
            rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
            lines.extend(str(row[-1]) for row in rows)
    assert lines, "no outbox query ran"
    return lines


async def test_a_claim_checks_chat_order_in_one_pass_not_per_row(db_url: str) -> None:
    """Taking turns between accounts ranks every due row: a correlated "is an older
    message of this chat pending?" subquery per row cost seconds behind a backlog."""
    async with Harness(db_url) as h:
        lines = await plans(h, lambda s: claim_due(s, h.clock.now(), 50, timedelta(seconds=30)))
    assert not [line for line in lines if "CORRELATED" in line], lines
    assert not [line for line in lines if line.startswith("SCAN outbox")], lines


async def test_a_typed_choice_finds_its_message_by_index(db_url: str) -> None:
    """A customer answering "5" to a numbered choice: the sent message is found by its
    platform, chat and id, not by going through every sent row (they are kept)."""
    async with Harness(db_url) as h:
        lines = await plans(h, lambda s: choices(s, "telegram", "-100100", "5"))
    assert any("ix_outbox_sent_message" in line for line in lines), lines


async def test_an_edits_newer_versions_are_sought_by_index(db_url: str) -> None:
    """An edit is needless once a newer row of its anchor is pending or sent (sent rows
    are kept, so a long-lived board has thousands): the check seeks the anchor's rows
    above the edit's id instead of reading them all."""
    from types import SimpleNamespace

    edit = SimpleNamespace(id=7, kind="upsert", anchor="board:acme")
    async with Harness(db_url) as h:
        lines = await plans(h, lambda s: superseded_rows(s, [edit]))  # type: ignore[list-item]
    assert any("ix_outbox_anchor_id (anchor=? AND id>?)" in line for line in lines), lines


async def test_a_claim_ranks_the_due_rows_from_the_index_alone(db_url: str) -> None:
    """A claim reads every pending row's kind and chat (the ranking, each chat's oldest
    message, the chats it left rows of): through the table, each read went past the
    row's payload (a triage card's overflows its page), 4-6 ms a claim with 2,000 cards
    pending. The due-rows index carries those columns; the table is read by id only,
    for the rows taken."""
    key = ("telegram", "-100100")

    async def claim(s: AsyncSession) -> None:
        await claim_due(
            s, h.clock.now(), 50, timedelta(seconds=30), exclude=[key], platforms=["telegram"]
        )
        await chats_waiting(s, {key: []}, edits=True)
        await chats_waiting(s, {key: []}, edits=False)

    async with Harness(db_url) as h:
        lines = await plans(h, claim)
    reads = [line for line in lines if line.startswith(("SEARCH outbox", "SCAN outbox"))]
    assert reads, lines
    by_index = [line for line in reads if "USING COVERING INDEX ix_outbox_due" in line]
    by_id = [line for line in reads if "USING INTEGER PRIMARY KEY" in line]
    assert len(by_index) + len(by_id) == len(reads), lines
    assert len(by_index) >= 3, lines  # the ranking, the oldest messages, the chats left
