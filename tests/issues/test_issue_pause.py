"""Waiting on an engineering issue is a pause like on_hold, through the sweeper: the
old due time passes without a resolution breach or an escalation, and the close
resumes the clock with the paused time added."""

from __future__ import annotations

from datetime import timedelta

from cases.issues import CLOSED, IssueUpdate
from storage.uow import SqlUnitOfWork
from tests.harness import TRIAGE
from tests.sla.kit import SlaHarness, accounts

ISSUE = "https://github.com/acme/api/issues/42"


async def test_waiting_on_an_issue_is_not_breached_and_resumes_on_close(db_url: str) -> None:
    async with SlaHarness(db_url, accounts=accounts()) as h:
        case_id = await h.open_case()  # premium P3: resolution 2d, around the clock
        await h.say("evan", f"/assign #{case_id} me", chat=TRIAGE)
        due = (await h.row(case_id)).resolution_due
        assert due is not None
        h.clock.advance(hours=1)
        await h.say("evan", f"/link {ISSUE} #{case_id} wait", chat=TRIAGE)
        assert (await h.row(case_id)).status == "waiting_on_issue"
        assert (await h.row(case_id)).resolution_due is None
        h.clock.set(due + timedelta(hours=1))  # the old due time has passed
        await h.tick()
        breached = [d.get("clock") for _, d in await h.events(case_id, "sla_breached")]
        assert "resolution" not in breached
        assert not [n for n in await h.nudges() if n.get("clock") == "resolution"]
        async with h.sessions() as session, session.begin():
            await h.engine.issue_update(
                SqlUnitOfWork(session),
                IssueUpdate("github", "acme/api#42", CLOSED, h.clock.now(), title="Disk"),
            )
        row = await h.row(case_id)
        assert row.status == "open"
        assert row.resolution_due is not None
        # the whole wait, from the /link (each line the harness says moves its clock on a
        # little) to the close, counts no more against the target
        paused = row.resolution_due - due
        assert timedelta(days=2) - timedelta(minutes=5) < paused <= timedelta(days=2)
        pauses = [
            (t, d.get("status"))
            for t, d in await h.events(case_id, "sla_")
            if t in ("sla_paused", "sla_resumed")
        ]
        assert pauses == [("sla_paused", "waiting_on_issue"), ("sla_resumed", "open")]
        h.clock.set(row.resolution_due + timedelta(minutes=1))
        await h.tick()
        breached = [d.get("clock") for _, d in await h.events(case_id, "sla_breached")]
        assert breached.count("resolution") == 1
