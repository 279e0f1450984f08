"""Fixtures: a recording fake bridge per test and a started casebot pushing to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.bridge.kit import BridgeBox
from tests.fakes.bridge_peer import FakeBridge


@pytest.fixture
async def peer() -> AsyncIterator[FakeBridge]:
    async with FakeBridge() as server:
        yield server
        assert server.bad_signatures == 0


@pytest.fixture
async def make_box(
    peer: FakeBridge, sqlite_url: str
) -> AsyncIterator[Callable[..., Awaitable[BridgeBox]]]:
    boxes: list[BridgeBox] = []

    async def make(db_url: str | None = None, pull: bool = False, **options: Any) -> BridgeBox:
        box = BridgeBox(None if pull else peer, db_url or sqlite_url, **options)
        boxes.append(box)
        return await box.start()

    yield make
    for box in boxes:
        await box.stop()


@pytest.fixture
async def box(make_box: Callable[..., Awaitable[BridgeBox]]) -> BridgeBox:
    return await make_box()
