"""Intake questions: a case opening in a category gets that category's questions, one
by one in its thread; answers are checked and stored as fields; a bad answer is asked
again with a hint; staff speaking ends the questions; customers may skip. The category
comes from keywords, a button, or the customer's typed answer."""

from __future__ import annotations

from typing import Any

import pytest

from bot.dispatcher import Dispatcher
from cases.delivery import Delivery, Receipt
from cases.model import ActionKind, StaffAction
from tests.engine.kit import act, events
from tests.fakes.recording_adapter import RecordingAdapter
from tests.harness import ACME, GLOBEX, TRIAGE, Harness, base_config

pytestmark = pytest.mark.usefixtures("platform")

INTAKE: dict[str, Any] = {
    "categories": [
        {
            "name": "billing",
            "label_zh": "账单",
            "keywords": ["invoice", "发票"],
            "questions": [
                {
                    "field": "invoice",
                    "ask": "Which invoice number?",
                    "ask_zh": "请问发票号码是？",
                    "pattern": "INV-[0-9]+",
                    "hint": "it looks like INV-1234.",
                },
                {
                    "field": "payment",
                    "ask": "How did you pay?",
                    "choices": ["card", "transfer"],
                },
            ],
        },
        {
            "name": "outage",
            "keywords": ["down"],
            "questions": [{"field": "instance", "ask": "Which instance?"}],
        },
    ]
}


def harness(db_url: str, **overrides: Any) -> Harness:
    accounts = [
        {"name": "Acme", "tier": "premium", "chats": [f"telegram:{ACME}"], "intake": "auto"},
        {
            "name": "Globex",
            "tier": "standard",
            "chats": [f"telegram:{GLOBEX}"],
            "intake": "auto",
            "locale": "zh",
        },
    ]
    return Harness(db_url, **{"intake": INTAKE, "accounts": accounts, **overrides})


async def questions(h: Harness) -> list[dict[str, Any]]:
    """The intake messages enqueued since the last call, with their buttons."""
    rows = await h.outbox()
    new = rows[h._seen_outbox :]
    h._seen_outbox = len(rows)
    return [r.payload for r in new if r.purpose in ("intake_question", "intake_done")]


async def test_keywords_choose_the_category_and_answers_become_fields(db_url: str) -> None:
    async with harness(db_url) as h:
        await h.say("alice", "the invoice for March is wrong")
        asked = await questions(h)
        assert [q["text"] for q in asked] == [
            h.texts.render("intake_question", "en", ref="#1", question="Which invoice number?")
        ]
        assert asked[0]["buttons"] == [[[h.texts.render("button_skip", "en"), "qskip:1"]]]
        await h.say("alice", "I do not know")
        again = (await questions(h))[0]["text"]
        assert again.startswith(
            h.texts.render("intake_bad_answer", "en", hint="it looks like INV-1234.")
        )
        await h.say("alice", "INV-42")
        asked = await questions(h)
        assert asked[0]["buttons"][0] == [["card", "qans:1:1:0"], ["transfer", "qans:1:1:1"]]
        await h.press("alice", "qans:1:1:1", chat=ACME)
        assert [q["text"] for q in await questions(h)] == [
            h.texts.render("intake_done", "en", ref="#1")
        ]
        case = await h.case(1)
        assert case["category"] == "billing"
        assert case["fields"] == {"invoice": "INV-42", "payment": "transfer"}
        assert events(case, "category_set")[0]["data"] == {"category": "billing", "by": "keywords"}
        assert [e["data"]["via"] for e in events(case, "field_set")] == ["intake", "intake"]
        assert events(case, "intake_done")
        # done: a later line is no answer
        await h.say("alice", "INV-43")
        assert await questions(h) == []
        assert (await h.case(1))["fields"]["invoice"] == "INV-42"


async def test_no_keyword_asks_for_the_category_with_buttons(db_url: str) -> None:
    async with harness(db_url) as h:
        await h.say("alice", "hello, something odd happened")
        asked = await questions(h)
        assert asked[0]["text"] == h.texts.render(
            "intake_pick_category", "en", ref="#1", categories="billing, outage"
        )
        assert asked[0]["buttons"] == [
            [["billing", "qcat:1:0"], ["outage", "qcat:1:1"]],
            [[h.texts.render("button_skip", "en"), "qskip:1"]],
        ]
        await h.press("alice", "qcat:1:1", chat=ACME)
        assert [q["text"] for q in await questions(h)] == [
            h.texts.render("intake_question", "en", ref="#1", question="Which instance?")
        ]
        await h.say("alice", "i-7f3")
        case = await h.case(1)
        assert case["category"] == "outage"
        assert case["fields"] == {"instance": "i-7f3"}
        assert events(case, "category_set")[0]["data"]["by"] == "button"


