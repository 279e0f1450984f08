"""Telegram's `from.language_code` (the language the person's app is set to) reaches the
engine as `Actor.language`, the hint for texts only that person reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import telegram

from adapters.telegram_translate import translate


def private(user: dict[str, Any]) -> dict[str, Any]:
    return {
        "update_id": 9,
        "message": {
            "message_id": 5,
            "date": 1772442000,
            "chat": {"id": 3001, "type": "private", "first_name": "李"},
            "from": user,
            "text": "/help",
        },
    }


def test_the_apps_language_is_the_actors_language() -> None:
    user = {"id": 3001, "is_bot": False, "first_name": "李", "language_code": "zh-hans"}
    event = translate(private(user), telegram.Bot("1:x"), "casebot", datetime.now(UTC))
    assert event is not None and event.actor is not None
    assert event.actor.language == "zh-hans"
    del user["language_code"]
    event = translate(private(user), telegram.Bot("1:x"), "casebot", datetime.now(UTC))
    assert event is not None and event.actor is not None and event.actor.language is None
