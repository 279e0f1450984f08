"""Staff actions from the web (dashboard forms and API calls), applied through the
engine exactly like chat commands: one transaction, then the dispatcher is woken
so case cards and status boards update.

Imports `cases` and `storage`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cases.durations import parse_duration
from cases.engine import ActionRejected, Outcome
from cases.model import ActionKind, Actor, StaffAction
from storage.uow import SqlUnitOfWork

__all__ = ["ActionRejected", "perform", "staff_action"]


def actor_for(person: str, name: str = "") -> Actor:
    platform, _, user_id = person.partition(":")
    return Actor(platform, user_id, name)


def staff_action(
    app: Any,
    kind: str,
    case_id: int,
    person: str,
    name: str,
    fields: dict[str, str],
) -> StaffAction:
    """Build a StaffAction from form or JSON fields; ActionRejected on bad input."""
    try:
        action_kind = ActionKind(kind)
    except ValueError:
        raise ActionRejected(f"unknown action {kind!r}") from None
    value = {
        ActionKind.ASSIGN: "assignee",
        ActionKind.PRIORITY: "priority",
        ActionKind.STATUS: "status",
        ActionKind.NOTE: "text",
        ActionKind.FOLLOWUP: "text",
    }[action_kind]
    due_in: timedelta | None = None
    if action_kind is ActionKind.FOLLOWUP:
        raw = fields.get("due_in", "").strip()
        try:
            due_in = parse_duration(raw)
        except ValueError:
            raise ActionRejected("due_in must be a duration such as 90m, 4h or 2d") from None
        if due_in <= timedelta(0):
            raise ActionRejected("due_in must be positive")
    return StaffAction(
        kind=action_kind,
        case_id=case_id,
        actor=actor_for(person, name),
        at=app.clock.now(),
        value=fields.get(value, "").strip(),
        owner=(fields.get("owner") or "").strip() or None,
        due_in=due_in,
    )


async def perform(app: Any, action: StaffAction) -> Outcome:
    """Run one action in its own transaction; raises ActionRejected (nothing is
    written then)."""
    async with app.sessions() as session, session.begin():
        uow = SqlUnitOfWork(session, app.caches)
        outcome: Outcome = await app.engine.act(uow, action)
    app.dispatcher.wake()
    return outcome
