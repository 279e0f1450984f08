"""Opening cases: tag intake (/case, emoji), auto intake, /new, attachments, and the
acknowledgement each new case posts in the customer chat."""

from __future__ import annotations

import pytest

from cases.model import Attachment
from tests.engine.kit import (
    case_count,
    events,
    mark,
    message,
    messages,
    rows_after,
    texts_of,
)
from tests.harness import ACME, GLOBEX, TRIAGE, Harness, base_config

pytestmark = pytest.mark.usefixtures("platform")


async def test_reply_case_opens_with_the_replied_message(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "my VM is down")
        asked = h.last_message_id
        out = await h.say("evan", "/case", reply_to=asked)
        assert out.opened and out.case_id == 1
        case = await h.case(1)
        assert case["title"] == "my VM is down"
        assert case["status"] == "new"
        assert case["priority"] == "P3"
        assert case["opened_by"] == h.key("1001")
        assert texts_of(case) == ["my VM is down"]
        opened = events(case, "opened")
        assert len(opened) == 1
        assert opened[0]["actor"] == h.key("1001")
        assert opened[0]["data"]["message"] == asked


async def test_reply_case_with_title_uses_the_title(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "it broke again, same as last week")
        out = await h.say("evan", "/case Disk full on db-2", reply_to=h.last_message_id)
        case = await h.case(out.case_id)
        assert case["title"] == "Disk full on db-2"
        assert texts_of(case) == ["it broke again, same as last week"]


async def test_bare_case_pulls_the_latest_customer_message_and_its_context(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "hello")
        await h.say("alice", "our backups fail since 3am")
        await h.say("bob", "unrelated: thanks for the invoice")
        await h.say("alice", "error is E42")
        last = h.last_message_id
        out = await h.say("evan", "/case")
        assert out.opened
        case = await h.case(out.case_id)
        # the newest untracked customer line and that sender's earlier lines; not Bob's
        assert texts_of(case) == ["hello", "our backups fail since 3am", "error is E42"]
        # titled by the first line that says something, not by the greeting
        assert case["title"] == "our backups fail since 3am"
        opened = events(case, "opened")[0]["data"]
        assert opened == {
            "title": "our backups fail since 3am",
            "by": "message",
            "message": last,
            "context": 2,
            "due": {
                "first_response": opened["due"]["first_response"],
                "next_response": None,
                "resolution": opened["due"]["resolution"],
            },
        }
        # premium P3: a first answer within 1 h, resolution in 2 d, from the first line
        assert opened["due"]["first_response"].startswith("2026-03-02T10:")
        assert opened["due"]["resolution"].startswith("2026-03-04T09:")
        assert (await message(h, "3"))["case_id"] is None


async def test_bare_case_with_nothing_to_take_explains_itself(db_url: str) -> None:
    async with Harness(db_url) as h:
        out = await h.say("evan", "/case")
        assert not out.opened
        assert await case_count(h) == 0
        assert await h.sent(chat=ACME) == [h.texts.render("case_nothing", "en")]


async def test_bare_case_with_title_and_nothing_to_take_opens_on_the_command(
    db_url: str,
) -> None:
    async with Harness(db_url) as h:
        out = await h.say("evan", "/case Planned maintenance questions")
        assert out.opened
        case = await h.case(out.case_id)
        assert case["title"] == "Planned maintenance questions"


async def test_customer_case_is_refused_and_changes_nothing(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "my VM is down")
        asked = h.last_message_id
        await h.sent()
        out = await h.say("bob", "/case", reply_to=asked)
        assert not out.opened
        assert await case_count(h) == 0
        assert (await message(h, asked))["case_id"] is None
        assert await h.sent() == [h.texts.render("refused_staff_only", "en", command="case")]


