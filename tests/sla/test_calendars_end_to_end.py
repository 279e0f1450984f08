"""SLA paths the unit tests of the calendar and the ladder cover only in parts, walked
end to end with the frozen clock: the owner's duty hours, a case on hold, an account
holiday, and the local time the digest and review jobs fire at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cases.model import ActionKind, Actor, StaffAction
from storage.uow import SqlUnitOfWork
from tests.harness import TRIAGE
from tests.sla.kit import BACKUP, SlaHarness, accounts

STAFF = {
    "engineers": ["telegram:1001", "telegram:1002"],
    "leads": ["telegram:2001"],
    "triage_chat": f"telegram:{TRIAGE}",
}
LEAD = Actor("telegram", "2001", "Lena", "lena")


@pytest.mark.parametrize(("duty_until", "stands_in"), [("10:00", BACKUP), ("18:00", None)])
async def test_the_backup_stands_in_outside_the_owners_duty_hours(
    db_url: str, duty_until: str, stands_in: str | None
) -> None:
    owner = "telegram:1001"
    async with SlaHarness(
        db_url,
        staff=STAFF,
        accounts=accounts(owner=owner),
        escalation={"duty": {owner: {"mon-fri": f"08:00-{duty_until}"}}},
    ) as h:
        await h.open_case()  # Monday 09:00:30 UTC: breach 10:00:30, escalation 11:00:30
        h.clock.advance(hours=2, minutes=5)
        await h.tick()
        escalated = {n["person"] for n in await h.nudges() if n["nudge"] == "escalation"}
        assert escalated == {"telegram:2001", stands_in or owner}


async def test_on_hold_pauses_the_resolution_clock_and_records_the_pause(db_url: str) -> None:
    async with SlaHarness(db_url, accounts=accounts()) as h:
        case_id = await h.open_case()  # premium P3: resolution 2d, around the clock
        due = (await h.row(case_id)).resolution_due
        assert due is not None
        h.clock.advance(hours=1)
        await h.say("evan", f"/hold #{case_id}", chat=TRIAGE)
        assert (await h.row(case_id)).resolution_due is None  # paused: no due time
        h.clock.advance(days=1)
        async with h.sessions() as session, session.begin():
            await h.engine.act(
                SqlUnitOfWork(session),
                StaffAction(ActionKind.STATUS, case_id, LEAD, h.clock.now(), value="open"),
            )
        row = await h.row(case_id)
        assert row.resolution_due is not None
        assert row.resolution_due - due == timedelta(days=1)  # the day on hold
        pauses = [
            (t, d.get("status"))
            for t, d in await h.events(case_id, "sla_")
            if t in ("sla_paused", "sla_resumed")
        ]
        assert pauses == [("sla_paused", "on_hold"), ("sla_resumed", "open")]
        h.clock.set(due + timedelta(minutes=5))  # the old due time has passed
        await h.tick()
        breached = [d.get("clock") for _, d in await h.events(case_id, "sla_breached")]
        assert "resolution" not in breached  # (the unanswered first response did breach)
        h.clock.set(row.resolution_due + timedelta(minutes=1))
        await h.tick()
        breached = [d.get("clock") for _, d in await h.events(case_id, "sla_breached")]
        assert breached.count("resolution") == 1


async def test_an_account_holiday_moves_the_first_response_due(db_url: str) -> None:
    async with SlaHarness(
        db_url,
        accounts=accounts(
            timezone="UTC", hours={"mon-fri": "09:00-18:00"}, holidays=["2026-03-03"]
        ),
    ) as h:
        h.clock.set(datetime(2026, 3, 2, 17, 30, tzinfo=UTC))  # Monday 17:30
        case_id = await h.open_case()
        row = await h.row(case_id)
        # 30 min on Monday, Tuesday is a holiday, the other 30 min on Wednesday morning
        assert row.first_response_due == datetime(2026, 3, 4, 9, 30, 30, tzinfo=UTC)
        h.clock.set(datetime(2026, 3, 3, 12, 0, tzinfo=UTC))
        await h.tick()
        assert [n for n in await h.nudges() if n["nudge"] == "breach"] == []


async def test_digest_and_review_fire_at_their_local_times(sqlite_url: str) -> None:
    """The jobs' triggers, asked for their next fire time from a frozen moment."""
    from bot.app import App
    from bot.config import parse_config

    async with SlaHarness(sqlite_url, accounts=accounts()) as h:
        raw = dict(h.raw)
    raw["storage"] = {"url": sqlite_url}
    raw["http"] = {"enabled": False}
    raw["dispatcher"] = {"enabled": False}
    raw["scheduler"] = {
        "tick": "1h",
        "timezone": "Asia/Shanghai",
        "digest_time": "08:30",
        "review_day": "fri",
        "review_time": "17:00",
    }
    app = App(parse_config(raw, env={}))
    await app.start(web=False)
    try:
        jobs = {job.id: job for job in app.scheduler.scheduler.get_jobs()}
        # Saturday 2026-03-07 01:00 UTC is 09:00 in Shanghai: the digest already went
        moment = datetime(2026, 3, 7, 1, 0, tzinfo=UTC)
        digest = jobs["casebot.digest"].trigger.get_next_fire_time(None, moment)
        review = jobs["casebot.review"].trigger.get_next_fire_time(None, moment)
        assert digest.astimezone(UTC) == datetime(2026, 3, 8, 0, 30, tzinfo=UTC)
        assert review.astimezone(UTC) == datetime(2026, 3, 13, 9, 0, tzinfo=UTC)
    finally:
        await app.stop()
