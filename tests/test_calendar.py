"""Business-hours arithmetic: worked examples, DST edge cases and consistency laws."""

from __future__ import annotations

import time as perf
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.calendar import BusinessCalendar, CalendarError

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
SHANGHAI = ZoneInfo("Asia/Shanghai")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")

H = timedelta(hours=1)
MIN = timedelta(minutes=1)
US = timedelta(microseconds=1)


def office(
    tz: str = "Europe/Berlin",
    hours: Mapping[str, str] | None = None,
    holidays: Iterable[str | date] = (),
) -> BusinessCalendar:
    return BusinessCalendar.parse(tz, hours or {"mon-fri": "09:00-18:00"}, holidays)


def at(tz: ZoneInfo, year: int, month: int, day: int, *clock: int) -> datetime:
    return datetime(year, month, day, *clock, tzinfo=tz)


def utc(year: int, month: int, day: int, *clock: int) -> datetime:
    return at(UTC, year, month, day, *clock)  # type: ignore[arg-type]


# -- worked examples ------------------------------------------------------------------------


def test_friday_evening_rolls_over_the_weekend() -> None:
    cal = office()
    due = cal.add(at(BERLIN, 2026, 1, 9, 17), 2 * H)  # a Friday
    assert due == at(BERLIN, 2026, 1, 12, 10)
    assert due.tzinfo is UTC
    assert cal.elapsed(at(BERLIN, 2026, 1, 9, 17), due) == 2 * H


def test_deadline_is_the_end_of_the_last_interval_not_the_next_opening() -> None:
    cal = office()
    assert cal.add(at(BERLIN, 2026, 1, 12, 9), 9 * H) == at(BERLIN, 2026, 1, 12, 18)
    assert cal.add(at(BERLIN, 2026, 1, 12, 9), 9 * H + US) == at(BERLIN, 2026, 1, 13, 9) + US


def test_start_outside_hours_starts_the_clock_at_the_next_opening() -> None:
    cal = office()
    assert cal.add(at(BERLIN, 2026, 1, 10, 12), 30 * MIN) == at(BERLIN, 2026, 1, 12, 9, 30)
    assert cal.add(at(BERLIN, 2026, 1, 12, 7), H) == at(BERLIN, 2026, 1, 12, 10)


def test_zero_duration_returns_start_even_when_closed() -> None:
    cal = office()
    saturday = at(BERLIN, 2026, 1, 10, 12, 34, 56, 789)
    result = cal.add(saturday, timedelta(0))
    assert result == saturday
    assert result.tzinfo is UTC


def test_span_over_a_weekend() -> None:
    cal = office()
    assert cal.elapsed(at(BERLIN, 2026, 1, 9, 12), at(BERLIN, 2026, 1, 12, 12)) == 9 * H
    assert cal.elapsed(at(BERLIN, 2026, 1, 10, 0), at(BERLIN, 2026, 1, 12, 0)) == timedelta(0)
    assert cal.elapsed(at(BERLIN, 2026, 1, 12, 12), at(BERLIN, 2026, 1, 9, 12)) == timedelta(0)


def test_split_day() -> None:
    cal = office(hours={"mon-fri": "09:00-12:00,13:00-18:00"})
    monday = (2026, 1, 12)
    assert cal.add(at(BERLIN, *monday, 11), 2 * H) == at(BERLIN, *monday, 14)
    assert cal.add(at(BERLIN, *monday, 11), H) == at(BERLIN, *monday, 12)
    assert cal.elapsed(at(BERLIN, *monday, 8), at(BERLIN, *monday, 20)) == 8 * H
    assert not cal.is_open(at(BERLIN, *monday, 12, 30))
    assert cal.is_open(at(BERLIN, *monday, 13))
    assert not cal.is_open(at(BERLIN, *monday, 18))
    assert cal.next_open(at(BERLIN, *monday, 12, 30)) == at(BERLIN, *monday, 13)
    assert cal.next_open(at(BERLIN, *monday, 10)) == at(BERLIN, *monday, 10)


def test_christmas_holidays_remove_whole_days() -> None:
    cal = office(holidays=["2026-12-24", date(2026, 12, 25)])
    wednesday = at(BERLIN, 2026, 12, 23, 17)
    assert cal.add(wednesday, 2 * H) == at(BERLIN, 2026, 12, 28, 10)
    assert not cal.is_open(at(BERLIN, 2026, 12, 25, 10))
    assert cal.next_open(at(BERLIN, 2026, 12, 24, 10)) == at(BERLIN, 2026, 12, 28, 9)
    assert cal.elapsed(at(BERLIN, 2026, 12, 21), at(BERLIN, 2026, 12, 28)) == 27 * H


