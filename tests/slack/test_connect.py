"""A Slack Connect channel shared with a customer's org, triage in the vendor's own
channel, through `casebot run`: the customer's people are customers by their ids, the
vendor's staff by theirs; the case lives in the thread of its first message."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from tests.slack.conftest import Running
from tests.slack.kit import (
    CUSTOMERS,
    VENDOR_TEAM,
    Emulator,
    callback,
    message_event,
    next_ts,
    post_event,
    post_form,
    query,
)

Make = Callable[..., Awaitable[Running]]


def press(emu: Emulator, user: str, channel: str, ts: str, value: str) -> dict[str, str]:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "team_id": VENDOR_TEAM},
        "team": {"id": VENDOR_TEAM},
        "channel": {"id": channel},
        "container": {"type": "message", "message_ts": ts, "channel_id": channel},
        "message": {"ts": ts},
        "trigger_id": f"trig.{next_ts()}",
        "response_url": f"{emu.url}/unused-response-url",
        "actions": [{"action_id": "casebot_0", "value": value, "action_ts": next_ts()}],
    }
    return {"payload": json.dumps(payload)}


def values(message: dict[str, Any]) -> list[str]:
    return [
        e["value"]
        for b in message.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
    ]


async def test_slack_connect_case_from_reaction_to_csat(emu: Emulator, make_bot: Make) -> None:
    bot = await make_bot()
    acme, triage = emu.channels["acme-shared"], emu.channels["triage"]
    evan = emu.users["evan"]
    alice = CUSTOMERS["alice"]
    root = next_ts()
    # the customer's org writes in the shared channel: intake is by tag, so no case yet
    first = message_event(acme, alice, "exports fail since this morning", ts=root)
    assert await post_event(bot.http, bot.events, first) == 200
    # the vendor's engineer tags it with :ticket:
    reaction = callback(
        {
            "type": "reaction_added",
            "user": evan,
            "reaction": "ticket",
            "item": {"type": "message", "channel": acme, "ts": root},
            "item_user": alice,
            "event_ts": next_ts(),
        }
    )
    assert await post_event(bot.http, bot.events, reaction) == 200
    acks = await emu.wait_for(lambda: emu.replies(acme, root))
    assert acks and "#1" in acks[0]["text"], bot.bot.output()[-3000:]

    # the triage card in the vendor's channel; Take by the engineer
    cards = await emu.wait_for(lambda: emu.by_bot(triage))
    card = cards[0]
    assert "take:1" in values(card)
    status, _ = await post_form(
        bot.http, bot.events, press(emu, evan, triage, card["ts"], "take:1")
    )
    assert status == 200

    async def taken() -> Any:
        found = await emu.by_bot(triage)
        return [m for m in found if "evan" in m["text"].lower()]

    assert await emu.wait_for(taken), await emu.by_bot(triage)
    # the card was edited in place, not posted again
    assert len(await emu.by_bot(triage)) == 1

    # the board in the customer channel is pinned
    pins = await emu.call("pins.list", channel=acme)
    assert pins["ok"] and pins["items"], pins

    # the customer follows up in the thread; the engineer answers there and resolves
    # it by mentioning the bot (Slack delivers no /command typed in a thread)
    more = message_event(acme, alice, "still failing", thread_ts=root)
    assert await post_event(bot.http, bot.events, more) == 200
    reply = message_event(
        acme, evan, "fixed, a config push went wrong", thread_ts=root, user_team=VENDOR_TEAM
    )
    assert await post_event(bot.http, bot.events, reply) == 200
    me = emu.users["casebot"]
    resolve = message_event(acme, evan, f"<@{me}> resolve", thread_ts=root, user_team=VENDOR_TEAM)
    assert await post_event(bot.http, bot.events, resolve) == 200

    async def csat_prompt() -> Any:
        return [
            m
            for m in await emu.replies(acme, root)
            if any(v.startswith("csat:") for v in values(m))
        ]

    prompts = await emu.wait_for(csat_prompt)
    assert prompts, await emu.replies(acme, root)
    assert prompts[0]["thread_ts"] == root
    status, _ = await post_form(
        bot.http, bot.events, press(emu, alice, acme, prompts[0]["ts"], "csat:1:5")
    )
    assert status == 200

    async def csat() -> Any:
        return await query(bot.db_url, "SELECT count(*) FROM case_events WHERE type = 'csat'")

    assert await emu.wait_for(lambda: _positive(csat))
    rows = await query(
        bot.db_url,
        "SELECT status, assignee, thread, first_response_at IS NOT NULL FROM cases",
    )
    assert rows == [("resolved", f"slack:{evan}", root, 1)]
    roles = dict(await query(bot.db_url, "SELECT sender, role FROM messages WHERE role != 'bot'"))
    assert roles[f"slack:{alice}"] == "customer" and roles[f"slack:{evan}"] == "staff"


async def _positive(probe: Callable[[], Awaitable[Any]]) -> bool:
    rows = await probe()
    return bool(rows and rows[0][0])


async def test_a_slash_command_opens_a_case(emu: Emulator, make_bot: Make) -> None:
    bot = await make_bot()
    acme = emu.channels["acme-shared"]
    root = next_ts()
    first = message_event(acme, CUSTOMERS["bob"], "login page is blank", ts=root)
    assert await post_event(bot.http, bot.events, first) == 200
    form = {
        "command": "/casebot",
        "text": "case Login page blank",
        "user_id": emu.users["erin"],
        "channel_id": acme,
        "team_id": VENDOR_TEAM,
        "trigger_id": f"trig.{next_ts()}",
        "response_url": f"{emu.url}/unused",
    }
    status, _ = await post_form(bot.http, bot.events, form)
    assert status == 200
    cards = await emu.wait_for(lambda: emu.by_bot(emu.channels["triage"]))
    assert cards and "Login page blank" in cards[0]["text"], bot.bot.output()[-3000:]


async def test_the_open_a_case_shortcut_opens_one_from_its_message(
    emu: Emulator, make_bot: Make
) -> None:
    bot = await make_bot()
    acme = emu.channels["acme-shared"]
    root = next_ts()
    first = message_event(acme, CUSTOMERS["alice"], "invoices show the wrong VAT", ts=root)
    assert await post_event(bot.http, bot.events, first) == 200
    shortcut = {
        "type": "message_action",
        "callback_id": "open_case",
        "trigger_id": f"trig.{next_ts()}",
        "user": {"id": emu.users["evan"], "team_id": VENDOR_TEAM},
        "channel": {"id": acme},
        "message": {"ts": root, "user": CUSTOMERS["alice"], "text": "invoices show the wrong VAT"},
        "response_url": f"{emu.url}/unused",
    }
    status, _ = await post_form(bot.http, bot.events, {"payload": json.dumps(shortcut)})
    assert status == 200
    acks = await emu.wait_for(lambda: emu.replies(acme, root))
    assert acks and "#1" in acks[0]["text"], bot.bot.output()[-3000:]
