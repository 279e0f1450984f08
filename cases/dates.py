"""How dates and times read in each locale: "2026-12-09 09:00" in English, "12月9日 09:00"
in Chinese (the year in front, "2027年1月5日", only when it is not the current one).

Standard library only. Wording around them comes from the catalogue; these are the
forms no sentence template can build (a Chinese date is no `strftime` pattern).
"""

from __future__ import annotations

from datetime import date, datetime


def is_chinese(locale: str) -> bool:
    return locale.lower().startswith("zh")


def day(on: date, locale: str, today: date | None = None) -> str:
    """A calendar day: "2026-12-09", or "12月9日" (this year) / "2027年1月5日"."""
    if not is_chinese(locale):
        return on.isoformat()
    short = f"{on.month}月{on.day}日"
    return short if today is not None and on.year == today.year else f"{on.year}年{short}"


def day_time(at: datetime, locale: str, today: date | None = None) -> str:
    """A day and a time of day in `at`'s own zone: "2026-12-09 09:00", "12月9日 09:00"."""
    return f"{day(at.date(), locale, today)} {at:%H:%M}"
