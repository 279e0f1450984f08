"""What the engine's rules share: SLA refresh, status changes, cards, boards, replies.

Standard library and `cases` only. Every effect goes to the outbox via the unit of work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime

from cases import sla, views
from cases.calendar import BusinessCalendar
from cases.context import ActionConflict, Ctx, Outcome
from cases.model import (
    ChatKind,
    Outbound,
    OutboundKind,
    Status,
)
from cases.people import spoken_locale
from cases.ports import UnitOfWork
from cases.records import AccountInfo, BoardLine, CaseRecord, ChatInfo, MessageRecord
from cases.settings import EngineSettings
from cases.texts import Texts


class Effects:
    """Shared effects; the rule mixins build on these."""

    settings: EngineSettings
    texts: Texts
    # cases whose clocks a refresh would leave as they are (`Engine` makes it)
    _settled: sla.SettledClocks
    # `cases.intake_questions.IntakeQuestions` provides it
    _end_questions: Callable[[Ctx, CaseRecord, str], Awaitable[None]]
    # the open incident's line atop a board; `cases.incidents.Incidents` provides it
    _incident_banner: Callable[[UnitOfWork, ChatInfo], Awaitable[str]]
    # links a new case to its account's open incident (the ack's line); likewise
    _link_incident: Callable[[Ctx, CaseRecord], Awaitable[str]]

    # -------------------------------------------------------------- helpers

    async def _remember_chat(self, ctx: Ctx, case: CaseRecord) -> None:
        """Note the account of a case from another chat (acted on from triage), so its
        SLA targets and calendar are the case's own."""
        if case.chat_id != ctx.chat.id and case.chat_id not in ctx.case_accounts:
            chat = await ctx.uow.chat_by_id(case.chat_id)
            ctx.case_accounts[case.chat_id] = chat.account if chat else None

    def _account(self, ctx: Ctx, case: CaseRecord) -> AccountInfo | None:
        if case.chat_id == ctx.chat.id:
            return ctx.chat.account
        return ctx.case_accounts.get(case.chat_id)

    def _targets(self, ctx: Ctx, case: CaseRecord) -> sla.SlaTargets | None:
        account = self._account(ctx, case)
        return self.settings.sla.targets(account.tier if account else None, case.priority)

    def _calendar(self, ctx: Ctx, case: CaseRecord) -> BusinessCalendar:
        account = self._account(ctx, case)
        return self.settings.calendar(account.name if account else None, case.priority)

    async def _refresh_sla(self, ctx: Ctx, case: CaseRecord) -> None:
        """Recompute the case's clocks; a change of its due times is an audit event
        (`sla_due`), so the timeline tells when each promise was set or moved."""
        known = case.chat_id == ctx.chat.id or case.chat_id in ctx.case_accounts
        if case.id is not None and not known:
            # acting from the triage chat: ctx.chat has no account, so the targets
            # cannot be known here; the sweeper recomputes the clocks at its next tick
            case.next_due_at = ctx.now
            ctx.outcome.due_now = True
            return
        targets, calendar = self._targets(ctx, case), self._calendar(ctx, case)
        policy = self.settings.escalation
        if not self._settled.settled(case, targets, calendar, policy):
            before = sla.due_times(case)
            sla.refresh_due(case, targets, calendar, ctx.now, policy)
            self._settled.remember(case, targets, calendar, policy)
            after = sla.due_times(case)
            if after != before and case.id is not None:
                await ctx.uow.add_event(case.id, "sla_due", ctx.now, ctx.actor_key, after)
        if case.next_due_at is not None and case.next_due_at <= ctx.now:
            ctx.outcome.due_now = True

    async def _set_status(
        self, ctx: Ctx, case: CaseRecord, status: Status, reason: str, save: bool = True
    ) -> None:
        if case.status is status:
            return
        old = case.status
        case.status = status
        case.status_changed_at = ctx.now
        case.sla.pop("reopened_by", None)  # see Intake._message: only the reopen sets it
        if status is Status.RESOLVED:
            case.resolved_at = ctx.now
            # what resolved it is what a later, similar case may want to know
            await ctx.uow.remember_resolved(self._id(case), ctx.now)
            due = case.resolution_due or sla.paused_resolution_due(
                case, self._targets(ctx, case), self._calendar(ctx, case), ctx.now
            )
            await self._clock_result(ctx, case, "resolution", due)
        elif status is Status.CLOSED:
            case.closed_at = ctx.now
        elif old in (Status.RESOLVED, Status.CLOSED):
            case.resolved_at = None
            case.closed_at = None
            sla.restart_resolution(case, ctx.now)
        await ctx.uow.add_event(
            self._id(case),
            "status_changed",
            ctx.now,
            ctx.actor_key,
            {"from": old.value, "to": status.value, "reason": reason},
        )
        change = sla.update_pause(case, self._calendar(ctx, case), ctx.now)
        if change is not None:
            await ctx.uow.add_event(
                self._id(case),
                f"sla_{change}",
                ctx.now,
                ctx.actor_key,
                {"clock": "resolution", "status": status.value},
            )
        await self._follow_topic(ctx, case, old, status)
        if not status.is_active:
            await self._end_questions(ctx, case, status.value)
        if save:
            await self._refresh_sla(ctx, case)
            await ctx.uow.save_case(case)
            await self._touch(ctx, case)

    async def _follow_topic(self, ctx: Ctx, case: CaseRecord, old: Status, new: Status) -> None:
        """Close a case's own topic when the case closes, reopen it when it comes back.

        A resolved case keeps its topic open: in Telegram only admins may post in a
        closed topic, and the customer's reply there is what reopens the case."""
        if not case.thread:
            return
        await self._remember_chat(ctx, case)  # acted on from triage: the case's account
        account = self._account(ctx, case)
        if account is None or account.topics != "per_case":
            return
        if new is Status.CLOSED:
            await self._topic(ctx, case, OutboundKind.TOPIC_CLOSE)
        elif old is Status.CLOSED:
            await self._topic(ctx, case, OutboundKind.TOPIC_REOPEN)

    async def _topic(self, ctx: Ctx, case: CaseRecord, kind: OutboundKind) -> None:
        chat = await ctx.uow.chat_by_id(case.chat_id)
        if chat is not None:
            await self._emit(
                ctx,
                Outbound(
                    kind,
                    chat.key.platform,
                    chat.key.chat,
                    thread=case.thread,
                    case_id=case.id,
                    purpose="topic",
                ),
            )

    async def _touch(self, ctx: Ctx, case: CaseRecord, opened: bool = False) -> None:
        """Refresh what shows a case elsewhere: its triage card and the chat's board.
        `opened`: the case opened in this event, so no issue is linked to it yet (one
        query fewer on the busiest path)."""
        chat = ctx.chat if ctx.chat.id == case.chat_id else await ctx.uow.chat_by_id(case.chat_id)
        if chat is None:
            return
        triage = self.settings.triage_chat
        on_board, total = (
            await ctx.uow.board_lines(chat.id, views.BOARD_LINES)
            if chat.kind is ChatKind.CUSTOMER
            else (None, 0)
        )
        # one lookup per person for both the card and the board
        names: dict[str, str] = {}
        shown: dict[str, str] = {}  # for the customers' board: never a platform key
        assignees = {case.assignee, *(c.assignee for c in on_board or ())}
        for key in {k for k in assignees if k}:
            person = await ctx.uow.person(key)
            if person is not None:
                names[key] = person.name
                if person.public_name:
                    shown[key] = person.public_name
        if triage is not None:
            assignee = names.get(case.assignee, case.assignee) if case.assignee else None
            locale = self.settings.staff_locale
            link = self.settings.message_link(chat.key, case.source_message_id)
            issues = (
                await ctx.uow.case_issues(self._id(case))
                if case.id is not None and not opened
                else ()
            )
            text = views.card(
                self.texts, locale, case, chat, assignee, link, self.settings.fields, issues
            )
            text += views.similar_lines(self.texts, locale, case)
            await self._emit(
                ctx,
                Outbound(
                    OutboundKind.UPSERT,
                    triage.platform,
                    triage.chat,
                    text=text,
                    buttons=(
                        views.card_buttons(self.texts, locale, self._id(case))
                        if case.status.is_active
                        else ()
                    ),
                    anchor=f"card:{case.id}",
                    case_id=case.id,
                    purpose="card",
                ),
            )
        if on_board is not None:
            await self._emit(ctx, await self._board(ctx.uow, chat, (on_board, total), shown))

    async def _board(
        self,
        uow: UnitOfWork,
        chat: ChatInfo,
        on_board: tuple[Sequence[BoardLine], int] | None = None,
        shown: dict[str, str] | None = None,
    ) -> Outbound:
        """The chat's pinned board as it is now (its first open cases and how many are
        open, read when not given)."""
        if on_board is None:
            on_board = await uow.board_lines(chat.id, views.BOARD_LINES)
            shown = {}
            for key in {c.assignee for c in on_board[0] if c.assignee}:
                person = await uow.person(key)
                if person is not None and person.public_name:
                    shown[key] = person.public_name
        lines, total = on_board
        return Outbound(
            OutboundKind.UPSERT,
            chat.key.platform,
            chat.key.chat,
            text=views.board(
                self.texts,
                chat.locale,
                lines,
                shown,
                banner=await self._incident_banner(uow, chat),
                total=total,
            ),
            anchor=f"board:{chat.id}",
            purpose="board",
            pin=True,
        )

    async def _person_name(self, ctx: Ctx, key: str, locale: str) -> str:
        """How a person is named in a chat: their name or @username, never their platform
        key ("telegram:1001"), which is internal."""
        person = await ctx.uow.person(key)
        if person is not None and person.public_name:
            return person.public_name
        actor = ctx.event.actor
        if actor is not None and actor.key == key and (actor.name or actor.username):
            return actor.display
        return self.texts.render("someone_on_team", locale)

    async def _refuse(self, ctx: Ctx, key: str, tell_chat: bool = True, **params: object) -> None:
        """Say no. In chat a reply (`tell_chat`: for a no-op chat stays silent about); from
        the web the reason as ActionConflict, which rolls the action back."""
        if ctx.quiet:
            raise ActionConflict(self.texts.render(key, "en", **params), key, **params)
        if tell_chat:
            await self._reply(ctx, key, **params)

    async def _staff_notice(self, ctx: Ctx, key: str, **params: object) -> None:
        """Confirm a command about internal work (follow-ups) to staff: in the triage
        chat when it was typed in a customer's group, where the customers would read it."""
        triage = self.settings.triage_chat
        if ctx.quiet or ctx.chat.kind is not ChatKind.CUSTOMER or triage is None:
            await self._reply(ctx, key, **params)
            return
        text = self.texts.render(key, self.settings.staff_locale, **params)
        await self._emit(ctx, Outbound(OutboundKind.SEND, triage.platform, triage.chat, text=text))

    async def _reply(self, ctx: Ctx, key: str, **params: object) -> None:
        if ctx.quiet:
            return
        locale = ctx.chat.locale
        if ctx.chat.kind is ChatKind.TRIAGE:
            locale = self.settings.staff_locale
        if ctx.event.is_direct:
            locale = self._own_locale(ctx)
        await self._send(
            ctx,
            self.texts.render(key, locale, **params),
            reply_to=ctx.event.message_id,
            purpose="reply",
        )

    def _own_locale(self, ctx: Ctx) -> str:
        """The locale of a text only the event's sender reads (their DM with the bot):
        staff their `[[staff.people]]` locale, else the desk's; a customer the language
        their app reports, else their chat's account's."""
        actor = ctx.event.actor
        if ctx.role.is_staff:
            return self.settings.staff_locale_of(actor.key if actor else None)
        hint = spoken_locale(actor.language) if actor else None
        return hint or ctx.chat.locale

    async def _send(
        self,
        ctx: Ctx,
        text: str,
        reply_to: str | None,
        purpose: str,
        case: CaseRecord | None = None,
    ) -> None:
        key = ctx.event.chat
        # a message about a case goes into the case's thread, wherever it was asked from
        # in its chat (a reply-thread platform opens that thread with the case)
        thread = case.thread if case and case.thread and case.chat_id == ctx.chat.id else None
        await self._emit(
            ctx,
            Outbound(
                OutboundKind.SEND,
                key.platform,
                key.chat,
                text=text,
                thread=thread or key.thread,
                reply_to=reply_to,
                case_id=case.id if case else None,
                purpose=purpose,
            ),
        )

    async def _emit(self, ctx: Ctx, action: Outbound) -> None:
        if action.buttons and not self.settings.can(action.platform).buttons:
            action = self._numbered(ctx, action)
        await self._queue(ctx.uow, ctx.outcome, action, ctx.now)

    @staticmethod
    async def _queue(uow: UnitOfWork, outcome: Outcome, action: Outbound, at: datetime) -> None:
        """Every row an event writes is reported in its outcome: the host wakes the
        dispatcher for the chats of those actions, and a row left out waits for its
        periodic claim."""
        await uow.enqueue(action, at)
        outcome.actions.append(action)

    def _numbered(self, ctx: Ctx, action: Outbound) -> Outbound:
        """Buttons on a platform without them: a numbered choice in the text, answered
        by replying with the number. The buttons stay on the row: they are the choices
        the number is read against (`UnitOfWork.choices`)."""
        triage = self.settings.triage_chat
        to_triage = triage is not None and (triage.platform, triage.chat) == (
            action.platform,
            action.chat,
        )
        locale = self.settings.staff_locale if to_triage else ctx.chat.locale
        labels = [b.text for row in action.buttons for b in row]
        choices = "  ".join(f"{n}. {label}" for n, label in enumerate(labels, 1))
        prompt = self.texts.render("choose_by_number", locale, choices=choices, last=len(labels))
        return replace(action, text=f"{action.text}\n\n{prompt}" if action.text else prompt)

    @staticmethod
    def _id(record: CaseRecord | MessageRecord) -> int:
        assert record.id is not None, "record was not stored"
        return record.id

    async def _follow_merge(self, uow: UnitOfWork, case_id: int) -> CaseRecord | None:
        case = await uow.case(case_id)
        hops = 0
        while case is not None and case.merged_into is not None and hops < 10:
            case = await uow.case(case.merged_into)
            hops += 1
        return case

    async def _clock_result(
        self, ctx: Ctx, case: CaseRecord, clock: str, due: datetime | None
    ) -> None:
        result = sla.outcome(due, ctx.now)
        if result is None:
            return
        # the sweeper may have recorded the breach already; a cycle is audited once
        if not sla.record_outcome(case, self._targets(ctx, case), clock, result, ctx.now):
            return
        await ctx.uow.add_event(
            self._id(case),
            f"sla_{result}",
            ctx.now,
            ctx.actor_key,
            {"clock": clock, "due": due.isoformat() if due else None},
        )
