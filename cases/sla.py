"""SLA targets, the clocks on a case and their pending timers. Standard library only.

A case has up to three clocks: first response, next response (a customer message
waiting for staff) and resolution. They run in business time of the account's
calendar; the resolution clock pauses while the case waits on the customer or is
on hold. Beside the due times, a case carries the timers of the nudge ladder in
its `sla` JSON: `warn_at` (a share of a target has passed), `escalate_at` (the next rung
of the escalation ladder for a breached clock), `page_at` (a P1 to page on-call about),
`customer_nudge_at`, `close_at` and `followup_at`. The earliest pending one is
mirrored into `next_due_at`, which the sweeper finds with an indexed query.

Per-clock bookkeeping lives in `sla["clocks"][clock]`: the `cycle` it belongs to
(start and target; a new customer message or a new priority starts a new cycle)
and when it was `warned`, `breached`, how many rungs of the escalation ladder fired
(`level`) and when the last did (`escalated`). A breached clock stops being a
pending timer, so each reminder fires once per cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from cases.calendar import BusinessCalendar
from cases.model import Status
from cases.records import CaseRecord

CLOCKS = ("first_response", "next_response", "resolution")
PAUSING = (Status.WAITING, Status.ON_HOLD, Status.WAITING_ON_ISSUE)
TIMER_KEYS = (
    "warn_at",
    "escalate_at",
    "page_at",
    "customer_nudge_at",
    "close_at",
    "followup_at",
    "route_at",
)


@dataclass(frozen=True)
class SlaTargets:
    first_response: timedelta | None = None
    next_response: timedelta | None = None
    resolution: timedelta | None = None


@dataclass(frozen=True)
class SlaPolicy:
    """Targets by tier, then by priority ("P1".."P4")."""

    tiers: Mapping[str, Mapping[str, SlaTargets]] = field(default_factory=dict)

    def targets(self, tier: str | None, priority: str) -> SlaTargets | None:
        if tier is None:
            return None
        return self.tiers.get(tier, {}).get(priority)


@dataclass(frozen=True)
class OnCallShift:
    """One line of the on-call rota: who is on call while `hours` is open."""

    person: str
    hours: BusinessCalendar


# who a rung of the ladder may name besides a person key ("telegram:2001"): the case's
# assignee (the triage chat while unassigned), the triage chat, every lead, and the
# account's owner (its backup while the owner is off duty)
RECIPIENT_ROLES = ("assignee", "triage", "leads", "owner")


@dataclass(frozen=True)
class LadderLevel:
    """One rung after a breach: `after` the breach (business time), nudge `to`."""

    after: timedelta
    to: tuple[str, ...]


@dataclass(frozen=True)
class EscalationPolicy:
    """The nudge ladder's knobs. Delays count in the case's business time, except
    `close_after` (wall time: a resolved case closes on the calendar, not the desk).

    The ladder: a warning at `warn_at` of a target to `warn_to`; the breach to
    `breach_to`; then each of `levels` once, its `after` the breach. Without `levels`,
    one: `escalate_after` the breach to the leads and the account's owner."""

    warn_at: float = 0.8
    escalate_after: timedelta = timedelta(hours=1)
    warn_to: tuple[str, ...] = ("assignee",)
    breach_to: tuple[str, ...] = ("triage", "leads")
    levels: tuple[LadderLevel, ...] = ()
    customer_nudge_after: timedelta = timedelta(days=2)
    customer_nudges: int = 2
    close_after: timedelta = timedelta(days=3)
    page_priorities: frozenset[str] = frozenset({"P1"})
    leads: tuple[str, ...] = ()
    on_call: tuple[OnCallShift, ...] = ()
    # a person with duty hours is off duty outside them; `away` are off duty entirely
    duty: Mapping[str, BusinessCalendar] = field(default_factory=dict)
    away: frozenset[str] = frozenset()

    @property
    def ladder(self) -> tuple[LadderLevel, ...]:
        return self.levels or (LadderLevel(self.escalate_after, ("leads", "owner")),)

    def next_escalation(self, state: Mapping[str, Any]) -> LadderLevel | None:
        """The rung a breached clock climbs next (None once all have fired)."""
        if "breached" not in state or "escalated" in state:
            return None
        fired = int(state.get("level", 0))
        return self.ladder[fired] if fired < len(self.ladder) else None

    def on_call_at(self, at: datetime) -> str | None:
        for shift in self.on_call:
            if shift.hours.is_open(at):
                return shift.person
        return None

    def on_duty(self, person: str, at: datetime) -> bool:
        if person in self.away:
            return False
        hours = self.duty.get(person)
        return hours is None or hours.is_open(at)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def parse_at(text: object) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