async def test_case_on_a_tracked_message_names_its_case(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "my VM is down")
        asked = h.last_message_id
        await h.say("evan", "/case", reply_to=asked)
        await h.sent()
        out = await h.say("erin", "/case", reply_to=asked)
        assert not out.opened
        assert await case_count(h) == 1
        sent = await h.sent(chat=ACME)
        assert sent == [
            h.texts.render("already_case", "en", ref="#1", title="my VM is down"),
        ]
        assert "#1" in sent[0]


async def test_case_with_bot_username_suffix(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "my VM is down")
        out = await h.say("evan", "/case@casebot VM down", reply_to=h.last_message_id)
        assert out.opened
        assert (await h.case(out.case_id))["title"] == "VM down"


async def test_case_in_triage_is_refused(db_url: str) -> None:
    async with Harness(db_url) as h:
        out = await h.say("evan", "/case something", chat=TRIAGE)
        assert not out.opened
        assert await case_count(h) == 0
        assert await h.sent(chat=TRIAGE) == [h.texts.render("not_in_triage", "en")]


# ------------------------------------------------------------------ auto intake


async def test_auto_intake_opens_a_case_per_new_question(db_url: str) -> None:
    async with Harness(db_url) as h:
        first = await h.say("alice", "数据库连接超时", chat=GLOBEX)
        assert first.opened and first.case_id == 1
        # the same person a minute later continues the same conversation
        more = await h.say("alice", "错误码 504", chat=GLOBEX)
        assert not more.opened and more.case_id == 1
        other = await h.say("bob", "账单有问题", chat=GLOBEX)
        assert other.opened and other.case_id == 2
        assert texts_of(await h.case(1)) == ["数据库连接超时", "错误码 504"]
        assert texts_of(await h.case(2)) == ["账单有问题"]
        assert (await h.case(2))["account"] == "Globex"


async def test_auto_intake_ignores_staff_chatter(db_url: str) -> None:
    async with Harness(db_url) as h:
        out = await h.say("evan", "good morning everyone", chat=GLOBEX)
        assert not out.opened and out.case_id is None
        assert await case_count(h) == 0
        stored = await messages(h)
        assert [(m["text"], m["case_id"], m["role"]) for m in stored] == [
            ("good morning everyone", None, "staff")
        ]


async def test_auto_intake_photo_alone_opens_a_photo_case(db_url: str) -> None:
    async with Harness(db_url) as h:
        out = await h.say("alice", "", chat=GLOBEX, attachments=(Attachment("photo", "file-1"),))
        assert out.opened
        case = await h.case(out.case_id)
        assert case["title"] == "[photo]"
        assert case["messages"][0]["attachments"][0]["kind"] == "photo"
        assert case["messages"][0]["attachments"][0]["file_id"] == "file-1"


async def test_tag_intake_does_not_open_on_its_own(db_url: str) -> None:
    async with Harness(db_url) as h:
        out = await h.say("alice", "my VM is down")
        assert not out.opened and out.case_id is None
        assert await case_count(h) == 0
        # still stored, so /case can pull it in later
        assert (await message(h, h.last_message_id))["text"] == "my VM is down"


# ------------------------------------------------------------------------- /new


async def test_customer_new_with_text_opens_a_case(db_url: str) -> None:
    async with Harness(db_url) as h:
        out = await h.say("alice", "/new Please raise our API quota")
        assert out.opened
        case = await h.case(out.case_id)
        assert case["title"] == "Please raise our API quota"
        assert case["opened_by"] == h.key("5001")
        assert texts_of(case) == ["/new Please raise our API quota"]


async def test_customer_new_without_text_takes_recent_context(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "the export job hangs")
        await h.say("bob", "hi all")
        await h.say("alice", "since yesterday")
        out = await h.say("alice", "/new")
        assert out.opened
        case = await h.case(out.case_id)
        assert texts_of(case) == ["the export job hangs", "since yesterday", "/new"]
        assert case["title"] == "the export job hangs"
        assert (await message(h, "2"))["case_id"] is None


# --------------------------------------------------------------------- reactions


