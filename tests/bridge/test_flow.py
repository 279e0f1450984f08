"""The bridge end to end over loopback: signed events in, signed commands out."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import CaseRow, MessageRow, OutboxRow
from tests.bridge.kit import ROOM, BridgeBox


async def test_customer_question_then_staff_case_sends_a_signed_ack(box: BridgeBox) -> None:
    status, _ = await box.say("alice", "our export job hangs at 99%", message_id="m-q")
    assert status == 202
    status, _ = await box.say("evan", "/case Export hangs", reply_to="m-q")
    assert status == 202
    await box.drained()
    ack = box.peer.sent(chat=ROOM)[0]
    assert "#1" in ack["text"] and ack["reply_to_id"] == "m-q"
    assert ack["spec"] == "casebot.chat/v1" and ack["command_id"]
    async with box.app.sessions() as session:
        case = (await session.execute(select(CaseRow))).scalar_one()
        assert case.title == "Export hangs"
        row = (
            await session.execute(select(OutboxRow).where(OutboxRow.purpose == "ack"))
        ).scalar_one()
        assert row.status == "sent"
        assert row.platform_message_id == box.peer.message_ids[ack["command_id"]]
        bot = (
            await session.execute(select(MessageRow).where(MessageRow.role == "bot"))
        ).scalar_one()
        assert bot.platform_message_id == row.platform_message_id and bot.case_id == case.id


NO_BUTTONS = {"threads": True, "buttons": False, "edits": False, "pins": False, "max_text": 500}


async def test_a_case_keeps_to_its_reply_thread_and_csat_is_a_numbered_choice(
    make_box: object,
) -> None:
    box: BridgeBox = await make_box(capabilities=NO_BUTTONS)  # type: ignore[operator]
    await box.say("alice", "backups fail since Monday", message_id="m-q")
    await box.say("evan", "/case Backups fail", reply_to="m-q")
    await box.drained()
    ack = box.peer.sent(chat=ROOM)[0]
    # the case's thread is the one its first message starts; the ack goes there
    assert ack["thread_id"] == "m-q" and ack["reply_to_id"] == "m-q"
    await box.say("alice", "still failing tonight", thread="m-q")
    await box.say("evan", "fixed the credentials, please check", thread="m-q")
    await box.say("evan", "/resolve", thread="m-q")
    await box.drained()
    prompt = next(c for c in box.peer.sent(chat=ROOM) if "1–5" in c["text"])
    assert prompt["thread_id"] == "m-q" and prompt["buttons"] == []
    assert "1. ⭐" in prompt["text"] and "5. 5⭐" in prompt["text"]
    # the customer answers with the number, in the thread, without quoting the prompt
    assert (await box.say("alice", "5", thread="m-q"))[0] == 202
    await box.drained()
    async with box.app.sessions() as session:
        case = (await session.execute(select(CaseRow))).scalar_one()
        messages = (await session.execute(select(MessageRow.text, MessageRow.case_id))).all()
    assert case.sla.get("csat") == 5 and case.status == "resolved"
    assert ("still failing tonight", case.id) in messages  # the thread joined the case
    assert ("5", None) in messages  # kept, and it did not reopen the case
    thanks = box.peer.sent(chat=ROOM)[-1]
    assert "Thank you for your rating" in thanks["text"] and thanks["thread_id"] == "m-q"
    # a number that answers nothing is an ordinary message
    await box.say("alice", "7", thread="m-q")
    async with box.app.sessions() as session:
        case = (await session.execute(select(CaseRow))).scalar_one()
    assert case.sla.get("csat") == 5
