"""Wiring: builds storage, engine, ingest, adapters, dispatcher, scheduler and web
from one Config, starts them in order and stops them in reverse.

Part of `bot`, the only package that imports every other.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from typing import Any

from adapters.base import Adapter
from bot.config import Config
from bot.dispatcher import Dispatcher
from bot.metrics import Metrics
from bot.texts import Catalogue
from bot.wiring import account_specs, build_adapters, engine_settings, staff_people, staff_roles
from cases.clock import Clock, SystemClock
from cases.engine import Engine
from cases.model import Inbound
from storage.db import make_engine, make_sessions, migrate
from storage.directory import sync_directory
from storage.ingest import Ingestor
from storage.search_index import index_pending
from storage.uow import Caches

log = logging.getLogger(__name__)


class App:
    """One running casebot. Tests build it with a FrozenClock and extra adapters."""

    def __init__(
        self,
        config: Config,
        clock: Clock | None = None,
        adapters: dict[str, Adapter] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.texts = Catalogue()
        self.metrics = Metrics()
        self.adapters: dict[str, Adapter] = dict(adapters or {})
        self.db = make_engine(config.storage.url)
        self.sessions = make_sessions(self.db)
        self.caches = Caches()
        self.engine = Engine(engine_settings(config), self.texts)
        self.ingestor = Ingestor(
            self.sessions,
            self.engine,
            self.caches,
            batch_size=config.ingest.batch_size,
            max_wait=config.ingest.max_wait.total_seconds(),
            observe=self.metrics.observe_event,
            clock=self.clock,
        )
        d = config.dispatcher
        self.dispatcher = Dispatcher(
            self.sessions,
            self.adapters,
            self.clock,
            max_attempts=d.max_attempts,
            base_delay=d.base_delay,
            max_delay=d.max_delay,
            batch=d.batch,
            lease=d.claim_for,
            idle_poll=d.idle_poll.total_seconds(),
            observe=self.metrics.observe_outbox,
        )
        from bot.trackers import TrackerSync

        self.trackers = TrackerSync(self)
        # route sources beside the adapters' (tracker webhooks)
        self.route_sources: list[Any] = [self.trackers]
        self.scheduler: Any = None
        self.web: Any = None
        self._indexer: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def sink(self, event: Inbound) -> Any:
        """Adapters hand events here; returns after commit, so they may acknowledge."""
        outcome = await self.ingestor.submit(event)
        if outcome.actions:
            self.dispatcher.wake((a.platform, a.chat) for a in outcome.actions)
        if outcome.due_now and self.scheduler is not None:
            self.scheduler.sweep_soon()
        return outcome

    async def prepare(self) -> None:
        """Migrate and sync the directory (accounts, chats, staff) from config."""
        await migrate(self.db)
        async with self.sessions() as session, session.begin():
            await sync_directory(
                session,
                account_specs(self.config),
                staff_roles(self.config),
                self.config.staff.names,
                self.engine.settings.triage_chat,
                self.clock.now(),
                staff_people(self.config),
            )
        self.caches.clear()

    def _build_adapters(self) -> None:
        built = build_adapters(self.config, self.clock, self.texts, queue=self.dispatcher)
        for platform, adapter in built.items():
            self.adapters.setdefault(platform, adapter)
        # a bridge that pulls its commands takes them itself; the dispatcher sends the rest
        self.dispatcher.adapters.update(
            {p: a for p, a in self.adapters.items() if not getattr(a, "pulls", False)}
        )

    async def start(self, *, web: bool = True, scheduler: bool = True) -> None:
        for warning in self.config.warnings():
            log.warning("config: %s", warning)
        await self.prepare()
        self._build_adapters()
        self.ingestor.start()
        if self.db.dialect.name == "sqlite":
            self._indexer = asyncio.create_task(self._index_search(), name="search-index")
        if web and self.config.http.enabled:
            from web.server import WebServer

            self.web = WebServer(self)
            await self.web.start()
        for adapter in self.adapters.values():
            await adapter.start(self.sink)
        if self.config.dispatcher.enabled:
            self.dispatcher.start()
        if scheduler and self.config.scheduler.enabled:
            from scheduler.service import SchedulerService

            self.scheduler = SchedulerService(self)
            self.scheduler.start()
        log.info("casebot running: adapters %s", ", ".join(self.adapters) or "none")

    async def stop(self) -> None:
        """Stop sending (letting sends under way finish while the adapters can still
        carry them), stop taking updates, finish what was taken, then close storage.
        Whatever is left in the outbox goes out at the next start."""
        if self.scheduler is not None:
            self.scheduler.stop()
        await self.dispatcher.stop()
        for adapter in self.adapters.values():
            with contextlib.suppress(Exception):
                await adapter.stop()
        await self.ingestor.stop()
        if self._indexer is not None:
            self._indexer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._indexer
        if self.web is not None:
            await self.web.stop()
        await self.trackers.close()
        await self.db.dispose()

    async def _index_search(self, every: float = 2.0, batch: int = 100) -> None:
        """Bring stored messages into SQLite's search index in batches, off the ingest
        path; search reads the few newest messages row by row meanwhile. A batch holds
        the event loop while it runs (SQLite is inline): 100 messages take about 2.5 ms,
        where 500 held every answer under way for 12 ms."""
        while True:
            try:
                async with self.sessions() as session, session.begin():
                    added = await index_pending(session, batch)
            except Exception:  # a locked database: the next round catches up
                log.exception("search index: catching up failed")
                added = 0
            await asyncio.sleep(0 if added == batch else every)

    async def run_forever(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, self._stopping.set)
        try:
            await self.start()
            freeze_startup()
            await self._stopping.wait()
        finally:
            log.info("shutting down")
            await self.stop()


def freeze_startup() -> None:
    """Keep what start-up built (modules, config, the engine, SQLAlchemy's and PTB's
    tables), which lives as long as the process, out of the cyclic garbage collector's
    passes. Each full pass walked all of it: 56-88 ms with the event loop held, several
    times a minute at 200 updates a second, which made the slowest answers (py-spy and
    gc.callbacks on bench/latency.py, 2026-12-08). Garbage made later is collected as
    before."""
    gc.collect()
    gc.freeze()
