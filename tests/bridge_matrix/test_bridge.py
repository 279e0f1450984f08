"""The Matrix bridge against real Synapse, with a recording stand-in for casebot."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import aiohttp

from adapters.bridge_translate import translate
from bridges.matrix.bridge import MatrixBridge
from tests.bridge_matrix.kit import (
    RecordingCasebot,
    World,
    command,
    dumps,
    running,
    signed,
    wait_until,
)
from tests.fakes.bridge_peer import check

EVENT_KEYS = {"spec", "id", "type", "occurred_at", "chat", "actor"}


def assert_contract_shape(event: dict[str, Any]) -> None:
    """The contract's JSON Schema holds, and casebot's own reader takes the event."""
    check("event", event)
    translate("matrix", event, datetime.now(UTC))
    assert event.keys() >= EVENT_KEYS, event
    assert event["spec"] == "casebot.chat/v1"
    assert event["occurred_at"].endswith("Z")
    assert set(event["chat"]) == {"id", "kind", "title"}
    assert set(event["actor"]) == {"id", "name", "is_bot"}


async def test_a_customer_message_arrives_as_a_signed_event(
    world: World, casebot: RecordingCasebot
) -> None:
    async with running(MatrixBridge(world.bridge_config(casebot.url))):
        sent = await world.customer.say(world.room_id, "Our exports fail since 9:00")
        await wait_until(lambda: casebot.events, what="the event")
    [event] = casebot.events
    assert_contract_shape(event)
    assert event["id"] == sent
    assert event["type"] == "message.created"
    assert event["chat"] == {"id": world.room_id, "kind": "group", "title": "Acme support"}
    assert event["actor"]["id"] == world.customer.user_id
    assert event["actor"]["is_bot"] is False
    assert event["message"] == {
        "id": sent,
        "thread_id": None,
        "reply_to_id": None,
        "text": "Our exports fail since 9:00",
        "attachments": [],
    }
    assert casebot.bad_signatures == 0


async def test_replies_threads_edits_reactions_and_redactions_become_their_events(
    world: World, casebot: RecordingCasebot
) -> None:
    room, customer, staff = world.room_id, world.customer, world.staff
    async with running(MatrixBridge(world.bridge_config(casebot.url))):
        question = await customer.say(room, "Exports fail")
        reply = await staff.say(room, "Which region?", reply_to=question)
        in_thread = await customer.say(room, "eu-west", thread=question)
        edit = await customer.edit(room, in_thread, "eu-west-1")
        reaction = await staff.react(room, question, "🎫")
        unreact = await staff.redact(room, reaction)
        typo = await customer.say(room, "oops")
        deletion = await customer.redact(room, typo)
        log = {"msgtype": "m.file", "body": "export.log", "url": "mxc://localhost/AbCd"}
        attached = await customer.send(room, {**log, "info": {"mimetype": "text/plain"}})
        await wait_until(lambda: len(casebot.events) == 9, what="nine events")
    by_id = {event["id"]: event for event in casebot.events}
    for event in casebot.events:
        assert_contract_shape(event)
    assert [e["id"] for e in casebot.events] == [
        question,
        reply,
        in_thread,
        edit,
        reaction,
        unreact,
        typo,
        deletion,
        attached,
    ]
    assert by_id[reply]["message"]["reply_to_id"] == question
    # The quoted fallback older clients put in a reply's body is not the reply's text.
    assert by_id[reply]["message"]["text"] == "Which region?"
    assert by_id[reply]["actor"]["id"] == staff.user_id
    assert by_id[in_thread]["message"]["thread_id"] == question
    assert by_id[in_thread]["message"]["reply_to_id"] is None
    assert by_id[edit]["type"] == "message.edited"
    assert by_id[edit]["message"]["id"] == in_thread
    assert by_id[edit]["message"]["text"] == "eu-west-1"
    assert by_id[edit]["message"]["thread_id"] is None
    assert by_id[reaction]["type"] == "reaction.added"
    assert by_id[reaction]["reaction"] == {"message_id": question, "emoji": "🎫"}
    assert by_id[unreact]["type"] == "reaction.removed"
    assert by_id[unreact]["reaction"] == {"message_id": question, "emoji": "🎫"}
    assert by_id[deletion]["type"] == "message.deleted"
    assert by_id[deletion]["message"] == {"id": typo}
    assert by_id[attached]["message"]["attachments"] == [
        {
            "url": f"{world.synapse.url}/_matrix/client/v1/media/download/localhost/AbCd",
            "name": "export.log",
            "mime": "text/plain",
        }
    ]
    assert world.bot.access_token not in str(casebot.events)


async def test_pulled_commands_are_carried_out_in_the_room_once_each(
    world: World, casebot: RecordingCasebot
) -> None:
    room = world.room_id
    async with running(MatrixBridge(world.bridge_config(casebot.url))):
        question = await world.customer.say(room, "Exports fail")
        ack = command("message.send", room, text="Opened #1", reply_to_id=question)
        nudge = command("message.send", room, text="#1: still on it", thread_id=question)
        casebot.queue(ack)
        casebot.queue(nudge)
        # casebot retries with the same command_id; the room must not see it twice.
        casebot.queue(dict(ack))
        await wait_until(
            lambda: {ack["command_id"], nudge["command_id"]} <= casebot.results.keys()
        )
        ack_id = casebot.results[ack["command_id"]]["message_id"]
        casebot.queue(command("message.edit", room, message_id=ack_id, text="Opened #1 (P2)"))
        casebot.queue(command("reaction.add", room, message_id=question, text="👀"))
        gone = command("message.send", room, text="to be deleted")
        casebot.queue(gone)
        await wait_until(lambda: gone["command_id"] in casebot.results)
        gone_id = casebot.results[gone["command_id"]]["message_id"]
        casebot.queue(command("message.delete", room, message_id=gone_id))
        await wait_until(lambda: len(casebot.results) == 6, what="six results")
        await asyncio.sleep(0.3)  # room for a wrongly repeated send to show up
        timeline = await world.staff.timeline(room)
    bot_events = [e for e in timeline if e["sender"] == world.bot.user_id]
    sends = [e for e in bot_events if e["type"] == "m.room.message"]
    assert [e["content"].get("body") for e in sends] == [
        "Opened #1",
        "#1: still on it",
        "* Opened #1 (P2)",
        None,
    ], "the repeat is not sent; the deleted message is redacted (no body)"
    first, threaded, edit, deleted = sends
    assert deleted["event_id"] == gone_id
    assert first["event_id"] == ack_id
    assert first["content"]["m.relates_to"] == {"m.in_reply_to": {"event_id": question}}
    assert threaded["content"]["m.relates_to"]["rel_type"] == "m.thread"
    assert threaded["content"]["m.relates_to"]["event_id"] == question
    assert edit["content"]["m.relates_to"] == {"rel_type": "m.replace", "event_id": ack_id}
    assert edit["content"]["m.new_content"]["body"] == "Opened #1 (P2)"
    [reaction] = [e for e in bot_events if e["type"] == "m.reaction"]
    assert reaction["content"]["m.relates_to"]["key"] == "👀"
    assert deleted["unsigned"]["redacted_because"]["sender"] == world.bot.user_id
    # The bot's own messages are not echoed back to casebot as customer messages.
    assert {e["actor"]["id"] for e in casebot.events} == {world.customer.user_id}


async def test_pushed_commands_need_a_valid_signature_and_answer_the_event_id(
    world: World, casebot: RecordingCasebot
) -> None:
    room = world.room_id
    config = world.bridge_config(casebot.url, mode="push", host="127.0.0.1", port=0)
    async with (
        running(MatrixBridge(config)) as bridge,
        aiohttp.ClientSession() as http,
    ):
        url = f"http://127.0.0.1:{bridge.push_port}/v1/commands"
        send = command("message.send", room, text="Opened #1")
        body = dumps(send)
        forged = signed(body, send["command_id"], secret="whsec_" + "Zm9yZ2VkLXNlY3JldA==")
        async with http.post(url, data=body, headers=forged) as response:
            assert response.status == 401
        async with http.post(url, data=body, headers=signed(body, send["command_id"])) as response:
            assert response.status == 200
            first = (await response.json())["message_id"]
        async with http.post(url, data=body, headers=signed(body, send["command_id"])) as response:
            assert response.status == 200
            assert (await response.json())["message_id"] == first
        odd = dumps(command("message.pin", room, message_id=first))
        async with http.post(url, data=odd, headers=signed(odd, "odd")) as response:
            assert response.status == 422, "a command Matrix cannot do is a permanent error"
        timeline = await world.staff.timeline(room)
    sends = [
        e for e in timeline if e["sender"] == world.bot.user_id and e["type"] == "m.room.message"
    ]
    assert [(e["event_id"], e["content"]["body"]) for e in sends] == [(first, "Opened #1")]


async def test_nothing_is_lost_while_casebot_is_down_even_across_a_bridge_restart(
    world: World, casebot: RecordingCasebot
) -> None:
    room = world.room_id
    config = world.bridge_config(casebot.url)
    async with running(MatrixBridge(config)):
        await world.customer.say(room, "one")
        await wait_until(lambda: casebot.texts() == ["one"])
        casebot.answer_status = 503
        await world.customer.say(room, "two")
        await world.customer.say(room, "three")
        await wait_until(lambda: casebot.refused >= 2, what="the bridge retrying")
    # The bridge stops while casebot refuses; casebot then goes away altogether.
    await casebot.stop()
    await world.customer.say(room, "four")
    restarted = asyncio.create_task(MatrixBridge(config).run())
    try:
        await asyncio.sleep(1.0)  # the restarted bridge finds casebot unreachable
        refused = casebot.refused
        await casebot.start()
        await wait_until(lambda: casebot.refused > refused, what="the restarted bridge retrying")
        casebot.answer_status = None
        await wait_until(lambda: len(casebot.texts()) == 4, what="all four messages")
    finally:
        restarted.cancel()
        await asyncio.gather(restarted, return_exceptions=True)
    assert casebot.texts() == ["one", "two", "three", "four"]


async def test_a_gap_in_the_sync_is_filled_from_the_room_history(
    world: World, casebot: RecordingCasebot
) -> None:
    room = world.room_id
    config = world.bridge_config(casebot.url)
    async with running(MatrixBridge(config, timeline_limit=2)):
        await world.customer.say(room, "before")
        await wait_until(lambda: casebot.texts() == ["before"])
    texts = [f"while away {n}" for n in range(7)]
    for text in texts:
        await world.customer.say(room, text)
    async with running(MatrixBridge(config, timeline_limit=2)):
        await wait_until(lambda: len(casebot.texts()) == 8, what="the messages of the gap")
    assert casebot.texts() == ["before", *texts]


async def test_a_room_the_bot_is_invited_to_as_a_direct_chat_is_direct(
    world: World, casebot: RecordingCasebot
) -> None:
    async with running(MatrixBridge(world.bridge_config(casebot.url))) as bridge:
        dm = await world.customer.create_room("", [world.bot.user_id], direct=True)
        await wait_until(lambda: dm in bridge.client.rooms, what="the bridge joining")
        await world.customer.say(dm, "hello privately")
        await wait_until(lambda: casebot.events, what="the direct message")
    [event] = casebot.events
    assert event["chat"]["id"] == dm
    assert event["chat"]["kind"] == "direct"
