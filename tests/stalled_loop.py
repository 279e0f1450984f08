"""Paced sends after the event loop was held up past their booked slots: the check every
platform's pacer gets (its slots are booked ahead, so sends whose slots passed while the
loop was busy went out together, above the pace)."""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Awaitable, Callable, Iterable


async def released_after_a_stall(
    pace: Callable[[str], Awaitable[None]], keys: Iterable[str], stall: float = 0.3
) -> dict[str, list[float]]:
    """One paced send per key, in order; once each has booked its slot the loop is held up
    for `stall` seconds. Answers when the sends were let out (monotonic), per key."""
    released: dict[str, list[float]] = {}

    async def one(key: str) -> None:
        await pace(key)
        released.setdefault(key, []).append(time.monotonic())

    sends = [asyncio.create_task(one(key)) for key in keys]
    await asyncio.sleep(0)  # every send has booked its slot
    time.sleep(stall)  # noqa: ASYNC251 - the loop busy past the booked slots
    await asyncio.gather(*sends)
    return released


def most_within(times: Iterable[float], span: float) -> int:
    """The most of `times` that fall within `span` seconds of one another."""
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, t + span) - i for i, t in enumerate(ordered)), default=0
    )
