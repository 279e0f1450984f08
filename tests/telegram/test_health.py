"""`/healthz` asks the real Telegram adapter whether it takes updates: connected to
the (fake) Bot API and, when polling, with its polling task alive."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientSession

from tests.telegram.kit import TgBox

WEB = {"enabled": True, "port": 0}


class PollerCrash(BaseException):
    """Gets past the polling loop's `except Exception`, as a bug of that kind would."""


async def health(box: TgBox) -> tuple[int, dict[str, Any]]:
    url = f"http://127.0.0.1:{box.app.web.port}/healthz"
    async with ClientSession() as client, client.get(url) as r:
        return r.status, await r.json()


async def test_polling_adapter_is_healthy_until_its_poller_dies(
    make_box: Callable[..., Awaitable[TgBox]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    box = await make_box(web=True, http=WEB)
    assert await health(box) == (
        200,
        {"ok": True, "database": "ok", "adapters": {"telegram": True}, "commits": "ok"},
    )

    crashed = asyncio.Event()

    async def crash(*args: Any, **kwargs: Any) -> int | None:
        crashed.set()
        raise PollerCrash("boom")

    monkeypatch.setattr(box.adapter, "poll_once", crash)
    box.say("alice", "wake the long poll")  # the round under way returns; the next one dies
    async with asyncio.timeout(5):
        await crashed.wait()  # wakes after the task's step that raised, so it has ended
    assert not box.adapter.running
    status, body = await health(box)
    assert status == 503 and body["adapters"] == {"telegram": False}
    assert any("polling ended" in r.message for r in caplog.records if r.levelno >= logging.ERROR)


async def test_unreachable_bot_api_is_not_running(
    make_box: Callable[..., Awaitable[TgBox]],
) -> None:
    # nothing listens on port 9: casebot starts and keeps trying in the background
    box = await make_box(web=True, http=WEB, telegram={"base_url": "http://127.0.0.1:9/bot"})
    assert not box.adapter.running
    status, body = await health(box)
    assert status == 503 and body["adapters"] == {"telegram": False}


async def test_webhook_adapter_runs_without_a_poller(
    make_box: Callable[..., Awaitable[TgBox]],
) -> None:
    box = await make_box(
        web=True,
        http=WEB,
        telegram={
            "mode": "webhook",
            "webhook_url": "https://bot.example.com/telegram/webhook",
            "secret_token": "s3cret-Token",
        },
    )
    assert (await health(box))[0] == 200 and box.adapter.running
    await box.adapter.stop()
    assert not box.adapter.running
    assert (await health(box))[0] == 503


async def test_getupdates_refused_too_long_is_unhealthy(
    make_box: Callable[..., Awaitable[TgBox]],
) -> None:
    """The polling task lives, but the Bot API refuses every getUpdates (a proxy's 502,
    another poller's 409): past telegram.poll_refused_after, /healthz says 503."""
    box = await make_box(web=True, http=WEB, telegram={"poll_refused_after": "2m"})
    box.api.fail_for("getUpdates", 60, 502)
    box.say("alice", "wake the long poll")  # the round under way returns; the next is refused
    await box.api.wait_for(lambda: box.adapter.getupdates_refused_since, what="a refusal")
    assert (await health(box))[0] == 200, "refused for a moment only"
    box.clock.advance(minutes=3)
    status, body = await health(box)
    assert status == 503 and body["adapters"] == {"telegram": False}
    box.api.clear_failures()
    await box.settle(timeout=10)  # the next round is answered and takes the update
    assert box.adapter.getupdates_refused_since is None
    assert (await health(box))[0] == 200
