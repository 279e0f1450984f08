"""The case engine: turns one inbound event into stored records and outbox actions.

Standard library and `cases` only. Every method takes the unit of work it runs
in and never commits; the caller commits once (or releases a savepoint) per
event. Time comes from the event (`Inbound.at`) or an explicit `now`. The rules
live in mixins by subject: `intake`, `chat_commands`, `buttons`, `effects`.
"""

from __future__ import annotations

import uuid

from cases.buttons import Buttons
from cases.context import ActionRejected, AlreadyStored, Ctx, Outcome
from cases.model import (
    PRIORITIES,
    ActionKind,
    ChatKey,
    ChatKind,
    Inbound,
    InboundKind,
    MessageRole,
    Role,
    StaffAction,
    Status,
)
from cases.ports import UnitOfWork
from cases.records import CaseRecord, MessageRecord
from cases.settings import EngineSettings
from cases.texts import Texts

__all__ = ["ActionRejected", "Engine", "Outcome"]


class Engine(Buttons):
    """Rules for cases, threads, commands, statuses and SLA clocks."""

    def __init__(self, settings: EngineSettings, texts: Texts) -> None:
        self.settings = settings
        self.texts = texts

    # ----------------------------------------------------------------- entry

    async def handle(self, uow: UnitOfWork, event: Inbound) -> Outcome:
        outcome = Outcome()
        if not await uow.claim_event(event.chat.platform, event.event_id):
            outcome.duplicate = True
            return outcome
        if event.kind is InboundKind.MIGRATE:
            if event.new_chat:
                await uow.migrate_chat(event.chat, event.new_chat)
            return outcome
        chat = await uow.chat(event.chat)
        if event.kind is InboundKind.MEMBERSHIP:
            await self._membership(uow, event, chat, outcome)
            return outcome
        if chat is None or chat.kind is ChatKind.UNKNOWN:
            if chat is None:
                await uow.register_chat(
                    event.chat.without_thread(), ChatKind.UNKNOWN, event.chat_title
                )
            outcome.ignored = "unknown chat"
            return outcome
        if event.actor is None:
            outcome.ignored = "no sender"
            return outcome
        if event.actor.is_bot:
            outcome.ignored = "bot echo"
            return outcome
        await uow.remember_person(event.actor)
        role = await uow.role_of(event.actor.key)
        ctx = Ctx(uow, event, chat, role, outcome)
        try:
            if event.kind is InboundKind.MESSAGE:
                await self._message(ctx)
            elif event.kind is InboundKind.EDIT:
                await self._edit(ctx)
            elif event.kind is InboundKind.REACTION:
                await self._reaction(ctx)
            elif event.kind is InboundKind.BUTTON:
                await self._button(ctx)
        except AlreadyStored:
            outcome.duplicate = True
        return outcome

    async def act(self, uow: UnitOfWork, action: StaffAction) -> Outcome:
        """Apply a staff action from outside chat (dashboard, API) with the rules of
        the matching chat command. Raises ActionRejected on a bad request."""
        outcome = Outcome()
        role = await uow.role_of(action.actor.key)
        if not role.is_staff:
            raise ActionRejected("only staff may act on cases")
        case = await self._follow_merge(uow, action.case_id)
        if case is None:
            raise ActionRejected(f"no case #{action.case_id}")
        chat = await uow.chat_by_id(case.chat_id)
        if chat is None:
            raise ActionRejected(f"case #{action.case_id} has no chat")
        event = Inbound(
            InboundKind.BUTTON,
            f"web:{uuid.uuid4().hex}",
            ChatKey(chat.key.platform, chat.key.chat, case.thread),
            action.at,
            action.actor,
        )
        ctx = Ctx(uow, event, chat, role, outcome, quiet=True)
        outcome.case_id = case.id
        kind = action.kind
        if kind is ActionKind.ASSIGN:
            person = await uow.person(action.value) if action.value else None
            if person is None or not Role(person.role).is_staff:
                raise ActionRejected(f"{action.value!r} is not on the team")
            await self._assign(ctx, case, person.key)
        elif kind is ActionKind.PRIORITY:
            if action.value not in PRIORITIES:
                raise ActionRejected("priority must be P1, P2, P3 or P4")
            await self._set_priority(ctx, case, action.value)
        elif kind is ActionKind.STATUS:
            await self._act_status(ctx, case, action.value)
        elif kind is ActionKind.NOTE:
            if not action.value.strip():
                raise ActionRejected("a note needs text")
            note = await uow.add_message(
                MessageRecord(
                    chat_id=chat.id,
                    platform_message_id=None,
                    sender=action.actor.key,
                    sender_name=action.actor.display,
                    role=MessageRole.STAFF,
                    text=action.value,
                    at=action.at,
                    thread=case.thread,
                    internal=True,
                    case_id=case.id,
                )
            )
            assert note is not None  # a note has no platform id, so it cannot clash
            outcome.message_id = note.id
            await uow.add_event(
                self._id(case),
                "note",
                action.at,
                action.actor.key,
                {"text": action.value, "via": "web"},
            )
        elif kind is ActionKind.FOLLOWUP:
            if action.due_in is None or not action.value.strip():
                raise ActionRejected("a follow-up needs a due time and text")
            await self._add_followup(
                ctx, case, action.owner or action.actor.key, action.due_in, action.value
            )
        return outcome

    async def _act_status(self, ctx: Ctx, case: CaseRecord, value: str) -> None:
        try:
            status = Status(value)
        except ValueError:
            raise ActionRejected(f"unknown status {value!r}") from None
        if status is Status.RESOLVED:
            await self._resolve(ctx, case)
        elif status is Status.NEW:
            raise ActionRejected("a case cannot go back to new")
        elif status in (Status.ON_HOLD, Status.WAITING) and not case.status.is_active:
            # as /hold in chat: a resolved case is reopened first, never parked silently
            raise ActionRejected(f"case #{case.id} is {case.status.value}; reopen it first")
        else:
            await self._set_status(ctx, case, status, reason="web")
