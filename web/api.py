"""The JSON API under /api/v1: cases (the contract's list and detail), accounts,
people, stats, message search, and staff actions on cases.

Imports aiohttp, `cases` and `storage`; reads through `storage`, acts only
through the engine (`web.actions`). Every route needs `Authorization: Bearer
<http.api_token>`, compared in constant time. Actions name the acting staff
person in the `X-Casebot-Actor` header (a person key such as "telegram:1001").
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from aiohttp import web

from cases.model import Status
from storage.outbox import counts as outbox_counts
from storage.queries import CaseFilter, count_cases, get_case, list_cases
from storage.review import account_review
from storage.stats import (
    QUEUES,
    Queue,
    account_named,
    accounts,
    cases_by_status,
    people,
    person_role,
    queue_sizes,
    search_messages,
    sla_breaches,
)
from web.actions import ActionConflict, ActionRejected, perform, staff_action
from web.context import casebot
from web.openapi import document
from web.security import json_error

ACTOR_HEADER = "X-Casebot-Actor"
MAX_LIMIT = 1000
STATUSES = tuple(s.value for s in Status)


@web.middleware
async def bearer_auth(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path.startswith("/api/"):
        token = casebot(request).config.http.api_token
        header = request.headers.get("Authorization", "")
        given = header[7:] if header[:7].lower() == "bearer " else ""
        # surrogateescape: aiohttp keeps header bytes that are not UTF-8 as lone surrogates
        raw = given.encode("utf-8", "surrogateescape")
        if not token or not hmac.compare_digest(raw, token.encode()):
            response = json_error(401, "missing or wrong bearer token")
            response.headers["WWW-Authenticate"] = 'Bearer realm="casebot"'
            return response
    return await handler(request)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _ok(value: Any, status: int = 200) -> web.Response:
    return web.json_response(value, status=status, dumps=_dumps)


class BadInput(Exception):
    pass


def _int(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadInput(f"{name} must be an integer") from None
    if not low <= number <= high:
        raise BadInput(f"{name} must be between {low} and {high}")
    return number


def _statuses(value: str | None) -> str | None:
    """The `status` filter: one status or several, comma-separated, each a real one."""
    if not value:
        return None
    wanted = [s.strip() for s in value.split(",")]
    if not all(s in STATUSES for s in wanted):
        raise BadInput(f"status must be one or more of {', '.join(STATUSES)}, comma-separated")
    return ",".join(wanted)


def _case_id(request: web.Request) -> int:
    return _int(request.match_info["id"], "case id", 0, 1, 2**62)


@web.middleware
async def bad_input(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except BadInput as exc:
        return json_error(400, str(exc))


# ------------------------------------------------------------ reading


async def list_cases_route(request: web.Request) -> web.Response:
    q = request.query
    f = CaseFilter(
        status=_statuses(q.get("status")),
        account=q.get("account") or None,
        assignee=q.get("assignee") or None,
        limit=_int(q.get("limit"), "limit", 100, 1, MAX_LIMIT),
        offset=_int(q.get("offset"), "offset", 0, 0, 2**62),
    )
    async with casebot(request).sessions() as session:
        cases = await list_cases(session, f)
        total = await count_cases(session, f)
    response = _ok(cases)
    response.headers["X-Total-Count"] = str(total)
    if f.offset + len(cases) < total:
        response.headers["Link"] = (
            f'<{request.rel_url.update_query(offset=f.offset + f.limit)}>; rel="next"'
        )
    return response


async def get_case_route(request: web.Request) -> web.Response:
    case_id = _case_id(request)
    async with casebot(request).sessions() as session:
        case = await get_case(session, case_id)
    if case is None:
        return json_error(404, f"no case {case_id}")
    return _ok(case)


async def accounts_route(request: web.Request) -> web.Response:
    async with casebot(request).sessions() as session:
        return _ok(await accounts(session))


async def review_route(request: web.Request) -> web.Response:
    from web.reports import review_window

    app = casebot(request)
    since, until = review_window(request.query.get("week"), app.clock.now())
    if since is None:
        raise BadInput("week must be a date such as 2026-03-02")
    async with app.sessions() as session:
        account = await account_named(session, request.match_info["name"])
        if account is None:
            return json_error(404, f"no account {request.match_info['name']!r}")
        return _ok(await account_review(session, account, since, until))


async def people_route(request: web.Request) -> web.Response:
    role = request.query.get("role") or None
    if role not in (None, "staff", "customer", "engineer", "lead"):
        raise BadInput("role must be staff, customer, engineer or lead")
    async with casebot(request).sessions() as session:
        return _ok(await people(session, role))


async def stats_route(request: web.Request) -> web.Response:
    app = casebot(request)
    async with app.sessions() as session:
        by_status = await cases_by_status(session)
        outbox = await outbox_counts(session)
        breaches = await sla_breaches(session)
        queues = await queue_sizes(session, None, app.clock.now())
    queues.pop("mine", None)
    return _ok(
        {
            "cases_by_status": by_status,
            "queues": queues,
            "sla_breaches": breaches,
            "outbox": {"pending": outbox.get("pending", 0), "dead": outbox.get("dead", 0)},
        }
    )


async def search_route(request: web.Request) -> web.Response:
    text = request.query.get("q", "").strip()
    if len(text) < 2:
        raise BadInput("q needs at least 2 characters")
    limit = _int(request.query.get("limit"), "limit", 50, 1, 500)
    async with casebot(request).sessions() as session:
        return _ok(await search_messages(session, text, limit))


async def queue_route(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in QUEUES or name == "mine":
        return json_error(404, f"no queue {name!r}")
    app = casebot(request)
    q = request.query
    queue = Queue(
        name,
        account=q.get("account") or None,
        limit=_int(q.get("limit"), "limit", 100, 1, MAX_LIMIT),
        offset=_int(q.get("offset"), "offset", 0, 0, 2**62),
    )
    from storage.stats import queue_cases

    async with app.sessions() as session:
        cases, total = await queue_cases(session, queue, app.clock.now())
    response = _ok(cases)
    response.headers["X-Total-Count"] = str(total)
    return response


async def openapi_route(request: web.Request) -> web.Response:
    return _ok(document(casebot(request).config.http.public_url))


# ------------------------------------------------------------ actions

ACTION_PATHS = {
    "assign": "assign",
    "priority": "priority",
    "status": "status",
    "notes": "note",
    "followups": "followup",
    "reply": "reply",
    "move": "move",
    "merge": "merge",
    "links": "link",
    "unlink": "unlink",
    "send_draft": "send_draft",
    "tags": "tags",
    "fields": "field",
}


async def action_route(request: web.Request) -> web.Response:
    kind = ACTION_PATHS[request.match_info["action"]]
    if request.content_type != "application/json":
        return json_error(415, "send a JSON object (Content-Type: application/json)")
    try:
        body = await request.json()
    except ValueError:
        return json_error(400, "the body is not valid JSON")
    if not isinstance(body, dict) or not all(
        isinstance(v, str) for v in body.values() if v is not None
    ):
        return json_error(400, "the body must be a JSON object of strings")
    fields = {k: v for k, v in body.items() if isinstance(v, str)}
    return await _act(request, kind, fields)


async def followup_done_route(request: web.Request) -> web.Response:
    followup = _int(request.match_info["fid"], "follow-up id", 0, 1, 2**62)
    return await _act(request, "followup_done", {"followup": str(followup)})


async def _act(request: web.Request, kind: str, fields: dict[str, str]) -> web.Response:
    """Run one staff action through the engine: 422 when the request cannot apply, 409
    when the case's state refuses it (nothing changed either way)."""
    app = casebot(request)
    case_id = _case_id(request)
    person = request.headers.get(ACTOR_HEADER, "").strip()
    if not person:
        return json_error(400, f"name the acting staff person in the {ACTOR_HEADER} header")
    async with app.sessions() as session:
        role = await person_role(session, person)
        if await get_case(session, case_id) is None:
            return json_error(404, f"no case {case_id}")
    if role is None or role == "customer":
        return json_error(403, f"{person!r} is not a staff person")
    name = app.config.staff.names.get(person, "")
    try:
        action = staff_action(app, kind, case_id, person, name, fields)
        await perform(app, action)
    except ActionConflict as exc:
        return json_error(409, str(exc))
    except ActionRejected as exc:
        return json_error(422, str(exc))
    async with app.sessions() as session:
        return _ok(await get_case(session, case_id))


def routes() -> list[web.RouteDef]:
    actions = "{action:" + "|".join(ACTION_PATHS) + "}"
    return [
        web.get("/api/v1/openapi.json", openapi_route),
        web.get("/api/v1/cases", list_cases_route),
        web.get("/api/v1/cases/{id}", get_case_route),
        web.post("/api/v1/cases/{id}/" + actions, action_route),
        web.post("/api/v1/cases/{id}/followups/{fid}/done", followup_done_route),
        web.get("/api/v1/queues/{name}", queue_route),
        web.get("/api/v1/accounts", accounts_route),
        web.get("/api/v1/accounts/{name}/review", review_route),
        web.get("/api/v1/people", people_route),
        web.get("/api/v1/stats", stats_route),
        web.get("/api/v1/search", search_route),
    ]
