"""A customer writing about a resolved case reopens it within `reopen_window`, whichever
attach rule finds the case (reply, thread, window); later it stays an untracked line (or,
with automatic intake, opens a new case). Merging an open case into a finished one
reopens that one, audited, so an open case's messages never sit inside a resolved case."""

from __future__ import annotations

from datetime import timedelta

from cases.model import ActionKind, StaffAction
from storage.models import CaseRow
from tests.engine.kit import act, case_count, message, open_case, status_changes
from tests.harness import ACME, GLOBEX, Harness


async def _resolved(h: Harness, text: str = "my VM is down") -> int:
    case_id = await open_case(h, text)
    await h.say("evan", f"/resolve #{case_id}")
    assert (await h.case(case_id))["status"] == "resolved"
    return case_id


async def test_the_window_reopens_a_resolved_case(db_url: str) -> None:
    async with Harness(db_url) as h:
        await _resolved(h)
        out = await h.say("alice", "it is down again")  # no reply: the window finds #1
        assert out.case_id == 1
        case = await h.case(1)
        assert case["status"] == "open"
        assert status_changes(case)[-1] == ("resolved", "open", "customer_reply")
        assert [m["text"] for m in case["messages"]][-1] == "it is down again"


async def test_a_topic_line_reopens_a_resolved_case(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "billing question", thread="7")
        await h.say("evan", "/case", reply_to=h.last_message_id, thread="7")
        await h.say("evan", "/resolve #1")
        h.clock.advance(timedelta(hours=5))  # long past the conversation window
        out = await h.say("alice", "one more thing", thread="7")
        assert out.case_id == 1
        assert status_changes(await h.case(1))[-1] == ("resolved", "open", "customer_reply")


async def test_a_reply_reopens_a_resolved_case(db_url: str) -> None:
    async with Harness(db_url) as h:
        await _resolved(h)
        h.clock.advance(timedelta(days=2))
        out = await h.say("alice", "it is down again", reply_to="1")
        assert out.case_id == 1
        assert (await h.case(1))["status"] == "open"


async def test_after_the_reopen_window_a_late_line_stays_untracked(db_url: str) -> None:
    async with Harness(db_url, cases={"reopen_window": "2m"}) as h:
        await _resolved(h)
        h.clock.advance(timedelta(minutes=3))
        for reply_to in (None, "1"):  # within the conversation window, then a reply
            out = await h.say("alice", "thanks, all good", reply_to=reply_to)
            assert out.case_id is None and not out.opened
            assert (await message(h, h.last_message_id))["case_id"] is None
        assert (await h.case(1))["status"] == "resolved"


async def test_after_the_reopen_window_automatic_intake_opens_a_new_case(db_url: str) -> None:
    async with Harness(db_url, cases={"reopen_window": "2m"}) as h:
        await h.say("carol", "数据库超时", chat=GLOBEX)
        await h.say("evan", "/resolve #1", chat=GLOBEX)
        h.clock.advance(timedelta(minutes=3))
        out = await h.say("carol", "又超时了", chat=GLOBEX, reply_to="1")
        assert out.opened and out.case_id == 2
        assert (await h.case(1))["status"] == "resolved"


# ------------------------------------------------------------------------- merge


async def test_merging_an_open_case_into_a_resolved_one_reopens_it(db_url: str) -> None:
    async with Harness(db_url) as h:
        await _resolved(h)
        await h.say("bob", "printer jammed")
        await h.say("evan", "/case", reply_to=h.last_message_id)
        bob_line = h.last_message_id
        await h.sent()
        await h.say("evan", "/merge #1", reply_to=bob_line)
        assert await h.sent(chat=ACME, purpose="reply") == [
            h.texts.render("merged_reopened", "en", ref="#2", into="#1")
        ]
        target = await h.case(1)
        assert target["status"] == "open"
        assert status_changes(target)[-1] == ("resolved", "open", "merged_in")
        assert "printer jammed" in [m["text"] for m in target["messages"]]
        assert (await h.case(2))["status"] == "closed"


async def test_merging_into_a_closed_case_reopens_it(db_url: str) -> None:
    async with Harness(db_url) as h:
        await _resolved(h)
        await act(
            h,
            StaffAction(ActionKind.STATUS, 1, h.actor("evan"), h.clock.now(), value="closed"),
        )
        assert (await h.case(1))["status"] == "closed"
        await h.say("bob", "printer jammed")
        await h.say("evan", "/case", reply_to=h.last_message_id)
        await h.say("evan", "/merge #1", reply_to=h.last_message_id)
        assert status_changes(await h.case(1))[-1] == ("closed", "open", "merged_in")


async def test_merging_a_finished_case_into_a_finished_one_reopens_nothing(db_url: str) -> None:
    async with Harness(db_url) as h:
        await _resolved(h)
        await h.say("bob", "printer jammed")
        bob_line = h.last_message_id
        await h.say("evan", "/case", reply_to=bob_line)
        await h.say("evan", "/resolve #2")
        await h.sent()
        await h.say("evan", "/merge #1", reply_to=bob_line)
        assert await h.sent(chat=ACME, purpose="reply") == [
            h.texts.render("merged", "en", ref="#2", into="#1")
        ]
        assert (await h.case(1))["status"] == "resolved"
        assert await case_count(h) == 2


async def test_a_waiting_customer_keeps_a_reply_clock_after_the_merge(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "rebooted it for you", reply_to="1")
        await h.say("evan", "/resolve #1")
        await h.say("bob", "printer jammed")
        bob_line = h.last_message_id
        await h.say("evan", "/case", reply_to=bob_line)
        assert (await h.case(2))["first_response_at"] is None  # Bob waits for an answer
        await h.say("evan", "/merge #1", reply_to=bob_line)
        async with h.sessions() as session:
            target = await session.get(CaseRow, 1)
        assert target is not None and target.status == "open"
        # Bob's question is unanswered inside #1: a reply to him is due, and the sweeper
        # will warn and escalate on it
        assert "customer_waiting_since" in target.sla
        assert target.next_response_due is not None
        assert target.next_due_at is not None and target.next_due_at <= target.next_response_due
