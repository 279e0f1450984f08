"""Routing: who a new case goes to, and passing it on when nobody takes it.

Standard library and `cases` only. A route (`[[routing]]` in the config) names an
account or a category, a policy (`owner`, `round_robin`, `least_loaded`), the people
it chooses among, and how long a routed case may wait before it passes to the next
person. Only people on duty (`EscalationPolicy.on_duty`: duty hours, away) are
chosen. A routed case stays `new` until someone takes it (`/take`, `/assign`, the
card's Take, or the routed person's own reply in the chat); `case.sla["route"]`
remembers the route, who was tried and when, and `case.sla["route_at"]` is the
pass-on timer the sweeper fires (`SystemKind.PASS_ON`). Every assignment is audited
as an `assigned` event whose `reason` says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cases import sla
from cases.records import AccountInfo, CaseRecord

POLICIES = ("owner", "round_robin", "least_loaded")
PASSED_ON = "passed_on"
# why a case went to someone: the `reason` of its `assigned` event
REASONS = ("owner", "backup", "round_robin", "least_loaded", PASSED_ON, "take", "assign")


@dataclass(frozen=True)
class Route:
    account: str | None = None
    category: str | None = None
    policy: str = "round_robin"
    people: tuple[str, ...] = ()
    pass_after: timedelta | None = None

    @property
    def name(self) -> str:
        return f"category:{self.category}" if self.category else f"account:{self.account}"


def route_for(routes: Sequence[Route], account: str | None, category: str | None) -> Route | None:
    """The route of a case: its category's if one names it, else its account's."""
    if category:
        for route in routes:
            if route.category == category:
                return route
    for route in routes:
        if route.account is not None and route.account == account:
            return route
    return None


def ordered(
    route: Route,
    account: AccountInfo | None,
    last_turn: str | None,
    loads: Mapping[str, int],
) -> list[tuple[str, str]]:
    """Everyone the route may give the case to, best first, each with the reason."""
    people = list(route.people)
    if route.policy == "owner":
        first = []
        if account is not None and account.owner:
            first.append((account.owner, "owner"))
        if account is not None and account.backup:
            first.append((account.backup, "backup"))
        return first + [(p, "round_robin") for p in people]
    if route.policy == "least_loaded":
        ranked = sorted(people, key=lambda p: loads.get(p, 0))  # stable: config order breaks ties
        return [(p, "least_loaded") for p in ranked]
    if last_turn in people:
        at = people.index(last_turn) + 1
        people = people[at:] + people[:at]
    return [(p, "round_robin") for p in people]


def pick(
    choices: Sequence[tuple[str, str]],
    tried: Sequence[str],
    on_duty: Any,
) -> tuple[str, str] | None:
    """The first choice not tried yet who is on duty (`on_duty(person) -> bool`)."""
    for person, reason in choices:
        if person not in tried and on_duty(person):
            return person, reason
    return None


def pass_due(case: CaseRecord, now: datetime) -> bool:
    at = sla.parse_at(case.sla.get("route_at"))
    return at is not None and at <= now


def pending(case: CaseRecord) -> bool:
    """Whether the case waits for its routed person to take it."""
    return "route" in case.sla


def settle(case: CaseRecord) -> None:
    """Someone took the case (or it is done): no more passing on."""
    if "route" not in case.sla and "route_at" not in case.sla:
        return
    case.sla.pop("route", None)
    case.sla.pop("route_at", None)
    case.next_due_at = sla.earliest_due(case)
