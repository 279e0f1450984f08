"""Read-side queries for the daily digest and the weekly account review.

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
from storage.models import Account, CaseEvent, CaseRow
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
    queues = [
        {"assignee": assignee, "open": int(count), "breached": int(breached)}
        for assignee, count, breached in await session.execute(
            select(CaseRow.assignee, func.count(), func.coalesce(func.sum(breached_flag), 0))
            .where(active, CaseRow.assignee.is_not(None))
            .group_by(CaseRow.assignee)
            .order_by(func.count().desc(), CaseRow.assignee)
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
    }


async def account_review(
    session: AsyncSession, account_name: str, since: datetime, until: datetime, top: int = 5
) -> dict[str, Any]:
    """One account's week (`since` <= t < `until`): cases opened and resolved, first
    response median and 90th percentile (seconds, from the customer's first message),
    SLA compliance (met / (met + breached) over the clocks that stopped or breached in
    the window), average CSAT, and the top open items by priority then age."""
    account_id = (
        await session.execute(select(Account.id).where(Account.name == account_name))
    ).scalar_one_or_none()
    result: dict[str, Any] = {
        "account": account_name,
        "since": iso(since),
        "until": iso(until),
        "opened": 0,
        "resolved": 0,
        "open": 0,
        "first_response_median": None,
        "first_response_p90": None,
        "sla_met": 0,
        "sla_breached": 0,
        "sla_compliance": None,
        "csat_average": None,
        "csat_count": 0,
        "top_open": [],
    }
    if account_id is None:
        return result
    mine = CaseRow.account_id == account_id
    result["opened"] = (
        await session.execute(
            select(func.count()).where(
                mine, CaseRow.created_at >= since, CaseRow.created_at < until
            )
        )
    ).scalar_one()
    result["resolved"] = (
        await session.execute(
            select(func.count()).where(
                mine, CaseRow.resolved_at >= since, CaseRow.resolved_at < until
            )
        )
    ).scalar_one()
    result["open"] = (
        await session.execute(select(func.count()).where(mine, CaseRow.status.in_(ACTIVE)))
    ).scalar_one()
    responses: list[float] = []
    for created, first, data in await session.execute(
        select(CaseRow.created_at, CaseRow.first_response_at, CaseRow.sla).where(
            mine,
            CaseRow.first_response_at >= since,
            CaseRow.first_response_at < until,
        )
    ):
        start = parse_at((data or {}).get("clock_start")) or created
        responses.append(max(0.0, (first - start).total_seconds()))
    result["first_response_median"] = percentile(responses, 0.5)
    result["first_response_p90"] = percentile(responses, 0.9)
    in_window = and_(
        CaseEvent.case_id == CaseRow.id, mine, CaseEvent.at >= since, CaseEvent.at < until
    )
    for kind, count in await session.execute(
        select(CaseEvent.type, func.count())
        .select_from(CaseEvent)
        .join(CaseRow, in_window)
        .where(CaseEvent.type.in_(["sla_met", "sla_breached"]))
        .group_by(CaseEvent.type)
    ):
        result["sla_met" if kind == "sla_met" else "sla_breached"] = int(count)
    judged = result["sla_met"] + result["sla_breached"]
    if judged:
        result["sla_compliance"] = round(100.0 * result["sla_met"] / judged, 1)
    scores = [
        float(data.get("score", 0))
        for (data,) in await session.execute(
            select(CaseEvent.data)
            .select_from(CaseEvent)
            .join(CaseRow, in_window)
            .where(CaseEvent.type == "csat")
        )
        if isinstance(data, dict) and isinstance(data.get("score"), int | float)
    ]
    if scores:
        result["csat_average"] = round(sum(scores) / len(scores), 2)
        result["csat_count"] = len(scores)
    result["top_open"] = [
        {
            "id": row.id,
            "ref": f"#{row.id}",
            "title": row.title,
            "priority": row.priority,
            "status": row.status,
            "assignee": row.assignee,
            "created_at": iso(row.created_at),
        }
        for row in (
            await session.execute(
                select(CaseRow)
                .where(mine, CaseRow.status.in_(ACTIVE))
                .order_by(PRIORITY_ORDER, CaseRow.created_at)
                .limit(top)
            )
        ).scalars()
    ]
    return result
