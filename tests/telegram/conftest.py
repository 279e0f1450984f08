"""Fixtures: a fake Bot API server per test and a started casebot talking to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.fakes.telegram_api import FakeBotApi
from tests.telegram.kit import TOKEN, TgBox


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN, can_read_all_group_messages=True) as server:
        yield server
        assert not server.errors, server.errors


@pytest.fixture
async def make_box(
    api: FakeBotApi, sqlite_url: str
) -> AsyncIterator[Callable[..., Awaitable[TgBox]]]:
    boxes: list[TgBox] = []

    async def make(db_url: str | None = None, web: bool = False, **overrides: Any) -> TgBox:
        box = TgBox(api, db_url or sqlite_url, **overrides)
        boxes.append(box)
        return await box.start(web=web)

    yield make
    for box in boxes:
        await box.stop()


@pytest.fixture
async def box(make_box: Callable[..., Awaitable[TgBox]]) -> TgBox:
    return await make_box()
