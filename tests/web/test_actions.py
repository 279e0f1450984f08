"""Running the desk from the web: API and dashboard actions go through the engine,
refusals come back as JSON errors or a flash naming the reason, and bad filters are
answered with 400 instead of an empty list."""

from __future__ import annotations

from tests.web.conftest import ACME, ENGINEER, LEAD, Site


async def test_api_reply_followup_done_and_merge(site: Site) -> None:
    case_id = await site.open_case("VM down")
    other = await site.open_case("VM still down", who="bob")
    h = site.api_headers(LEAD)
    url = f"/api/v1/cases/{case_id}"
    r = await site.client.post(f"{url}/reply", json={"text": "Rebooting vm-3."}, headers=h)
    assert r.status == 200, await r.text()
    case = await r.json()
    assert case["status"] == "waiting_on_customer" and case["first_response_at"]
    [reply] = [m for m in case["messages"] if m["text"] == "Rebooting vm-3."]
    assert (reply["role"], reply["sender"], reply["internal"]) == ("staff", LEAD, False)
    async with site.app.sessions() as session:
        from sqlalchemy import select

        from storage.models import OutboxRow

        rows = (await session.execute(select(OutboxRow))).scalars().all()
    [sent] = [r for r in rows if r.purpose == "staff_reply"]
    assert sent.chat == ACME and sent.payload["text"].endswith("(#1): Rebooting vm-3.")

    r = await site.client.post(
        f"{url}/followups", json={"due_in": "1d", "text": "call", "owner": ENGINEER}, headers=h
    )
    [followup] = (await r.json())["followups"]
    done = f"{url}/followups/{followup['id']}/done"
    r = await site.client.post(done, headers=h)
    assert r.status == 200 and (await r.json())["followups"][0]["done_at"]
    r = await site.client.post(done, headers=h)
    assert r.status == 409 and "already done" in (await r.json())["error"]
    r = await site.client.post(f"{url}/followups/999/done", headers=h)
    assert r.status == 422

    first = case["messages"][0]["id"]
    r = await site.client.post(f"{url}/move", json={"message": str(first), "to": f"#{other}"},
                               headers=h)  # fmt: skip
    assert r.status == 200, await r.text()
    r = await site.client.post(f"{url}/merge", json={"into": str(other)}, headers=h)
    assert r.status == 200 and (await r.json())["status"] == "closed"
    r = await site.client.post(f"{url}/merge", json={"into": "x"}, headers=h)
    assert r.status == 422 and "into must be a number" in (await r.json())["error"]


async def test_api_refusals_are_errors_with_the_reason(site: Site) -> None:
    case_id = await site.open_case("VM down")
    h = site.api_headers(LEAD)
    url = f"/api/v1/cases/{case_id}"
    for owner in ("telegram:999999", "garbage", "telegram:5001"):
        r = await site.client.post(
            f"{url}/followups", json={"due_in": "1d", "text": "x", "owner": owner}, headers=h
        )
        assert r.status == 422 and "is not on the team" in (await r.json())["error"], owner
    r = await site.client.post(f"{url}/status", json={"status": "resolved"}, headers=h)
    assert r.status == 200
    r = await site.client.post(f"{url}/status", json={"status": "resolved"}, headers=h)
    assert r.status == 409
    assert await r.json() == {"error": "Case #1 is already resolved.", "status": 409}
    r = await site.client.post(f"{url}/reply", json={"text": "hello?"}, headers=h)
    assert r.status == 409 and "reopen it before replying" in (await r.json())["error"]
    r = await site.client.post(f"{url}/reply", json={"text": "x" * 4001}, headers=h)
    assert r.status in (413, 422)
    case = await (await site.client.get(url, headers=h)).json()
    assert [f for f in case.get("followups", [])] == []
    assert [m["text"] for m in case["messages"]] == ["VM down"]


async def test_bad_filters_name_the_parameter(site: Site) -> None:
    await site.open_case("VM down")
    h = site.api_headers()
    r = await site.client.get("/api/v1/cases?status=bogus", headers=h)
    assert r.status == 400
    error = (await r.json())["error"]
    assert "status" in error and "waiting_on_customer" in error
    r = await site.client.get("/api/v1/cases?status=new,open", headers=h)
    assert r.status == 200 and len(await r.json()) == 1
    r = await site.client.get("/api/v1/people?role=boss", headers=h)
    assert r.status == 400 and "role" in (await r.json())["error"]
    r = await site.client.get("/api/v1/queues/nope", headers=h)
    assert r.status == 404 and "nope" in (await r.json())["error"]


async def test_dashboard_reply_done_merge_and_refusal_flash(site: Site) -> None:
    case_id = await site.open_case("VM down")
    other = await site.open_case("VM still down", who="bob")
    await site.sign_in()
    page = await (await site.client.get(f"/cases/{case_id}")).text()
    assert 'value="reply"' in page and 'value="merge"' in page and 'value="move"' in page
    token = await site.csrf(f"/cases/{case_id}")
    act = f"/cases/{case_id}/act"
    r = await site.client.post(act, data={"kind": "reply", "text": "On it.", "csrf": token})
    assert "Done." in await r.text()
    r = await site.client.post(
        act, data={"kind": "followup", "due_in": "1d", "text": "ring", "csrf": token}
    )
    page = await r.text()
    assert 'value="followup_done"' in page
    case = await site.client.get(f"/api/v1/cases/{case_id}", headers=site.api_headers())
    fid = (await case.json())["followups"][0]["id"]
    r = await site.client.post(
        act, data={"kind": "followup_done", "followup": str(fid), "csrf": token}
    )
    assert "Done." in await r.text()
    r = await site.client.post(act, data={"kind": "status", "status": "resolved", "csrf": token})
    assert "Done." in await r.text()
    r = await site.client.post(act, data={"kind": "status", "status": "resolved", "csrf": token})
    assert "Not done: Case #1 is already resolved." in await r.text()
    r = await site.client.post(act, data={"kind": "merge", "into": str(other), "csrf": token})
    assert "Done." in await r.text()
    merged = await site.client.get(f"/api/v1/cases/{case_id}", headers=site.api_headers())
    assert (await merged.json())["merged_into"] == other
    target = await site.client.get(f"/api/v1/cases/{other}", headers=site.api_headers())
    staff = [m for m in (await target.json())["messages"] if m["role"] == "staff"]
    assert [(m["text"], m["sender"]) for m in staff] == [("On it.", LEAD)]
