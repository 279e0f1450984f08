"""Links the bot hands out in chat, followed in the real HTTP server: the sign-in link
a staff member gets for /login in a DM, and the status page link in a /status reply.
Every message carrying one goes out with link previews off (a preview fetch would
otherwise be the first to open the link)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientSession, CookieJar

from tests.telegram.kit import CHATS, TgBox
from tests.telegram.test_flow import open_case

PUBLIC = "https://support.example.com"
LINK = re.compile(r"https://support\.example\.com(/\S+)")


async def _web_box(make_box: Callable[..., Awaitable[TgBox]]) -> TgBox:
    return await make_box(
        web=True,
        http={
            "enabled": True,
            "port": 0,
            "public_url": PUBLIC,
            "session_secret": "links-test-secret",
            # the test browser talks plain HTTP to 127.0.0.1: Secure cookies would not come back
            "cookie_secure": False,
        },
    )


@pytest.fixture
async def browser() -> AsyncIterator[ClientSession]:
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as session:
        yield session


def local(box: TgBox, path: str) -> str:
    """The public URL's path on the server the box really runs."""
    return f"http://127.0.0.1:{box.app.web.port}{path}"


def link_in(text: str) -> str:
    match = LINK.search(text)
    assert match, f"no {PUBLIC} link in {text!r}"
    return match.group(1)


async def press_sign_in(box: TgBox, browser: ClientSession, path: str) -> ClientResponse:
    page = await (await browser.get(local(box, path))).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf and "Sign in" in page, page[:300]
    return await browser.post(
        local(box, path), data={"csrf": csrf.group(1)}, allow_redirects=False
    )


def previews_off(params: dict[str, Any]) -> bool:
    options = params.get("link_preview_options") or {}
    return bool(options.get("is_disabled"))


@pytest.mark.parametrize("asked_in", ["triage", "dm"])
async def test_staff_login_gets_a_dm_whose_link_signs_in(
    make_box: Callable[..., Awaitable[TgBox]], browser: ClientSession, asked_in: str
) -> None:
    box = await _web_box(make_box)
    box.api.add_private(1001, "Evan", "evan")
    box.say("evan", "/login", chat="1001" if asked_in == "dm" else asked_in)
    await box.settle()
    [dm] = box.texts("1001")
    path = link_in(dm)
    assert path.startswith("/login/")
    [call] = [c for c in box.api.calls_to("sendMessage") if c["chat_id"] == 1001]
    assert previews_off(call), call

    r = await browser.get(local(box, "/queue/mine"), allow_redirects=False)
    assert r.status == 303, "not signed in before the link is used"
    # a link preview fetch, then the person opening the link: neither spends it
    await browser.get(local(box, path))
    r = await press_sign_in(box, browser, path)
    assert r.status == 303 and r.headers["Location"] == "/"
    page = await browser.get(local(box, "/queue/mine"), allow_redirects=False)
    assert page.status == 200 and "Sign out" in await page.text()

    browser.cookie_jar.clear()
    again = await press_sign_in(box, browser, path)
    assert again.status == 403, "the link signs in once"


async def test_customer_login_is_refused(make_box: Callable[..., Awaitable[TgBox]]) -> None:
    box = await _web_box(make_box)
    box.api.add_private(5001, "Alice", "alice")
    box.say("alice", "/login", chat="5001")
    box.say("alice", "/login")
    await box.settle()
    assert "Sorry, /login is for the support team." in box.texts("acme")
    assert not any(PUBLIC in t for t in box.texts("5001") + box.texts("acme"))
    assert not [r for r in await box.rows() if r.kind == "dm"], "no sign-in link made"


async def test_status_reply_links_the_chats_own_page(
    make_box: Callable[..., Awaitable[TgBox]], browser: ClientSession
) -> None:
    box = await _web_box(make_box)
    await open_case(box, "Acme VPN drops")
    box.say("carol", "网络很慢", chat="globex")  # Globex opens cases by itself
    await box.settle()
    box.say("alice", "/status")
    await box.settle()
    [reply] = [m for m in box.sent("acme") if "Status page" in m["text"]]
    path = link_in(reply["text"])
    assert re.fullmatch(r"/status/[\w-]{20,}", path), path
    [call] = [c for c in box.api.calls_to("sendMessage") if "Status page" in c["text"]]
    assert previews_off(call) and call["chat_id"] == CHATS["acme"]
    r = await browser.get(local(box, path))
    page = await r.text()
    assert r.status == 200 and "Acme VPN drops" in page and "#1" in page
    assert "网络很慢" not in page, "only this chat's cases"
