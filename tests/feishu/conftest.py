"""Fixtures: a fake Feishu Open API per test and a started casebot talking to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.fakes.feishu_api import FakeFeishu
from tests.feishu.kit import FeishuBox


@pytest.fixture
async def api() -> AsyncIterator[FakeFeishu]:
    async with FakeFeishu() as server:
        yield server


@pytest.fixture
async def make_box(
    api: FakeFeishu, sqlite_url: str
) -> AsyncIterator[Callable[..., Awaitable[FeishuBox]]]:
    boxes: list[FeishuBox] = []

    async def make(**overrides: Any) -> FeishuBox:
        box = FeishuBox(api, sqlite_url, **overrides)
        boxes.append(box)
        return await box.start()

    yield make
    for box in boxes:
        await box.stop()


@pytest.fixture
async def box(make_box: Callable[..., Awaitable[FeishuBox]]) -> FeishuBox:
    return await make_box()
