"""Button presses (card actions, CSAT ratings) and the bot's own membership changes.

Standard library and `cases` only.
"""

from __future__ import annotations

from cases import sla
from cases.chat_commands import Commands
from cases.commands import parse_number
from cases.context import Ctx, Outcome
from cases.intake_questions import BUTTONS as INTAKE_BUTTONS
from cases.model import (
    PRIORITIES,
    ChatKind,
    Inbound,
    InboundKind,
    Outbound,
    OutboundKind,
    Status,
)
from cases.ports import UnitOfWork
from cases.records import CaseRecord, ChatInfo


class Buttons(Commands):
    """Presses are permission-checked and always answered."""

    # -------------------------------------------------------------- buttons

    async def _button(self, ctx: Ctx) -> None:
        data = ctx.event.data or ""
        action, _, rest = data.partition(":")
        parts = rest.split(":")
        answer = "button_done"
        case_id = parse_number(parts[0])
        if case_id is None:
            await self._answer(ctx, "button_unknown")
            return
        case = await self._follow_merge(ctx.uow, case_id)
        if case is None:
            await self._answer(ctx, "button_unknown")
            return
        await self._remember_chat(ctx, case)
        if action in INTAKE_BUTTONS:
            await self._intake_button(ctx, case, action, parts[1:])
            return
        if action == "csat":
            await self._rate(ctx, case, parse_number(parts[1]) if len(parts) > 1 else None)
            return
        if not ctx.role.is_staff:
            await self._answer(ctx, "refused_staff_only_button")
            return
        if ctx.chat.kind is not ChatKind.TRIAGE and case.chat_id != ctx.chat.id:
            await self._answer(ctx, "button_unknown")
            return
        assert ctx.event.actor is not None
        if action == "take":
            await self._assign(ctx, case, ctx.event.actor.key, reason="take")
        elif action == "prio" and len(parts) > 1 and parts[1] in PRIORITIES:
            await self._set_priority(ctx, case, parts[1])
        elif action == "resolve":
            await self._resolve(ctx, case)
        else:
            answer = "button_unknown"
        await self._answer(ctx, answer)

    async def _rate(self, ctx: Ctx, case: CaseRecord, score: int | None) -> None:
        """One rating per case and resolution cycle, from the case's customer side, on a
        case whose resolution asked for one; a later press changes it (audited as a
        second `csat` event naming the score it replaces)."""
        if ctx.role.is_staff or case.chat_id != ctx.chat.id:
            await self._answer(ctx, "csat_customers_only")
            return
        if score is None or not 1 <= score <= 5:
            await self._answer(ctx, "button_unknown")
            return
        cycle = case.sla.get("csat_asked")
        asked = sla.parse_at(cycle)
        resolved = case.status in (Status.RESOLVED, Status.CLOSED)
        if not resolved or asked is None or asked != case.resolved_at:
            # never resolved, reopened since, or a forged press on a case not asking
            await self._answer(ctx, "csat_not_asked")
            return
        data: dict[str, object] = {"score": score, "cycle": cycle}
        if case.sla.get("csat_cycle") == cycle:
            if case.sla.get("csat") == score:
                await self._answer(ctx, "csat_thanks")
                return
            data["previous"] = case.sla.get("csat")
        await ctx.uow.add_event(self._id(case), "csat", ctx.now, ctx.actor_key, data)
        case.sla["csat"] = score
        case.sla["csat_cycle"] = cycle
        await ctx.uow.save_case(case)
        await self._answer(ctx, "csat_thanks")

    async def _answer(self, ctx: Ctx, key: str) -> None:
        if ctx.event.callback_id is None:
            if ctx.event.kind is InboundKind.MESSAGE:
                # a numbered choice typed in chat: the answer is a reply there
                await self._reply(ctx, key)
            return
        locale = self.settings.staff_locale if ctx.role.is_staff else ctx.chat.locale
        await self._emit(
            ctx,
            Outbound(
                OutboundKind.ANSWER,
                ctx.event.chat.platform,
                ctx.event.chat.chat,
                text=self.texts.render(key, locale),
                callback_id=ctx.event.callback_id,
                purpose="answer",
            ),
        )

    # ------------------------------------------------------------ membership

    async def _membership(
        self, uow: UnitOfWork, event: Inbound, chat: ChatInfo | None, outcome: Outcome
    ) -> None:
        if chat is None:
            chat = await uow.register_chat(
                event.chat.without_thread(), ChatKind.UNKNOWN, event.chat_title
            )
        status = event.member_status or "member"
        triage = self.settings.triage_chat
        if triage is not None and chat.key.key != triage.key:
            text = self.texts.render(
                "bot_membership",
                self.settings.staff_locale,
                chat=chat.key.key,
                title=event.chat_title or chat.title or "",
                status=status,
                account=chat.account.name if chat.account else "-",
            )
            notice = Outbound(
                OutboundKind.SEND, triage.platform, triage.chat, text=text, purpose="membership"
            )
            await self._queue(uow, outcome, notice, event.at)
        if event.bot_removed or chat.kind is not ChatKind.CUSTOMER:
            return
        missing = [r for r in ("admin", "pin") if r not in event.rights]
        topics = chat.account is not None and chat.account.topics == "per_case"
        if topics and "topics" not in event.rights:
            missing.append("topics")
        if missing:
            # each missing right in words the group's admins can act on
            items = [self.texts.render(f"setup_need_{r}", chat.locale) for r in missing]
            joined = ("、" if chat.locale == "zh" else "; ").join(items)
            text = self.texts.render("setup_missing", chat.locale, missing=joined)
            setup = Outbound(
                OutboundKind.SEND, chat.key.platform, chat.key.chat, text=text, purpose="setup"
            )
            await self._queue(uow, outcome, setup, event.at)
