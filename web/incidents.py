"""Incident mode on the web: the war room on the dashboard (`/incidents`) and the JSON
API (`/api/v1/incidents`). Starting, updating and resolving go through the engine
(`Engine.incident`), exactly as `/incident` in the triage chat does.

Imports aiohttp, `cases` and `storage`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web

from cases.commands import parse_number
from cases.context import ActionRejected
from cases.incident_records import IncidentScope, IncidentStep
from cases.incidents import IncidentAction, IncidentOutcome
from storage.incidents import incident_exists, list_incidents, war_room
from storage.stats import accounts, person_role
from storage.uow import SqlUnitOfWork
from web.actions import actor_for
from web.auth import require_staff
from web.context import casebot
from web.render import page_translator, redirect_with_flash, refusal, render
from web.security import json_error

ACTOR_HEADER = "X-Casebot-Actor"


async def run_step(app: Any, action: IncidentAction) -> IncidentOutcome:
    """One incident step in its own transaction (its whole fan-out queued with it),
    then the dispatcher is woken; ActionRejected writes nothing."""
    async with app.sessions() as session, session.begin():
        outcome: IncidentOutcome = await app.engine.incident(
            SqlUnitOfWork(session, app.caches), action
        )
    app.dispatcher.wake()
    return outcome


def scope_of(tier: str, names: list[str]) -> IncidentScope:
    if tier.strip():
        return IncidentScope(tier=tier.strip())
    names = [n.strip() for n in names if n.strip()]
    return IncidentScope(accounts=tuple(names)) if names else IncidentScope(all=True)


def _incident_id(request: web.Request) -> int:
    number = parse_number(request.match_info["id"])
    if number is None:
        raise web.HTTPNotFound(reason=page_translator(request)("desk_err_no_incident"))
    return number


def _plain(value: Any) -> Any:
    """The war room as JSON: times in ISO 8601, keys as strings."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


# ------------------------------------------------------------ dashboard


async def incidents_page(request: web.Request) -> web.StreamResponse:
    await require_staff(request)
    async with casebot(request).sessions() as session:
        found = await list_incidents(session)
        known = await accounts(session)
    tiers = sorted({a["tier"] for a in known})
    return render(
        request,
        "incidents.html",
        {"incidents": found, "accounts": [a["name"] for a in known], "tiers": tiers},
    )


async def start_form(request: web.Request) -> web.StreamResponse:
    staff = await require_staff(request)
    app = casebot(request)
    form = await request.post()
    names = [str(v) for v in form.getall("accounts", []) if isinstance(v, str)]
    scope = scope_of(str(form.get("tier") or ""), names)
    action = IncidentAction(
        IncidentStep.START,
        actor_for(staff.person, staff.name),
        app.clock.now(),
        str(form.get("title") or ""),
        scope,
    )
    t = page_translator(request)
    try:
        done = await run_step(app, action)
    except ActionRejected as exc:
        raise redirect_with_flash(
            "/incidents", t("desk_not_done", reason=refusal(exc, t)), "error"
        ) from None
    raise redirect_with_flash(
        f"/incidents/{done.incident.id}",
        t("desk_incident_started", ref=done.incident.ref, groups=done.groups),
    )


async def incident_page(request: web.Request) -> web.StreamResponse:
    await require_staff(request)
    async with casebot(request).sessions() as session:
        room = await war_room(session, _incident_id(request))
    if room is None:
        raise web.HTTPNotFound(reason=page_translator(request)("desk_err_no_incident"))
    return render(request, "incident.html", {"incident": room})


