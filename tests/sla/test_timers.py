"""Follow-ups, customer nudges, auto-resolve and close, walked over weeks with a frozen clock."""

from __future__ import annotations

from datetime import timedelta

from tests.harness import ACME, TRIAGE
from tests.sla.kit import SlaHarness, accounts


async def test_followup_nudges_owner_then_lead_once(db_url: str) -> None:
    async with SlaHarness(db_url, accounts=accounts()) as h:
        case_id = await h.open_case()
        await h.say("evan", "on it", reply_to="1")
        await h.say("evan", f"/followup #{case_id} 2h @erin call them back", chat=TRIAGE)
        await h.nudges()
        row = await h.row(case_id)
        followup_at = row.sla["followup_at"]
        h.clock.advance(hours=1)
        await h.tick()
        assert [n for n in await h.nudges() if n["purpose"] == "nudge"] == []
        h.clock.advance(hours=1, minutes=1)
        await h.tick()
        sent = await h.nudges()
        assert [(n["person"], n["nudge"]) for n in sent] == [("telegram:1002", "followup_due")]
        assert f"#{case_id}" in sent[0]["text"] and "call them back" in sent[0]["text"]
        await h.tick()
        assert await h.nudges() == []
        h.clock.advance(hours=1)
        await h.tick()
        sent = await h.nudges()
        assert [(n["person"], n["nudge"]) for n in sent] == [("telegram:2001", "followup_overdue")]
        h.clock.advance(days=3)
        await h.tick()
        assert [n for n in await h.nudges() if n["purpose"] == "nudge"] == []
        (f,) = await h.followup_rows()
        assert f.nudged_at is not None and f.escalated_at is not None
        assert followup_at is not None


async def test_done_followup_is_not_nudged(db_url: str) -> None:
    async with SlaHarness(db_url, accounts=accounts()) as h:
        case_id = await h.open_case()
        await h.say("evan", "on it", reply_to="1")
        await h.say("evan", f"/followup #{case_id} 1d send the report", chat=TRIAGE)
        await h.say("evan", f"/done #{case_id}", chat=TRIAGE)
        assert "followup_at" not in (await h.row(case_id)).sla
        await h.nudges()
        h.clock.advance(days=2)
        await h.tick()
        assert [n for n in await h.nudges() if n["nudge"] and "followup" in n["nudge"]] == []


async def test_followups_listed_in_status_for_staff_in_triage(db_url: str) -> None:
    async with SlaHarness(db_url, accounts=accounts()) as h:
        case_id = await h.open_case()
        await h.say("evan", f"/followup #{case_id} 2d check the patch", chat=TRIAGE)
        await h.nudges()
        await h.say("evan", f"/status #{case_id}", chat=TRIAGE)
        staff_view = "\n".join(await h.sent())
        assert "check the patch" in staff_view
        for who in ("evan", "alice"):  # in the customer's group, whoever asks
            await h.say(who, "/status", chat=ACME)
            assert "check the patch" not in "\n".join(await h.sent())


async def test_customer_nudges_then_auto_resolve_then_close(db_url: str) -> None:
    async with SlaHarness(
        db_url,
        accounts=accounts(),
        escalation={"customer_nudge_after": "1d", "customer_nudges": 2, "close_after": "3d"},
    ) as h:
        case_id = await h.open_case()
        await h.say("evan", "please send the logs", reply_to="1")
        assert (await h.case(case_id))["status"] == "waiting_on_customer"
        await h.nudges()
        texts = []
        for _ in range(2):
            h.clock.advance(days=1, minutes=1)
            await h.tick()
            sent = await h.nudges()
            texts += [n for n in sent if n["purpose"] == "customer_nudge"]
        assert len(texts) == 2 and all(n["chat"] == ACME for n in texts)
        assert f"#{case_id}" in texts[0]["text"]
        h.clock.advance(days=1, minutes=1)
        await h.tick()
        sent = await h.nudges()
        assert [n["purpose"] for n in sent if n["chat"] == ACME] == ["auto_resolve"]
        case = await h.case(case_id)
        assert case["status"] == "resolved"
        reasons = [
            e["data"].get("reason") for e in case["events"] if e["type"] == "status_changed"
        ]
        assert reasons[-1] == "no_customer_reply"
        h.clock.advance(days=2)
        await h.tick()
        assert (await h.case(case_id))["status"] == "resolved"
        h.clock.advance(days=1, minutes=1)
        await h.tick()
        case = await h.case(case_id)
        assert case["status"] == "closed"
        assert (await h.row(case_id)).next_due_at is None


async def test_customer_reply_resets_the_nudges(db_url: str) -> None:
    async with SlaHarness(
        db_url, accounts=accounts(), escalation={"customer_nudge_after": "1d"}
    ) as h:
        case_id = await h.open_case()
        await h.say("evan", "please send the logs", reply_to="1")
        h.clock.advance(days=1, minutes=1)
        await h.tick()
        await h.say("alice", "here they are", reply_to="1")
        assert "customer_nudges" not in (await h.row(case_id)).sla
        await h.say("evan", "thanks, checking", reply_to="1")
        await h.nudges()
        h.clock.advance(hours=23)
        await h.tick()
        assert [n for n in await h.nudges() if n["purpose"] == "customer_nudge"] == []


