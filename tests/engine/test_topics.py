"""A case's own forum topic follows the case: it stays open while the case is resolved
(the customer's reply there reopens it), closes when the case closes and reopens with
it, whichever chat the action came from."""

from __future__ import annotations

from datetime import timedelta

from scheduler.sweeper import Sweeper
from storage.outbox import set_case_thread
from tests.engine.kit import mark, open_case, rows_after
from tests.harness import ACME, TRIAGE, Harness, base_config


def per_case_topics() -> list[dict[str, object]]:
    raw = base_config()
    raw["accounts"][0]["topics"] = "per_case"
    return raw["accounts"]


async def topic_actions(h: Harness, since: int) -> list[str]:
    return [r.kind for r in await rows_after(h, since) if r.purpose == "topic"]


async def case_in_topic(h: Harness) -> int:
    case_id = await open_case(h)
    async with h.sessions() as session, session.begin():
        await set_case_thread(session, case_id, "77")  # as the dispatcher records it
    return case_id


async def test_resolving_keeps_the_topic_open_for_the_customer(db_url: str) -> None:
    async with Harness(db_url, accounts=per_case_topics()) as h:
        await case_in_topic(h)
        since = await mark(h)
        await h.say("evan", "/resolve", thread="77")
        assert (await h.case(1))["status"] == "resolved"
        assert await topic_actions(h, since) == []
        out = await h.say("alice", "it broke again", thread="77")
        assert out.case_id == 1 and (await h.case(1))["status"] == "open"
        assert await topic_actions(h, since) == []


async def test_the_topic_closes_with_the_case_and_reopens_from_triage(db_url: str) -> None:
    async with Harness(db_url, accounts=per_case_topics()) as h:
        await case_in_topic(h)
        await h.say("lena", "/resolve #1", chat=TRIAGE)
        since = await mark(h)
        sweeper = Sweeper(h.sessions, h.engine, batch=50)
        h.clock.advance(h.engine.settings.escalation.close_after + timedelta(minutes=1))
        await sweeper.tick(h.clock.now())
        assert (await h.case(1))["status"] == "closed"
        assert await topic_actions(h, since) == ["topic_close"]
        since = await mark(h)
        await h.say("lena", "/reopen #1", chat=TRIAGE)
        assert (await h.case(1))["status"] == "open"
        rows = [r for r in await rows_after(h, since) if r.purpose == "topic"]
        assert [(r.kind, r.chat, r.payload.get("thread")) for r in rows] == [
            ("topic_reopen", ACME, "77")
        ]
