"""The SQLite search index's catch-up: messages join the FTS5 trigram index in
batches after they are stored, off the ingest path (see migration 0005).

Imports SQLAlchemy only. On PostgreSQL, or an SQLite without the index, there is
nothing to do: pg_trgm's index is kept by PostgreSQL itself.
"""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# SQLite databases whose migration found FTS5's trigram tokenizer, by engine
_HAS_INDEX: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


async def has_index(session: AsyncSession) -> bool:
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return False
    if bind not in _HAS_INDEX:
        found = await session.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages_fts'")
        )
        _HAS_INDEX[bind] = found.first() is not None
    return _HAS_INDEX[bind]


async def indexed_upto(session: AsyncSession) -> int:
    """The last message id in the index; newer ones are read row by row."""
    found = await session.execute(text("SELECT indexed_upto FROM search_index"))
    return int(found.scalar_one())


async def index_pending(session: AsyncSession, limit: int = 5000) -> int:
    """Add up to `limit` not yet indexed messages, oldest first, in the caller's
    transaction; returns how many. Their ids and the mark move together, so an edit
    trigger never touches a row the index does not hold."""
    if not await has_index(session):
        return 0
    upto = await indexed_upto(session)
    last = (
        await session.execute(
            text(
                "SELECT max(id) FROM (SELECT id FROM messages WHERE id > :upto"
                " ORDER BY id LIMIT :limit)"
            ),
            {"upto": upto, "limit": limit},
        )
    ).scalar_one()
    if last is None:
        return 0
    added = await session.execute(
        text(
            "INSERT INTO messages_fts(rowid, text)"
            " SELECT id, text FROM messages WHERE id > :upto AND id <= :last"
        ),
        {"upto": upto, "last": last},
    )
    await session.execute(text("UPDATE search_index SET indexed_upto = :last"), {"last": last})
    return int(added.rowcount)  # type: ignore[attr-defined]
