"""The migrations build exactly the schema the models describe, on both databases:
a model changed without a migration (or the reverse) fails here, not in production."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from storage.models import Base

# kept by migration 0005 outside the models: SQLite's search index and its mark
SEARCH_INDEX = {"messages_fts", "search_index", "ix_messages_text_trgm"}


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if name in SEARCH_INDEX or (name or "").startswith("messages_fts_"):
        return False
    return not (type_ == "table" and name == "alembic_version")


async def test_migrations_match_the_models(db_url: str) -> None:
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:

            def diff(sync_conn: Any) -> list[Any]:
                context = MigrationContext.configure(
                    sync_conn,
                    opts={"include_object": _ours, "compare_type": False},
                )
                return list(compare_metadata(context, Base.metadata))

            changes = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    assert changes == []
