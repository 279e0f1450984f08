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
# kept by migration 0019 outside the models: the similar-cases index
SIMILAR_INDEX = {"similar_fts", "similar_vocab", "ix_similar_docs_terms"}


def _ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if name in SEARCH_INDEX or (name or "").startswith("messages_fts_"):
        return False
    if name in SIMILAR_INDEX or (name or "").startswith("similar_fts_"):
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


async def test_the_search_index_migrates_with_pg_trgm_outside_the_search_path() -> None:
    """pg_trgm installed in a schema of its own (as some hosts do): the index names its
    operator class there, instead of failing the whole upgrade."""
    import uuid

    import pytest
    from sqlalchemy import text

    from storage.db import make_engine, migrate
    from tests.conftest import PG_AVAILABLE, PG_URL

    if not PG_AVAILABLE:
        pytest.skip("PostgreSQL not reachable")
    name = f"casebot_ext_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(PG_URL.rpartition("/")[0] + "/" + name)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE SCHEMA ext"))
            await conn.execute(text("CREATE EXTENSION pg_trgm SCHEMA ext"))
        await migrate(engine)
        async with engine.connect() as conn:
            index = await conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_messages_text_trgm'")
            )
            assert "ext.gin_trgm_ops" in index.scalar_one()
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def test_the_due_index_migration_goes_down_and_up_again(db_url: str) -> None:
    """0023 undone gives back the index it replaced (and only that), and redone gives the
    models' schema again: a downgrade to 0022 is a supported way back."""
    from alembic import command
    from sqlalchemy import inspect

    from storage.db import _alembic_config

    engine = create_async_engine(db_url)

    def indexes(sync_conn: Any) -> set[str]:
        return {i["name"] for i in inspect(sync_conn).get_indexes("outbox")}

    def step(target: str, down: bool) -> Any:
        def run(sync_conn: Any) -> None:
            config = _alembic_config(db_url)
            config.attributes["connection"] = sync_conn
            (command.downgrade if down else command.upgrade)(config, target)

        return run

    try:
        async with engine.begin() as conn:
            before = await conn.run_sync(indexes)
            await conn.run_sync(step("0022", down=True))
            after_down = await conn.run_sync(indexes)
        assert "ix_outbox_due" in before and "ix_outbox_status_next" not in before
        assert after_down == (before - {"ix_outbox_due"}) | {"ix_outbox_status_next"}
        async with engine.begin() as conn:
            await conn.run_sync(step("head", down=False))
            again = await conn.run_sync(indexes)
        assert again == before
    finally:
        await engine.dispose()
    await test_migrations_match_the_models(db_url)
