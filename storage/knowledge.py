"""The unit of work's queries for routing, saved answers and similar cases.

Imports SQLAlchemy, `cases` and `storage`. Mixed into `storage.uow.SqlUnitOfWork`;
like the rest of it, nothing here commits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from cases.model import MessageRole, Status
from cases.records import SimilarCase
from cases.snippets import SnippetRecord
from storage import similar
from storage.fastpath import raw_sqlite
from storage.models import CaseRow, MessageRow, RouteTurn, SnippetRow

cases_t = cast(Table, CaseRow.__table__)
messages_t = cast(Table, MessageRow.__table__)
turns_t = cast(Table, RouteTurn.__table__)
snippets_t = cast(Table, SnippetRow.__table__)

ACTIVE = [s.value for s in Status if s.is_active]


def snippet_record(row: SnippetRow) -> SnippetRecord:
    return SnippetRecord(
        name=row.name,
        locale=row.locale,
        text=row.text,
        uses=row.uses,
        id=row.id,
        created_by=row.created_by,
        updated_at=row.updated_at,
    )


class KnowledgeQueries:
    session: AsyncSession

    async def open_load(self, people: Sequence[str]) -> dict[str, int]:
        if not people:
            return {}
        rows = await self.session.execute(
            select(cases_t.c.assignee, func.count())
            .where(cases_t.c.assignee.in_(list(people)), cases_t.c.status.in_(ACTIVE))
            .group_by(cases_t.c.assignee)
        )
        return {str(person): int(count) for person, count in rows.all()}

    async def route_turn(self, route: str) -> str | None:
        query = select(turns_t.c.person).where(turns_t.c.route == route)
        if self.session.get_bind().dialect.name == "postgresql":
            # two cases routed at once (two chats, two processes) both read the same
            # last turn and went to the same person, and the second's write then hit
            # the key and lost its case. The row is made to exist, then locked: the
            # second waits here until the first commits, and reads its turn.
            await self.session.execute(
                pg_insert(turns_t)
                .values(route=route, person="", at=func.now())
                .on_conflict_do_nothing(index_elements=["route"])
            )
            query = query.with_for_update()
        found = (await self.session.execute(query)).scalar_one_or_none()
        return found or None

    async def set_route_turn(self, route: str, person: str, at: datetime) -> None:
        changed = await self.session.execute(
            update(turns_t).where(turns_t.c.route == route).values(person=person, at=at)
        )
        if not changed.rowcount:  # type: ignore[attr-defined]
            await self.session.execute(insert(turns_t).values(route=route, person=person, at=at))

    async def snippet(self, name: str) -> Sequence[SnippetRecord]:
        rows = await self.session.execute(
            select(SnippetRow).where(SnippetRow.name == name).order_by(SnippetRow.locale)
        )
        return [snippet_record(r) for r in rows.scalars()]

    async def snippet_names(self) -> Sequence[str]:
        rows = await self.session.execute(
            select(snippets_t.c.name).distinct().order_by(snippets_t.c.name)
        )
        return [str(n) for n in rows.scalars()]

    async def save_snippet(self, snippet: SnippetRecord, at: datetime) -> bool:
        changed = await self.session.execute(
            update(snippets_t)
            .where(snippets_t.c.name == snippet.name, snippets_t.c.locale == snippet.locale)
            .values(text=snippet.text, updated_at=at)
        )
        if changed.rowcount:  # type: ignore[attr-defined]
            return False
        await self.session.execute(
            insert(snippets_t).values(
                name=snippet.name,
                locale=snippet.locale,
                text=snippet.text,
                created_by=snippet.created_by,
                created_at=at,
                updated_at=at,
                uses=0,
            )
        )
        return True

    async def used_snippet(self, snippet_id: int) -> None:
        await self.session.execute(
            update(snippets_t)
            .where(snippets_t.c.id == snippet_id)
            .values(uses=snippets_t.c.uses + 1)
        )

    async def remember_resolved(self, case_id: int, at: datetime) -> None:
        title = (
            await self.session.execute(select(cases_t.c.title).where(cases_t.c.id == case_id))
        ).scalar_one_or_none()
        rows = (
            await self.session.execute(
                select(messages_t.c.role, messages_t.c.text)
                .where(messages_t.c.case_id == case_id, messages_t.c.internal.is_(False))
                .order_by(messages_t.c.at, messages_t.c.id)
            )
        ).all()
        asked = [text for role, text in rows if role == MessageRole.CUSTOMER.value and text]
        answers = [text for role, text in rows if role == MessageRole.STAFF.value and text]
        # the last answer before it was resolved is most often the one that resolved it
        resolution = answers[-1] if answers else ""
        await similar.index_case(self.session, case_id, [title or "", *asked], resolution, at)

    async def similar_cases(
        self, words: Sequence[str], exclude: int | None, limit: int
    ) -> Sequence[SimilarCase]:
        return await similar.find_similar(
            self.session, words, exclude, limit, raw=await self._inline()
        )

    async def _inline(self) -> sqlite3.Connection | None:
        """The session's inline SQLite connection or None (SqlUnitOfWork keeps it)."""
        return await raw_sqlite(self.session)


# ------------------------------------------------ the dashboard's and the API's reads


async def list_snippets(session: AsyncSession) -> list[dict[str, object]]:
    """Every saved answer, by name, each with its variants and the uses of all."""
    rows = (
        await session.execute(select(SnippetRow).order_by(SnippetRow.name, SnippetRow.locale))
    ).scalars()
    found: dict[str, dict[str, object]] = {}
    for r in rows:
        item = found.setdefault(r.name, {"name": r.name, "uses": 0, "variants": {}})
        item["uses"] = cast(int, item["uses"]) + r.uses
        cast(dict[str, str], item["variants"])[r.locale] = r.text
    return list(found.values())


async def put_snippet(
    session: AsyncSession, name: str, locale: str, text: str, by: str, at: datetime
) -> bool:
    """Keep a variant from the dashboard; an empty text removes it. True if new."""
    queries = KnowledgeQueries()
    queries.session = session
    if not text.strip():
        await session.execute(
            delete(snippets_t).where(snippets_t.c.name == name, snippets_t.c.locale == locale)
        )
        return False
    return await queries.save_snippet(
        SnippetRecord(name=name, locale=locale, text=text, created_by=by), at
    )


async def similar_to_case(session: AsyncSession, case: dict[str, object]) -> list[SimilarCase]:
    """The resolved cases most like a stored case (as `storage.queries.get_case` gives it)."""
    messages = cast(list[dict[str, object]], case.get("messages") or [])
    words = [str(case.get("title") or "")]
    words += [str(m.get("text") or "") for m in messages if m.get("role") == "customer"]
    return await similar.find_similar(session, words, exclude=cast(int, case["id"]), limit=3)
