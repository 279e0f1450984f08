"""One customer cannot flood the desk: case openings are limited per customer and per
chat (`/new`, automatic intake), staff have their own higher limit (`/case`, the emoji)
and are not held back by a customer's flood; a burst gets one notice in its chat and one
note in triage, and every refused message is kept, untracked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import ConfigError, parse_config
from tests.engine.kit import case_count, events, messages
from tests.harness import ACME, GLOBEX, TRIAGE, Harness, base_config


async def _said(h: Harness, chat: str) -> list[str]:
    return [r.payload.get("text", "") for r in await h.outbox() if r.chat == chat]


LIMITS = {"open_window": "10m", "open_per_customer": 3, "open_per_chat": 5, "open_per_staff": 4}


async def test_a_customers_burst_of_new_is_cut_short(db_url: str) -> None:
    async with Harness(db_url, cases=LIMITS) as h:
        for i in range(20):
            await h.say("alice", f"/new printer {i}", advance=timedelta(milliseconds=500))
        assert await case_count(h) == 3
        notice = h.texts.render("opening_limited", "en", window="10m")
        assert (await _said(h, ACME)).count(notice) == 1
        [note] = [t for t in await _said(h, TRIAGE) if t.startswith("⚠️")]
        assert "Acme" in note and "Alice" in note
        assert len(events(await h.case(3), "opening_limited")) == 1
        kept = [m for m in await messages(h) if m["text"].startswith("/new printer")]
        assert len(kept) == 20 and [m["case_id"] for m in kept[3:]] == [None] * 17
        # another customer of the chat may still open, up to the chat's limit
        for i in range(4):
            await h.say("bob", f"/new invoices {i}")
        assert await case_count(h) == 5
        assert (await _said(h, ACME)).count(notice) == 2, "bob hears it once too"
        # staff tag a real question in the flooded chat: not held to the chat's limit
        await h.say("carol", "the VPN is down for everyone")
        await h.say("evan", "/case", reply_to=h.last_message_id)
        assert await case_count(h) == 6
        # the window passes: the customer opens again
        h.clock.advance(timedelta(minutes=11))
        await h.say("alice", "/new a fresh question")
        assert await case_count(h) == 7


async def test_automatic_intake_counts_per_chat(db_url: str) -> None:
    limits = {**LIMITS, "open_per_chat": 2}
    async with Harness(db_url, cases=limits) as h:
        for who in ("carol", "alice", "bob"):
            await h.say(who, f"{who}: our database is slow", chat=GLOBEX)
        assert await case_count(h) == 2
        notice = h.texts.render("opening_limited", "zh", window="10 分钟")
        assert (await _said(h, GLOBEX)).count(notice) == 1


async def test_staff_have_their_own_limit_on_case_and_the_emoji(db_url: str) -> None:
    async with Harness(db_url, cases=LIMITS) as h:
        asked = []
        for i in range(6):
            await h.say("alice", f"question {i}", advance=timedelta(minutes=40))
            asked.append(h.last_message_id)
        h.clock.advance(timedelta(minutes=1))
        # newest first: a tag pulls in the sender's untracked messages around it
        asked.reverse()
        for mid in asked[:3]:
            await h.say("evan", "/case", reply_to=mid, advance=timedelta(seconds=1))
        await h.react("evan", asked[3])
        await h.react("evan", asked[4])
        assert await case_count(h) == 4
        notice = h.texts.render("opening_limited", "en", window="10m")
        assert (await _said(h, ACME)).count(notice) == 1
        await h.say("erin", "/case", reply_to=asked[5])
        assert await case_count(h) == 5, "another engineer is counted on their own"


async def test_zero_turns_a_limit_off(db_url: str) -> None:
    off = {"open_per_customer": 0, "open_per_chat": 0}
    async with Harness(db_url, cases=off) as h:
        for i in range(12):
            await h.say("alice", f"/new n{i}", advance=timedelta(seconds=1))
        assert await case_count(h) == 12


@pytest.mark.parametrize(
    ("key", "value"),
    [("open_per_chat", -1), ("open_window", "0s"), ("open_per_customer", "many")],
)
def test_bad_limits_name_their_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=key):
        parse_config(base_config(cases={key: value}), env={})


async def test_a_customer_in_many_chats_has_one_count(db_url: str) -> None:
    chats = [ACME, "-100101", "-100102", "-100103"]
    acme = {**base_config()["accounts"][0], "chats": [f"telegram:{c}" for c in chats]}
    async with Harness(db_url, accounts=[acme], cases=LIMITS) as h:
        for chat in chats:
            for i in range(5):
                await h.say("alice", f"/new printer {i}", chat=chat, advance=timedelta(seconds=1))
        assert await case_count(h) == 3, "one customer opens the limit once, not per chat"
        notes = [t for t in await _said(h, TRIAGE) if t.startswith("⚠️")]
        assert len(notes) == 1, "one burst, one note to triage"
        # the chats' own limit still holds for everyone else in them
        await h.say("bob", "/new invoices", chat="-100103")
        assert await case_count(h) == 4
