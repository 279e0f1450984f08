"""Honest promises: the acknowledgement says "within 1h" only while the clock runs for
that hour; when the desk is closed, closes first, or it is a holiday, it names the real
due time in the account's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.engine.kit import open_case
from tests.harness import ACME, GLOBEX, Harness, base_config


def _accounts(**hours: Any) -> list[dict[str, Any]]:
    acme, globex = base_config()["accounts"]
    return [
        {**acme, "timezone": "Europe/Berlin", "hours": {"mon-fri": "09:00-18:00"}, **hours},
        {**globex, "timezone": "Asia/Shanghai", "hours": {"mon-fri": "09:00-18:00"}},
    ]


async def _ack(h: Harness, at: datetime) -> str:
    h.clock.set(at)
    await open_case(h, "the export job hangs")
    [ack] = await h.sent(chat=ACME, purpose="ack")
    return ack


@pytest.mark.parametrize(
    ("at", "promise"),
    [
        # Monday 10:00 in Berlin: open, the hour runs
        (datetime(2026, 3, 2, 9, 0, tzinfo=UTC), "within 1h"),
        # midnight in Berlin: the clock starts at 09:00 Tuesday
        (datetime(2026, 3, 2, 23, 0, tzinfo=UTC), "by 10:00 Tue, Europe/Berlin"),
        # 17:30 in Berlin: the desk closes before the hour is up
        (datetime(2026, 3, 2, 16, 30, tzinfo=UTC), "by 09:30 Tue, Europe/Berlin"),
        # Saturday: Monday morning
        (datetime(2026, 3, 7, 11, 0, tzinfo=UTC), "by 10:00 Mon, Europe/Berlin"),
    ],
)
async def test_the_acknowledgement_names_the_real_due_time(
    db_url: str, at: datetime, promise: str
) -> None:
    async with Harness(db_url, accounts=_accounts()) as h:
        ack = await _ack(h, at)
        assert ack == f"Thanks, we are on it: this is case #1. Expect a first answer {promise}."


async def test_a_holiday_moves_the_promise(db_url: str) -> None:
    async with Harness(db_url, accounts=_accounts(holidays=["2026-03-03"])) as h:
        ack = await _ack(h, datetime(2026, 3, 2, 23, 0, tzinfo=UTC))
        assert ack.endswith("Expect a first answer by 10:00 Wed, Europe/Berlin.")


async def test_a_promise_a_week_away_names_the_date(db_url: str) -> None:
    holidays = [f"2026-03-{d:02d}" for d in range(3, 14)]
    async with Harness(db_url, accounts=_accounts(holidays=holidays)) as h:
        ack = await _ack(h, datetime(2026, 3, 2, 23, 0, tzinfo=UTC))
        assert ack.endswith("by 10:00 Mon 2026-03-16, Europe/Berlin.")


async def test_the_promise_in_chinese(db_url: str) -> None:
    async with Harness(db_url, accounts=_accounts()) as h:
        # Friday 20:00 in Shanghai; standard P3 first response is 4h: Monday 13:00
        h.clock.set(datetime(2026, 3, 6, 12, 0, tzinfo=UTC))
        await h.say("carol", "数据库超时", chat=GLOBEX)
        [ack] = await h.sent(chat=GLOBEX, purpose="ack")
        assert (
            ack == "收到，我们正在处理：工单 #1。预计周一 13:00（Asia/Shanghai 时间）前首次回复。"
        )
