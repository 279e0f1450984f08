"""Chaos kit: a real `casebot run` subprocess polling the in-process fake Bot API,
bursts of customer traffic, and the audit behind "every message stored once,
every outbox action sent once".

The bot runs in its own process so that it can be SIGKILLed, and so that a
database lock that blocks its event loop (SQLite calls run inline) never blocks
the fake Bot API or the test. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fakes.telegram_api import FakeBotApi
from tests.harness import ACME, GLOBEX, base_config

TOKEN = "123456:CHAOS-token"
CUSTOMERS = {int(ACME): (5001, 5002), int(GLOBEX): (6001,)}
EVERY = 20  # every 20th message is a customer's /new: a case, an ack, a card, a board edit


def _value(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def to_toml(raw: dict[str, Any]) -> str:
    """The small TOML writer these configs need: sections, arrays of tables, and one
    level of sub-tables (`[sla.premium]`); everything else as inline values."""
    out: list[str] = []
    for name, body in raw.items():
        if isinstance(body, list):
            for item in body:
                out.append(f"[[{name}]]")
                out.extend(f"{k} = {_value(v)}" for k, v in item.items())
                out.append("")
            continue
        nested = {k: v for k, v in body.items() if isinstance(v, dict) and name == "sla"}
        out.append(f"[{name}]")
        out.extend(f"{k} = {_value(v)}" for k, v in body.items() if k not in nested)
        out.append("")
        for key, sub in nested.items():
            out.append(f"[{name}.{key}]")
            out.extend(f"{k} = {_value(v)}" for k, v in sub.items())
            out.append("")
    return "\n".join(out)


def chaos_config(api: FakeBotApi, db_url: str, **sections: dict[str, Any]) -> dict[str, Any]:
    """The test people and chats, storage at `db_url`, a fast dispatcher and poller."""
    raw = base_config()
    raw["storage"] = {"url": db_url}
    raw["http"] = {"enabled": False}
    raw["scheduler"] = {"enabled": False}
    # a burst of /new from two customers is the load here, not a flood to refuse
    raw["cases"] = {"open_per_customer": 0, "open_per_chat": 0}
    raw["dispatcher"] = {"idle_poll": "50ms", "base_delay": "200ms", "claim_for": "3s"}
    raw["telegram"] = {
        "token": api.token,
        "base_url": api.base_url,
        "poll_timeout": "1s",
        "poll_limit": 20,
        "rate_per_second": 1000.0,
        "rate_per_group_minute": 1000,
        "board_min_interval": "0s",
    }
    for name, body in sections.items():
        raw[name] = {**raw.get(name, {}), **body}
    return raw


class BotProcess:
    """`casebot run --config FILE` as a subprocess; its output goes to one log file."""

    def __init__(self, workdir: Path, raw: dict[str, Any]) -> None:
        self.config = workdir / "casebot.toml"
        self.config.write_text(to_toml(raw), encoding="utf-8")
        self.log = workdir / "casebot.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.kills = 0

    async def start(self) -> None:
        casebot = Path(sys.executable).with_name("casebot")
        self.proc = await asyncio.create_subprocess_exec(
            str(casebot),
            "run",
            "--config",
            str(self.config),
            "--log-level",
            "warning",
            stdout=self.log.open("ab"),
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    async def kill(self) -> None:
        """SIGKILL: no clean shutdown, nothing flushed."""
        assert self.proc is not None
        self.proc.kill()
        await self.proc.wait()
        assert self.proc.returncode == -signal.SIGKILL
        self.kills += 1

    async def stop(self, grace: float = 20.0) -> int:
        """SIGTERM and wait for the clean shutdown; returns the exit code. A process still
        running after `grace` seconds fails the test and is SIGKILLed first: left running,
        it would outlive pytest and load every later test (and parallel worker)."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), grace)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
                raise AssertionError(
                    f"casebot did not stop within {grace:g} s of SIGTERM; killed:\n"
                    f"{self.output()[-3000:]}"
                ) from None
        return int(self.proc.returncode or 0)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


