"""Cases linked to engineering issues: /link, /unlink, /wait, /send_draft, and what a
tracker's word about an issue does to every case linked to it.

Standard library and `cases` only. A case may wait on an open linked issue
(`waiting_on_issue`, which pauses the resolution clock like on_hold, recorded as
any pause is). When the issue closes, each linked active case is taken off the
wait, its owner gets a follow-up "tell the customer" and the triage chat a draft in
the account's locale; the customer hears nothing until staff send the draft.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cases.buttons import Buttons
from cases.commands import Command, parse_number
from cases.context import Ctx, Outcome
from cases.issues import CLOSED, IssueLink, IssueRecord, IssueUpdate, parse_issue_url
from cases.model import Actor, Button, ChatKind, Outbound, OutboundKind, Role, Status
from cases.ports import UnitOfWork
from cases.records import CaseRecord, ChatInfo, MessageRecord


class Links(Buttons):
    """Issue links on top of the chat commands and buttons."""

    if TYPE_CHECKING:
        # the engine's own (cases.engine.Engine), which this mixin sits under
        def _offline_ctx(
            self,
            uow: UnitOfWork,
            chat: ChatInfo,
            case: CaseRecord,
            at: datetime,
            role: Role,
            outcome: Outcome,
            actor: Actor | None = None,
        ) -> Ctx: ...

    # ---------------------------------------------------------------- chat

    async def _cmd_link(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        words = command.args_without_ref.split()
        wait = any(w.lower() == "wait" for w in words)
        urls = [w for w in words if w.lower() != "wait"]
        try:
            if len(urls) != 1:
                raise ValueError("one URL")
            ref = parse_issue_url(urls[0])
        except ValueError:
            await self._reply(ctx, "usage_link")
            return
        case = await self._target_case(ctx, command)
        if case is None:
            return
        issue = await self._link(ctx, case, ref.tracker, ref.key, ref.url)
        if wait and issue is not None and issue.is_open and case.status.is_active:
            await self._wait_on_issue(ctx, case)

    async def _link(
        self, ctx: Ctx, case: CaseRecord, tracker: str, key: str, url: str
    ) -> IssueRecord | None:
        issue = await ctx.uow.issue(tracker, key)
        if issue is None:
            issue = await ctx.uow.save_issue(IssueRecord(tracker, key, url))
        assert issue.id is not None
        linked = await ctx.uow.link_issue(
            IssueLink(self._id(case), issue.id, ctx.now, linked_by=ctx.actor_key)
        )
        if not linked:
            await self._refuse(ctx, "issue_already_linked", ref=case.ref, issue=issue.label)
            return issue
        await ctx.uow.add_event(
            self._id(case),
            "issue_linked",
            ctx.now,
            ctx.actor_key,
            {"tracker": tracker, "key": key, "url": issue.url},
        )
        ctx.outcome.case_id = case.id
        await self._reply(
            ctx,
            "issue_linked",
            ref=case.ref,
            issue=issue.label,
            state=self._state(ctx, issue.state),
        )
        await self._touch(ctx, case)
        return issue

    async def _cmd_unlink(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        case = await self._target_case(ctx, command)
        if case is None:
            return
        await self._unlink(ctx, case, command.args_without_ref)

    async def _unlink(self, ctx: Ctx, case: CaseRecord, which: str) -> None:
        """`which`: an issue URL or key; empty unlinks every issue of the case."""
        wanted: tuple[str, str] | None = None
        if which:
            try:
                ref = parse_issue_url(which)
                wanted = (ref.tracker, ref.key)
            except ValueError:
                wanted = ("", which)
        gone = [
            i
            for i in await ctx.uow.case_issues(self._id(case))
            if wanted is None
            or (i.tracker, i.key) == wanted
            or (not wanted[0] and i.key.lower() == wanted[1].lower())
        ]
        if not gone:
            await self._refuse(ctx, "issue_none_linked", ref=case.ref)
            return
        for issue in gone:
            assert issue.id is not None
            await ctx.uow.unlink_issue(self._id(case), issue.id)
            await ctx.uow.add_event(
                self._id(case),
                "issue_unlinked",
                ctx.now,
                ctx.actor_key,
                {"tracker": issue.tracker, "key": issue.key},
            )
            await self._reply(ctx, "issue_unlinked", ref=case.ref, issue=issue.label)
        ctx.outcome.case_id = case.id
        if case.status is Status.WAITING_ON_ISSUE and not await self._open_issues(ctx, case):
            # nothing left to wait on: the clock runs again
            await self._set_status(ctx, case, Status.OPEN, reason="issue_unlinked")
        else:
            await self._touch(ctx, case)

    async def _cmd_wait(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        case = await self._target_case(ctx, command)
        if case is None:
            return
        await self._wait_on_issue(ctx, case)

    async def _wait_on_issue(self, ctx: Ctx, case: CaseRecord) -> None:
        if not case.status.is_active:
            await self._refuse(ctx, "already_resolved", ref=case.ref)
            return
        issues = await self._open_issues(ctx, case)
        if not issues:
            await self._refuse(ctx, "issue_wait_needs_open", ref=case.ref)
            return
        if case.status is Status.WAITING_ON_ISSUE:
            await self._refuse(
                ctx,
                "already_status",
                tell_chat=False,
                ref=case.ref,
                status=self.texts.render("status_waiting_on_issue", "en"),
            )
            return
        await self._set_status(ctx, case, Status.WAITING_ON_ISSUE, reason="issue")
        await self._reply(
            ctx, "issue_waiting", ref=case.ref, issue=", ".join(i.label for i in issues)
        )

    async def _open_issues(self, ctx: Ctx, case: CaseRecord) -> list[IssueRecord]:
        return [i for i in await ctx.uow.case_issues(self._id(case)) if i.is_open]

    async def _cmd_send_draft(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        case = await self._target_case(ctx, command)
        if case is None:
            return
        await self._send_draft(ctx, case)

    async def _send_draft(self, ctx: Ctx, case: CaseRecord) -> None:
        """A staff member sends what casebot drafted: to the case's own chat and thread,
        once per draft (a second press finds none)."""
        pending = [
            link
            for link in await ctx.uow.issue_links(case_id=self._id(case))
            if link.draft and link.draft_sent_at is None
        ]
        chat = await ctx.uow.chat_by_id(case.chat_id)
        if not pending or chat is None or chat.kind is not ChatKind.CUSTOMER:
            await self._refuse(ctx, "draft_none", ref=case.ref)
            return
        for link in pending:
            link.draft_sent_at = ctx.now
            await ctx.uow.save_issue_link(link)
            await self._emit(
                ctx,
                Outbound(
                    OutboundKind.SEND,
                    chat.key.platform,
                    chat.key.chat,
                    text=link.draft or "",
                    thread=case.thread,
                    reply_to=case.source_message_id,
                    case_id=case.id,
                    purpose="issue_draft",
                ),
            )
            await ctx.uow.add_event(
                self._id(case),
                "issue_draft_sent",
                ctx.now,
                ctx.actor_key,
                {"issue": link.issue_id, "text": link.draft},
            )
        ctx.outcome.case_id = case.id
        if ctx.chat.id != case.chat_id:
            await self._reply(ctx, "draft_sent", ref=case.ref)

    async def _button(self, ctx: Ctx) -> None:
        action, _, rest = (ctx.event.data or "").partition(":")
        if action != "draft":
            await super()._button(ctx)
            return
        number = parse_number(rest)
        case = await self._follow_merge(ctx.uow, number) if number is not None else None
        if case is None or not ctx.role.is_staff:
            await self._answer(
                ctx, "button_unknown" if case is None else "refused_staff_only_button"
            )
            return
        await self._remember_chat(ctx, case)
        await self._send_draft(ctx, case)
        await self._answer(ctx, "button_done")

    def _state(self, ctx: Ctx, state: str) -> str:
        locale = (
            self.settings.staff_locale if ctx.chat.kind is ChatKind.TRIAGE else ctx.chat.locale
        )
        return self.texts.render(
            "issue_state_closed" if state == CLOSED else "issue_state_open", locale
        )

    # ------------------------------------------------------------ trackers

    async def issue_update(self, uow: UnitOfWork, update: IssueUpdate) -> Outcome:
        """What a tracker said of an issue, from a webhook or a poll. Only a change of
        state acts; the same word heard twice (both ways, or a redelivery) does nothing
        more. A close reaches every linked case at once."""
        outcome = Outcome()
        issue = await uow.issue(update.tracker, update.key, lock=True)
        if issue is None:
            outcome.ignored = "issue not linked"
            return outcome
        changed = update.state != issue.state
        if update.title and update.title != issue.title:
            issue.title = update.title
        if changed:
            issue.state, issue.state_at = update.state, update.at
        if update.via == "poll":
            issue.checked_at = update.at
        await uow.save_issue(issue)
        if not changed:
            outcome.ignored = "issue unchanged"
            return outcome
        assert issue.id is not None
        for link in await uow.issue_links(issue_id=issue.id):
            case = await self._follow_merge(uow, link.case_id)
            chat = await uow.chat_by_id(case.chat_id) if case else None
            if case is None or chat is None:
                continue
            ctx = self._offline_ctx(uow, chat, case, update.at, Role.LEAD, outcome)
            said = {"key": issue.key, "via": update.via}
            if issue.state == CLOSED:
                await uow.add_event(self._id(case), "issue_closed", update.at, None, said)
            else:
                await uow.add_event(self._id(case), "issue_reopened", update.at, None, said)
            if not case.status.is_active:
                continue
            if issue.state == CLOSED:
                await self._issue_closed(ctx, case, issue, link)
            else:
                if link.draft and link.draft_sent_at is None:
                    # it says "fixed": once the issue is open again it must not go out
                    link.draft = link.drafted_at = None
                    await uow.save_issue_link(link)
                await self._staff_post(
                    ctx, "issue_reopened_notice", case, issue=issue.label, ref=case.ref
                )
                await self._touch(ctx, case)
        return outcome

    async def _issue_closed(
        self, ctx: Ctx, case: CaseRecord, issue: IssueRecord, link: IssueLink
    ) -> None:
        if case.status is Status.WAITING_ON_ISSUE and not await self._open_issues(ctx, case):
            await self._set_status(ctx, case, Status.OPEN, reason="issue_closed")
        link.draft = self.texts.render(
            "issue_closed_draft",
            ctx.chat.locale,
            ref=case.ref,
            title=case.title,
            issue=issue.title or issue.key,
        )
        link.drafted_at = ctx.now
        await ctx.uow.save_issue_link(link)
        owner = case.assignee or (ctx.chat.account.owner if ctx.chat.account else None)
        text = self.texts.render(
            "issue_closed_followup", self.settings.staff_locale, issue=issue.label
        )
        if owner is not None:
            # due at once: the nudge ladder reminds the owner until it is done
            await self._add_followup(ctx, case, owner, timedelta(0), text)
        await self._staff_post(
            ctx,
            "issue_closed_notice",
            case,
            buttons=(
                (
                    Button(
                        self.texts.render("button_send_draft", self.settings.staff_locale),
                        f"draft:{case.id}",
                    ),
                ),
            ),
            issue=issue.label,
            ref=case.ref,
            title=case.title,
            draft=link.draft,
        )
        await self._touch(ctx, case)

    async def _staff_post(
        self,
        ctx: Ctx,
        key: str,
        case: CaseRecord,
        buttons: tuple[tuple[Button, ...], ...] = (),
        **params: object,
    ) -> None:
        triage = self.settings.triage_chat
        if triage is None:
            return
        await self._emit(
            ctx,
            Outbound(
                OutboundKind.SEND,
                triage.platform,
                triage.chat,
                text=self.texts.render(key, self.settings.staff_locale, **params),
                buttons=buttons,
                case_id=case.id,
                purpose="issue",
            ),
        )
