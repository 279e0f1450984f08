"""The staff dashboard: queues, case pages with actions, accounts with their
service review, the printable weekly review, message search and the outbox.

Imports aiohttp and `storage`; acts only through the engine (`web.actions`).
Every page needs a signed-in staff person (`web.auth`); every form carries the
CSRF token that `web.security` checks.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web

from cases.commands import parse_number
from cases.model import Status
from storage.issues import issue_links
from storage.knowledge import similar_to_case
from storage.models import Account
from storage.outbox import counts as outbox_counts
from storage.outbox import list_rows, retry_rows
from storage.queries import get_case
from storage.review import account_review
from storage.stats import (
    QUEUES,
    Queue,
    account_named,
    accounts,
    breach_times,
    chat_by_id,
    chat_titles,
    chats_of,
    people,
    queue_cases,
    queue_sizes,
    rotate_status_token,
    search_messages,
)
from web.actions import ActionRejected, perform, staff_action
from web.auth import require_staff
from web.charts import bar_chart, gauge
from web.context import casebot
from web.fields_view import field_rows
from web.render import (
    Translator,
    account_zone,
    page_translator,
    redirect_with_flash,
    refusal,
    render,
    span,
)
from web.reports import cases_csv, review_window
from web.timeline import timeline

PAGE = 50
# the queues' tabs, in order; each is titled by its `desk_queue_` text
QUEUE_TABS = ("mine", "unassigned", "at_risk", "breached", "waiting", "active", "all")


def _names(everyone: list[dict[str, Any]]) -> dict[str, str]:
    return {p["key"]: p["name"] or p["username"] or p["key"] for p in everyone}


def _breaches(times: dict[int, datetime], now: datetime, t: Translator) -> dict[int, str]:
    """Per breached case id, since when in words: "breached 12 min ago"."""
    return {
        case_id: t("desk_breached_ago", span=span((now - at).total_seconds(), t))
        for case_id, at in times.items()
    }


def _translator(request: web.Request) -> Translator:
    return page_translator(request)


def _page(request: web.Request) -> int:
    try:
        return max(1, min(10_000, int(request.query.get("page", "1"))))
    except ValueError:
        return 1


async def home(request: web.Request) -> web.StreamResponse:
    await require_staff(request)
    raise web.HTTPSeeOther("/queue/mine")


async def queue(request: web.Request) -> web.StreamResponse:
    staff = await require_staff(request)
    name = request.match_info["name"]
    if name not in QUEUES:
        raise web.HTTPNotFound(reason=_translator(request)("desk_err_no_queue"))
    app = casebot(request)
    now = app.clock.now()
    account = request.query.get("account") or None
    as_csv = request.query.get("format") == "csv"
    page = _page(request)
    limit, offset = (100_000, 0) if as_csv else (PAGE, (page - 1) * PAGE)
    async with app.sessions() as session:
        cases, total = await queue_cases(
            session, Queue(name, staff.person, account, limit, offset), now
        )
        if as_csv:
            body = cases_csv(cases)
        else:
            sizes = await queue_sizes(session, staff.person, now)
            breached = await breach_times(session, [c["id"] for c in cases])
            names = _names(await people(session, "staff"))
    if as_csv:
        filename = f"casebot-{name}-{now:%Y%m%d-%H%M}.csv"
        return web.Response(
            text=body,
            content_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return render(
        request,
        "queue.html",
        {
            "queue": name,
            "queues": QUEUE_TABS,
            "sizes": sizes,
            "cases": cases,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE)),
            "account": account,
            "breached": _breaches(breached, now, _translator(request)),
            "names": names,
        },
    )


async def case_page(request: web.Request) -> web.StreamResponse:
    await require_staff(request)
    app = casebot(request)
    case_id = parse_number(request.match_info["id"])
    if case_id is None:
        raise web.HTTPNotFound(reason=_translator(request)("desk_err_no_case"))
    async with app.sessions() as session:
        case = await get_case(session, case_id)
        if case is None:
            raise web.HTTPNotFound(reason=_translator(request)("desk_err_no_case_n", id=case_id))
        everyone = await people(session)
        breached = await breach_times(session, [case_id])
        titles = await chat_titles(session, [case["chat"]])
        drafts = [link for link in await issue_links(session, case_id=case_id) if link.draft]
        similar = await similar_to_case(session, case)
    names = _names(everyone)
    now, t, zone = app.clock.now(), _translator(request), account_zone(app, case["account"])
    return render(
        request,
        "case.html",
        {
            "case": case,
            "chat_title": titles.get(case["chat"], case["chat"]),
            # one choice per person, though they may be known under several keys
            "people": [p for p in everyone if p["role"] != "customer" and p["key"] == p["person"]],
            "names": names,
            "breached": _breaches(breached, now, t).get(case_id),
            "zone": zone,
            "timeline": timeline(case["events"], t, names, zone, now)[::-1],
            "statuses": [s.value for s in Status if s is not Status.NEW],
            "priorities": ["P1", "P2", "P3", "P4"],
            "drafts": drafts,
            "similar": similar,
            "field_rows": field_rows(app.engine.settings.fields, case, t.locale),
        },
    )


async def case_action(request: web.Request) -> web.StreamResponse:
    staff = await require_staff(request)
    app = casebot(request)
    case_id = parse_number(request.match_info["id"])
    t = _translator(request)
    if case_id is None:
        raise web.HTTPNotFound(reason=t("desk_err_no_case"))
    form = await request.post()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    location = f"/cases/{case_id}"
    try:
        action = staff_action(
            app, fields.get("kind", ""), case_id, staff.person, staff.name, fields
        )
        await perform(app, action)
    except ActionRejected as exc:
        raise redirect_with_flash(
            location, t("desk_not_done", reason=refusal(exc, t)), "error"
        ) from None
    raise redirect_with_flash(location, t("desk_done"))


async def accounts_page(request: web.Request) -> web.StreamResponse:
    await require_staff(request)
    async with casebot(request).sessions() as session:
        items = await accounts(session)
    return render(request, "accounts.html", {"accounts": items})


async def _review(request: web.Request) -> dict[str, Any]:
    app = casebot(request)
    now = app.clock.now()
    weeks = request.query.get("weeks", "8")
    name = request.match_info["name"]
    printable = request.path.endswith("/review")
    week = request.query.get("week")
    if printable and not week:
        week = now.date().isoformat()  # the printable review opens on the current week
    count = max(1, min(52, int(weeks) if weeks.isascii() and weeks.isdigit() else 8))
    try:
        since, until = review_window(week, now)
        if since is not None:
            picker = _week_picker(since.date(), now.date())
            if not printable:
                since = until - (until - since) * count
    except OverflowError:  # a week at the calendar's very edge has no neighbours
        since = None
    if since is None:
        raise web.HTTPBadRequest(reason=_translator(request)("desk_bad_week"))
    async with app.sessions() as session:
        account = await account_named(session, name)
        if account is None:
            raise web.HTTPNotFound(reason=_translator(request)("desk_err_no_account", name=name))
        # the live page counts the current, unfinished week too
        review = await account_review(
            session, account, since, until if printable else max(until, now)
        )
        chats = await chats_of(session, account.id)
    return {
        "account": account,
        "review": review,
        "chats": chats,
        "week": picker,
        **_charts(review, _translator(request)),
    }


def _week_picker(start: date, today: date) -> dict[str, str]:
    """The links of the review's week picker: the weeks before and after, and this one."""
    return {
        "start": start.isoformat(),
        "previous": (start - timedelta(days=7)).isoformat(),
        "next": (start + timedelta(days=7)).isoformat(),
        "current": (today - timedelta(days=today.weekday())).isoformat(),
    }


