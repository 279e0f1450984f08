"""The adapter protocol: what every chat platform implements. Imports `cases` only.

An adapter turns platform updates into `cases.model.Inbound` events, hands them
to a sink that returns only after commit (then it may acknowledge), and carries
out outbox actions, answering each with a `Receipt` or a `DeliveryError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from cases.engine import Outcome
from cases.model import Inbound

Sink = Callable[[Inbound], Awaitable[Outcome]]


@dataclass(frozen=True)
class Delivery:
    """One outbox row as an adapter sees it."""

    id: int
    kind: str
    platform: str
    chat: str
    purpose: str
    payload: dict[str, Any]
    case_id: int | None = None
    anchor: str | None = None
    anchor_message_id: str | None = None  # for upserts: the message to edit, if sent before
    attempts: int = 0

    @property
    def text(self) -> str:
        return str(self.payload.get("text", ""))


@dataclass(frozen=True)
class Receipt:
    message_id: str | None = None
    thread: str | None = None  # a forum topic created for the case
    chat: str | None = None  # where it went, when not the row's own chat (fallbacks)
    notes: tuple[str, ...] = field(default_factory=tuple)


class DeliveryError(Exception):
    """Delivery failed. `retry_after` (seconds) when the platform said when to retry;
    `permanent` when retrying cannot help (the row becomes dead at once)."""

    def __init__(
        self, reason: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.permanent = permanent


class AdapterConfigError(Exception):
    """The platform refused our configuration (e.g. a bad token): a user mistake,
    reported as one line with exit code 2. The message names the config key."""


class Adapter(Protocol):
    platform: str

    async def start(self, sink: Sink) -> None: ...

    async def stop(self) -> None: ...

    async def deliver(self, delivery: Delivery) -> Receipt: ...
