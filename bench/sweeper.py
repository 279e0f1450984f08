"""Sweeper benchmark: one tick over a million stored cases, on SQLite and PostgreSQL.

Stores N cases (default 1,000,000; a tenth of them open with timers spread over a
week, the rest closed with no timer) by bulk insert, not through the engine: SQLite
through executemany, PostgreSQL through COPY. Then times the due query alone
(`next_due_at <= now ORDER BY next_due_at LIMIT 1000`, best of several runs) and one
`Sweeper.tick(now)` that finds and handles the 1,000 due cases (warnings and breaches
into the outbox, timers moved on), and checks nothing is left due afterwards.
Prints the figures per database with their ratio to the limits (tick 1 s, due query
10 ms); the last line is `tick_ms=<n> due_query_ms=<n>` (the worse database's figures).

    .venv/bin/python bench/sweeper.py [--cases 1000000] [--due 1000] [--db sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.texts import Catalogue
from cases.calendar import BusinessCalendar
from cases.engine import Engine
from cases.model import ChatKey, Status
from cases.records import CaseRecord
from cases.settings import EngineSettings
from cases.sla import EscalationPolicy, SlaPolicy, SlaTargets, refresh_due
from scheduler.sweeper import Sweeper
from storage.db import make_engine, make_sessions, migrate
from storage.models import CaseRow, OutboxRow
from storage.sweep import due_case_ids

PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
TICK_LIMIT_MS = 1000.0
QUERY_LIMIT_MS = 10.0
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
CHATS = 200
COLUMNS = [
    "account_id", "chat_id", "title", "status", "priority", "created_at", "status_changed_at",
    "last_customer_at", "first_response_due", "resolution_due", "next_due_at", "sla",
]  # fmt: skip


def settings() -> EngineSettings:
    targets = SlaTargets(timedelta(hours=1), timedelta(hours=2), timedelta(days=2))
    return EngineSettings(
        triage_chat=ChatKey("telegram", "-100500"),
        sla=SlaPolicy({"premium": {"P3": targets}}),
        escalation=EscalationPolicy(leads=("telegram:2001",)),
    )


def make_rows(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """n cases; every tenth is open with a coherent SLA state from `refresh_due`."""
    rng = random.Random(seed)
    policy = settings()
    targets = policy.sla.targets("premium", "P3")
    always = BusinessCalendar.always()
    rows = []
    week = 7 * 24 * 3600
    for i in range(n):
        created = START + timedelta(seconds=rng.uniform(0, week))
        case = CaseRecord(
            account_id=1,
            chat_id=1 + i % CHATS,
            title=f"case {i}",
            created_at=created,
            priority="P3",
            last_customer_at=created,
            status_changed_at=created,
        )
        if i % 10 == 0:
            case.status = Status.OPEN
            case.sla = {"clock_start": created.isoformat()}
            refresh_due(case, targets, always, created, policy.escalation)
        else:
            case.status = Status.CLOSED
        rows.append(
            {
                "account_id": 1,
                "chat_id": case.chat_id,
                "title": case.title,
                "status": case.status.value,
                "priority": "P3",
                "created_at": created,
                "status_changed_at": created,
                "last_customer_at": created,
                "first_response_due": case.first_response_due,
                "resolution_due": case.resolution_due,
                "next_due_at": case.next_due_at,
                "sla": case.sla,
            }
        )
    return rows


def _naive(at: datetime | None) -> str | None:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if at else None


def _sqlite_value(column: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return _naive(value)
    return json.dumps(value) if column == "sla" else value


def load_sqlite(path: Path, rows: list[dict[str, Any]]) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    with db:
        db.execute("INSERT INTO accounts (id, name, tier, locale, intake, acknowledge, topics)"
                   " VALUES (1, 'Acme', 'premium', 'en', 'tag', 1, 'off')")  # fmt: skip
        db.executemany(
            "INSERT INTO chats (id, platform, chat, kind, account_id) VALUES (?, ?, ?, ?, 1)",
            [(c, "telegram", f"-100{c:06d}", "customer") for c in range(1, CHATS + 1)],
        )
        db.executemany(
            f"INSERT INTO cases ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            (tuple(_sqlite_value(c, r[c]) for c in COLUMNS) for r in rows),
        )
    db.execute("ANALYZE")
    db.close()


async def load_postgres(url: str, rows: list[dict[str, Any]]) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(
            "INSERT INTO accounts (id, name, tier, locale, intake, acknowledge, topics)"
            " VALUES (1, 'Acme', 'premium', 'en', 'tag', true, 'off')"
        )
        await conn.copy_records_to_table(
            "chats",
            records=[(c, "telegram", f"-100{c:06d}", "customer", 1) for c in range(1, CHATS + 1)],
            columns=["id", "platform", "chat", "kind", "account_id"],
        )
        await conn.copy_records_to_table(
            "cases",
            records=[
                tuple(json.dumps(r[c]) if c == "sla" else r[c] for c in COLUMNS) for r in rows
            ],
            columns=COLUMNS,
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def measure(url: str, now: datetime, due: int) -> tuple[float, float, int]:
    engine = make_engine(url)
    sessions = make_sessions(engine)
    try:
        timings = []
        for _ in range(7):
            async with sessions() as session:
                t0 = time.perf_counter()
                ids = await due_case_ids(session, now, due)
                timings.append((time.perf_counter() - t0) * 1000)
        assert len(ids) == due, f"expected {due} due cases, found {len(ids)}"
        query_ms = min(timings)
        sweeper = Sweeper(sessions, Engine(settings(), Catalogue()), batch=500)
        t0 = time.perf_counter()
        handled = await sweeper.tick(now)
        tick_ms = (time.perf_counter() - t0) * 1000
        async with sessions() as session:
            left = (
                await session.execute(
                    select(func.count()).select_from(CaseRow).where(CaseRow.next_due_at <= now)
                )
            ).scalar_one()
            nudges = (
                await session.execute(select(func.count()).select_from(OutboxRow))
            ).scalar_one()
        assert handled == due and left == 0, (handled, left)
        return tick_ms, query_ms, nudges
    finally:
        await engine.dispose()


async def run_sqlite(rows: list[dict[str, Any]], now: datetime, due: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        url = f"sqlite+aiosqlite:///{path}"
        engine = make_engine(url)
        await migrate(engine)
        await engine.dispose()
        t0 = time.perf_counter()
        load_sqlite(path, rows)
        print(f"sqlite: stored {len(rows):,} cases in {time.perf_counter() - t0:.1f} s")
        tick_ms, query_ms, nudges = await measure(url, now, due)
    report("sqlite", tick_ms, query_ms, due, nudges)
    return tick_ms, query_ms


async def run_postgres(rows: list[dict[str, Any]], now: datetime, due: int) -> tuple[float, float]:
    name = f"casebot_bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        engine = make_engine(url)
        await migrate(engine)
        await engine.dispose()
        t0 = time.perf_counter()
        await load_postgres(url, rows)
        print(f"postgres: stored {len(rows):,} cases in {time.perf_counter() - t0:.1f} s")
        tick_ms, query_ms, nudges = await measure(url, now, due)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
    report("postgres", tick_ms, query_ms, due, nudges)
    return tick_ms, query_ms


def report(db: str, tick_ms: float, query_ms: float, due: int, nudges: int) -> None:
    print(
        f"{db}: tick {tick_ms:.0f} ms for {due} due cases ({nudges} outbox rows), "
        f"{tick_ms / TICK_LIMIT_MS:.2f} of the 1 s limit; due query {query_ms:.2f} ms, "
        f"{query_ms / QUERY_LIMIT_MS:.2f} of the 10 ms limit"
    )


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--db", default="sqlite,postgres")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    rows = make_rows(args.cases)
    dues = sorted(r["next_due_at"] for r in rows if r["next_due_at"] is not None)
    now = dues[args.due - 1]  # exactly `due` cases are due at `now`
    print(f"built {len(rows):,} cases ({len(dues):,} open) in {time.perf_counter() - t0:.1f} s")
    results = []
    for db in args.db.split(","):
        runner = run_sqlite if db == "sqlite" else run_postgres
        results.append(await runner(rows, now, args.due))
    tick_ms = max(r[0] for r in results)
    query_ms = max(r[1] for r in results)
    print(f"tick_ms={tick_ms:.0f} due_query_ms={query_ms:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
