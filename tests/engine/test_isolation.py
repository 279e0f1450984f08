"""Isolation between chats and permission-checked buttons: a chat only ever sees and
acts on its own cases; card buttons are for staff; CSAT is for the case's customers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cases.model import ActionKind, StaffAction
from storage.models import OutboxRow
from tests.engine.kit import act, cases, events, mark, open_case, rows_after, texts_of
from tests.harness import ACME, GLOBEX, TRIAGE, Harness
from tests.sla.kit import SlaHarness

pytestmark = pytest.mark.usefixtures("platform")


async def _two_chats(h: Harness) -> None:
    """Case #1 in Acme (Alice), case #2 in Globex (Carol)."""
    await open_case(h, "acme VM down")
    await h.say("carol", "globex 数据库超时", chat=GLOBEX)
    await h.sent()


async def test_customer_naming_another_chats_case_gets_no_case_here(db_url: str) -> None:
    async with Harness(db_url) as h:
        await _two_chats(h)
        before = await cases(h)
        await h.say("alice", "/status #2")
        [text] = await h.sent(chat=ACME)
        assert text == h.texts.render("case_unknown", "en", ref="#2")
        assert "globex" not in text
        await h.say("carol", "/status #1", chat=GLOBEX)
        assert await h.sent(chat=GLOBEX) == [h.texts.render("case_unknown", "zh", ref="#1")]
        assert await cases(h) == before


async def test_customer_naming_their_own_case_sees_it(db_url: str) -> None:
    async with Harness(db_url) as h:
        await _two_chats(h)
        await h.say("alice", "/status #1")
        [text] = await h.sent(chat=ACME)
        assert "#1" in text and "acme VM down" in text and "#2" not in text


async def test_staff_in_one_chat_cannot_act_on_another_chats_case(db_url: str) -> None:
    async with Harness(db_url) as h:
        await _two_chats(h)
        before = await cases(h)
        for command in ("/resolve #2", "/priority #2 P1", "/assign #2 me", "/reopen #2"):
            await h.say("evan", command)
            assert await h.sent(chat=ACME) == [h.texts.render("case_unknown", "en", ref="#2")]
        assert await cases(h) == before


async def test_a_reply_id_from_another_chat_does_not_cross_over(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h, "acme VM down")
        # Globex's message "1" is not Acme's message "1"
        out = await h.say("carol", "超时", chat=GLOBEX, reply_to="1")
        assert out.opened and out.case_id == 2
        assert texts_of(await h.case(1)) == ["acme VM down"]


async def test_the_board_of_a_chat_lists_only_its_own_cases(db_url: str) -> None:
    async with Harness(db_url) as h:
        await _two_chats(h)
        boards = {r.chat: r.payload["text"] for r in await h.outbox() if r.purpose == "board"}
        assert "#1" in boards[ACME] and "#2" not in boards[ACME]
        assert "#2" in boards[GLOBEX] and "#1" not in boards[GLOBEX]


# ---------------------------------------------------------------------- buttons


def _answers(rows: list[OutboxRow]) -> list[str]:
    return [r.payload["text"] for r in rows if r.kind == "answer"]


