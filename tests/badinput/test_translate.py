"""Hypothesis-generated updates through the Telegram adapter's translation: every
input is either an engine event, nothing to track, or `Malformed` (logged and
skipped); never another exception. What comes out is clean: no control characters
but tab and newline, no bidi embeddings or overrides, the update's own id."""

from __future__ import annotations

import copy
import json
import os
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import telegram
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.telegram_translate import Malformed, translate
from cases.model import Inbound
from tests.badinput.updates import hostile_char, json_value, updates, valid_message

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


def _outcome(raw: Any, quick: bool) -> Any:
    try:
        return translate(raw, BOT, "casebot", NOW, quick=quick)
    except Malformed:
        return Malformed


@st.composite
def plain_ish(draw: st.DrawFn) -> dict[str, Any]:
    """Text messages and their edits close to the shape read without PTB, some a little
    off it (a key more or less, a value of another type), to find where the two
    readings could part."""
    update = draw(valid_message())
    message = update["message"]
    update["update_id"] = draw(st.integers(1, 10**6))
    message["message_id"] = draw(st.integers(1, 10**6))
    message["date"] = draw(st.integers(0, 2**32) | st.sampled_from([-1, 2**62, 2**70]))
    message["chat"]["type"] = draw(st.sampled_from(["supergroup", "group", "private", "x"]))
    message["from"].update(
        draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "last_name": st.text(hostile_char, max_size=10),
                    "username": st.text(max_size=8),
                    "language_code": st.sampled_from(["en", "zh-hans", ""]),
                    "is_bot": st.booleans(),
                },
            )
        )
    )
    if draw(st.booleans()):
        message["entities"] = draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "type": st.sampled_from(["bot_command", "url", "bold", "mention"]),
                        "offset": st.integers(0, 80),
                        "length": st.integers(0, 20),
                    }
                ),
                max_size=3,
            )
        )
    if "reply_to_message" in message and draw(st.booleans()):
        message["reply_to_message"].update(
            {"from": message["from"], "text": draw(st.text(max_size=5))}
        )
    if draw(st.booleans()):
        update = {"update_id": update["update_id"], "edited_message": message}
        if draw(st.booleans()):
            message["edit_date"] = draw(st.integers(0, 2**32) | st.just("1"))
    if draw(st.integers(0, 3)) == 0:  # one part changed to anything at all
        parts = [message, message["chat"], message["from"], message.get("reply_to_message")]
        target = draw(st.sampled_from([p for p in parts if p is not None]))
        key = draw(st.sampled_from(sorted(target) + ["is_forum", "caption", "photo"]))
        target[key] = draw(json_value)
    return update


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(raw=plain_ish() | updates())
def test_plain_messages_read_without_ptb_read_as_through_ptb(raw: Any) -> None:
    """A plain text message is read without PTB's objects (110 us an update less); what
    comes of it (an event, nothing or Malformed) is what PTB's reading gives."""
    assert _outcome(copy.deepcopy(raw), quick=True) == _outcome(copy.deepcopy(raw), quick=False)


def _update(**message: Any) -> dict[str, Any]:
    base = {
        "message_id": 7,
        "date": 1,
        "chat": {"id": -100100, "type": "supergroup", "title": "Acme"},
        "from": {"id": 5001, "is_bot": False, "first_name": "Alice"},
        "text": "hello",
    }
    return {"update_id": 9, "message": {**base, **message}}