async def test_the_customer_may_name_the_category(db_url: str) -> None:
    async with harness(db_url) as h:
        await h.say("alice", "hello, something odd happened")
        await questions(h)
        await h.say("alice", "no idea")
        assert (await questions(h))[0]["text"].startswith(
            h.texts.render("intake_bad_answer", "en", hint="")
        )
        await h.say("alice", "Billing")
        case = await h.case(1)
        assert case["category"] == "billing"
        assert events(case, "category_set")[0]["data"]["by"] == "answer"


async def test_staff_speaking_stops_the_questions(db_url: str) -> None:
    async with harness(db_url) as h:
        await h.say("alice", "my server is down")
        assert len(await questions(h)) == 1
        await h.say("evan", "Looking at it now")
        await h.say("alice", "it is i-7f3")
        assert await questions(h) == []
        case = await h.case(1)
        assert case["fields"] == {}
        assert events(case, "intake_stopped")[0]["data"] == {"reason": "staff_spoke"}


@pytest.mark.parametrize("how", ["skip", "跳过", "button"])
async def test_customers_may_skip(db_url: str, how: str) -> None:
    async with harness(db_url) as h:
        await h.say("alice", "the invoice is wrong")
        await questions(h)
        if how == "button":
            await h.press("alice", "qskip:1", chat=ACME)
        else:
            await h.say("alice", how)
        assert await h.sent(chat=ACME, purpose="intake_done") == [
            h.texts.render("intake_skipped", "en", ref="#1")
        ]
        await h.say("alice", "INV-1")
        assert await questions(h) == []
        assert events(await h.case(1), "intake_skipped")


async def test_questions_are_asked_in_the_accounts_language(db_url: str) -> None:
    async with harness(db_url) as h:
        await h.say("alice", "发票金额不对", chat=GLOBEX)
        asked = await questions(h)
        assert [q["text"] for q in asked] == [
            h.texts.render("intake_question", "zh", ref="#1", question="请问发票号码是？")
        ]
        assert asked[0]["buttons"] == [[["跳过", "qskip:1"]]]


async def test_an_old_questions_button_answers_nothing(db_url: str) -> None:
    async with harness(db_url) as h:
        await h.say("alice", "the invoice is wrong")
        await h.say("alice", "INV-9")
        await h.press("alice", "qans:1:0:0", chat=ACME)
        rows = await h.outbox()
        assert rows[-1].payload["text"] == h.texts.render("intake_not_asking", "en")
        assert (await h.case(1))["fields"] == {"invoice": "INV-9"}


async def test_a_tagged_case_gets_the_questions_too(db_url: str) -> None:
    async with Harness(db_url, intake=INTAKE) as h:
        await h.say("alice", "the invoice is wrong")
        await h.say("evan", "/case", reply_to=h.last_message_id)
        assert len(await questions(h)) == 1


async def test_three_bad_answers_move_on_to_the_next_question(db_url: str) -> None:
    async with harness(db_url) as h:
        await h.say("alice", "the invoice is wrong")
        await questions(h)
        for _ in range(2):
            await h.say("alice", "no idea")
            assert "Which invoice number?" in (await questions(h))[0]["text"]
        await h.say("alice", "still no idea")
        assert "How did you pay?" in (await questions(h))[0]["text"]
        assert (await h.case(1))["fields"] == {}


async def test_without_ask_category_an_unmatched_case_gets_no_questions(db_url: str) -> None:
    async with harness(db_url, intake={**INTAKE, "ask_category": False}) as h:
        await h.say("alice", "hello, something odd happened")
        assert await questions(h) == []
        assert (await h.case(1))["category"] is None


async def test_full_width_answers_count_as_what_they_look_like(db_url: str) -> None:
    # a Chinese keyboard types ＩＮＶ－４２ and ２; "²" is a digit to Python yet no number
    async with harness(db_url) as h:
        await h.say("alice", "the invoice is wrong")
        await h.say("alice", "ＩＮＶ－４２")
        await h.say("alice", "²")
        assert (await h.case(1))["fields"] == {"invoice": "INV-42", "payment": "transfer"}
        await h.say("alice", "ｓｋｉｐ", chat=GLOBEX)
        await h.say("alice", "ｓｋｉｐ", chat=GLOBEX)
        assert events(await h.case(2), "intake_skipped")


