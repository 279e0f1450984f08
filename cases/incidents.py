"""Incident mode: one outage told to every affected customer group at once.

Standard library and `cases` only. `/incident start|update|resolve` from the triage
chat and `Engine.incident` from the web take the same path: the step is recorded
(the incident's audit log), and every customer chat of the affected accounts gets
its notice in its account's locale, queued in the same transaction (see
`storage.incidents`): the dispatcher then delivers each once, paced by each
platform's adapter. While an incident is open, the boards of its groups show a
banner and new cases there are linked to it (the acknowledgement says so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from cases.commands import Command
from cases.context import ActionRejected, Ctx
from cases.effects import Effects
from cases.incident_records import IncidentRecord, IncidentScope, IncidentStep
from cases.model import Actor, ChatKind, Outbound, OutboundKind
from cases.ports import UnitOfWork
from cases.records import CaseRecord, ChatInfo, MessageRecord

_REF = re.compile(r"^(?:INC-)?([0-9]{1,18})$", re.IGNORECASE)
MAX_TITLE = 200
MAX_TEXT = 3000  # the notice adds a line around it; every platform takes 4000


@dataclass(frozen=True)
class IncidentAction:
    """One step of an incident from chat, the dashboard or the API. `text`: the title
    (start), the update, or the resolution note (may be empty)."""

    step: IncidentStep
    actor: Actor
    at: datetime
    text: str = ""
    scope: IncidentScope = field(default_factory=lambda: IncidentScope(all=True))
    incident_id: int | None = None


@dataclass(frozen=True)
class IncidentOutcome:
    incident: IncidentRecord
    update_id: int
    groups: int  # notices queued: one per affected customer chat
    accounts: int
    # the rows written (notices, boards with their banner): an event reports them in its
    # outcome, for the host to wake the dispatcher for their chats
    queued: tuple[Outbound, ...] = ()


def parse_ref(text: str) -> int | None:
    match = _REF.match(text.strip())
    return int(match.group(1)) if match else None


def parse_scope(text: str) -> IncidentScope:
    """`all`, `tier=premium` or `accounts=Acme,Globex`; ValueError otherwise."""
    name, _, value = text.partition("=")
    name = name.strip().lower()
    if name == "all" and not value:
        return IncidentScope(all=True)
    if name == "tier" and value.strip():
        return IncidentScope(tier=value.strip())
    if name == "accounts":
        accounts = tuple(a.strip() for a in value.split(",") if a.strip())
        if accounts:
            return IncidentScope(accounts=accounts)
    raise ValueError(f"not a scope: {text!r}")


def parse_incident(args: str) -> tuple[IncidentStep, IncidentScope, int | None, str]:
    """`start [all|tier=T|accounts=A,B] <title>`, `update [INC-N] <text>` or
    `resolve [INC-N] [text]`; ValueError with no usable step."""
    head, _, rest = args.strip().partition(" ")
    try:
        step = IncidentStep(head.lower())
    except ValueError:
        raise ValueError("no step") from None
    rest = rest.strip()
    scope = IncidentScope(all=True)
    ref = None
    first, _, tail = rest.partition(" ")
    if step is IncidentStep.START and (first.lower() == "all" or "=" in first):
        scope, rest = parse_scope(first), tail.strip()
    elif step is not IncidentStep.START and parse_ref(first) is not None:
        ref, rest = parse_ref(first), tail.strip()
    if step is not IncidentStep.RESOLVE and not rest:
        raise ValueError("no text")
    return step, scope, ref, rest


class Incidents(Effects):
    """`/incident` and `Engine.incident`; hooks for intake (`_link_incident`) and
    boards (`_incident_banner`)."""

    async def incident(self, uow: UnitOfWork, action: IncidentAction) -> IncidentOutcome:
        """Apply an incident step from outside chat; ActionRejected on a bad request
        (nothing written then)."""
        role = await uow.role_of(action.actor.key)
        if not role.is_staff:
            raise ActionRejected("only staff may run incidents")
        return await self._incident_step(uow, action)

    async def _cmd_incident(self, ctx: Ctx, command: Command, message: MessageRecord) -> None:
        if ctx.chat.kind is not ChatKind.TRIAGE:
            # customers would read it: the notice goes out from the triage chat only
            await self._reply(ctx, "incident_triage_only")
            return
        try:
            step, scope, ref, text = parse_incident(command.args)
        except ValueError:
            await self._reply(ctx, "incident_usage")
            return
        assert ctx.event.actor is not None
        action = IncidentAction(step, ctx.event.actor, ctx.now, text, scope, ref)
        try:
            done = await self._incident_step(ctx.uow, action)
        except ActionRejected as exc:
            await self._reply(ctx, "incident_refused", reason=str(exc))
            return
        ctx.outcome.actions.extend(done.queued)
        key = "incident_update_triage"
        if step is IncidentStep.START:
            key = "incident_start_triage"
        elif step is IncidentStep.RESOLVE:
            key = "incident_resolve_triage"
        await self._reply(
            ctx,
            key,
            ref=done.incident.ref,
            title=done.incident.title,
            groups=done.groups,
            accounts=done.accounts,
        )

    async def _incident_step(self, uow: UnitOfWork, action: IncidentAction) -> IncidentOutcome:
        text = action.text.strip()
        actor = action.actor.key
        if len(text) > (MAX_TITLE if action.step is IncidentStep.START else MAX_TEXT):
            raise ActionRejected("the text is too long", "refuse_incident_long")
        if action.step is IncidentStep.START:
            if not text:
                raise ActionRejected("an incident needs a title", "refuse_incident_title")
            accounts = list(await uow.accounts_in_scope(action.scope))
            if action.scope.accounts:
                found = {a.name.casefold() for a in accounts}
                unknown = [a for a in action.scope.accounts if a.casefold() not in found]
                if unknown:
                    raise ActionRejected(f"no account named {', '.join(unknown)}")
            if not accounts:
                raise ActionRejected(f"no account in {action.scope.describe()}")
            incident = await uow.new_incident(text, action.scope, accounts, action.at, actor)
        else:
            incident = await self._open_incident(uow, action.incident_id)
            if action.step is IncidentStep.UPDATE and not text:
                raise ActionRejected("an update needs text", "refuse_incident_text")
            if action.step is IncidentStep.RESOLVE:
                incident = await uow.resolve_incident(incident, action.at, actor)
        update_id = await uow.add_incident_update(incident.id, action.step, text, action.at, actor)
        chats = list(await uow.incident_chats(incident.id))
        texts = {
            locale: self._incident_text(action.step, incident, text, locale)
            for locale in {c.locale for c in chats}
        }
        notices = [
            (
                chat.id,
                Outbound(
                    OutboundKind.SEND,
                    chat.key.platform,
                    chat.key.chat,
                    text=texts[chat.locale],
                    purpose="incident",
                    extra={"incident": str(incident.id)},
                ),
            )
            for chat in chats
        ]
        await uow.add_incident_notices(incident.id, update_id, notices, action.at)
        queued = [notice for _, notice in notices]
        if action.step is not IncidentStep.UPDATE:
            # the banner comes with the start and goes with the resolution, on the boards
            # there are: a group with no board gets the notice, not a new pinned board
            with_board = await uow.chats_with_board([c.id for c in chats])
            for chat in chats:
                if chat.id in with_board:
                    board = await self._board(uow, chat)
                    await uow.enqueue(board, action.at)
                    queued.append(board)
        accounts_told = len({c.account.id for c in chats if c.account is not None})
        return IncidentOutcome(incident, update_id, len(chats), accounts_told, tuple(queued))

    async def _open_incident(self, uow: UnitOfWork, wanted: int | None) -> IncidentRecord:
        if wanted is None:
            open_now = list(await uow.open_incidents())
            if not open_now:
                raise ActionRejected("no incident is open", "refuse_incident_none")
            if len(open_now) > 1:
                refs = ", ".join(i.ref for i in open_now)
                raise ActionRejected(f"several incidents are open ({refs}): name one")
            wanted = open_now[0].id
        # read again under the row lock: another step (another process) may have
        # resolved it since the unlocked look above
        incident = await uow.incident(wanted)
        if incident is None:
            raise ActionRejected(f"no incident INC-{wanted}")
        if not incident.is_open:
            raise ActionRejected(
                f"{incident.ref} is resolved already", "refuse_incident_resolved", ref=incident.ref
            )
        return incident

    def _incident_text(
        self, step: IncidentStep, incident: IncidentRecord, text: str, locale: str
    ) -> str:
        key = "incident_notice_update"
        if step is IncidentStep.START:
            key = "incident_notice_start"
        elif step is IncidentStep.RESOLVE:
            key = "incident_notice_resolve" if text else "incident_notice_resolve_plain"
        return self.texts.render(key, locale, title=incident.title, text=text)

    async def _link_incident(self, ctx: Ctx, case: CaseRecord) -> str:
        """Link a new case to the open incident of its account; the line its
        acknowledgement adds, or ""."""
        account = ctx.chat.account
        if account is None or ctx.chat.kind is not ChatKind.CUSTOMER:
            return ""
        incident = await ctx.uow.incident_for_account(account.id)
        if incident is None:
            return ""
        await ctx.uow.link_incident_case(incident.id, self._id(case), ctx.now)
        await ctx.uow.add_event(
            self._id(case),
            "incident_linked",
            ctx.now,
            ctx.actor_key,
            {"incident": incident.id, "title": incident.title},
        )
        return self.texts.render("incident_ack_note", ctx.chat.locale, title=incident.title)

    async def _incident_banner(self, uow: UnitOfWork, chat: ChatInfo) -> str:
        if chat.account is None:
            return ""
        incident = await uow.incident_for_account(chat.account.id)
        if incident is None:
            return ""
        return self.texts.render("incident_banner", chat.locale, title=incident.title)