def test_holiday_is_a_local_date() -> None:
    # 23:30 UTC on the 24th is already Christmas Day in Berlin.
    cal = BusinessCalendar.parse("Europe/Berlin", {"daily": "00:00-24:00"}, ["2026-12-25"])
    assert not cal.is_open(utc(2026, 12, 24, 23, 30))
    assert cal.is_open(utc(2026, 12, 24, 22, 59))
    assert cal.next_open(utc(2026, 12, 24, 23, 30)) == at(BERLIN, 2026, 12, 26)


def test_berlin_dst_office_week() -> None:
    cal = office()
    # Clocks go forward on Sunday 2026-03-29 and back on Sunday 2026-10-25.
    assert cal.add(at(BERLIN, 2026, 3, 27, 17), 2 * H) == utc(2026, 3, 30, 8)
    assert cal.add(at(BERLIN, 2026, 10, 23, 17), 2 * H) == utc(2026, 10, 26, 9)


def test_berlin_dst_days_are_23_and_25_hours_long() -> None:
    cal = BusinessCalendar.parse("Europe/Berlin", {"daily": "00:00-24:00"}, ["2020-01-01"])
    assert not cal.is_always
    spring = cal.elapsed(at(BERLIN, 2026, 3, 23), at(BERLIN, 2026, 3, 30))
    autumn = cal.elapsed(at(BERLIN, 2026, 10, 19), at(BERLIN, 2026, 10, 26))
    assert (spring, autumn) == (167 * H, 169 * H)
    assert cal.add(at(BERLIN, 2026, 3, 29), 23 * H) == at(BERLIN, 2026, 3, 30)


def test_berlin_interval_across_the_dst_change() -> None:
    cal = BusinessCalendar.parse("Europe/Berlin", {"daily": "01:00-04:00"})
    day = timedelta(days=1)
    spring, autumn = at(BERLIN, 2026, 3, 29), at(BERLIN, 2026, 10, 25)
    assert cal.elapsed(spring, spring + day) == 2 * H
    assert cal.elapsed(autumn, autumn + day) == 4 * H
    # The repeated hour counts twice: 02:30 CEST and then 02:30 CET are both open.
    assert cal.add(autumn, 2 * H) == utc(2026, 10, 25, 1)
    assert cal.add(autumn, 4 * H) == utc(2026, 10, 25, 3)


def test_berlin_interval_inside_the_spring_gap_never_opens() -> None:
    cal = BusinessCalendar.parse("Europe/Berlin", {"sun": "02:00-03:00"})
    sunday = at(BERLIN, 2026, 3, 29)
    assert cal.elapsed(sunday, sunday + timedelta(days=1)) == timedelta(0)
    # 02:00 local on the next Sunday, 2026-04-05, is 00:00 UTC.
    assert cal.next_open(sunday) == utc(2026, 4, 5, 0)


def test_interval_straddling_the_spring_gap_keeps_the_part_that_exists() -> None:
    cal = BusinessCalendar.parse("Europe/Berlin", {"sun": "02:30-03:30"})
    sunday = at(BERLIN, 2026, 3, 29)
    assert cal.elapsed(sunday, sunday + timedelta(days=1)) == 30 * MIN
    assert cal.next_open(sunday) == utc(2026, 3, 29, 1)  # 03:00 CEST
    assert cal.add(sunday, 10 * MIN) == utc(2026, 3, 29, 1, 10)
    assert cal.add(sunday, 30 * MIN) == utc(2026, 3, 29, 1, 30)


def test_new_york_dst_office_week() -> None:
    cal = office("America/New_York")
    # Forward on Sunday 2026-03-08, back on Sunday 2026-11-01.
    assert cal.add(at(NEW_YORK, 2026, 3, 6, 17), 2 * H) == utc(2026, 3, 9, 14)
    assert cal.add(at(NEW_YORK, 2026, 10, 30, 17), 2 * H) == utc(2026, 11, 2, 15)
    assert cal.elapsed(at(NEW_YORK, 2026, 3, 6, 17), utc(2026, 3, 9, 14)) == 2 * H


