"""The SLA sweeper: finds due cases with one indexed query and handles each once.

Imports `cases`, `storage` and the standard library. `tick(now)` claims due cases
in batches (`storage.sweep.claim_due_cases`, locked on PostgreSQL) in one transaction
per batch: `cases.escalation.decide` says what is due on each case, its audit events,
nudges (outbox rows) and moved-on timers are buffered and written in a few bulk
statements, and the batch commits once. A case whose decision fails is dropped from
the batch and retried later. A reminder therefore fires exactly once: its outbox row
and the advance of its timer commit together, a restart finds the timers that fell
due while it was down, and a second sweeper on PostgreSQL skips the rows this one
has locked (on SQLite, writers are serialised and it sees the timers moved on).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cases import escalation, routing, sla
from cases.calendar import BusinessCalendar
from cases.engine import Engine
from cases.model import (
    Outbound,
    OutboundKind,
    SystemAction,
    SystemKind,
)
from cases.people import dm_key
from cases.records import CaseRecord, ChatInfo, FollowUpRecord
from storage.sweep import TIMER_COLUMNS, claim_due_cases, postpone, write_sweep_batch
from storage.uow import Caches, SqlUnitOfWork, outbox_values

if TYPE_CHECKING:
    from storage.db import Session as AsyncSession
    from storage.db import Sessions

log = logging.getLogger(__name__)

RETRY_AFTER_ERROR = timedelta(minutes=5)


class Sweeper:
    """Handles due SLA timers, customer nudges, closings and follow-ups."""

    def __init__(
        self,
        sessions: Sessions,
        engine: Engine,
        caches: Caches | None = None,
        batch: int = 500,
        max_rounds: int = 20,
        observe: Callable[[int, float], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.engine = engine
        self.caches = caches or Caches()
        self.batch = batch
        self.max_rounds = max_rounds
        self.observe = observe

    @property
    def policy(self) -> sla.EscalationPolicy:
        return self.engine.settings.escalation

    async def tick(self, now: datetime) -> int:
        """Handle every case due at `now`; returns how many were handled."""
        started = time.perf_counter()
        handled = 0
        # rounds are bounded so a case whose timer does not move cannot spin forever
        for _ in range(self.max_rounds):
            async with self.sessions() as session, session.begin():
                cases = await claim_due_cases(session, now, self.batch)
                uow = SqlUnitOfWork(session, self.caches)
                writes = Writes()
                for case in cases:
                    mark = writes.mark()
                    try:
                        await self.handle(uow, writes, case, now)
                    except Exception:
                        log.exception("sweeper: case #%s failed; retrying later", case.id)
                        writes.rollback(mark)
                        await postpone(session, self._id(case), now + RETRY_AFTER_ERROR)
                await writes.flush(session, now)
                handled += len(cases)
            if len(cases) < self.batch:
                break
        if self.observe is not None:
            self.observe(handled, time.perf_counter() - started)
        return handled

    # ------------------------------------------------------------ one case

    async def handle(
        self, uow: SqlUnitOfWork, writes: Writes, case: CaseRecord, now: datetime
    ) -> None:
        """Decide what is due on one claimed case and buffer its writes in `writes`,
        which the claiming transaction flushes in bulk. Status changes (auto-resolve,
        close) go through the engine at once, in a savepoint of their own."""
        chat = await uow.chat_by_id(case.chat_id)
        if chat is None:
            case.next_due_at = None
            writes.cases.append(_timers(case))
            return
        settings = self.engine.settings
        account = chat.account
        name = account.name if account else None
        targets = settings.sla.targets(account.tier if account else None, case.priority)
        calendar = settings.calendar(name, case.priority)
        desk = settings.calendars.get(name or "") or BusinessCalendar.always()
        if routing.pass_due(case, now):
            # nobody took a routed case in time: the engine passes it to the next person
            await writes.flush(uow.session, now)
            async with uow.session.begin_nested():
                await self.engine.system(
                    uow, SystemAction(SystemKind.PASS_ON, self._id(case), now), case
                )
        followups = []
        followup_at = sla.parse_at(case.sla.get("followup_at"))
        if followup_at is not None and followup_at <= now:
            followups = list(await uow.followups(self._id(case)))
        dues_before = sla.due_times(case)
        decision = escalation.decide(
            case, targets, calendar, desk, self.policy, account, followups, now
        )
        case_id = self._id(case)
        for event_type, data in decision.events:
            writes.events.append(
                {"case_id": case_id, "type": event_type, "at": now, "actor": None, "data": data}
            )
        writes.followups.extend(decision.followups)
        for nudge in decision.nudges:
            for action in await self._nudge(uow, case, chat, nudge, writes):
                writes.outbox.append(action)
        if decision.customer_nudge:
            writes.outbox.extend(
                self.engine.to_customer(case, chat, "customer_nudge", "customer_nudge")
            )
        if decision.auto_resolve or decision.close:
            # the engine's status path reads and writes directly: flush what came before
            await writes.flush(uow.session, now)
            kind = SystemKind.AUTO_RESOLVE if decision.auto_resolve else SystemKind.CLOSE
            async with uow.session.begin_nested():
                await self.engine.system(uow, SystemAction(kind, case_id, now), case)
            return
        sla.refresh_due(case, targets, calendar, now, self.policy)
        dues = sla.due_times(case)
        if dues != dues_before:
            # recomputed here after a change made from the triage chat (see the engine)
            writes.events.append(
                {"case_id": case_id, "type": "sla_due", "at": now, "actor": None, "data": dues}
            )
        writes.cases.append(_timers(case))

    async def _nudge(
        self,
        uow: SqlUnitOfWork,
        case: CaseRecord,
        chat: ChatInfo,
        nudge: escalation.Nudge,
        writes: Writes,
    ) -> list[Outbound]:
        settings = self.engine.settings
        assignee = await writes.name(uow, case.assignee) if case.assignee else None
        owner = ""
        if nudge.followup is not None:
            owner = await writes.name(uow, nudge.followup.owner)

        def text_in(locale: str) -> str:
            return escalation.render(
                self.engine.texts,
                locale,
                nudge,
                case,
                chat.account.name if chat.account else (chat.title or chat.key.key),
                self._link(chat, case),
                assignee or self.engine.texts.render("nobody", locale),
                owner,
            )

        text = text_in(settings.staff_locale)
        triage = settings.triage_chat
        actions = []
        # checked at send time, whoever it was given to: a reminder carries internal
        # text, so someone who is not staff (now) never hears it; triage does instead
        people = [p for p in nudge.people if (await uow.role_of(p)).is_staff]
        for person in people:
            # someone known under several keys hears it where the case lives, if the
            # bot can DM them there
            key = dm_key(await writes.identities(uow, person), chat.key.platform, settings.direct)
            platform, _, user_id = key.partition(":")
            actions.append(
                Outbound(
                    OutboundKind.DM,
                    platform,
                    user_id,
                    # each person reads their own DM in their own locale
                    text=text_in(settings.staff_locale_of(key)),
                    person=key,
                    fallback_chat=triage.chat if triage and triage.platform == platform else None,
                    case_id=case.id,
                    purpose="nudge",
                    extra={"nudge": nudge.kind},
                )
            )
        if (nudge.triage or not people) and triage is not None:
            actions.append(
                Outbound(
                    OutboundKind.SEND,
                    triage.platform,
                    triage.chat,
                    text=text,
                    case_id=case.id,
                    purpose="nudge",
                    extra={
                        "nudge": nudge.kind,
                        **self.engine.settings.card_thread(triage.platform, case.id),
                    },
                )
            )
        return actions

    def _link(self, chat: ChatInfo, case: CaseRecord) -> str:
        public = self.engine.settings.public_url
        if public:
            return f"{public.rstrip('/')}/cases/{case.id}"
        return self.engine.settings.message_link(chat.key, case.source_message_id)

    @staticmethod
    def _id(case: CaseRecord) -> int:
        assert case.id is not None, "claimed case has no id"
        return case.id


_TIMER_COLUMNS = TIMER_COLUMNS


def _timers(case: CaseRecord) -> dict[str, Any]:
    values: dict[str, Any] = {c: getattr(case, c) for c in _TIMER_COLUMNS}
    values["sla"] = dict(case.sla)
    values["case_id"] = case.id
    return values


class Writes:
    """What one claiming transaction writes, buffered so it goes out in a few bulk
    statements (executemany) instead of several round trips per case."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.outbox: list[Outbound] = []
        self.cases: list[dict[str, Any]] = []
        self.followups: list[FollowUpRecord] = []
        self.names: dict[str, str] = {}
        self.keys: dict[str, tuple[str, ...]] = {}

    def mark(self) -> tuple[int, int, int, int]:
        return len(self.events), len(self.outbox), len(self.cases), len(self.followups)

    def rollback(self, mark: tuple[int, int, int, int]) -> None:
        """Forget what one failed case buffered."""
        del self.events[mark[0] :], self.outbox[mark[1] :]
        del self.cases[mark[2] :], self.followups[mark[3] :]

    async def name(self, uow: SqlUnitOfWork, key: str) -> str:
        if key not in self.names:
            person = await uow.person(key)
            self.names[key] = person.name if person else key
        return self.names[key]

    async def identities(self, uow: SqlUnitOfWork, person: str) -> tuple[str, ...]:
        if person not in self.keys:
            self.keys[person] = tuple(await uow.identities(person))
        return self.keys[person]

    async def flush(self, session: AsyncSession, now: datetime) -> None:
        await write_sweep_batch(
            session,
            self.events,
            [outbox_values(a, now) for a in self.outbox],
            self.cases,
            [
                {"id": f.id, "nudged_at": f.nudged_at, "escalated_at": f.escalated_at}
                for f in self.followups
            ],
        )
        self.events, self.outbox, self.cases, self.followups = [], [], [], []
