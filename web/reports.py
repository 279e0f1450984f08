"""Reports: CSV export of any queue and the window of a weekly account review.

Imports `storage`; the figures come from `storage.stats`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from storage import export
from storage.review import week_start

CSV_COLUMNS = (
    "ref",
    "account",
    "chat",
    "title",
    "status",
    "priority",
    "assignee",
    "created_at",
    "first_response_at",
    "resolved_at",
    "updated_at",
    "next_due_at",
    "category",
    "tags",
    "fields",
)


def review_window(week: str | None, now: datetime) -> tuple[datetime | None, datetime]:
    """The week a review covers: the Monday-to-Monday week holding `week`
    (YYYY-MM-DD), or the last full week before `now`. (None, now) on a bad date."""
    if week:
        try:
            day = date.fromisoformat(week)
        except ValueError:
            return None, now
        # the week's Monday and the Monday after must both exist (9999-12-31 has none)
        if not date.min + timedelta(days=7) <= day <= date.max - timedelta(days=7):
            return None, now
        start = week_start(datetime(day.year, day.month, day.day, tzinfo=UTC))
    else:
        start = week_start(now) - timedelta(days=7)
    return start, start + timedelta(days=7)


def cases_csv(cases: Iterable[dict[str, Any]]) -> str:
    return export.cases_csv(cases, CSV_COLUMNS)
