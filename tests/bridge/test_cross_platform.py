"""One desk across platforms: customers on Telegram, triage in a bridge room. The card
reaches the room, and Take and Resolve work from it: by `action.invoked` where the
bridge has buttons, by replying with the choice's number where it has none."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from storage.models import CaseRow
from tests.bridge.kit import TRIAGE_ROOM, BridgeBox
from tests.fakes.telegram_api import FakeBotApi
from tests.harness import ACME
from tests.telegram.kit import TOKEN, telegram_config

WITH_BUTTONS = {"threads": False, "buttons": True, "edits": True, "pins": False}
NO_BUTTONS = {"threads": False, "buttons": False, "edits": False, "pins": False}


async def _open_from_telegram(api: FakeBotApi, box: BridgeBox) -> dict[str, Any]:
    api.add_chat(int(ACME), title="Acme support")
    update = api.push_update(api.message(int(ACME), 5001, "/new the printer is on fire"))
    await api.wait_confirmed(update, 10)
    await box.drained()
    (card,) = box.peer.sent(chat=TRIAGE_ROOM)
    assert card["text"].startswith("#1 ")
    return card


async def _case(box: BridgeBox) -> CaseRow:
    async with box.app.sessions() as session:
        return (await session.execute(select(CaseRow))).scalar_one()


async def test_card_take_and_resolve_by_buttons_in_a_bridge_triage_room(
    make_box: Any,
) -> None:
    async with FakeBotApi(token=TOKEN, can_read_all_group_messages=True) as api:
        box: BridgeBox = await make_box(
            triage_on_bridge=True, telegram=telegram_config(api), capabilities=WITH_BUTTONS
        )
        card = await _open_from_telegram(api, box)
        assert {"label": "Take", "value": "take:1"} in card["buttons"]
        message_id = box.peer.message_ids[card["command_id"]]
        assert (await box.press("evan", "take:1", message_id))[0] == 202
        await box.drained()
        assert (await _case(box)).assignee == "wecom:1001"
        edit = box.peer.sent("message.edit", chat=TRIAGE_ROOM)[-1]
        assert edit["message_id"] == message_id and "Owner: Evan" in edit["text"]
        # a customer's press on the staff card does nothing
        assert (await box.press("alice", "resolve:1", message_id))[0] == 202
        assert (await _case(box)).status != "resolved"
        assert (await box.press("evan", "resolve:1", message_id))[0] == 202
        await box.drained()
        assert (await _case(box)).status == "resolved"
        # the customer on Telegram is asked to rate, with Telegram's own buttons
        for _ in range(100):
            csat = [m for m in api.sent_to(int(ACME)) if "csat:1:5" in str(m.get("reply_markup"))]
            if csat:
                break
            await asyncio.sleep(0.05)
        assert csat, api.sent_to(int(ACME))


async def test_card_take_and_resolve_by_number_where_the_bridge_has_no_buttons(
    make_box: Any,
) -> None:
    async with FakeBotApi(token=TOKEN, can_read_all_group_messages=True) as api:
        box: BridgeBox = await make_box(
            triage_on_bridge=True, telegram=telegram_config(api), capabilities=NO_BUTTONS
        )
        card = await _open_from_telegram(api, box)
        assert card["buttons"] == [] and "1. Take" in card["text"] and "2. Resolve" in card["text"]
        card_id = box.peer.message_ids[card["command_id"]]
        assert (await box.say("evan", "1", chat=TRIAGE_ROOM, reply_to=card_id))[0] == 202
        await box.drained()
        assert (await _case(box)).assignee == "wecom:1001"
        # no edits: the card is posted anew, and its own number answers it
        cards = [c for c in box.peer.sent(chat=TRIAGE_ROOM) if c["text"].startswith("#1 ")]
        assert len(cards) >= 2 and "Owner: Evan" in cards[-1]["text"]
        latest = box.peer.message_ids[cards[-1]["command_id"]]
        assert (await box.say("evan", "2", chat=TRIAGE_ROOM, reply_to=latest))[0] == 202
        await box.drained()
        assert (await _case(box)).status == "resolved"
