"""Staff actions from the web (dashboard forms and API calls), applied through the
engine exactly like chat commands: one transaction, then the dispatcher is woken
so case cards and status boards update.

Imports `cases` and `storage`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cases.commands import parse_number
from cases.durations import parse_duration
from cases.engine import ActionConflict, ActionRejected, Outcome
from cases.model import ActionKind, Actor, StaffAction
from storage.uow import SqlUnitOfWork

__all__ = ["ActionConflict", "ActionRejected", "perform", "staff_action"]


def actor_for(person: str, name: str = "") -> Actor:
    platform, _, user_id = person.partition(":")
    return Actor(platform, user_id, name)


# the field of a form or JSON body that holds each action's `value`
VALUE_FIELDS = {
    ActionKind.ASSIGN: "assignee",
    ActionKind.PRIORITY: "priority",
    ActionKind.STATUS: "status",
    ActionKind.NOTE: "text",
    ActionKind.FOLLOWUP: "text",
    ActionKind.REPLY: "text",
    ActionKind.LINK: "url",
    ActionKind.UNLINK: "url",
    ActionKind.TAGS: "tags",
    ActionKind.FIELD: "value",
}
# Telegram takes 4096 characters; the bot puts "Name (#12): " before a relayed reply
MAX_REPLY = 4000


def _number(fields: dict[str, str], name: str) -> int | None:
    raw = fields.get(name, "").strip().removeprefix("#")
    if not raw:
        return None
    number = parse_number(raw)
    if number is None:
        raise ActionRejected(f"{name} must be a number", "refuse_number", name=name)
    return number


def _due_in(fields: dict[str, str]) -> timedelta:
    raw = fields.get("due_in", "").strip()
    try:
        due_in = parse_duration(raw)
    except ValueError:
        raise ActionRejected(
            "due_in must be a duration such as 90m, 4h or 2d", "refuse_due_in"
        ) from None
    if due_in <= timedelta(0):
        raise ActionRejected("due_in must be positive", "refuse_due_in_positive")
    return due_in


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
        raise ActionRejected(f"unknown action {kind!r}", "refuse_action", kind=kind) from None
    raw = fields.get(VALUE_FIELDS.get(action_kind, ""), "")
    value = raw.strip()
    if action_kind is ActionKind.REPLY and len(raw) > MAX_REPLY:
        raise ActionRejected(
            f"text is longer than {MAX_REPLY} characters", "refuse_too_long", max=MAX_REPLY
        )
    target = into = None
    if action_kind is ActionKind.FOLLOWUP_DONE:
        target = _number(fields, "followup")
    elif action_kind is ActionKind.MOVE:
        target, into = _number(fields, "message"), _number(fields, "to")
    elif action_kind is ActionKind.MERGE:
        into = _number(fields, "into")
    return StaffAction(
        kind=action_kind,
        case_id=case_id,
        actor=actor_for(person, name),
        at=app.clock.now(),
        value=value,
        owner=(fields.get("owner") or "").strip() or None,
        due_in=_due_in(fields) if action_kind is ActionKind.FOLLOWUP else None,
        target=target,
        into=into,
        field=(fields.get("field") or "").strip() or None,
    )


async def perform(app: Any, action: StaffAction) -> Outcome:
    """Run one action in its own transaction; raises ActionRejected (nothing is
    written then)."""
    async with app.sessions() as session, session.begin():
        uow = SqlUnitOfWork(session, app.caches)
        outcome: Outcome = await app.engine.act(uow, action)
    app.dispatcher.wake()
    return outcome