@pytest.mark.parametrize("how", ["resolve", "merge"])
async def test_a_case_resolved_or_merged_mid_intake_asks_no_more(db_url: str, how: str) -> None:
    async with harness(db_url) as h:
        await h.say("alice", "the invoice is wrong")
        if how == "resolve":
            await h.say("lena", "/resolve #1", chat=TRIAGE)
        else:
            await h.say("bob", "my server is down")
            lena = h.actor("lena")
            await act(h, StaffAction(ActionKind.MERGE, 1, lena, h.clock.now(), into=2))
        await questions(h)
        # the reopening line (or a line after the merge) is no answer to the old question
        await h.say("alice", "INV-1 it is broken again")
        if how == "resolve":
            assert await questions(h) == []
        assert (await h.case(1))["fields"] == {}
        assert events(await h.case(1), "intake_stopped")[0]["data"] == {
            "reason": "resolved" if how == "resolve" else "closed"
        }
        await h.press("alice", "qskip:1", chat=ACME)
        assert not events(await h.case(1), "intake_skipped")


class TopicMaker(RecordingAdapter):
    """Telegram as the dispatcher meets it: a topic_create answers with the topic."""

    async def deliver(self, delivery: Delivery) -> Receipt:
        receipt = await super().deliver(delivery)
        if delivery.kind == "topic_create":
            return Receipt(message_id=receipt.message_id, thread="77")
        return receipt


@pytest.mark.platforms("telegram")  # forum topics
async def test_a_per_case_topic_gets_the_first_question_too(db_url: str) -> None:
    accounts = [{**a, "topics": "per_case"} for a in base_config(**{})["accounts"][:1]]
    accounts[0]["intake"] = "auto"
    async with harness(db_url, accounts=accounts) as h:
        await h.say("alice", "the invoice is wrong")
        adapter = TopicMaker()
        dispatcher = Dispatcher(h.sessions, {"telegram": adapter}, h.clock)
        while await dispatcher.run_once():
            pass
        sent = [
            (d.kind, d.purpose, d.thread)
            for d in adapter.delivered
            if d.purpose in ("ack", "topic", "intake_question")
        ]
        assert sent == [("send", "ack", None), ("topic_create", "topic", None),
                        ("send", "intake_question", "77")]  # fmt: skip
        asked = next(d for d in adapter.delivered if d.purpose == "intake_question")
        assert asked.reply_to is None  # the opening line is in the main thread
        await h.say("alice", "INV-3", thread="77")
        assert (await h.case(1))["fields"] == {"invoice": "INV-3"}
        assert (await questions(h))[-1]["thread"] == "77"


async def test_a_customer_may_correct_an_answer_by_editing_it(db_url: str) -> None:
    async with harness(db_url) as h:
        await h.say("alice", "the invoice is wrong")
        await h.say("alice", "INV 7")  # refused: asked again
        refused = h.last_message_id
        await questions(h)
        await h.edit("alice", refused, "INV-7")
        assert (await h.case(1))["fields"] == {"invoice": "INV-7"}
        assert "How did you pay?" in (await questions(h))[0]["text"]
        await h.say("alice", "card")
        taken = h.last_message_id
        await questions(h)
        await h.edit("alice", taken, "transfer")
        await h.edit("alice", taken, "by pigeon")  # no choice: the field stays
        assert (await h.case(1))["fields"] == {"invoice": "INV-7", "payment": "transfer"}
        assert await questions(h) == []


async def test_a_reply_from_the_dashboard_stops_the_questions(db_url: str) -> None:
    async with harness(db_url) as h:
        await h.say("alice", "my server is down")
        await questions(h)
        evan = h.actor("evan")
        await act(h, StaffAction(ActionKind.REPLY, 1, evan, h.clock.now(), "Looking now"))
        await h.say("alice", "it is i-7f3")
        assert await questions(h) == []
        case = await h.case(1)
        assert case["fields"] == {}
        assert events(case, "intake_stopped")[0]["data"] == {"reason": "staff_spoke"}


async def test_a_number_field_declared_for_the_category_checks_the_answer(db_url: str) -> None:
    fields = [{"name": "instance", "type": "number", "categories": ["outage"]}]
    async with harness(db_url, fields=fields) as h:
        await h.say("alice", "my server is down")
        await h.say("alice", "the big one")
        assert "Which instance?" in (await questions(h))[-1]["text"]
        await h.say("alice", "４２")
        assert (await h.case(1))["fields"] == {"instance": "42"}
