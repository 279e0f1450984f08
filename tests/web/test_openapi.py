"""The OpenAPI document against the real server: it is a valid OpenAPI 3.1
document, every documented operation exists and answers with a documented
status and a body that fits the documented schema, and every API route the
server has is documented."""

from __future__ import annotations

from typing import Any

import jsonschema
from openapi_spec_validator import validate

from cases.issues import CLOSED, IssueUpdate
from storage.uow import SqlUnitOfWork
from tests.web.conftest import ENGINEER, LEAD, Site
from web.server import build_web_app

ACTION_BODIES = {
    "assign": {"assignee": ENGINEER},
    "priority": {"priority": "P2"},
    "status": {"status": "on_hold"},
    "notes": {"text": "a note"},
    "followups": {"due_in": "2d", "text": "call"},
    "reply": {"text": "on it"},
    "links": {"url": "https://github.com/acme/api/issues/42"},
    "unlink": {"url": "acme/api#42"},
    "send_draft": {},
    "done": {},
    "tags": {"tags": "billing vip"},
    "fields": {"field": "instance", "value": "i-7f3"},
    "incidents": {"title": "EU region down"},
    "updates": {"text": "failing over"},
    "resolve": {"text": "fixed"},
}


def _schema(doc: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in response:
        response = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema = response["content"]["application/json"]["schema"]
    # resolve "#/components/..." refs against the whole document
    return {**schema, "components": doc["components"]}


def _check(doc: dict[str, Any], operation: dict[str, Any], status: int, body: Any) -> None:
    documented = operation["responses"]
    assert str(status) in documented, (operation["operationId"], status, body)
    jsonschema.validate(body, _schema(doc, documented[str(status)]))


async def closed_issue(site: Site, case_id: int) -> None:
    """A linked issue that closed, so the case has a draft for `send_draft` to send."""
    h = site.api_headers(LEAD)
    url = "https://github.com/acme/api/issues/7"
    r = await site.client.post(f"/api/v1/cases/{case_id}/links", headers=h, json={"url": url})
    assert r.status == 200, await r.text()
    async with site.app.sessions() as session, session.begin():
        update = IssueUpdate("github", "acme/api#7", CLOSED, site.clock.now(), title="Fix")
        await site.app.engine.issue_update(SqlUnitOfWork(session), update)


async def test_openapi_matches_the_server(site: Site) -> None:
    case_id = await site.open_case("VM down")
    other = await site.open_case("VM still down", who="bob")
    spare = await site.open_case("VM down again")
    h = site.api_headers(LEAD)
    first = (await (await site.client.get(f"/api/v1/cases/{case_id}", headers=h)).json())[
        "messages"
    ][0]["id"]
    bodies = {**ACTION_BODIES, "move": {"message": str(first), "to": str(other)},
              "merge": {"into": str(other)}}  # fmt: skip
    r = await site.client.post(
        f"/api/v1/cases/{case_id}/followups", headers=h, json={"due_in": "1d", "text": "x"}
    )
    fid = (await r.json())["followups"][0]["id"]
    await closed_issue(site, case_id)
    r = await site.client.get("/api/v1/openapi.json", headers=h)
    doc = await r.json()
    validate(doc)
    served = {
        (route.method.lower(), route.resource.canonical)
        for route in build_web_app(site.app).router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/v1")
        and route.method != "HEAD"
    }
    documented: set[tuple[str, str]] = set()
    calls = 0
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            documented.add((method, path))
            # merging ends a case: merge a spare one
            merged = spare if path.endswith("/merge") else case_id
            url = "/api/v1" + path.replace("{id}", str(merged)).replace("{name}", "Acme")
            url = url.replace("{fid}", str(fid))
            if path == "/queues/{name}":
                url = "/api/v1/queues/active"
            query = {"q": "VM"} if path == "/search" else {}
            action = path.rsplit("/", 1)[1]
            body = bodies.get(action) if method == "post" else None
            r = await site.client.request(method, url, headers=h, params=query, json=body)
            _check(doc, operation, r.status, await r.json())
            assert r.status == 200, (url, await r.text())
            # the documented errors are real too
            r = await site.client.request(method, url, params=query, json=body)
            _check(doc, operation, r.status, await r.json())
            calls += 2
            if "{id}" in path:
                missing = url.replace(f"/cases/{merged}", "/cases/99999")
                missing = missing.replace(f"/incidents/{merged}", "/incidents/99999")
                r = await site.client.request(method, missing, headers=h, json=body)
                _check(doc, operation, r.status, await r.json())
                assert r.status == 404
            if method == "post":
                bad = {k: "" for k in bodies[action]} | {"priority": "P9", "tags": "#"}
                r = await site.client.request(method, url, headers=h, json=bad)
                _check(doc, operation, r.status, await r.json())
                assert r.status in (400, 409, 422)
                r = await site.client.request(method, url, headers=site.api_headers(), json=body)
                _check(doc, operation, r.status, await r.json())
    served_paths = {
        (m, p.removeprefix("/api/v1").replace(
            "{action:assign|priority|status|notes|followups|reply|move|merge|tags|fields}",
            "{action}"))
        for m, p in served
    }  # fmt: skip
    expanded = {
        (m, p if "/cases/{id}/" not in p or "{fid}" in p else "/cases/{id}/{action}")
        for m, p in documented
    }
    assert served_paths == expanded
    assert calls >= 26
