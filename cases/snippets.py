"""Saved answers: `/save name` (a reply to a good staff message) or the 📖 reaction keeps
it; `/snip name` posts it again with `{customer}`, `{case}` and `{owner}` filled in.

Standard library and `cases` only. A snippet has a variant per locale (en, zh): one
saved in a chat takes that chat's locale, and `/snip` picks the variant of the chat's
account locale, else the other one. Every use is counted. Saving and the answers to
it are internal: in a customer chat staff hear them in the triage chat.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from cases.commands import Command
from cases.context import Ctx
from cases.effects import Effects
from cases.model import ChatKind, MessageRole
from cases.records import CaseRecord, MessageRecord

# the reaction that saves a staff message as an answer (emoji, and Slack's names)
SAVE_EMOJIS = frozenset({"📖", "book", "open_book"})
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_VARIABLE = re.compile(r"\{(customer|case|owner)\}")


@dataclass
class SnippetRecord:
    name: str
    locale: str
    text: str
    uses: int = 0
    id: int | None = None
    created_by: str | None = None
    updated_at: datetime | None = None


def valid_name(name: str) -> bool:
    return bool(_NAME.match(name))


def derive_name(text: str, taken: Sequence[str], fallback: str) -> str:
    """A name from a message's first words ("restart-the-agent"), or `fallback` when it
    has no Latin words (a Chinese answer), made unique against `taken`."""
    words = re.findall(r"[a-z0-9]+", text.lower())[:3]
    base = "-".join(words)[:48] or fallback
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def pick_variant(variants: Sequence[SnippetRecord], locale: str) -> SnippetRecord | None:
    for v in variants:
        if v.locale == locale:
            return v
    return next(iter(sorted(variants, key=lambda v: v.locale != "en")), None)


def fill(text: str, values: Mapping[str, str]) -> str:
    """Fill the known variables; any other brace stays as written."""
    return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


class Snippets(Effects):
    """/save, /snip and the 📖 reaction, mixed into the engine."""

    # `cases.chat_commands.Commands` and `cases.engine.Engine` provide these
    _target_case: Callable[..., Awaitable[CaseRecord | None]]
    _act_reply: Callable[[Ctx, CaseRecord, str], Awaitable[None]]

    async def _cmd_save(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        name = command.args.strip().lower()
        if not valid_name(name) or not ctx.event.reply_to:
            await self._staff_notice(ctx, "usage_save")
            return
        target = await ctx.uow.message(ctx.chat.id, ctx.event.reply_to)
        if target is None or not target.text.strip():
            await self._reply(ctx, "message_unknown")
            return
        await self._keep_snippet(ctx, name, target)

    async def _save_reaction(self, ctx: Ctx) -> None:
        """📖 on a staff message: saved under a name derived from its first words."""
        if ctx.event.message_id is None:
            return
        target = await ctx.uow.message(ctx.chat.id, ctx.event.message_id)
        if target is None or target.role is not MessageRole.STAFF or not target.text.strip():
            ctx.outcome.ignored = "save reaction on no staff message"
            return
        taken = await ctx.uow.snippet_names()
        name = derive_name(target.text, taken, f"answer-{target.id}")
        await self._keep_snippet(ctx, name, target)

    async def _keep_snippet(self, ctx: Ctx, name: str, target: MessageRecord) -> None:
        locale = (
            ctx.chat.locale if ctx.chat.kind is ChatKind.CUSTOMER else self.settings.staff_locale
        )
        created = await ctx.uow.save_snippet(
            SnippetRecord(name=name, locale=locale, text=target.text, created_by=ctx.actor_key),
            ctx.now,
        )
        await self._staff_notice(
            ctx, "snippet_saved" if created else "snippet_updated", name=name, locale=locale
        )

    async def _cmd_snip(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        name = command.args_without_ref.strip().lower()
        variants = await ctx.uow.snippet(name) if name else []
        if not variants:
            names = ", ".join(await ctx.uow.snippet_names()) or "-"
            await self._staff_notice(ctx, "snippet_unknown", name=name or "?", names=names)
            return
        variant = pick_variant(variants, ctx.chat.locale)
        assert variant is not None and variant.id is not None
        # a snippet outside any case is still posted: no "which case?" first
        case = await self._target_case(ctx, command, ask=False)
        text = fill(variant.text, await self._snip_values(ctx, case))
        await ctx.uow.used_snippet(variant.id)
        if case is not None and ctx.chat.kind is ChatKind.CUSTOMER:
            # as a reply from the web: a staff answer on the case, counted as one
            await self._act_reply(ctx, case, text)
            ctx.outcome.case_id = case.id
        else:
            await self._send(ctx, text, reply_to=ctx.event.reply_to, purpose="snippet", case=case)

    async def _snip_values(self, ctx: Ctx, case: CaseRecord | None) -> dict[str, str]:
        locale = ctx.chat.locale
        values = {"case": case.ref if case else "", "customer": "", "owner": ""}
        account = ctx.chat.account
        values["customer"] = account.name if account else (ctx.chat.title or "")
        if case is not None:
            for m in await ctx.uow.case_messages(self._id(case)):
                if m.role is MessageRole.CUSTOMER and m.sender_name:
                    values["customer"] = m.sender_name
                    break
        owner = case.assignee if case and case.assignee else ctx.actor_key
        if owner:
            values["owner"] = await self._person_name(ctx, owner, locale)
        return values