def _bucket_label(label: str, t: Translator) -> str:
    """A response-time bucket ("< 15m", "1d+") with its units in the page's words."""
    return re.sub(r"(\d+)([smhd])\b", lambda m: t(f"desk_unit_{m[2]}", n=m[1]), label)


def _charts(review: dict[str, Any], t: Translator) -> dict[str, Any]:
    weeks = review["weeks"]
    labels = [w["week"][5:10] for w in weeks]
    fr = review["first_response"]["buckets"]
    csat = review["csat"]["distribution"]
    return {
        "volume_chart": bar_chart(
            t("desk_cases_per_week"),
            labels,
            [
                (t("desk_fig_opened"), [w["opened"] for w in weeks]),
                (t("desk_fig_resolved"), [w["resolved"] for w in weeks]),
            ],
        ),
        "response_chart": bar_chart(
            t("desk_first_response_times"),
            [_bucket_label(b["label"], t) for b in fr],
            [(t("desk_chart_cases"), [b["count"] for b in fr])],
        ),
        "csat_chart": bar_chart(
            t("desk_chart_csat"),
            [f"{c['score']}★" for c in csat],
            [(t("desk_chart_ratings"), [c["count"] for c in csat])],
        ),
        "sla_gauge": gauge(
            t("desk_sla_compliance"),
            review["sla"]["compliance_percent"],
            no_data=t("desk_chart_no_data"),
        ),
    }


