"""Properties of the SLA arithmetic over business calendars (hypothesis), and config keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import ConfigError, parse_config
from cases.calendar import BusinessCalendar
from cases.model import Status
from cases.records import CaseRecord
from cases.sla import EscalationPolicy, SlaTargets, earliest_due, refresh_due, update_pause
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
