"""Read-side queries for the daily digest, and the pieces the account review
(`storage.review`) shares with it.

Imports SQLAlchemy and `cases`. Both return plain dicts (times as ISO 8601 UTC
strings, durations in seconds) so the scheduler's texts and the web dashboard
can share them. Aggregates that SQL does portably (counts, groupings) run in
SQL; percentiles and JSON fields are computed here, over one account-week or
over the active cases only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.model import PRIORITIES, Status
from cases.sla import parse_at
from storage.incidents import incident_summaries
from storage.issues import waiting_on_issues
from storage.models import Account, CaseRow, Person
from storage.queries import iso

ACTIVE = [s.value for s in Status if s.is_active]
STAFF_TURN = [Status.NEW.value, Status.OPEN.value]
PRIORITY_ORDER = case({p: i for i, p in enumerate(PRIORITIES)}, value=CaseRow.priority, else_=9)


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (`share` in 0..1): a value that really occurred."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def _breached(now: datetime) -> Any:
    return or_(
        CaseRow.first_response_due <= now,
        CaseRow.next_response_due <= now,
        CaseRow.resolution_due <= now,
    )


def _at_risk(now: datetime, horizon: datetime) -> Any:
    due_soon = or_(
        and_(CaseRow.first_response_due > now, CaseRow.first_response_due <= horizon),
        and_(CaseRow.next_response_due > now, CaseRow.next_response_due <= horizon),
        and_(CaseRow.resolution_due > now, CaseRow.resolution_due <= horizon),
    )
    return and_(due_soon, ~func.coalesce(_breached(now), False))


async def digest(
    session: AsyncSession,
    now: datetime,
    horizon: timedelta = timedelta(hours=4),
    longest: int = 5,
) -> dict[str, Any]:
    """The leads' daily picture: open cases by priority, at risk (an SLA due within
    `horizon`), breached (an SLA due passed), unassigned, the customers waiting
    longest for staff, and each engineer's queue."""
    active = CaseRow.status.in_(ACTIVE)
    by_priority = dict.fromkeys(PRIORITIES, 0)
    for priority, count in await session.execute(
        select(CaseRow.priority, func.count()).where(active).group_by(CaseRow.priority)
    ):
        by_priority[priority] = int(count)
    breached_flag = case((_breached(now), 1), else_=0)
    totals = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(breached_flag), 0),
                func.coalesce(func.sum(case((_at_risk(now, now + horizon), 1), else_=0)), 0),
                func.coalesce(func.sum(case((CaseRow.assignee.is_(None), 1), else_=0)), 0),
            ).where(active)
        )
    ).one()
    # one queue per person: a case assigned under another of their keys (before the
    # config named them one person) is theirs too
    person = func.coalesce(Person.person, CaseRow.assignee)
    queues = [
        {"assignee": assignee, "open": int(count), "breached": int(breached)}
        for assignee, count, breached in await session.execute(
            select(person, func.count(), func.coalesce(func.sum(breached_flag), 0))
            .select_from(CaseRow)
            .outerjoin(Person, Person.key == CaseRow.assignee)
            .where(active, CaseRow.assignee.is_not(None))
            .group_by(person)
            .order_by(func.count().desc(), person)
        )
    ]
    # the customer's wait starts at their unanswered message (kept in the SLA JSON)
    waiting: list[dict[str, Any]] = []
    for row, account in await session.execute(
        select(CaseRow, Account.name)
        .outerjoin(Account, Account.id == CaseRow.account_id)
        .where(CaseRow.status.in_(STAFF_TURN))
    ):
        since = parse_at((row.sla or {}).get("customer_waiting_since")) or row.last_customer_at
        if since is None:
            continue
        waiting.append(
            {
                "id": row.id,
                "ref": f"#{row.id}",
                "account": account,
                "title": row.title,
                "priority": row.priority,
                "assignee": row.assignee,
                "waiting_since": iso(since),
                "waiting_seconds": max(0.0, (now - since).total_seconds()),
            }
        )
    waiting.sort(key=lambda w: -w["waiting_seconds"])
    return {
        "at": iso(now),
        "open": int(totals[0]),
        "by_priority": by_priority,
        "breached": int(totals[1]),
        "at_risk": int(totals[2]),
        "unassigned": int(totals[3]),
        "longest_waiting": waiting[:longest],
        "queues": queues,
        "on_issues": await waiting_on_issues(session),
        # incidents open at any time in the last day
        "incidents": await incident_summaries(session, now - timedelta(days=1), now),
    }
