"""What casebot does to a case on its own (`Engine.system`, the sweeper's entry): the
engine's status path with no actor, the customer told in the case's thread, nobody
answered in chat, and a bad request refused without a change."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cases.context import ActionRejected
from cases.engine import Outcome
from cases.model import SystemAction, SystemKind
from storage.uow import SqlUnitOfWork
from tests.engine.kit import events, mark, open_case, rows_after, status_changes
from tests.harness import ACME, Harness


async def system(h: Harness, action: SystemAction) -> Outcome:
    async with h.sessions() as session, session.begin():
        return await h.engine.system(SqlUnitOfWork(session, h.ingestor.caches), action)


async def test_auto_resolve_tells_the_customer_and_resolves_with_no_actor(db_url: str) -> None:
    async with Harness(db_url) as h:
        case_id = await open_case(h)
        since = await mark(h)
        outcome = await system(h, SystemAction(SystemKind.AUTO_RESOLVE, case_id, h.clock.now()))
        assert outcome.case_id == case_id
        case = await h.case(case_id)
        assert status_changes(case)[-1] == ("new", "resolved", "no_customer_reply")
        assert [e["actor"] for e in events(case, "status_changed")][-1] is None
        rows = await rows_after(h, since)
        [told] = [r for r in rows if r.purpose == "auto_resolve"]
        assert (told.kind, told.chat, told.case_id) == ("send", ACME, case_id)
        # a timer answers nobody: no reply, no button answer
        assert not [r for r in rows if r.purpose in ("reply", "answer")]

        h.clock.advance(timedelta(days=8))
        await system(h, SystemAction(SystemKind.CLOSE, case_id, h.clock.now()))
        assert status_changes(await h.case(case_id))[-1] == ("resolved", "closed", "close_after")


async def test_an_unknown_case_is_refused(db_url: str) -> None:
    async with Harness(db_url) as h:
        with pytest.raises(ActionRejected, match="no case #99"):
            await system(h, SystemAction(SystemKind.CLOSE, 99, h.clock.now()))
