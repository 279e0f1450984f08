"""The chat commands of cases: /case, /new, /status, /assign, /priority, /resolve and the rest.

Standard library and `cases` only. Staff-only commands from a customer are refused.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from cases import routing, views
from cases.commands import (
    STAFF_COMMANDS,
    Command,
    mentions,
    parse_followup,
    parse_number,
    plain,
)
from cases.context import LOGIN_TTL, Ctx
from cases.escalation import next_followup_at
from cases.fields import CaseFields
from cases.issues import IssueLink
from cases.model import (
    PRIORITIES,
    ChatKind,
    MessageRole,
    Outbound,
    OutboundKind,
    Role,
    Status,
)
from cases.people import recorded_key
from cases.records import CaseRecord, FollowUpRecord, Joined, MessageRecord, PersonInfo


class Commands(CaseFields):
    """Handlers named `_cmd_<command>`."""

    # ------------------------------------------------------------- commands

    async def _command(self, ctx: Ctx, command: Command) -> None:
        internal = command.name == "note"
        message = await self._store(ctx, internal=internal)
        if command.name in STAFF_COMMANDS and not ctx.role.is_staff:
            await self._reply(ctx, "refused_staff_only", command=command.name)
            return
        handler = getattr(self, f"_cmd_{command.name}", None)
        if handler is None:
            return
        await handler(ctx, command, message)

    async def _cmd_help(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        await self._help(ctx)

    async def _help(self, ctx: Ctx) -> None:
        await self._reply(ctx, "help_staff" if ctx.role.is_staff else "help_customer")

    async def _cmd_start(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        await self._cmd_help(ctx, command, message)

    async def _cmd_login(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        await self._send_login_link(ctx)

    async def _send_login_link(self, ctx: Ctx) -> None:
        """DM a one-time dashboard sign-in link; only its hash is kept."""
        if self.settings.public_url is None:
            await self._reply(ctx, "login_unavailable")
            return
        assert ctx.event.actor is not None
        token = secrets.token_urlsafe(32)
        digest = hashlib.sha256(token.encode()).hexdigest()
        # the dashboard signs in the person, whichever of their platforms asked
        signs_in = await recorded_key(ctx.uow, ctx.event.actor.key)
        await ctx.uow.add_login_token(signs_in, digest, ctx.now, ctx.now + LOGIN_TTL)
        url = f"{self.settings.public_url.rstrip('/')}/login/{token}"
        text = self.texts.render(
            "login_link",
            self.settings.staff_locale_of(ctx.event.actor.key),
            url=url,
            minutes=int(LOGIN_TTL.total_seconds() // 60),
        )
        await self._emit(
            ctx,
            Outbound(
                OutboundKind.DM,
                ctx.event.chat.platform,
                ctx.event.actor.user_id,
                text=text,
                person=ctx.event.actor.key,
                # where to say so when no direct chat reaches them (a bridge they never
                # wrote to directly); the link itself is never posted there
                fallback_chat=None if ctx.event.is_direct else ctx.event.chat.chat,
                purpose="login",
            ),
        )
        if ctx.chat.kind is not ChatKind.TRIAGE and not ctx.event.is_direct:
            await self._reply(ctx, "login_sent")

    async def _cmd_new(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        if ctx.chat.kind is ChatKind.TRIAGE:
            await self._reply(ctx, "not_in_triage")
            return
        title = command.args or None
        context: list[MessageRecord] = []
        if not title:
            context = await self._context_for(ctx, message)
        await self._open(ctx, message, context, title=title)

    async def _cmd_case(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        if ctx.chat.kind is ChatKind.TRIAGE:
            await self._reply(ctx, "not_in_triage")
            return
        uow = ctx.uow
        title = command.args or None
        if ctx.event.reply_to:
            target = await uow.message(ctx.chat.id, ctx.event.reply_to)
            if target is None:
                await self._reply(ctx, "message_unknown")
                return
            if target.case_id is not None:
                existing = await self._follow_merge(uow, target.case_id)
                if existing is not None and self._splittable(target, existing):
                    await self._split(ctx, target, existing, title)
                    return
                # a reply or a thread says where it belongs: moving it is a deliberate /move
                by_thread = target.joined in (Joined.REPLY, Joined.THREAD)
                await self._reply(
                    ctx,
                    "already_case_move" if by_thread else "already_case",
                    ref=existing.ref if existing else f"#{target.case_id}",
                    title=existing.title if existing else "",
                )
                return
            context = await self._context_for(ctx, target)
            await self._open(ctx, target, context, title=title)
            return
        # no reply: take the latest untracked customer messages in this chat/thread
        since = ctx.now - self.settings.context_window
        recent = await uow.untracked_messages(
            ctx.chat.id, ctx.event.chat.thread, since, None, self.settings.context_limit * 3
        )
        customer = [m for m in recent if m.role is MessageRole.CUSTOMER and m.id != message.id]
        if not customer:
            if title:
                await self._open(ctx, message, [], title=title)
            else:
                await self._reply(ctx, "case_nothing")
            return
        last = customer[-1]
        context = [m for m in customer[:-1] if m.sender == last.sender][
            -self.settings.context_limit :
        ]
        await self._open(ctx, last, context, title=title)

    async def _cmd_status(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        uow, locale = ctx.uow, ctx.chat.locale
        if ctx.chat.kind is ChatKind.TRIAGE and command.case_ref is None:
            await self._reply(ctx, "not_in_triage")
            return
        if command.case_ref is not None:
            case = await self._case_in_scope(ctx, command.case_ref)
            # a customer names only their own chat's cases, even from an odd chat
            if case is None or (not ctx.role.is_staff and case.chat_id != ctx.chat.id):
                await self._reply(ctx, "case_unknown", ref=command.ref_text)
                return
            cases = [case]
        else:
            cases = list(await uow.open_cases(ctx.chat.id))
        followups: dict[int, list[FollowUpRecord]] = {}
        owners: dict[str, str] = {}
        # follow-ups are internal (their text, their owner): shown in triage only, never
        # in a customer chat, whoever asks there
        if ctx.role.is_staff and ctx.chat.kind is ChatKind.TRIAGE:
            locale = self.settings.staff_locale
            for case in cases:
                followups[self._id(case)] = list(await uow.followups(self._id(case)))
            for f in (f for found in followups.values() for f in found):
                owners[f.owner] = await self._person_name(ctx, f.owner, locale)
        text = views.status_list(self.texts, locale, cases, followups, owners)
        if ctx.chat.status_token and self.settings.public_url:
            text += "\n" + self.texts.render(
                "status_link",
                locale,
                url=f"{self.settings.public_url.rstrip('/')}/status/{ctx.chat.status_token}",
            )
        await self._send(ctx, text, reply_to=ctx.event.message_id, purpose="status")

    async def _target_case(
        self, ctx: Ctx, command: Command, ask: bool = True
    ) -> CaseRecord | None:
        """The case a command is about: `#N`, the replied message's case, the
        topic's case, or the chat's only active case. Replies if none (`ask`), or if
        `#N` names none."""
        uow = ctx.uow
        case: CaseRecord | None = None
        if command.case_ref is not None:
            case = await self._case_in_scope(ctx, command.case_ref)
            if case is None:
                await self._reply(ctx, "case_unknown", ref=command.ref_text)
                return None
            return case
        if ctx.event.reply_to:
            parent = await uow.message(ctx.chat.id, ctx.event.reply_to)
            if parent is not None and parent.case_id is not None:
                return await self._follow_merge(uow, parent.case_id)
        if ctx.event.chat.thread:
            case = await uow.case_by_thread(ctx.chat.id, ctx.event.chat.thread)
            if case is not None:
                return case
        if ctx.chat.kind is not ChatKind.TRIAGE:
            active = [
                c
                for c in await uow.open_cases(ctx.chat.id)
                if ctx.event.chat.thread is None or c.thread == ctx.event.chat.thread
            ]
            if len(active) == 1:
                # read again through `case`, which locks it (see storage.uow): the
                # list is read unlocked, and this case is about to be changed
                return await uow.case(self._id(active[0]))
        if ask:
            await self._reply(ctx, "which_case")
        return None

    async def _case_in_scope(self, ctx: Ctx, number: int) -> CaseRecord | None:
        """Case #number if this chat may act on it: its own chat, or triage."""
        case = await self._follow_merge(ctx.uow, number)
        if case is None:
            return None
        if ctx.chat.kind is ChatKind.TRIAGE or case.chat_id == ctx.chat.id:
            await self._remember_chat(ctx, case)
            return case
        return None

    @staticmethod
    def _on_team(person: PersonInfo | None) -> PersonInfo | None:
        """`person` if they may be given work on a case (assignee, follow-up owner), from
        chat or the web alike: staff only, since the work comes with internal text."""
        return person if person is not None and Role(person.role).is_staff else None

    async def _cmd_assign(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        case = await self._target_case(ctx, command)
        if case is None:
            return
        args = command.args_without_ref
        assignee: str | None
        assert ctx.event.actor is not None
        if not args or args.lower() == "me":
            assignee = ctx.event.actor.key
        else:
            names = mentions(args)
            # "@Evan Chen": a person's name may hold more than an @mention does
            named = plain(args[1:]).strip() if args.startswith("@") else ""
            # a person the platform names by key (picked from Feishu's @ list, a Telegram
            # text mention) is that person, whatever name the text shows
            keyed = [m for m in ctx.event.mentions if not m.startswith("@")]
            person = await ctx.uow.person(keyed[0]) if keyed else None
            if person is None and named:
                person = await ctx.uow.find_person(ctx.event.chat.platform, named)
            if person is None and names:
                person = await ctx.uow.find_person(ctx.event.chat.platform, names[0])
            # someone picked without a username (Telegram's text_mention): the platform
            # names them by key in the event's mentions, not in the text
            keyed = [m for m in ctx.event.mentions if ":" in m]
            if person is None and keyed:
                person = await ctx.uow.person(keyed[0])
                names = names or [person.name if person else keyed[0]]
            if not names and person is None:
                await self._reply(ctx, "usage_assign")
                return
            person = self._on_team(person)
            if person is None:
                await self._reply(ctx, "person_unknown", name=f"@{names[0] if names else named}")
                return
            assignee = person.key
        await self._assign(ctx, case, assignee)

    async def _cmd_take(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        case = await self._target_case(ctx, command)
        if case is not None:
            assert ctx.event.actor is not None
            await self._assign(ctx, case, ctx.event.actor.key, reason="take")

    async def _assign(
        self, ctx: Ctx, case: CaseRecord, assignee: str, reason: str = "assign"
    ) -> None:
        # a person known under several keys is assigned as one, whichever key took it
        assignee = await recorded_key(ctx.uow, assignee)
        name = await self._person_name(ctx, assignee, ctx.chat.locale)
        # a routed person taking what routing gave them is taking it, no repeat
        if case.assignee == assignee and not routing.pending(case):
            await self._refuse(ctx, "already_assigned", tell_chat=False, ref=case.ref, name=name)
            return
        old = case.assignee
        case.assignee = assignee
        routing.settle(case)  # a person's choice wins over routing: no more passing on
        await ctx.uow.add_event(
            self._id(case),
            "assigned",
            ctx.now,
            ctx.actor_key,
            {"from": old, "to": assignee, "reason": reason},
        )
        if case.status is Status.NEW:
            await self._set_status(ctx, case, Status.OPEN, reason="assigned", save=False)
        await ctx.uow.save_case(case)
        await self._reply(ctx, "assigned", ref=case.ref, name=name)
        await self._touch(ctx, case)

    async def _cmd_priority(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        value = plain(command.args_without_ref).upper()
        if value not in PRIORITIES:
            await self._reply(ctx, "usage_priority")
            return
        case = await self._target_case(ctx, command)
        if case is None:
            return
        await self._set_priority(ctx, case, value)

    async def _set_priority(self, ctx: Ctx, case: CaseRecord, value: str) -> None:
        if case.priority == value:
            await self._refuse(
                ctx, "already_priority", tell_chat=False, ref=case.ref, priority=value
            )
            return
        old, case.priority = case.priority, value
        await ctx.uow.add_event(
            self._id(case), "priority_changed", ctx.now, ctx.actor_key, {"from": old, "to": value}
        )
        await self._refresh_sla(ctx, case)
        await ctx.uow.save_case(case)
        await self._reply(ctx, "priority_set", ref=case.ref, priority=value)
        await self._touch(ctx, case)

    async def _cmd_resolve(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        case = await self._target_case(ctx, command)
        if case is None:
            return
        await self._resolve(ctx, case)

    async def _resolve(self, ctx: Ctx, case: CaseRecord, note: str | None = None) -> None:
        if case.status in (Status.RESOLVED, Status.CLOSED):
            await self._refuse(ctx, "already_resolved", ref=case.ref)
            return
        if await self._fields_missing(ctx, case):
            return
        await self._set_status(ctx, case, Status.RESOLVED, reason=note or "command")
        await self._notify_resolved(ctx, case)

    async def _notify_resolved(self, ctx: Ctx, case: CaseRecord) -> None:
        chat = await ctx.uow.chat_by_id(case.chat_id)
        if chat is None:
            return
        text = self.texts.render("resolved", chat.locale, ref=case.ref, title=case.title)
        buttons = views.csat_buttons(self._id(case)) if self.settings.csat else ()
        if buttons and case.resolved_at is not None:
            # the rating this resolution asks for: presses are taken for this cycle only
            case.sla["csat_asked"] = case.resolved_at.isoformat()
            await ctx.uow.save_case(case)
        await self._emit(
            ctx,
            Outbound(
                OutboundKind.SEND,
                chat.key.platform,
                chat.key.chat,
                text=text,
                thread=case.thread,
                reply_to=case.source_message_id,
                buttons=buttons,
                case_id=case.id,
                purpose="csat",
            ),
        )

    async def _cmd_reopen(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        case = await self._target_case(ctx, command)
        if case is None:
            return
        # a case on hold is taken off hold the same way (no chat command did before)
        if case.status.is_active and case.status is not Status.ON_HOLD:
            await self._refuse(ctx, "already_open", ref=case.ref)
            return
        await self._set_status(ctx, case, Status.OPEN, reason="command")
        await self._reply(ctx, "reopened", ref=case.ref)

    async def _cmd_hold(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        case = await self._target_case(ctx, command)
        if case is None:
            return
        if not case.status.is_active:
            # holding pauses work in progress; a resolved case is reopened with /reopen
            await self._refuse(ctx, "already_resolved", ref=case.ref)
            return
        await self._set_status(ctx, case, Status.ON_HOLD, reason="command")
        await self._reply(ctx, "on_hold", ref=case.ref)

    async def _cmd_note(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        case = await self._target_case(ctx, command)
        if case is None:
            return
        await ctx.uow.link_message(self._id(message), self._id(case), Joined.COMMAND)
        await ctx.uow.add_event(
            self._id(case), "note", ctx.now, ctx.actor_key, {"text": command.args_without_ref}
        )
        ctx.outcome.case_id = case.id
        triage = self.settings.triage_chat
        if triage is not None:
            text = self.texts.render(
                "note_triage",
                self.settings.staff_locale,
                ref=case.ref,
                name=ctx.event.actor.display if ctx.event.actor else "",
                text=command.args_without_ref,
            )
            await self._emit(
                ctx,
                Outbound(
                    OutboundKind.SEND,
                    triage.platform,
                    triage.chat,
                    text=text,
                    case_id=case.id,
                    purpose="note",
                    extra=self.settings.card_thread(triage.platform, self._id(case)),
                ),
            )

    async def _cmd_followup(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        try:
            spec = parse_followup(command.args_without_ref)
        except ValueError:
            await self._reply(ctx, "usage_followup")
            return
        case = await self._target_case(ctx, command)
        if case is None:
            return
        assert ctx.event.actor is not None
        owner = ctx.event.actor.key
        if spec.owner and spec.owner != "me":
            person = self._on_team(await ctx.uow.find_person(ctx.event.chat.platform, spec.owner))
            if person is None:
                await self._reply(ctx, "person_unknown", name=f"@{spec.owner}")
                return
            owner = person.key
        await self._add_followup(ctx, case, owner, spec.delay, spec.text)

    async def _add_followup(
        self, ctx: Ctx, case: CaseRecord, owner: str, delay: timedelta, text: str
    ) -> FollowUpRecord:
        # "/followup 2d" means two days on the calendar (in business time it was 48
        # working hours: a week and more), moved to the next opening if the desk is shut
        due = self._calendar(ctx, case).next_open(ctx.now + delay)
        owner = await recorded_key(ctx.uow, owner)
        followup = await ctx.uow.add_followup(
            FollowUpRecord(
                case_id=self._id(case),
                owner=owner,
                text=text,
                due_at=due,
                created_by=ctx.actor_key or owner,
                created_at=ctx.now,
            )
        )
        await ctx.uow.add_event(
            self._id(case),
            "followup_created",
            ctx.now,
            ctx.actor_key,
            {"followup": followup.id, "owner": owner, "due": due.isoformat(), "text": text},
        )
        await self._followup_timer(ctx, case)
        await self._staff_notice(
            ctx,
            "followup_set",
            ref=case.ref,
            due=views.when(due, self.settings.staff_locale),
            id=followup.id,
        )
        await self._touch(ctx, case)
        return followup

    async def _cmd_done(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        case = await self._target_case(ctx, command)
        if case is None:
            return
        pending = list(await ctx.uow.followups(self._id(case)))
        wanted = command.args_without_ref
        if wanted.isdigit():
            # "²" is a digit to isdigit() but no number: it matches no follow-up
            pending = [f for f in pending if f.id == parse_number(plain(wanted))]
        elif len(pending) > 1 and ctx.event.actor is not None:
            me = await recorded_key(ctx.uow, ctx.event.actor.key)
            mine = [f for f in pending if f.owner == me]
            pending = mine[:1] if mine else pending[:1]
        if not pending:
            await self._staff_notice(ctx, "followup_none", ref=case.ref)
            return
        await self._finish_followups(ctx, case, pending)

    async def _finish_followups(
        self, ctx: Ctx, case: CaseRecord, pending: list[FollowUpRecord]
    ) -> None:
        for f in pending:
            f.done_at = ctx.now
            await ctx.uow.save_followup(f)
            await ctx.uow.add_event(
                self._id(case), "followup_done", ctx.now, ctx.actor_key, {"followup": f.id}
            )
        await self._followup_timer(ctx, case)
        await self._staff_notice(ctx, "followup_done", ref=case.ref, count=len(pending))

    async def _followup_timer(self, ctx: Ctx, case: CaseRecord) -> None:
        """Mirror the case's earliest pending follow-up timer into `next_due_at`."""
        pending = await ctx.uow.followups(self._id(case))
        at = next_followup_at(pending, self._calendar(ctx, case), self.settings.escalation)
        if at is None:
            case.sla.pop("followup_at", None)
        else:
            case.sla["followup_at"] = at.isoformat()
        await self._refresh_sla(ctx, case)
        await ctx.uow.save_case(case)

    async def _cmd_move(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        if command.case_ref is None or not ctx.event.reply_to:
            await self._reply(ctx, "usage_move")
            return
        target = await self._case_in_scope(ctx, command.case_ref)
        if target is None:
            await self._reply(ctx, "case_unknown", ref=command.ref_text)
            return
        moved = await ctx.uow.message(ctx.chat.id, ctx.event.reply_to)
        if moved is None:
            await self._reply(ctx, "message_unknown")
            return
        await self._move(ctx, moved, target)

    async def _move(self, ctx: Ctx, moved: MessageRecord, target: CaseRecord) -> None:
        old = moved.case_id
        if old == target.id:
            await self._refuse(ctx, "already_there", tell_chat=False, ref=target.ref)
            return
        await ctx.uow.link_message(self._id(moved), self._id(target), Joined.MOVED)
        data = {"message": moved.platform_message_id, "from": old, "to": target.id}
        await ctx.uow.add_event(self._id(target), "message_moved_in", ctx.now, ctx.actor_key, data)
        if old is not None:
            await ctx.uow.add_event(old, "message_moved_out", ctx.now, ctx.actor_key, data)
        await self._reply(ctx, "moved", ref=target.ref)

    async def _cmd_merge(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        if command.case_ref is None:
            await self._reply(ctx, "usage_merge")
            return
        target = await self._case_in_scope(ctx, command.case_ref)
        if target is None:
            await self._reply(ctx, "case_unknown", ref=command.ref_text)
            return
        source = await self._target_case(ctx, Command(command.name, ""))
        if source is None:
            return
        if source.id == target.id:
            await self._reply(ctx, "usage_merge")
            return
        await self._merge(ctx, source, target)

    async def _merge_issue_links(self, ctx: Ctx, source: CaseRecord, target: CaseRecord) -> None:
        """The source's issues are linked from the target, so a close reaches the case the
        customer's thread now lives in, once, with a draft that case can send."""
        for issue in await ctx.uow.case_issues(self._id(source)):
            assert issue.id is not None
            await ctx.uow.unlink_issue(self._id(source), issue.id)
            moved = IssueLink(self._id(target), issue.id, ctx.now, linked_by=ctx.actor_key)
            if await ctx.uow.link_issue(moved):
                await ctx.uow.add_event(
                    self._id(target),
                    "issue_linked",
                    ctx.now,
                    ctx.actor_key,
                    {"tracker": issue.tracker, "key": issue.key, "url": issue.url},
                )

    async def _merge(self, ctx: Ctx, source: CaseRecord, target: CaseRecord) -> None:
        if source.id == target.id:
            await self._refuse(ctx, "merge_itself", ref=source.ref)
            return
        if source.account_id != target.account_id:
            await self._refuse(ctx, "merge_other_account")
            return
        source_active = source.status.is_active
        for m in await ctx.uow.case_messages(self._id(source)):
            await ctx.uow.link_message(self._id(m), self._id(target), m.joined or Joined.MOVED)
        await self._merge_issue_links(ctx, source, target)
        source.merged_into = target.id
        await ctx.uow.add_event(
            self._id(source), "merged_into", ctx.now, ctx.actor_key, {"into": target.id}
        )
        await ctx.uow.add_event(
            self._id(target), "merged_from", ctx.now, ctx.actor_key, {"from": source.id}
        )
        await self._set_status(ctx, source, Status.CLOSED, reason="merged")
        if source_active and not target.status.is_active:
            # an open case's messages never sit inside a finished one: the target reopens
            await self._set_status(ctx, target, Status.OPEN, reason="merged_in")
            await self._reply(ctx, "merged_reopened", ref=source.ref, into=target.ref)
        else:
            await self._reply(ctx, "merged", ref=source.ref, into=target.ref)
        # a customer line it took in may be unanswered: the target's reply clock runs then
        self._recount(target, list(await ctx.uow.case_messages(self._id(target))))
        if "customer_waiting_since" in target.sla and target.status is Status.WAITING:
            await self._set_status(ctx, target, Status.OPEN, reason="merged_in", save=False)
        await self._refresh_sla(ctx, target)
        await ctx.uow.save_case(target)
        await self._touch(ctx, target)
