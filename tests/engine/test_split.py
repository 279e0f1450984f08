"""/case on a message the conversation window put on a case splits it off into a case
of its own, with its replies; the old case's clocks and counts are worked out again.
A message that joined by reply or thread stays, and the refusal says how to move it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage.models import CaseRow
from tests.engine.kit import events, message, open_case, status_changes, texts_of
from tests.harness import ACME, Harness


async def _row(h: Harness, case_id: int) -> CaseRow:
    async with h.sessions() as session:
        return (await session.execute(select(CaseRow).where(CaseRow.id == case_id))).scalar_one()


def _customer_texts(case: dict[str, Any]) -> list[str]:
    return [m["text"] for m in case["messages"] if m["role"] == "customer"]


async def test_case_on_a_window_message_opens_its_own_case(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h, "I was billed twice this month")
        out = await h.say("alice", "Snapshot restore fails with code 17")
        assert out.case_id == 1, "the window put it on #1"
        snapshot = h.last_message_id
        await h.say("alice", "here is the log", reply_to=snapshot)
        await h.sent()
        split = await h.say("evan", "/case snapshot restore", reply_to=snapshot)
        assert split.opened and split.case_id == 2
        sent = await h.sent(chat=ACME)
        assert h.texts.render("split_off", "en", ref="#2", old="#1") in sent
        assert not any("already belongs" in t for t in sent)
        old, new = await h.case(1), await h.case(2)
        assert new["title"] == "snapshot restore"
        assert _customer_texts(new) == ["Snapshot restore fails with code 17", "here is the log"]
        assert _customer_texts(old) == ["I was billed twice this month"]
        for case in (old, new):
            [moved] = [e["data"] for e in case["events"] if e["type"].startswith("message_moved")]
            assert moved == {
                "message": snapshot,
                "from": 1,
                "to": 2,
                "split": True,
                "messages": 2,
            }
        assert (await message(h, snapshot))["case_id"] == 2


async def test_split_leaves_the_old_cases_clocks_right(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h, "I was billed twice this month")
        await h.say("evan", "Looking into the invoice now")  # first response: waiting on Alice
        assert (await h.case(1))["status"] == "waiting_on_customer"
        await h.say("alice", "Snapshot restore fails with code 17")
        snapshot = h.last_message_id
        during = await _row(h, 1)
        assert during.status == "open" and during.next_response_due is not None
        await h.say("evan", "/case", reply_to=snapshot)
        old = await _row(h, 1)
        # the only customer line after the answer is gone: nobody waits on #1 any more
        assert old.status == "waiting_on_customer"
        assert old.next_response_due is None
        assert "customer_waiting_since" not in old.sla
        assert old.last_customer_at is not None and old.last_customer_at < during.last_customer_at
        assert old.first_response_at is not None
        assert texts_of(await h.case(1)) == [
            "I was billed twice this month",
            "Looking into the invoice now",
        ]
        new = await _row(h, 2)
        assert new.status == "new" and new.first_response_at is None
        assert new.first_response_due is not None
        assert [e["data"]["reason"] for e in events(await h.case(1), "status_changed")][-1] == (
            "split"
        )


async def test_case_refuses_a_reply_and_says_how_to_move_it(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h, "I was billed twice this month")
        first = "1"
        await h.say("alice", "and the VAT is wrong too", reply_to=first)
        reply = h.last_message_id
        await h.sent()
        out = await h.say("evan", "/case", reply_to=reply)
        assert not out.opened
        [text] = await h.sent(chat=ACME)
        assert text == h.texts.render(
            "already_case_move", "en", ref="#1", title="I was billed twice this month"
        )
        assert "/move #N" in text
        assert (await message(h, reply))["case_id"] == 1


async def test_case_refuses_a_message_in_the_cases_thread(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "billing question", thread="7")
        await h.say("evan", "/case", reply_to=h.last_message_id, thread="7")
        await h.say("alice", "another thing in the topic", thread="7")
        in_topic = h.last_message_id
        await h.sent()
        out = await h.say("evan", "/case", reply_to=in_topic, thread="7")
        assert not out.opened
        [text] = await h.sent(chat=ACME)
        assert "/move #N" in text


async def test_case_on_the_cases_own_first_message_is_refused(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h, "I was billed twice this month")
        await h.sent()
        out = await h.say("evan", "/case", reply_to="1")
        assert not out.opened
        [text] = await h.sent(chat=ACME)
        assert text.startswith("That message already belongs to case #1")


async def test_split_taking_the_only_answer_leaves_the_old_case_unanswered(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h, "I was billed twice this month")
        await h.say("alice", "Snapshot restore fails with code 17")
        snapshot = h.last_message_id
        await h.say("evan", "Which volume?", reply_to=snapshot)  # #1 waits on Alice now
        assert (await h.case(1))["status"] == "waiting_on_customer"
        await h.say("evan", "/case snapshot restore", reply_to=snapshot)
        old, new = await _row(h, 1), await _row(h, 2)
        # the answer went with the snapshot question: the billing one is unanswered
        assert texts_of(await h.case(1)) == ["I was billed twice this month"]
        assert old.first_response_at is None and old.last_staff_at is None
        assert old.first_response_due is not None
        assert old.status == "open", "the customer waits on us, not we on them"
        assert new.first_response_at is not None and new.status == "waiting_on_customer"


async def test_splitting_off_the_line_that_reopened_a_case_leaves_it_resolved(
    db_url: str,
) -> None:
    async with Harness(db_url) as h:
        await open_case(h, "I was billed twice this month")
        await h.say("evan", "Refunded, sorry about that", reply_to="1")
        await h.say("evan", "/resolve #1")
        await h.say("alice", "Snapshot restore fails with code 17")  # the window reopens #1
        snapshot = h.last_message_id
        assert (await h.case(1))["status"] == "open"
        await h.say("evan", "/case snapshot restore", reply_to=snapshot)
        old = await h.case(1)
        # nothing that reopened it is left on #1: it is done, not waiting on anyone
        assert old["status"] == "resolved"
        assert status_changes(old)[-1] == ("open", "resolved", "split")
        assert (await h.case(2))["status"] == "new"
        assert "#1" not in (await h.sent(chat=ACME, purpose="board"))[-1]
