"""Routing, saved answers and similar cases through the real python-telegram-bot and
the fake Bot API: the routed owner on the card, Take wins, /save and /snip in the
group, and the card of a new case naming the resolved case like it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.telegram.kit import TgBox


async def test_routing_saved_answers_and_similar_cases_in_a_telegram_group(
    make_box: Callable[..., Awaitable[TgBox]],
) -> None:
    box = await make_box(routing=[{"account": "Acme", "policy": "round_robin"}])
    asked = box.say("alice", "The disk on our VM is full")
    box.say("evan", "/case", reply_to=asked)
    await box.settle()
    assert "Case #1 is assigned to Evan by round robin." in box.texts("triage")
    assert "Owner: Evan" in box.current("triage", box.card_id(1))["text"]
    box.press("erin", box.card_id(1), "take:1")
    await box.settle()
    case = await box.case(1)
    assert case["assignee"] == "telegram:1002" and case["status"] == "open"
    assert [e["data"].get("reason") for e in case["events"] if e["type"] == "assigned"] == [
        "round_robin",
        "take",
    ]

    answer = box.say("erin", "Grow the volume in the console, {customer}.", reply_to=asked)
    box.say("erin", "/save grow", reply_to=answer)
    box.say("erin", "/snip grow", reply_to=asked)
    await box.settle()
    assert any("Grow the volume in the console, Alice." in t for t in box.texts("acme"))
    box.say("erin", "/resolve #1", chat="triage")
    await box.settle()

    again = box.say("bob", "VM disk is full again")
    box.say("evan", "/case", reply_to=again)
    await box.settle()
    card = box.current("triage", box.card_id(2))["text"]
    assert "Similar resolved cases:" in card and "#1 The disk on our VM is full" in card
