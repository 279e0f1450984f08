"""Helpers for the SLA tests: a harness with a sweeper, and outbox inspection."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from scheduler.sweeper import Sweeper
from storage.models import CaseEvent, CaseRow, FollowUp
from tests.harness import ACME, GLOBEX, Harness

OWNER = "telegram:2001"  # lena, a lead, owns Acme
BACKUP = "telegram:1002"  # erin stands in


def accounts(**acme: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": "Acme",
            "tier": "premium",
            "chats": [f"telegram:{ACME}"],
            "intake": "tag",
            "owner": OWNER,
            "backup": BACKUP,
            **acme,
        },
        {
            "name": "Globex",
            "tier": "standard",
            "chats": [f"telegram:{GLOBEX}"],
            "intake": "auto",
            "locale": "zh",
        },
    ]


class SlaHarness(Harness):
    async def __aenter__(self) -> SlaHarness:
        await super().__aenter__()
        self.sweeper = Sweeper(self.sessions, self.engine, batch=50)
        return self

    async def tick(self, at: datetime | None = None) -> int:
        return await self.sweeper.tick(at or self.clock.now())

    async def nudges(self) -> list[dict[str, Any]]:
        """Outbox rows since the last call, as dicts: kind, chat, person, purpose, text."""
        rows = await self.outbox()
        new = rows[self._seen_outbox :]
        self._seen_outbox = len(rows)
        return [
            {
                "kind": r.kind,
                "chat": r.chat,
                "person": r.payload.get("person"),
                "fallback": r.payload.get("fallback_chat"),
                "purpose": r.purpose,
                "nudge": (r.payload.get("extra") or {}).get("nudge"),
                "thread": r.payload.get("thread"),
                "text": r.payload.get("text", ""),
            }
            for r in new
            if r.purpose not in ("card", "board")
        ]

    async def events(self, case_id: int, prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
        async with self.sessions() as session:
            rows = await session.execute(
                select(CaseEvent.type, CaseEvent.data)
                .where(CaseEvent.case_id == case_id)
                .order_by(CaseEvent.id)
            )
            return [(t, d) for t, d in rows.all() if t.startswith(prefix)]

    async def row(self, case_id: int) -> CaseRow:
        async with self.sessions() as session:
            result = await session.execute(select(CaseRow).where(CaseRow.id == case_id))
            return result.scalar_one()

    async def followup_rows(self) -> list[FollowUp]:
        async with self.sessions() as session:
            return list((await session.execute(select(FollowUp).order_by(FollowUp.id))).scalars())

    async def open_case(self, text: str = "our VM is down", who: str = "alice") -> int:
        await self.say(who, text)
        outcome = await self.say("evan", "/case", reply_to=self.last_message_id)
        assert outcome.case_id is not None
        await self.nudges()
        return outcome.case_id
