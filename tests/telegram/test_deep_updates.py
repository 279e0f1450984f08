"""An update nested hundreds of levels deep (issue 16.8): once it made every polling
round raise RecursionError, so nothing behind it was taken, and the webhook answered
500 so Telegram would resend it forever. Now it is kept in `casebot failed` and the
updates behind it go on, in both modes."""

from __future__ import annotations

import json
import socket
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from sqlalchemy import select

from storage.models import FailedEvent
from tests.telegram.kit import CHATS, TgBox

Make = Callable[..., Awaitable[TgBox]]


async def failed_rows(box: TgBox) -> list[FailedEvent]:
    async with box.app.sessions() as session:
        return list((await session.execute(select(FailedEvent))).scalars())


@pytest.mark.parametrize("levels", [600, 5000])
async def test_polling_keeps_a_deep_update_as_failed_and_goes_on(box: TgBox, levels: int) -> None:
    """600 levels: json.loads reads them, recursive code after it (two frames a level)
    did not; 5000: json.loads itself raises RecursionError on the getUpdates answer.
    Either way the update is cut out of the answer before parsing."""
    update = box.api.message(CHATS["acme"], 5001, "hello", first_name="Alice")
    # the fake sends the nesting as raw JSON text: json.dumps cannot make it in a test
    update["message"]["entities"] = box.api.raw_json("[" * levels + "]" * levels)
    deep_id = box.push(update)
    asked = box.say("alice", "my VM is down")
    box.say("evan", "/case", reply_to=asked)
    await box.settle()
    assert any("this is case #1" in t for t in box.texts("acme")), "the updates behind it"
    (row,) = await failed_rows(box)
    assert row.event_id == str(deep_id) and row.kind == "unreadable"
    assert "nested deeper" in row.error


async def test_webhook_answers_200_for_a_deep_update_and_keeps_it(make_box: Make) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    box = await make_box(
        web=True,
        http={"enabled": True, "port": port},
        telegram={"mode": "webhook", "webhook_url": url, "secret_token": "s3cret-Token"},
    )
    # deeper than json.loads itself can go: the depth is checked before parsing
    body = '{"update_id": 4242, "message": {"x": ' + "[" * 5000 + "]" * 5000 + "}}"
    headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token"}
    async with aiohttp.ClientSession() as client:
        async with client.post(url, data=body.encode(), headers=headers) as response:
            assert response.status == 200, await response.text()
        shallow = json.dumps(
            {"update_id": 4243, **box.api.message(CHATS["acme"], 5001, "still here")}
        )
        async with client.post(url, data=shallow, headers=headers) as response:
            assert response.status == 200
    (row,) = await failed_rows(box)
    assert row.event_id == "4242" and row.kind == "unreadable"
    assert [m.text for m in await box.messages()] == ["still here"]


def test_the_depth_scan_is_linear_on_hostile_strings() -> None:
    """Escaped quotes without an end: a string pattern that can fail rescans the rest
    of the body from each of them (28 s for 40 kB); this one reads it once."""
    import time

    from adapters.telegram_translate import raw_too_deep, shallow_updates

    body = b'{"update_id": 1, "x": "' + b'\\"' * 10_000
    started = time.perf_counter()
    assert not raw_too_deep(body)
    assert shallow_updates(body) == body
    assert time.perf_counter() - started < 1.0
    assert raw_too_deep(b'{"a": "]]]]", "b": ' + b"[" * 70 + b"]" * 70 + b"}")
    assert not raw_too_deep(b'{"a": "[[[[' + b"[" * 70 + b'"}')


def test_translate_itself_refuses_a_deep_update() -> None:
    """translate() is also handed parsed updates (tests, `casebot failed`, other callers):
    it checks depth without recursion before anything recursive reads the update."""
    from datetime import UTC, datetime

    import telegram

    from adapters.telegram_translate import translate

    deep: list[object] = []
    for _ in range(600):
        deep = [deep]
    raw = {"update_id": 7, "message": {"chat": {"id": -100100}, "entities": deep}}
    event = translate(raw, telegram.Bot("1:x"), "casebot", datetime.now(UTC))
    assert event is not None and event.kind == "unreadable" and event.chat.chat == "-100100"
