"""Daily digest and weekly account review: figures, texts, and once per period."""

from __future__ import annotations

from datetime import timedelta

from scheduler.reports import Reports
from storage.reports import digest, percentile
from storage.review import account_review
from storage.stats import account_named
from tests.harness import TRIAGE
from tests.sla.kit import SlaHarness, accounts


def test_percentile_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5) == 5
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == 9


async def test_digest_and_review_figures(db_url: str) -> None:
    async with SlaHarness(db_url, accounts=accounts()) as h:
        week_start = h.clock.now()
        a = await h.open_case("disk full")
        await h.say("evan", "on it", reply_to="1")  # answered within a minute: met
        await h.say("evan", f"/assign #{a} me", chat=TRIAGE)
        b = await h.open_case("cannot log in", who="bob")
        bob_message = str(int(h.last_message_id) - 1)
        await h.say("evan", f"/priority #{b} P1", chat=TRIAGE)
        async with h.sessions() as session:
            early = await digest(session, h.clock.now())
        assert early["at_risk"] == 1 and early["breached"] == 0  # b: first response in 15m
        h.clock.advance(hours=2)
        await h.tick()  # b breaches its first response
        async with h.sessions() as session:
            late = await digest(session, h.clock.now())
        assert late["at_risk"] == 0 and late["breached"] == 1
        assert late["longest_waiting"][0]["id"] == b
        assert late["queues"] == [{"assignee": "telegram:1001", "open": 1, "breached": 0}]
        await h.say("erin", "looking", reply_to=bob_message)
        await h.say("evan", f"/resolve #{a}", chat=TRIAGE)
        await h.press("alice", f"csat:{a}:5", chat="-100100")
        async with h.sessions() as session:
            d = await digest(session, h.clock.now())
            acme, globex = (
                await account_named(session, "Acme"),
                await account_named(session, "Globex"),
            )
            assert acme is not None and globex is not None
            r = await account_review(session, acme, week_start, h.clock.now() + timedelta(1))
            none = await account_review(session, globex, week_start, h.clock.now())
        assert d["open"] == 1 and d["by_priority"]["P1"] == 1
        assert d["breached"] == 0  # answered: b now waits on the customer
        assert d["unassigned"] == 1
        assert r["opened"] == 2 and r["resolved"] == 1 and r["open"] == 1
        first = r["first_response"]
        assert first["count"] == 2 and first["p90_seconds"] >= 7200
        assert first["median_seconds"] is not None and first["median_seconds"] <= 60
        assert [b["count"] for b in first["buckets"]] == [1, 0, 0, 1, 0, 0]
        # a: answered in time and resolved in time (resolved while waiting on the
        # customer still counts); b: answered late
        assert r["sla"] == {"judged": 3, "met": 2, "breached": 1, "compliance_percent": 66.7}
        assert r["csat"]["average"] == 5.0 and r["csat"]["distribution"][4]["count"] == 1
        assert [item["id"] for item in r["top_open"]] == [b]
        assert sum(w["opened"] for w in r["weeks"]) == 2
        assert none["opened"] == 0 and none["sla"]["compliance_percent"] is None


async def test_digest_and_review_sent_once_per_period(db_url: str) -> None:
    async with SlaHarness(db_url, accounts=accounts()) as h:
        await h.open_case()
        await h.nudges()
        reports = Reports(h.sessions, h.engine.settings, h.texts, timezone="Europe/Berlin")
        assert await reports.send_digest(h.clock.now())
        assert not await reports.send_digest(h.clock.now() + timedelta(hours=1))
        sent = await h.nudges()
        assert [(n["person"], n["purpose"]) for n in sent] == [("telegram:2001", "digest")]
        assert "1 open" in sent[0]["text"] and "Waiting longest" in sent[0]["text"]
        assert await reports.send_reviews(h.clock.now()) == 1  # Acme has an owner
        assert await reports.send_reviews(h.clock.now()) == 0
        sent = await h.nudges()
        assert [(n["person"], n["purpose"]) for n in sent] == [("telegram:2001", "review")]
        assert "Acme" in sent[0]["text"] and "SLA compliance" in sent[0]["text"]
        h.clock.advance(days=1)
        assert await reports.send_digest(h.clock.now())


async def test_a_chinese_desk_reads_digest_and_review_dates_in_chinese(db_url: str) -> None:
    """Where the lead's locale is Chinese the digest's day and the review's week are
    "3月2日", not "2026-03-02" (issue 12: dates in Chinese forms)."""
    async with SlaHarness(db_url, accounts=accounts(), staff={"locale": "zh"}) as h:
        await h.open_case()
        await h.nudges()
        reports = Reports(h.sessions, h.engine.settings, h.texts, timezone="Europe/Berlin")
        assert await reports.send_digest(h.clock.now())
        [digest_dm] = await h.nudges()
        assert "每日摘要 3月2日" in digest_dm["text"], digest_dm["text"]
        assert "2026-03-02" not in digest_dm["text"]
        assert await reports.send_reviews(h.clock.now()) == 1
        [review] = await h.nudges()
        assert "2月23日 至 3月2日" in review["text"], review["text"]
        assert "2026-0" not in review["text"]
