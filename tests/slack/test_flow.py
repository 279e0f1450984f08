"""casebot run on an emulated Slack workspace: signed events in, Web API calls out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.slack.conftest import Running
from tests.slack.kit import CUSTOMERS, Emulator, message_event, next_ts, post_event

Make = Callable[..., Awaitable[Running]]


async def test_a_customer_message_opens_a_case_acknowledged_in_its_thread(
    emu: Emulator, make_bot: Make
) -> None:
    bot = await make_bot()
    globex = emu.channels["globex"]
    ts = next_ts()
    event = message_event(globex, CUSTOMERS["alice"], "our VM is down", ts=ts)
    assert await post_event(bot.http, bot.events, event) == 200

    replies = await emu.wait_for(lambda: emu.replies(globex, ts))
    assert replies, bot.bot.output()[-3000:]
    assert "#1" in replies[0]["text"]
    assert replies[0]["thread_ts"] == ts
    # the triage card, with Take and Resolve buttons
    cards = await emu.wait_for(lambda: emu.by_bot(emu.channels["triage"]))
    assert cards
    buttons = [
        e["value"]
        for m in cards
        for b in m.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert any(v.startswith("take") for v in buttons), cards