_parse = parse_at


def resolution_start(case: CaseRecord) -> datetime:
    """Where the resolution clock's current cycle began: the customer's first message,
    or the latest reopen."""
    return (
        _parse(case.sla.get("resolution_start"))
        or _parse(case.sla.get("clock_start"))
        or case.created_at
    )


def restart_resolution(case: CaseRecord, now: datetime) -> None:
    """A reopened case starts a new resolution cycle. The first cycle was judged when
    the case was resolved; counting on from the original start made a case resolved
    in time breach the moment the customer wrote again days later."""
    case.sla["resolution_start"] = now.isoformat()
    case.sla.pop("paused_seconds", None)
    case.sla.pop("paused_at", None)


def paused_total(case: CaseRecord) -> timedelta:
    return timedelta(seconds=float(case.sla.get("paused_seconds", 0.0)))


def update_pause(case: CaseRecord, calendar: BusinessCalendar, now: datetime) -> str | None:
    """Start or end a pause of the resolution clock to match the status.

    Returns "paused" or "resumed" when that changed, so the caller can audit it.
    """
    paused_at = _parse(case.sla.get("paused_at"))
    if case.status in PAUSING and paused_at is None:
        case.sla["paused_at"] = _iso(now)
        return "paused"
    if case.status not in PAUSING and paused_at is not None:
        spent = calendar.elapsed(paused_at, now)
        case.sla["paused_seconds"] = paused_total(case).total_seconds() + spent.total_seconds()
        case.sla.pop("paused_at", None)
        return "resumed"
    return None


def paused_resolution_due(
    case: CaseRecord, targets: SlaTargets | None, calendar: BusinessCalendar, now: datetime
) -> datetime | None:
    """The resolution due time of a case whose clock is paused, as if it resumed now: a
    case resolved while waiting on the customer still met or missed its target."""
    paused_at = _parse(case.sla.get("paused_at"))
    if targets is None or targets.resolution is None or paused_at is None:
        return None
    paused = paused_total(case) + calendar.elapsed(paused_at, now)
    return calendar.add(resolution_start(case), targets.resolution + paused)


@dataclass(frozen=True)
class Clock:
    """One running SLA clock: when it started, its target, and (unless paused) its due time.

    `offset` is business time that does not count against the target (pauses)."""

    name: str
    start: datetime
    target: timedelta
    due: datetime | None
    offset: timedelta = timedelta(0)

    @property
    def cycle(self) -> str:
        return f"{self.start.isoformat()}|{int(self.target.total_seconds())}"


def running_clocks(
    case: CaseRecord, targets: SlaTargets | None, stopping: bool = False
) -> list[Clock]:
    """The clocks that run on the case now (their due is filled in by `refresh_due`).

    `stopping`: also the clocks that just stopped (an answer, a resolution), so
    their cycle can be named."""
    if targets is None or not (case.status.is_active or stopping):
        return []
    start = _parse(case.sla.get("clock_start")) or case.created_at
    clocks: list[Clock] = []
    if targets.first_response and (case.first_response_at is None or stopping):
        clocks.append(Clock("first_response", start, targets.first_response, None))
    waiting_since = _parse(case.sla.get("customer_waiting_since"))
    if targets.next_response and waiting_since and (case.first_response_at or stopping):
        clocks.append(Clock("next_response", waiting_since, targets.next_response, None))
    if targets.resolution:
        clocks.append(
            Clock(
                "resolution", resolution_start(case), targets.resolution, None, paused_total(case)
            )
        )
    return clocks