def test_new_york_repeated_wall_times_are_open_both_times() -> None:
    cal = BusinessCalendar.parse("America/New_York", {"sun": "01:30-02:30"})
    sunday = at(NEW_YORK, 2026, 11, 1)
    # 01:30-02:00 EDT (05:30-06:00Z), then 01:30-02:30 EST (06:30-07:30Z); 01:00-01:30 EST
    # in between is outside the interval.
    assert cal.elapsed(sunday, sunday + timedelta(days=1)) == 90 * MIN
    assert cal.is_open(utc(2026, 11, 1, 5, 45))
    assert not cal.is_open(utc(2026, 11, 1, 6, 15))
    assert cal.is_open(utc(2026, 11, 1, 6, 45))
    assert cal.add(sunday, 30 * MIN) == utc(2026, 11, 1, 6, 0)
    assert cal.add(sunday, 45 * MIN) == utc(2026, 11, 1, 6, 45)
    assert cal.next_open(utc(2026, 11, 1, 6, 0)) == utc(2026, 11, 1, 6, 30)


def test_new_york_spring_gap_day() -> None:
    cal = BusinessCalendar.parse("America/New_York", {"daily": "00:00-24:00"}, ["2000-01-01"])
    assert cal.elapsed(at(NEW_YORK, 2026, 3, 7), at(NEW_YORK, 2026, 3, 9)) == 47 * H
    assert cal.elapsed(at(NEW_YORK, 2026, 10, 31), at(NEW_YORK, 2026, 11, 2)) == 49 * H


def test_lord_howe_half_hour_dst() -> None:
    cal = BusinessCalendar.parse("Australia/Lord_Howe", {"daily": "01:00-03:00"})
    day = timedelta(days=1)
    back, forward = at(LORD_HOWE, 2026, 4, 5), at(LORD_HOWE, 2026, 10, 4)
    assert cal.elapsed(back, back + day) == 150 * MIN
    assert cal.elapsed(forward, forward + day) == 90 * MIN


def test_short_lived_offset_is_not_skipped() -> None:
    # Noronha kept summer time for under a week in 2000 (2000-10-08 02:00Z to 10-15 01:00Z);
    # a walk that only compared offsets a week apart would miss both changes.
    cal = BusinessCalendar.parse("America/Noronha", {"daily": "00:00-12:00"})
    start = utc(2000, 10, 8, 1, 30)
    assert cal.elapsed(start, start + timedelta(days=7)) == 83 * H
    assert cal.add(start, 83 * H) == utc(2000, 10, 14, 13)  # 12:00 at -01:00


def test_shanghai_has_no_dst() -> None:
    cal = office("Asia/Shanghai")
    assert cal.add(at(SHANGHAI, 2026, 3, 27, 17), 2 * H) == at(SHANGHAI, 2026, 3, 30, 10)
    assert cal.add(at(SHANGHAI, 2026, 3, 27, 17), 2 * H) == utc(2026, 3, 30, 2)


def test_inputs_in_any_timezone_give_utc_results() -> None:
    cal = office()
    start = at(NEW_YORK, 2026, 1, 9, 11)  # 17:00 in Berlin
    due = cal.add(start, 2 * H)
    assert due == at(BERLIN, 2026, 1, 12, 10)
    assert due.tzinfo is UTC
    assert cal.next_open(start).tzinfo is UTC


def test_thirty_business_days_and_ten_years_are_fast() -> None:
    cal = office(holidays=["2026-05-01", "2026-12-25"])
    start = at(BERLIN, 2026, 1, 9, 17)
    began = perf.perf_counter()
    due = cal.add(start, 30 * 9 * H)
    decade = cal.add(start, 10 * 52 * 5 * 9 * H)
    assert cal.elapsed(start, decade) == 10 * 52 * 5 * 9 * H
    assert perf.perf_counter() - began < 1.0
    assert due == at(BERLIN, 2026, 2, 20, 17)


def test_always_is_plain_arithmetic() -> None:
    cal = BusinessCalendar.always()
    start = at(BERLIN, 2026, 3, 29, 1, 59)
    assert cal.is_always
    assert cal.is_open(start)
    # Real hours, not Berlin wall-clock hours: the clocks go forward that night.
    assert cal.add(start, 100 * H) == start.astimezone(UTC) + 100 * H != start + 100 * H
    assert cal.add(start, 100 * H).tzinfo is UTC
    assert cal.elapsed(start, start.astimezone(UTC) + 100 * H) == 100 * H
    # Aware datetimes sharing a tzinfo subtract by wall clock; elapsed must not.
    assert cal.elapsed(start, at(BERLIN, 2026, 3, 29, 3, 1)) == 2 * MIN
    assert cal.next_open(start) == start


