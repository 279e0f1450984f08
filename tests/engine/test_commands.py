"""Chat commands: /assign, /priority, /followup, /done, /note, /status, /help, /move,
/merge, `#N` targeting, "which case?", and staff-only commands refused to customers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.engine.kit import (
    case_count,
    cases,
    events,
    followups,
    mark,
    message,
    open_case,
    rows_after,
    texts_of,
)
from tests.harness import ACME, GLOBEX, TRIAGE, Harness

pytestmark = pytest.mark.usefixtures("platform")


async def test_assign_me_and_by_username(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.sent()
        await h.say("evan", "/assign me")
        assert (await h.case(1))["assignee"] == h.key("1001")
        assert await h.sent(chat=ACME, purpose="reply") == [
            h.texts.render("assigned", "en", ref="#1", name="Evan")
        ]
        await h.say("evan", "/assign @Erin")
        case = await h.case(1)
        assert case["assignee"] == h.key("1002")
        assigned = events(case, "assigned")
        assert [e["data"] for e in assigned] == [
            {"from": None, "to": h.key("1001"), "reason": "assign"},
            {"from": h.key("1001"), "to": h.key("1002"), "reason": "assign"},
        ]
        assert [e["actor"] for e in assigned] == [h.key("1001"), h.key("1001")]


async def test_assign_someone_the_platform_names_by_key_not_by_username(db_url: str) -> None:
    """Telegram's text_mention (a person picked without a username) reaches the engine
    as a key in `Inbound.mentions`: "/assign Erin" with Erin so named assigns her."""
    async with Harness(db_url) as h:
        await open_case(h)
        await h.sent()
        await h.say("evan", "/assign Erin", mentions=(h.key("1002"),))
        assert (await h.case(1))["assignee"] == h.key("1002")
        (reply,) = await h.sent(chat=ACME, purpose="reply")
        assert "#1" in reply and "erin" in reply.lower()


@pytest.mark.parametrize("who", ["@nobody_here", "@alice"])
async def test_assign_to_someone_not_on_the_team_is_refused(db_url: str, who: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        before = await h.case(1)
        await h.sent()
        await h.say("evan", f"/assign {who}")
        assert await h.sent(chat=ACME) == [h.texts.render("person_unknown", "en", name=who)]
        assert await h.case(1) == before


async def test_priority_sets_and_bad_values_get_usage(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.sent()
        await h.say("evan", "/priority p1")
        case = await h.case(1)
        assert case["priority"] == "P1"
        assert [e["data"] for e in events(case, "priority_changed")] == [
            {"from": "P3", "to": "P1"}
        ]
        assert await h.sent(chat=ACME, purpose="reply") == [
            h.texts.render("priority_set", "en", ref="#1", priority="P1")
        ]
        for bad in ("/priority P9", "/priority urgent", "/priority"):
            await h.say("evan", bad)
            assert await h.sent(chat=ACME) == [h.texts.render("usage_priority", "en")]
        assert (await h.case(1)) == case


async def test_followup_creates_a_due_action_and_done_completes_it(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.sent()
        out = await h.say("evan", "/followup 2d @erin call back about the quota")
        now = h.clock.now()
        [followup] = await followups(h)
        assert followup.case_id == 1
        assert followup.owner == h.key("1002")
        assert followup.created_by == h.key("1001")
        assert followup.text == "call back about the quota"
        assert followup.due_at.astimezone(UTC) == now + timedelta(days=2)
        assert followup.done_at is None
        created = events(await h.case(1), "followup_created")
        assert len(created) == 1 and created[0]["data"]["owner"] == h.key("1002")
        # a follow-up is internal: it is confirmed in triage, not in the customer's group
        rows = await h.outbox()
        assert not [r for r in rows if r.chat == ACME and r.purpose == "reply"]
        replies = await h.sent(chat=TRIAGE, purpose="reply")
        assert len(replies) == 1 and "#1" in replies[0]
        assert out.case_id is None  # the command itself is not part of the conversation

        await h.say("erin", "/done")
        [followup] = await followups(h)
        assert followup.done_at is not None
        assert len(events(await h.case(1), "followup_done")) == 1
        assert await h.sent(chat=TRIAGE, purpose="reply") == [
            h.texts.render("followup_done", "en", ref="#1", count=1)
        ]
        await h.say("erin", "/done")
        assert await h.sent(chat=TRIAGE) == [h.texts.render("followup_none", "en", ref="#1")]


async def test_followup_for_me_defaults_to_the_sender(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("erin", "/followup 4h check the graphs")
        [followup] = await followups(h)
        assert followup.owner == h.key("1002")
        assert followup.text == "check the graphs"


@pytest.mark.parametrize(
    "text", ["/followup", "/followup soon call back", "/followup 2d", "/followup 2d @erin"]
)
async def test_followup_bad_usage_gets_the_usage_text(db_url: str, text: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        before = await h.case(1)
        await h.sent()
        await h.say("evan", text)
        assert await h.sent(chat=ACME) == [h.texts.render("usage_followup", "en")]
        assert await followups(h) == []
        assert await h.case(1) == before


async def test_followup_for_an_unknown_owner_is_refused(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.sent()
        await h.say("evan", "/followup 2d @ghost call back")
        assert await h.sent(chat=ACME) == [h.texts.render("person_unknown", "en", name="@ghost")]
        assert await followups(h) == []


async def test_note_is_internal_and_copied_to_triage_only(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        since = await mark(h)
        await h.say("evan", "/note customer is on the old plan")
        note_id = h.last_message_id
        stored = await message(h, note_id)
        assert stored["internal"] is True and stored["case_id"] == 1
        case = await h.case(1)
        assert [e["data"] for e in events(case, "note")] == [
            {"text": "customer is on the old plan"}
        ]
        rows = await rows_after(h, since)
        assert [r.chat for r in rows] == [TRIAGE]
        assert rows[0].payload["text"] == h.texts.render(
            "note_triage", "en", ref="#1", name="Evan", text="customer is on the old plan"
        )
        # an internal note is not a staff answer: no flip, no first response
        assert case["status"] == "new" and case["first_response_at"] is None
        # and its text never reaches the customer chat, not even on the board or a card
        assert not any(
            "old plan" in r.payload.get("text", "") for r in await h.outbox() if r.chat == ACME
        )


async def test_status_for_a_customer_lists_their_chat_only(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h, "acme VM down")
        await h.say("carol", "globex 数据库超时", chat=GLOBEX)
        await h.sent()
        await h.say("bob", "/status")
        [text] = await h.sent(chat=ACME)
        assert "#1" in text and "acme VM down" in text
        assert "#2" not in text and "globex" not in text


async def test_status_shows_followups_to_staff_in_triage_only(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "/followup 2d @erin call back")
        await h.sent()
        await h.say("alice", "/status")
        [customer] = await h.sent(chat=ACME)
        assert "call back" not in customer
        # staff asking in the customer's group get the customer's view: the group reads it
        await h.say("evan", "/status")
        [staff_in_group] = await h.sent(chat=ACME)
        assert staff_in_group == customer
        await h.say("evan", "/status #1", chat=TRIAGE)
        [staff] = await h.sent(chat=TRIAGE)
        assert "#1" in staff and "call back" in staff and "erin" in staff
        assert h.key("1002") not in staff, "owners are named, not keyed"


async def test_status_in_triage_with_a_case_number(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.sent()
        await h.say("lena", "/status #1", chat=TRIAGE)
        [text] = await h.sent(chat=TRIAGE)
        assert "#1" in text
        await h.say("lena", "/status #7", chat=TRIAGE)
        assert await h.sent(chat=TRIAGE) == [h.texts.render("case_unknown", "en", ref="#7")]


async def test_help_differs_for_customers_and_staff(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "/help")
        assert await h.sent(chat=ACME) == [h.texts.render("help_customer", "en")]
        await h.say("evan", "/help@casebot")
        assert await h.sent(chat=ACME) == [h.texts.render("help_staff", "en")]
        await h.say("alice", "/help", chat=GLOBEX)
        assert await h.sent(chat=GLOBEX) == [h.texts.render("help_customer", "zh")]
        assert await case_count(h) == 0


async def test_move_a_message_to_another_case(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h, "VM down", who="alice")
        await open_case(
            h,
            "billing question",
            who="bob",
        )
        await h.say("alice", "and the invoice is wrong too", reply_to="1")
        stray = h.last_message_id
        assert (await message(h, stray))["case_id"] == 1
        await h.sent()
        await h.say("evan", "/move #2", reply_to=stray)
        assert (await message(h, stray))["case_id"] == 2
        one, two = await h.case(1), await h.case(2)
        assert "and the invoice is wrong too" not in texts_of(one)
        assert "and the invoice is wrong too" in texts_of(two)
        data = {"message": stray, "from": 1, "to": 2}
        assert [e["data"] for e in events(one, "message_moved_out")] == [data]
        assert [e["data"] for e in events(two, "message_moved_in")] == [data]
        assert await h.sent(chat=ACME) == [h.texts.render("moved", "en", ref="#2")]


async def test_move_needs_a_reply_and_a_case_here(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("carol", "数据库超时", chat=GLOBEX)
        await h.sent()
        await h.say("evan", "/move #1")
        assert await h.sent(chat=ACME) == [h.texts.render("usage_move", "en")]
        await h.say("evan", "/move #2", reply_to="1")
        assert await h.sent(chat=ACME) == [h.texts.render("case_unknown", "en", ref="#2")]
        assert (await message(h, "1"))["case_id"] == 1


async def test_merge_moves_messages_and_closes_the_source(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h, "VM down", who="alice")
        await open_case(h, "VM down too", who="bob")
        bob_asked = "3"
        await h.sent()
        await h.say("evan", "/merge #1", reply_to=bob_asked)
        source, target = await h.case(2), await h.case(1)
        assert source["merged_into"] == 1
        assert source["status"] == "closed" and source["closed_at"] is not None
        assert source["messages"] == []
        assert texts_of(target) == ["VM down", "VM down too"]
        assert [e["data"] for e in events(source, "merged_into")] == [{"into": 1}]
        assert [e["data"] for e in events(target, "merged_from")] == [{"from": 2}]
        assert events(source, "status_changed")[-1]["data"] == {
            "from": "new",
            "to": "closed",
            "reason": "merged",
        }
        assert h.texts.render("merged", "en", ref="#2", into="#1") in await h.sent(chat=ACME)
        # a later reply to the merged case's message lands in the target
        out = await h.say("bob", "still down", reply_to=bob_asked)
        assert out.case_id == 1


async def test_merge_across_accounts_is_refused(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("carol", "数据库超时", chat=GLOBEX)
        # in triage, a note on #1 is a message of #1 that /merge can reply to
        await h.say("evan", "/note #1 same as Globex?", chat=TRIAGE)
        note = h.last_message_id
        before = [await h.case(1), await h.case(2)]
        await h.sent()
        await h.say("evan", "/merge #2", chat=TRIAGE, reply_to=note)
        assert await h.sent(chat=TRIAGE) == [h.texts.render("merge_other_account", "en")]
        assert [await h.case(1), await h.case(2)] == before


async def test_case_ref_targets_and_ambiguity_asks_which_case(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h, "VM down", who="alice")
        await open_case(h, "billing", who="bob")
        await h.sent()
        await h.say("evan", "/priority P1")
        assert await h.sent(chat=ACME) == [h.texts.render("which_case", "en")]
        assert [c["priority"] for c in await cases(h)] == ["P3", "P3"]
        await h.say("evan", "/priority #2 P1")
        assert [c["priority"] for c in await cases(h)] == ["P3", "P1"]
        await h.say("evan", "/resolve")
        assert h.texts.render("which_case", "en") in await h.sent(chat=ACME)
        await h.say("evan", "/resolve #1")
        assert [c["status"] for c in await cases(h)] == ["resolved", "new"]
        # with one active case left, it is the one meant
        await h.say("evan", "/assign me")
        assert (await h.case(2))["assignee"] == h.key("1001")
        await h.say("evan", "/priority #42 P2")
        assert h.texts.render("case_unknown", "en", ref="#42") in await h.sent(chat=ACME)


STAFF_ONLY = [
    "/case",
    "/case My own title",
    "/assign me",
    "/assign @erin",
    "/priority P1",
    "/resolve",
    "/resolve #1",
    "/reopen #1",
    "/hold",
    "/followup 1d @erin call",
    "/note secret",
    "/move #1",
    "/merge #1",
    "/done",
    "/login",
]


@pytest.mark.parametrize("text", STAFF_ONLY)
async def test_staff_only_commands_from_a_customer_change_nothing(db_url: str, text: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "/followup 2d check")
        await h.say("alice", "another question")
        before_cases = await cases(h)
        before_followups = [(f.id, f.done_at) for f in await followups(h)]
        await h.sent()
        await h.say("alice", text, reply_to="1", advance=timedelta(minutes=1))
        name = text[1:].split()[0]
        assert await h.sent() == [h.texts.render("refused_staff_only", "en", command=name)]
        assert await cases(h) == before_cases
        assert [(f.id, f.done_at) for f in await followups(h)] == before_followups
        assert (await message(h, h.last_message_id))["case_id"] is None


async def test_commands_sent_at_a_fixed_time_keep_their_times(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        at = h.clock.now() + timedelta(seconds=30)
        await h.say("evan", "/assign me")
        [event] = events(await h.case(1), "assigned")
        assert datetime.fromisoformat(event["at"].replace("Z", "+00:00")) == at


async def test_a_private_chat_answers_login_start_and_help_and_keeps_nothing_else(
    db_url: str,
) -> None:
    from sqlalchemy import or_, select

    from bot.dispatcher import Dispatcher
    from cases.model import ChatKey, Inbound, InboundKind
    from storage.models import MessageRow
    from storage.stats import search_messages
    from tests.fakes.recording_adapter import RecordingAdapter

    async with Harness(db_url, http={"public_url": "https://desk.example.com"}) as h:

        def dm(who: str, text: str, n: int) -> Inbound:
            actor = h.actor(who)
            return Inbound(
                InboundKind.MESSAGE,
                f"dm{n}",
                ChatKey("telegram", actor.user_id),
                h.clock.now(),
                actor,
                message_id=str(n),
                text=text,
                is_direct=True,
            )

        assert (await h.push(dm("alice", "hello, are you a person?", 1))).ignored
        await h.push(dm("alice", "/login", 2))
        await h.push(dm("evan", "/login", 3))
        await h.push(dm("evan", "/help", 4))
        rows = await h.outbox()
        assert [(r.chat, r.purpose) for r in rows] == [
            ("5001", "reply"),  # the refusal, in Alice's own chat
            ("1001", "login"),
            ("1001", "reply"),
        ]
        assert "support team" in rows[0].payload["text"]
        assert "https://desk.example.com/login/" in rows[1].payload["text"]
        # the sign-in link goes out, and nothing of the private chat is kept: not the
        # question, not the /login, and never the link (a token readable in search
        # would let any staff member sign in as its owner)
        adapter = RecordingAdapter()
        while await Dispatcher(h.sessions, {"telegram": adapter}, h.clock).run_once():
            pass
        assert any("/login/" in text for text in adapter.texts())
        async with h.sessions() as session:
            kept = await session.execute(
                select(MessageRow.text).where(
                    or_(MessageRow.text.like("hello%"), MessageRow.text.like("%login%"))
                )
            )
            assert kept.all() == []
            assert await search_messages(session, "login/") == []
