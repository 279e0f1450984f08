"""A mistyped staff command is no answer: it changes nothing on the case and gets a short
"unknown command" reply. A command for another bot stays plain chat, as before."""

from __future__ import annotations

from tests.engine.kit import cases, open_case
from tests.harness import ACME, GLOBEX, Harness


async def test_a_mistyped_staff_command_changes_nothing(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.sent()
        before = await cases(h)
        for typo in ("/reslove", "/frobnicate now please", "/Reslove@casebot"):
            out = await h.say("evan", typo)
            assert out.case_id is None
            name = typo.split()[0][1:].split("@")[0].lower()
            assert await h.sent(chat=ACME) == [
                h.texts.render("unknown_command", "en", command=name)
            ]
        after = await cases(h)
        [case] = after
        assert case["first_response_at"] is None
        assert case["status"] == "new"
        assert case["events"] == before[0]["events"]
        assert [m["text"] for m in case["messages"]] == ["my VM is down"]


async def test_unknown_command_answers_in_the_chats_language(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("carol", "数据库超时", chat=GLOBEX)
        await h.sent()
        await h.say("evan", "/reslove", chat=GLOBEX)
        assert await h.sent(chat=GLOBEX) == ["未知命令 /reslove，请查看 /help。"]
        assert (await h.case(1))["first_response_at"] is None


async def test_a_command_for_another_bot_is_still_plain_chat(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.sent()
        # the Telegram adapter marks /cmd@otherbot with an invisible prefix
        out = await h.say("evan", "\u2060/reslove@otherbot")
        assert out.case_id == 1, "it is an ordinary staff line, as before"
        assert await h.sent(purpose="reply") == []
