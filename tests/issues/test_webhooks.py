"""Tracker webhooks through the HTTP route: each tracker's signature is checked (401
and nothing stored otherwise), a delivery is stored before the 202, a redelivery
changes nothing, and a close reaches every linked case."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from storage.models import CaseEvent, TrackerDelivery
from tests.issues.conftest import SECRET, tracker_site, trackers
from tests.web.conftest import LEAD, Site

URLS = {
    "github": ("https://github.com/acme/api/issues/42", "acme/api#42"),
    "gitlab": ("https://gitlab.com/acme/api/-/issues/5", "acme/api#5"),
    "jira": ("https://acme.atlassian.net/browse/OPS-7", "OPS-7"),
    "linear": ("https://linear.app/acme/issue/ENG-12/disk", "ENG-12"),
}


@pytest.fixture
async def hooked(sqlite_url: str) -> AsyncIterator[Site]:
    async for s in tracker_site(sqlite_url, trackers()):
        yield s


def _hex(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def closing(tracker: str, site: Site, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    """A close of the tracker's issue as that tracker sends it, signed with `secret`."""
    payload: dict[str, Any]
    if tracker == "github":
        payload = {
            "action": "closed",
            "issue": {"number": 42, "title": "Disk fills up", "state": "closed"},
            "repository": {"full_name": "acme/api"},
        }
    elif tracker == "gitlab":
        payload = {
            "object_kind": "issue",
            "project": {"path_with_namespace": "acme/api"},
            "object_attributes": {"iid": 5, "title": "Disk fills up", "state": "closed"},
        }
    elif tracker == "jira":
        payload = {
            "webhookEvent": "jira:issue_updated",
            "issue": {
                "key": "OPS-7",
                "fields": {
                    "summary": "Disk fills up",
                    "status": {"statusCategory": {"key": "done"}},
                },
            },
        }
    else:
        payload = {
            "action": "update",
            "type": "Issue",
            "data": {
                "identifier": "ENG-12",
                "title": "Disk fills up",
                "state": {"type": "completed"},
            },
            "webhookTimestamp": int(site.clock.now().timestamp() * 1000),
        }
    body = json.dumps(payload).encode()
    headers = {
        "github": {
            "X-Hub-Signature-256": "sha256=" + _hex(body, secret),
            "X-GitHub-Delivery": "d1",
        },
        "gitlab": {"X-Gitlab-Token": secret, "X-Gitlab-Event-UUID": "d1"},
        "jira": {
            "X-Hub-Signature": "sha256=" + _hex(body, secret),
            "X-Atlassian-Webhook-Identifier": "d1",
        },
        "linear": {"Linear-Signature": _hex(body, secret), "Linear-Delivery": "d1"},
    }[tracker]
    return body, {**headers, "Content-Type": "application/json"}


async def _link(site: Site, case_id: int, url: str) -> None:
    r = await site.client.post(
        f"/api/v1/cases/{case_id}/links", headers=site.api_headers(LEAD), json={"url": url}
    )
    assert r.status == 200, await r.text()


async def _count(site: Site, what: Any) -> int:
    async with site.app.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(what))).scalar_one())


async def _closed_events(site: Site) -> int:
    async with site.app.sessions() as session:
        found = await session.execute(select(func.count()).where(CaseEvent.type == "issue_closed"))
        return int(found.scalar_one())


@pytest.mark.parametrize("tracker", sorted(URLS))
async def test_a_signed_close_reaches_every_linked_case_once(hooked: Site, tracker: str) -> None:
    url, _ = URLS[tracker]
    first = await hooked.open_case("VM down")
    second = await hooked.open_case("数据库连不上", chat="-100200")
    await _link(hooked, first, url)
    await _link(hooked, second, url)
    body, headers = closing(tracker, hooked)
    r = await hooked.client.post(f"/trackers/{tracker}/webhook", data=body, headers=headers)
    assert r.status == 202, await r.text()
    assert (await r.json())["stored"] is True
    assert await _closed_events(hooked) == 2
    # a redelivery (same delivery id) is stored once and changes nothing
    r = await hooked.client.post(f"/trackers/{tracker}/webhook", data=body, headers=headers)
    assert r.status == 202 and (await r.json())["duplicate"] is True
    assert await _count(hooked, TrackerDelivery) == 1
    assert await _closed_events(hooked) == 2


