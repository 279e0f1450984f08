"""Message search on both databases, and SQLite's trigram index: messages found
before they are indexed (the tail is read row by row), after, and after an edit."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from storage.search_index import index_pending, indexed_upto
from storage.stats import search_messages, search_terms
from tests.harness import GLOBEX, Harness


def test_terms_split_at_spaces_and_keep_quoted_phrases() -> None:
    assert search_terms('disk "full on" db-1') == ["full on", "disk", "db-1"]
    assert search_terms('say "hi') == ["say", '"hi']


async def found(h: Harness, query: str) -> list[str]:
    async with h.sessions() as session:
        return [m["text"] for m in await search_messages(session, query)]


async def test_search_before_and_after_indexing_and_after_an_edit(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "The backup job failed on db-1 last night")
        first = h.last_message_id
        await h.say("alice", "VM is slow, 网络很慢 since the upgrade")
        await h.say("carol", "备份任务失败了", chat=GLOBEX)
        queries = {
            "BACKUP": ["The backup job failed on db-1 last night"],
            "db-1 night": ["The backup job failed on db-1 last night"],
            '"job failed"': ["The backup job failed on db-1 last night"],
            '"failed job"': [],
            "is": ["VM is slow, 网络很慢 since the upgrade"],  # two letters: no trigram
            "网络很慢": ["VM is slow, 网络很慢 since the upgrade"],
            "任务失败": ["备份任务失败了"],
            "upgrade nothing": [],
        }
        for query, expected in queries.items():
            assert await found(h, query) == expected, query
        async with h.sessions() as session, session.begin():
            indexed = await index_pending(session)
        if db_url.startswith("sqlite"):
            assert indexed == 3
            async with h.sessions() as session:
                assert await indexed_upto(session) >= 3
        for query, expected in queries.items():
            assert await found(h, query) == expected, query
        await h.edit("alice", first, "The restore job failed on db-1 last night")
        assert await found(h, "backup") == []
        assert await found(h, "restore") == ["The restore job failed on db-1 last night"]


async def test_the_running_app_brings_new_messages_into_the_index(sqlite_url: str) -> None:
    from bot.app import App
    from bot.config import parse_config

    async with Harness(sqlite_url) as h:
        await h.say("alice", "printer on fire")
        raw = dict(h.raw)
    raw["storage"] = {"url": sqlite_url}
    raw["http"] = {"enabled": False}
    raw["dispatcher"] = {"enabled": False}
    app = App(parse_config(raw, env={}))
    await app.start(web=False, scheduler=False)
    try:
        for _ in range(100):
            async with app.sessions() as session:
                if await indexed_upto(session) >= 1:
                    break
            await asyncio.sleep(0.05)
        async with app.sessions() as session:
            assert await indexed_upto(session) >= 1
            hits = await session.execute(
                text("SELECT rowid FROM messages_fts WHERE messages_fts MATCH '\"on fire\"'")
            )
            assert len(hits.all()) == 1
    finally:
        await app.stop()
