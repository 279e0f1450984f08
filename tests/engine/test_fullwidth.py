"""Commands as a Chinese keyboard types them: a full-width slash, `＃`, `＠`, `：`, the
ideographic space, full-width digits and letters, and durations in Chinese units, on
every platform. The arguments a person writes (titles, notes) are kept as typed."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from tests.engine.kit import events, followups, open_case, texts_of
from tests.harness import ACME, GLOBEX, TRIAGE, Harness

pytestmark = pytest.mark.usefixtures("platform")


async def test_a_full_width_slash_opens_a_case_with_its_title_as_written(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("alice", "数据库磁盘满了")
        out = await h.say("evan", "／ｃａｓｅ：磁盘满了（db-2）", reply_to=h.last_message_id)
        assert out.opened and out.case_id == 1
        case = await h.case(1)
        assert case["title"] == "磁盘满了（db-2）"
        assert texts_of(case) == ["数据库磁盘满了"]


async def test_full_width_refs_mentions_and_spaces(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.sent()
        await h.say("evan", "／assign　＃１　＠erin")
        case = await h.case(1)
        assert case["assignee"] == h.key("1002")
        assert len(await h.sent(chat=ACME, purpose="reply")) == 1
        await h.say("evan", "／priority：Ｐ１")
        assert (await h.case(1))["priority"] == "P1"
        await h.say("evan", "/note 客户说＃1 的问题在周一出现")
        [note] = events(await h.case(1), "note")
        assert note["data"]["text"] == "客户说 的问题在周一出现"


async def test_a_ref_right_after_chinese_text_names_the_case(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.sent()
        await h.say("evan", "/resolve 已修复工单＃１", chat=TRIAGE)
        assert (await h.case(1))["status"] == "resolved"


async def test_followup_in_chinese_units_for_a_full_width_mention(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "／followup　２天　＠erin　回访客户")
        [followup] = await followups(h)
        assert followup.owner == h.key("1002")
        assert followup.text == "回访客户"
        assert followup.due_at.astimezone(UTC) == h.clock.now() + timedelta(days=2)
        await h.say("evan", "／followup 1小时30分钟 检查图表")
        later = [f for f in await followups(h) if f.text == "检查图表"]
        assert later[0].due_at.astimezone(UTC) == h.clock.now() + timedelta(hours=1, minutes=30)
        await h.sent()
        # a superscript two is no full-width digit: it names no follow-up
        await h.say("erin", "/done #1 ²")
        assert [f for f in await followups(h) if f.done_at is not None] == []
        await h.say("erin", "／done　＃１　１")
        done = [f for f in await followups(h) if f.done_at is not None]
        assert [f.text for f in done] == ["回访客户"]


async def test_a_customer_full_width_command_is_a_command(db_url: str) -> None:
    async with Harness(db_url) as h:
        await h.say("carol", "／ｎｅｗ 无法登录控制台", chat=GLOBEX)
        [case] = [await h.case(1)]
        assert case["title"] == "无法登录控制台"


async def test_a_mention_typed_in_full_width_letters_names_the_person(db_url: str) -> None:
    """A Chinese input method in full-width mode types the name as well as the mark:
    "＠ｅｒｉｎ" is @erin, for /assign and for a follow-up's owner alike."""
    async with Harness(db_url) as h:
        await open_case(h)
        await h.sent()
        await h.say("evan", "／ａｓｓｉｇｎ　＃１　＠ｅｒｉｎ")
        assert (await h.case(1))["assignee"] == h.key("1002")
        await h.say("evan", "／ｆｏｌｌｏｗｕｐ　２ｄ　＠ｅｖａｎ　回访客户")
        [followup] = await followups(h)
        assert followup.owner == h.key("1001") and followup.text == "回访客户"


def test_mentions_after_chinese_text_and_in_full_width() -> None:
    from cases.commands import mentions

    assert mentions("请＠erin 看一下") == ["erin"]
    assert mentions("请＠ｅｒｉｎ看一下") == ["erin"]
    assert mentions("mail ann@example.com") == []