@pytest.mark.parametrize("tracker", sorted(URLS))
async def test_a_bad_signature_is_401_and_stores_nothing(hooked: Site, tracker: str) -> None:
    url, _ = URLS[tracker]
    await _link(hooked, await hooked.open_case("VM down"), url)
    body, headers = closing(tracker, hooked, secret="not-the-secret-at-all")
    r = await hooked.client.post(f"/trackers/{tracker}/webhook", data=body, headers=headers)
    assert r.status == 401
    unsigned = {"Content-Type": "application/json"}
    r = await hooked.client.post(f"/trackers/{tracker}/webhook", data=body, headers=unsigned)
    assert r.status == 401
    assert await _count(hooked, TrackerDelivery) == 0
    assert await _closed_events(hooked) == 0


async def test_a_replayed_linear_delivery_is_refused(hooked: Site) -> None:
    body, headers = closing("linear", hooked)
    hooked.clock.advance(timedelta(minutes=5))
    r = await hooked.client.post("/trackers/linear/webhook", data=body, headers=headers)
    assert r.status == 401
    assert await _count(hooked, TrackerDelivery) == 0


async def test_unknown_tracker_and_unreadable_body(hooked: Site) -> None:
    r = await hooked.client.post("/trackers/bitbucket/webhook", data=b"{}")
    assert r.status == 404
    body = b"not json"
    headers = {"X-Hub-Signature-256": "sha256=" + _hex(body)}
    r = await hooked.client.post("/trackers/github/webhook", data=body, headers=headers)
    assert r.status == 422
    assert await _count(hooked, TrackerDelivery) == 0


async def test_github_spells_the_repository_its_own_way(hooked: Site) -> None:
    await _link(hooked, await hooked.open_case("VM down"), "https://github.com/ACME/Api/issues/42")
    body, headers = closing("github", hooked)
    r = await hooked.client.post("/trackers/github/webhook", data=body, headers=headers)
    assert r.status == 202 and (await r.json())["issues"] == 1
    assert await _closed_events(hooked) == 1


ODD_BODIES = {
    "github": {"repository": "acme/api", "issue": {"number": 42}},
    "gitlab": {"object_kind": "issue", "project": ["acme"], "object_attributes": {"iid": 5}},
    "jira": {"issue": {"key": "OPS-7", "fields": "summary"}},
    "linear": {"type": "Issue", "data": {"identifier": "ENG-12", "state": "done"}},
}


@pytest.mark.parametrize("tracker", sorted(ODD_BODIES))
async def test_a_signed_body_of_odd_shape_is_no_crash(hooked: Site, tracker: str) -> None:
    payload = dict(ODD_BODIES[tracker])
    payload["webhookTimestamp"] = int(hooked.clock.now().timestamp() * 1000)
    body = json.dumps(payload).encode()
    headers = {
        "github": {"X-Hub-Signature-256": "sha256=" + _hex(body)},
        "gitlab": {"X-Gitlab-Token": SECRET},
        "jira": {"X-Hub-Signature": "sha256=" + _hex(body)},
        "linear": {"Linear-Signature": _hex(body)},
    }[tracker]
    r = await hooked.client.post(f"/trackers/{tracker}/webhook", data=body, headers=headers)
    assert r.status == 202, await r.text()
    assert (await r.json())["issues"] == 0


async def test_a_huge_body_is_refused_before_it_is_read_whole(hooked: Site) -> None:
    body = b'{"pad": "' + b"x" * 2_000_000 + b'"}'
    headers = {"X-Hub-Signature-256": "sha256=" + _hex(body)}
    r = await hooked.client.post("/trackers/github/webhook", data=body, headers=headers)
    assert r.status == 413
    assert await _count(hooked, TrackerDelivery) == 0