def test_any_24x7_calendar_without_holidays_is_always() -> None:
    assert BusinessCalendar.parse("Europe/Berlin", {"daily": "00:00-24:00"}).is_always
    assert not BusinessCalendar.parse(
        "Europe/Berlin", {"daily": "00:00-24:00"}, ["2026-12-25"]
    ).is_always
    assert not office().is_always


def test_naive_datetimes_and_negative_durations_are_rejected() -> None:
    cal = office()
    naive = datetime(2026, 1, 9, 17)
    with pytest.raises(ValueError, match="aware"):
        cal.add(naive, H)
    with pytest.raises(ValueError, match="aware"):
        cal.elapsed(naive, utc(2026, 1, 10))
    with pytest.raises(ValueError, match="aware"):
        cal.is_open(naive)
    with pytest.raises(ValueError, match="aware"):
        BusinessCalendar.always().next_open(naive)
    with pytest.raises(ValueError, match="negative"):
        cal.add(utc(2026, 1, 9), -H)


def test_never_open_calendar() -> None:
    cal = BusinessCalendar("UTC", ((),) * 7, frozenset())
    with pytest.raises(CalendarError, match="never open"):
        cal.next_open(utc(2026, 1, 1))
    with pytest.raises(CalendarError, match="never open"):
        cal.add(utc(2026, 1, 1), H)
    assert cal.add(utc(2026, 1, 1), timedelta(0)) == utc(2026, 1, 1)
    assert cal.elapsed(utc(2026, 1, 1), utc(2027, 1, 1)) == timedelta(0)


# -- parsing -------------------------------------------------------------------------------


def test_parse_builds_the_weekly_table() -> None:
    cal = BusinessCalendar.parse(
        "Europe/Berlin",
        {"daily": "10:00-16:00", "mon-fri": "09:00-12:00,13:00-18:00", "sun": "closed"},
        ["2026-12-25", date(2026, 12, 26)],
    )
    split = ((time(9), time(12)), (time(13), time(18)))
    assert cal.hours == (split,) * 5 + (((time(10), time(16)),), ())
    assert cal.holidays == frozenset({date(2026, 12, 25), date(2026, 12, 26)})
    assert cal.timezone == "Europe/Berlin"


def test_parse_forms() -> None:
    def hours(spec: dict[str, str]) -> tuple[tuple[tuple[time, time], ...], ...]:
        return BusinessCalendar.parse("UTC", spec).hours

    assert (
        hours({"fri-mon": "08:00-09:00"})
        == ((((time(8), time(9)),),) + ((),) * 3) + (((time(8), time(9)),),) * 3
    )
    assert hours({" SAT - Sun ": " 00:00-24:00 "})[5:] == (((time(0), time(0)),),) * 2
    assert hours({"mon": "13:00-18:00,09:00-12:00"})[0] == (
        (time(9), time(12)),
        (time(13), time(18)),
    )
    assert hours({"mon": "09:00-00:00", "tue": ""})[:2] == (((time(9), time(0)),), ())


def test_touching_intervals_behave_as_one() -> None:
    cal = BusinessCalendar.parse("UTC", {"mon": "09:00-12:00,12:00-18:00"})
    monday = utc(2026, 1, 12, 9)
    assert cal.add(monday, 9 * H) == utc(2026, 1, 12, 18)
    assert cal.is_open(utc(2026, 1, 12, 12))


def test_calendars_are_values() -> None:
    a = office(holidays=["2026-12-25"])
    b = office(holidays=[date(2026, 12, 25)])
    assert a == b
    assert len({a, b}) == 1
    assert a != office()


