"""One Feishu group end to end through the real App: an encrypted, signed message
event is stored before its 200, `/case` opens a case, and the acknowledgement is a
reply in the case's thread on the Open API; replies in that thread join the case."""

from __future__ import annotations

from tests.feishu.kit import ACME, ALICE, EVAN, TRIAGE, FeishuBox


async def test_a_signed_encrypted_message_opens_a_case_acked_in_its_thread(
    box: FeishuBox,
) -> None:
    status, _ = await box.say(ALICE, ACME, "our export hangs at 99%")
    assert status == 200
    first = box.last_message_id
    status, _ = await box.say(EVAN, ACME, "/case Export hangs", parent=first)
    assert status == 200
    api = box.api
    await api.wait_for(lambda: any("#1" in t for t in api.texts(ACME)))
    ack = next(m for m in api.in_chat(ACME) if "#1" in m["text"])
    assert ack["parent_id"] == first and ack["reply_in_thread"] is True
    # the triage card is an interactive card with Take/Resolve buttons
    await api.wait_for(lambda: bool(api.in_chat(TRIAGE)))
    card = api.in_chat(TRIAGE)[0]
    assert card["msg_type"] == "interactive" and card["buttons"]

    # the customer answers inside the thread: the message joins case #1
    status, _ = await box.say(
        ALICE, ACME, "still stuck", thread_root=first, parent=ack["message_id"]
    )
    assert status == 200
    async with box.app.sessions() as session:
        from storage.queries import get_case

        case = await get_case(session, 1)
    assert case is not None
    assert "still stuck" in [m["text"] for m in case["messages"]]
