"""The polling fallback against local trackers: GitHub from the pinned `emulate`
package (its REST API and its real signed webhook delivery), GitLab, Jira and Linear
from a small aiohttp fake on 127.0.0.1. Time is the App's frozen clock: an issue is
asked again only once its tracker's poll_interval has passed."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from storage.models import CaseEvent, FollowUp
from tests.fakes.emulate import emulated
from tests.issues.conftest import SECRET, tracker_site
from tests.web.conftest import LEAD, Site

TOKEN = "test_token"


async def _link(site: Site, case_id: int, url: str) -> None:
    r = await site.client.post(
        f"/api/v1/cases/{case_id}/links", headers=site.api_headers(LEAD), json={"url": url}
    )
    assert r.status == 200, await r.text()


async def _closed(site: Site) -> int:
    async with site.app.sessions() as session:
        found = await session.execute(select(func.count()).where(CaseEvent.type == "issue_closed"))
        return int(found.scalar_one())


class FakeTrackers:
    """GitLab, Jira and Linear APIs, each refusing a request without its token."""

    def __init__(self) -> None:
        self.state = {"gitlab": "opened", "jira": "indeterminate", "linear": "started"}
        self.asked: list[str] = []
        self.down = False

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v4/projects/{project}/issues/{iid}", self.gitlab)
        app.router.add_get("/rest/api/3/issue/{key}", self.jira)
        app.router.add_post("/graphql", self.linear)
        return app

    async def gitlab(self, request: web.Request) -> web.Response:
        if request.headers.get("PRIVATE-TOKEN") != "gl-token":
            return web.json_response({}, status=401)
        self.asked.append(f"gitlab {request.match_info['project']}")
        if self.down:
            return web.json_response({}, status=503)
        return web.json_response({"iid": 5, "title": "Disk", "state": self.state["gitlab"]})

    async def jira(self, request: web.Request) -> web.Response:
        wanted = "Basic " + base64.b64encode(b"me@acme.test:jira-token").decode()
        if request.headers.get("Authorization") != wanted:
            return web.json_response({}, status=401)
        self.asked.append("jira")
        category = {"key": self.state["jira"]}
        return web.json_response(
            {"key": "OPS-7", "fields": {"summary": "Disk", "status": {"statusCategory": category}}}
        )

    async def linear(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "lin-token":
            return web.json_response({}, status=401)
        body = await request.json()
        self.asked.append(f"linear {body['variables']['id']}")
        issue = {"identifier": "ENG-12", "title": "Disk", "state": {"type": self.state["linear"]}}
        return web.json_response({"data": {"issue": issue}})


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeTrackers, str]]:
    trackers = FakeTrackers()
    server = TestServer(trackers.app(), host="127.0.0.1")
    await server.start_server()
    try:
        yield trackers, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def test_poll_finds_closes_once_per_interval(
    sqlite_url: str, fake: tuple[FakeTrackers, str]
) -> None:
    trackers, base = fake
    config = {
        "gitlab": {"token": "gl-token", "base_url": base, "poll_interval": "5m"},
        "jira": {"token": "jira-token", "user": "me@acme.test", "base_url": base},
        "linear": {"token": "lin-token", "base_url": base, "poll_interval": "1m"},
    }
    async for site in tracker_site(sqlite_url, config):
        case_id = await site.open_case("VM down")
        await _link(site, case_id, "https://gitlab.com/acme/api/-/issues/5")
        await _link(site, case_id, "https://acme.atlassian.net/browse/OPS-7")
        await _link(site, case_id, "https://linear.app/acme/issue/ENG-12/disk")
        assert await site.app.trackers.poll() == 0
        assert sorted(trackers.asked) == ["gitlab acme/api", "jira", "linear ENG-12"]
        # asked again only once an interval has passed
        assert await site.app.trackers.poll() == 0
        assert len(trackers.asked) == 3
        trackers.state.update(gitlab="closed", jira="done", linear="completed")
        site.clock.advance(timedelta(minutes=2))
        assert await site.app.trackers.poll() == 1  # only Linear's interval (1m) is up
        site.clock.advance(timedelta(minutes=4))
        assert await site.app.trackers.poll() == 2
        assert await _closed(site) == 3
        # closed issues are asked no more
        site.clock.advance(timedelta(hours=1))
        assert await site.app.trackers.poll() == 0
        assert len(trackers.asked) == 6


async def test_a_tracker_that_refuses_is_asked_again_later(
    sqlite_url: str, fake: tuple[FakeTrackers, str]
) -> None:
    _, base = fake
    config = {"gitlab": {"token": "wrong", "base_url": base, "poll_interval": "1m"}}
    async for site in tracker_site(sqlite_url, config):
        await _link(site, await site.open_case("VM down"), "https://gitlab.com/a/b/-/issues/1")
        assert await site.app.trackers.poll() == 0
        assert await _closed(site) == 0


async def _wait_for(site: Site, closed: int) -> None:
    """The emulator delivers its webhook on its own time: wait for the effect."""
    for _ in range(200):
        if await _closed(site) >= closed:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no issue_closed event arrived")


async def test_github_emulator_poll_and_signed_webhook(sqlite_url: str, tmp_path: Path) -> None:
    seed = {
        "tokens": {TOKEN: {"login": "octocat", "scopes": ["repo", "user"]}},
        "github": {
            "users": [{"login": "octocat"}],
            "repos": [{"owner": "octocat", "name": "api"}],
        },
    }
    async with emulated("github", seed, tmp_path) as gh:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession(headers=auth) as http:

            async def call(method: str, path: str, body: Any = None) -> Any:
                async with http.request(method, gh + path, json=body) as r:
                    assert r.status < 300, await r.text()
                    return await r.json()

            first = await call("POST", "/repos/octocat/api/issues", {"title": "Disk fills up"})
            second = await call("POST", "/repos/octocat/api/issues", {"title": "Slow queries"})
            config = {
                "github": {
                    "token": TOKEN,
                    "base_url": gh,
                    "webhook_secret": SECRET,
                    "poll_interval": "1m",
                }
            }
            async for site in tracker_site(sqlite_url, config):
                one = await site.open_case("VM down")
                two = await site.open_case("disk full", chat="-100200")
                url = f"https://github.com/octocat/api/issues/{first['number']}"
                await _link(site, one, url)
                await _link(site, two, url)
                await _link(site, one, f"https://github.com/octocat/api/issues/{second['number']}")
                # polling: open, then closed on the emulator
                assert await site.app.trackers.poll() == 0
                await call(
                    "PATCH", f"/repos/octocat/api/issues/{first['number']}", {"state": "closed"}
                )
                site.clock.advance(timedelta(minutes=2))
                assert await site.app.trackers.poll() == 1
                assert await _closed(site) == 2  # one close, every linked case
                # the webhook: the emulator signs with X-Hub-Signature-256 and delivers
                hook = f"http://127.0.0.1:{site.client.server.port}/trackers/github/webhook"
                made = await call(
                    "POST",
                    "/repos/octocat/api/hooks",
                    {
                        "name": "web",
                        "events": ["issues"],
                        "config": {"url": hook, "content_type": "json", "secret": SECRET},
                    },
                )
                await call(
                    "PATCH", f"/repos/octocat/api/issues/{second['number']}", {"state": "closed"}
                )
                try:
                    await _wait_for(site, 3)
                except AssertionError:
                    raise AssertionError(
                        await call("GET", f"/repos/octocat/api/hooks/{made['id']}/deliveries")
                    ) from None
                async with site.app.sessions() as session:
                    owed = (
                        await session.execute(select(func.count()).select_from(FollowUp))
                    ).scalar_one()
                assert owed == 0  # no assignee and no account owner: triage has the draft


async def test_a_tracker_down_is_asked_once_a_tick_and_nothing_is_lost(
    sqlite_url: str, fake: tuple[FakeTrackers, str]
) -> None:
    trackers, base = fake
    config = {"gitlab": {"token": "gl-token", "base_url": base, "poll_interval": "1m"}}
    async for site in tracker_site(sqlite_url, config):
        case_id = await site.open_case("VM down")
        for n in (1, 2, 3):
            await _link(site, case_id, f"https://gitlab.com/acme/api{n}/-/issues/5")
        trackers.down = True
        # a tracker that answers 503 (or not at all) is not asked about every issue
        # in turn, each waiting out its timeout: one try a tick, and no crash
        assert await site.app.trackers.poll() == 0
        assert len(trackers.asked) == 1
        trackers.down = False
        trackers.state["gitlab"] = "closed"
        assert await site.app.trackers.poll() == 2  # the two not asked are due still
        site.clock.advance(timedelta(minutes=1, seconds=1))
        assert await site.app.trackers.poll() == 1
        assert await _closed(site) == 3