@pytest.mark.parametrize(
    ("timezone", "hours", "holidays", "message"),
    [
        ("Mars/Olympus", {"mon": "09:00-17:00"}, (), "'Mars/Olympus'"),
        ("", {"mon": "09:00-17:00"}, (), "timezone ''"),
        ("../etc/passwd", {"mon": "09:00-17:00"}, (), "timezone"),
        ("UTC", {"funday": "09:00-17:00"}, (), "'funday'"),
        ("UTC", {"mon-xyz": "09:00-17:00"}, (), "'mon-xyz'"),
        ("UTC", {"mon": "25:00-26:00"}, (), "bad time '25:00'"),
        ("UTC", {"mon": "9am-5pm"}, (), "bad time '9am'"),
        ("UTC", {"mon": "09:60-10:00"}, (), "'09:60'"),
        ("UTC", {"mon": "24:00-24:00"}, (), "bad time '24:00'"),
        ("UTC", {"mon": "09:00"}, (), "'09:00' is not a range"),
        ("UTC", {"tue": "18:00-09:00"}, (), "hours['tue'] = '18:00-09:00'"),
        ("UTC", {"tue": "18:00-09:00"}, (), "ends before it starts"),
        ("UTC", {"wed": "09:00-12:00,11:00-13:00"}, (), "hours['wed']"),
        ("UTC", {"wed": "09:00-12:00,11:00-13:00"}, (), "overlaps"),
        ("UTC", {"mon-fri": "closed"}, (), "no business hours"),
        ("UTC", {}, (), "no business hours"),
        ("UTC", {"mon": "09:00-17:00"}, ("2026-13-01",), "holiday '2026-13-01'"),
        ("UTC", {"mon": "09:00-17:00"}, ("Christmas",), "holiday 'Christmas'"),
    ],
)
def test_parse_errors_name_the_culprit(
    timezone: str, hours: dict[str, str], holidays: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CalendarError) as excinfo:
        BusinessCalendar.parse(timezone, hours, holidays)
    assert message in str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)


def test_constructor_validates_too() -> None:
    nine_to_five = ((time(9), time(17)),)
    with pytest.raises(CalendarError, match="7 days"):
        BusinessCalendar("UTC", (nine_to_five,) * 5, frozenset())
    with pytest.raises(CalendarError, match="hours for tue"):
        BusinessCalendar(
            "UTC", ((), ((time(9), time(12)), (time(11), time(13))), *((),) * 5), frozenset()
        )
    with pytest.raises(CalendarError, match="tzinfo"):
        BusinessCalendar("UTC", (((time(9, tzinfo=UTC), time(17)),),) * 7, frozenset())
    with pytest.raises(CalendarError, match="not a date"):
        BusinessCalendar("UTC", (nine_to_five,) * 7, frozenset({"2026-12-25"}))  # type: ignore[arg-type]
    with pytest.raises(CalendarError, match="Nowhere"):
        BusinessCalendar("Nowhere/Town", (nine_to_five,) * 7, frozenset())


