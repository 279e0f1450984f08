"""Parsing and printing durations such as "90s", "15m", "4h", "2d", "1w", "200ms".

Standard library only.
"""

from __future__ import annotations

import re
from datetime import timedelta

from cases.fullwidth import ascii_forms

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# ASCII digits only, as the usage hints show them
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(ms|[smhdw])")
# the units as Chinese writes them ("2天", "4小时", "30分钟"), longest first
_CHINESE_UNITS = (
    ("毫秒", "ms"),
    ("小时", "h"),
    ("分钟", "m"),
    ("星期", "w"),
    ("天", "d"),
    ("日", "d"),
    ("周", "w"),
    ("时", "h"),
    ("分", "m"),
    ("秒", "s"),
)
# far beyond any timer or follow-up, and far enough from timedelta's and datetime's
# limits that adding it to any date in this millennium cannot overflow
MAX_DURATION = timedelta(days=100 * 366)


def parse_duration(text: str) -> timedelta:
    """Parse "90s", "15m", "4h", "2d", "1w" or combinations like "1h30m".

    Raises ValueError with a readable message on anything else.
    """
    # full-width digits and letters ("２ｄ") are the ASCII ones
    cleaned = ascii_forms(text).strip().lower().replace(" ", "")
    for word, unit in _CHINESE_UNITS:
        cleaned = cleaned.replace(word, unit)
    if not cleaned:
        raise ValueError("empty duration")
    pos = 0
    seconds = 0.0
    for match in _PART.finditer(cleaned):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(cleaned):
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 15m, 4h, 2d, 1w)")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"too long a duration: {text!r} (at most {MAX_DURATION.days}d)")
    return timedelta(seconds=seconds)


def duration_value(value: object) -> timedelta:
    """A config value as a duration: a timedelta, or a string such as "90s" (a bare
    number has no unit: 30 could mean seconds or minutes, so it is refused)."""
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a duration string such as 90s, 15m, 4h, 2d")
    return parse_duration(value)


# how Chinese counts each unit: "2 天", "1 小时 30 分钟"
_CHINESE_NAMES = {"d": "天", "h": "小时", "m": "分钟", "s": "秒"}


def format_duration(delta: timedelta, locale: str = "en") -> str:
    """The shortest readable form: 5m, 1h30m, 2d; in Chinese ("zh...") 5 分钟,
    1 小时 30 分钟, 2 天."""
    total = int(delta.total_seconds())
    parts: list[tuple[int, str]] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            parts.append((total // size, unit))
            total %= size
    parts = parts[:2] or [(0, "m")]
    if locale.lower().startswith("zh"):
        return " ".join(f"{n} {_CHINESE_NAMES[unit]}" for n, unit in parts)
    return "".join(f"{n}{unit}" for n, unit in parts)