def clock_state(case: CaseRecord, clock: str) -> dict[str, Any]:
    """The bookkeeping dict of one clock (created on first use)."""
    clocks: dict[str, dict[str, Any]] = case.sla.setdefault("clocks", {})
    return clocks.setdefault(clock, {})


def record_outcome(
    case: CaseRecord, targets: SlaTargets | None, clock: str, result: str, at: datetime
) -> bool:
    """Note that a clock stopped (staff answered, case resolved) with `result`.

    Returns False when the sweeper recorded this cycle's breach already, so the
    caller audits each cycle once. A late answer needs no escalation any more."""
    state = clock_state(case, clock)
    if "breached" in state:
        return False
    if result == "breached":
        for running in running_clocks(case, targets, stopping=True):
            if running.name == clock:
                state["cycle"] = running.cycle
        state["breached"] = state["escalated"] = at.isoformat()
    return True


def refresh_due(
    case: CaseRecord,
    targets: SlaTargets | None,
    calendar: BusinessCalendar,
    now: datetime,
    policy: EscalationPolicy | None = None,
) -> None:
    """Recompute the case's due times and ladder timers from its state and targets."""
    dues: dict[str, datetime | None] = dict.fromkeys(CLOCKS)
    old_state: dict[str, dict[str, Any]] = case.sla.get("clocks") or {}
    state: dict[str, dict[str, Any]] = {}
    warn: list[datetime] = []
    escalate: list[datetime] = []
    for clock in running_clocks(case, targets):
        due = None
        if clock.name != "resolution" or case.status not in PAUSING:
            due = calendar.add(clock.start, clock.target + clock.offset)
        dues[clock.name] = due
        kept = old_state.get(clock.name, {})
        entry = dict(kept) if kept.get("cycle") == clock.cycle else {"cycle": clock.cycle}
        state[clock.name] = entry
        if policy is None or due is None:
            continue
        if "warned" not in entry and "breached" not in entry:
            at = calendar.add(clock.start, clock.target * policy.warn_at + clock.offset)
            if at < due:
                warn.append(at)
        breached = _parse(entry.get("breached"))
        rung = policy.next_escalation(entry)
        if breached is not None and rung is not None:
            escalate.append(calendar.add(breached, rung.after))
    case.first_response_due = dues["first_response"]
    case.next_response_due = dues["next_response"]
    case.resolution_due = dues["resolution"]
    if not case.status.is_active:
        pass  # keep the bookkeeping, so a reopened case does not fire a breach twice
    elif state:
        case.sla["clocks"] = state
    else:
        case.sla.pop("clocks", None)
    _set_timer(case, "warn_at", min(warn) if warn else None)
    _set_timer(case, "escalate_at", min(escalate) if escalate else None)
    if policy is not None:
        _ladder_timers(case, calendar, policy)
    case.next_due_at = earliest_due(case)


# what refresh_due reads or writes of a case, beside its `sla`
_REFRESH_FIELDS = attrgetter(
    "status",
    "priority",
    "created_at",
    "first_response_at",
    "status_changed_at",
    "last_staff_at",
    "resolved_at",
    "first_response_due",
    "next_response_due",
    "resolution_due",
    "next_due_at",
)


