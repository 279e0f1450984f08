"""`POST /slack/events` as Slack uses it: signatures, url_verification, retries,
edits and deletes."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from tests.slack.conftest import Running
from tests.slack.kit import (
    CUSTOMERS,
    Emulator,
    callback,
    message_event,
    next_ts,
    post_event,
    query,
    sign,
)

Make = Callable[..., Awaitable[Running]]


async def stored(bot: Running) -> int:
    rows = await query(bot.db_url, "SELECT count(*) FROM processed_events")
    return int(rows[0][0])


async def test_a_bad_signature_is_401_and_nothing_is_stored(emu: Emulator, make_bot: Make) -> None:
    bot = await make_bot()
    event = message_event(emu.channels["globex"], CUSTOMERS["alice"], "hello")
    before = await stored(bot)
    assert await post_event(bot.http, bot.events, event, secret="not-the-secret") == 401
    body = json.dumps(event).encode()
    # a signature of another body, a stale timestamp, none at all
    headers = sign(b"{}")
    async with bot.http.post(bot.events, data=body, headers=headers) as r:
        assert r.status == 401
    async with bot.http.post(bot.events, data=body, headers=sign(body, at=1_600_000_000)) as r:
        assert r.status == 401
    async with bot.http.post(bot.events, data=body) as r:
        assert r.status == 401
    assert await stored(bot) == before
    assert await query(bot.db_url, "SELECT count(*) FROM messages") == [(0,)]


async def test_url_verification_answers_the_challenge(emu: Emulator, make_bot: Make) -> None:
    bot = await make_bot()
    body = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aB", "token": "x"})
    data = body.encode()
    async with bot.http.post(
        bot.events, data=data, headers={"Content-Type": "application/json", **sign(data)}
    ) as r:
        assert r.status == 200
        assert (await r.json())["challenge"] == "3eZbrw1aB"


async def test_a_retry_is_stored_once(emu: Emulator, make_bot: Make) -> None:
    bot = await make_bot()
    globex = emu.channels["globex"]
    ts = next_ts()
    event = message_event(globex, CUSTOMERS["alice"], "printer on fire", ts=ts)
    assert await post_event(bot.http, bot.events, event) == 200
    for n in (1, 2, 3):
        assert await post_event(bot.http, bot.events, event, retry=n) == 200
    rows = await query(
        bot.db_url, f"SELECT count(*) FROM messages WHERE platform_message_id = '{ts}'"
    )
    assert rows == [(1,)]
    assert await query(bot.db_url, "SELECT count(*) FROM cases") == [(1,)]
    acks = await emu.wait_for(lambda: emu.replies(globex, ts))
    assert len(acks) == 1


async def test_edits_and_deletes_reach_the_record(emu: Emulator, make_bot: Make) -> None:
    bot = await make_bot()
    globex = emu.channels["globex"]
    alice = CUSTOMERS["alice"]
    ts = next_ts()
    assert (
        await post_event(bot.http, bot.events, message_event(globex, alice, "disk ful", ts=ts))
        == 200
    )
    edited = callback(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": globex,
            "hidden": True,
            "message": {"type": "message", "user": alice, "text": "disk full", "ts": ts},
            "previous_message": {"type": "message", "user": alice, "text": "disk ful", "ts": ts},
            "event_ts": next_ts(),
            "ts": next_ts(),
        }
    )
    assert await post_event(bot.http, bot.events, edited) == 200
    rows = await query(bot.db_url, f"SELECT text FROM messages WHERE platform_message_id = '{ts}'")
    assert rows == [("disk full",)]
    second = next_ts()
    assert (
        await post_event(bot.http, bot.events, message_event(globex, alice, "oops", ts=second))
        == 200
    )
    deleted = callback(
        {
            "type": "message",
            "subtype": "message_deleted",
            "channel": globex,
            "hidden": True,
            "deleted_ts": second,
            "previous_message": {"type": "message", "user": alice, "text": "oops", "ts": second},
            "event_ts": next_ts(),
        }
    )
    assert await post_event(bot.http, bot.events, deleted) == 200
    events = await query(bot.db_url, "SELECT type FROM case_events")
    assert any("delet" in t for (t,) in events), events