async def test_card_buttons_work_for_staff_in_triage(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        card = next(r for r in await h.outbox() if r.purpose == "card")
        data = [b[1] for row in card.payload["buttons"] for b in row]
        assert {"take:1", "resolve:1", "prio:1:P1"} <= set(data)

        since = await mark(h)
        await h.press("erin", "take:1")
        assert (await h.case(1))["assignee"] == h.key("1002")
        assert _answers(await rows_after(h, since)) == [h.texts.render("button_done", "en")]

        await h.press("erin", "prio:1:P1")
        case = await h.case(1)
        assert case["priority"] == "P1"
        assert events(case, "priority_changed")[0]["actor"] == h.key("1002")

        since = await mark(h)
        await h.press("lena", "resolve:1")
        case = await h.case(1)
        assert case["status"] == "resolved"
        assert events(case, "status_changed")[-1]["actor"] == h.key("2001")
        rows = await rows_after(h, since)
        assert [r.chat for r in rows if r.purpose == "csat"] == [ACME]


async def test_card_buttons_from_a_customer_are_refused(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        before = await cases(h)
        for data in ("take:1", "prio:1:P1", "resolve:1"):
            since = await mark(h)
            await h.press("alice", data, chat=ACME)
            rows = await rows_after(h, since)
            assert _answers(rows) == [h.texts.render("refused_staff_only_button", "en")]
            assert len(rows) == 1
        assert await cases(h) == before


async def test_card_buttons_for_another_chats_case_do_nothing(db_url: str) -> None:
    async with Harness(db_url) as h:
        await _two_chats(h)
        before = await cases(h)
        since = await mark(h)
        await h.press("evan", "take:1", chat=GLOBEX)
        await h.press("evan", "take:99")
        await h.press("evan", "bogus")
        await h.press("evan", "prio:1:P9")
        unknown = h.texts.render("button_unknown", "en")
        assert _answers(await rows_after(h, since)) == [unknown] * 4
        assert await cases(h) == before


async def test_csat_from_the_cases_customer_is_recorded(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "/resolve")
        since = await mark(h)
        await h.press("bob", "csat:1:5", chat=ACME)
        case = await h.case(1)
        assert case["csat"] == 5
        [rating] = events(case, "csat")
        assert rating["data"]["score"] == 5 and rating["actor"] == h.key("5002")
        assert _answers(await rows_after(h, since)) == [h.texts.render("csat_thanks", "en")]


async def test_csat_from_staff_or_another_chat_is_refused(db_url: str) -> None:
    async with Harness(db_url) as h:
        await _two_chats(h)
        await h.say("evan", "/resolve #1")
        before = await cases(h)
        since = await mark(h)
        await h.press("evan", "csat:1:1", chat=ACME)
        await h.press("carol", "csat:1:1", chat=GLOBEX)
        only = h.texts.render("csat_customers_only", "en")
        assert _answers(await rows_after(h, since)) == [
            only,
            h.texts.render("csat_customers_only", "zh"),
        ]
        await h.press("alice", "csat:1:9", chat=ACME)
        assert await cases(h) == before
        assert events(await h.case(1), "csat") == []


# ------------------------------------------------------- internal data in a customer chat

# what the bot may post in a customer chat, and what must never be in it: follow-up and
# note text, people's platform keys, and the desk's own SLA language
CUSTOMER_PURPOSES = {"ack", "reply", "status", "board", "csat", "customer_nudge", "staff_reply"}
INTERNAL = ("FU-SECRET", "NOTE-SECRET", "telegram:", "1003", "follow-up", "跟进")
SLA_WORDS = ("breach", "overdue", "escalat", "SLA", "due", "on-call", "超时", "升级")


def _internal_in(text: str) -> list[str]:
    return [w for w in (*INTERNAL, *SLA_WORDS) if w in text]


async def test_internal_data_never_reaches_the_customer_chat(db_url: str) -> None:
    """Every path that posts in a customer chat, walked once: acknowledgement, board,
    /status from staff and customers, notes and follow-ups typed in the group and on the
    web, an owner with no name, the SLA ladder, customer nudges, the CSAT prompt, reopen,
    move and merge notices, and an unknown command."""
    staff = {"engineers": ["telegram:1001", "telegram:1002", "telegram:1003"]}
    async with SlaHarness(db_url, staff=staff) as h:
        lead = h.actor("lena")
        case_id = await open_case(h, "the export job hangs")
        await h.say("evan", "/note NOTE-SECRET customer is on a legacy plan")
        await h.say("evan", "/followup 30m @erin FU-SECRET check logs")
        await act(h, StaffAction(ActionKind.NOTE, case_id, lead, h.clock.now(), "NOTE-SECRET 2"))
        await act(
            h,
            StaffAction(
                ActionKind.FOLLOWUP,
                case_id,
                lead,
                h.clock.now(),
                "FU-SECRET web",
                due_in=timedelta(minutes=20),
            ),
        )
        # an engineer who never wrote anywhere: no name on record, only a key
        await act(h, StaffAction(ActionKind.ASSIGN, case_id, lead, h.clock.now(), h.key("1003")))
        for who, text in (
            ("evan", "/status"),
            ("alice", "/status"),
            ("evan", f"/status #{case_id}"),
        ):
            await h.say(who, text)
        await h.say("evan", "/frobnicate")
        # the ladder: warnings, the breach, escalations, follow-ups due and overdue
        for _ in range(6):
            h.clock.advance(timedelta(minutes=40))
            await h.tick()
        await h.say("evan", "Could you send the job id?", reply_to="1")
        h.clock.advance(timedelta(days=3))
        await h.tick()  # a polite nudge to the customer
        await h.say("alice", "job 4711")
        await h.say("bob", "and the printer jammed")
        printer = h.last_message_id
        await h.say("evan", "/case printer", reply_to=printer)
        await h.say("evan", f"/merge #{case_id}", reply_to=printer)
        await h.say("alice", "one more line")
        await h.say("evan", "/move #1", reply_to=h.last_message_id)
        await h.say("evan", f"/resolve #{case_id}")
        await h.say("alice", "it hangs again", reply_to="1")
        await h.say("evan", f"/resolve #{case_id}")
        await h.say("evan", f"/reopen #{case_id}")
        await h.say("evan", "/status #1", chat=TRIAGE)

        rows = await h.outbox()
        to_customer = [r for r in rows if r.chat == ACME]
        assert {r.purpose for r in to_customer} <= CUSTOMER_PURPOSES
        assert {"ack", "board", "status", "csat", "customer_nudge"} <= {
            r.purpose for r in to_customer
        }, "the walk reached each customer path"
        leaks = [(r.purpose, t) for r in to_customer if _internal_in(t := r.payload["text"])]
        assert leaks == [], "\n".join(map(str, leaks))
        # direct messages to staff fall back to triage, never to the customer's chat
        assert all(r.payload.get("fallback_chat") in (None, TRIAGE) for r in rows)
        # the control: the internal text did go where it belongs
        triage = " ".join(r.payload["text"] for r in rows if r.chat == TRIAGE)
        assert "NOTE-SECRET" in triage and "FU-SECRET" in triage
        assert any(r.payload.get("extra", {}).get("nudge") == "breach" for r in rows)
