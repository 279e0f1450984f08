"""Ingest benchmark: synthetic inbound events through the real engine on SQLite, against
the same rows written with the standard library's sqlite3 in transactions of 100.

    python bench/ingest.py [--events 20000] [--chats 200] [--batch 200]

Most events are customer and staff replies that join existing cases; about one in
twenty asks something new and opens a case (auto intake). The last line is
`engine_msgs_per_s=<n> raw_msgs_per_s=<n> ratio=<engine/raw>`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import parse_config  # noqa: E402
from bot.texts import Catalogue  # noqa: E402
from bot.wiring import account_specs, engine_settings, staff_roles  # noqa: E402
from cases.engine import Engine  # noqa: E402
from cases.model import Actor, ChatKey, Inbound, InboundKind  # noqa: E402
from storage.db import make_engine, make_sessions, migrate  # noqa: E402
from storage.directory import sync_directory  # noqa: E402
from storage.ingest import Ingestor  # noqa: E402
from storage.search_index import index_pending  # noqa: E402


def make_events(n: int, chats: int, seed: int = 7) -> list[Inbound]:
    """A deterministic conversation mix over `chats` customer groups."""
    return list(iter_events(n, chats, seed))


def iter_events(n: int, chats: int, seed: int = 7) -> Iterator[Inbound]:
    """`make_events` one at a time, for runs too long to hold in memory (bench/memory.py)."""
    rng = random.Random(seed)
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    next_id = [0] * chats
    last_in_thread: list[str | None] = [None] * chats
    for i in range(n):
        c = rng.randrange(chats)
        next_id[c] += 1
        mid = str(next_id[c])
        at = start + timedelta(milliseconds=50 * i)
        staff = rng.random() < 0.3 and last_in_thread[c] is not None
        actor = (
            Actor("telegram", str(1000 + c % 5), "Engineer", f"eng{c % 5}")
            if staff
            else Actor("telegram", str(50_000 + c * 10 + rng.randrange(3)), "Customer")
        )
        new_question = last_in_thread[c] is None or (not staff and rng.random() < 0.05)
        reply_to = None if new_question else last_in_thread[c]
        if new_question:
            last_in_thread[c] = mid
        yield Inbound(
            InboundKind.MESSAGE,
            f"u{i}",
            ChatKey("telegram", str(-1_000_000 - c)),
            at,
            actor,
            message_id=mid,
            reply_to=reply_to,
            text=f"message {i} about the cluster in region {c % 7}, please have a look",
        )


def config_for(url: str, chats: int) -> dict:
    return {
        "storage": {"url": url},
        "staff": {"engineers": [f"telegram:{1000 + k}" for k in range(5)]},
        "accounts": [
            {
                "name": f"Account {c}",
                "tier": "premium",
                "intake": "auto",
                "chats": [f"telegram:{-1_000_000 - c}"],
            }
            for c in range(chats)
        ],
        "sla": {
            "premium": {"P3": {"first_response": "1h", "next_response": "2h", "resolution": "2d"}}
        },
    }


async def run_engine(
    path: Path, events: list[Inbound], chats: int, batch: int
) -> tuple[float, float]:
    """Seconds to ingest the events, then seconds for the search index to catch up
    (which `casebot run` does in the background, in batches of 100)."""
    url = f"sqlite+aiosqlite:///{path}"
    config = parse_config(config_for(url, chats), env={})
    db = make_engine(url)
    await migrate(db)
    sessions = make_sessions(db)
    async with sessions() as session, session.begin():
        await sync_directory(
            session, account_specs(config), staff_roles(config), {}, None, events[0].at
        )
    ingestor = Ingestor(sessions, Engine(engine_settings(config), Catalogue()))
    started = time.perf_counter()
    for i in range(0, len(events), batch):
        results = await ingestor.handle_batch(events[i : i + batch])
        failed = [r for r in results if isinstance(r, Exception)]
        if failed:
            raise SystemExit(f"engine rejected events: {failed[:3]}")
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    while True:
        async with sessions() as session, session.begin():
            if await index_pending(session, 100) == 0:
                break
    indexing = time.perf_counter() - started
    await db.dispose()
    return elapsed, indexing


def run_raw(path: Path, events: list[Inbound]) -> float:
    """The same rows (event key, message, case open or case touch) by hand, 100 per commit."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(
        """
        CREATE TABLE processed(platform TEXT, event_id TEXT, PRIMARY KEY(platform, event_id));
        CREATE TABLE cases(id INTEGER PRIMARY KEY, chat TEXT, title TEXT, status TEXT,
                           created_at TEXT, updated_at TEXT);
        CREATE TABLE messages(id INTEGER PRIMARY KEY, chat TEXT, mid TEXT, sender TEXT,
                              text TEXT, at TEXT, case_id INTEGER, UNIQUE(chat, mid));
        """
    )
    case_of: dict[tuple[str, str], int] = {}
    started = time.perf_counter()
    for i in range(0, len(events), 100):
        conn.execute("BEGIN")
        for ev in events[i : i + 100]:
            assert ev.actor is not None and ev.message_id is not None
            conn.execute("INSERT INTO processed VALUES (?, ?)", ("telegram", ev.event_id))
            at = ev.at.isoformat()
            key = (ev.chat.chat, ev.reply_to or "")
            case_id = case_of.get(key) if ev.reply_to else None
            if case_id is None:
                cur = conn.execute(
                    "INSERT INTO cases(chat, title, status, created_at, updated_at)"
                    " VALUES (?, ?, 'new', ?, ?)",
                    (ev.chat.chat, ev.text[:80], at, at),
                )
                case_id = int(cur.lastrowid or 0)
                case_of[(ev.chat.chat, ev.message_id)] = case_id
            else:
                conn.execute("UPDATE cases SET updated_at = ? WHERE id = ?", (at, case_id))
            conn.execute(
                "INSERT INTO messages(chat, mid, sender, text, at, case_id)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (ev.chat.chat, ev.message_id, ev.actor.key, ev.text, at, case_id),
            )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    events = make_events(args.events, args.chats)
    with tempfile.TemporaryDirectory() as tmp:
        engine_s, index_s = asyncio.run(
            run_engine(Path(tmp) / "engine.db", events, args.chats, args.batch)
        )
        raw_s = run_raw(Path(tmp) / "raw.db", events)
    engine_rate = len(events) / engine_s
    raw_rate = len(events) / raw_s
    opened = sum(1 for e in events if e.reply_to is None)
    print(
        f"events: {len(events)} over {args.chats} chats ({opened} open a case), "
        f"engine batch {args.batch}, raw sqlite3 transactions of 100"
    )
    print(f"engine: {engine_s:.2f} s, {engine_rate:,.0f} msgs/s")
    print(f"raw sqlite3: {raw_s:.2f} s, {raw_rate:,.0f} msgs/s")
    print(
        f"search index catch-up (in the background in casebot run): {index_s:.2f} s, "
        f"{len(events) / index_s:,.0f} msgs/s"
    )
    print(
        f"engine_msgs_per_s={engine_rate:.0f} raw_msgs_per_s={raw_rate:.0f} "
        f"ratio={engine_rate / raw_rate:.3f}"
    )


if __name__ == "__main__":
    main()
