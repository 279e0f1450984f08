"""Issue links through the engine: /link and /unlink, waiting on an issue (a recorded
pause of the resolution clock), and a tracker's close reaching every linked case with
a follow-up and a draft that only a staff action sends. Runs on every platform."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from cases.engine import ActionRejected, Outcome
from cases.issues import CLOSED, OPEN, IssueUpdate, parse_issue_url
from cases.model import ActionKind, StaffAction
from storage.uow import SqlUnitOfWork
from tests.engine.kit import act, events, followups, open_case, status_changes
from tests.harness import GLOBEX, TRIAGE, Harness

pytestmark = pytest.mark.usefixtures("platform")

ISSUE = "https://github.com/acme/api/issues/42"


async def update(h: Harness, state: str, key: str = "acme/api#42") -> Outcome:
    async with h.sessions() as session, session.begin():
        uow = SqlUnitOfWork(session, h.ingestor.caches)
        return await h.engine.issue_update(
            uow, IssueUpdate("github", key, state, h.clock.now(), title="Disk fills up")
        )


async def test_link_shows_on_the_card_and_is_audited(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.sent()
        await h.say("evan", f"/link {ISSUE}")
        said = await h.sent()
        assert any("linked to acme/api#42" in t for t in said)
        cards = [t for t in said if "Issue: acme/api#42" in t]
        assert cards and ISSUE in cards[-1]
        case = await h.case(1)
        assert events(case, "issue_linked")[0]["data"] == {
            "tracker": "github",
            "key": "acme/api#42",
            "url": ISSUE,
        }
        await h.say("evan", f"/link {ISSUE}")
        assert any("already linked" in t for t in await h.sent())
        assert len(events(await h.case(1), "issue_linked")) == 1


async def test_a_customer_cannot_link(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("alice", f"/link {ISSUE}")
        assert not events(await h.case(1), "issue_linked")


async def test_bad_url_gets_the_usage(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.sent()
        await h.say("evan", "/link https://example.com/nothing")
        assert any("Usage: /link" in t for t in await h.sent())


async def test_wait_pauses_the_clock_and_a_close_resumes_it(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "/assign me")
        await h.say("evan", "/wait")
        assert any("no open linked issue" in t for t in await h.sent())
        await h.say("evan", f"/link {ISSUE} wait")
        case = await h.case(1)
        assert case["status"] == "waiting_on_issue"
        assert events(case, "sla_paused")
        h.clock.advance(timedelta(hours=3))
        # a customer line while engineering works keeps the case waiting on the issue
        await h.say("alice", "any news?")
        assert (await h.case(1))["status"] == "waiting_on_issue"
        await h.sent()
        await update(h, CLOSED)
        case = await h.case(1)
        assert case["status"] == "open"
        assert status_changes(case)[-2:] == [
            ("open", "waiting_on_issue", "issue"),
            ("waiting_on_issue", "open", "issue_closed"),
        ]
        assert events(case, "sla_resumed")
        assert events(case, "issue_closed")[0]["data"] == {"key": "acme/api#42", "via": "webhook"}
        owed = await followups(h)
        assert [(f.owner, f.text) for f in owed] == [
            (h.key("1001"), "Tell the customer: acme/api#42 Disk fills up is closed.")
        ]
        triage = await h.sent(chat=TRIAGE)
        assert any("Draft:" in t and "/send_draft #1" in t for t in triage)
        # nothing reaches the customer without a staff action
        rows = [r for r in await h.outbox() if r.purpose == "issue_draft"]
        assert rows == []


async def test_one_close_reaches_every_linked_case_in_its_locale(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", f"/link {ISSUE}")
        await h.say("carol", "数据库连不上", chat=GLOBEX)  # Globex: auto intake, zh
        await h.say("evan", f"/link {ISSUE} #2", chat=TRIAGE)
        await h.sent()
        await update(h, CLOSED)
        for case_id in (1, 2):
            assert events(await h.case(case_id), "issue_closed")
        async with h.sessions() as session:
            uow = SqlUnitOfWork(session)
            drafts = [link.draft for link in await uow.issue_links()]
        assert drafts[0] is not None and drafts[0].startswith("Update on case #1")
        assert drafts[1] is not None and drafts[1].startswith("工单 #2")
        # the same word again (a poll after the webhook) does nothing more
        out = await update(h, CLOSED)
        assert out.ignored == "issue unchanged"
        assert len(events(await h.case(1), "issue_closed")) == 1


async def test_send_draft_is_a_staff_action_and_sends_once(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", f"/link {ISSUE}")
        await update(h, CLOSED)
        await h.sent()
        await h.say("alice", "/send_draft")
        assert not [r for r in await h.outbox() if r.purpose == "issue_draft"]
        await h.say("evan", "/send_draft #1", chat=TRIAGE)
        sent = [r for r in await h.outbox() if r.purpose == "issue_draft"]
        assert len(sent) == 1 and sent[0].chat == "-100100"
        assert sent[0].payload["text"].startswith("Update on case #1")
        await h.say("evan", "/send_draft #1", chat=TRIAGE)
        assert any("no unsent draft" in t for t in await h.sent(chat=TRIAGE))
        assert len([r for r in await h.outbox() if r.purpose == "issue_draft"]) == 1
        assert events(await h.case(1), "issue_draft_sent")


async def test_the_draft_button_sends_it(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", f"/link {ISSUE}")
        await update(h, CLOSED)
        await h.press("evan", "draft:²")  # a digit to isdigit(), yet no number
        assert not [r for r in await h.outbox() if r.purpose == "issue_draft"]
        await h.press("alice", "draft:1", chat="-100100")
        assert not [r for r in await h.outbox() if r.purpose == "issue_draft"]
        await h.press("evan", "draft:1")
        assert len([r for r in await h.outbox() if r.purpose == "issue_draft"]) == 1


async def test_unlink_ends_the_wait(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", f"/link {ISSUE} wait")
        assert (await h.case(1))["status"] == "waiting_on_issue"
        await h.say("evan", "/unlink acme/api#42")
        case = await h.case(1)
        assert case["status"] == "open"
        assert events(case, "issue_unlinked")


async def test_reopened_issue_tells_triage(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", f"/link {ISSUE}")
        await update(h, CLOSED)
        await h.sent()
        await update(h, OPEN)
        assert any("open again" in t for t in await h.sent(chat=TRIAGE))
        assert events(await h.case(1), "issue_reopened")


async def test_web_actions_link_wait_and_send(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        evan = h.actor("evan")
        at = h.clock.now()
        await act(h, StaffAction(ActionKind.LINK, 1, evan, at, value=ISSUE))
        await act(h, StaffAction(ActionKind.STATUS, 1, evan, at, value="waiting_on_issue"))
        assert (await h.case(1))["status"] == "waiting_on_issue"
        await update(h, CLOSED)
        await act(h, StaffAction(ActionKind.SEND_DRAFT, 1, evan, h.clock.now()))
        assert len([r for r in await h.outbox() if r.purpose == "issue_draft"]) == 1
        with pytest.raises(ActionRejected):
            await act(h, StaffAction(ActionKind.UNLINK, 1, evan, h.clock.now()))
        await act(h, StaffAction(ActionKind.UNLINK, 1, evan, h.clock.now(), value=ISSUE))
        assert events(await h.case(1), "issue_unlinked")


@pytest.mark.parametrize(
    ("url", "tracker", "key"),
    [
        ("https://github.com/o/r/issues/12", "github", "o/r#12"),
        ("https://github.com/o/r/pull/7", "github", "o/r#7"),
        ("https://gitlab.com/g/sub/p/-/issues/5", "gitlab", "g/sub/p#5"),
        ("https://git.example.com/g/p/-/merge_requests/9", "gitlab", "g/p!9"),
        ("https://acme.atlassian.net/browse/OPS-17", "jira", "OPS-17"),
        ("https://jira.example.com/jira/browse/AB_C-3", "jira", "AB_C-3"),
        ("https://linear.app/acme/issue/ENG-123/disk-fills-up", "linear", "ENG-123"),
        ("https://linear.app/acme/issue/eng-9", "linear", "ENG-9"),
    ],
)
def test_issue_urls_parse(url: str, tracker: str, key: str) -> None:
    ref = parse_issue_url(url)
    assert (ref.tracker, ref.key, ref.url) == (tracker, key, url)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://github.com/o/r/issues/1",
        "https://github.com/o/r",
        "https://github.com/o/r/issues/x",
        "https://example.com/browse/lower-1",
        "not a url",
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        parse_issue_url(url)


async def test_a_close_heard_twice_at_once_acts_once(db_url: str) -> None:
    # the webhook on one process and the poll on another hear the same close together
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "/assign me")
        await h.say("evan", f"/link {ISSUE} wait")
        await h.sent()
        await asyncio.gather(update(h, CLOSED), update(h, CLOSED))
        case = await h.case(1)
        assert len(events(case, "issue_closed")) == 1
        assert len(events(case, "sla_resumed")) == 1
        assert len(await followups(h)) == 1
        drafts = [t for t in await h.sent(chat=TRIAGE) if "Draft:" in t]
        assert len(drafts) == 1


async def test_two_presses_at_once_send_the_draft_once(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", f"/link {ISSUE}")
        await update(h, CLOSED)
        evan = h.actor("evan")
        await asyncio.gather(
            act(h, StaffAction(ActionKind.SEND_DRAFT, 1, evan, h.clock.now())),
            act(h, StaffAction(ActionKind.SEND_DRAFT, 1, evan, h.clock.now())),
            return_exceptions=True,
        )
        assert len([r for r in await h.outbox() if r.purpose == "issue_draft"]) == 1


async def test_github_names_are_the_same_in_any_case(db_url: str) -> None:
    # GitHub owners and repositories are case-insensitive; its webhook spells them its way
    assert parse_issue_url("https://github.com/Acme/API/issues/42").key == "acme/api#42"
    assert parse_issue_url("https://gitlab.com/Acme/API/-/issues/5").key == "acme/api#5"
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "/link https://github.com/Acme/API/issues/42")
        await update(h, CLOSED, key="acme/api#42")
        assert events(await h.case(1), "issue_closed")


async def test_two_cases_link_one_new_issue_at_once(db_url: str) -> None:
    # two staff (or two processes) link the same issue, new to casebot, at one moment
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("carol", "数据库连不上", chat=GLOBEX)
        evan = h.actor("evan")
        at = h.clock.now()
        await asyncio.gather(
            act(h, StaffAction(ActionKind.LINK, 1, evan, at, value=ISSUE)),
            act(h, StaffAction(ActionKind.LINK, 2, evan, at, value=ISSUE)),
        )
        await update(h, CLOSED)
        for case_id in (1, 2):
            assert events(await h.case(case_id), "issue_closed")


async def test_a_reopened_issue_withdraws_the_unsent_draft(db_url: str) -> None:
    # the draft says "fixed": once the issue is open again, no press may still send it
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", f"/link {ISSUE}")
        await update(h, CLOSED)
        await update(h, OPEN)
        await h.press("evan", "draft:1")
        await h.say("evan", "/send_draft #1", chat=TRIAGE)
        assert not [r for r in await h.outbox() if r.purpose == "issue_draft"]
        await update(h, CLOSED)  # closed for good: a fresh draft, sent once
        await h.say("evan", "/send_draft #1", chat=TRIAGE)
        assert len([r for r in await h.outbox() if r.purpose == "issue_draft"]) == 1


async def test_an_overlong_issue_url_gets_the_usage(db_url: str) -> None:
    # a key longer than its column failed the event on PostgreSQL (SQLite stored it)
    deep = "/".join(["g"] * 200)
    async with Harness(db_url) as h:
        await open_case(h)
        await h.sent()
        await h.say("evan", f"/link https://gitlab.example.com/{deep}/-/issues/1")
        assert any("Usage: /link" in t for t in await h.sent())
        assert not events(await h.case(1), "issue_linked")


@pytest.mark.parametrize("both", [False, True])
async def test_a_merged_case_hands_its_issues_to_the_case_it_joins(
    db_url: str, both: bool
) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "/assign me")
        if both:
            await h.say("evan", f"/link {ISSUE}")
        await open_case(h, "printer jammed", who="bob")
        await h.say("evan", f"/link {ISSUE} #2", chat=TRIAGE)
        await act(h, StaffAction(ActionKind.MERGE, 2, h.actor("evan"), h.clock.now(), into=1))
        await h.sent()
        await update(h, CLOSED)
        assert len(events(await h.case(1), "issue_closed")) == 1
        assert len([t for t in await h.sent(chat=TRIAGE) if "Draft:" in t]) == 1
        assert len(await followups(h)) == 1
        await h.say("evan", "/send_draft #1", chat=TRIAGE)
        assert len([r for r in await h.outbox() if r.purpose == "issue_draft"]) == 1
