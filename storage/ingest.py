"""Group commit: inbound events handled in batches, one transaction per batch, so one bad
event never spoils its batch: a batch in which an event raises is run again with one
savepoint per event.

Imports SQLAlchemy and `cases`. `submit()` resolves only after the event's batch
committed: that is when an adapter may acknowledge the event to its platform.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import (
    DBAPIError,
    InterfaceError,
    InternalError,
    OperationalError,
    PendingRollbackError,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cases.clock import Clock, SystemClock
from cases.context import EventFailed, Unreadable
from cases.engine import Engine, Outcome
from cases.model import Inbound, InboundKind
from storage import failed
from storage.uow import Caches, SqlUnitOfWork

log = logging.getLogger(__name__)

__all__ = ["EventFailed", "Ingestor", "IngestStats"]


@dataclass
class IngestStats:
    events: int = 0
    failed: int = 0
    duplicates: int = 0
    batches: int = 0
    seconds: float = 0.0


# PostgreSQL cancelled the statement because of another transaction (several processes on
# one database): a deadlock or a serialization failure passes, so the batch is tried again
# (the platform is not acknowledged and redelivers) instead of its events being rejected
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})


def transient_database_error(exc: BaseException) -> bool:
    """The database or the connection failed, not the statement: a dropped PostgreSQL
    backend, a locked or broken SQLite file, a deadlock; trying again may succeed."""
    if isinstance(exc, PendingRollbackError | InterfaceError | InternalError | OperationalError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, DBAPIError) and (
        getattr(exc.orig, "sqlstate", None) in TRANSIENT_SQLSTATES
    )


class _EventRaised(Exception):
    """An event of the batch raised in the pass without savepoints."""


def _spoils_batch(exc: Exception, session: AsyncSession) -> bool:
    """The connection or the transaction failed, not the event: every event of the
    batch must be tried again."""
    if transient_database_error(exc):
        return True
    transaction = session.sync_session.get_transaction()
    return transaction is None or not transaction.is_active


class Ingestor:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        engine: Engine,
        caches: Caches | None = None,
        batch_size: int = 200,
        max_wait: float = 0.0,
        observe: Callable[[Inbound, Outcome | Exception, float], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.sessions = sessions
        self.engine = engine
        self.caches = caches or Caches()
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.observe = observe
        self.stats = IngestStats()
        # batches in a row whose commit failed, and the last failure: `/healthz` says
        # unhealthy while nothing can be committed (read-only or full disk, lost lock)
        self.failed_commits = 0
        self.commit_error: str | None = None
        self._queue: asyncio.Queue[tuple[Inbound, asyncio.Future[Outcome]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._ids_survive_rollback: bool | None = None

    async def handle_batch(self, events: Sequence[Inbound]) -> list[Outcome | Exception]:
        """Handle events in order in one transaction; each result is an Outcome or the
        exception that rolled back that event alone. Raises if the commit failed.

        On SQLite the batch runs first without a savepoint per event and with its
        events' keys claimed in one statement. Only if one of its events raises is that
        pass rolled back and the batch run again with a savepoint per event, so the bad
        event is rolled back alone and recorded in failed events, as if there had been
        no first pass (it is logged once, by the second). PostgreSQL runs the second
        kind of pass only."""
        started = time.perf_counter()
        if self._ids_survive_rollback is None:
            async with self.sessions() as session:
                # PostgreSQL's sequences do not go back with a rollback: a first pass
                # rolled back would renumber the batch's cases (#N) in the second
                self._ids_survive_rollback = session.get_bind().dialect.name == "sqlite"
        if self._ids_survive_rollback:
            try:
                results = await self._fast_pass(events)
            except _EventRaised:
                # what the first pass read into the caches was rolled back with it
                self.caches.clear()
                results = await self._careful_pass(events)
        else:
            results = await self._careful_pass(events)
        elapsed = time.perf_counter() - started
        self.stats.batches += 1
        self.stats.seconds += elapsed
        for event, result in zip(events, results, strict=True):
            self.stats.events += 1
            if isinstance(result, Exception):
                self.stats.failed += 1
            elif result.duplicate:
                self.stats.duplicates += 1
            if self.observe is not None:
                self.observe(event, result, elapsed)
        return results

    async def _fast_pass(self, events: Sequence[Inbound]) -> list[Outcome | Exception]:
        """The batch with no savepoints; raises _EventRaised if an event did."""
        results: list[Outcome | Exception] = []
        async with self.sessions() as session, session.begin():
            uow = SqlUnitOfWork(session, self.caches)
            await uow.claim_events(
                [
                    (e.chat.platform, e.event_id)
                    for e in events
                    if e.kind is not InboundKind.UNREADABLE
                ]
            )
            async with uow.buffered_events():
                for event in events:
                    try:
                        results.append(await self.engine.handle(uow, event))
                    except Exception as exc:
                        if _spoils_batch(exc, session):
                            raise
                        raise _EventRaised from exc  # leaving the block rolls the pass back
                try:
                    uow.flush_events()
                except Exception as exc:  # whose event it was, the careful pass tells
                    if _spoils_batch(exc, session):
                        raise
                    raise _EventRaised from exc
            if uow.unused_claims():
                # an event took another way than the engine's claim: let the careful
                # pass claim each event for itself
                raise _EventRaised
        return results

    async def _careful_pass(self, events: Sequence[Inbound]) -> list[Outcome | Exception]:
        """The batch with one savepoint per event: a bad event is rolled back alone."""
        results: list[Outcome | Exception] = []
        async with self.sessions() as session, session.begin():
            uow = SqlUnitOfWork(session, self.caches)
            for event in events:
                try:
                    async with uow.savepoint():
                        results.append(await self.engine.handle(uow, event))
                except Exception as exc:  # one bad event must not spoil its batch
                    if _spoils_batch(exc, session):
                        # not this event's fault: nothing of the batch may be acknowledged
                        raise
                    if isinstance(exc, Unreadable):  # the adapter said why; no traceback
                        log.error("event %s in %s: %s", event.event_id, event.chat.key, exc)
                    else:
                        log.exception("event %s in %s failed", event.event_id, event.chat.key)
                    # a name remembered inside the rolled-back savepoint was not stored
                    self.caches.people_seen.clear()
                    error = f"{type(exc).__name__}: {exc}"
                    # kept, so that nothing acknowledged is lost (`casebot failed --retry`)
                    failed.record(session, event, error, self.clock.now())
                    results.append(EventFailed(error))
        return results

    async def handle(self, event: Inbound) -> Outcome:
        result = (await self.handle_batch([event]))[0]
        if isinstance(result, Exception):
            raise result
        return result

    # ------------------------------------------------------- the batching loop

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="ingest")

    async def stop(self) -> None:
        """Finish what was submitted, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def submit(self, event: Inbound) -> Outcome:
        """Queue an event; returns once its batch has committed. Raises EventFailed if
        the engine rejected it, or the storage error if the commit failed."""
        if self._task is None:
            return await self.handle(event)
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        await self._queue.put((event, future))
        return await future

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            deadline = time.monotonic() + self.max_wait
            while len(batch) < self.batch_size:
                try:
                    batch.append(self._queue.get_nowait())
                except asyncio.QueueEmpty:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    try:
                        batch.append(await asyncio.wait_for(self._queue.get(), remaining))
                    except TimeoutError:
                        break
            try:
                results: list[Outcome | Exception] = await self.handle_batch([e for e, _ in batch])
                self.failed_commits = 0
            except Exception as exc:  # the commit failed: nobody may acknowledge
                log.exception("batch of %d events failed to commit", len(batch))
                self.caches.clear()
                results = [exc] * len(batch)
                self.failed_commits += 1
                self.commit_error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
                self._queue.task_done()
