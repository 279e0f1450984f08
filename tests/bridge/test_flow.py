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
