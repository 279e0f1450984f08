"""The JSON Schema of casebot.chat/v1 (adapters/bridge_schema.json) and the code agree:
what the schema calls an event the translator reads, what it refuses the translator
refuses, and every command the adapter builds validates (the fake bridge checks each
one it receives in the other tests too)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from adapters.bridge_translate import Unreadable, command, translate
from cases.delivery import Delivery
from cases.model import Button, InboundKind
from tests.fakes.bridge_peer import SCHEMA, check, event

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MESSAGE = {"id": "m1", "thread_id": "t1", "reply_to_id": None, "text": "/case Export hangs"}

EVENTS = {
    "message.created": event("message.created", "e1", "room1", "u1", message=MESSAGE),
    "message.edited": event("message.edited", "e2", "room1", "u1", message=MESSAGE),
    "message.deleted": event("message.deleted", "e3", "room1", "u1", message={"id": "m1"}),
    "reaction.added": event(
        "reaction.added", "e4", "room1", "u1", reaction={"message_id": "m1", "emoji": "🎫"}
    ),
    "reaction.removed": event(
        "reaction.removed", "e5", "room1", "u1", reaction={"message_id": "m1", "emoji": "🎫"}
    ),
    "action.invoked": event(
        "action.invoked", "e6", "triage", "u1", action={"message_id": "m9", "value": "take:1"}
    ),
    "direct": event("message.created", "e7", "dm1", "u1", kind="direct", message=MESSAGE),
    "attachment": event(
        "message.created",
        "e8",
        "room1",
        "u1",
        message={"id": "m2", "attachments": [{"url": "https://x/y.png", "mime": "image/png"}]},
    ),
}


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_every_kind_of_event_validates_and_translates(name: str) -> None:
    body = EVENTS[name]
    check("event", body)
    inbound = translate("wecom", body, NOW)
    assert inbound.chat.platform == "wecom" and inbound.event_id == body["id"]
    assert inbound.actor is not None and inbound.actor.key == "wecom:u1"


def test_events_map_to_engine_events() -> None:
    kinds = {n: translate("wecom", b, NOW) for n, b in EVENTS.items()}
    assert kinds["message.created"].kind is InboundKind.MESSAGE
    assert kinds["message.created"].chat.thread == "t1"
    assert kinds["message.created"].text == "/case Export hangs"
    assert kinds["message.edited"].kind is InboundKind.EDIT
    assert kinds["message.deleted"].kind is InboundKind.DELETE
    assert kinds["reaction.added"].emoji == "🎫" and not kinds["reaction.added"].removed
    assert kinds["reaction.removed"].removed
    assert kinds["action.invoked"].kind is InboundKind.BUTTON
    assert kinds["action.invoked"].data == "take:1"
    assert kinds["direct"].is_direct and not kinds["message.created"].is_direct
    assert kinds["attachment"].attachments[0].kind == "photo"


def _broken() -> list[tuple[str, dict[str, Any]]]:
    base = EVENTS["message.created"]
    cases = []
    for path, value in [
        (("spec",), "casebot.chat/v0"),
        (("type",), "message.exploded"),
        (("chat", "id"), ""),
        (("chat", "kind"), "channel"),
        (("actor", "id"), None),
        (("actor", "is_bot"), "no"),
        (("message", "id"), "x" * 65),
        (("message", "attachments"), "not a list"),
    ]:
        body = copy.deepcopy(base)
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        cases.append(("/".join(path), body))
    no_message = copy.deepcopy(base)
    del no_message["message"]
    cases.append(("no message", no_message))
    no_reaction = copy.deepcopy(EVENTS["reaction.added"])
    del no_reaction["reaction"]
    cases.append(("no reaction", no_reaction))
    return cases


@pytest.mark.parametrize(("what", "body"), _broken(), ids=[w for w, _ in _broken()])
def test_what_the_schema_refuses_the_translator_refuses(what: str, body: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        check("event", body)
    with pytest.raises(Unreadable):
        translate("wecom", body, NOW)


def test_every_command_type_the_adapter_builds_validates() -> None:
    delivery = Delivery(
        id=7,
        kind="send",
        platform="wecom",
        chat="room1",
        purpose="csat",
        payload={"text": "How did we do?"},
        thread="t1",
        reply_to="m1",
        buttons=((Button("1⭐", "csat:1:1"), Button("5⭐", "csat:1:5")),),
    )
    built = [
        command(delivery, "message.send", text=delivery.text),
        command(delivery, "message.send", text=delivery.text, buttons=False),
        command(delivery, "message.edit", text="card", message_id="b1"),
        command(delivery, "message.pin", step="pin", message_id="b1"),
    ]
    for body in built:
        check("command", body)
    assert built[0]["buttons"] == [
        {"label": "1⭐", "value": "csat:1:1"},
        {"label": "5⭐", "value": "csat:1:5"},
    ]
    assert built[3]["command_id"] == "cmd_7_pin"


def test_the_at_names_of_a_message_are_its_mentions() -> None:
    text = "@lena can you look? cc @evan_c, mail x@y.com, @lena again"
    body = event("message.created", "e9", "room1", "u1", message={"id": "m3", "text": text})
    assert translate("wecom", body, NOW).mentions == ("@lena", "@evan_c")
    assert translate("wecom", EVENTS["message.created"], NOW).mentions == ()