async def step_form(request: web.Request) -> web.StreamResponse:
    staff = await require_staff(request)
    app = casebot(request)
    incident_id = _incident_id(request)
    form = await request.post()
    location = f"/incidents/{incident_id}"
    t = page_translator(request)
    try:
        step = IncidentStep(str(form.get("kind") or ""))
        if step is IncidentStep.START:
            raise ValueError
    except ValueError:
        reason = t("desk_incident_unknown_step")
        raise redirect_with_flash(location, t("desk_not_done", reason=reason), "error") from None
    action = IncidentAction(
        step,
        actor_for(staff.person, staff.name),
        app.clock.now(),
        str(form.get("text") or ""),
        incident_id=incident_id,
    )
    async with app.sessions() as session:
        if not await incident_exists(session, incident_id):
            # no war room to come back to: say it on the list
            reason = f"no incident INC-{incident_id}"
            raise redirect_with_flash("/incidents", t("desk_not_done", reason=reason), "error")
    try:
        done = await run_step(app, action)
    except ActionRejected as exc:
        raise redirect_with_flash(
            location, t("desk_not_done", reason=refusal(exc, t)), "error"
        ) from None
    raise redirect_with_flash(location, t("desk_incident_queued", groups=done.groups))


# ------------------------------------------------------------------ API


def _ok(value: Any, status: int = 200) -> web.Response:
    return web.json_response(
        _plain(value), status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False)
    )


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(
            text=json.dumps({"error": "send a JSON object (Content-Type: application/json)"}),
            content_type="application/json",
        )
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "the body must be a JSON object"}),
            content_type="application/json",
        )
    return body


async def _actor(request: web.Request) -> str | web.Response:
    person = request.headers.get(ACTOR_HEADER, "").strip()
    if not person:
        return json_error(400, f"name the acting staff person in the {ACTOR_HEADER} header")
    async with casebot(request).sessions() as session:
        role = await person_role(session, person)
    if role is None or role == "customer":
        return json_error(403, f"{person!r} is not a staff person")
    return person


async def _api_step(
    request: web.Request, step: IncidentStep, incident_id: int | None
) -> web.Response:
    person = await _actor(request)
    if isinstance(person, web.Response):
        return person
    body = await _body(request)
    app = casebot(request)
    text = body.get("title" if step is IncidentStep.START else "text") or ""
    tier = body.get("tier") or ""
    names = body.get("accounts") or []
    if isinstance(names, str):
        names = names.split(",")
    if not isinstance(text, str) or not isinstance(tier, str) or not isinstance(names, list):
        return json_error(400, "title/text and tier are strings, accounts a list of names")
    action = IncidentAction(
        step,
        actor_for(person, app.config.staff.names.get(person, "")),
        app.clock.now(),
        text,
        scope_of(tier, [str(n) for n in names]),
        incident_id,
    )
    if incident_id is not None:
        async with app.sessions() as session:
            if not await incident_exists(session, incident_id):
                return json_error(404, f"no incident {incident_id}")
    try:
        done = await run_step(app, action)
    except ActionRejected as exc:
        return json_error(422, str(exc))
    async with app.sessions() as session:
        room = await war_room(session, done.incident.id)
    return _ok(room)


async def api_list(request: web.Request) -> web.Response:
    async with casebot(request).sessions() as session:
        return _ok(await list_incidents(session))


async def api_get(request: web.Request) -> web.Response:
    async with casebot(request).sessions() as session:
        room = await war_room(session, _incident_id(request))
    if room is None:
        return json_error(404, "no such incident")
    return _ok(room)


async def api_start(request: web.Request) -> web.Response:
    return await _api_step(request, IncidentStep.START, None)


async def api_update(request: web.Request) -> web.Response:
    return await _api_step(request, IncidentStep.UPDATE, _incident_id(request))


async def api_resolve(request: web.Request) -> web.Response:
    return await _api_step(request, IncidentStep.RESOLVE, _incident_id(request))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/incidents", incidents_page),
        web.post("/incidents", start_form),
        web.get("/incidents/{id}", incident_page),
        web.post("/incidents/{id}", step_form),
        web.get("/api/v1/incidents", api_list),
        web.post("/api/v1/incidents", api_start),
        web.get("/api/v1/incidents/{id}", api_get),
        web.post("/api/v1/incidents/{id}/updates", api_update),
        web.post("/api/v1/incidents/{id}/resolve", api_resolve),
    ]
