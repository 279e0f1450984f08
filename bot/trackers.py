"""Issue-link sync wiring: the webhook sink (store the delivery and apply what it tells
in one transaction, before the tracker hears 2xx), the tracker clients and the poller.

Part of `bot`, which may import every package.
"""

from __future__ import annotations

from typing import Any

from adapters.trackers.clients import TrackerClients
from adapters.trackers.webhooks import Delivery, TrackerHooks
from scheduler.issue_poll import IssuePoller
from storage.issues import store_delivery
from storage.uow import SqlUnitOfWork


class TrackerSync:
    """What `[trackers.*]` turns on: webhook routes for trackers with a secret, polling
    for trackers with a token."""

    def __init__(self, app: Any) -> None:
        self.app = app
        config = app.config.trackers
        self.hooks = TrackerHooks(config, app.clock, self.store)
        self.clients = TrackerClients(config)
        self.poller = IssuePoller(
            app.sessions, app.engine, self.clients.fetch, self.clients.polled(), app.caches
        )

    def web_routes(self) -> list[Any]:
        if not any(c.webhook_secret for c in self.app.config.trackers.configured().values()):
            return []
        return self.hooks.web_routes()

    async def store(self, delivery: Delivery) -> bool:
        app = self.app
        async with app.sessions() as session, session.begin():
            fresh = await store_delivery(
                session, delivery.tracker, delivery.delivery_id, app.clock.now(), delivery.payload
            )
            if fresh:
                uow = SqlUnitOfWork(session, app.caches)
                for update in delivery.updates:
                    await app.engine.issue_update(uow, update)
        if fresh and delivery.updates:
            app.dispatcher.wake()
        return fresh

    async def poll(self) -> int:
        changed = await self.poller.tick(self.app.clock.now())
        if changed:
            self.app.dispatcher.wake()
        return changed

    async def close(self) -> None:
        await self.clients.close()
