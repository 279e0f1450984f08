"""The dispatcher: delivers outbox rows through the adapters after commit.

A chat's messages go out in order, each after the chat's edits before it and before
those after it; its edits of different anchors (cards, boards) go out up to
`EDITS_AT_ONCE` together, those of one anchor in order; chats run concurrently. A
failure backs off exponentially, honouring the platform's retry-after; after
`max_attempts`, or at once for a permanent error, the row is dead with its reason and
stays visible (`casebot outbox`). Once a send succeeded, recording it is retried
through database hiccups (a dropped connection, a lock held past the busy timeout) for
as long as they last, with the chat's queue held meanwhile (at once after a message,
once `RECORD_WINDOW` edits wait), and the receipt is kept in memory until it is
recorded: a row claimed again (its lease ran out while the database was locked, or
recording failed for good) is recorded from that receipt, never sent twice. Only a
crash between sending and recording, or another process claiming the row after its
lease ran out, can still repeat such sends (a message, or the edits of a chat's
window, where a card's first post is posted again); a bridge's `command_id` lets the
peer drop such a repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict, deque
from collections.abc import Callable, Coroutine, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.base import Adapter, Delivery, DeliveryError, Receipt
from cases.clock import Clock
from storage import outbox
from storage.ingest import transient_database_error
from storage.models import OutboxRow

log = logging.getLogger(__name__)

# seconds a puller's result is retried through database errors before it is answered
# 503 (it sends the result again; the receipt is kept meanwhile)
SETTLE_PATIENCE = 10.0
# sends recorded in one transaction at most
RECORD_BATCH = 200
# rows of one chat in one claim at most (as many as a claim took in all before 200)
PER_CHAT = 50
# edits of one chat sent and still waiting for the commit that records them, at most:
# a chat's next edit need not wait for the one before to be recorded (see _send_chat)
RECORD_WINDOW = 16
# edits of one chat (of different cards or boards) under way at once, at most
EDITS_AT_ONCE = 4

# a send done, and what its chat's task awaits: the commit that recorded it
_Queued = tuple[OutboxRow, Receipt, "asyncio.Future[None]"]


class _Claim(NamedTuple):
    groups: dict[tuple[str, str], list[OutboxRow]]  # the leased rows of each chat
    lookups: outbox.Lookups
    skipped: int  # superseded edits settled
    full: bool  # as many rows as a claim may take: more may be due at once


class _Edits:
    """A chat's edits under way together: at most `EDITS_AT_ONCE`, one per anchor (a
    newer edit of an anchor starts once the one before it ended)."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[bool]] = {}
        self._settled = 0
        self._errors: list[BaseException] = []

    async def start(self, anchor: str, send: Coroutine[Any, Any, bool]) -> None:
        try:
            earlier = self._tasks.get(anchor)
            if earlier is not None:
                await asyncio.wait([earlier])
                self._take(self._tasks.pop(anchor))
            while len(self._tasks) >= EDITS_AT_ONCE:
                done, _ = await asyncio.wait(
                    self._tasks.values(), return_when=asyncio.FIRST_COMPLETED
                )
                for key in [k for k, t in self._tasks.items() if t in done]:
                    self._take(self._tasks.pop(key))
        except BaseException:
            send.close()  # cancelled before its turn: never started, and never to be
            raise
        self._tasks[anchor] = asyncio.create_task(send)

    async def land(self) -> int:
        """Wait for every edit under way; how many were settled since the last landing.
        Raises the first error among them once all have ended."""
        if self._tasks:
            await asyncio.wait(self._tasks.values())
            for task in self._tasks.values():
                self._take(task)
            self._tasks.clear()
        settled, self._settled = self._settled, 0
        if self._errors:
            error, *more = self._errors
            self._errors.clear()
            for other in more:
                log.error("dispatcher: an edit failed as well", exc_info=other)
            raise error
        return settled

    async def end(self, cancel: bool) -> None:
        """The chat's task ends by an error: wait for the edits under way, each left to
        finish or, with `cancel` (`Dispatcher.stop` cut the chat off), cancelled, as a
        lone send was. Cancelling them on any error cut off a card's first post that the
        platform had taken: never recorded, it went out again once its lease ran out.
        None outlives the chat's task; their errors give way to the one it raises."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        if not tasks:
            return
        if cancel:
            for task in tasks:
                task.cancel()
        try:
            await asyncio.wait(tasks)
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
            raise
        finally:
            for task in tasks:
                if task.done():
                    self._take(task)
            for error in self._errors:
                if not isinstance(error, asyncio.CancelledError):
                    log.error("dispatcher: an edit failed as well", exc_info=error)
            self._errors.clear()

    def _take(self, task: asyncio.Task[bool]) -> None:
        if task.cancelled():
            self._errors.append(asyncio.CancelledError())
        elif task.exception() is not None:
            self._errors.append(cast(BaseException, task.exception()))
        elif task.result():
            self._settled += 1


async def _recorded(window: deque[asyncio.Future[None]]) -> list[BaseException]:
    """Wait for every record in `window` (the recorder finishes them whatever happens to
    the waiting task); the errors of those that failed, in order."""
    results = await asyncio.gather(*(asyncio.shield(f) for f in window), return_exceptions=True)
    window.clear()
    return [r for r in results if isinstance(r, BaseException)]


def _let_go(window: deque[asyncio.Future[None]]) -> None:
    """The records a cancelled chat task no longer waits for: the recorder finishes them
    (`Dispatcher.stop` gives it its grace), and an error it meets is retrieved here."""
    for done in window:
        done.add_done_callback(_retrieve)
    window.clear()


def _retrieve(done: asyncio.Future[None]) -> None:
    if not done.cancelled():
        done.exception()


def _posted(delivery: Delivery, receipt: Receipt) -> bool:
    """Whether a done edit posted a message (a card's first post, a board whose message
    was gone, a peer that cannot edit) rather than edit one in place: such an edit,
    sent again after a crash, would be a second copy."""
    return not (delivery.anchor_message_id and receipt.message_id == delivery.anchor_message_id)


def _may_pass(exc: BaseException) -> bool:
    """A database error worth retrying: only what may pass, since a constraint or a
    bug would fail the same way every time, and holding a chat's queue for it helps
    nobody."""
    return isinstance(exc, OSError) or transient_database_error(exc)


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        adapters: Mapping[str, Adapter],
        clock: Clock,
        *,
        max_attempts: int = 8,
        base_delay: timedelta = timedelta(seconds=2),
        max_delay: timedelta = timedelta(minutes=10),
        batch: int = 200,
        lease: timedelta = timedelta(minutes=2),
        idle_poll: float = 0.2,
        max_chats: int = 64,
        observe: Callable[[str, OutboxRow], None] | None = None,
        recheck_after: float = 1.0,
    ) -> None:
        self.sessions = sessions
        self.adapters = dict(adapters)
        self.clock = clock
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.batch = batch
        self.lease = lease
        self.idle_poll = idle_poll
        self.max_chats = max_chats
        self.observe = observe
        # seconds into a chat's claimed rows (its sends paced) after which its remaining
        # edits are checked again for newer versions written meanwhile: at 0.1 s every
        # busy chat checked on every claim at 200 cases a second, 2.3 s of CPU in 5 s
        self.recheck_after = recheck_after
        # commits in a row that failed (leasing due rows, recording sends) and the last
        # failure: `/healthz` says unhealthy while nothing sent can be recorded, even
        # when no customer writes meanwhile and the ingest side commits nothing
        self.failed_commits = 0
        self.commit_error: str | None = None
        self._wake = asyncio.Event()
        self._pull = asyncio.Event()  # pullers long-polling for commands
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[tuple[str, str], asyncio.Task[int]] = {}
        # When to claim again. A claim ranks every pending row, so one after every chat's
        # sends (and another after every claim that found rows) cost more CPU than the
        # sends at 50 cases a second: chats woken since the last claim began (None: any
        # chat), chats being sent to that may have rows their claim left out, and
        # whether a claim is under way (a wake then may miss its snapshot)
        self._woken: set[tuple[str, str]] | None = set()
        self._stale: set[tuple[str, str]] = set()
        self._claiming = False
        # outbox id -> the receipt of a send done and not yet recorded
        self._unrecorded: dict[int, Receipt] = {}
        # anchor -> when its platform takes an edit of it again, after one was refused
        # with a retry-after (a board edited moments ago, a rate limit): the anchor's
        # newer edits claimed before then wait for it in the claim's own transaction.
        # Trying each (refused, one transaction to record the failure) cost a call and a
        # commit per board row at 200 cases a second
        self._held: dict[str, datetime] = {}
        # sends done, waiting for the group commit that records them
        self._to_record: list[_Queued] = []
        self._recorder: asyncio.Task[None] | None = None

    def backoff(self, attempts: int, retry_after: float | None) -> timedelta:
        delay = min(self.max_delay, self.base_delay * (2 ** max(0, attempts - 1)))
        if retry_after is not None:
            delay = max(delay, timedelta(seconds=retry_after))
        return delay

    async def _claim(
        self, busy: set[tuple[str, str]], left: set[tuple[str, str]] | None = None
    ) -> _Claim:
        """Lease due rows (see `storage.outbox.claim_due` for the order rules), leaving
        out the chats being sent to right now, and group them by chat; with what their
        deliveries refer to, and how many were settled as superseded edits, all read
        and written in the claim's one transaction rather than a few per row. Chats
        whose rows the claim did not all take (a chat's next message waits for its
        first; more than `PER_CHAT`) are added to `left`."""
        now = self.clock.now()
        # only platforms this process sends to: another process, or a bridge that pulls
        # its own commands, takes the others
        async with self.sessions() as session, session.begin():
            rows = await outbox.claim_due(
                session, now, self.batch, self.lease, exclude=busy, platforms=list(self.adapters)
            )
            # a row sent before whose record was lost is recorded, not skipped
            candidates = [r for r in rows if r.id not in self._unrecorded]
            skipped = await outbox.superseded_rows(session, candidates)
            await outbox.skip_superseded(session, skipped, now)
            held = self._held_rows([r for r in candidates if r.id not in skipped], now)
            await outbox.defer(session, held)
            groups: dict[tuple[str, str], list[OutboxRow]] = defaultdict(list)
            for row in rows:
                if row.id not in skipped and row.id not in held:
                    groups[(row.platform, row.chat)].append(row)
            # one chat's rows go out one by one, paced by its platform: more than a
            # lease's worth would let another process claim the tail while it waits
            over = [r.id for g in groups.values() for r in g[PER_CHAT:]]
            await outbox.release(session, over)
            if left is not None:
                left.update(key for key, g in groups.items() if len(g) > PER_CHAT)
            groups = {key: g[:PER_CHAT] for key, g in groups.items()}
            full = len(rows) >= self.batch
            if left is not None and groups:
                # a full claim's limit may have cut a chat's edits as well (all of a
                # chat's edits are claimable at once, its messages one at a time)
                left.update(await outbox.chats_waiting(session, groups, edits=full))
            lookups = await outbox.lookups_for(session, [r for g in groups.values() for r in g])
        return _Claim(groups, lookups, len(skipped), full)

    def _held_rows(self, rows: list[OutboxRow], now: datetime) -> dict[int, datetime]:
        """The edits among `rows` whose anchor is held, and until when."""
        if not self._held:
            return {}
        for anchor in [a for a, until in self._held.items() if until <= now]:
            del self._held[anchor]
        return {
            r.id: self._held[r.anchor]
            for r in rows
            if r.kind == "upsert" and r.anchor in self._held
        }

    async def run_once(self) -> int:
        """Deliver what is due now and wait for it; returns how many rows were settled."""
        groups, lookups, skipped, _ = await self._claim(set())
        # every chat's sends finish (and are recorded) before a failure is raised
        settled = await asyncio.gather(
            *(self._send_chat(g, lookups) for g in groups.values()), return_exceptions=True
        )
        for result in settled:
            if isinstance(result, BaseException):
                raise result
        return skipped + sum(r for r in settled if isinstance(r, int))

    async def _send_chat(self, rows: list[OutboxRow], lookups: outbox.Lookups) -> int:
        """Send a chat's claimed rows in order. A message waits for the commit recording
        it before the chat's next row goes out; an edit (a card, a board) need not, since
        what a later row needs of it is known at once (`Lookups.learn`): up to
        `RECORD_WINDOW` of them wait together, so a busy triage chat's cards are recorded
        a window at a time instead of one per commit, and a database that stops
        answering still holds the chat once the window is full. The chat's task ends
        only when all are recorded."""
        window: deque[asyncio.Future[None]] = deque()
        try:
            settled = await self._send_rows(rows, lookups, window)
        except asyncio.CancelledError:
            # `stop()` cut the chat off: its records are the recorder's to finish; waiting
            # for them here held `stop()` for as long as the database did not answer
            _let_go(window)
            raise
        except BaseException:
            await _recorded(window)  # the error raised is the one to report
            raise
        errors = await _recorded(window)
        if errors:
            for other in errors[1:]:
                log.error("dispatcher: recording a send failed as well", exc_info=other)
            raise errors[0]
        return settled

    async def _send_rows(
        self,
        rows: list[OutboxRow],
        lookups: outbox.Lookups,
        window: deque[asyncio.Future[None]],
    ) -> int:
        edits = _Edits()
        try:
            return await self._send_in_order(rows, lookups, window, edits)
        except BaseException as exc:  # no edit under way is left behind
            await edits.end(cancel=isinstance(exc, asyncio.CancelledError))
            raise

    async def _send_in_order(
        self,
        rows: list[OutboxRow],
        lookups: outbox.Lookups,
        window: deque[asyncio.Future[None]],
        edits: _Edits,
    ) -> int:
        loop = asyncio.get_running_loop()
        checked = loop.time()  # when the claim settled its superseded edits
        skipped: set[int] = set()
        settled = 0
        for i, row in enumerate(rows):
            if row.id in skipped:
                settled += 1
                continue
            if (
                i > 0
                and row.kind == "upsert"
                and row.id not in self._unrecorded
                and loop.time() - checked >= self.recheck_after
            ):
                # the chat's earlier sends took a while (paced): edits written meanwhile
                # may make the rest of the claim's edits needless, as a check at send
                # time found them; one query for all of them, only when time passed
                skipped = await self._skip_superseded(rows[i:])
                checked = loop.time()
                if row.id in skipped:
                    settled += 1
                    continue
            if row.kind == "upsert":
                # edits of different anchors start in order and go on together: each is
                # one call that waits on the platform, and a busy triage chat's cards
                # one at a time fell behind at 200 cases a second
                await edits.start(row.anchor or str(row.id), self._send_row(row, lookups, window))
                continue
            settled += await edits.land()  # a message goes after every edit before it
            if await self._send_row(row, lookups, window):
                settled += 1
            else:
                # a message waits for its retry, and so do the messages after it
                rest = rows[i + 1 :]
                async with self.sessions() as session, session.begin():
                    await outbox.release(session, [r.id for r in rest])
                if any(r.kind == "upsert" for r in rest):
                    # edits are claimable at once: claim again when this chat's sends end
                    self._stale.add((row.platform, row.chat))
                break
        return settled + await edits.land()

    async def _skip_superseded(self, rows: list[OutboxRow]) -> set[int]:
        candidates = [r for r in rows if r.id not in self._unrecorded]
        async with self.sessions() as session, session.begin():
            skipped = await outbox.superseded_rows(session, candidates)
            await outbox.skip_superseded(session, skipped, self.clock.now())
        return skipped

    async def _send_row(
        self,
        row: OutboxRow,
        lookups: outbox.Lookups,
        window: deque[asyncio.Future[None]] | None = None,
    ) -> bool:
        """True when the row is settled (sent or dead); False to hold its chat. An edit
        joins `window` (see `_send_chat`) rather than wait for its record here."""
        adapter = self.adapters[row.platform]
        done = self._unrecorded.get(row.id)
        if done is not None:  # sent before; only its record was lost
            await self._record_sent(row, done, window, _posted(lookups.delivery(row), done))
            lookups.learn(row, done)
            return True
        delivery = lookups.delivery(row)
        try:
            receipt = await adapter.deliver(delivery)
        except DeliveryError as exc:
            return await self._failed(row, exc.reason, exc.retry_after, exc.permanent)
        except Exception as exc:  # an adapter bug must not stop the queue
            log.exception("adapter %s failed on outbox row %s", row.platform, row.id)
            return await self._failed(row, f"{type(exc).__name__}: {exc}", None, False)
        lookups.learn(row, receipt)
        # an edit that posted a message (a card's first post, or a board whose message
        # was gone) waits for its own record like a message: sent again after a crash it
        # would be a second copy, where an edit in place repeated changes nothing
        await self._record_sent(row, receipt, window, _posted(delivery, receipt))
        if self.observe:
            self.observe("sent", row)
        return True

    async def _record_sent(
        self,
        row: OutboxRow,
        receipt: Receipt,
        window: deque[asyncio.Future[None]] | None,
        posted: bool = False,
    ) -> None:
        if window is None:
            await self._record_until_saved(row, receipt)
            return
        if row.kind == "upsert" and posted:
            # its own record only: the chat's other edits go on meanwhile
            await self._record_until_saved(row, receipt)
            return
        if row.kind != "upsert":
            # a message: recorded, and everything before it, before the chat goes on; its
            # receipt is kept first, so an earlier record failing cannot leave it unknown
            window.append(self._queue_record(row, receipt))
            errors = await _recorded(window)
            if errors:
                raise errors[0]
            return
        window.append(self._queue_record(row, receipt))
        while len(window) > RECORD_WINDOW:
            await asyncio.shield(window.popleft())

    async def _record_until_saved(
        self, row: OutboxRow, receipt: Receipt, patience: float | None = None
    ) -> None:
        """Record a done send, retrying through database errors that may pass for as
        long as they last (or `patience` seconds, for a bridge's HTTP answer, which
        it sends again). Giving up after half the lease once let the row be claimed
        again and sent twice when a lock outlasted it; the receipt kept meanwhile
        records it instead, whoever claims it next in this process.

        Without `patience` the record joins a group commit: every send that finishes
        while one commit is under way is recorded in the next, so a burst of replies to
        many chats costs a few transactions instead of one each."""
        if patience is None:
            done = self._queue_record(row, receipt)
            try:
                await asyncio.shield(done)
            except asyncio.CancelledError:
                # a cancelled chat task leaves its record to finish, and its error to
                # be retrieved here rather than logged as never retrieved
                done.add_done_callback(_retrieve)
                raise
            return
        self._unrecorded[row.id] = receipt
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience
        delay = 0.05
        while True:
            try:
                await self._record([(row, receipt)])
                self.failed_commits = 0
                self._unrecorded.pop(row.id, None)
                return
            except (SQLAlchemyError, OSError) as exc:
                self._commit_failed(exc)
                if not _may_pass(exc) or loop.time() + delay >= deadline:
                    raise
                log.warning("recording sent outbox row %s failed, retrying: %s", row.id, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _queue_record(self, row: OutboxRow, receipt: Receipt) -> asyncio.Future[None]:
        """Hand a done send to the group commit; the future is done once it is recorded."""
        self._unrecorded[row.id] = receipt
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._to_record.append((row, receipt, done))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_queued(), name="records")
        return done

    async def _record_queued(self) -> None:
        """The group commit's one writer: records what is queued, a batch at a time,
        until nothing is."""
        while self._to_record:
            await asyncio.sleep(0)  # sends finishing in this turn of the loop join in
            batch = self._to_record[:RECORD_BATCH]
            del self._to_record[:RECORD_BATCH]
            try:
                await self._record_batch(batch)
            except BaseException as exc:  # cancelled (stop), or a bug: nobody waits forever
                cancelled = isinstance(exc, asyncio.CancelledError)
                for _, _, done in batch:
                    if done.done():
                        continue
                    if cancelled:
                        # stop(): a chat task cut off no longer waits (its shield let go),
                        # and an exception set here was logged as never retrieved
                        done.cancel()
                    else:
                        done.set_exception(exc)
                if cancelled:
                    for _, _, done in self._to_record:
                        done.cancel()
                    self._to_record.clear()
                    raise

    async def _record_batch(
        self,
        batch: list[tuple[OutboxRow, Receipt, asyncio.Future[None]]],
        broken: list[tuple[asyncio.Future[None], BaseException]] | None = None,
    ) -> None:
        """Record `batch` in one commit, through errors that may pass; on one that will
        not, each alone. A record broken for good fails its waiter only once every other
        record of the batch is committed (`broken` collects them meanwhile): its chat's
        task, raising, must not be seen before the other chats' records are."""
        delay = 0.05
        while True:
            try:
                await self._record([(row, receipt) for row, receipt, _ in batch])
                self.failed_commits = 0
                for row, _, done in batch:
                    self._unrecorded.pop(row.id, None)
                    if not done.done():
                        done.set_result(None)
                return
            except (SQLAlchemyError, OSError) as exc:
                self._commit_failed(exc)
                if not _may_pass(exc):
                    if len(batch) == 1:
                        if broken is not None:
                            broken.append((batch[0][2], exc))
                        elif not batch[0][2].done():
                            batch[0][2].set_exception(exc)
                        return
                    # one row's record is broken for good: the others are recorded alone
                    failed: list[tuple[asyncio.Future[None], BaseException]] = []
                    for item in batch:
                        await self._record_batch([item], failed)
                    for done, error in failed:
                        if not done.done():
                            done.set_exception(error)
                    return
                rows = ", ".join(str(row.id) for row, _, _ in batch)
                log.warning("recording sent outbox rows %s failed, retrying: %s", rows, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _record(self, items: list[tuple[OutboxRow, Receipt]]) -> None:
        async with self.sessions() as session, session.begin():
            await outbox.record_many(session, items, self.clock.now())

    async def _failed(
        self, row: OutboxRow, reason: str, retry_after: float | None, permanent: bool
    ) -> bool:
        now = self.clock.now()
        attempts = row.attempts + 1
        # a platform saying "wait" (rate limits) is not a failure: it never makes a row dead
        dead = permanent or (retry_after is None and attempts >= self.max_attempts)
        retry_at = None if dead else now + self.backoff(attempts, retry_after)
        # an edit (board, card) held back by a rate limit is retried and superseded as
        # designed: that is routine, not a warning
        throttled_edit = row.kind == "upsert" and retry_after is not None and not dead
        log.log(
            logging.INFO if throttled_edit else logging.WARNING,
            "outbox row %s to %s:%s failed (attempt %d%s): %s",
            row.id,
            row.platform,
            row.chat,
            attempts,
            ", dead" if dead else "",
            reason,
        )
        async with self.sessions() as session, session.begin():
            await outbox.mark_failed(session, row.id, now, reason, retry_at)
        if throttled_edit and row.anchor and retry_at is not None:
            self._held[row.anchor] = retry_at
        if self.observe:
            self.observe("dead" if dead else "retry", row)
        return dead

    def _commit_failed(self, exc: BaseException) -> None:
        self.failed_commits += 1
        self.commit_error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]

    # ------------------------------------------------------- pulled commands

    async def take(self, platform: str, after: int, limit: int) -> list[Delivery]:
        """`adapters.base.CommandQueue.take`: lease a puller's due rows, in the order
        the dispatcher would send them; a superseded edit is settled, not handed out.

        `after` (the puller's cursor) leaves nothing out: a row never handed out at or
        below it is due all the same. A chat's next message becomes due only once its
        first is settled, and the claim's turn-taking leaves older rows beyond `limit`
        while newer ones go out, so the cursor (the highest id handed out) passes rows
        not yet handed out; leaving those out kept them pending for ever. A row handed
        out is leased, so it is not handed out twice either way."""
        del after
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            rows = await outbox.claim_due(session, now, limit, self.lease, platforms=[platform])
            # superseded edits settled for the whole pull at once, as a claim does
            candidates = [r for r in rows if r.id not in self._unrecorded]
            skipped = await outbox.superseded_rows(session, candidates)
            await outbox.skip_superseded(session, skipped, now)
            taken = []
            recorded = []
            for row in rows:
                done = self._unrecorded.get(row.id)
                if done is not None:  # settled before; only its record was lost
                    await outbox.record_sent(session, row, done, now)
                    recorded.append(row.id)
                    continue
                if row.id not in skipped:
                    taken.append(await outbox.delivery_for(session, row))
        for row_id in recorded:
            self._unrecorded.pop(row_id, None)
        return taken

    async def wait(self, timeout: float) -> None:
        """`CommandQueue.wait`: until the engine wrote new actions, or `timeout`."""
        self._pull.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._pull.wait(), timeout)

    async def settle(
        self, platform: str, delivery_id: int, result: Receipt | DeliveryError
    ) -> bool:
        """`CommandQueue.settle`: record a pulled delivery's result as a sent one is."""
        async with self.sessions() as session:
            row = await outbox.row_by_id(session, delivery_id)
        if row is None or row.platform != platform:
            return False
        if isinstance(result, DeliveryError):
            if row.status == "pending":
                await self._failed(row, result.reason, result.retry_after, result.permanent)
            return True
        await self._record_until_saved(row, result, patience=SETTLE_PATIENCE)
        if self.observe:
            self.observe("sent", row)
        return True

    # ------------------------------------------------------------------ loop

    def wake(self, chats: Iterable[tuple[str, str]] | None = None) -> None:
        """New rows are committed, for `chats` ((platform, chat) pairs) or for any."""
        self._pull.set()
        if chats is None:
            self._woken = None
            self._wake.set()
            return
        # rows for a platform this process does not send to are a puller's (above)
        keys = {key for key in chats if key[0] in self.adapters}
        if not keys:
            return
        if self._woken is not None:
            self._woken |= keys
        # a chat being sent to is claimed for once its sends end, not now
        if self._claiming or not keys <= self._inflight.keys():
            self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="dispatcher")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming, then let sends under way finish (a send cut off halfway could
        be repeated after its lease runs out)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        tasks = list(self._inflight.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self._inflight.clear()
        recorder, self._recorder = self._recorder, None
        if recorder is not None and not recorder.done():
            # what the sends under way left to record: recorded now, or never waited for
            try:
                await asyncio.wait_for(asyncio.shield(recorder), grace)
            except TimeoutError:
                recorder.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await recorder

    async def _run(self) -> None:
        """Claim continuously and send each chat's rows in a task of its own, so a slow
        chat (a rate-limited group, the busy triage chat) never holds the others up.

        A claim is due when rows were committed for a chat not being sent to, when a
        chat's sends end and it may have rows its claim could not take (its next
        message, rows written meanwhile), after a claim that took as many as it may,
        and every `idle_poll` in any case (retries coming due, leases running out,
        rows another process wrote)."""
        inflight = self._inflight
        loop = asyncio.get_running_loop()
        due = True
        last = loop.time()
        while True:
            for key in [k for k, t in inflight.items() if t.done()]:
                task = inflight.pop(key)
                if not task.cancelled() and task.exception() is not None:
                    log.error("dispatcher: sending to %s failed", key, exc_info=task.exception())
                woken = self._woken is None or key in self._woken
                if key in self._stale or woken:
                    self._stale.discard(key)
                    due = True
            if self._wake.is_set() or loop.time() - last >= self.idle_poll:
                due = True
            if due and len(inflight) < self.max_chats:
                due = False
                self._wake.clear()
                busy = set(inflight)
                # rows written for a busy chat before this claim began: its claim may
                # not have seen them, and this one leaves the chat out
                self._stale |= busy if self._woken is None else busy & self._woken
                self._woken = set()
                self._claiming = True
                try:
                    groups, lookups, _, due = await self._claim(busy, self._stale)
                    if groups:
                        self.failed_commits = 0
                except Exception as exc:  # a database hiccup: wait and try again
                    log.exception("dispatcher pass failed")
                    self._commit_failed(exc)
                    groups = {}
                    due = True
                    await asyncio.sleep(1.0)
                finally:
                    self._claiming = False
                    # the poll counts from a claim's end, as a wait after it did: a claim
                    # slower than `idle_poll` (a large backlog) is not run back to back
                    last = loop.time()
                for key, rows in groups.items():
                    inflight[key] = asyncio.create_task(self._send_chat(rows, lookups))
            # as many chats as may be sent to at once: nothing to claim until one ends
            full = len(inflight) >= self.max_chats
            if full or not (due or self._wake.is_set()):
                waiters: set[asyncio.Future[Any]] = set(inflight.values())
                timeout = None
                if not full:
                    waiters.add(asyncio.ensure_future(self._wake.wait()))
                    timeout = max(0.0, last + self.idle_poll - loop.time())
                _, pending = await asyncio.wait(
                    waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                for waiter in pending:
                    if waiter not in inflight.values():
                        waiter.cancel()
