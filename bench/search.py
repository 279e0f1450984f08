"""Search benchmark: the dashboard's and the API's message search over a million
stored messages on SQLite.

Stores N messages (default 1,000,000, over 200 chats, a few words each from a
20,000-word vocabulary) by bulk insert into a migrated casebot database, then times
`storage.stats.search_messages` (newest 50 hits) for a common word, a rare word, a
word that matches nothing (the worst case: every row is read) and two words
together, best of several runs. The last line is
`search_common_ms=<n> search_rare_ms=<n> search_none_ms=<n> search_two_ms=<n>`.

    .venv/bin/python bench/search.py [--messages 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import string
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.db import make_engine, make_sessions, migrate
from storage.search_index import index_pending
from storage.stats import search_messages

CHATS = 200
START = datetime(2026, 1, 1, tzinfo=UTC)
RUNS = 5


def vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    return ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9))) for _ in range(size)]


def load(path: Path, count: int, words: list[str], rng: random.Random) -> Counter[str]:
    """Insert `count` messages; returns how often each word was used."""
    used: Counter[str] = Counter()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")

    def rows() -> object:
        for i in range(count):
            text = rng.choices(words, k=rng.randint(3, 14))
            used.update(text)
            at = START + timedelta(seconds=i * 3)
            yield (
                i % CHATS + 1,
                str(i),
                f"telegram:{5000 + i % 700}",
                f"Customer {i % 700}",
                "customer",
                " ".join(text),
                at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                0,
            )

    with db:
        db.execute("INSERT INTO accounts (id, name, tier, locale, intake, acknowledge, topics)"
                   " VALUES (1, 'Acme', 'premium', 'en', 'tag', 1, 'off')")  # fmt: skip
        db.executemany(
            "INSERT INTO chats (id, platform, chat, kind, account_id) VALUES (?, ?, ?, ?, 1)",
            [(c, "telegram", f"-100{c:06d}", "customer") for c in range(1, CHATS + 1)],
        )
        db.executemany(
            "INSERT INTO messages (chat_id, platform_message_id, sender, sender_name, role,"
            " text, at, internal) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows(),  # type: ignore[arg-type]
        )
    db.execute("ANALYZE")
    db.close()
    return used


async def catch_up(url: str) -> None:
    """What `casebot run` does in the background: index the stored messages in batches."""
    engine = make_engine(url)
    sessions = make_sessions(engine)
    try:
        while True:
            async with sessions() as session, session.begin():
                if await index_pending(session, 5000) == 0:
                    return
    finally:
        await engine.dispose()


async def best_ms(url: str, query: str) -> tuple[float, int]:
    engine = make_engine(url)
    sessions = make_sessions(engine)
    try:
        best = float("inf")
        hits = 0
        for _ in range(RUNS):
            async with sessions() as session:
                t0 = time.perf_counter()
                found = await search_messages(session, query)
                best = min(best, (time.perf_counter() - t0) * 1000)
                hits = len(found)
        return best, hits
    finally:
        await engine.dispose()


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    rng = random.Random(7)
    words = vocabulary(rng)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        url = f"sqlite+aiosqlite:///{path}"
        engine = make_engine(url)
        await migrate(engine)
        await engine.dispose()
        t0 = time.perf_counter()
        used = load(path, args.messages, words, rng)
        print(f"stored {args.messages:,} messages in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        await catch_up(url)
        indexing = time.perf_counter() - t0
        print(
            f"search index caught up in {indexing:.1f} s ({args.messages / indexing:,.0f} msgs/s)"
        )
        ranked = [w for w, _ in used.most_common()]
        queries = {
            "common": ranked[0],
            "rare": ranked[-1],
            "none": "qqqqzzzz",
            "two": f"{ranked[0]} {ranked[1]}",
        }
        figures = {}
        for name, query in queries.items():
            ms, hits = await best_ms(url, query)
            figures[name] = ms
            print(f"{name:>6} {query!r}: {ms:.1f} ms, {hits} hits (best of {RUNS})")
    print(" ".join(f"search_{name}_ms={ms:.0f}" for name, ms in figures.items()))


if __name__ == "__main__":
    asyncio.run(main())
