"""The Matrix bridge against real Synapse, with a recording stand-in for casebot."""

from __future__ import annotations

from bridges.matrix.bridge import MatrixBridge
from tests.bridge_matrix.kit import RecordingCasebot, World, running, wait_until


async def test_a_customer_message_arrives_as_a_signed_event(
    world: World, casebot: RecordingCasebot
) -> None:
    async with running(MatrixBridge(world.bridge_config(casebot.url))):
        sent = await world.customer.say(world.room_id, "Our exports fail since 9:00")
        await wait_until(lambda: casebot.events, what="the event")
    [event] = casebot.events
    assert event["id"] == sent
    assert event["type"] == "message.created"
    assert event["chat"] == {"id": world.room_id, "kind": "group", "title": "Acme support"}
    assert event["actor"]["id"] == world.customer.user_id
    assert event["message"]["text"] == "Our exports fail since 9:00"
