"""The nudge ladder as pure decisions. Standard library and `cases` only; no I/O.

Given a case that the sweeper found due, its SLA targets, calendars, the
escalation policy, its pending follow-ups and `now`, `decide` says which nudges
to send, what to audit and which status changes to make, and updates the case's
SLA bookkeeping and the follow-ups so the same reminder is never decided twice.
The sweeper carries the decision out in the unit of work that claimed the case,
so a reminder and the advance of its timer commit together.

The ladder, by default: a warning goes to the assignee (the triage chat when
unassigned); a breach to the triage chat and the leads; a breach still open
`escalate_after` later to the leads and the account's owner (its backup while the
owner is off duty). Who hears each step, and any number of escalation levels
with their own delays, come from the policy (`[escalation]` in the config). A P1
that arrives while the account's desk is closed pages the on-call engineer at
once. Nothing here ever addresses a customer chat, except the polite customer
nudge, which the sweeper posts in the case's own chat or thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cases import sla
from cases.calendar import BusinessCalendar
from cases.model import Status
from cases.records import AccountInfo, CaseRecord, FollowUpRecord
from cases.texts import Texts
from cases.views import when

WARNING = "warning"
BREACH = "breach"
ESCALATION = "escalation"
PAGE = "page"
FOLLOWUP_DUE = "followup_due"
FOLLOWUP_OVERDUE = "followup_overdue"


@dataclass(frozen=True)
class Nudge:
    """One reminder to staff: DMs to `people` and/or a post in the triage chat."""

    kind: str
    people: tuple[str, ...] = ()
    triage: bool = False
    clock: str | None = None
    due: datetime | None = None
    followup: FollowUpRecord | None = None


@dataclass
class Decision:
    nudges: list[Nudge] = field(default_factory=list)
    # (event type, data) to audit on the case
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    customer_nudge: int = 0  # which polite nudge to post (1..N), 0 for none
    auto_resolve: bool = False
    close: bool = False
    followups: list[FollowUpRecord] = field(default_factory=list)  # changed, to save


def account_manager(
    account: AccountInfo | None, policy: sla.EscalationPolicy, now: datetime
) -> str | None:
    """Who hears about an account now: its owner, or the backup while the owner is off duty."""
    if account is None or account.owner is None:
        return account.backup if account else None
    if account.backup and not policy.on_duty(account.owner, now):
        return account.backup
    return account.owner


def recipients(
    names: Sequence[str],
    case: CaseRecord,
    policy: sla.EscalationPolicy,
    account: AccountInfo | None,
    now: datetime,
) -> tuple[tuple[str, ...], bool]:
    """The people a rung names (`sla.RECIPIENT_ROLES` or person keys), and whether it
    posts in the triage chat. An unassigned case's "assignee" is the triage chat."""
    people: list[str | None] = []
    triage = False
    for name in names:
        if name == "assignee":
            people.append(case.assignee)
            triage = triage or case.assignee is None
        elif name == "triage":
            triage = True
        elif name == "leads":
            people.extend(policy.leads)
        elif name == "owner":
            people.append(account_manager(account, policy, now))
        else:
            people.append(name)
    return _unique(people), triage


def _unique(people: Sequence[str | None]) -> tuple[str, ...]:
    seen: list[str] = []
    for person in people:
        if person and person not in seen:
            seen.append(person)
    return tuple(seen)


def next_followup_at(
    followups: Sequence[FollowUpRecord], calendar: BusinessCalendar, policy: sla.EscalationPolicy
) -> datetime | None:
    """The earliest pending follow-up timer: a nudge at its due time, then the lead's."""
    times: list[datetime] = []
    for f in followups:
        if f.done_at is not None:
            continue
        if f.nudged_at is None:
            times.append(f.due_at)
        elif f.escalated_at is None:
            times.append(calendar.add(f.due_at, policy.escalate_after))
    return min(times) if times else None


def decide(
    case: CaseRecord,
    targets: sla.SlaTargets | None,
    calendar: BusinessCalendar,
    desk: BusinessCalendar,
    policy: sla.EscalationPolicy,
    account: AccountInfo | None,
    followups: Sequence[FollowUpRecord],
    now: datetime,
) -> Decision:
    """What is due on `case` at `now`. `calendar` counts its SLA time (24x7 for
    always-on priorities); `desk` is the account's own business hours (for paging).

    Updates `case.sla` bookkeeping and the follow-ups' `nudged_at`/`escalated_at`;
    the caller refreshes `next_due_at` afterwards (`sla.refresh_due`)."""
    decision = Decision()
    sla.refresh_due(case, targets, calendar, now, policy)
    _clocks(case, targets, calendar, policy, account, now, decision)
    _page(case, desk, policy, now, decision)
    _customer(case, policy, now, decision)
    _followups(case, followups, calendar, policy, now, decision)
    return decision


