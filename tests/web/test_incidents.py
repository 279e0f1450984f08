"""Incident mode on the web: the API starts, updates and resolves through the engine
(staff only, bad requests refused with nothing written), the war room shows who was
told what, the dashboard forms do the same, and the customer status page shows it."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from storage.models import Chat, IncidentNotice
from tests.web.conftest import ACME, ENGINEER, GLOBEX, Site


async def notices(site: Site) -> int:
    async with site.app.sessions() as session:
        return int((await session.execute(select(func.count(IncidentNotice.id)))).scalar_one())


async def test_the_api_runs_an_incident_and_shows_its_war_room(site: Site) -> None:
    c, headers = site.client, site.api_headers(ENGINEER)
    r = await c.post("/api/v1/incidents", json={"title": "EU region down"}, headers=headers)
    assert r.status == 200, await r.text()
    room = await r.json()
    assert (room["ref"], room["status"], room["accounts"]) == ("INC-1", "open", ["Acme", "Globex"])
    assert {g["chat"] for g in room["groups"]} == {f"telegram:{ACME}", f"telegram:{GLOBEX}"}
    [start] = room["updates"]
    assert start["kind"] == "start" and start["actor"] == ENGINEER
    # nothing delivered yet (the dispatcher is off here): each group's notice is pending
    assert all(g["told"][str(start["id"])]["state"] == "pending" for g in room["groups"])

    r = await c.post("/api/v1/incidents/1/updates", json={"text": "Failing over"}, headers=headers)
    assert r.status == 200
    r = await c.post("/api/v1/incidents/1/resolve", json={}, headers=headers)
    assert (await r.json())["status"] == "resolved"
    assert await notices(site) == 6
    listed = await (await c.get("/api/v1/incidents", headers=headers)).json()
    assert [(i["ref"], i["status"]) for i in listed] == [("INC-1", "resolved")]
    got = await c.get("/api/v1/incidents/1", headers=headers)
    assert [u["kind"] for u in (await got.json())["updates"]] == ["start", "update", "resolve"]


async def test_the_api_refuses_bad_requests_and_writes_nothing(site: Site) -> None:
    c = site.client
    body = {"title": "x"}
    assert (await c.post("/api/v1/incidents", json=body)).status == 401
    r = await c.post("/api/v1/incidents", json=body, headers=site.api_headers())
    assert r.status == 400  # no acting person
    r = await c.post("/api/v1/incidents", json=body, headers=site.api_headers("telegram:5001"))
    assert r.status == 403  # a customer
    staff = site.api_headers(ENGINEER)
    r = await c.post("/api/v1/incidents", json={"title": "x", "tier": "gold"}, headers=staff)
    assert r.status == 422 and "tier gold" in (await r.json())["error"]
    r = await c.post("/api/v1/incidents", json={"title": ""}, headers=staff)
    assert r.status == 422
    r = await c.post("/api/v1/incidents/9/updates", json={"text": "x"}, headers=staff)
    assert r.status == 404
    r = await c.post("/api/v1/incidents", data="nope", headers=staff)
    assert r.status == 415
    assert await notices(site) == 0
    r = await c.post(
        "/api/v1/incidents", json={"title": "Only them", "accounts": ["Globex"]}, headers=staff
    )
    assert (await r.json())["accounts"] == ["Globex"]
    assert await notices(site) == 1


async def test_the_dashboard_war_room_and_the_status_page(site: Site) -> None:
    await site.sign_in()
    token = await site.csrf("/incidents")
    r = await site.client.post(
        "/incidents",
        data={"csrf": token, "title": "Payments <slow>", "tier": "premium"},
        allow_redirects=False,
    )
    assert r.status == 303 and r.headers["Location"] == "/incidents/1"
    page = await (await site.client.get("/incidents/1")).text()
    assert "Payments &lt;slow&gt;" in page and "<slow>" not in page  # escaped
    assert "Acme" in page and "pending" in page
    # a case opened meanwhile in Acme is linked and listed
    case_id = await site.open_case("payment stuck")
    page = await (await site.client.get("/incidents/1")).text()
    assert f"/cases/{case_id}" in page
    listing = await (await site.client.get("/incidents")).text()
    assert "INC-1" in listing

    async with site.app.sessions() as session:
        acme = (
            await session.execute(select(Chat.status_token).where(Chat.chat == ACME))
        ).scalar_one()
        globex = (
            await session.execute(select(Chat.status_token).where(Chat.chat == GLOBEX))
        ).scalar_one()
    status = await (await site.client.get(f"/status/{acme}")).text()
    assert "Ongoing incident since" in status and "Payments &lt;slow&gt;" in status
    # Globex is standard tier: not affected, its page says nothing of it
    assert "Payments" not in await (await site.client.get(f"/status/{globex}")).text()

    token = await site.csrf("/incidents/1")
    r = await site.client.post(
        "/incidents/1",
        data={"csrf": token, "kind": "resolve", "text": "Fixed by a rollback"},
        allow_redirects=False,
    )
    assert r.status == 303
    status = await (await site.client.get(f"/status/{acme}")).text()
    assert re.search(r"Resolved incident \(.*\): Payments", status)
    assert "Latest update: Fixed by a rollback" in status


async def test_a_step_on_an_unknown_incident_from_the_dashboard_says_so(site: Site) -> None:
    """The refusal is shown on the incidents list, not on the 404 of a war room that
    does not exist; nothing is queued."""
    await site.sign_in()
    token = await site.csrf("/incidents")
    r = await site.client.post(
        "/incidents/99", data={"csrf": token, "kind": "update", "text": "x"}
    )
    page = await r.text()
    assert r.status == 200 and str(r.url).endswith("/incidents"), (r.status, r.url)
    assert "no incident INC-99" in page
    assert await notices(site) == 0
