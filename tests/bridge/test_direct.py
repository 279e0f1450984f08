"""Where the bot can DM a person comes from the adapters' `direct` capability, once:
Telegram can when it is configured, a bridge when its capabilities say `direct`. A
bridge's direct chat with a person is the one they wrote to the bot from."""

from __future__ import annotations

import copy
from typing import Any

import aiohttp
import pytest

from bot.config import parse_config
from bot.wiring import capabilities, engine_settings
from tests.bridge.kit import BRIDGE, ROOM, TRIAGE_ROOM, BridgeBox, bridge_config
from tests.bridge.test_commands import pull, result
from tests.fakes.bridge_peer import FakeBridge, text_of


def test_direct_platforms_follow_the_capabilities() -> None:
    bridge_only = parse_config(bridge_config("sqlite+aiosqlite://", None), env={})
    assert engine_settings(bridge_only).direct == frozenset()
    assert capabilities(bridge_only)[BRIDGE].direct is False

    raw = bridge_config("sqlite+aiosqlite://", None, telegram={"token": "1:x"})
    both = parse_config(copy.deepcopy(raw), env={})
    assert engine_settings(both).direct == frozenset({"telegram"})
    assert engine_settings(both).direct == frozenset(
        p for p, c in capabilities(both).items() if c.direct
    )


DIRECT = {"threads": True, "buttons": True, "edits": True, "pins": False, "direct": True}
PUBLIC = "http://127.0.0.1:1"


def direct_message(box: BridgeBox, who: str, text: str, chat: str) -> dict[str, Any]:
    body = box.message(who, text, chat=chat)
    body["chat"]["kind"] = "direct"
    return body


async def test_a_bridge_with_direct_chats_dms_a_person_where_they_wrote_to_the_bot(
    make_box: Any, peer: FakeBridge
) -> None:
    """`chat.kind = "direct"` tells casebot a person's direct chat: a sign-in link asked
    for there, and later from a group, goes to that chat, never to the group."""
    box: BridgeBox = await make_box(capabilities=DIRECT, public_url=PUBLIC)
    status, _ = await box.post(direct_message(box, "evan", "/login", chat="dm-evan"))
    assert status == 202
    await peer.wait_for(1)
    (link,) = peer.sent(chat="dm-evan")
    assert f"{PUBLIC}/login/" in text_of(link)
    await box.say("evan", "/login")  # in the customers' room
    await peer.wait_for(3)
    assert len(peer.sent(chat="dm-evan")) == 2
    in_room = [text_of(c) for c in peer.sent(chat=ROOM)]
    assert in_room and not [t for t in in_room if "/login/" in t], in_room
    await box.drained()
    assert {r.status for r in await box.outbox() if r.platform == BRIDGE} == {"sent"}


@pytest.mark.parametrize("caps", [DIRECT, None], ids=["direct-unknown", "no-direct"])
async def test_a_sign_in_link_nobody_can_get_is_not_posted_the_person_is_told_how(
    make_box: Any, peer: FakeBridge, caps: dict[str, Any] | None
) -> None:
    """No direct chat known (or none on this bridge): the DM used to be a dead letter
    nobody saw; now the room where /login was typed says how to get the link, and the
    link itself goes nowhere."""
    box: BridgeBox = await make_box(capabilities=caps, public_url=PUBLIC)
    await box.say("erin", "/login")
    await box.drained()
    texts = [text_of(c) for c in peer.sent()]
    assert not [t for t in texts if "/login/" in t], texts
    assert [t for t in texts if "direct chat" in t and "/login" in t], texts
    assert "dead" not in {r.status for r in await box.outbox()}


async def test_pull_mode_pins_a_new_board_and_dms_as_push_mode_does(make_box: Any) -> None:
    """A bridge that pulls gets what a pushed-to bridge gets: the new board pinned (a
    follow-up `message.pin` once its message id is known), a DM in the direct chat."""
    caps = {**DIRECT, "pins": True}
    box: BridgeBox = await make_box(pull=True, capabilities=caps, public_url=PUBLIC)
    async with aiohttp.ClientSession() as http:
        await box.say("bob", "/new the VPN drops", message_id="q-vpn")
        got = (await pull(http, box, wait=5))["commands"]
        board = next(c for c in got if c["reply_to_id"] is None and c["type"] == "message.send")
        for c in got:
            assert (
                await result(http, box, c["command_id"], {"message_id": f"x-{c['command_id']}"})
                == 200
            )
        (pin,) = (await pull(http, box, after="0", wait=5))["commands"]
        assert pin["type"] == "message.pin" and pin["message_id"] == f"x-{board['command_id']}"
        assert await result(http, box, pin["command_id"], {"message_id": None}) == 200

        await box.post(direct_message(box, "evan", "/login", chat="dm-evan"))
        (link,) = (await pull(http, box, after="0", wait=5))["commands"]
        assert link["chat_id"] == "dm-evan" and f"{PUBLIC}/login/" in link["text"]
        assert await result(http, box, link["command_id"], {"message_id": "dm-1"}) == 200
    await box.drained()
    assert {r.status for r in await box.outbox() if r.platform == BRIDGE} == {"sent"}


async def test_a_triage_message_about_a_case_joins_its_cards_thread(
    make_box: Any, peer: FakeBridge
) -> None:
    """Triage in a bridge room with reply threads: a note about a case goes into the
    thread of the case's card there, not loose into the room."""
    box: BridgeBox = await make_box(triage_on_bridge=True)
    await box.say("bob", "/new the VPN drops", message_id="q-vpn")
    await box.drained()
    (card,) = [r for r in await box.outbox() if r.purpose == "card"]
    assert card.platform_message_id
    await box.say("evan", "/note #1 checked the gateway logs", chat=TRIAGE_ROOM)
    await box.drained()
    notes = [c for c in peer.sent(chat=TRIAGE_ROOM) if "checked the gateway logs" in c["text"]]
    assert notes and {c["thread_id"] for c in notes} == {card.platform_message_id}, notes