def _copy(value: Any) -> Any:
    """A copy of JSON-like values that later changes in place do not reach."""
    if type(value) is dict:
        return {k: _copy(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy(v) for v in value]
    return value


class SettledClocks:
    """The state each case was in when `refresh_due` last finished with it, so that a
    refresh that could change nothing is skipped (most customer lines on an open case
    change no clock): `refresh_due` is a function of the fields above, the `sla` and its
    targets, calendar and policy (not of `now`), and refreshing what it just refreshed
    gives the same again. States are compared by value, so a case changed anywhere
    else (the sweeper, another process, a rolled-back transaction) is refreshed anew.
    Holds up to `limit` cases."""

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        self._by_case: dict[int, tuple[Any, ...]] = {}

    def settled(
        self,
        case: CaseRecord,
        targets: SlaTargets | None,
        calendar: BusinessCalendar,
        policy: EscalationPolicy | None,
    ) -> bool:
        """Whether refreshing the case's clocks now would leave it as it is."""
        seen = self._by_case.get(case.id) if case.id is not None else None
        return (
            seen is not None
            and seen[0] is policy
            and seen[1] == targets
            and seen[2] == calendar
            and seen[3] == _REFRESH_FIELDS(case)
            and seen[4] == case.sla
        )

    def remember(
        self,
        case: CaseRecord,
        targets: SlaTargets | None,
        calendar: BusinessCalendar,
        policy: EscalationPolicy | None,
    ) -> None:
        """Note the case as `refresh_due` just left it."""
        if case.id is None:
            return
        if len(self._by_case) >= self._limit and case.id not in self._by_case:
            del self._by_case[next(iter(self._by_case))]  # the oldest noted
        self._by_case[case.id] = (
            policy,
            targets,
            calendar,
            _REFRESH_FIELDS(case),
            _copy(case.sla),
        )


def _ladder_timers(case: CaseRecord, calendar: BusinessCalendar, policy: EscalationPolicy) -> None:
    page = (
        case.status.is_active
        and case.priority in policy.page_priorities
        and case.first_response_at is None
        and "paged" not in case.sla
    )
    # due at once: the sweeper decides whether the desk is closed and who is on call
    _set_timer(case, "page_at", case.created_at if page else None)
    nudge_at = None
    if case.status is Status.WAITING:
        since = [
            at
            for at in (
                case.status_changed_at,
                case.last_staff_at,
                _parse(case.sla.get("customer_nudged_at")),
            )
            if at is not None
        ]
        if since:
            nudge_at = calendar.add(max(since), policy.customer_nudge_after)
    _set_timer(case, "customer_nudge_at", nudge_at)
    close_at = None
    if case.status is Status.RESOLVED and case.resolved_at is not None:
        close_at = case.resolved_at + policy.close_after
    _set_timer(case, "close_at", close_at)


def _set_timer(case: CaseRecord, key: str, at: datetime | None) -> None:
    if at is None:
        case.sla.pop(key, None)
    else:
        case.sla[key] = at.isoformat()


def due_times(case: CaseRecord) -> dict[str, str | None]:
    """The three clocks' due times as ISO text (None: not running or paused)."""
    return {
        "first_response": _iso(case.first_response_due),
        "next_response": _iso(case.next_response_due),
        "resolution": _iso(case.resolution_due),
    }


def earliest_due(case: CaseRecord) -> datetime | None:
    """The earliest pending timer of any kind: SLA clocks not yet breached or met,
    warnings, escalations, pages, customer nudges, closing and follow-ups."""
    clocks: dict[str, dict[str, Any]] = case.sla.get("clocks") or {}
    candidates = [
        due
        for name, due in zip(
            CLOCKS,
            (case.first_response_due, case.next_response_due, case.resolution_due),
            strict=True,
        )
        if due is not None and "breached" not in clocks.get(name, {})
    ]
    for key in TIMER_KEYS:
        at = _parse(case.sla.get(key))
        if at is not None:
            candidates.append(at)
    return min(candidates) if candidates else None


def outcome(due: datetime | None, at: datetime) -> str | None:
    if due is None:
        return None
    return "met" if at <= due else "breached"
