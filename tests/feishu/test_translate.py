"""Reading Feishu's event JSON, pure: mentions and the bot's, post content in both of
its forms, threads, echoes of the bot itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from adapters.feishu_translate import translate
from cases.model import InboundKind
from tests.fakes.feishu_api import BOT_OPEN_ID, Injector

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def mention(n: int, open_id: str, name: str) -> dict[str, Any]:
    return {"key": f"@_user_{n}", "id": {"open_id": open_id}, "name": name}


def test_ten_mentions_do_not_read_user_1_into_user_10() -> None:
    people = [mention(i, f"ou_{i}", f"P{i}") for i in range(1, 11)]
    raw = Injector().message("ou_a", "oc_1", "hi @_user_10 and @_user_1", mentions=people)
    event = translate(raw, NOW, bot_open_id=BOT_OPEN_ID)
    assert event is not None
    assert event.text == "hi @P10 and @P1"
    assert event.mentions == ("feishu:ou_10", "feishu:ou_1")


def test_the_bots_mention_is_found_without_its_open_id() -> None:
    raw = Injector().message(
        "ou_a", "oc_1", "@_user_1 resolve", mentions=[mention(1, "ou_unknown", "casebot")]
    )
    event = translate(raw, NOW, bot_open_id=None)
    assert event is not None and event.text == "/resolve" and event.mentions == ()
    # a person's mention before ordinary words stays a mention
    raw = Injector().message("ou_a", "oc_1", "@_user_1 thanks", mentions=[mention(1, "ou_b", "B")])
    event = translate(raw, NOW, bot_open_id=None)
    assert event is not None and event.text == "@B thanks"


def test_a_post_in_its_send_form_and_a_thread_reply() -> None:
    raw = Injector().message("ou_a", "oc_1", "", thread_root="om_root", parent="om_x")
    raw["event"]["message"]["message_type"] = "post"
    raw["event"]["message"]["content"] = json.dumps(
        {"zh_cn": {"title": "报错", "content": [[{"tag": "text", "text": "导出失败"}]]}}
    )
    event = translate(raw, NOW)
    assert event is not None
    assert event.text == "报错\n导出失败"
    assert event.chat.thread == "om_root" and event.reply_to == "om_x"


def test_the_bots_own_messages_are_echoes_and_unknown_events_are_skipped() -> None:
    raw = Injector().message(BOT_OPEN_ID, "oc_1", "#1 acknowledged")
    event = translate(raw, NOW, bot_open_id=BOT_OPEN_ID)
    assert event is not None and event.actor is not None and event.actor.is_bot
    assert event.kind is InboundKind.MESSAGE
    other = Injector().envelope("im.chat.updated_v1", {"chat_id": "oc_1"})
    assert translate(other, NOW) is None