async def test_staff_case_emoji_opens_a_case(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "login page shows 500")
        asked = h.last_message_id
        out = await h.react("evan", asked, "🎫")
        assert out.opened
        case = await h.case(out.case_id)
        assert texts_of(case) == ["login page shows 500"]
        assert events(case, "opened")[0]["data"]["by"] == "reaction"


async def test_other_emoji_and_customer_reactions_do_nothing(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "login page shows 500")
        asked = h.last_message_id
        await h.sent()
        assert not (await h.react("evan", asked, "👍")).opened
        assert not (await h.react("alice", asked, "🎫")).opened
        assert not (await h.react("bob", asked, "🎫")).opened
        assert await case_count(h) == 0
        assert await h.sent() == []


async def test_case_emoji_on_a_tracked_message_does_not_open_another(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "login page shows 500")
        asked = h.last_message_id
        await h.react("evan", asked, "🎫")
        out = await h.react("erin", asked, "🎫")
        assert not out.opened
        assert await case_count(h) == 1


async def test_case_emoji_in_triage_opens_nothing(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("evan", "Acme called about their disk", chat=TRIAGE)
        await h.sent()
        out = await h.react("lena", h.last_message_id, chat=TRIAGE)
        assert not out.opened
        assert await case_count(h) == 0
        assert await h.sent() == []


# -------------------------------------------------------------- acknowledgement


async def test_ack_replies_to_the_first_message_with_ref_and_response_time(
    db_url: str,
) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "my VM is down")
        asked = h.last_message_id
        since = await mark(h)
        await h.say("evan", "/case", reply_to=asked)
        acks = [r for r in await rows_after(h, since) if r.purpose == "ack"]
        assert len(acks) == 1
        ack = acks[0]
        assert ack.chat == ACME and ack.case_id == 1
        assert ack.payload["reply_to"] == asked
        # Acme is premium; P3 answers within 1h
        assert ack.payload["text"] == h.texts.render("ack_sla", "en", ref="#1", within="1h")
        assert "#1" in ack.payload["text"] and "1h" in ack.payload["text"]


async def test_ack_without_sla_target_names_the_case_only(db_url: str) -> None:
    # premium keeps a P1 target only, so a P3 case has no first-response time to promise
    only_p1 = {"premium": {"P1": {"first_response": "15m", "resolution": "4h"}}}
    async with Harness(db_url, sla=only_p1) as h:
        await h.say("alice", "my VM is down")
        await h.say("evan", "/case", reply_to=h.last_message_id)
        acks = [r.payload["text"] for r in await h.outbox() if r.purpose == "ack"]
        assert acks == [h.texts.render("ack", "en", ref="#1")]


async def test_ack_is_absent_when_the_account_turns_it_off(db_url: str) -> None:
    raw = base_config()
    raw["accounts"][0]["acknowledge"] = False
    async with Harness(db_url, accounts=raw["accounts"]) as h:
        await h.say("alice", "my VM is down")
        out = await h.say("evan", "/case", reply_to=h.last_message_id)
        assert out.opened
        rows = await h.outbox()
        assert [r for r in rows if r.purpose == "ack"] == []
        # the case is still tracked and shown on the board
        assert any(r.purpose == "board" and "#1" in r.payload["text"] for r in rows)


async def test_ack_is_in_chinese_for_a_chinese_account(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "数据库连接超时", chat=GLOBEX)
        asked = h.last_message_id
        acks = [r for r in await h.outbox() if r.purpose == "ack"]
        assert len(acks) == 1
        text = acks[0].payload["text"]
        assert acks[0].chat == GLOBEX and acks[0].payload["reply_to"] == asked
        # Globex is standard tier: P3 first response within 4h
        assert text == h.texts.render("ack_sla", "zh", ref="#1", within="4 小时")
        assert text.startswith("收到") and "#1" in text and "预计 4 小时内首次回复" in text
