"""Limits on opening cases, so one person or one chat cannot flood the desk.

Standard library and `cases` only. Every way a case opens (`/new`, automatic intake,
`/case`, the case emoji) passes `_may_open` first. Customers are held to a count per
person (across every chat they are in) and per chat within a window; staff only to
their own, higher count in each chat, because `/case` and the emoji are deliberate
triage and must work in a chat a customer floods.
A refused attempt keeps its message (untracked, so `/case` can still take it later);
the first refusal of a burst tells the chat once and the triage chat once.
"""

from __future__ import annotations

from datetime import timedelta

from cases.context import Ctx
from cases.durations import format_duration
from cases.effects import Effects
from cases.model import Outbound, OutboundKind

LIMITED = "opening_limited"


class OpeningGuard(Effects):
    async def _may_open(self, ctx: Ctx) -> bool:
        limits = self.settings.opening_limits
        since = ctx.now - limits.window
        person = ctx.actor_key
        # a customer's count spans every chat they are in: otherwise one person in many
        # chats (of one account or several) opens the limit over in each of them
        checks: list[tuple[int, int | None, str | None]] = (
            [(limits.per_staff, ctx.chat.id, person)]
            if ctx.role.is_staff
            else [(limits.per_customer, None, person), (limits.per_chat, ctx.chat.id, None)]
        )
        for limit, chat_id, by in checks:
            if not limit:
                continue
            count, latest = await ctx.uow.cases_opened(chat_id, since, by)
            if count < limit or latest is None:
                continue
            # the burst is marked on the last case it opened, which says so in its record
            if not await ctx.uow.has_event(latest, LIMITED, since):
                await ctx.uow.add_event(
                    latest,
                    LIMITED,
                    ctx.now,
                    person,
                    {"limit": limit, "per": "chat" if by is None else "person"},
                )
                await self._tell_limited(ctx, count, limits.window)
            ctx.outcome.ignored = "opening limit"
            return False
        return True

    async def _tell_limited(self, ctx: Ctx, count: int, window: timedelta) -> None:
        await self._reply(ctx, "opening_limited", window=format_duration(window, ctx.chat.locale))
        triage = self.settings.triage_chat
        if triage is None:
            return
        account = ctx.chat.account
        text = self.texts.render(
            "opening_limited_triage",
            self.settings.staff_locale,
            chat=ctx.chat.title or ctx.chat.key.key,
            account=account.name if account else "-",
            name=ctx.event.actor.display if ctx.event.actor else "",
            count=count,
            window=format_duration(window, self.settings.staff_locale),
        )
        await self._emit(
            ctx,
            Outbound(OutboundKind.SEND, triage.platform, triage.chat, text=text, purpose="limit"),
        )
