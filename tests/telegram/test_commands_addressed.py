"""Commands addressed with a bot's username (`/status@casebot`), in each place a command
can stand: a plain group message, a reply, a forum topic. Ours act; another bot's are
stored as chat and answered by nothing."""

from __future__ import annotations

import pytest

from storage.models import CaseRow
from tests.telegram.kit import CHATS, TgBox
from tests.telegram.test_flow import open_case


async def forum_topic(box: TgBox, name: str = "Billing") -> int:
    """Make Acme a forum with a topic its members opened; returns the topic's thread id."""
    box.api.add_chat(CHATS["acme"], title="Acme support", is_forum=True, admins=[1001, 1002])
    topic = await box.api._m_createForumTopic({"chat_id": CHATS["acme"], "name": name})
    return int(topic["message_thread_id"])


async def test_status_with_our_username_as_plain_message(box: TgBox) -> None:
    await open_case(box)
    box.say("alice", "/status@casebot")
    await box.settle()
    answers = [m for m in box.sent("acme") if m["text"].startswith("Open cases (1)")]
    assert len(answers) == 1, box.texts("acme")
    assert "#1" in answers[0]["text"]


async def test_case_with_our_username_in_a_forum_topic(box: TgBox) -> None:
    thread = await forum_topic(box)
    asked = box.say("alice", "the March invoice is twice too high", thread_id=thread)
    box.say("evan", "/case@casebot Invoice doubled", thread_id=thread)
    await box.settle()
    case = await box.case(1)
    assert case["title"] == "Invoice doubled"
    assert [m["platform_message_id"] for m in case["messages"]][0] == str(asked)
    [ack] = [m for m in box.sent("acme") if "#1" in m["text"] and m.get("reply_to_message")]
    assert ack["message_thread_id"] == thread, "acknowledged inside the topic"
    assert ack["reply_to_message"]["message_id"] == asked
    box.say("alice", "any news?", thread_id=thread)
    await box.settle()
    assert "any news?" in [m["text"] for m in (await box.case(1))["messages"]]


@pytest.mark.parametrize("where", ["plain", "reply", "topic"])
@pytest.mark.parametrize(
    ("who", "command"),
    [
        ("evan", "/case@otherbot"),
        ("evan", "/case@otherbot Disk full"),
        ("evan", "/case@casebot_helper_bot"),
        ("alice", "/new@otherbot my disk is full"),
        ("alice", "/status@otherbot"),
        ("alice", "/resolve@otherbot"),
        # a command casebot does not know, for another bot: not "unknown command" either
        ("evan", "/reslove@otherbot"),
    ],
)
async def test_command_for_another_bot_is_ignored(
    box: TgBox, where: str, who: str, command: str
) -> None:
    thread: int | None = None
    if where == "topic":
        thread = await forum_topic(box)
    asked = box.say("alice", "disk is full", thread_id=thread)
    sent = box.say(who, command, thread_id=thread, reply_to=asked if where == "reply" else None)
    await box.settle()
    assert box.sent("acme") == [], "no answer, no refusal, no board"
    assert box.sent("triage") == [], "no card"
    assert await box.rows(CaseRow) == []
    stored = {m.platform_message_id: m for m in await box.messages()}
    assert stored[str(sent)].text.endswith(command), "kept as chat"
    assert stored[str(sent)].case_id is None
