"""Which language a page speaks: the signed-in person's own locale (`locale` on their
`[[http.users]]` sign-in, else on their `[[staff.people]]` entry), else the browser's
`Accept-Language`, else the desk's `staff.locale` (English unless set).

Imports aiohttp, `cases` and `web`. Locales are the catalogue's ("en", "zh"); `html_lang` names
them for `<html lang>`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cases.people import spoken_locale
from web.context import STAFF_KEY, casebot


def from_accept_language(header: str | None) -> str | None:
    """The browser's most wanted language the catalogue has: `zh-CN,zh;q=0.9,en;q=0.8`
    gives "zh". Ranked by q (1 when absent; q=0 means "not this"), ties in the order
    given; a bad q ranks the tag as unwanted. "*" matches nothing: the caller's own
    fallback is the answer then."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((header or "")[:1000].split(",")):
        tag, *params = item.split(";")
        q = 1.0
        for param in params:
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
                if not 0.0 <= q <= 1.0:  # also NaN
                    q = 0.0
        # Traditional Chinese (zh-TW) is no catalogue language: the next choice counts
        locale = spoken_locale(tag)
        if locale is not None and q > 0:
            ranked.append((-q, position, locale))
    return min(ranked)[2] if ranked else None


def person_locale(app: Any, staff: Any) -> str | None:
    """A signed-in person's own locale: on the sign-in they used, else on their person."""
    config = app.config
    for user in config.http.users:
        if user.name == staff.name and user.locale:
            return str(user.locale)
    person = config.staff.person(staff.person)
    return str(person.locale) if person is not None and person.locale else None


def page_locale(request: web.Request) -> str:
    """The locale of a staff or sign-in page for this request."""
    app = casebot(request)
    staff = request.get(STAFF_KEY)
    own = person_locale(app, staff) if staff is not None else None
    chosen = own or from_accept_language(request.headers.get("Accept-Language"))
    return chosen or str(app.config.staff.locale)


def html_lang(locale: str) -> str:
    """`<html lang>` for a catalogue locale."""
    return "zh-CN" if locale == "zh" else locale
