"""Tags and fields on the dashboard's case page (a CSRF-checked form like the other
actions), through the API (`tags`, `fields` on a case; POST .../tags and .../fields),
in the CSV and JSON export, in the timeline and in the account review."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.web.conftest import ENGINEER, Site, make_site

FIELDS = [
    {"name": "instance", "type": "pattern", "pattern": "i-[0-9a-f]+", "required": True},
    {"name": "region", "type": "choice", "choices": ["eu-west", "cn-north"], "label": "Region"},
]


@pytest.fixture
async def fsite(db_url: str) -> AsyncIterator[Site]:
    async for s in make_site(db_url, sections={"fields": FIELDS}):
        yield s


async def test_the_case_page_edits_tags_and_fields(fsite: Site) -> None:
    site = fsite
    case_id = await site.open_case("billing is broken")
    await site.sign_in()
    page = await (await site.client.get(f"/cases/{case_id}")).text()
    assert 'value="tags"' in page and "Region" in page and "<option >cn-north</option>" in page
    token = await site.csrf(f"/cases/{case_id}")
    r = await site.client.post(
        f"/cases/{case_id}/act", data={"kind": "tags", "tags": "billing, VIP", "csrf": token}
    )
    assert "Done." in await r.text()
    r = await site.client.post(
        f"/cases/{case_id}/act",
        data={"kind": "field", "field": "instance", "value": "vm-1", "csrf": token},
    )
    assert "Not done: instance:" in await r.text()
    r = await site.client.post(
        f"/cases/{case_id}/act",
        data={"kind": "field", "field": "instance", "value": "i-7f3", "csrf": token},
    )
    assert "Done." in await r.text()
    r = await site.client.post(
        f"/cases/{case_id}/act",
        data={"kind": "tags", "tags": "forged", "csrf": "forged"},
        allow_redirects=False,
    )
    assert r.status in (400, 403)
    page = await (await site.client.get(f"/cases/{case_id}")).text()
    assert 'value="billing vip"' in page and 'value="i-7f3"' in page
    assert "set instance to i-7f3" in page and "tagged the case #billing #vip" in page
    case = await (
        await site.client.get(f"/api/v1/cases/{case_id}", headers=site.api_headers())
    ).json()
    assert case["tags"] == ["billing", "vip"] and case["fields"] == {"instance": "i-7f3"}
    assert [e["data"]["via"] for e in case["events"] if e["type"] == "tagged"] == ["web"]


async def test_the_api_sets_tags_and_fields_and_resolve_waits_for_required(
    fsite: Site,
) -> None:
    site = fsite
    case_id = await site.open_case("my VM is down")
    headers = site.api_headers(ENGINEER)
    r = await site.client.post(
        f"/api/v1/cases/{case_id}/status", json={"status": "resolved"}, headers=headers
    )
    assert r.status == 409 and "set instance first" in (await r.json())["error"]
    # closing goes past resolved: it waits for the same fields
    r = await site.client.post(
        f"/api/v1/cases/{case_id}/status", json={"status": "closed"}, headers=headers
    )
    assert r.status == 409 and "set instance first" in (await r.json())["error"]
    r = await site.client.post(
        f"/api/v1/cases/{case_id}/tags", json={"tags": "outage"}, headers=headers
    )
    assert r.status == 200 and (await r.json())["tags"] == ["outage"]
    r = await site.client.post(
        f"/api/v1/cases/{case_id}/fields",
        json={"field": "region", "value": "mars"},
        headers=headers,
    )
    assert r.status == 422 and "eu-west, cn-north" in (await r.json())["error"]
    r = await site.client.post(
        f"/api/v1/cases/{case_id}/fields",
        json={"field": "instance", "value": "i-1"},
        headers=headers,
    )
    assert r.status == 200 and (await r.json())["fields"] == {"instance": "i-1"}
    r = await site.client.post(
        f"/api/v1/cases/{case_id}/status", json={"status": "resolved"}, headers=headers
    )
    assert r.status == 200
    spec = await (await site.client.get("/api/v1/openapi.json", headers=site.api_headers())).json()
    assert "/cases/{id}/tags" in spec["paths"] and "/cases/{id}/fields" in spec["paths"]


async def test_the_review_counts_categories_tags_and_fields(fsite: Site) -> None:
    site = fsite
    for text in ("one", "two"):
        case_id = await site.open_case(text)
        r = await site.client.post(
            f"/api/v1/cases/{case_id}/tags",
            json={"tags": "billing" if text == "one" else "billing vip"},
            headers=site.api_headers(ENGINEER),
        )
        assert r.status == 200
    r = await site.client.post(
        f"/api/v1/cases/{case_id}/fields",
        json={"field": "region", "value": "eu-west"},
        headers=site.api_headers(ENGINEER),
    )
    assert r.status == 200
    r = await site.client.get(
        "/api/v1/accounts/Acme/review?week=2026-03-02", headers=site.api_headers()
    )
    review = await r.json()
    assert review["labels"]["tags"] == [
        {"name": "billing", "cases": 2},
        {"name": "vip", "cases": 1},
    ]
    assert review["labels"]["fields"] == [{"name": "region", "cases": 1}]
    await site.sign_in()
    page = await (await site.client.get("/accounts/Acme/review?week=2026-03-02")).text()
    assert "#billing: 2" in page and "#vip: 1" in page and "region filled: 1" in page
