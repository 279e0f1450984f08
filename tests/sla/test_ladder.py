"""The nudge ladder walked with a frozen clock: warning, breach, escalation, page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.harness import ACME, TRIAGE
from tests.sla.kit import BACKUP, OWNER, SlaHarness, accounts

LENA = "telegram:2001"


async def test_warning_breach_escalation_once_each(db_url: str) -> None:
    async with SlaHarness(db_url, accounts=accounts()) as h:
        case_id = await h.open_case()
        # P3 premium: first response 1h, warning at 80% = 48 min after the question
        assert await h.tick() == 0
        h.clock.advance(minutes=47)
        await h.tick()
        assert await h.nudges() == []
        h.clock.advance(minutes=2)
        assert await h.tick() == 1
        sent = await h.nudges()
        assert [(n["kind"], n["chat"], n["nudge"]) for n in sent] == [("send", TRIAGE, "warning")]
        assert f"#{case_id}" in sent[0]["text"] and "Acme" in sent[0]["text"]
        assert "first response" in sent[0]["text"]
        # the same tick again: nothing more
        await h.tick()
        assert await h.nudges() == []
        h.clock.advance(minutes=12)
        await h.tick()
        sent = await h.nudges()
        assert {(n["kind"], n["person"] or n["chat"]) for n in sent} == {
            ("send", TRIAGE),
            ("dm", LENA),
        }
        assert all(n["nudge"] == "breach" for n in sent)
        assert all(n["chat"] != ACME for n in sent)
        dm = next(n for n in sent if n["kind"] == "dm")
        assert dm["fallback"] == TRIAGE
        # escalation counts from the breach (the due time, 10:00:30), not from the tick
        h.clock.advance(minutes=57)
        await h.tick()
        assert await h.nudges() == []
        h.clock.advance(minutes=2)
        await h.tick()
        sent = await h.nudges()
        assert {n["person"] for n in sent} == {LENA}  # the lead is also the owner: once
        assert sent[0]["nudge"] == "escalation"
        h.clock.advance(days=1)
        await h.tick()
        types = [t for t, _ in await h.events(case_id, "sla_")]
        assert types == ["sla_warning", "sla_breached", "sla_escalated"]
        # a late answer records no second breach and stops the clock
        await h.say("evan", "looking now", reply_to="1")
        types = [t for t, _ in await h.events(case_id, "sla_")]
        assert types.count("sla_breached") == 1


async def test_warning_goes_to_assignee_by_dm(db_url: str) -> None:
    async with SlaHarness(db_url, accounts=accounts()) as h:
        case_id = await h.open_case()
        await h.say("evan", f"/assign #{case_id} me", chat=TRIAGE)
        await h.nudges()
        h.clock.advance(minutes=50)
        await h.tick()
        sent = await h.nudges()
        assert [(n["kind"], n["person"], n["nudge"]) for n in sent] == [
            ("dm", "telegram:1001", "warning")
        ]


async def test_escalation_reaches_backup_when_owner_is_away(db_url: str) -> None:
    raw_staff = {
        "engineers": ["telegram:1001", "telegram:1002"],
        "leads": ["telegram:2001"],
        "triage_chat": f"telegram:{TRIAGE}",
    }
    async with SlaHarness(
        db_url,
        staff=raw_staff,
        accounts=accounts(owner="telegram:1001"),
        escalation={"away": ["telegram:1001"]},
    ) as h:
        await h.open_case()
        h.clock.advance(hours=2, minutes=5)
        await h.tick()
        sent = await h.nudges()
        escalation = {n["person"] for n in sent if n["nudge"] == "escalation"}
        assert escalation == {OWNER, BACKUP}  # the lead and the backup, not the away owner


async def test_met_clock_sends_nothing(db_url: str) -> None:
    async with SlaHarness(db_url, accounts=accounts()) as h:
        case_id = await h.open_case()
        h.clock.advance(minutes=10)
        await h.say("evan", "on it", reply_to="1")
        h.clock.advance(hours=5)
        await h.tick()
        assert [n for n in await h.nudges() if n["purpose"] == "nudge"] == []
        types = [t for t, _ in await h.events(case_id, "sla_")]
        assert types[0] == "sla_met"


async def test_p1_outside_hours_pages_on_call(db_url: str) -> None:
    async with SlaHarness(
        db_url,
        accounts=accounts(
            timezone="Europe/Berlin",
            hours={"mon-fri": "09:00-12:00,13:00-18:00"},
            always_on=["P1"],
        ),
        staff={
            "on_call": [
                {"person": "telegram:1001", "days": "mon-wed"},
                {"person": "telegram:1002", "days": "thu-sun"},
            ]
        },
    ) as h:
        # Saturday 03:00 Berlin: the desk is closed, erin is on call
        h.clock.set(datetime(2026, 3, 7, 2, 0, tzinfo=UTC))
        case_id = await h.open_case()
        await h.say("evan", f"/priority #{case_id} P1", chat=TRIAGE)
        await h.nudges()
        await h.tick()
        sent = await h.nudges()
        assert [(n["kind"], n["person"], n["nudge"]) for n in sent] == [
            ("dm", "telegram:1002", "page")
        ]
        assert f"#{case_id}" in sent[0]["text"]
        # P1 counts around the clock: 15 min first response breaches on Saturday night
        h.clock.advance(minutes=16)
        await h.tick()
        assert {n["nudge"] for n in await h.nudges()} >= {"breach"}
        h.clock.advance(hours=3)
        await h.tick()
        types = [t for t, _ in await h.events(case_id, "sla_paged")]
        assert types == ["sla_paged"]


async def test_p1_in_hours_pages_nobody(db_url: str) -> None:
    async with SlaHarness(
        db_url,
        accounts=accounts(timezone="Europe/Berlin", hours={"mon-fri": "09:00-18:00"}),
        staff={"on_call": [{"person": "telegram:1001"}]},
    ) as h:
        case_id = await h.open_case()  # Monday 10:00 Berlin
        await h.say("evan", f"/priority #{case_id} P1", chat=TRIAGE)
        await h.nudges()
        await h.tick()
        assert [n for n in await h.nudges() if n["nudge"] == "page"] == []


async def test_business_hours_move_the_deadline_over_the_weekend(db_url: str) -> None:
    async with SlaHarness(
        db_url, accounts=accounts(timezone="UTC", hours={"mon-fri": "09:00-12:00,13:00-18:00"})
    ) as h:
        h.clock.set(datetime(2026, 3, 6, 17, 30, tzinfo=UTC))  # Friday 17:30
        case_id = await h.open_case()
        row = await h.row(case_id)
        # 1h of business time from 17:30 Friday: 30 min Friday, 30 min Monday morning
        assert row.first_response_due == datetime(2026, 3, 9, 9, 30, 30, tzinfo=UTC)
        h.clock.set(datetime(2026, 3, 8, 23, 0, tzinfo=UTC))
        await h.tick()
        assert [n for n in await h.nudges() if n["purpose"] == "nudge"] == []
        h.clock.set(datetime(2026, 3, 9, 9, 31, tzinfo=UTC))
        await h.tick()
        kinds = [n["nudge"] for n in await h.nudges()]
        assert "breach" in kinds and "warning" not in kinds  # too late to warn


async def test_next_response_clock_each_customer_message(db_url: str) -> None:
    async with SlaHarness(db_url, accounts=accounts()) as h:
        case_id = await h.open_case()
        await h.say("evan", "try a reboot", reply_to="1")
        h.clock.advance(minutes=30)
        await h.say("alice", "did not help", reply_to="1")
        row = await h.row(case_id)
        assert row.next_response_due == h.clock.now() + timedelta(hours=2)
        h.clock.advance(hours=2, minutes=1)
        await h.tick()
        sent = await h.nudges()
        assert any(n["nudge"] == "breach" and "reply to the customer" in n["text"] for n in sent)
        await h.say("evan", "escalating to storage", reply_to="1")
        h.clock.advance(minutes=10)
        await h.say("alice", "thanks, any news?", reply_to="1")
        h.clock.advance(hours=1, minutes=40)
        await h.tick()
        kinds = [n["nudge"] for n in await h.nudges()]
        assert kinds == ["warning"]  # a new cycle warns again


async def test_the_running_app_pages_on_call_at_once_not_at_the_next_tick(
    sqlite_url: str,
) -> None:
    """The sweeper ticks hourly here; a P1 set outside business hours still pages the
    on-call engineer within moments, because the app sweeps as soon as a timer is due."""
    import asyncio

    from sqlalchemy import select

    from bot.app import App
    from bot.config import parse_config
    from storage.models import OutboxRow

    async with SlaHarness(
        sqlite_url,
        accounts=accounts(timezone="Europe/Berlin", hours={"mon-fri": "09:00-18:00"}),
        staff={"on_call": [{"person": "telegram:1002"}]},
    ) as h:
        h.clock.set(datetime(2026, 3, 7, 2, 0, tzinfo=UTC))  # Saturday night in Berlin
        raw = dict(h.raw)
        raw["storage"] = {"url": sqlite_url}
        raw["http"] = {"enabled": False}
        raw["dispatcher"] = {"enabled": False}
        raw["scheduler"] = {"tick": "1h"}
        app = App(parse_config(raw, env={}), clock=h.clock)
        await app.start(web=False)
        h.push = app.sink  # type: ignore[method-assign]
        try:
            case_id = await h.open_case()
            await h.say("evan", f"/priority #{case_id} P1", chat=TRIAGE, advance=None)
            pages: list[OutboxRow] = []
            for _ in range(100):
                async with app.sessions() as session:
                    pages = list(
                        (
                            await session.execute(
                                select(OutboxRow).where(
                                    OutboxRow.case_id == case_id, OutboxRow.purpose == "nudge"
                                )
                            )
                        ).scalars()
                    )
                if pages:
                    break
                await asyncio.sleep(0.02)
            assert [p.payload.get("person") for p in pages] == ["telegram:1002"]
        finally:
            await app.stop()


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=UTC)  # the harness's Monday


LADDER = {
    "warn_to": ["triage"],
    "breach_to": ["leads"],
    "levels": [
        {"after": "30m", "to": ["owner"]},
        {"after": "2h", "to": ["telegram:1002", "triage"]},
    ],
}


async def test_a_configured_ladder_names_who_hears_each_step_and_when(db_url: str) -> None:
    async with SlaHarness(
        db_url, accounts=accounts(owner="telegram:1001"), escalation=LADDER
    ) as h:
        case_id = await h.open_case()  # P3 premium: first response 1 h, due 10:00:30
        h.clock.set(at(9, 50))
        await h.tick()
        sent = await h.nudges()
        assert [(n["kind"], n["chat"], n["nudge"]) for n in sent] == [("send", TRIAGE, "warning")]
        h.clock.set(at(10, 1))
        await h.tick()
        sent = await h.nudges()
        assert [(n["kind"], n["person"], n["nudge"]) for n in sent] == [
            ("dm", "telegram:2001", "breach")  # the leads only: no post in triage
        ]
        h.clock.set(at(10, 30))  # the first level is due at 10:30:30
        await h.tick()
        assert await h.nudges() == []
        h.clock.set(at(10, 31))
        await h.tick()
        sent = await h.nudges()
        assert [(n["person"], n["nudge"]) for n in sent] == [("telegram:1001", "escalation")]
        h.clock.set(at(12, 1))
        await h.tick()
        sent = await h.nudges()
        assert {(n["kind"], n["person"] or n["chat"]) for n in sent} == {
            ("dm", "telegram:1002"),
            ("send", TRIAGE),
        }
        h.clock.advance(days=1)
        await h.tick()
        assert await h.nudges() == []
        levels = [(d["level"], d["to"]) for _, d in await h.events(case_id, "sla_escalated")]
        assert levels == [(1, ["telegram:1001"]), (2, ["telegram:1002"])]


async def test_a_sweeper_that_was_down_climbs_every_passed_level_once(db_url: str) -> None:
    async with SlaHarness(
        db_url, accounts=accounts(owner="telegram:1001"), escalation=LADDER
    ) as h:
        case_id = await h.open_case()
        h.clock.advance(hours=4)  # breach at 10:00:30, both levels passed by 13:00:30
        await h.tick()
        await h.tick()
        kinds = [n["nudge"] for n in await h.nudges() if n["purpose"] == "nudge"]
        assert kinds.count("breach") == 1 and kinds.count("escalation") == 3  # 1 + (1 + triage)
        types = [t for t, _ in await h.events(case_id, "sla_")]
        assert types == ["sla_breached", "sla_escalated", "sla_escalated"]
