"""Slack payloads as engine events: what is a command, what is an echo, what is
ignored. Pure translation, no process."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.slack_translate import Self, event_callback, interaction, slash_command
from cases.model import InboundKind
from tests.slack.kit import callback, message_event

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ME = Self(user_id="UBOT", bot_id="BBOT", team_id="TVENDOR")


def test_a_mention_of_the_bot_is_a_command_and_other_mentions_are_people() -> None:
    event = event_callback(message_event("C1", "U1", "<@UBOT> case Disk <@U2> full"), ME, NOW)
    assert event is not None and event.text == "/case Disk @U2 full"
    assert event.mentions == ("slack:U2",)
    chatty = event_callback(message_event("C1", "U1", "<@UBOT> thanks a lot"), ME, NOW)
    assert chatty is not None and chatty.text.strip() == "thanks a lot"


def test_thread_replies_carry_their_thread_and_roots_none() -> None:
    reply = event_callback(message_event("C1", "U1", "more", thread_ts="1.000100"), ME, NOW)
    assert reply is not None and reply.chat.thread == "1.000100"
    root = event_callback(message_event("C1", "U1", "q", ts="1.2", thread_ts="1.2"), ME, NOW)
    assert root is not None and root.chat.thread is None and root.message_id == "1.2"


def test_the_bots_own_messages_are_echoes_and_joins_are_ignored() -> None:
    own = event_callback(message_event("C1", "UBOT", "ack"), ME, NOW)
    assert own is not None and own.actor is not None and own.actor.is_bot
    other_bot = event_callback(message_event("C1", "U9", "hi", bot_id="B9"), ME, NOW)
    assert other_bot is not None and other_bot.actor is not None and other_bot.actor.is_bot
    join = event_callback(message_event("C1", "U1", "joined", subtype="channel_join"), ME, NOW)
    assert join is None
    mention = callback({"type": "app_mention", "channel": "C1", "user": "U1", "text": "x"})
    assert event_callback(mention, ME, NOW) is None  # the message event carries it


def test_reactions_use_the_emoji_character() -> None:
    raw = callback(
        {
            "type": "reaction_added",
            "user": "U1",
            "reaction": "ticket",
            "item": {"type": "message", "channel": "C1", "ts": "1.5"},
        }
    )
    event = event_callback(raw, ME, NOW)
    assert event is not None and event.kind is InboundKind.REACTION
    assert event.emoji == "🎫" and event.message_id == "1.5"


def test_slash_commands_and_the_shortcut() -> None:
    form = {
        "command": "/casebot",
        "text": "resolve #4",
        "user_id": "U1",
        "channel_id": "C1",
        "trigger_id": "t1",
    }
    event = slash_command(form, ME, NOW)
    assert event is not None and event.text == "/resolve #4" and event.event_id == "cmd:t1"
    shortcut = {
        "type": "message_action",
        "callback_id": "open_case",
        "trigger_id": "t2",
        "user": {"id": "U1"},
        "channel": {"id": "C1"},
        "message": {"ts": "1.7", "user": "U5", "text": "broken"},
    }
    opened = interaction(shortcut, ME, NOW)
    assert opened is not None and opened.text == "/case" and opened.reply_to == "1.7"


def test_a_callback_without_event_id_gets_a_stable_one() -> None:
    raw = message_event("C1", "U1", "hello", ts="1.9")
    del raw["event_id"]
    first, again = event_callback(raw, ME, NOW), event_callback(dict(raw), ME, NOW)
    assert first is not None and again is not None
    assert first.event_id == again.event_id and "1.9" in first.event_id


def test_words_only_in_block_kit_are_the_text() -> None:
    raw = message_event("C1", "U1", "")
    raw["event"]["blocks"] = [
        {
            "type": "rich_text",
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [
                        {"type": "user", "user_id": "UBOT"},
                        {"type": "text", "text": " case Login "},
                        {"type": "link", "url": "https://x.example", "text": "page"},
                        {"type": "emoji", "name": "fire", "unicode": "1f525"},
                        {"type": "text", "text": " for "},
                        {"type": "user", "user_id": "U2"},
                    ],
                },
                {
                    "type": "rich_text_list",
                    "elements": [
                        {"type": "rich_text_section", "elements": [{"type": "text", "text": "a"}]}
                    ],
                },
            ],
        }
    ]
    event = event_callback(raw, ME, NOW)
    assert event is not None
    assert event.text == "/case Login page (https://x.example)🔥 for @U2\na"
    assert event.mentions == ("slack:U2",)
    edited = callback(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": "C1",
            "message": {"ts": "1.1", "user": "U1", "text": "", "blocks": raw["event"]["blocks"]},
            "previous_message": {"ts": "1.1", "user": "U1", "text": "", "blocks": []},
        }
    )
    edit = event_callback(edited, ME, NOW)
    assert edit is not None and edit.kind is InboundKind.EDIT and "Login page" in edit.text


def test_a_press_or_slash_command_without_trigger_id_is_still_one_event() -> None:
    press = {
        "type": "block_actions",
        "user": {"id": "U1"},
        "channel": {"id": "C1"},
        "message": {"ts": "1.1"},
        "actions": [{"action_id": "casebot_0", "value": "take:1", "action_ts": "2.2"}],
    }
    first, again = interaction(press, ME, NOW), interaction(dict(press), ME, NOW)
    assert first is not None and first.kind is InboundKind.BUTTON and first.data == "take:1"
    assert again is not None and again.event_id == first.event_id
    form = {"command": "/casebot", "text": "status", "channel_id": "C1", "user_id": "U1"}
    slash = slash_command(form, ME, NOW)
    assert slash is not None and slash.text == "/status" and slash.event_id.startswith("cmd:")
