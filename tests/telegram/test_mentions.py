"""Telegram's mention entities become `Inbound.mentions`: "@name" as written for a
mention, the person's key for a text_mention, counted in UTF-16 as Telegram counts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import telegram

from adapters.telegram_translate import translate


def update(text: str, entities: list[dict[str, Any]], caption: bool = False) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": 5,
        "date": 1772442000,
        "chat": {"id": -100100, "type": "supergroup", "title": "Acme"},
        "from": {"id": 3001, "is_bot": False, "first_name": "Alice"},
    }
    if caption:
        message |= {"caption": text, "caption_entities": entities, "photo": []}
        message["photo"] = [{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}]
    else:
        message |= {"text": text, "entities": entities}
    return {"update_id": 9, "message": message}


def mentions(raw: dict[str, Any]) -> tuple[str, ...]:
    event = translate(raw, telegram.Bot("1:x"), "casebot", datetime.now(UTC))
    assert event is not None
    return event.mentions


def test_mentions_and_text_mentions_are_read_from_the_entities() -> None:
    text = "🎫 @lena and Evan, please"  # the ticket emoji is two UTF-16 units
    entities = [
        {"type": "mention", "offset": 3, "length": 5},
        {
            "type": "text_mention",
            "offset": 13,
            "length": 4,
            "user": {"id": 1001, "is_bot": False, "first_name": "Evan"},
        },
        {"type": "bold", "offset": 0, "length": 2},
    ]
    assert mentions(update(text, entities)) == ("@lena", "telegram:1001")
    assert mentions(update(text, entities, caption=True)) == ("@lena", "telegram:1001")


def test_a_message_without_mention_entities_names_nobody() -> None:
    # an @ in plain text that Telegram did not mark is no mention (an e-mail address)
    assert mentions(update("mail x@y.com", [])) == ()
    # an entity pointing past its text is skipped, not a failure
    assert mentions(update("hi", [{"type": "mention", "offset": 10, "length": 5}])) == ()
