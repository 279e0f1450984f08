"""Issue links in storage: the issues cases link to, the links, and what the desk
reads of them (cards, pages, reviews, the poller). Imports SQLAlchemy and `cases`.

`IssueStore` is the part of the unit of work (`cases.ports.UnitOfWork`) that holds
issue links; `storage.uow.SqlUnitOfWork` takes it in. Like every repository it
never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from cases.issues import CLOSED, IssueLink, IssueRecord
from cases.model import Status
from storage.models import CaseRow, IssueLinkRow, IssueRow, TrackerDelivery

issues_t = cast(Table, IssueRow.__table__)
links_t = cast(Table, IssueLinkRow.__table__)
deliveries_t = cast(Table, TrackerDelivery.__table__)
_cases_t = cast(Table, CaseRow.__table__)
ACTIVE = [s.value for s in Status if s.is_active]


def insert_for(session: AsyncSession) -> Any:
    """The dialect's INSERT, which has ON CONFLICT DO NOTHING."""
    bind = session.get_bind()
    return postgresql.insert if bind.dialect.name == "postgresql" else sqlite.insert


def issue_record(row: Any) -> IssueRecord:
    return IssueRecord(
        tracker=row.tracker,
        key=row.key,
        url=row.url,
        title=row.title or "",
        state=row.state,
        state_at=row.state_at,
        checked_at=row.checked_at,
        id=row.id,
    )


def link_record(row: Any) -> IssueLink:
    return IssueLink(
        case_id=row.case_id,
        issue_id=row.issue_id,
        linked_at=row.linked_at,
        linked_by=row.linked_by,
        draft=row.draft,
        drafted_at=row.drafted_at,
        draft_sent_at=row.draft_sent_at,
        id=row.id,
    )


class IssueStore:
    session: AsyncSession

    async def issue(self, tracker: str, key: str, lock: bool = False) -> IssueRecord | None:
        query = select(issues_t).where(issues_t.c.tracker == tracker, issues_t.c.key == key)
        if lock and self.session.get_bind().dialect.name == "postgresql":
            # a webhook and a poll (or two processes) hearing one close at once: the
            # second waits here, then reads the state the first stored, and acts not
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return issue_record(row) if row else None

    async def save_issue(self, issue: IssueRecord) -> IssueRecord:
        values = {
            "tracker": issue.tracker,
            "key": issue.key,
            "url": issue.url,
            "title": issue.title,
            "state": issue.state,
            "state_at": issue.state_at,
            "checked_at": issue.checked_at,
        }
        if issue.id is None:
            # another transaction (a second process, another chat) may add the same issue
            # at this moment: theirs stands, and this one links to it
            result = await self.session.execute(
                insert_for(self.session)(issues_t)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["tracker", "key"])
                .returning(issues_t.c.id)
            )
            found = result.scalar_one_or_none()
            if found is None:
                stored = await self.issue(issue.tracker, issue.key)
                assert stored is not None
                found = stored.id
            issue.id = found
        else:
            await self.session.execute(
                update(issues_t).where(issues_t.c.id == issue.id).values(**values)
            )
        return issue

    async def link_issue(self, link: IssueLink) -> bool:
        found = await self.session.execute(
            select(links_t.c.id).where(
                links_t.c.case_id == link.case_id, links_t.c.issue_id == link.issue_id
            )
        )
        if found.first() is not None:
            return False
        result = await self.session.execute(
            insert(links_t)
            .values(
                case_id=link.case_id,
                issue_id=link.issue_id,
                linked_at=link.linked_at,
                linked_by=link.linked_by,
            )
            .returning(links_t.c.id)
        )
        link.id = result.scalar_one()
        return True

    async def unlink_issue(self, case_id: int, issue_id: int) -> bool:
        result = await self.session.execute(
            delete(links_t).where(links_t.c.case_id == case_id, links_t.c.issue_id == issue_id)
        )
        return bool(cast(Any, result).rowcount)

    async def case_issues(self, case_id: int) -> Sequence[IssueRecord]:
        rows = await self.session.execute(
            select(issues_t)
            .join(links_t, links_t.c.issue_id == issues_t.c.id)
            .where(links_t.c.case_id == case_id)
            .order_by(links_t.c.id)
        )
        return [issue_record(r) for r in rows.all()]

    async def issue_links(
        self, issue_id: int | None = None, case_id: int | None = None
    ) -> Sequence[IssueLink]:
        return await issue_links(self.session, issue_id, case_id)

    async def save_issue_link(self, link: IssueLink) -> None:
        await self.session.execute(
            update(links_t)
            .where(links_t.c.id == link.id)
            .values(draft=link.draft, drafted_at=link.drafted_at, draft_sent_at=link.draft_sent_at)
        )


# ------------------------------------------------------------ beyond the engine


