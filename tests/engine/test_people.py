"""One person across platforms: Evan is `telegram:1001` and `wecom:evan` ([[staff.people]])
and answers Acme's customers in its Telegram group and in its WeCom room (a bridge)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta
from typing import Any

from cases.model import Actor, ChatKey, Inbound, InboundKind
from scheduler.reports import Reports
from storage.review import account_review
from storage.stats import account_named
from tests.harness import ACME, TRIAGE, Harness
from tests.sla.kit import SlaHarness

ROOM = "acme-room"  # Acme's WeCom customer group, through the bridge named wecom
EVAN_WECOM = Actor("wecom", "evan", "Evan (WeCom)", "evan_wc")
DAVE_WECOM = Actor("wecom", "dave", "Dave", "dave")  # an Acme customer on WeCom
EVAN = "telegram:1001"
ERIN = "telegram:1002"
LENA = "telegram:2001"

_events = itertools.count(1)


def setup(**extra: Any) -> dict[str, Any]:
    """Acme on Telegram and WeCom; Evan one person under both keys."""
    acme: dict[str, Any] = {
        "name": "Acme",
        "tier": "premium",
        "chats": [f"telegram:{ACME}", f"wecom:{ROOM}"],
        "intake": "auto",
        **extra.pop("acme", {}),
    }
    return {
        "staff": {"people": [{"name": "Evan", "ids": [EVAN, "wecom:evan"]}]},
        "accounts": [acme],
        **extra,
    }


async def on_wecom(h: Harness, actor: Actor, text: str, reply_to: str | None = None) -> Any:
    h.clock.advance(timedelta(seconds=30))
    mid = h.next_message_id(f"wecom:{ROOM}")
    h.last_message_id = mid
    return await h.push(
        Inbound(
            InboundKind.MESSAGE,
            f"wecom-{next(_events)}",
            ChatKey("wecom", ROOM),
            h.clock.now(),
            actor,
            message_id=mid,
            reply_to=reply_to,
            text=text,
        )
    )


def roles(case: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["sender"], m["role"]) for m in case["messages"]]


async def test_every_key_of_a_person_is_staff_and_answers_count_as_first_response(
    db_url: str,
) -> None:
    async with Harness(db_url, **setup()) as h:
        on_telegram = await h.say("alice", "our VM is down")
        await h.say("evan", "looking at it")
        on_room = await on_wecom(h, DAVE_WECOM, "the database is slow")
        await on_wecom(h, EVAN_WECOM, "checking the database")
        # a staff-only command works from the second key too
        await on_wecom(h, EVAN_WECOM, "/priority P1")
        first, second = await h.case(on_telegram.case_id), await h.case(on_room.case_id)
        assert roles(first) == [("telegram:5001", "customer"), (EVAN, "staff")]
        assert roles(second)[:2] == [("wecom:dave", "customer"), ("wecom:evan", "staff")]
        assert first["first_response_at"] is not None
        assert second["first_response_at"] is not None
        assert second["status"] == "waiting_on_customer" and second["priority"] == "P1"


async def test_assign_by_name_or_any_username_means_the_person(db_url: str) -> None:
    async with Harness(db_url, **setup()) as h:
        case_id = (await on_wecom(h, DAVE_WECOM, "the database is slow")).case_id
        await on_wecom(h, EVAN_WECOM, "checking")
        await h.sent()
        await h.say("lena", f"/assign #{case_id} @Evan", chat=TRIAGE)
        case = await h.case(case_id)
        assert case["assignee"] == EVAN  # the key Evan is recorded under: his first id
        replies = await h.sent(chat=TRIAGE)
        assert any(f"#{case_id}" in t and "Evan" in t and "1001" not in t for t in replies)
        # the card shows the person's name
        assert any("Evan" in t for t in replies if t.startswith(f"#{case_id} "))
        # "me" from his WeCom key is the same person: nothing changes
        await on_wecom(h, EVAN_WECOM, f"/assign #{case_id} me")
        assert (await h.case(case_id))["assignee"] == EVAN
        assignments = [e for e in (await h.case(case_id))["events"] if e["type"] == "assigned"]
        assert len(assignments) == 1
        # his WeCom username, named from Telegram, means him too
        await h.say("lena", f"/assign #{case_id} @erin", chat=TRIAGE)
        await h.say("lena", f"/assign #{case_id} @evan_wc", chat=TRIAGE)
        assert (await h.case(case_id))["assignee"] == EVAN


async def test_a_nudge_reaches_the_person_where_the_case_lives(db_url: str) -> None:
    async with SlaHarness(db_url, **setup()) as h:
        h.engine.settings = replace(h.engine.settings, direct=frozenset({"telegram", "wecom"}))
        case_id = (await on_wecom(h, DAVE_WECOM, "the database is slow")).case_id
        await h.say("lena", f"/assign #{case_id} @Evan", chat=TRIAGE)
        await h.nudges()
        # premium P3: first response in 1h, the warning at 80% goes to the assignee
        h.clock.advance(minutes=50)
        await h.tick()
        sent = await h.nudges()
        assert [(n["kind"], n["chat"], n["person"], n["nudge"]) for n in sent] == [
            ("dm", "evan", "wecom:evan", "warning")
        ]
        assert f"#{case_id}" in sent[0]["text"]
        assert sent[0]["fallback"] is None  # the triage chat is on another platform


async def test_a_nudge_goes_to_a_platform_the_bot_can_dm(db_url: str) -> None:
    async with SlaHarness(db_url, **setup()) as h:
        h.engine.settings = replace(h.engine.settings, direct=frozenset({"telegram"}))
        case_id = (await on_wecom(h, DAVE_WECOM, "the database is slow")).case_id
        await on_wecom(h, EVAN_WECOM, f"/assign #{case_id} me")
        await h.nudges()
        h.clock.advance(minutes=50)
        await h.tick()
        sent = await h.nudges()
        assert [(n["kind"], n["chat"], n["person"], n["fallback"]) for n in sent] == [
            ("dm", "1001", EVAN, TRIAGE)
        ]


async def test_away_duty_and_ownership_follow_the_person(db_url: str) -> None:
    """Acme's owner is named "Evan", away lists his WeCom key: he is off duty, so the
    escalation goes to the backup and the lead, not to him under either key."""
    config = setup(
        acme={"owner": "Evan", "backup": ERIN, "intake": "tag"},
        escalation={"away": ["wecom:evan"]},
    )
    async with SlaHarness(db_url, **config) as h:
        await h.open_case()
        h.clock.advance(hours=2, minutes=5)
        await h.tick()
        sent = await h.nudges()
        escalation = {n["person"] for n in sent if n["nudge"] == "escalation"}
        assert escalation == {LENA, ERIN}


async def test_the_review_and_digest_count_the_person_once(db_url: str) -> None:
    async with Harness(db_url, **setup(acme={"owner": "Evan"})) as h:
        first = (await h.say("alice", "our VM is down")).case_id
        await h.say("evan", "looking at it")
        await h.say("evan", "found it", advance=timedelta(minutes=2))
        second = (await on_wecom(h, DAVE_WECOM, "the database is slow")).case_id
        await on_wecom(h, EVAN_WECOM, "checking the database")
        await h.say("lena", f"/assign #{first} @Evan", chat=TRIAGE)
        await on_wecom(h, EVAN_WECOM, f"/assign #{second} me")
        now = h.clock.now()
        async with h.sessions() as session:
            account = await account_named(session, "Acme")
            assert account is not None
            review = await account_review(session, account, now - timedelta(days=7), now)
        assert review["people"] == [
            {"person": EVAN, "name": "Evan", "replies": 3, "cases": 2, "first_responses": 2}
        ]
        reports = Reports(h.sessions, h.engine.settings, h.texts)
        await h.sent()
        assert await reports.send_digest(now)
        digest = (await h.sent(purpose="digest"))[0]
        assert "  Evan: 2 open, 0 breached" in digest.splitlines()
        assert await reports.send_reviews(now) == 1
        review_dm = [r for r in await h.outbox() if r.purpose == "review"]
        assert [(r.chat, r.payload.get("person")) for r in review_dm] == [("1001", EVAN)]
        lines = review_dm[0].payload["text"].splitlines()
        assert [line for line in lines if "Evan" in line] == [
            "  Evan: 3 replies on 2 cases, 2 first responses"
        ]
