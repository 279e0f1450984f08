"""The JSON API: contract fields, filters and paging, actions through the engine,
errors as JSON, and the bearer token on every route."""

from __future__ import annotations

import pytest

from tests.web.conftest import ENGINEER, GLOBEX, LEAD, Site
from web.server import build_web_app

CONTRACT = {"id", "ref", "account", "chat", "title", "status", "priority", "assignee",
            "created_at", "first_response_at", "resolved_at", "messages", "events"}  # fmt: skip


async def test_cases_list_filters_and_paging(site: Site) -> None:
    first = await site.open_case("VM down")
    second = await site.open_case("billing question")
    third = await site.open_case("网络很慢", chat=GLOBEX, who="carol")
    h = site.api_headers()
    r = await site.client.get("/api/v1/cases", headers=h)
    assert r.status == 200
    cases = await r.json()
    assert [c["id"] for c in cases] == [first, second, third]
    assert set(cases[0]) >= CONTRACT
    assert r.headers["X-Total-Count"] == "3"
    assert cases[0]["ref"] == f"#{first}" and cases[0]["created_at"].endswith("Z")
    message = cases[0]["messages"][0]
    assert {"platform_message_id", "sender", "role", "text", "at", "internal"} <= set(message)

    r = await site.client.get("/api/v1/cases?account=Globex", headers=h)
    assert [c["id"] for c in await r.json()] == [third]
    r = await site.client.get("/api/v1/cases?limit=1&offset=1", headers=h)
    assert [c["id"] for c in await r.json()] == [second]
    assert r.headers["X-Total-Count"] == "3" and 'rel="next"' in r.headers["Link"]
    r = await site.client.get(f"/api/v1/cases?assignee={ENGINEER}", headers=h)
    assert await r.json() == []

    r = await site.client.get(f"/api/v1/cases/{second}", headers=h)
    assert (await r.json())["title"] == "billing question"
    for bad in ("/api/v1/cases?limit=x", "/api/v1/cases?limit=0", "/api/v1/cases/abc"):
        r = await site.client.get(bad, headers=h)
        assert r.status == 400 and "error" in await r.json(), bad
    r = await site.client.get("/api/v1/cases/999", headers=h)
    assert r.status == 404 and (await r.json())["error"] == "no case 999"


async def test_actions_go_through_the_engine(site: Site) -> None:
    case_id = await site.open_case("VM down")
    h = site.api_headers(LEAD)
    url = f"/api/v1/cases/{case_id}"
    r = await site.client.post(f"{url}/assign", json={"assignee": ENGINEER}, headers=h)
    assert r.status == 200, await r.text()
    case = await r.json()
    assert case["assignee"] == ENGINEER
    assert any(e["type"] == "assigned" or "assign" in e["type"] for e in case["events"])

    r = await site.client.post(f"{url}/priority", json={"priority": "P1"}, headers=h)
    assert (await r.json())["priority"] == "P1"
    r = await site.client.post(f"{url}/notes", json={"text": "check the host"}, headers=h)
    notes = [m for m in (await r.json())["messages"] if m["internal"]]
    assert [m["text"] for m in notes] == ["check the host"]
    r = await site.client.post(
        f"{url}/followups", json={"due_in": "2d", "text": "call back"}, headers=h
    )
    assert [f["text"] for f in (await r.json())["followups"]] == ["call back"]
    r = await site.client.post(f"{url}/status", json={"status": "resolved"}, headers=h)
    assert (await r.json())["status"] == "resolved"

    # refused by the engine: 422 with the reason, nothing changes
    r = await site.client.post(f"{url}/priority", json={"priority": "P9"}, headers=h)
    assert r.status == 422 and "P1" in (await r.json())["error"]
    r = await site.client.post(f"{url}/assign", json={"assignee": "telegram:5001"}, headers=h)
    assert r.status == 422
    # the actor must be staff, named, and the body JSON
    customer = site.api_headers("telegram:5001")
    r = await site.client.post(f"{url}/priority", json={"priority": "P2"}, headers=customer)
    assert r.status == 403
    r = await site.client.post(
        f"{url}/priority", json={"priority": "P2"}, headers=site.api_headers()
    )
    assert r.status == 400
    r = await site.client.post(f"{url}/priority", data="P2", headers=h)
    assert r.status == 415
    r = await site.client.post("/api/v1/cases/999/priority", json={"priority": "P2"}, headers=h)
    assert r.status == 404
    r = await site.client.post(f"{url}/notes", json={"text": "x" * 10_000}, headers=h)
    assert r.status == 413 and (await r.json())["error"] == "request body too large"
    r = await site.client.get(url, headers=h)
    assert (await r.json())["priority"] == "P1"


async def test_accounts_people_stats_search_review(site: Site) -> None:
    await site.open_case("disk full on db-1")
    h = site.api_headers()
    accounts = await (await site.client.get("/api/v1/accounts", headers=h)).json()
    assert [a["name"] for a in accounts] == ["Acme", "Globex"]
    assert accounts[0]["open_cases"] == 1
    staff = await (await site.client.get("/api/v1/people?role=staff", headers=h)).json()
    assert {p["key"] for p in staff} == {ENGINEER, "telegram:1002", LEAD}
    stats = await (await site.client.get("/api/v1/stats", headers=h)).json()
    assert stats["cases_by_status"]["new"] + stats["cases_by_status"]["open"] == 1
    assert stats["queues"]["unassigned"] == 1
    hits = await (await site.client.get("/api/v1/search?q=DB-1", headers=h)).json()
    assert [m["text"] for m in hits] == ["disk full on db-1"]
    for q, found in (("db-1 DISK", 1), ('"full on"', 1), ('"on full"', 0), ("disk nope", 0)):
        hits = await (await site.client.get("/api/v1/search", params={"q": q}, headers=h)).json()
        assert len(hits) == found, q
    r = await site.client.get("/api/v1/search?q=%25", headers=h)
    assert r.status == 400  # one character
    hits = await (await site.client.get("/api/v1/search?q=_%25", headers=h)).json()
    assert hits == []  # LIKE wildcards are taken literally
    review = await (
        await site.client.get("/api/v1/accounts/Acme/review?week=2026-03-02", headers=h)
    ).json()
    assert review["opened"] == 1 and review["since"].startswith("2026-03-02")
    r = await site.client.get("/api/v1/accounts/Nope/review", headers=h)
    assert r.status == 404


async def test_every_api_route_needs_the_token(lite: Site) -> None:
    routes = [
        (r.method, r.resource.canonical)
        for r in build_web_app(lite.app).router.routes()
        if r.resource is not None
        and r.resource.canonical.startswith("/api/")
        and r.method != "HEAD"
    ]
    assert len(routes) >= 10
    for method, path in routes:
        concrete = path.replace("{id}", "1").replace("{name}", "Acme")
        concrete = concrete.replace("{action:assign|priority|status|notes|followups}", "assign")
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
            r = await lite.client.request(method, concrete, headers=headers, json={})
            assert r.status == 401, (method, concrete, headers)
            assert (await r.json())["error"] == "missing or wrong bearer token"


@pytest.mark.parametrize("token", [None, ""])
async def test_no_configured_token_locks_the_api(sqlite_url: str, token: str | None) -> None:
    from tests.web.conftest import make_site

    async for s in make_site(sqlite_url, api_token=token):
        r = await s.client.get("/api/v1/cases", headers={"Authorization": "Bearer "})
        assert r.status == 401
