"""The adapter protocol: what every chat platform implements. Imports `cases` only.

An adapter turns platform updates into `cases.model.Inbound` events, hands them
to a sink that returns only after commit (then it may acknowledge), and carries
out outbox actions, answering each with a `Receipt` or a `DeliveryError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from cases.delivery import Delivery, Receipt
from cases.engine import Outcome
from cases.model import Capabilities, Inbound

__all__ = [
    "Adapter",
    "AdapterConfigError",
    "CommandQueue",
    "Delivery",
    "DeliveryError",
    "Receipt",
    "Sink",
]

Sink = Callable[[Inbound], Awaitable[Outcome]]


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
    """`platform` names the adapter's keys ("telegram", a bridge's name); `capabilities`
    tells the engine what to degrade. `web_routes()` (optional) mounts its HTTP routes."""

    platform: str
    capabilities: Capabilities

    async def start(self, sink: Sink) -> None: ...

    async def stop(self) -> None: ...

    async def deliver(self, delivery: Delivery) -> Receipt: ...


class CommandQueue(Protocol):
    """The outbox as a platform that fetches its own work sees it (a bridge in pull
    mode): `bot` implements it over the dispatcher, so adapters never touch storage."""

    async def take(self, platform: str, after: int, limit: int) -> list[Delivery]:
        """Lease due deliveries of the platform: those never handed out, and any handed
        out earlier whose lease ran out unanswered. `after`, the puller's cursor, leaves
        none out (a chat's next message, due once its first is settled, is below it)."""

    async def wait(self, timeout: float) -> None:
        """Return when new work may be due, or after `timeout` seconds."""

    async def settle(
        self, platform: str, delivery_id: int, result: Receipt | DeliveryError
    ) -> bool:
        """Record a delivery's outcome; False when the platform has no such delivery."""
