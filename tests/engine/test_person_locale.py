"""A person's own language in texts only they read: a staff person's `[[staff.people]]`
locale for their DMs (sign-in link, help, nudges), a customer's app language (Telegram's
`language_code`) in their private chat with the bot; everyone else as before. On every
platform."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

import pytest

from cases.model import ChatKey, Inbound, InboundKind
from tests.harness import TRIAGE, Harness
from tests.sla.kit import SlaHarness, accounts

pytestmark = pytest.mark.usefixtures("platform")

_ids = itertools.count(1)


def dm(h: Harness, who: str, text: str, language: str | None = None) -> Inbound:
    actor = replace(h.actor(who), language=language)
    n = next(_ids)
    return Inbound(
        InboundKind.MESSAGE,
        f"dm-locale-{n}",
        ChatKey(h.platform, actor.user_id),
        h.clock.now(),
        actor,
        message_id=str(n),
        text=text,
        is_direct=True,
    )


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def people(locale: str) -> dict[str, object]:
    return {"people": [{"name": "Evan", "ids": ["telegram:1001"], "locale": locale}]}


async def test_a_staff_persons_dms_speak_their_locale(db_url: str) -> None:
    async with Harness(
        db_url, http={"public_url": "https://desk.example.com"}, staff=people("zh-CN")
    ) as h:
        await h.push(dm(h, "evan", "/login"))
        await h.push(dm(h, "evan", "/help"))
        await h.push(dm(h, "erin", "/help"))
        rows = await h.outbox()
        by = {(r.chat, r.purpose): r.payload["text"] for r in rows}
        link = by[("1001", "login")]
        assert "https://desk.example.com/login/" in link and _chinese(link), link
        assert by[("1001", "reply")] == h.texts.render("help_staff", "zh")
        # Erin has no locale of her own: the desk's
        assert by[("1002", "reply")] == h.texts.render("help_staff", "en")


async def test_a_customers_private_chat_speaks_their_apps_language(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.push(dm(h, "alice", "/help", language="zh-hans"))
        await h.push(dm(h, "bob", "/help", language="de"))
        await h.push(dm(h, "carol", "/login", language="zh-CN"))
        replies = {r.chat: r.payload["text"] for r in await h.outbox()}
        assert replies["5001"] == h.texts.render("help_customer", "zh")
        # a language the catalogue lacks: as before
        assert replies["5002"] == h.texts.render("help_customer", "en")
        assert replies["6001"] == h.texts.render("refused_staff_only", "zh", command="login")


async def test_a_nudge_dm_speaks_its_readers_locale_and_triage_the_desks(db_url: str) -> None:
    lena = {"people": [{"name": "Lena", "ids": ["telegram:2001"], "locale": "zh"}]}
    async with SlaHarness(db_url, accounts=accounts(), staff=lena) as h:
        case_id = await h.open_case()
        h.clock.advance(timedelta(minutes=61))
        await h.tick()
        sent = await h.nudges()
        texts = {n["kind"]: n["text"] for n in sent if n["nudge"] == "breach"}
        assert set(texts) == {"dm", "send"}, sent
        assert f"#{case_id}" in texts["dm"] and "首次响应" in texts["dm"], texts["dm"]
        assert "first response" in texts["send"]
        assert [n["chat"] for n in sent if n["kind"] == "send"] == [TRIAGE]
