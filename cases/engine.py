"""The case engine: turns one inbound event into stored records and outbox actions.

Standard library and `cases` only. Every method takes the unit of work it runs
in and never commits; the caller commits once (or releases a savepoint) per
event. Time comes from the event (`Inbound.at`) or an explicit `now`. The rules
live in mixins by subject: `intake`, `chat_commands`, `buttons`, `effects`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from cases import sla
from cases.commands import PRIVATE_COMMANDS, parse_command
from cases.context import (
    ActionConflict,
    ActionRejected,
    AlreadyStored,
    Ctx,
    Outcome,
    Unreadable,
)
from cases.incidents import Incidents
from cases.issues import parse_issue_url
from cases.links import Links
from cases.model import (
    PRIORITIES,
    ActionKind,
    Actor,
    ChatKey,
    ChatKind,
    Inbound,
    InboundKind,
    MessageRole,
    Outbound,
    OutboundKind,
    Role,
    StaffAction,
    Status,
    SystemAction,
    SystemKind,
)
from cases.ports import UnitOfWork
from cases.records import CaseRecord, ChatInfo, Joined, MessageRecord
from cases.settings import EngineSettings
from cases.texts import Texts

__all__ = ["ActionConflict", "ActionRejected", "Engine", "Outcome"]


class Engine(Links, Incidents):
    """Rules for cases, threads, commands, statuses and SLA clocks."""

    def __init__(self, settings: EngineSettings, texts: Texts) -> None:
        self.settings = settings
        self.texts = texts
        self._settled = sla.SettledClocks()

    # ----------------------------------------------------------------- entry

    async def handle(self, uow: UnitOfWork, event: Inbound) -> Outcome:
        if event.kind is InboundKind.UNREADABLE:
            raise Unreadable(event.text or "the adapter could not read this event")
        outcome = Outcome()
        if not await uow.claim_event(event.chat.platform, event.event_id):
            outcome.duplicate = True
            return outcome
        if event.kind is InboundKind.MIGRATE:
            if event.new_chat:
                await uow.migrate_chat(event.chat, event.new_chat)
            return outcome
        chat = await uow.chat(event.chat)
        if chat is not None and event.chat_title and event.chat_title != chat.title:
            # configured chats are stored before the bot sees them, and groups get renamed
            chat = await uow.retitle_chat(chat, event.chat_title)
        if event.kind is InboundKind.MEMBERSHIP:
            await self._membership(uow, event, chat, outcome)
            return outcome
        if event.is_direct and event.kind in (InboundKind.MESSAGE, InboundKind.COMMAND):
            await self._private(uow, event, chat, outcome)
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
            if event.kind in (InboundKind.MESSAGE, InboundKind.COMMAND):
                await self._message(ctx)
            elif event.kind is InboundKind.EDIT:
                await self._edit(ctx)
            elif event.kind is InboundKind.DELETE:
                await self._delete(ctx)
            elif event.kind is InboundKind.REACTION:
                await self._reaction(ctx)
            elif event.kind is InboundKind.BUTTON:
                await self._button(ctx)
        except AlreadyStored:
            outcome.duplicate = True
        return outcome

    async def _private(
        self, uow: UnitOfWork, event: Inbound, chat: ChatInfo | None, outcome: Outcome
    ) -> None:
        """A person's private chat with the bot is no support chat: it answers only
        /login (a sign-in link for staff, a refusal for anyone else), /start and /help,
        and keeps nothing else but the chat's id: a bridge's direct chats have ids of
        their own, and DMs to the person go there."""
        if event.actor is not None and not event.actor.is_bot:
            await uow.remember_person(event.actor)
            await uow.remember_direct_chat(event.actor.key, event.chat.chat)
        command = parse_command(event.text)
        if event.actor is None or event.actor.is_bot or command is None:
            outcome.ignored = "private chat"
            return
        if command.name not in PRIVATE_COMMANDS:
            outcome.ignored = "private chat"
            return
        if chat is None:
            chat = await uow.register_chat(
                event.chat.without_thread(), ChatKind.UNKNOWN, event.chat_title
            )
        await uow.remember_person(event.actor)
        role = await uow.role_of(event.actor.key)
        ctx = Ctx(uow, event, chat, role, outcome)
        if command.name == "login" and not role.is_staff:
            await self._reply(ctx, "refused_staff_only", command=command.name)
        elif command.name == "login":
            await self._send_login_link(ctx)
        else:
            await self._help(ctx)

    async def act(self, uow: UnitOfWork, action: StaffAction) -> Outcome:
        """Apply a staff action from outside chat (dashboard, API) with the rules of
        the matching chat command. Raises ActionRejected on a bad request."""
        outcome = Outcome()
        role = await uow.role_of(action.actor.key)
        if not role.is_staff:
            raise ActionRejected("only staff may act on cases", "refuse_not_staff")
        case = await self._follow_merge(uow, action.case_id)
        if case is None:
            raise ActionRejected(f"no case #{action.case_id}", "refuse_no_case", id=action.case_id)
        chat = await uow.chat_by_id(case.chat_id)
        if chat is None:
            raise ActionRejected(
                f"case #{action.case_id} has no chat", "refuse_no_chat", id=action.case_id
            )
        ctx = self._offline_ctx(uow, chat, case, action.at, role, outcome, action.actor)
        outcome.case_id = case.id
        kind = action.kind
        if kind is ActionKind.ASSIGN:
            await self._assign(ctx, case, await self._staff_key(uow, action.value))
        elif kind is ActionKind.PRIORITY:
            if action.value not in PRIORITIES:
                raise ActionRejected("priority must be P1, P2, P3 or P4", "refuse_priority")
            await self._set_priority(ctx, case, action.value)
        elif kind is ActionKind.STATUS:
            await self._act_status(ctx, case, action.value)
        elif kind is ActionKind.NOTE:
            await self._act_note(ctx, case, action)
        elif kind is ActionKind.FOLLOWUP:
            if action.due_in is None or not action.value.strip():
                raise ActionRejected("a follow-up needs a due time and text", "refuse_followup")
            # the owner gets reminders with internal text: never a customer or a stranger
            owner = await self._staff_key(uow, action.owner) if action.owner else None
            await self._add_followup(
                ctx, case, owner or action.actor.key, action.due_in, action.value
            )
        elif kind is ActionKind.FOLLOWUP_DONE:
            await self._act_followup_done(ctx, case, action.target)
        elif kind is ActionKind.REPLY:
            await self._act_reply(ctx, case, action.value)
        elif kind is ActionKind.MOVE:
            await self._act_move(ctx, case, action)
        elif kind is ActionKind.MERGE:
            into = await self._follow_merge(uow, action.into) if action.into else None
            if into is None:
                raise ActionRejected(
                    f"no case #{action.into}" if action.into else "merge into?",
                    "refuse_no_case" if action.into else "refuse_merge_into",
                    id=action.into,
                )
            await self._merge(ctx, case, into)
        elif kind is ActionKind.LINK:
            try:
                ref = parse_issue_url(action.value)
            except ValueError as e:
                raise ActionRejected(f"url: {e}", "refuse_url") from None
            await self._link(ctx, case, ref.tracker, ref.key, ref.url)
        elif kind is ActionKind.UNLINK:
            if not action.value:
                raise ActionRejected("unlink needs the issue's URL or key", "refuse_unlink")
            await self._unlink(ctx, case, action.value)
        elif kind is ActionKind.SEND_DRAFT:
            await self._send_draft(ctx, case)
        elif kind is ActionKind.TAGS:
            await self._act_tags(ctx, case, action)
        elif kind is ActionKind.FIELD:
            await self._act_field(ctx, case, action)
        return outcome

    async def system(
        self, uow: UnitOfWork, action: SystemAction, case: CaseRecord | None = None
    ) -> Outcome:
        """Apply what casebot decided on its own (the sweeper's timers). `case` is the
        record the caller holds already (a claimed, locked row); without it the case
        is read. Raises ActionRejected when there is no such case or chat."""
        outcome = Outcome()
        if case is None:
            case = await uow.case(action.case_id)
        if case is None or case.id != action.case_id:
            raise ActionRejected(f"no case #{action.case_id}", "refuse_no_case", id=action.case_id)
        chat = await uow.chat_by_id(case.chat_id)
        if chat is None:
            raise ActionRejected(
                f"case #{action.case_id} has no chat", "refuse_no_chat", id=action.case_id
            )
        # casebot is no person: the event has no actor, and the lead's rights let the
        # status path do what the timer decided
        ctx = self._offline_ctx(uow, chat, case, action.at, Role.LEAD, outcome)
        outcome.case_id = case.id
        if action.kind is SystemKind.AUTO_RESOLVE:
            for told in self.to_customer(case, chat, "customer_auto_resolved", "auto_resolve"):
                await self._emit(ctx, told)
            await self._set_status(ctx, case, Status.RESOLVED, reason="no_customer_reply")
        elif action.kind is SystemKind.CLOSE:
            await self._set_status(ctx, case, Status.CLOSED, reason="close_after")
        elif action.kind is SystemKind.PASS_ON:
            await self._pass_on(ctx, case)
        return outcome

    def to_customer(
        self, case: CaseRecord, chat: ChatInfo, key: str, purpose: str
    ) -> list[Outbound]:
        """A message casebot sends a customer on its own (a nudge, an auto-resolve): to the
        case's own chat and thread, never elsewhere, and none for a chat of no customer."""
        if chat.kind is not ChatKind.CUSTOMER:
            return []
        text = self.texts.render(key, chat.locale, ref=case.ref, title=case.title)
        return [
            Outbound(
                OutboundKind.SEND,
                chat.key.platform,
                chat.key.chat,
                text=text,
                thread=case.thread,
                case_id=case.id,
                purpose=purpose,
            )
        ]

    def _offline_ctx(
        self,
        uow: UnitOfWork,
        chat: ChatInfo,
        case: CaseRecord,
        at: datetime,
        role: Role,
        outcome: Outcome,
        actor: Actor | None = None,
    ) -> Ctx:
        """The working state for an action no chat event carries: it happens in the
        case's chat and thread, and answers through the Outcome, not the chat."""
        event = Inbound(
            InboundKind.ACTION,
            f"action:{uuid.uuid4().hex}",
            ChatKey(chat.key.platform, chat.key.chat, case.thread),
            at,
            actor,
        )
        return Ctx(uow, event, chat, role, outcome, quiet=True)

    async def _staff_key(self, uow: UnitOfWork, key: str) -> str:
        """The key a staff member given by any of their keys or by name is recorded under."""
        if ":" in key:
            found = await uow.person(key)
        else:
            found = await uow.find_person("", key.removeprefix("@")) if key else None
        person = self._on_team(found)
        if person is None:
            raise ActionRejected(f"{key!r} is not on the team", "refuse_not_on_team", who=key)
        return person.key

    async def _act_note(self, ctx: Ctx, case: CaseRecord, action: StaffAction) -> None:
        if not action.value.strip():
            raise ActionRejected("a note needs text", "refuse_note")
        note = await self._add_staff_message(ctx, case, action.value, internal=True)
        await ctx.uow.add_event(
            self._id(case), "note", ctx.now, action.actor.key, {"text": action.value, "via": "web"}
        )
        ctx.outcome.message_id = note.id

    async def _add_staff_message(
        self, ctx: Ctx, case: CaseRecord, text: str, internal: bool
    ) -> MessageRecord:
        actor = ctx.event.actor
        assert actor is not None
        message = await ctx.uow.add_message(
            MessageRecord(
                chat_id=case.chat_id,
                platform_message_id=None,
                sender=actor.key,
                sender_name=actor.display,
                role=MessageRole.STAFF,
                text=text,
                at=ctx.now,
                thread=case.thread,
                internal=internal,
                case_id=case.id,
                # a web reply answers the case's first message; a note is about the case
                joined=Joined.COMMAND if internal else Joined.REPLY,
            )
        )
        assert message is not None  # no platform id, so it cannot clash
        return message

    async def _act_reply(self, ctx: Ctx, case: CaseRecord, text: str) -> None:
        """Answer the customer from the web: the bot posts it in the case's chat and
        thread, replying to the case's first message, and it counts as the staff reply
        it is (first response, waiting on the customer) exactly as one made in chat."""
        if not text.strip():
            raise ActionRejected("a reply needs text", "refuse_reply")
        if not case.status.is_active:
            await self._refuse(
                ctx,
                "reply_inactive",
                ref=case.ref,
                status=case.status.value.replace("_", " "),
            )
        message = await self._add_staff_message(ctx, case, text, internal=False)
        ctx.message = message
        ctx.outcome.message_id = message.id
        await ctx.uow.add_event(
            self._id(case),
            "staff_reply",
            ctx.now,
            ctx.actor_key,
            {"message": message.id, "via": "web"},
        )
        assert ctx.event.actor is not None
        name = await self._person_name(ctx, ctx.event.actor.key, ctx.chat.locale)
        relay = self.texts.render(
            "staff_reply_relay", ctx.chat.locale, name=name, ref=case.ref, text=text
        )
        await self._emit(
            ctx,
            Outbound(
                OutboundKind.SEND,
                ctx.chat.key.platform,
                ctx.chat.key.chat,
                text=relay,
                thread=case.thread,
                reply_to=case.source_message_id,
                case_id=case.id,
                purpose="staff_reply",
                # the staff message this relays: it takes the sent message's id, so the
                # transcript shows it once and a reply to it finds the case
                extra={"message": str(message.id)},
            ),
        )
        await self._after_message(ctx, case)

    async def _act_followup_done(self, ctx: Ctx, case: CaseRecord, wanted: int | None) -> None:
        every = await ctx.uow.followups(self._id(case), pending_only=False)
        found = [f for f in every if f.id == wanted]
        if not found:
            raise ActionRejected(
                f"case #{case.id} has no follow-up {wanted}",
                "refuse_no_followup",
                id=case.id,
                followup=wanted,
            )
        if found[0].done_at is not None:
            await self._refuse(ctx, "followup_already_done", ref=case.ref, id=wanted)
        await self._finish_followups(ctx, case, found)

    async def _act_move(self, ctx: Ctx, case: CaseRecord, action: StaffAction) -> None:
        """As /move: one message of this case goes to another case of the same chat."""
        moved = next(
            (m for m in await ctx.uow.case_messages(self._id(case)) if m.id == action.target),
            None,
        )
        if moved is None:
            raise ActionRejected(
                f"case #{case.id} has no message {action.target}",
                "refuse_no_message",
                id=case.id,
                number=action.target,
            )
        target = await self._follow_merge(ctx.uow, action.into) if action.into else None
        if target is None:
            raise ActionRejected(
                f"no case #{action.into}" if action.into else "move to?",
                "refuse_no_case" if action.into else "refuse_move_to",
                id=action.into,
            )
        if target.chat_id != case.chat_id:
            # a message never leaves its chat: customers see only their own chat's cases
            await self._refuse(ctx, "move_other_chat", ref=target.ref)
        await self._move(ctx, moved, target)

    async def _act_status(self, ctx: Ctx, case: CaseRecord, value: str) -> None:
        try:
            status = Status(value)
        except ValueError:
            raise ActionRejected(
                f"unknown status {value!r}", "refuse_status", status=value
            ) from None
        if status is Status.RESOLVED:
            await self._resolve(ctx, case)
        elif status is Status.NEW:
            raise ActionRejected("a case cannot go back to new", "refuse_back_to_new")
        elif status is Status.WAITING_ON_ISSUE:
            await self._wait_on_issue(ctx, case)
        elif status is case.status:
            await self._refuse(
                ctx,
                "already_status",
                ref=case.ref,
                status=status.value.replace("_", " "),
            )
        elif status in (Status.ON_HOLD, Status.WAITING) and not case.status.is_active:
            # as /hold in chat: a resolved case is reopened first, never parked silently
            raise ActionConflict(
                f"case #{case.id} is {case.status.value}; reopen it first",
                "refuse_reopen_first",
                id=case.id,
            )
        elif (
            status is Status.CLOSED
            and case.status.is_active
            and await self._fields_missing(ctx, case)
        ):
            return
        else:
            await self._set_status(ctx, case, status, reason="web")
