"""Hypothesis-generated updates through the Telegram adapter's translation: every
input is either an engine event, nothing to track, or `Malformed` (logged and
skipped); never another exception. What comes out is clean: no control characters
but tab and newline, no bidi embeddings or overrides, the update's own id."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import telegram
from hypothesis import HealthCheck, given, settings

from adapters.telegram_translate import Malformed, translate
from cases.model import Inbound
from tests.badinput.updates import updates

EXAMPLES = int(os.environ.get("CASEBOT_FUZZ_EXAMPLES", "3000"))
BOT = telegram.Bot("123456:BADINPUT-token")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DIRTY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
SEEN = {"events": 0, "skipped": 0, "malformed": 0}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(raw=updates())
def _translate_one(raw: Any) -> None:
    try:
        event = translate(raw, BOT, "casebot", NOW)
    except Malformed:
        SEEN["malformed"] += 1
        return
    if event is None:
        SEEN["skipped"] += 1
        return
    SEEN["events"] += 1
    assert isinstance(event, Inbound)
    assert event.event_id == str(raw["update_id"])
    assert event.chat.platform == "telegram"
    assert not DIRTY.search(event.text), repr(event.text)
    assert event.actor is None or not DIRTY.search(event.actor.name)
    assert event.at <= NOW + timedelta(minutes=5)


def test_translation_never_crashes() -> None:
    _translate_one()
    # the generator reaches all three outcomes, or the test would prove little
    assert all(SEEN.values()), SEEN
    print(f"\nbadinput translate: {sum(SEEN.values())} generated updates: {SEEN}, 0 crashes")


def _update(**message: Any) -> dict[str, Any]:
    base = {
        "message_id": 7,
        "date": 1,
        "chat": {"id": -100100, "type": "supergroup", "title": "Acme"},
        "from": {"id": 5001, "is_bot": False, "first_name": "Alice"},
        "text": "hello",
    }
    return {"update_id": 9, "message": {**base, **message}}


def test_wrong_types_are_malformed_not_engine_errors() -> None:
    """Found by the webhook fuzz: PTB's de_json does not check types, so a callback's
    `data` given as a list reached the engine, which failed on it after the update was
    taken. Fields of the wrong type now make the update Malformed at the edge."""
    button = {
        "update_id": 10,
        "callback_query": {
            "id": "q",
            "from": {"id": 1001, "is_bot": False, "first_name": "Evan"},
            "chat_instance": "c",
            "message": _update()["message"],
            "data": ["take", 1],
        },
    }
    for raw in (
        button,
        _update(chat={"id": "-100100; DROP", "type": "supergroup"}),
        _update(message_id=[7]),
        _update(**{"from": {"id": 5001.5, "is_bot": False, "first_name": "Alice"}}),
        _update(chat={"id": -100100, "type": "supergroup", "title": ["Acme"]}),
        _update(text={"a": 1}),
    ):
        with pytest.raises(Malformed):
            translate(raw, BOT, "casebot", NOW)
    event = translate(_update(), BOT, "casebot", NOW)
    assert event is not None and event.text == "hello" and event.chat.chat == "-100100"


def test_unpaired_surrogates_become_replacement_characters() -> None:
    """Found by the webhook fuzz on PostgreSQL: a name with an unpaired surrogate (legal
    in JSON, "\\udc13") could not be encoded by the driver, so the engine rejected the
    message after it was taken. Each one is now U+FFFD."""
    raw = json.loads(
        '{"update_id": 11, "message": {"message_id": 8, "date": 1, "text": "half \\ud83d",'
        ' "chat": {"id": -100100, "type": "supergroup", "title": "A\\udc13"},'
        ' "from": {"id": 5001, "is_bot": false, "first_name": "Al\\udc13ce"}}}'
    )
    event = translate(raw, BOT, "casebot", NOW)
    assert event is not None and event.actor is not None
    assert event.text == "half \ufffd" and event.actor.name == "Al\ufffdce"
    assert event.chat_title == "A\ufffd"
    whole = translate(_update(text="an emoji \U0001f600 stays"), BOT, "casebot", NOW)
    assert whole is not None and whole.text == "an emoji \U0001f600 stays"
