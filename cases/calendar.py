"""Business-hours arithmetic for SLA clocks. Standard library only (datetime, zoneinfo, ...).

A `BusinessCalendar` says when a support desk is open: weekly local wall-clock intervals in
one IANA timezone, minus whole-day holidays. SLA code asks it three questions: is the desk
open now (`is_open`), when does `duration` of business time run out (`add`), and how much
business time lies between two instants (`elapsed`).

Semantics, which every method shares so that they agree with each other exactly:
an instant is open when its local wall-clock time, as the timezone displays it at that
instant, falls inside an interval of its local date and that date is not a holiday. So on a
spring-forward day the skipped wall times simply never happen (01:00-04:00 in Berlin lasts
two hours) and on a fall-back day repeated wall times count twice (it lasts four).
All arithmetic is exact to the microsecond; returned datetimes are aware UTC.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["DAY_NAMES", "BusinessCalendar", "CalendarError"]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_ZERO = timedelta(0)
_MICROSECOND = timedelta(microseconds=1)
_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
_MIDNIGHT = time(0, 0)
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

Interval = tuple[time, time]
# Offsets from local midnight; the end may be a whole day (24:00).
_Span = tuple[timedelta, timedelta]


class CalendarError(ValueError):
    """A calendar definition that cannot be used, or a question it cannot answer."""


# one shared 24x7 calendar: building a calendar validates and derives its spans,
# and the engine asks for the 24x7 one on every SLA refresh
_ALWAYS: BusinessCalendar | None = None


@dataclass(frozen=True)
class BusinessCalendar:
    """Weekly business hours in one timezone, minus holidays.

    `hours` has 7 entries, Monday first; each is a sorted tuple of non-overlapping
    `(start, end)` local wall-clock intervals. An end of `time(0, 0)` means midnight at the
    end of the day, so `(time(0, 0), time(0, 0))` is the whole day. `holidays` are local
    dates without any business hours.
    """

    timezone: str
    hours: tuple[tuple[Interval, ...], ...]
    holidays: frozenset[date]

    def __post_init__(self) -> None:
        # Normalise lists and sets callers may hand in, so the calendar stays hashable.
        object.__setattr__(self, "hours", tuple(tuple(day) for day in self.hours))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        for holiday in self.holidays:
            if not isinstance(holiday, date) or isinstance(holiday, datetime):
                raise CalendarError(f"holiday {holiday!r} is not a date")
        # Fail at construction rather than on first use.
        _ = self._zone, self._spans

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def always(cls) -> BusinessCalendar:
        """Open 24x7 in UTC: `add` and `elapsed` become plain datetime arithmetic."""
        global _ALWAYS
        if _ALWAYS is None or type(_ALWAYS) is not cls:
            _ALWAYS = cls("UTC", (((_MIDNIGHT, _MIDNIGHT),),) * 7, frozenset())
        return _ALWAYS

    @classmethod
    def parse(
        cls,
        timezone: str,
        hours: Mapping[str, str],
        holidays: Iterable[str | date] = (),
    ) -> BusinessCalendar:
        """Build a calendar from settings-file style values.

        `hours` keys are day names ("mon".."sun"), ranges ("mon-fri", "fri-mon" wraps) or
        "daily"; later keys override earlier ones for the days they name, and days never
        named are closed. Values are "09:00-18:00", split days "09:00-12:00,13:00-18:00",
        "00:00-24:00" for the whole day, and "" or "closed" for none. `holidays` are ISO dates
        ("2026-12-25") or `date` objects.

        Raises CalendarError naming the offending key or value.
        """
        if not isinstance(timezone, str):
            raise CalendarError(f"timezone {timezone!r} is not a string")
        _load_zone(timezone)
        week: list[tuple[Interval, ...]] = [()] * 7
        for key, value in hours.items():
            days = _parse_days(key)
            intervals = _parse_intervals(key, value)
            for day in days:
                week[day] = intervals
        if not any(week):
            raise CalendarError("hours: no business hours on any day; the clock would never run")
        return cls(timezone, tuple(week), frozenset(_parse_holiday(h) for h in holidays))

    # -- questions --------------------------------------------------------------------------

    @property
    def is_always(self) -> bool:
        """True when every instant is business time (24x7, no holidays), in any timezone."""
        return self._always

    def is_open(self, at: datetime) -> bool:
        """Whether `at` (aware, any timezone) falls inside business hours."""
        _require_aware(at, "at")
        if self._always:
            return True
        local = at.astimezone(self._zone).replace(tzinfo=None)
        day = local.date()
        if day in self.holidays:
            return False
        since_midnight = local - datetime.combine(day, _MIDNIGHT)
        return any(s <= since_midnight < e for s, e in self._spans[day.weekday()])

    def next_open(self, at: datetime) -> datetime:
        """`at` itself if open, else the start of the next business interval (aware UTC)."""
        _require_aware(at, "at")
        if self._always:
            return at.astimezone(UTC)
        self._require_some_hours()
        for start, _end in self._open_spans(_to_naive_utc(at), None):
            return start.replace(tzinfo=UTC)
        raise AssertionError("unreachable: the span walk is endless")  # pragma: no cover

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant (aware UTC) at which `duration` of business time has passed since `start`.

        If `start` is outside business hours the clock starts at the next opening. A zero
        duration returns `start` itself; otherwise the result is open or the exact end of a
        business interval (a deadline falls due the moment its last business minute ends,
        not at the next morning's opening).
        """
        _require_aware(start, "start")
        if duration < _ZERO:
            raise ValueError(f"duration must not be negative, got {duration}")
        if duration == _ZERO or self._always:
            return start.astimezone(UTC) + duration
        self._require_some_hours()
        remaining = duration
        for a, b, offset in self._chunks(_to_naive_utc(start), None):
            # Strictly greater: when the week is used up exactly, the deadline is the end of
            # its last interval, which only the per-day walk below can locate.
            if remaining > self._week_total and self._is_plain_week(a, b, offset):
                remaining -= self._week_total
                continue
            for span_start, span_end in self._spans_in_chunk(a, b, offset):
                length = span_end - span_start
                if remaining <= length:
                    return (span_start + remaining).replace(tzinfo=UTC)
                remaining -= length
        raise AssertionError("unreachable: the chunk walk is endless")  # pragma: no cover

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between `start` and `end`; zero if `end <= start`."""
        _require_aware(start, "start")
        _require_aware(end, "end")
        # In UTC because Python compares and subtracts datetimes sharing a tzinfo by wall
        # clock, which is off by the DST shift across a change (and ambiguous in the fold).
        begin, stop = _to_naive_utc(start), _to_naive_utc(end)
        if stop <= begin:
            return _ZERO
        if self._always:
            return stop - begin
        total = _ZERO
        for a, b, offset in self._chunks(begin, stop):
            if self._is_plain_week(a, b, offset):
                total += self._week_total
                continue
            for span_start, span_end in self._spans_in_chunk(a, b, offset):
                total += span_end - span_start
        return total

    # -- derived data (cached per instance; frozen dataclasses allow cached_property) ------

    @cached_property
    def _zone(self) -> ZoneInfo:
        return _load_zone(self.timezone)

    @cached_property
    def _spans(self) -> tuple[tuple[_Span, ...], ...]:
        if len(self.hours) != 7:
            raise CalendarError(f"hours needs 7 days (Monday first), got {len(self.hours)}")
        return tuple(
            _to_spans(intervals, f"hours for {DAY_NAMES[weekday]}")
            for weekday, intervals in enumerate(self.hours)
        )

    @cached_property
    def _week_total(self) -> timedelta:
        return sum((e - s for day in self._spans for s, e in day), _ZERO)

    @cached_property
    def _always(self) -> bool:
        return not self.holidays and all(day == ((_ZERO, _DAY),) for day in self._spans)

    @cached_property
    def _sorted_holidays(self) -> tuple[date, ...]:
        return tuple(sorted(self.holidays))

    # -- the walk ---------------------------------------------------------------------------

    def _require_some_hours(self) -> None:
        if self._week_total == _ZERO:
            raise CalendarError("calendar has no business hours at all; it is never open")

    def _offset(self, naive_utc: datetime) -> timedelta:
        offset = naive_utc.replace(tzinfo=UTC).astimezone(self._zone).utcoffset()
        assert offset is not None  # ZoneInfo always knows the offset of an aware instant
        return offset

    def _chunks(
        self, t: datetime, until: datetime | None
    ) -> Iterator[tuple[datetime, datetime, timedelta]]:
        """Consecutive naive-UTC windows `[a, b)` from `t`, each with one UTC offset.

        Windows are a full week where possible so callers can take a week's business time
        in one step; they end early at `until` and at offset transitions.
        """
        offset = self._offset(t)
        while until is None or t < until:
            horizon = until if until is not None and until - t <= _WEEK else t + _WEEK
            end = t
            # Probing once a day cannot miss a transition: no tzdb zone keeps an offset for
            # less than about four days (the shortest is Africa/Freetown, 1939).
            while end < horizon:
                probe = min(end + _DAY, horizon)
                if self._offset(probe) != offset:
                    break
                end = probe
            else:
                yield t, horizon, offset
                t = horizon
                continue
            # The offset changes somewhere in (end, probe]; find the exact instant.
            lo, hi = end, probe
            while hi - lo > _MICROSECOND:
                mid = lo + (hi - lo) // 2
                if self._offset(mid) == offset:
                    lo = mid
                else:
                    hi = mid
            yield t, hi, offset
            t, offset = hi, self._offset(hi)

    def _spans_in_chunk(
        self, a: datetime, b: datetime, offset: timedelta
    ) -> Iterator[tuple[datetime, datetime]]:
        """Open naive-UTC spans within `[a, b)`, a window with a constant UTC offset."""
        wall_lo, wall_hi = a + offset, b + offset
        day = wall_lo.date()
        last = (wall_hi - _MICROSECOND).date()
        while day <= last:
            if day not in self.holidays:
                midnight = datetime.combine(day, _MIDNIGHT)
                for s, e in self._spans[day.weekday()]:
                    lo = max(midnight + s, wall_lo)
                    hi = min(midnight + e, wall_hi)
                    if lo < hi:
                        yield lo - offset, hi - offset
            day += _DAY

    def _open_spans(
        self, t: datetime, until: datetime | None
    ) -> Iterator[tuple[datetime, datetime]]:
        for a, b, offset in self._chunks(t, until):
            yield from self._spans_in_chunk(a, b, offset)

    def _is_plain_week(self, a: datetime, b: datetime, offset: timedelta) -> bool:
        """Whether `[a, b)` holds exactly one week's nominal business time.

        True for a full 7-day window with one offset and no holiday: the weekly pattern
        repeats every 7 days, so any such window covers each weekday's hours exactly once,
        whatever weekday or time of day it starts at.
        """
        if b - a != _WEEK:
            return False
        first = (a + offset).date()
        last = (b + offset - _MICROSECOND).date()
        index = bisect_left(self._sorted_holidays, first)
        return index == len(self._sorted_holidays) or self._sorted_holidays[index] > last


# -- helpers ----------------------------------------------------------------------------------


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value!r}")


def _to_naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _load_zone(key: str) -> ZoneInfo:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(
            f"timezone {key!r} is not a known IANA timezone (e.g. 'Europe/Berlin')"
        ) from exc


def _fmt(value: time, *, end: bool = False) -> str:
    if end and value == _MIDNIGHT:
        return "24:00"
    return value.isoformat(timespec="seconds" if value.second or value.microsecond else "minutes")


def _to_spans(intervals: Iterable[Interval], where: str) -> tuple[_Span, ...]:
    """Validate one day's intervals and turn them into offsets from midnight.

    Touching intervals (09:00-12:00,12:00-18:00) are merged so that each span is maximal.
    """
    spans: list[_Span] = []
    previous: Interval | None = None
    for interval in intervals:
        if not (isinstance(interval, tuple) and len(interval) == 2):
            raise CalendarError(f"{where}: {interval!r} is not a (start, end) pair")
        start, end = interval
        if not (isinstance(start, time) and isinstance(end, time)):
            raise CalendarError(f"{where}: {interval!r} is not a pair of times")
        if start.tzinfo is not None or end.tzinfo is not None:
            raise CalendarError(f"{where}: times must be local wall-clock times without tzinfo")
        text = f"{_fmt(start)}-{_fmt(end, end=True)}"
        s = _since_midnight(start)
        e = _DAY if end == _MIDNIGHT else _since_midnight(end)
        if e <= s:
            raise CalendarError(f"{where}: interval {text} ends before it starts")
        if spans and s < spans[-1][1]:
            assert previous is not None
            prev = f"{_fmt(previous[0])}-{_fmt(previous[1], end=True)}"
            raise CalendarError(
                f"{where}: interval {text} overlaps or precedes {prev}; "
                "intervals must be sorted and must not overlap"
            )
        if spans and s == spans[-1][1]:
            spans[-1] = (spans[-1][0], e)
        else:
            spans.append((s, e))
        previous = interval
    return tuple(spans)


def _since_midnight(value: time) -> timedelta:
    return timedelta(
        hours=value.hour,
        minutes=value.minute,
        seconds=value.second,
        microseconds=value.microsecond,
    )


def _parse_days(key: str) -> list[int]:
    if not isinstance(key, str):
        raise CalendarError(f"hours key {key!r} is not a string")
    name = key.strip().lower()
    if name == "daily":
        return list(range(7))
    if name in DAY_NAMES:
        return [DAY_NAMES.index(name)]
    first, dash, last = (part.strip() for part in name.partition("-"))
    if dash and first in DAY_NAMES and last in DAY_NAMES:
        i, j = DAY_NAMES.index(first), DAY_NAMES.index(last)
        # Ranges wrap around the weekend, so "fri-mon" is Friday to Monday.
        return [(i + n) % 7 for n in range((j - i) % 7 + 1)]
    raise CalendarError(
        f"hours key {key!r}: expected a day (mon..sun), a range like 'mon-fri', or 'daily'"
    )


def _parse_intervals(key: str, value: str) -> tuple[Interval, ...]:
    where = f"hours[{key!r}] = {value!r}"
    if not isinstance(value, str):
        raise CalendarError(f"{where}: expected a string like '09:00-18:00' or 'closed'")
    text = value.strip().lower()
    if text in ("", "closed"):
        return ()
    intervals: list[Interval] = []
    for part in text.split(","):
        start_text, dash, end_text = (p.strip() for p in part.partition("-"))
        if not dash:
            raise CalendarError(f"{where}: {part.strip()!r} is not a range like '09:00-18:00'")
        intervals.append(
            (_parse_clock(start_text, where, end=False), _parse_clock(end_text, where, end=True))
        )
    # Order is a formatting detail in settings; overlaps are still rejected below.
    intervals.sort(key=lambda interval: interval[0])
    _to_spans(intervals, where)
    return tuple(intervals)


def _parse_clock(text: str, where: str, *, end: bool) -> time:
    match = _CLOCK.fullmatch(text)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if end and hour == 24 and minute == 0:
            return _MIDNIGHT
        if hour < 24 and minute < 60:
            return time(hour, minute)
    allowed = "00:00..24:00" if end else "00:00..23:59"
    raise CalendarError(f"{where}: bad time {text!r}, expected HH:MM in {allowed}")


def _parse_holiday(value: str | date) -> date:
    if isinstance(value, datetime):
        raise CalendarError(f"holiday {value!r} is a datetime; give a date or 'YYYY-MM-DD'")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise CalendarError(f"holiday {value!r}: expected a date like '2026-12-25'")
