"""The status machine: new -> open -> waiting_on_customer / on_hold -> resolved ->
closed, the automatic flips, reopening within the window, and the audit of each change."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.engine.kit import case_count, events, mark, open_case, rows_after, status_changes
from tests.harness import ACME, GLOBEX, Harness

pytestmark = pytest.mark.usefixtures("platform")


async def test_assign_opens_a_new_case(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "/assign me")
        case = await h.case(1)
        assert case["status"] == "open"
        assert case["assignee"] == h.key("1001")
        changed = events(case, "status_changed")
        assert len(changed) == 1
        assert changed[0]["actor"] == h.key("1001")
        assert changed[0]["data"] == {"from": "new", "to": "open", "reason": "assigned"}


async def test_staff_and_customer_replies_flip_the_status(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "/assign me")
        await h.say("evan", "can you send the VM id?")
        assert (await h.case(1))["status"] == "waiting_on_customer"
        await h.say("alice", "vm-3")
        assert (await h.case(1))["status"] == "open"
        case = await h.case(1)
        assert status_changes(case) == [
            ("new", "open", "assigned"),
            ("open", "waiting_on_customer", "staff_reply"),
            ("waiting_on_customer", "open", "customer_reply"),
        ]
        actors = [e["actor"] for e in events(case, "status_changed")]
        assert actors == [h.key("1001"), h.key("1001"), h.key("5001")]


async def test_staff_reply_to_a_new_case_waits_on_the_customer(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("erin", "which region?")
        assert status_changes(await h.case(1)) == [("new", "waiting_on_customer", "staff_reply")]


async def test_resolve_sends_csat_buttons_to_the_customer_chat(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        asked = "1"
        since = await mark(h)
        await h.say("evan", "/resolve")
        case = await h.case(1)
        assert case["status"] == "resolved"
        assert case["resolved_at"] is not None
        assert status_changes(case)[-1] == ("new", "resolved", "command")
        csat = [r for r in await rows_after(h, since) if r.purpose == "csat"]
        assert len(csat) == 1
        assert csat[0].chat == ACME and csat[0].case_id == 1
        assert csat[0].payload["reply_to"] == asked
        assert "#1" in csat[0].payload["text"]
        data = [b[1] for row in csat[0].payload["buttons"] for b in row]
        assert data == [f"csat:1:{n}" for n in range(1, 6)]


async def test_resolve_twice_says_already_resolved(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        asked = "1"
        await h.say("evan", "/resolve")
        await h.sent()
        await h.say("evan", "/resolve", reply_to=asked)
        assert await h.sent(chat=ACME) == [h.texts.render("already_resolved", "en", ref="#1")]
        assert len(events(await h.case(1), "status_changed")) == 1


async def test_customer_reply_within_the_reopen_window_reopens(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "/resolve")
        out = await h.say("alice", "it is down again", reply_to="1", advance=timedelta(days=6))
        assert out.case_id == 1
        case = await h.case(1)
        assert case["status"] == "open"
        assert case["resolved_at"] is None
        assert status_changes(case)[-1] == ("resolved", "open", "customer_reply")
        assert events(case, "status_changed")[-1]["actor"] == h.key("5001")
        assert case["messages"][-1]["text"] == "it is down again"


async def test_staff_reply_to_a_resolved_case_does_not_reopen(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "/resolve")
        out = await h.say("erin", "glad it works", reply_to="1")
        assert out.case_id is None
        assert (await h.case(1))["status"] == "resolved"


async def test_after_the_reopen_window_a_reply_does_not_reopen(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "/resolve")
        out = await h.say("alice", "down again", reply_to="1", advance=timedelta(days=8))
        assert out.case_id is None and not out.opened
        case = await h.case(1)
        assert case["status"] == "resolved"
        assert "down again" not in [m["text"] for m in case["messages"]]
        assert await case_count(h) == 1


async def test_after_the_reopen_window_auto_intake_opens_a_new_case(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "数据库连接超时", chat=GLOBEX)
        asked = h.last_message_id
        await h.say("evan", "/resolve", chat=GLOBEX)
        assert (await h.case(1))["status"] == "resolved"
        out = await h.say(
            "alice", "又超时了", chat=GLOBEX, reply_to=asked, advance=timedelta(days=8)
        )
        assert out.opened and out.case_id == 2
        assert (await h.case(1))["status"] == "resolved"
        assert [m["text"] for m in (await h.case(2))["messages"]] == ["又超时了"]


async def test_reopen_command(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "/resolve")
        await h.sent()
        await h.say("evan", "/reopen #1")
        case = await h.case(1)
        assert case["status"] == "open"
        assert status_changes(case)[-1] == ("resolved", "open", "command")
        assert h.texts.render("reopened", "en", ref="#1") in await h.sent(chat=ACME)
        await h.say("evan", "/reopen #1")
        assert await h.sent(chat=ACME) == [h.texts.render("already_open", "en", ref="#1")]
        assert len(events(await h.case(1), "status_changed")) == 2


async def test_hold_puts_the_case_on_hold(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "/assign me")
        await h.sent()
        await h.say("evan", "/hold")
        case = await h.case(1)
        assert case["status"] == "on_hold"
        assert status_changes(case)[-1] == ("open", "on_hold", "command")
        assert events(case, "status_changed")[-1]["actor"] == h.key("1001")
        assert h.texts.render("on_hold", "en", ref="#1") in await h.sent(chat=ACME)
        # /reopen takes it off hold
        await h.say("evan", "/reopen")
        case = await h.case(1)
        assert case["status"] == "open"
        assert status_changes(case)[-1] == ("on_hold", "open", "command")
        assert h.texts.render("reopened", "en", ref="#1") in await h.sent(chat=ACME)


async def test_hold_on_a_resolved_case_changes_nothing(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "/resolve")
        before = await h.case(1)
        await h.sent()
        await h.say("evan", "/hold #1")
        assert await h.case(1) == before
        assert await h.sent() == [h.texts.render("already_resolved", "en", ref="#1")]
