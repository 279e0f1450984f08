"""The service review of one account over a window: the one calculation behind the
weekly review DM, the account page's charts, the printable review and the API.

Imports SQLAlchemy and `cases`. Definitions, so every surface tells the same story:
- opened: cases created in the window (merged-away cases left out); resolved: cases
  whose resolution fell in it; open: the account's active cases now.
- first response: the cases answered in the window, timed from the customer's first
  message (the clock's start) to the first staff reply.
- SLA compliance: met / (met + breached) over the SLA clocks that stopped or breached
  in the window, each clock judged once (audit events `sla_met`, `sla_breached`).
- CSAT: the ratings given in the window.
- top open: the account's active cases by priority, then age.
- people: each staff member's replies to the customer (internal notes left out), the
  cases they replied on and the first responses that were theirs, in the window; a
  person known under several keys counts once, whichever platform they wrote from.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.sla import parse_at
from storage.case_labels import case_labels
from storage.incidents import incident_summaries
from storage.issues import account_issues
from storage.models import Account, CaseEvent, CaseRow, MessageRow, Person
from storage.queries import iso
from storage.reports import ACTIVE, PRIORITY_ORDER, percentile

RESPONSE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("< 5m", timedelta(minutes=5)),
    ("< 15m", timedelta(minutes=15)),
    ("< 1h", timedelta(hours=1)),
    ("< 4h", timedelta(hours=4)),
    ("< 1d", timedelta(days=1)),
    ("1d+", None),
)


def week_start(at: datetime) -> datetime:
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


async def account_review(
    session: AsyncSession, account: Account, since: datetime, until: datetime, top: int = 10
) -> dict[str, Any]:
    """Figures for `account` over [since, until); times in seconds, ISO 8601 UTC."""
    mine = CaseRow.account_id == account.id
    created = list(
        await session.execute(
            select(CaseRow.created_at).where(
                mine,
                CaseRow.created_at >= since,
                CaseRow.created_at < until,
                CaseRow.merged_into.is_(None),
            )
        )
    )
    resolved = list(
        await session.execute(
            select(CaseRow.resolved_at).where(
                mine, CaseRow.resolved_at >= since, CaseRow.resolved_at < until
            )
        )
    )
    still_open = (
        await session.execute(select(func.count()).where(mine, CaseRow.status.in_(ACTIVE)))
    ).scalar_one()
    return {
        "account": account.name,
        "since": iso(since),
        "until": iso(until),
        "opened": len(created),
        "resolved": len(resolved),
        "open": int(still_open),
        "weeks": _weeks(since, until, [at for (at,) in created], [at for (at,) in resolved]),
        "first_response": await _first_response(session, account, since, until),
        "sla": await _sla(session, account, since, until),
        "csat": await _csat(session, account, since, until),
        "top_open": await _top_open(session, account, top),
        "people": await _people(session, account, since, until),
        "issues": await account_issues(session, account.id),
        "labels": await case_labels(session, account, since, until),
        # outages the desk announced to them, with how many of their cases it brought
        "incidents": await incident_summaries(session, since, until, account.id),
    }


def _weeks(
    since: datetime, until: datetime, opened: list[datetime], resolved: list[datetime]
) -> list[dict[str, Any]]:
    weeks: dict[datetime, dict[str, int]] = {}
    cursor = week_start(since)
    while cursor < until:
        weeks[cursor] = {"opened": 0, "resolved": 0}
        cursor += timedelta(days=7)
    for field, times in (("opened", opened), ("resolved", resolved)):
        for at in times:
            weeks.setdefault(week_start(at), {"opened": 0, "resolved": 0})[field] += 1
    return [{"week": iso(w), **n} for w, n in sorted(weeks.items())]


async def _first_response(
    session: AsyncSession, account: Account, since: datetime, until: datetime
) -> dict[str, Any]:
    waits: list[float] = []
    for created, first, data in await session.execute(
        select(CaseRow.created_at, CaseRow.first_response_at, CaseRow.sla).where(
            CaseRow.account_id == account.id,
            CaseRow.first_response_at >= since,
            CaseRow.first_response_at < until,
        )
    ):
        start = parse_at((data or {}).get("clock_start")) or created
        waits.append(max(0.0, (first - start).total_seconds()))
    buckets: Counter[str] = Counter()
    for wait in waits:
        for label, bound in RESPONSE_BUCKETS:
            if bound is None or wait < bound.total_seconds():
                buckets[label] += 1
                break
    return {
        "count": len(waits),
        "median_seconds": percentile(waits, 0.5),
        "p90_seconds": percentile(waits, 0.9),
        "buckets": [{"label": label, "count": buckets[label]} for label, _ in RESPONSE_BUCKETS],
    }


def _events_in(account: Account, since: datetime, until: datetime) -> Any:
    return and_(
        CaseEvent.case_id == CaseRow.id,
        CaseRow.account_id == account.id,
        CaseEvent.at >= since,
        CaseEvent.at < until,
    )


async def _sla(
    session: AsyncSession, account: Account, since: datetime, until: datetime
) -> dict[str, Any]:
    counts = {"sla_met": 0, "sla_breached": 0}
    for kind, count in await session.execute(
        select(CaseEvent.type, func.count())
        .select_from(CaseEvent)
        .join(CaseRow, _events_in(account, since, until))
        .where(CaseEvent.type.in_(list(counts)))
        .group_by(CaseEvent.type)
    ):
        counts[kind] = int(count)
    met, breached = counts["sla_met"], counts["sla_breached"]
    judged = met + breached
    return {
        "judged": judged,
        "met": met,
        "breached": breached,
        "compliance_percent": round(100.0 * met / judged, 1) if judged else None,
    }


async def _csat(
    session: AsyncSession, account: Account, since: datetime, until: datetime
) -> dict[str, Any]:
    # one rating per case and resolution cycle: a later press replaces the earlier one
    # (ratings from before cycles were recorded count once per case)
    latest: dict[tuple[int, object], int] = {}
    for case_id, data in await session.execute(
        select(CaseEvent.case_id, CaseEvent.data)
        .select_from(CaseEvent)
        .join(CaseRow, _events_in(account, since, until))
        .where(CaseEvent.type == "csat")
        .order_by(CaseEvent.id)
    ):
        if isinstance(data, dict) and isinstance(data.get("score"), int | float):
            latest[(case_id, data.get("cycle"))] = int(data["score"])
    scores = list(latest.values())
    return {
        "responses": len(scores),
        "average": round(sum(scores) / len(scores), 2) if scores else None,
        "distribution": [{"score": n, "count": scores.count(n)} for n in range(1, 6)],
    }


async def _people(
    session: AsyncSession, account: Account, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(
            func.coalesce(Person.person, MessageRow.sender),
            func.coalesce(Person.person_name, func.nullif(Person.name, ""), MessageRow.sender),
            MessageRow.case_id,
            MessageRow.at,
            CaseRow.first_response_at,
        )
        .select_from(MessageRow)
        .join(CaseRow, CaseRow.id == MessageRow.case_id)
        .outerjoin(Person, Person.key == MessageRow.sender)
        .where(
            CaseRow.account_id == account.id,
            MessageRow.role == "staff",
            MessageRow.internal.is_(False),
            or_(
                and_(MessageRow.at >= since, MessageRow.at < until),
                and_(CaseRow.first_response_at >= since, CaseRow.first_response_at < until),
            ),
        )
        .order_by(MessageRow.at, MessageRow.id)
    )
    people: dict[str, dict[str, Any]] = {}
    cases: dict[str, set[int]] = {}
    answered: set[int] = set()
    for key, name, case_id, at, first in rows:
        figures = people.setdefault(
            key, {"person": key, "name": name, "replies": 0, "cases": 0, "first_responses": 0}
        )
        if since <= at < until:
            figures["replies"] += 1
            cases.setdefault(key, set()).add(case_id)
        # the case's first staff reply is its first response: the earliest row, as ordered
        if first is not None and since <= first < until and case_id not in answered:
            answered.add(case_id)
            figures["first_responses"] += 1
    for key, figures in people.items():
        figures["cases"] = len(cases.get(key, ()))
    return sorted(
        (f for f in people.values() if f["replies"] or f["first_responses"]),
        key=lambda f: (-f["replies"], f["name"]),
    )


async def _top_open(session: AsyncSession, account: Account, top: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(CaseRow)
        .where(CaseRow.account_id == account.id, CaseRow.status.in_(ACTIVE))
        .order_by(PRIORITY_ORDER, CaseRow.created_at)
        .limit(top)
    )
    return [
        {
            "id": row.id,
            "ref": f"#{row.id}",
            "title": row.title,
            "priority": row.priority,
            "status": row.status,
            "assignee": row.assignee,
            "created_at": iso(row.created_at),
        }
        for row in rows.scalars()
    ]
