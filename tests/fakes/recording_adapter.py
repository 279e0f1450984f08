"""A recording adapter for dispatcher tests: keeps what it was asked to deliver and
fails on command. Imports `adapters.base` only."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from adapters.base import Delivery, DeliveryError, Receipt, Sink


class RecordingAdapter:
    def __init__(self, platform: str = "telegram") -> None:
        self.platform = platform
        self.delivered: list[Delivery] = []
        self.failures: list[Callable[[Delivery], DeliveryError | None]] = []
        self._ids = itertools.count(1000)

    async def start(self, sink: Sink) -> None:
        self.sink = sink

    async def stop(self) -> None:
        pass

    def fail_next(
        self, error: DeliveryError, when: Callable[[Delivery], bool] | None = None
    ) -> None:
        def rule(d: Delivery) -> DeliveryError | None:
            return error if when is None or when(d) else None

        self.failures.append(rule)

    async def deliver(self, delivery: Delivery) -> Receipt:
        for i, rule in enumerate(self.failures):
            error = rule(delivery)
            if error is not None:
                del self.failures[i]
                raise error
        self.delivered.append(delivery)
        if delivery.kind == "upsert" and delivery.anchor_message_id:
            return Receipt(message_id=delivery.anchor_message_id)
        return Receipt(message_id=str(next(self._ids)))

    def texts(self, chat: str | None = None) -> list[str]:
        return [d.text for d in self.delivered if chat is None or d.chat == chat]
