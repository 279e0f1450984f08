"""Ratings cannot be stuffed or forged: one per case and resolution cycle (a later press
changes it, audited), only on a case whose resolution asked for one, only from the
customer side; the service review counts one response per case and cycle."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from storage.review import account_review
from storage.stats import account_named
from tests.engine.kit import events, mark, open_case, rows_after
from tests.harness import ACME, Harness
from tests.telegram.kit import TgBox
from tests.telegram.test_flow import open_case as tg_open_case


async def _review_csat(h: Harness) -> dict[str, Any]:
    async with h.sessions() as session:
        account = await account_named(session, "Acme")
        assert account is not None
        start = datetime(2026, 3, 1, tzinfo=h.clock.now().tzinfo)
        review = await account_review(session, account, start, start + timedelta(days=60))
    return dict(review["csat"])


def _answers(rows: list[Any]) -> list[str]:
    return [r.payload["text"] for r in rows if r.kind == "answer"]


async def test_ten_presses_make_one_rating_and_a_change_is_audited(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "/resolve")
        for _ in range(10):
            await h.press("alice", "csat:1:4", chat=ACME)
        await h.press("bob", "csat:1:2", chat=ACME)  # the same chat's other customer
        case = await h.case(1)
        assert case["csat"] == 2
        ratings = [(e["actor"], e["data"]["score"], e["data"].get("previous")) for e in
                   events(case, "csat")]  # fmt: skip
        assert ratings == [("telegram:5001", 4, None), ("telegram:5002", 2, 4)]
        csat = await _review_csat(h)
        assert (csat["responses"], csat["average"]) == (1, 2.0)


async def test_forged_and_staff_presses_are_refused(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        since = await mark(h)
        await h.press("alice", "csat:1:1", chat=ACME)  # never resolved, never asked
        await h.say("evan", "/resolve")
        await h.press("evan", "csat:1:5", chat=ACME)
        not_asked = h.texts.render("csat_not_asked", "en")
        only = h.texts.render("csat_customers_only", "en")
        assert _answers(await rows_after(h, since)) == [not_asked, only]
        # reopened: the earlier resolution's buttons no longer count
        await h.say("alice", "still broken", reply_to="1")
        assert (await h.case(1))["status"] == "open"
        since = await mark(h)
        await h.press("alice", "csat:1:1", chat=ACME)
        assert _answers(await rows_after(h, since)) == [not_asked]
        assert events(await h.case(1), "csat") == []
        assert (await _review_csat(h))["responses"] == 0


async def test_each_resolution_cycle_has_its_own_rating(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "/resolve")
        await h.press("alice", "csat:1:2", chat=ACME)
        await h.say("alice", "still broken", reply_to="1")
        await h.say("evan", "/resolve")
        await h.press("alice", "csat:1:5", chat=ACME)
        await h.press("alice", "csat:1:5", chat=ACME)
        ratings = events(await h.case(1), "csat")
        assert [e["data"]["score"] for e in ratings] == [2, 5]
        assert ratings[0]["data"]["cycle"] != ratings[1]["data"]["cycle"]
        csat = await _review_csat(h)
        assert (csat["responses"], csat["average"]) == (2, 3.5)


async def test_ratings_through_telegram(box: TgBox) -> None:
    await tg_open_case(box)
    forged = box.press("alice", 1, "csat:1:1", chat="acme")
    await box.settle()
    assert box.api.callback_answers[forged]["text"] == "This case is not asking for a rating now."
    box.say("evan", "/resolve")
    await box.settle()
    [question] = [m for m in box.sent("acme") if "resolved" in m["text"]]
    presses = [box.press("alice", question["message_id"], "csat:1:4", chat="acme")
               for _ in range(10)]  # fmt: skip
    staff = box.press("evan", question["message_id"], "csat:1:1", chat="acme")
    await box.settle()
    assert {box.api.callback_answers[p]["text"] for p in presses} == {"Thank you for your rating!"}
    assert "Only the customer" in box.api.callback_answers[staff]["text"]
    assert [(e.actor, e.data["score"]) for e in await box.events("csat")] == [("telegram:5001", 4)]
