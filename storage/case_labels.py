"""How many of an account's cases carried each category and tag, and had each field
filled, in a period, for the review. Imports SQLAlchemy and `storage.models`."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, CaseRow


async def case_labels(
    session: AsyncSession, account: Account, since: datetime, until: datetime
) -> dict[str, list[dict[str, Any]]]:
    """Categories, tags and filled fields of the cases opened in [since, until), most
    used first. A field counts cases, not values: an invoice number is on one case."""
    rows = await session.execute(
        select(CaseRow.category, CaseRow.tags, CaseRow.fields).where(
            CaseRow.account_id == account.id,
            CaseRow.created_at >= since,
            CaseRow.created_at < until,
            CaseRow.merged_into.is_(None),
        )
    )
    categories: Counter[str] = Counter()
    tags: Counter[str] = Counter()
    fields: Counter[str] = Counter()
    for category, case_tags, case_fields in rows:
        if category:
            categories[category] += 1
        tags.update(set(case_tags or ()))
        fields.update(k for k, v in (case_fields or {}).items() if v)

    def ranked(counts: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"name": name, "cases": n}
            for name, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        ]

    return {"categories": ranked(categories), "tags": ranked(tags), "fields": ranked(fields)}