async def test_customer_nudge_in_zh_for_globex(db_url: str) -> None:
    async with SlaHarness(db_url, accounts=accounts()) as h:
        out = await h.say("carol", "数据库连不上", chat="-100200")
        case_id = out.case_id
        assert case_id is not None
        await h.say("evan", "请发一下日志", chat="-100200", reply_to=h.last_message_id)
        await h.nudges()
        h.clock.advance(days=2, minutes=1)
        await h.tick()
        sent = [n for n in await h.nudges() if n["purpose"] == "customer_nudge"]
        assert len(sent) == 1 and "您好" in sent[0]["text"]


async def test_paused_resolution_clock_does_not_breach(db_url: str) -> None:
    async with SlaHarness(
        db_url, accounts=accounts(), escalation={"customer_nudge_after": "30d"}
    ) as h:
        case_id = await h.open_case()
        await h.say("evan", "waiting for your logs", reply_to="1")
        await h.nudges()
        h.clock.advance(days=5)  # resolution target 2d, but the case waits on the customer
        await h.tick()
        assert [n for n in await h.nudges() if n["purpose"] == "nudge"] == []
        await h.say("alice", "logs attached", reply_to="1")
        row = await h.row(case_id)
        # ~1 min of running time before the pause: due about 2 days from now
        assert row.resolution_due is not None
        assert row.resolution_due - h.clock.now() > timedelta(days=1, hours=23)
        types = [t for t, _ in await h.events(case_id, "sla_")]
        assert "sla_paused" in types and "sla_resumed" in types


async def test_a_case_resolved_in_time_and_reopened_days_later_starts_a_new_resolution_cycle(
    db_url: str,
) -> None:
    """Counting on from the first message made the reopened case breach at once (and
    its one resolution clock both met and breached); the reopen now starts a new cycle
    with the full target, judged on its own."""
    async with SlaHarness(db_url, accounts=accounts()) as h:
        case_id = await h.open_case()
        await h.say("evan", "fixed, please check", reply_to="1")
        await h.say("evan", f"/resolve #{case_id}", chat=TRIAGE)
        h.clock.advance(days=3)
        await h.say("alice", "it broke again", reply_to="1")
        assert (await h.case(case_id))["status"] == "open"
        row = await h.row(case_id)
        assert row.resolution_due is not None and row.resolution_due > h.clock.now()
        await h.nudges()
        await h.tick()
        assert [n for n in await h.nudges() if n["purpose"] == "nudge"] == []
        resolution = [
            (t, d.get("clock")) for t, d in await h.events(case_id, "sla_") if t != "sla_paused"
        ]
        assert ("sla_breached", "resolution") not in resolution, resolution
        # the new cycle is judged on its own: resolved in time again, met twice
        await h.say("evan", "fixed for good", reply_to="1")
        await h.say("evan", f"/resolve #{case_id}", chat=TRIAGE)
        met = [d.get("clock") for t, d in await h.events(case_id, "sla_met")]
        assert met.count("resolution") == 2, met


async def test_a_followup_counts_calendar_days_and_waits_for_the_desk_to_open(
    db_url: str,
) -> None:
    """ "/followup 2d" on Monday is Wednesday, not 48 working hours later (a week on);
    one falling due on a weekend is due when the desk opens on Monday."""
    from datetime import UTC, datetime

    async with SlaHarness(
        db_url, accounts=accounts(timezone="UTC", hours={"mon-fri": "09:00-18:00"})
    ) as h:
        case_id = await h.open_case()  # Monday 2026-03-02 09:01
        await h.say("evan", f"/followup #{case_id} 2d call them", chat=TRIAGE, advance=None)
        h.clock.set(datetime(2026, 3, 6, 17, 0, tzinfo=UTC))  # Friday 17:00
        await h.say("evan", f"/followup #{case_id} 1d check the fix", chat=TRIAGE, advance=None)
        due = sorted((f.text, f.due_at) for f in await h.followup_rows())
        assert due == [
            ("call them", datetime(2026, 3, 4, 9, 1, tzinfo=UTC)),
            ("check the fix", datetime(2026, 3, 9, 9, 0, tzinfo=UTC)),
        ]


async def test_a_priority_set_from_triage_has_its_new_due_times_audited_once(
    db_url: str,
) -> None:
    async with SlaHarness(db_url, accounts=accounts()) as h:
        case_id = await h.open_case()
        await h.say("evan", f"/priority #{case_id} P1", chat=TRIAGE)
        await h.tick()  # the sweeper records a change of due times only if it made one
        [(_, due)] = await h.events(case_id, "sla_due")
        row = await h.row(case_id)
        assert row.first_response_due is not None
        assert due["first_response"] == row.first_response_due.isoformat()
