"""Properties of the SLA arithmetic over business calendars (hypothesis), and config keys."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import ConfigError, parse_config
from cases.calendar import BusinessCalendar
from cases.model import Status
from cases.records import CaseRecord
from cases.sla import (
    EscalationPolicy,
    SettledClocks,
    SlaTargets,
    earliest_due,
    refresh_due,
    update_pause,
)
from tests.harness import base_config

CALENDARS = [
    BusinessCalendar.always(),
    BusinessCalendar.parse("Europe/Berlin", {"mon-fri": "09:00-12:00,13:00-18:00"}),
    BusinessCalendar.parse(
        "America/New_York", {"mon-sat": "08:00-20:00"}, ["2026-03-09", "2026-11-26"]
    ),
]
instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
)
minutes = st.integers(min_value=1, max_value=60 * 24 * 5).map(lambda m: timedelta(minutes=m))


def _case(start: datetime) -> CaseRecord:
    case = CaseRecord(account_id=1, chat_id=1, title="t", created_at=start, status=Status.OPEN)
    case.id = 1
    case.sla["clock_start"] = start.isoformat()
    return case


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(CALENDARS), instants, minutes, st.floats(0.05, 0.95))
def test_warning_comes_before_due_and_next_due_is_earliest(
    calendar: BusinessCalendar, start: datetime, target: timedelta, share: float
) -> None:
    case = _case(start)
    policy = EscalationPolicy(warn_at=share, page_priorities=frozenset())
    refresh_due(case, SlaTargets(first_response=target), calendar, start, policy)
    assert case.first_response_due == calendar.add(start, target)
    assert calendar.elapsed(start, case.first_response_due) == target
    warn = case.sla.get("warn_at")
    if warn is not None:
        assert datetime.fromisoformat(warn) < case.first_response_due
        assert case.next_due_at == datetime.fromisoformat(warn)
    assert case.next_due_at == earliest_due(case)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(CALENDARS), instants, minutes, minutes, minutes)
def test_pause_moves_resolution_by_the_business_time_paused(
    calendar: BusinessCalendar,
    start: datetime,
    target: timedelta,
    before: timedelta,
    paused: timedelta,
) -> None:
    case = _case(start)
    targets = SlaTargets(resolution=target)
    refresh_due(case, targets, calendar, start)
    due = case.resolution_due
    assert due is not None
    pause_at = start + before
    case.status = Status.WAITING
    assert update_pause(case, calendar, pause_at) == "paused"
    refresh_due(case, targets, calendar, pause_at)
    assert case.resolution_due is None
    resume_at = pause_at + paused
    case.status = Status.OPEN
    assert update_pause(case, calendar, resume_at) == "resumed"
    refresh_due(case, targets, calendar, resume_at)
    assert case.resolution_due is not None
    assert calendar.elapsed(start, case.resolution_due) == target + calendar.elapsed(
        pause_at, resume_at
    )


@pytest.mark.parametrize(
    ("section", "value", "key"),
    [
        ("escalation", {"warn_at": 1.5}, "escalation.warn_at"),
        ("escalation", {"ladder": 1}, "escalation.ladder"),
        ("escalation", {"duty": {"telegram:1": {"mon": "25:00-26:00"}}}, "escalation.duty"),
        ("scheduler", {"digest_time": "9am"}, "scheduler.digest_time"),
        ("scheduler", {"timezone": "Nowhere/Town"}, "scheduler.timezone"),
        ("staff", {"on_call": [{"person": "telegram:1", "days": "someday"}]}, "staff.on_call"),
    ],
)
def test_bad_sla_config_names_the_key(section: str, value: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_config(base_config(**{section: value}), env={})


# ------------------------------------------------ skipping a refresh that changes nothing

STATUSES = [Status.NEW, Status.OPEN, Status.WAITING, Status.ON_HOLD, Status.RESOLVED]


@st.composite
def case_states(draw: st.DrawFn) -> CaseRecord:
    """A case in any state the engine leaves one in: answered or not, waiting, paused,
    breached, resolved."""
    start = draw(instants)
    case = _case(start)
    case.status = draw(st.sampled_from(STATUSES))
    case.priority = draw(st.sampled_from(["P1", "P2", "P3"]))
    case.status_changed_at = start + draw(minutes)
    if draw(st.booleans()):
        case.first_response_at = case.last_staff_at = start + draw(minutes)
    if draw(st.booleans()):
        case.sla["customer_waiting_since"] = (start + draw(minutes)).isoformat()
    if draw(st.booleans()):
        case.sla["paused_at"] = (start + draw(minutes)).isoformat()
        case.sla["paused_seconds"] = float(draw(st.integers(0, 10_000)))
    if case.status is Status.RESOLVED:
        case.resolved_at = start + draw(minutes)
    return case


def _state(case: CaseRecord) -> tuple[object, ...]:
    return (
        case.first_response_due,
        case.next_response_due,
        case.resolution_due,
        case.next_due_at,
        json.dumps(case.sla, sort_keys=True),
    )


TARGETS = SlaTargets(timedelta(hours=1), timedelta(hours=2), timedelta(days=2))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(CALENDARS), case_states(), minutes, st.booleans())
def test_a_refresh_of_what_a_refresh_left_changes_nothing(
    calendar: BusinessCalendar, case: CaseRecord, later: timedelta, breach: bool
) -> None:
    """What `SettledClocks` rests on: refresh_due is idempotent and ignores `now`."""
    policy = EscalationPolicy()
    refresh_due(case, TARGETS, calendar, case.created_at, policy)
    if breach and "clocks" in case.sla:
        # the sweeper's bookkeeping of a breach: the ladder's next rung is then pending
        state = next(iter(case.sla["clocks"].values()))
        state["breached"] = case.created_at.isoformat()
        refresh_due(case, TARGETS, calendar, case.created_at, policy)
    once = _state(case)
    refresh_due(case, TARGETS, calendar, case.created_at + later, policy)
    assert _state(case) == once


def test_settled_clocks_skip_only_a_case_as_the_refresh_left_it() -> None:
    calendar = BusinessCalendar.always()
    policy = EscalationPolicy()
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    settled = SettledClocks()
    case = _case(start)
    assert not settled.settled(case, TARGETS, calendar, policy)  # never refreshed
    refresh_due(case, TARGETS, calendar, start, policy)
    settled.remember(case, TARGETS, calendar, policy)
    assert settled.settled(case, TARGETS, calendar, policy)
    # the same state read again from the database: equal values, other objects
    again = replace(case, sla=json.loads(json.dumps(case.sla)))
    assert settled.settled(again, TARGETS, calendar, policy)
    # anything refresh_due reads makes it refresh again, deep inside `sla` too
    assert not settled.settled(case, SlaTargets(timedelta(hours=2)), calendar, policy)
    assert not settled.settled(case, TARGETS, CALENDARS[1], policy)
    assert not settled.settled(case, TARGETS, calendar, EscalationPolicy(warn_at=0.5))
    for change in (
        {"status": Status.WAITING},
        {"priority": "P1"},
        {"last_staff_at": start},
        {"first_response_at": start},
        {"next_due_at": None},
    ):
        assert not settled.settled(replace(again, **change), TARGETS, calendar, policy)
    again.sla["clocks"]["first_response"]["warned"] = start.isoformat()
    assert not settled.settled(again, TARGETS, calendar, policy)
    # a change in place after remember() does not reach what was remembered
    case.sla["clocks"]["resolution"]["breached"] = start.isoformat()
    assert not settled.settled(case, TARGETS, calendar, policy)


def test_settled_clocks_hold_at_most_their_limit() -> None:
    calendar, policy = BusinessCalendar.always(), EscalationPolicy()
    settled = SettledClocks(limit=2)
    cases = []
    for i in range(1, 4):
        case = _case(datetime(2026, 3, 2, 9, i, tzinfo=UTC))
        case.id = i
        refresh_due(case, TARGETS, calendar, case.created_at, policy)
        settled.remember(case, TARGETS, calendar, policy)
        cases.append(case)
    assert [settled.settled(c, TARGETS, calendar, policy) for c in cases] == [False, True, True]