class Traffic:
    """Customer messages pushed into the fake; remembers what was pushed."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api
        self.pushed: list[tuple[int, int]] = []  # (chat id, message id)
        self.news = 0
        self.last_update = 0

    def one(self) -> None:
        i = len(self.pushed) + 1
        chat = int(ACME) if i % 3 else int(GLOBEX)
        users = CUSTOMERS[chat]
        user = users[i % len(users)]
        is_new = i % EVERY == 0
        self.news += is_new
        body = f"/new problem {i}" if is_new else f"message {i}"
        update = self.api.send_text(chat, user, body, first_name=f"User{user}")
        self.pushed.append((chat, int(update["message"]["message_id"])))
        self.last_update = int(update["update_id"])

    async def burst(self, count: int, per_second: float) -> None:
        """`count` messages at about `per_second`, in lumps of ten."""
        for i in range(count):
            self.one()
            if i % 10 == 9:
                await asyncio.sleep(10 / per_second)


def add_chats(api: FakeBotApi) -> None:
    api.add_chat(int(ACME), title="Acme support")
    api.add_chat(int(GLOBEX), title="Globex 支持")
    api.add_chat(int(base_config()["staff"]["triage_chat"].split(":")[1]), title="Triage")


@dataclass
class Audit:
    """What the database and the fake Bot API say after a run."""

    stored: Counter[tuple[int, int]] = field(default_factory=Counter)
    missing: list[tuple[int, int]] = field(default_factory=list)
    doubled: list[tuple[int, int]] = field(default_factory=list)
    outbox: Counter[str] = field(default_factory=Counter)
    sends: int = 0
    repeated_sends: list[tuple[int, int]] = field(default_factory=list)
    acks: int = 0
    acked_cases: int = 0
    cases: int = 0

    @property
    def settled(self) -> bool:
        return set(self.outbox) <= {"sent", "skipped"}


async def audit(db_url: str, api: FakeBotApi, traffic: Traffic) -> Audit:
    """Compare what was pushed, what was stored, what the outbox recorded and what the
    fake Bot API received. A "repeated send" is a message the fake accepted that no
    outbox row records: an attempt whose success was never recorded, then sent again."""
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:
            stored = await conn.execute(
                text(
                    "SELECT c.chat, m.platform_message_id FROM messages m "
                    "JOIN chats c ON c.id = m.chat_id WHERE m.role != 'bot'"
                )
            )
            messages = [(int(chat), int(mid)) for chat, mid in stored.all()]
            outbox = await conn.execute(
                text("SELECT status, chat, platform_message_id FROM outbox")
            )
            rows = outbox.all()
            cases = (await conn.execute(text("SELECT count(*) FROM cases"))).scalar_one()
    finally:
        await engine.dispose()
    result = Audit(stored=Counter(messages), cases=int(cases))
    result.missing = [key for key in traffic.pushed if key not in result.stored]
    result.doubled = [key for key, n in result.stored.items() if n > 1]
    result.outbox = Counter(status for status, _, _ in rows)
    recorded = {(int(chat), int(mid)) for status, chat, mid in rows if mid and status == "sent"}
    sent = [(int(m["chat"]["id"]), int(m["message_id"])) for m in api.sent]
    result.sends = len(sent)
    result.repeated_sends = [key for key in sent if key not in recorded]
    acks = [m for m in api.sent if m.get("text", "").startswith(("Thanks", "收到"))]
    result.acks = len(acks)
    # message ids are per chat: a reply is known by its chat and the id it replies to
    result.acked_cases = len(
        {(m["chat"]["id"], m["reply_to_message"]["message_id"]) for m in acks}
    )
    return result


async def drained(api: FakeBotApi, traffic: Traffic, db_url: str, timeout: float) -> Audit:
    """Wait until every update is confirmed and the outbox has settled; the last audit."""
    await api.wait_confirmed(traffic.last_update, timeout)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await audit(db_url, api, traffic)
        if result.settled or loop.time() > deadline:
            return result
        await asyncio.sleep(0.3)