async def account_page(request: web.Request) -> web.StreamResponse:
    await require_staff(request)
    context = await _review(request)
    return render(request, "account.html", context)


async def weekly_review(request: web.Request) -> web.StreamResponse:
    await require_staff(request)
    context = await _review(request)
    return render(request, "review.html", context)


async def rotate_status(request: web.Request) -> web.StreamResponse:
    await require_staff(request)
    app = casebot(request)
    chat_id = parse_number(request.match_info["id"])
    t = _translator(request)
    if chat_id is None:
        raise web.HTTPNotFound(reason=t("desk_err_no_chat"))
    async with app.sessions() as session, session.begin():
        chat = await chat_by_id(session, chat_id)
        if chat is None:
            raise web.HTTPNotFound(reason=t("desk_err_no_chat"))
        await rotate_status_token(session, chat_id)
        key = (chat.platform, chat.chat)
        account = await session.get(Account, chat.account_id) if chat.account_id else None
    # the engine caches chats (with their token) for /status replies
    app.caches.forget_chat(key)
    location = f"/accounts/{account.name}" if account else "/accounts"
    raise redirect_with_flash(location, t("desk_link_renewed"))


async def search(request: web.Request) -> web.StreamResponse:
    await require_staff(request)
    text = request.query.get("q", "").strip()
    hits: list[dict[str, Any]] = []
    if len(text) >= 2:
        async with casebot(request).sessions() as session:
            hits = await search_messages(session, text, 100)
    return render(request, "search.html", {"q": text, "hits": hits})


async def outbox(request: web.Request) -> web.StreamResponse:
    await require_staff(request)
    async with casebot(request).sessions() as session:
        dead = await list_rows(session, ["dead"], 200)
        pending = await list_rows(session, ["pending"], 100)
        totals = await outbox_counts(session)
        titles = await chat_titles(session, [f"{r.platform}:{r.chat}" for r in dead + pending])
    return render(
        request,
        "outbox.html",
        {"dead": dead, "pending": pending, "totals": totals, "titles": titles},
    )


async def outbox_retry(request: web.Request) -> web.StreamResponse:
    await require_staff(request)
    app = casebot(request)
    form = await request.post()
    ids: list[int] | None
    if form.get("all") == "1":
        ids = None
    else:
        ids = [n for v in form.getall("id", []) if (n := parse_number(str(v))) is not None]
        if len(ids) != len(form.getall("id", [])):
            raise web.HTTPBadRequest(reason=_translator(request)("desk_err_row_ids"))
    async with app.sessions() as session, session.begin():
        n = await retry_rows(session, ids, app.clock.now())
    app.dispatcher.wake()
    raise redirect_with_flash("/outbox", _translator(request)("desk_requeued", n=n))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/", home),
        web.get("/queue/{name}", queue),
        web.get("/cases/{id}", case_page),
        web.post("/cases/{id}/act", case_action),
        web.get("/accounts", accounts_page),
        web.get("/accounts/{name}", account_page),
        web.get("/accounts/{name}/review", weekly_review),
        web.post("/chats/{id}/rotate-status", rotate_status),
        web.get("/search", search),
        web.get("/outbox", outbox),
        web.post("/outbox/retry", outbox_retry),
    ]