async def issue_links(
    session: AsyncSession, issue_id: int | None = None, case_id: int | None = None
) -> list[IssueLink]:
    query = select(links_t).order_by(links_t.c.id)
    if issue_id is not None:
        query = query.where(links_t.c.issue_id == issue_id)
    if case_id is not None:
        query = query.where(links_t.c.case_id == case_id)
    return [link_record(r) for r in (await session.execute(query)).all()]


async def store_delivery(
    session: AsyncSession, tracker: str, delivery_id: str, at: datetime, payload: dict[str, Any]
) -> bool:
    """Keep a webhook delivery; False when that delivery id was kept before (a redelivery)."""
    found = await session.execute(
        select(deliveries_t.c.delivery_id).where(
            deliveries_t.c.tracker == tracker, deliveries_t.c.delivery_id == delivery_id
        )
    )
    if found.first() is not None:
        return False
    await session.execute(
        insert(deliveries_t).values(
            tracker=tracker, delivery_id=delivery_id, received_at=at, payload=payload
        )
    )
    return True


async def issues_to_poll(
    session: AsyncSession, tracker: str, checked_before: datetime, limit: int = 100
) -> list[IssueRecord]:
    """Open issues of a tracker linked from an active case, not checked since
    `checked_before` (never-checked ones first)."""
    linked_active = (
        select(links_t.c.issue_id)
        .join(_cases_t, _cases_t.c.id == links_t.c.case_id)
        .where(_cases_t.c.status.in_(ACTIVE))
    )
    rows = await session.execute(
        select(issues_t)
        .where(
            issues_t.c.tracker == tracker,
            issues_t.c.state != CLOSED,
            issues_t.c.id.in_(linked_active),
            (issues_t.c.checked_at.is_(None)) | (issues_t.c.checked_at < checked_before),
        )
        .order_by(issues_t.c.checked_at.is_not(None), issues_t.c.checked_at, issues_t.c.id)
        .limit(limit)
    )
    return [issue_record(r) for r in rows.all()]


async def mark_checked(session: AsyncSession, tracker: str, key: str, at: datetime) -> None:
    """The poll asked about an issue and heard nothing; only `checked_at` is written, so
    a state a webhook stored meanwhile stays."""
    await session.execute(
        update(issues_t)
        .where(issues_t.c.tracker == tracker, issues_t.c.key == key)
        .values(checked_at=at)
    )


async def issues_by_case(
    session: AsyncSession, case_ids: Sequence[int]
) -> dict[int, list[IssueRecord]]:
    """The linked issues of many cases at once (pages, reviews, the API)."""
    if not case_ids:
        return {}
    rows = await session.execute(
        select(links_t.c.case_id, issues_t)
        .join(issues_t, issues_t.c.id == links_t.c.issue_id)
        .where(links_t.c.case_id.in_(list(case_ids)))
        .order_by(links_t.c.id)
    )
    found: dict[int, list[IssueRecord]] = {}
    for row in rows.all():
        found.setdefault(row.case_id, []).append(issue_record(row))
    return found


def issue_dict(issue: IssueRecord) -> dict[str, Any]:
    return {
        "tracker": issue.tracker,
        "key": issue.key,
        "url": issue.url,
        "title": issue.title,
        "state": issue.state,
    }


async def account_issues(session: AsyncSession, account_id: int) -> list[dict[str, Any]]:
    """The issues an account's active cases link to, with those cases' refs (the
    weekly review's "linked engineering issues")."""
    rows = await session.execute(
        select(issues_t, links_t.c.case_id)
        .join(links_t, links_t.c.issue_id == issues_t.c.id)
        .join(_cases_t, _cases_t.c.id == links_t.c.case_id)
        .where(_cases_t.c.account_id == account_id, _cases_t.c.status.in_(ACTIVE))
        .order_by(issues_t.c.id, links_t.c.case_id)
    )
    found: dict[int, dict[str, Any]] = {}
    for row in rows.all():
        item = found.setdefault(row.id, {**issue_dict(issue_record(row)), "cases": []})
        item["cases"].append(f"#{row.case_id}")
    return list(found.values())


async def waiting_on_issues(session: AsyncSession) -> dict[str, int]:
    """For the digest: cases waiting on engineering, and the open issues they wait on."""
    waiting = _cases_t.c.status == Status.WAITING_ON_ISSUE.value
    cases = await session.execute(select(func.count()).select_from(_cases_t).where(waiting))
    issues = await session.execute(
        select(func.count(func.distinct(links_t.c.issue_id)))
        .select_from(links_t)
        .join(_cases_t, _cases_t.c.id == links_t.c.case_id)
        .join(issues_t, issues_t.c.id == links_t.c.issue_id)
        .where(waiting, issues_t.c.state != CLOSED)
    )
    return {"cases": int(cases.scalar_one()), "issues": int(issues.scalar_one())}
