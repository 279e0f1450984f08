"""Attaching messages to cases: reply chains, topics mapped to cases, the per-sender
conversation window, staff answers, and untracked messages pulled in later."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.outbox import record_bot_message, set_case_thread
from tests.engine.kit import case_count, message, messages, open_case, texts_of
from tests.harness import ACME, Harness, base_config

pytestmark = pytest.mark.usefixtures("platform")


async def test_a_reply_to_a_case_message_joins_the_case(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "my VM is down")
        asked = h.last_message_id
        await h.say("evan", "/case", reply_to=asked)
        # Bob answers Alice's message much later: the reply chain decides, not the window
        out = await h.say("bob", "same here on vm-7", reply_to=asked, advance=timedelta(hours=3))
        assert out.case_id == 1 and not out.opened
        assert texts_of(await h.case(1)) == ["my VM is down", "same here on vm-7"]


async def test_a_reply_to_the_bots_ack_joins_the_case(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        ack = next(r for r in await h.outbox() if r.purpose == "ack")
        # the dispatcher keeps what the bot said in the transcript once it is sent
        async with h.sessions() as session, session.begin():
            await record_bot_message(session, ack, ACME, "900", h.clock.now())
        out = await h.say("bob", "any news?", reply_to="900", advance=timedelta(hours=2))
        assert out.case_id == 1
        assert texts_of(await h.case(1))[-1] == "any news?"


async def test_a_reply_to_an_unknown_message_falls_back_to_the_window(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        out = await h.say("alice", "any news?", reply_to="9999")
        assert out.case_id == 1
        late = await h.say("alice", "hello?", reply_to="9999", advance=timedelta(minutes=30))
        assert late.case_id is None


async def test_a_reply_to_an_untracked_message_stays_untracked(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("bob", "lunch anyone?")
        chatter = h.last_message_id
        out = await h.say("alice", "yes!", reply_to=chatter)
        # the reply chain says "not a case", even inside Alice's window
        assert out.case_id is None
        assert texts_of(await h.case(1)) == ["my VM is down"]


@pytest.mark.platforms("telegram")  # forum topics
async def test_a_message_in_a_topic_mapped_to_a_case_joins_it(db_url: str) -> None:
    raw = base_config()
    raw["accounts"][0]["topics"] = "per_case"
    async with Harness(db_url, accounts=raw["accounts"]) as h:
        await h.say("alice", "my VM is down")
        await h.say("evan", "/case", reply_to=h.last_message_id)
        topics = [r for r in await h.outbox() if r.kind == "topic_create"]
        assert len(topics) == 1
        assert topics[0].case_id == 1 and topics[0].chat == ACME
        assert topics[0].payload["text"].startswith("#1 ")
        # the dispatcher records the created topic on the case
        async with h.sessions() as session, session.begin():
            await set_case_thread(session, 1, "77")
        out = await h.say("bob", "logs attached", thread="77", advance=timedelta(hours=5))
        assert out.case_id == 1
        other = await h.say("bob", "in another topic", thread="78")
        assert other.case_id is None
        assert texts_of(await h.case(1)) == ["my VM is down", "logs attached"]


async def test_the_conversation_window_is_per_sender_and_ends(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        # within the 10 minute window Alice's next line joins her case
        joined = await h.say("alice", "it is vm-3", advance=timedelta(minutes=9))
        assert joined.case_id == 1
        # Bob has no conversation in front of him: his line stays out (tag intake)
        bob = await h.say("bob", "what time is the call?")
        assert bob.case_id is None
        # more than the window after Alice's last case line: untracked
        late = await h.say("alice", "unrelated: invoice?", advance=timedelta(minutes=11))
        assert late.case_id is None
        assert texts_of(await h.case(1)) == ["my VM is down", "it is vm-3"]
        assert (await message(h, h.last_message_id))["case_id"] is None


async def test_staff_messages_join_the_conversation_in_front_of_them(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        out = await h.say("erin", "looking into it now")
        assert out.case_id == 1
        case = await h.case(1)
        assert texts_of(case) == ["my VM is down", "looking into it now"]
        staff = case["messages"][-1]
        assert staff["role"] == "staff" and staff["sender"] == h.key("1002")
        assert case["first_response_at"] == staff["at"]


async def test_staff_message_after_the_window_stays_untracked(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        out = await h.say("erin", "weekly maintenance tonight", advance=timedelta(minutes=30))
        assert out.case_id is None
        assert (await h.case(1))["first_response_at"] is None


async def test_untracked_messages_are_stored_and_case_pulls_them_in(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "hi, quick question")
        await h.say("alice", "can we get a second region?")
        stored = await messages(h)
        assert [(m["text"], m["case_id"]) for m in stored] == [
            ("hi, quick question", None),
            ("can we get a second region?", None),
        ]
        assert await case_count(h) == 0
        out = await h.say("evan", "/case", reply_to=h.last_message_id)
        assert texts_of(await h.case(out.case_id)) == [
            "hi, quick question",
            "can we get a second region?",
        ]


async def test_a_message_replying_to_itself_stays_off_the_window_case(db_url: str) -> None:
    """Audit of issue 15 (ce120cd, the message stored on its case in one insert): a
    message was stored before its case was looked for, so one whose reply_to is its
    own id (a bridge or forger may send that) found itself as the parent: a message
    on no case, so it stayed untracked. Looking first, before it is stored, it found no
    parent and joined the sender's case through the window instead."""
    async with Harness(db_url) as h:
        await open_case(h)
        out = await h.say("alice", "about that", message_id="77", reply_to="77")
        assert out.case_id is None
        assert texts_of(await h.case(1)) == ["my VM is down"]