def _tricky() -> list[Any]:
    """Updates at the edges of the plain shape, each where a reading without PTB could
    part from PTB's."""
    msg = _update()["message"]
    user = msg["from"]
    reply = {"message_id": 3, "date": 5, "chat": msg["chat"], "from": user, "text": "q"}
    mention = [{"type": "mention", "offset": 0, "length": 4}]

    def up(**changes: Any) -> dict[str, Any]:
        return {"update_id": 9, "message": {**msg, **changes}}

    def edit(**changes: Any) -> dict[str, Any]:
        return {"update_id": 9, "edited_message": {**msg, **changes}}

    return [
        up(),
        up(text="@bob look", entities=mention),
        up(text="@bob look", entities=[{**mention[0], "type": "text_mention", "user": user}]),
        up(text="/new@otherbot x", entities=[{"type": "bot_command", "offset": 0, "length": 14}]),
        up(text="/new x", entities=[{"type": "bot_command", "offset": 0}]),
        up(text="/new x", entities=[{"type": 5, "offset": 0, "length": 4}]),
        up(text="/new x", entities="bot_command"),
        up(text=""),
        up(text="\u202e\x00"),
        up(text=["a"]),
        up(text=None),
        up(caption="c"),
        up(photo=[{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]),
        up(is_topic_message=True, message_thread_id=4),
        up(sender_chat={"id": -100100, "type": "supergroup", "title": "Acme"}),
        up(reply_to_message=reply),
        up(reply_to_message={**reply, "date": 2**70}),
        up(reply_to_message={k: v for k, v in reply.items() if k != "from"}),
        up(reply_to_message={**reply, "from": {"id": 1}}),
        up(reply_to_message={**reply, "text": None}),
        up(reply_to_message={**reply, "photo": []}),
        up(reply_to_message={**reply, "reply_to_message": reply}),
        up(reply_to_message="3"),
        up(message_id=True),
        up(message_id="7"),
        up(date=0),
        up(date=-1),
        up(date=2**70),
        up(date=1.5),
        up(date="1"),
        up(chat={"id": "-100100", "type": "supergroup"}),
        up(chat={"id": -100100, "type": "private", "first_name": "A"}),
        up(chat={"id": -100100, "type": "weird"}),
        up(chat={"id": -100100, "type": "supergroup", "title": ["x"]}),
        up(chat={"id": -100100, "type": "supergroup", "is_forum": True}),
        up(chat={"id": -100100}),
        up(**{"from": {**user, "last_name": "B", "username": "al", "language_code": ""}}),
        up(**{"from": {**user, "is_bot": True}}),
        up(**{"from": {**user, "is_bot": "no"}}),
        up(**{"from": {**user, "first_name": 5}}),
        up(**{"from": {"id": 5001, "is_bot": False}}),
        up(**{"from": None}),
        {"update_id": 9, "message": {k: v for k, v in msg.items() if k != "from"}},
        up(**{"from": {**user, "username": ["x"]}}),
        up(**{"from": {**user, "can_join_groups": True}}),
        {k: v for k, v in up().items() if k != "message"} | {"message": None},
        up() | {"edited_message": msg},
        up() | {"callback_query": None},
        edit(edit_date=2),
        edit(edit_date=0),
        edit(edit_date=2**70),
        edit(edit_date="2"),
        edit(),
        up(edit_date=2),
        # audit of 648f98b: more edges, none found to part (PTB reads {} as absent)
        {"update_id": True, "message": msg},
        up(entities=[]),
        up(entities=None),
        up(reply_to_message=None),
        up(reply_to_message={}),
        up(reply_to_message={**reply, "date": 0}),
        up(reply_to_message={**reply, "date": -1}),
        up(reply_to_message={**reply, "date": 2**40}),
        up(reply_to_message={**reply, "from": None}),
        up(reply_to_message={**reply, "entities": mention}),
        up(**{"from": {}}),
        up(**{"from": {**user, "language_code": None, "username": None}}),
        up(chat={"id": -100100, "type": "private", "title": "T"}),
        up(chat={"id": 10**25, "type": "supergroup"}),
        up(date=-62135596801),
        edit(edit_date=None),
        {"update_id": 9, "message": msg, "edited_message": None},
    ]


@pytest.mark.parametrize("raw", _tricky())
def test_updates_at_the_edges_read_as_through_ptb(raw: Any) -> None:
    assert _outcome(copy.deepcopy(raw), quick=True) == _outcome(copy.deepcopy(raw), quick=False)


def test_the_commonest_updates_are_read_without_ptb(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_ptb(*args: Any) -> None:
        raise AssertionError("read through PTB")

    monkeypatch.setattr(telegram.Update, "de_json", no_ptb)
    command = _update(
        text="/new disk full", entities=[{"type": "bot_command", "offset": 0, "length": 4}]
    )
    reply = _update(
        reply_to_message={
            "message_id": 3,
            "date": 1,
            "chat": {"id": -100100, "type": "supergroup"},
            "from": {"id": 1001, "is_bot": False, "first_name": "Evan"},
            "text": "which region?",
        }
    )
    edit = {"update_id": 9, "edited_message": {**_update()["message"], "edit_date": 2}}
    events = [translate(u, BOT, "casebot", NOW) for u in (command, reply, edit)]
    assert [e.text if e else None for e in events] == ["/new disk full", "hello", "hello"]
    assert events[1] is not None and events[1].reply_to == "3"
    assert events[2] is not None and events[2].at == datetime.fromtimestamp(2, UTC)


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