# -- consistency laws ----------------------------------------------------------------------

ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Shanghai",
    "Australia/Lord_Howe",
    "America/St_Johns",
)
# Days around DST changes in the zones above, where the interesting bugs live.
DST_DAYS = tuple(
    date.fromisoformat(d)
    for d in (
        "2026-03-08",
        "2026-03-29",
        "2026-04-05",
        "2026-10-04",
        "2026-10-25",
        "2026-11-01",
        "2027-03-14",
        "2027-03-28",
    )
)
QUARTER = timedelta(minutes=15)
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _clock(quarters: int) -> time:
    return time(0) if quarters == 96 else time(quarters // 4, quarters % 4 * 15)


def _pair_up(points: list[int]) -> tuple[tuple[time, time], ...]:
    points = sorted(points)
    return tuple((_clock(s), _clock(e)) for s, e in zip(points[::2], points[1::2], strict=False))


# Boundaries on a 15-minute grid (96 = 24:00) keep the sampling oracle below exact.
DAY_HOURS = st.lists(st.integers(0, 96), max_size=6, unique=True).map(_pair_up)
HOLIDAYS = st.frozensets(
    st.one_of(st.dates(date(2025, 12, 1), date(2027, 6, 1)), st.sampled_from(DST_DAYS)),
    max_size=6,
)
calendars = st.builds(
    BusinessCalendar,
    st.sampled_from(ZONES),
    st.tuples(*[DAY_HOURS] * 7).filter(any),
    HOLIDAYS,
)


def _instant(near_dst: date | None, quarters: int, micros: int, zone: str) -> datetime:
    if near_dst is None:
        moment = EPOCH + QUARTER * quarters
    else:
        # From two days before: Lord Howe changes at 15:00 UTC on the day before.
        moment = datetime.combine(near_dst, time(), tzinfo=UTC) - 2 * timedelta(days=1)
        moment += QUARTER * (quarters % (4 * 24 * 6))
    return (moment + timedelta(microseconds=micros)).astimezone(ZoneInfo(zone))


def instants(*, grid: bool = False) -> st.SearchStrategy[datetime]:
    return st.builds(
        _instant,
        st.one_of(st.none(), st.sampled_from(DST_DAYS)),
        st.integers(0, 4 * 24 * 500),
        st.just(0) if grid else st.integers(0, 15 * 60 * 10**6 - 1),
        st.sampled_from(ZONES),
    )


# Durations as millionths of the calendar's nominal week (up to 7 weeks, whole weeks
# included: they are the edge of add()'s week skipping) or as plain short spans.
durations = st.one_of(
    st.tuples(st.just("weeks"), st.integers(0, 7 * 10**6)),
    st.tuples(st.just("weeks"), st.sampled_from([10**6, 2 * 10**6, 5 * 10**6])),
    st.tuples(st.just("raw"), st.integers(0, 4 * 3600 * 10**6)),
)


def business_time(cal: BusinessCalendar, spec: tuple[str, int]) -> timedelta:
    kind, amount = spec
    if kind == "raw":
        return timedelta(microseconds=amount)
    weekly = cal.elapsed(EPOCH, EPOCH + timedelta(days=7))
    return weekly * amount // 10**6


LAWS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@LAWS
@given(calendars, instants(), durations)
def test_elapsed_inverts_add(
    cal: BusinessCalendar, start: datetime, spec: tuple[str, int]
) -> None:
    duration = business_time(cal, spec)
    due = cal.add(start, duration)
    assert due.tzinfo is UTC
    assert due >= start
    assert cal.elapsed(start, due) == duration
    if duration:
        assert cal.is_open(due) or cal.is_open(due - US)
        assert cal.elapsed(start, due - US) < duration
    else:
        assert due == start.astimezone(UTC)


@LAWS
@given(calendars, instants(), durations, durations)
def test_add_is_monotonic(
    cal: BusinessCalendar, start: datetime, one: tuple[str, int], two: tuple[str, int]
) -> None:
    d1, d2 = sorted((business_time(cal, one), business_time(cal, two)))
    assert cal.add(start, d1) <= cal.add(start, d2)


@LAWS
@given(calendars, instants(), instants(), instants())
def test_elapsed_is_additive(cal: BusinessCalendar, a: datetime, b: datetime, c: datetime) -> None:
    # Sorted in UTC: datetimes sharing a tzinfo compare by wall clock.
    a, b, c = sorted((a, b, c), key=lambda moment: moment.astimezone(UTC))
    assert cal.elapsed(a, b) + cal.elapsed(b, c) == cal.elapsed(a, c)
    assert cal.elapsed(c, a) == timedelta(0)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendars, instants(grid=True), st.integers(0, 4 * 24 * 21))
def test_elapsed_agrees_with_sampling_is_open(
    cal: BusinessCalendar, start: datetime, quarters: int
) -> None:
    # Every boundary and every DST change in ZONES sits on a 15-minute UTC grid, so business
    # time between grid instants is exactly 15 minutes per open grid point.
    start = start.astimezone(UTC)
    open_points = sum(cal.is_open(start + QUARTER * i) for i in range(quarters))
    assert cal.elapsed(start, start + QUARTER * quarters) == QUARTER * open_points


@LAWS
@given(calendars, instants())
def test_next_open(cal: BusinessCalendar, moment: datetime) -> None:
    opening = cal.next_open(moment)
    assert opening.tzinfo is UTC
    assert opening >= moment
    assert cal.is_open(opening)
    assert cal.elapsed(moment, opening) == timedelta(0)
    # Compared in UTC: an ambiguous wall time never equals an instant in another zone.
    assert (opening == moment.astimezone(UTC)) == cal.is_open(moment)
    assert cal.is_open(moment) == cal.is_open(moment.astimezone(UTC))


@LAWS
@given(
    st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(BERLIN)),
    st.timedeltas(timedelta(0), timedelta(days=4000)),
    st.timedeltas(timedelta(days=-100), timedelta(days=4000)),
)
def test_always_is_plain_arithmetic_everywhere(
    start: datetime, duration: timedelta, gap: timedelta
) -> None:
    cal = BusinessCalendar.always()
    start_utc = start.astimezone(UTC)
    assert cal.add(start, duration) == start_utc + duration
    assert cal.elapsed(start, (start_utc + gap).astimezone(BERLIN)) == max(gap, timedelta(0))
