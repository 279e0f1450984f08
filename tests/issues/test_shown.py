"""Where a linked issue shows: the customer's status page (title and state, only with
`[trackers] status_page = true`, never its key or URL), the daily digest and the
weekly review."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cases.issues import OPEN, IssueUpdate
from scheduler.reports import Reports
from storage.uow import SqlUnitOfWork
from tests.harness import TRIAGE
from tests.issues.conftest import tracker_site
from tests.sla.kit import SlaHarness, accounts
from tests.web.conftest import ACME, LEAD, Site
from tests.web.test_pages import _status_token

ISSUE = "https://github.com/acme/secret-repo/issues/42"


async def _linked_site(url: str, status_page: bool) -> AsyncIterator[Site]:
    raw = {"status_page": status_page, "github": {"webhook_secret": "tracker-secret-0123"}}
    async for site in tracker_site(url, raw):
        case_id = await site.open_case("VM down")
        r = await site.client.post(
            f"/api/v1/cases/{case_id}/links", headers=site.api_headers(LEAD), json={"url": ISSUE}
        )
        assert r.status == 200, await r.text()
        async with site.app.sessions() as session, session.begin():
            await site.app.engine.issue_update(
                SqlUnitOfWork(session, site.app.caches),
                IssueUpdate("github", "acme/secret-repo#42", OPEN, site.clock.now(), "Disk <b>"),
            )
        yield site


@pytest.mark.parametrize("allowed", [True, False])
async def test_the_status_page_shows_title_and_state_only_where_allowed(
    sqlite_url: str, allowed: bool
) -> None:
    async for site in _linked_site(sqlite_url, allowed):
        page = await (await site.client.get(f"/status/{await _status_token(site, ACME)}")).text()
        assert "secret-repo" not in page and "github.com" not in page
        assert "Disk <b>" not in page  # escaped
        assert ("Engineering: Disk &lt;b&gt; (open)" in page) is allowed


async def test_digest_and_review_name_the_issues(db_url: str) -> None:
    async with SlaHarness(db_url, accounts=accounts()) as h:
        case_id = await h.open_case()
        await h.say("evan", f"/link {ISSUE} #{case_id} wait", chat=TRIAGE)
        await h.nudges()
        reports = Reports(h.sessions, h.engine.settings, h.texts, timezone="Europe/Berlin")
        assert await reports.send_digest(h.clock.now())
        (digest,) = await h.nudges()
        assert "Waiting on engineering: 1 case(s) on 1 open issue(s)" in digest["text"]
        assert await reports.send_reviews(h.clock.now()) == 1
        (review,) = await h.nudges()
        assert "Linked engineering issues:" in review["text"]
        assert "acme/secret-repo#42" in review["text"] and f"#{case_id}" in review["text"]
