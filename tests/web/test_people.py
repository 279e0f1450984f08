"""The dashboard and the API with one person across platforms: a sign-in naming the
person, their "mine" queue whichever key took the case, and the person shown once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from cases.model import Actor, ChatKey, Inbound, InboundKind
from tests.harness import ACME
from tests.web.conftest import PASSWORD, Site, make_site
from web.auth import hash_password

ROOM = "acme-room"


@pytest.fixture
async def site(db_url: str) -> AsyncIterator[Site]:
    user = {
        "name": "evan",
        "person": "Evan",
        "password_hash": hash_password(PASSWORD, iterations=1000),
    }
    async for s in make_site(
        db_url,
        users=[user],
        staff={"people": [{"name": "Evan", "ids": ["telegram:1001", "wecom:evan"]}]},
        accounts={"Acme": {"chats": [f"telegram:{ACME}", f"wecom:{ROOM}"]}},
    ):
        yield s


async def from_wecom(
    site: Site, user: str, text: str, mid: str, reply_to: str | None = None
) -> int | None:
    site.clock.advance(timedelta(minutes=30))
    outcome = await site.app.ingestor.handle(
        Inbound(
            InboundKind.MESSAGE,
            f"wecom-{mid}",
            ChatKey("wecom", ROOM),
            site.clock.now(),
            Actor("wecom", user, user.title()),
            message_id=mid,
            reply_to=reply_to,
            text=text,
        )
    )
    return outcome.case_id


async def test_the_person_signs_in_by_name_and_sees_cases_any_key_took(site: Site) -> None:
    on_telegram = await site.open_case("our VM is down")
    await site.say("evan", f"/assign #{on_telegram} me")
    await from_wecom(site, "dave", "the database is slow", "1")
    on_room = await from_wecom(site, "evan", "/case", "2", reply_to="1")
    assert on_room is not None
    await from_wecom(site, "evan", f"/assign #{on_room} me", "3")
    await site.sign_in("evan")
    page = await (await site.client.get("/queue/mine")).text()
    assert f"#{on_telegram}" in page and f"#{on_room}" in page
    # the assign form offers the person once, by name
    case_page = await (await site.client.get(f"/cases/{on_room}")).text()
    assert case_page.count(">Evan (engineer)</option>") == 1
    # the API's assignee filter takes the name or either key
    for who in ("Evan", "wecom:evan", "telegram:1001"):
        r = await site.client.get(
            "/api/v1/cases", params={"assignee": who}, headers=site.api_headers()
        )
        assert r.status == 200
        assert sorted(c["id"] for c in await r.json()) == sorted([on_telegram, on_room]), who
