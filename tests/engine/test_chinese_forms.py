"""Durations and dates in the forms Chinese writes them ("4 小时内", "3月4日 09:00") where
the reader's locale is Chinese, and as before in English, on every platform."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.texts import Catalogue
from cases import dates, views
from cases.durations import format_duration
from tests.engine.kit import open_case
from tests.harness import GLOBEX, TRIAGE, Harness

pytestmark = pytest.mark.usefixtures("platform")


async def test_a_chinese_account_is_promised_an_answer_in_chinese_hours(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "数据库连接超时", chat=GLOBEX)
        [ack] = [r for r in await h.outbox() if r.purpose == "ack"]
        assert "预计 4 小时内首次回复" in ack.payload["text"]
        assert "4h" not in ack.payload["text"]


async def test_a_chinese_desk_reads_due_times_as_chinese_dates(db_url: str) -> None:
    async with Harness(db_url, staff={"locale": "zh"}) as h:
        await open_case(h)
        await h.sent()
        await h.say("evan", "/followup 2d 回访客户")
        [notice] = await h.sent(chat=TRIAGE, purpose="reply")
        due = h.clock.now() + timedelta(days=2)
        assert f"{due.month}月{due.day}日 {due:%H:%M} UTC" in notice
        assert due.strftime("%Y-%m-%d") not in notice


async def test_an_english_desk_keeps_iso_dates(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.sent()
        await h.say("evan", "/followup 2d call back")
        [notice] = await h.sent(chat=TRIAGE, purpose="reply")
        due = h.clock.now() + timedelta(days=2)
        assert due.strftime("%Y-%m-%d %H:%M UTC") in notice


def test_duration_and_date_forms() -> None:
    assert format_duration(timedelta(hours=2), "zh") == "2 小时"
    assert format_duration(timedelta(minutes=90), "zh") == "1 小时 30 分钟"
    assert format_duration(timedelta(days=2), "zh") == "2 天"
    assert format_duration(timedelta(minutes=90)) == "1h30m"
    today = datetime(2026, 12, 1, tzinfo=UTC).date()
    assert dates.day_time(datetime(2026, 12, 2, 9, 0), "zh", today) == "12月2日 09:00"
    assert dates.day(datetime(2027, 1, 5).date(), "zh", today) == "2027年1月5日"
    assert dates.day(datetime(2027, 1, 5).date(), "en", today) == "2027-01-05"


def test_a_due_time_a_week_away_names_its_chinese_date() -> None:
    texts, now = Catalogue(), datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    at = now + timedelta(days=8)
    text = views.local_when(texts, "zh", at, "Asia/Shanghai", now)
    assert text == "12月9日（周三）17:00（Asia/Shanghai 时间）"
