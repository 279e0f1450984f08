"""Scale-out: two `casebot run` processes in webhook mode on one fresh PostgreSQL database,
with updates spread across both as a load balancer would (and some delivered twice, once
to each, as Telegram does when an answer is late). Every message is stored once, every
outbox row is sent once, every SLA reminder fires once, though both processes run a
dispatcher and a sweeper (tick 1 s, first response due after 2 s, real clock).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.procs import free_port, fresh_postgres, start_casebot, stop_process, to_toml
from tests.conftest import PG_AVAILABLE, PG_URL
from tests.fakes.telegram_api import FakeBotApi
from tests.harness import ACME, GLOBEX, PEOPLE, TRIAGE, base_config

pytestmark = pytest.mark.skipif(not PG_AVAILABLE, reason="needs PostgreSQL on 127.0.0.1:5432")

TOKEN = "123456:SCALEOUT-token"
SECRET = "scale-out-secret_1"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
UPDATES = 240
NEW_EVERY = 6  # every 6th update is a customer's /new in Acme: a case, an ack, a card
REPEATS = 24  # updates delivered a second time, to the other process


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    """A fresh database for this test on the shared server, dropped afterwards; left
    empty: both processes migrate it and sync the directory at the same moment."""
    async with fresh_postgres(PG_URL, "casebot_scaleout") as url:
        yield url


def process_config(db_url: str, api: FakeBotApi, port: int) -> dict[str, Any]:
    raw = base_config()
    raw["storage"] = {"url": db_url}
    raw["http"] = {"host": "127.0.0.1", "port": port, "api_token": "scaleout-api"}
    raw["telegram"] = {
        "token": TOKEN,
        "base_url": api.base_url,
        "mode": "webhook",
        "webhook_url": f"http://127.0.0.1:{port}/telegram/webhook",
        "secret_token": SECRET,
        "rate_per_second": 1000.0,
        "rate_per_group_minute": 100_000,
        "board_min_interval": "0s",
    }
    raw["scheduler"] = {"tick": "1s"}
    # a burst of /new from two customers is the load here, not a flood to refuse
    raw["cases"] = {"open_per_customer": 0, "open_per_chat": 0}
    raw["dispatcher"] = {"idle_poll": "50ms", "base_delay": "200ms"}
    # the breach reminder after 2 s; the next rungs lie beyond the test
    raw["sla"] = {
        "premium": {"P3": {"first_response": "2s", "resolution": "2d"}},
        "standard": {"P3": {"first_response": "2s", "resolution": "5d"}},
    }
    return raw


async def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.2)


def build_updates(api: FakeBotApi) -> list[dict[str, Any]]:
    updates = []
    customers = {ACME: ["alice", "bob"], GLOBEX: ["carol"]}
    for i in range(1, UPDATES + 1):
        chat = ACME if i % 3 else GLOBEX
        who = customers[chat][i % len(customers[chat])]
        user_id, name, username = PEOPLE[who]
        words = f"/new problem {i}" if i % NEW_EVERY == 1 else f"message {i}"
        update = api.message(int(chat), int(user_id), words, first_name=name, username=username)
        updates.append({"update_id": 10_000 + i, **update})
    return updates


@pytest.mark.slow
async def test_two_webhook_processes_on_one_postgres(pg_database: str, tmp_path: Path) -> None:
    db_url = pg_database
    ports = [free_port(), free_port()]
    log = tmp_path / "casebot.log"
    async with FakeBotApi(token=TOKEN, can_read_all_group_messages=True) as api:
        for chat, title in ((ACME, "Acme"), (GLOBEX, "Globex"), (TRIAGE, "Triage")):
            api.add_chat(int(chat), title=title)
        for who in ("evan", "erin", "lena"):  # staff pressed Start: reminders reach them as DMs
            api.add_private(int(PEOPLE[who][0]), first_name=PEOPLE[who][1])
        procs = []
        for n, port in enumerate(ports):
            config = tmp_path / f"casebot{n}.toml"
            config.write_text(to_toml(process_config(db_url, api, port)), encoding="utf-8")
            procs.append(await start_casebot(config, log))
        admin = create_async_engine(db_url)
        try:
            async with aiohttp.ClientSession() as http:
                await run_traffic(http, api, ports, log)
                await check_results(admin, api)
        finally:
            codes = [await stop_process(p) for p in procs]
            await admin.dispose()
    assert codes == [0, 0], log.read_text()[-4000:]


async def run_traffic(
    http: aiohttp.ClientSession, api: FakeBotApi, ports: list[int], log: Path
) -> None:
    async def healthy() -> bool:
        for port in ports:
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status != 200:
                        return False
            except aiohttp.ClientError:
                return False
        return True

    await wait_until(healthy, 60, "both processes to serve /healthz")
    url = "http://127.0.0.1:{}/telegram/webhook"
    # a wrong secret is refused by either process
    async with http.post(url.format(ports[1]), json={"update_id": 1}) as response:
        assert response.status == 401
    updates = build_updates(api)
    rng = random.Random(6)
    deliveries = [(u, rng.randrange(2)) for u in updates]
    for u, first in rng.sample(deliveries, REPEATS):
        deliveries.append((u, 1 - first))  # Telegram's retry lands on the other process
    gate = asyncio.Semaphore(8)
    statuses: Counter[int] = Counter()
    by_process: Counter[int] = Counter()

    async def deliver(update: dict[str, Any], target: int) -> None:
        """Like Telegram: an answer other than 2xx is retried (here by the other process)."""
        async with gate:
            for attempt in range(20):
                async with http.post(
                    url.format(ports[target]), json=update, headers={SECRET_HEADER: SECRET}
                ) as response:
                    statuses[response.status] += 1
                    by_process[target] += 1
                    if response.status == 200:
                        return
                target = 1 - target
                await asyncio.sleep(0.1 * (attempt + 1))
            raise AssertionError(f"update {update['update_id']} never accepted: {statuses}")

    # in order per batch, concurrent within it, like a webhook with max_connections
    for i in range(0, len(deliveries), 16):
        await asyncio.gather(*(deliver(u, t) for u, t in deliveries[i : i + 16]))
    # a retried delivery is fine (a batch that met a deadlock with the other process is
    # refused and redelivered); a refusal other than the retryable 500 is not
    assert set(statuses) <= {200, 500} and statuses[200] == len(deliveries), statuses
    print(f"\nscale-out: {len(deliveries)} deliveries, answers {dict(statuses)}")
    assert min(by_process.values()) > len(deliveries) // 3, by_process


async def check_results(admin: Any, api: FakeBotApi) -> None:
    async def scalar(sql: str) -> Any:
        async with admin.connect() as conn:
            return (await conn.execute(text(sql))).scalar_one()

    cases_expected = UPDATES // NEW_EVERY + 1  # the /new cases in Acme, one auto case in Globex

    async def settled() -> bool:
        cases = await scalar("SELECT count(*) FROM cases")
        breaches = await scalar(
            "SELECT count(DISTINCT case_id) FROM outbox WHERE purpose = 'nudge' "
            "AND payload -> 'extra' ->> 'nudge' = 'breach'"
        )
        pending = await scalar("SELECT count(*) FROM outbox WHERE status = 'pending'")
        state.update(cases=cases, breaches=breaches, pending=pending)
        return cases >= cases_expected and breaches >= cases and pending == 0

    state: dict[str, int] = {}
    try:
        await wait_until(settled, 45, "every case, its acknowledgement and its breach reminder")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {state}, expected {cases_expected} cases") from None
    await asyncio.sleep(2.5)  # two more ticks of both sweepers: anything doubled shows now

    # every message stored once
    stored = await scalar(
        "SELECT count(*) FROM messages WHERE role != 'bot' AND platform_message_id IS NOT NULL"
    )
    assert stored == UPDATES
    assert await scalar("SELECT count(*) FROM processed_events") == UPDATES
    assert await scalar("SELECT count(*) FROM cases") == cases_expected

    # every outbox row settled, and every message the fake received recorded by exactly one row
    async with admin.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT id, chat, kind, purpose, status, platform_message_id, case_id, "
                    "payload -> 'extra' ->> 'nudge' FROM outbox"
                )
            )
        ).all()
    assert {r.status for r in rows} <= {"sent", "skipped"}, Counter(r.status for r in rows)
    sent_ids = Counter((str(m["chat"]["id"]), str(m["message_id"])) for m in api.sent)
    assert max(sent_ids.values()) == 1
    new_messages = [r for r in rows if r.kind in ("send", "dm") and r.status == "sent"]
    recorded = Counter((r.chat, r.platform_message_id) for r in new_messages)
    assert max(recorded.values()) == 1, "two send rows recorded one message"
    anchors = {
        (r.chat, r.platform_message_id)
        for r in rows
        if r.kind == "upsert" and r.platform_message_id is not None  # not superseded ones
    }
    # a message sent twice would leave one of the pair unrecorded
    assert set(sent_ids) == set(recorded) | anchors, (
        set(sent_ids) - set(recorded) - anchors,
        (set(recorded) | anchors) - set(sent_ids),
    )
    assert len(api.sent) == len(recorded) + len(anchors)

    # acknowledgements: one per case; reminders: each (case, recipient, rung) once
    acks = Counter(r.case_id for r in new_messages if r.purpose == "ack")
    assert len(acks) == cases_expected and set(acks.values()) == {1}
    nudges = Counter((r.case_id, r.chat, r[7]) for r in rows if r.purpose == "nudge")
    breached = {case_id for case_id, _, kind in nudges if kind == "breach"}
    assert len(breached) == cases_expected
    assert set(nudges.values()) == {1}, nudges
    events = await scalar("SELECT count(*) FROM case_events WHERE type = 'sla_breached'")
    assert events == cases_expected
