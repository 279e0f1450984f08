"""Intake rules: storing messages, attaching them to cases, opening cases, edits, reactions.

Standard library and `cases` only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta

from cases import sla, views
from cases.assigning import Assigning
from cases.commands import Command, parse_command, unknown_command
from cases.context import AlreadyStored, Ctx
from cases.durations import format_duration
from cases.limits import OpeningGuard
from cases.model import (
    ChatKind,
    MessageRole,
    Outbound,
    OutboundKind,
    Status,
    ThreadMode,
)
from cases.records import CaseRecord, Joined, MessageRecord
from cases.similar import SimilarCases
from cases.snippets import SAVE_EMOJIS, Snippets


class Intake(OpeningGuard, Assigning, SimilarCases, Snippets):
    """How messages become cases and join them."""

    # the command handler; `cases.chat_commands.Commands` provides it
    _command: Callable[[Ctx, Command], Awaitable[None]]
    # button presses; `cases.buttons.Buttons` provides it
    _button: Callable[[Ctx], Awaitable[None]]
    # the intake questions; `cases.intake_questions.IntakeQuestions` provides them
    _start_questions: Callable[
        [Ctx, CaseRecord, MessageRecord, list[MessageRecord]], Awaitable[None]
    ]
    _questions_after: Callable[[Ctx, CaseRecord], Awaitable[None]]
    _questions_edited: Callable[[Ctx, CaseRecord, MessageRecord], Awaitable[None]]

    # -------------------------------------------------------------- messages

    async def _store(
        self,
        ctx: Ctx,
        internal: bool = False,
        case: CaseRecord | None = None,
        joined: Joined | None = None,
    ) -> MessageRecord:
        """Store the event's message, on `case` (as `joined`) when given: one statement
        instead of a store and a link."""
        ev = ctx.event
        assert ev.actor is not None
        text = ev.text
        if not text and ev.attachments:
            text = ev.attachments[0].caption or ""
        record = MessageRecord(
            chat_id=ctx.chat.id,
            platform_message_id=ev.message_id,
            sender=ev.actor.key,
            sender_name=ev.actor.display,
            role=MessageRole.STAFF if ctx.role.is_staff else MessageRole.CUSTOMER,
            text=text,
            at=ev.at,
            thread=ev.chat.thread,
            reply_to=ev.reply_to,
            internal=internal or ctx.chat.kind is ChatKind.TRIAGE,
            attachments=[
                {"kind": a.kind, "file_id": a.file_id, "caption": a.caption, "name": a.name}
                for a in ev.attachments
            ],
            case_id=case.id if case is not None else None,
            joined=joined if case is not None else None,
        )
        stored = await ctx.uow.add_message(record)
        if stored is None:
            raise AlreadyStored(ev.message_id)
        record = stored
        ctx.message = record
        ctx.outcome.message_id = record.id
        return record

    async def _message(self, ctx: Ctx) -> None:
        command = parse_command(ctx.event.text)
        if command is not None:
            await self._command(ctx, command)
            return
        if await self._typed_choice(ctx):
            return
        unknown = unknown_command(ctx.event.text)
        if unknown is not None and ctx.role.is_staff:
            # a mistyped command is no answer to the customer: kept, on no case, and
            # the clocks and the status stay as they were
            await self._store(ctx)
            await self._reply(ctx, "unknown_command", command=unknown)
            return
        if ctx.chat.kind is ChatKind.TRIAGE:
            await self._store(ctx)
            return
        # the case is found before the message is stored (only reads), so that the
        # message is stored on it at once; a duplicate still raises AlreadyStored
        # before anything is written
        case, joined = await self._attach_target(ctx)
        joins = case is not None and (
            case.status.is_active or (not ctx.role.is_staff and self._may_reopen(ctx, case))
        )
        message = await self._store(ctx, case=case if joins else None, joined=joined)
        if case is None and not ctx.role.is_staff and self._intake(ctx) == "auto":
            await self._open(ctx, message, [], title=None)
            return
        if case is None:
            return
        if not case.status.is_active:
            if joins:
                await self._set_status(ctx, case, Status.OPEN, reason="customer_reply")
                # /case may split this line off again, and the case is then done again
                case.sla["reopened_by"] = self._id(message)
            elif not ctx.role.is_staff and self._intake(ctx) == "auto":
                await self._open(ctx, message, [], title=None)
                return
            else:
                # a late line about a finished case stays an untracked chat message,
                # which /case can still pull in; it is never filed on the finished case
                return
        ctx.outcome.case_id = case.id
        await self._after_message(ctx, case)

    async def _typed_choice(self, ctx: Ctx) -> bool:
        """A number answering a numbered choice (buttons on a platform without them):
        the message replies to the choice, or follows it as the chat's newest line. It
        is kept on record, joins no case, and acts as the button of that number."""
        ev = ctx.event
        text = ev.text.strip()
        if not (text.isdigit() and len(text) <= 2) or self.settings.can(ev.chat.platform).buttons:
            return False
        target = ev.reply_to
        if target is None:
            since = ctx.now - self.settings.reopen_window
            last = await ctx.uow.last_message(ctx.chat.id, ev.chat.thread, since, with_case=False)
            if last is None or last.role is not MessageRole.BOT:
                return False
            target = last.platform_message_id
        if target is None:
            return False
        values = await ctx.uow.choices(ev.chat.platform, ev.chat.chat, target)
        number = int(text)
        if not 1 <= number <= len(values):
            return False
        await self._store(ctx)
        choice = replace(ev, data=values[number - 1])
        await self._button(
            Ctx(ctx.uow, choice, ctx.chat, ctx.role, ctx.outcome, message=ctx.message)
        )
        return True

    def _may_reopen(self, ctx: Ctx, case: CaseRecord) -> bool:
        """A customer writing about a resolved case reopens it within `reopen_window`."""
        return (
            case.status is Status.RESOLVED
            and case.resolved_at is not None
            and ctx.now - case.resolved_at <= self.settings.reopen_window
        )

    def _intake(self, ctx: Ctx) -> str:
        return ctx.chat.account.intake if ctx.chat.account else "tag"

    async def _attach_target(self, ctx: Ctx) -> tuple[CaseRecord | None, Joined]:
        """Which case the event's new message (not stored yet) joins, and how: reply
        chain, then topic, then the window. The window finds active cases, and resolved
        ones a customer may reopen."""
        uow, ev = ctx.uow, ctx.event
        assert ev.actor is not None
        if ev.reply_to and ev.reply_to == ev.message_id:
            # its own parent, as it was when it was stored before this was asked: a
            # message on no case, so it stays off the window's case
            return None, Joined.REPLY
        if ev.reply_to:
            parent = await uow.message(ctx.chat.id, ev.reply_to)
            if parent is not None and parent.case_id is not None:
                return await self._follow_merge(uow, parent.case_id), Joined.REPLY
            if parent is not None and parent.role is not MessageRole.BOT:
                return None, Joined.REPLY
        if ev.chat.thread:
            topic_case = await uow.case_by_thread(ctx.chat.id, ev.chat.thread)
            if topic_case is not None:
                return topic_case, Joined.THREAD
        since = ctx.now - self.settings.conversation_window
        if ctx.role.is_staff:
            # staff answer the conversation in front of them, not their own last line
            recent = await uow.last_message(ctx.chat.id, ev.chat.thread, since, with_case=True)
        else:
            recent = await uow.last_message(
                ctx.chat.id, ev.chat.thread, since, sender=ev.actor.key, with_case=True
            )
        if recent is not None and recent.case_id is not None:
            case = await self._follow_merge(uow, recent.case_id)
            if case is not None and (
                case.status.is_active or (not ctx.role.is_staff and self._may_reopen(ctx, case))
            ):
                return case, Joined.WINDOW
        return None, Joined.WINDOW

    async def _after_message(self, ctx: Ctx, case: CaseRecord) -> None:
        """Automatic flips and SLA clocks after a message joined a case."""
        now = ctx.now
        changed = False
        status_before, due_before = case.status, views.sla_due(case)
        if ctx.role.is_staff:
            case.last_staff_at = now
            if case.first_response_at is None:
                case.first_response_at = now
                await self._clock_result(ctx, case, "first_response", case.first_response_due)
            if case.sla.pop("customer_waiting_since", None) is not None:
                await self._clock_result(ctx, case, "next_response", case.next_response_due)
            if case.status in (Status.NEW, Status.OPEN):
                await self._set_status(ctx, case, Status.WAITING, reason="staff_reply", save=False)
            changed = True
        else:
            case.last_customer_at = now
            if "customer_waiting_since" not in case.sla:
                case.sla["customer_waiting_since"] = now.isoformat()
            # the customer answered: the polite nudges start over next time
            case.sla.pop("customer_nudges", None)
            case.sla.pop("customer_nudged_at", None)
            if case.status is Status.WAITING:
                await self._set_status(ctx, case, Status.OPEN, reason="customer_reply", save=False)
            changed = True
        if changed:
            await self._refresh_sla(ctx, case)
            await ctx.uow.save_case(case)
            # the card and the board show the status and the SLA due; most messages
            # change neither, and ingest stays fast by not re-rendering them then
            if case.status is not status_before or views.sla_due(case) != due_before:
                await self._touch(ctx, case)
        await self._questions_after(ctx, case)

    async def _edit(self, ctx: Ctx) -> None:
        ev = ctx.event
        if ev.message_id is None:
            ctx.outcome.ignored = "edit without message id"
            return
        message = await ctx.uow.message(ctx.chat.id, ev.message_id)
        if message is None:
            # an edit of a message we never saw: keep it as a new message
            await self._store(ctx)
            return
        await ctx.uow.edit_message(message, ev.text, ev.at)
        ctx.outcome.message_id = message.id
        if message.case_id is not None:
            ctx.outcome.case_id = message.case_id
            await ctx.uow.add_event(
                message.case_id,
                "message_edited",
                ev.at,
                ctx.actor_key,
                {"message": message.platform_message_id},
            )
            case = await self._follow_merge(ctx.uow, message.case_id)
            if case is not None and case.questions:
                message.text = ev.text
                await self._questions_edited(ctx, case, message)

    async def _delete(self, ctx: Ctx) -> None:
        """A message deleted in chat stays in the record (the case's history must not
        change under it); its case notes the deletion."""
        ev = ctx.event
        message = await ctx.uow.message(ctx.chat.id, ev.message_id) if ev.message_id else None
        if message is None or message.case_id is None:
            ctx.outcome.ignored = "deletion of an untracked message"
            return
        ctx.outcome.message_id = message.id
        ctx.outcome.case_id = message.case_id
        await ctx.uow.add_event(
            message.case_id,
            "message_deleted",
            ev.at,
            ctx.actor_key,
            {"message": message.platform_message_id},
        )

    async def _reaction(self, ctx: Ctx) -> None:
        ev = ctx.event
        if ev.emoji in SAVE_EMOJIS and not ev.removed and ctx.role.is_staff:
            await self._save_reaction(ctx)
            return
        if (
            ev.removed
            or not ctx.role.is_staff
            or ev.emoji not in self.settings.case_emojis
            # like /case: cases open in customer chats, never on internal triage lines
            or ctx.chat.kind is ChatKind.TRIAGE
        ):
            ctx.outcome.ignored = "reaction"
            return
        if ev.message_id is None:
            return
        target = await ctx.uow.message(ctx.chat.id, ev.message_id)
        if target is None or target.case_id is not None:
            ctx.outcome.ignored = "reaction on unknown or tracked message"
            return
        context = await self._context_for(ctx, target)
        await self._open(ctx, target, context, title=None)

    # ----------------------------------------------------------------- open

    async def _context_for(self, ctx: Ctx, first: MessageRecord) -> list[MessageRecord]:
        since = first.at - self.settings.context_window
        earlier = await ctx.uow.untracked_messages(
            ctx.chat.id, first.thread, since, first.sender, self.settings.context_limit * 2 + 1
        )
        # the sender's untracked lines around the tagged one, before and after it
        return [m for m in earlier if m.id != first.id][-self.settings.context_limit :]

    async def _open(
        self,
        ctx: Ctx,
        first: MessageRecord,
        context: list[MessageRecord],
        title: str | None,
    ) -> CaseRecord | None:
        """Open a case of `first` and its context; None when an opening limit refuses."""
        if not await self._may_open(ctx):
            return None
        uow, now = ctx.uow, ctx.now
        account = ctx.chat.account
        text_title = title or self._title_from(first, context)
        case = CaseRecord(
            account_id=account.id if account else None,
            chat_id=ctx.chat.id,
            title=text_title,
            created_at=now,
            status=Status.NEW,
            priority=self.settings.default_priority,
            thread=self._thread_for(ctx, first),
            opened_by=ctx.actor_key,
            source_message_id=first.platform_message_id,
            last_customer_at=first.at if first.role is MessageRole.CUSTOMER else None,
            status_changed_at=now,
        )
        if first.role is MessageRole.CUSTOMER:
            # the customer has waited since they asked, not since staff tagged it
            case.sla["clock_start"] = first.at.isoformat()
            case.sla["customer_waiting_since"] = first.at.isoformat()
        await self._refresh_sla(ctx, case)
        case = await uow.new_case(case)
        case_id = self._id(case)
        for m in [*context, first]:
            if m.id is not None:
                await uow.link_message(m.id, case_id, Joined.OPENED)
                m.case_id, m.joined = case_id, Joined.OPENED
        await uow.add_event(
            case_id,
            "opened",
            now,
            ctx.actor_key,
            {
                "title": case.title,
                "by": ctx.event.kind.value,
                "message": first.platform_message_id,
                "context": len(context),
                "due": sla.due_times(case),  # the promises made at opening
            },
        )
        ctx.outcome.case_id = case_id
        ctx.outcome.opened = True
        incident_note = await self._link_incident(ctx, case)
        if account is None or account.acknowledge:
            targets = self._targets(ctx, case)
            due = case.first_response_due
            if targets and targets.first_response and due is not None:
                text = self._promise(ctx, case, targets.first_response, due)
            else:
                text = self.texts.render("ack", ctx.chat.locale, ref=case.ref)
            if incident_note:
                text = f"{text}\n{incident_note}"
            await self._send(
                ctx, text, reply_to=first.platform_message_id, case=case, purpose="ack"
            )
        if account is not None and account.topics == "per_case" and case.thread is None:
            await self._emit(
                ctx,
                Outbound(
                    OutboundKind.TOPIC_CREATE,
                    ctx.chat.key.platform,
                    ctx.chat.key.chat,
                    text=f"{case.ref} {case.title}"[:120],
                    case_id=case_id,
                    purpose="topic",
                ),
            )
        await self._remember_similar(ctx, case, [*context, first])
        await self._route(ctx, case)
        await self._touch(ctx, case, opened=True)
        await self._start_questions(ctx, case, first, context)
        return case

    def _thread_for(self, ctx: Ctx, first: MessageRecord) -> str | None:
        """The case's thread: its first message's, or on a reply-thread platform the
        thread that message starts (its replies there join the case)."""
        if first.thread is not None:
            return first.thread
        if self.settings.can(ctx.chat.key.platform).threads is ThreadMode.REPLY:
            return first.platform_message_id
        return None

    # ---------------------------------------------------------------- split

    @staticmethod
    def _splittable(message: MessageRecord, case: CaseRecord) -> bool:
        """Only the window's guess may be undone by /case; the case's own first message
        is the case."""
        return message.joined is Joined.WINDOW and message.platform_message_id not in (
            None,
            case.source_message_id,
        )

    async def _split(
        self, ctx: Ctx, first: MessageRecord, old: CaseRecord, title: str | None
    ) -> None:
        """Open a case of its own from a message the window put on `old`; the replies to
        it go along, both cases' clocks are worked out again from what each now holds,
        and the move is audited on both."""
        uow = ctx.uow
        held = list(await uow.case_messages(self._id(old)))
        moving = {first.platform_message_id}
        replies: list[MessageRecord] = []
        for m in held:  # oldest first: a reply comes after what it answers
            if m.id != first.id and m.reply_to is not None and m.reply_to in moving:
                replies.append(m)
                if m.platform_message_id:
                    moving.add(m.platform_message_id)
        was_waiting = "customer_waiting_since" in old.sla
        new = await self._open(ctx, first, [], title=title)
        if new is None:  # an opening limit refused it: the message stays where it was
            return
        for m in replies:
            await uow.link_message(self._id(m), self._id(new), m.joined or Joined.REPLY)
        data = {
            "message": first.platform_message_id,
            "from": old.id,
            "to": new.id,
            "split": True,
            "messages": 1 + len(replies),
        }
        await uow.add_event(self._id(old), "message_moved_out", ctx.now, ctx.actor_key, data)
        await uow.add_event(self._id(new), "message_moved_in", ctx.now, ctx.actor_key, data)
        moved_ids = {first.id} | {m.id for m in replies}
        for case, messages in (
            (old, [m for m in held if m.id not in moved_ids]),
            (new, [first, *replies]),
        ):
            self._recount(case, messages)
            if (
                case is old
                and old.sla.get("reopened_by") == first.id
                and not any(m.at >= first.at and m.role is not MessageRole.BOT for m in messages)
            ):
                # the line that reopened a resolved case is gone, and nothing came after it
                await self._set_status(ctx, case, Status.RESOLVED, reason="split", save=False)
            waiting = "customer_waiting_since" in case.sla
            answered = case.last_staff_at is not None and not waiting
            if (
                answered
                and case.status in (Status.NEW, Status.OPEN)
                and (case is new or was_waiting)
            ):
                # the customer line that made it wait for staff is on the other case now
                await self._set_status(ctx, case, Status.WAITING, reason="split", save=False)
            elif waiting and case.status is Status.WAITING:
                # the answer it waited on went to the other case: the customer waits on us
                await self._set_status(ctx, case, Status.OPEN, reason="split", save=False)
            await self._refresh_sla(ctx, case)
            await uow.save_case(case)
            await self._touch(ctx, case)
        await self._reply(ctx, "split_off", ref=new.ref, old=old.ref)

    @staticmethod
    def _recount(case: CaseRecord, messages: list[MessageRecord]) -> None:
        """When the customer and staff last wrote on the case and since when the customer
        waits for an answer, from the messages it holds."""
        said = [m for m in messages if not m.internal and m.role is not MessageRole.BOT]
        customer = [m.at for m in said if m.role is MessageRole.CUSTOMER]
        staff = [m.at for m in said if m.role is MessageRole.STAFF]
        case.last_customer_at = max(customer, default=None)
        case.last_staff_at = max(staff, default=None)
        # a first answer that went to the other case answered nothing here
        case.first_response_at = min(staff, default=None)
        last_staff = case.last_staff_at
        unanswered = [at for at in customer if last_staff is None or at > last_staff]
        if unanswered:
            case.sla["customer_waiting_since"] = min(unanswered).isoformat()
        else:
            case.sla.pop("customer_waiting_since", None)

    def _promise(self, ctx: Ctx, case: CaseRecord, within: timedelta, due: datetime) -> str:
        """The acknowledgement's promise: "within 1h" only while the clock runs all that
        hour; when business hours or a holiday stop it (the desk is closed, or closes
        before then), the real due time in the account's time zone."""
        locale = ctx.chat.locale
        if due <= ctx.now + within:
            return self.texts.render(
                "ack_sla", locale, ref=case.ref, within=format_duration(within, locale)
            )
        zone = self._calendar(ctx, case).timezone
        by = views.local_when(self.texts, locale, due, zone, ctx.now)
        return self.texts.render("ack_sla_by", locale, ref=case.ref, by=by)

    def _title_from(self, first: MessageRecord, context: list[MessageRecord]) -> str:
        # the sender's first line of a few words says what the case is about; a
        # greeting before it ("hello") does not
        candidates = sorted([first, *context], key=lambda m: (m.at, m.id or 0))
        lines = [" ".join(m.text.split()) for m in candidates]
        lines = [line for line in lines if line and not line.startswith("/")]
        if lines:
            line = next((line for line in lines if len(line.split()) >= 3), lines[0])
            limit = self.settings.title_length
            return line if len(line) <= limit else line[: limit - 1] + "…"
        if first.attachments:
            return f"[{first.attachments[0].get('kind', 'file')}]"
        return "(no text)"
