"""Saved answers: `/save name` as a reply, or 📖 on a staff message, keeps it (the chat's
locale picks its variant); `/snip name` posts it with {customer}, {case} and {owner}
filled in, as a staff answer on the case, and counts the use."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import SnippetRow
from tests.engine.kit import mark, open_case, rows_after
from tests.harness import ACME, GLOBEX, TRIAGE, Harness

pytestmark = pytest.mark.usefixtures("platform")

ANSWER = "Hi {customer}, restart the agent for {case}; {owner} will check back."


async def snippets(h: Harness) -> list[tuple[str, str, str, int]]:
    async with h.sessions() as session:
        rows = (await session.execute(select(SnippetRow).order_by(SnippetRow.id))).scalars()
        return [(r.name, r.locale, r.text, r.uses) for r in rows]


async def test_save_as_a_reply_then_snip_fills_the_variables(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", ANSWER, reply_to="1")
        answer_id = h.last_message_id
        since = await mark(h)
        await h.say("evan", "/save reboot", reply_to=answer_id)
        assert await snippets(h) == [("reboot", "en", ANSWER, 0)]
        # internal: the confirmation goes to triage, never to the customer's group
        said = [(r.chat, r.payload.get("text")) for r in await rows_after(h, since)]
        assert said == [
            (TRIAGE, h.texts.render("snippet_saved", "en", name="reboot", locale="en"))
        ]

        await h.say("alice", "still broken", reply_to="1")
        await h.sent()
        out = await h.say("evan", "/snip reboot", reply_to="1")
        text = "Hi Alice, restart the agent for #1; Evan will check back."
        relay = h.texts.render("staff_reply_relay", "en", name="Evan", ref="#1", text=text)
        assert relay in await h.sent(chat=ACME)
        assert (await snippets(h))[0][3] == 1
        case = await h.case(1)
        assert case["messages"][-1]["text"] == text and case["messages"][-1]["role"] == "staff"
        assert out.case_id == 1


async def test_the_accounts_locale_picks_the_variant(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "Please restart the agent.", reply_to="1")
        await h.say("evan", "/save restart", reply_to=h.last_message_id)
        out = await h.say("carol", "数据库连不上", chat=GLOBEX)  # Globex: zh, auto intake
        assert out.case_id is not None
        await h.say("evan", "请重启代理程序。", chat=GLOBEX, reply_to=h.last_message_id)
        await h.say("evan", "/save restart", chat=GLOBEX, reply_to=h.last_message_id)
        assert [(n, loc) for n, loc, _, _ in await snippets(h)] == [
            ("restart", "en"),
            ("restart", "zh"),
        ]
        await h.sent()
        await h.say("evan", "/snip restart", chat=GLOBEX)
        assert any("请重启代理程序。" in t for t in await h.sent(chat=GLOBEX))
        await h.say("evan", "/snip restart #1", chat=ACME)
        assert any("Please restart the agent." in t for t in await h.sent(chat=ACME))


async def test_the_book_reaction_saves_a_staff_message_under_a_derived_name(
    db_url: str,
) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "Clear the cache, then log in again.", reply_to="1")
        await h.react("erin", h.last_message_id, emoji="📖")
        assert [(n, t) for n, _, t, _ in await snippets(h)] == [
            ("clear-the-cache", "Clear the cache, then log in again.")
        ]
        # a customer's message is no saved answer, and a customer saves nothing
        await h.react("erin", "1", emoji="📖")
        await h.say("alice", "/save mine", reply_to="1")
        assert len(await snippets(h)) == 1


async def test_an_unknown_name_lists_the_saved_ones(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "Try again in five minutes.", reply_to="1")
        await h.say("evan", "/save wait", reply_to=h.last_message_id)
        await h.sent()
        await h.say("evan", "/snip nope", chat=TRIAGE)
        assert await h.sent(chat=TRIAGE) == [
            h.texts.render("snippet_unknown", "en", name="nope", names="wait")
        ]
        await h.say("evan", "/save", chat=TRIAGE)
        assert await h.sent(chat=TRIAGE) == [h.texts.render("usage_save", "en")]
