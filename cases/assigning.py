"""Routing rules mixed into the engine: a new case goes to the route's choice, and a
routed case nobody took in time passes on (the rules themselves: `cases.routing`).

Standard library and `cases` only.
"""

from __future__ import annotations

from collections.abc import Sequence

from cases import sla
from cases.context import Ctx
from cases.effects import Effects
from cases.model import Outbound, OutboundKind, Status
from cases.records import CaseRecord
from cases.routing import PASSED_ON, Route, ordered, pending, pick, route_for, settle


class Assigning(Effects):
    """The routing rules, mixed into the engine."""

    async def _route(self, ctx: Ctx, case: CaseRecord) -> None:
        """Route a case that just opened, if its account or category has a route."""
        account = self._account(ctx, case)
        route = route_for(self.settings.routes, account.name if account else None, case.category)
        if route is not None:
            await self._route_to(ctx, case, route, tried=())

    async def _route_category(self, ctx: Ctx, case: CaseRecord) -> None:
        """A category was set after opening (a button, an answer): its route, if it has
        one, takes over, unless a person already took the case."""
        route = next((r for r in self.settings.routes if r.category == case.category), None)
        state = case.sla.get("route") or {}
        taken = case.assignee is not None and not pending(case)
        if route is None or taken or state.get("route") == route.name:
            return
        await self._route_to(ctx, case, route, tried=())

    async def _pass_on(self, ctx: Ctx, case: CaseRecord) -> None:
        """The sweeper found a routed case nobody took in time: the next person gets it."""
        state = case.sla.get("route") or {}
        tried = [str(p) for p in state.get("tried", [])]
        since = sla.parse_at(state.get("at"))
        taken = (
            not case.status.is_active
            or case.status is not Status.NEW
            or (tried and case.assignee != tried[-1])
            or (
                since is not None and case.last_staff_at is not None and case.last_staff_at > since
            )
        )
        route = next((r for r in self.settings.routes if r.name == state.get("route")), None)
        if taken or route is None:
            settle(case)
            await ctx.uow.save_case(case)
            return
        await self._route_to(ctx, case, route, tried=tried)
        await self._touch(ctx, case)

    async def _route_to(
        self, ctx: Ctx, case: CaseRecord, route: Route, tried: Sequence[str]
    ) -> None:
        uow, policy = ctx.uow, self.settings.escalation
        loads = await uow.open_load(route.people) if route.policy == "least_loaded" else {}
        last = await uow.route_turn(route.name) if route.policy != "least_loaded" else None
        if tried:
            last = tried[-1]  # passing on: the one after whoever had it
        choices = ordered(route, self._account(ctx, case), last, loads)
        chosen = pick(choices, tried, lambda p: policy.on_duty(p, ctx.now))
        locale = self.settings.staff_locale
        if chosen is None:
            settle(case)
            await uow.save_case(case)
            text = self.texts.render("routed_nobody", locale, ref=case.ref, title=case.title)
            await self._tell_triage(ctx, case, text)
            return
        person, reason = chosen
        if tried:
            reason = PASSED_ON
        old = case.assignee
        case.assignee = person
        await uow.add_event(
            self._id(case),
            "assigned",
            ctx.now,
            None,
            {"from": old, "to": person, "reason": reason, "route": route.name},
        )
        if reason == "round_robin":
            await uow.set_route_turn(route.name, person, ctx.now)
        case.sla["route"] = {
            "route": route.name,
            "tried": [*tried, person],
            "at": ctx.now.isoformat(),
        }
        if route.pass_after is not None:
            case.sla["route_at"] = (ctx.now + route.pass_after).isoformat()
        else:
            case.sla.pop("route_at", None)
        case.next_due_at = sla.earliest_due(case)
        await uow.save_case(case)
        name = await self._person_name(ctx, person, locale)
        why = self.texts.render(f"route_reason_{reason}", locale)
        text = self.texts.render("routed", locale, ref=case.ref, name=name, reason=why)
        await self._tell_triage(ctx, case, text)

    async def _tell_triage(self, ctx: Ctx, case: CaseRecord, text: str) -> None:
        triage = self.settings.triage_chat
        if triage is not None:
            await self._emit(
                ctx,
                Outbound(
                    OutboundKind.SEND,
                    triage.platform,
                    triage.chat,
                    text=text,
                    case_id=case.id,
                    purpose="routing",
                ),
            )
