"""The staff dashboard: queues, case pages with actions, accounts with their
service review, the printable weekly review, message search and the outbox.

Imports aiohttp and `storage`; acts only through the engine (`web.actions`).
Every page needs a signed-in staff person (`web.auth`); every form carries the
CSRF token that `web.security` checks.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

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
    breached_case_ids,
    chat_by_id,
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
from web.render import redirect_with_flash, render
from web.reports import cases_csv, review_window

PAGE = 50
QUEUE_TITLES = {
    "mine": "Mine",
    "unassigned": "Unassigned",
    "at_risk": "At risk",
    "breached": "Breached",
    "waiting": "Waiting on customer",
    "active": "All active",
    "all": "Everything",
}


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
        raise web.HTTPNotFound(reason="No such queue")
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
            breached = await breached_case_ids(session, [c["id"] for c in cases])
            names = {p["key"]: p["name"] for p in await people(session, "staff")}
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
            "titles": QUEUE_TITLES,
            "sizes": sizes,
            "cases": cases,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE)),
            "account": account,
            "breached": breached,
            "names": names,
        },
    )


async def case_page(request: web.Request) -> web.StreamResponse:
    await require_staff(request)
    app = casebot(request)
    try:
        case_id = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound(reason="No such case") from None
    async with app.sessions() as session:
        case = await get_case(session, case_id)
        if case is None:
            raise web.HTTPNotFound(reason=f"No case #{case_id}")
        staff_people = await people(session, "staff")
        breached = bool(await breached_case_ids(session, [case_id]))
    names = {p["key"]: p["name"] for p in staff_people}
    return render(
        request,
        "case.html",
        {
            "case": case,
            # one choice per person, though they may be known under several keys
            "people": [p for p in staff_people if p["key"] == p["person"]],
            "names": names,
            "breached": breached,
            "statuses": ["open", "waiting_on_customer", "on_hold", "resolved", "closed"],
            "priorities": ["P1", "P2", "P3", "P4"],
        },
    )


async def case_action(request: web.Request) -> web.StreamResponse:
    staff = await require_staff(request)
    app = casebot(request)
    try:
        case_id = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound(reason="No such case") from None
    form = await request.post()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    location = f"/cases/{case_id}"
    try:
        action = staff_action(
            app, fields.get("kind", ""), case_id, staff.person, staff.name, fields
        )
        await perform(app, action)
    except ActionRejected as exc:
        raise redirect_with_flash(location, f"Not done: {exc}") from None
    raise redirect_with_flash(location, "Done.")


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
    async with app.sessions() as session:
        account = await account_named(session, name)
        if account is None:
            raise web.HTTPNotFound(reason=f"No account {name}")
        since, until = review_window(request.query.get("week"), now)
        if since is None:
            raise web.HTTPBadRequest(reason="week must be a date such as 2026-03-02")
        if request.path.endswith("/review"):
            review = await account_review(session, account, since, until)
        else:
            count = max(1, min(52, int(weeks) if weeks.isdigit() else 8))
            since = until - (until - since) * count
            # the current, unfinished week counts too on the live page
            review = await account_review(session, account, since, max(until, now))
        chats = await chats_of(session, account.id)
    return {"account": account, "review": review, "chats": chats, **_charts(review)}


def _charts(review: dict[str, Any]) -> dict[str, Any]:
    weeks = review["weeks"]
    labels = [w["week"][5:10] for w in weeks]
    fr = review["first_response"]["buckets"]
    csat = review["csat"]["distribution"]
    return {
        "volume_chart": bar_chart(
            "Cases per week",
            labels,
            [
                ("opened", [w["opened"] for w in weeks]),
                ("resolved", [w["resolved"] for w in weeks]),
            ],
        ),
        "response_chart": bar_chart(
            "First response times", [b["label"] for b in fr], [("cases", [b["count"] for b in fr])]
        ),
        "csat_chart": bar_chart(
            "CSAT ratings",
            [f"{c['score']}★" for c in csat],
            [("ratings", [c["count"] for c in csat])],
        ),
        "sla_gauge": gauge("SLA compliance", review["sla"]["compliance_percent"]),
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
    try:
        chat_id = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound(reason="No such chat") from None
    async with app.sessions() as session, session.begin():
        chat = await chat_by_id(session, chat_id)
        if chat is None:
            raise web.HTTPNotFound(reason="No such chat")
        await rotate_status_token(session, chat_id)
        key = (chat.platform, chat.chat)
        account = await session.get(Account, chat.account_id) if chat.account_id else None
    # the engine caches chats (with their token) for /status replies
    app.caches.forget_chat(key)
    location = f"/accounts/{account.name}" if account else "/accounts"
    raise redirect_with_flash(location, "New status link made; the old one no longer works.")


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
    return render(request, "outbox.html", {"dead": dead, "pending": pending, "totals": totals})


async def outbox_retry(request: web.Request) -> web.StreamResponse:
    await require_staff(request)
    app = casebot(request)
    form = await request.post()
    ids: list[int] | None
    if form.get("all") == "1":
        ids = None
    else:
        try:
            ids = [int(str(v)) for v in form.getall("id", [])]
        except ValueError:
            raise web.HTTPBadRequest(reason="row ids must be numbers") from None
    async with app.sessions() as session, session.begin():
        n = await retry_rows(session, ids, app.clock.now())
    app.dispatcher.wake()
    raise redirect_with_flash("/outbox", f"{n} row(s) queued again.")


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
