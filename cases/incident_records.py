"""Incidents as the engine sees them: the record, who it affects, what storage must do.

Standard library and `cases` only. `storage.incidents` implements `IncidentPort`
over the same session as the rest of the unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from cases.model import Outbound
from cases.records import AccountInfo, ChatInfo


class IncidentStep(StrEnum):
    START = "start"
    UPDATE = "update"
    RESOLVE = "resolve"


@dataclass(frozen=True)
class IncidentScope:
    """Which accounts an incident affects: every one, one tier, or the accounts named."""

    all: bool = False
    tier: str | None = None
    accounts: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        if self.tier is not None:
            return {"tier": self.tier}
        if self.accounts:
            return {"accounts": list(self.accounts)}
        return {"all": True}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> IncidentScope:
        if raw.get("tier"):
            return cls(tier=str(raw["tier"]))
        if raw.get("accounts"):
            return cls(accounts=tuple(str(a) for a in raw["accounts"]))
        return cls(all=True)

    def describe(self) -> str:
        if self.tier is not None:
            return f"tier {self.tier}"
        if self.accounts:
            return ", ".join(self.accounts)
        return "all accounts"


@dataclass(frozen=True)
class IncidentRecord:
    id: int
    title: str
    status: str  # open | resolved
    scope: IncidentScope
    started_at: datetime
    started_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None

    @property
    def ref(self) -> str:
        return f"INC-{self.id}"

    @property
    def is_open(self) -> bool:
        return self.status == "open"


class IncidentPort(Protocol):
    async def accounts_in_scope(self, scope: IncidentScope) -> Sequence[AccountInfo]: ...

    async def new_incident(
        self,
        title: str,
        scope: IncidentScope,
        accounts: Sequence[AccountInfo],
        at: datetime,
        actor: str | None,
    ) -> IncidentRecord: ...

    async def incident(self, incident_id: int) -> IncidentRecord | None:
        """The incident, its row locked for the change about to be made."""

    async def open_incidents(self) -> Sequence[IncidentRecord]: ...

    async def incident_for_account(self, account_id: int) -> IncidentRecord | None:
        """The newest open incident that affects the account, if any."""

    async def incident_chats(self, incident_id: int) -> Sequence[ChatInfo]:
        """The customer chats of every account the incident affects."""

    async def add_incident_update(
        self, incident_id: int, step: IncidentStep, text: str, at: datetime, actor: str | None
    ) -> int: ...

    async def add_incident_notices(
        self,
        incident_id: int,
        update_id: int,
        notices: Sequence[tuple[int, Outbound]],
        at: datetime,
    ) -> int:
        """Record that each chat (by id) is to be told the update and enqueue its
        message, in the caller's transaction; chats told this update already are left
        out. How many were queued."""

    async def chats_with_board(self, chat_ids: Sequence[int]) -> set[int]:
        """Those of the chats that have a status board posted."""

    async def resolve_incident(
        self, incident: IncidentRecord, at: datetime, actor: str | None
    ) -> IncidentRecord: ...

    async def link_incident_case(self, incident_id: int, case_id: int, at: datetime) -> None: ...