def _clocks(
    case: CaseRecord,
    targets: sla.SlaTargets | None,
    calendar: BusinessCalendar,
    policy: sla.EscalationPolicy,
    account: AccountInfo | None,
    now: datetime,
    decision: Decision,
) -> None:
    dues = {
        "first_response": case.first_response_due,
        "next_response": case.next_response_due,
        "resolution": case.resolution_due,
    }
    for clock in sla.running_clocks(case, targets):
        due = dues[clock.name]
        if due is None:
            continue  # paused
        state = sla.clock_state(case, clock.name)
        state.setdefault("cycle", clock.cycle)
        data = {"clock": clock.name, "due": due.isoformat()}
        if "breached" not in state and due <= now:
            # a breach happens at its due time, however late the sweeper notices it
            state["breached"] = due.isoformat()
            state.setdefault("warned", now.isoformat())  # a warning after the fact helps nobody
            decision.events.append(("sla_breached", data))
            people, triage = recipients(policy.breach_to, case, policy, account, now)
            decision.nudges.append(Nudge(BREACH, people, triage=triage, clock=clock.name, due=due))
        elif "breached" not in state and "warned" not in state:
            warn = calendar.add(clock.start, clock.target * policy.warn_at + clock.offset)
            if warn <= now:
                state["warned"] = now.isoformat()
                decision.events.append(("sla_warning", data))
                people, triage = recipients(policy.warn_to, case, policy, account, now)
                decision.nudges.append(
                    Nudge(WARNING, people, triage=triage, clock=clock.name, due=due)
                )
        breached = sla.parse_at(state.get("breached"))
        # every rung whose time has come, in order (a sweeper that was down catches up)
        while breached is not None and (rung := policy.next_escalation(state)) is not None:
            if calendar.add(breached, rung.after) > now:
                break
            level = int(state.get("level", 0)) + 1
            state["level"] = level
            if level == len(policy.ladder):
                state["escalated"] = now.isoformat()
            people, triage = recipients(rung.to, case, policy, account, now)
            decision.events.append(("sla_escalated", {**data, "level": level, "to": list(people)}))
            decision.nudges.append(
                Nudge(ESCALATION, people, triage=triage, clock=clock.name, due=due)
            )


def _page(
    case: CaseRecord,
    desk: BusinessCalendar,
    policy: sla.EscalationPolicy,
    now: datetime,
    decision: Decision,
) -> None:
    page_at = sla.parse_at(case.sla.get("page_at"))
    if page_at is None or page_at > now:
        return
    if desk.is_open(now):
        case.sla["paged"] = "in_hours"  # the desk is staffed: the ladder covers it
        return
    case.sla["paged"] = now.isoformat()
    person = policy.on_call_at(now)
    decision.events.append(("sla_paged", {"to": person}))
    decision.nudges.append(
        Nudge(
            PAGE,
            (person,) if person else (),
            triage=person is None,
            clock="first_response",
            due=case.first_response_due,
        )
    )


def _customer(
    case: CaseRecord, policy: sla.EscalationPolicy, now: datetime, decision: Decision
) -> None:
    nudge_at = sla.parse_at(case.sla.get("customer_nudge_at"))
    if case.status is Status.WAITING and nudge_at is not None and nudge_at <= now:
        count = int(case.sla.get("customer_nudges", 0))
        if count < policy.customer_nudges:
            case.sla["customer_nudges"] = count + 1
            case.sla["customer_nudged_at"] = now.isoformat()
            decision.customer_nudge = count + 1
            decision.events.append(("customer_nudged", {"count": count + 1}))
        else:
            decision.auto_resolve = True
    close_at = sla.parse_at(case.sla.get("close_at"))
    if case.status is Status.RESOLVED and close_at is not None and close_at <= now:
        decision.close = True


def _followups(
    case: CaseRecord,
    followups: Sequence[FollowUpRecord],
    calendar: BusinessCalendar,
    policy: sla.EscalationPolicy,
    now: datetime,
    decision: Decision,
) -> None:
    at = sla.parse_at(case.sla.get("followup_at"))
    if at is None or at > now:
        return
    for f in followups:
        if f.done_at is not None:
            continue
        changed = False
        if f.nudged_at is None and f.due_at <= now:
            f.nudged_at = now
            changed = True
            decision.events.append(("followup_nudged", {"followup": f.id, "to": f.owner}))
            decision.nudges.append(Nudge(FOLLOWUP_DUE, (f.owner,), due=f.due_at, followup=f))
        if f.escalated_at is None and calendar.add(f.due_at, policy.escalate_after) <= now:
            f.escalated_at = now
            changed = True
            leads = _unique([p for p in policy.leads if p != f.owner]) or policy.leads
            decision.events.append(("followup_escalated", {"followup": f.id, "to": list(leads)}))
            decision.nudges.append(
                Nudge(FOLLOWUP_OVERDUE, leads, triage=not leads, due=f.due_at, followup=f)
            )
        if changed:
            decision.followups.append(f)
    following = next_followup_at(followups, calendar, policy)
    if following is None:
        case.sla.pop("followup_at", None)
    else:
        case.sla["followup_at"] = following.isoformat()


def render(
    texts: Texts,
    locale: str,
    nudge: Nudge,
    case: CaseRecord,
    customer: str,
    link: str,
    assignee: str,
    owner: str = "",
) -> str:
    """The text of a nudge: it names the case, the customer, what is due and when, and links."""
    what = texts.render(f"sla_clock_{nudge.clock}", locale) if nudge.clock else ""
    params: dict[str, object] = {
        "ref": case.ref,
        "title": case.title,
        "customer": customer,
        "priority": case.priority,
        "what": what,
        "due": when(nudge.due, locale),
        "assignee": assignee,
        "link": link,
    }
    if nudge.followup is not None:
        params.update(text=nudge.followup.text, id=nudge.followup.id, owner=owner)
    return texts.render(f"nudge_{nudge.kind}", locale, **params)
