"""Groups through the real python-telegram-bot: forum topics, the bot's membership,
migration to a supergroup, the webhook, and hostile or malformed updates."""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy.exc import OperationalError

from scheduler.sweeper import Sweeper
from storage.models import Chat
from tests.fakes.telegram_api import ApiError
from tests.harness import base_config
from tests.telegram.kit import CHATS, TgBox
from tests.telegram.test_flow import open_case

Make = Callable[..., Awaitable[TgBox]]
SECRET = "X-Telegram-Bot-Api-Secret-Token"


def accounts(**acme: Any) -> list[dict[str, Any]]:
    result = base_config()["accounts"]
    result[0] = {**result[0], **acme}
    result.append({"name": "Initech", "tier": "premium", "chats": ["telegram:-777"]})
    return result


async def test_topic_per_case(make_box: Make) -> None:
    box = await make_box(accounts=accounts(topics="per_case"))
    # the staff are the group's admins; alice is a member
    box.api.add_chat(CHATS["acme"], title="Acme support", is_forum=True, admins=[1001, 1002])
    await open_case(box)
    [topic] = box.api.topics(CHATS["acme"])
    assert topic["name"].startswith("#1 ")
    thread = topic["message_thread_id"]
    case = await box.case(1)
    assert case["messages"]
    box.say("alice", "here are the logs", thread_id=thread)
    box.say("evan", "/resolve", thread_id=thread)
    await box.settle()
    case = await box.case(1)
    assert "here are the logs" in [m["text"] for m in case["messages"]]
    assert case["status"] == "resolved"
    csat = [m for m in box.sent("acme") if "resolved" in m["text"]]
    assert csat[0]["message_thread_id"] == thread, "the rating question goes into the topic"
    # resolved is not closed: the customer can still write in the topic, which reopens it
    assert box.api.topics(CHATS["acme"])[0]["is_closed"] is False
    box.say("alice", "it broke again", thread_id=thread)
    box.say("evan", "/resolve", thread_id=thread)
    await box.settle()
    assert (await box.case(1))["status"] == "resolved"
    assert [e.data["reason"] for e in await box.events("status_changed")][-2:] == [
        "customer_reply",
        "command",
    ]
    # the case closes after close_after: then the topic closes, to members only
    box.clock.advance(box.app.engine.settings.escalation.close_after + timedelta(minutes=1))
    await Sweeper(box.app.sessions, box.app.engine, box.app.caches).tick(box.clock.now())
    await box.settle()
    assert (await box.case(1))["status"] == "closed"
    assert box.api.topics(CHATS["acme"])[0]["is_closed"] is True
    with pytest.raises(ApiError, match="TOPIC_CLOSED"):
        box.say("alice", "hello?", thread_id=thread)
    box.say("evan", "/reopen", thread_id=thread)
    await box.settle()
    assert (await box.case(1))["status"] == "open"
    assert box.api.topics(CHATS["acme"])[0]["is_closed"] is False


async def test_topics_fall_back_to_replies_when_not_a_forum(make_box: Make) -> None:
    box = await make_box(accounts=accounts(topics="per_case"))
    await open_case(box)
    assert box.api.topics(CHATS["acme"]) == []
    assert [e.type for e in await box.events("topics_unavailable")] == ["topics_unavailable"]
    box.say("evan", "/resolve")
    await box.settle()
    assert (await box.case(1))["status"] == "resolved"
    assert {r.status for r in await box.rows()} <= {"sent", "skipped"}


async def test_membership_tells_triage_and_group(box: TgBox) -> None:
    box.push(box.api.my_chat_member(CHATS["acme"], "left", "member", 5001))
    await box.settle()
    assert any("'member'" in t and "Acme" in t for t in box.texts("triage"))
    [setup] = [t for t in box.texts("acme") if t.startswith("Hello!")]
    assert "admin" in setup and "pin messages" in setup
    box.push(box.api.my_chat_member(CHATS["acme"], "member", "administrator", 5001))
    await box.settle()
    assert any("'administrator'" in t for t in box.texts("triage"))
    assert len([t for t in box.texts("acme") if t.startswith("Hello!")]) == 1, "nothing missing"
    box.api.add_chat(-100999, title="Stranger group")
    box.push(box.api.my_chat_member(-100999, "left", "member", 5001))
    await box.settle()
    assert any("-100999" in t for t in box.texts("triage"))
    assert box.sent(-100999) == [], "unknown groups hear nothing"
    chats = {c.chat: c.kind for c in await box.rows(Chat)}
    assert chats["-100999"] == "unknown"
    box.push(box.api.my_chat_member(CHATS["acme"], "administrator", "kicked", 5001))
    await box.settle()
    assert any("'removed'" in t and "Acme" in t for t in box.texts("triage"))


async def test_migration_moves_cases(make_box: Make) -> None:
    box = await make_box(accounts=accounts())
    box.api.add_chat(-777, type="group", title="Initech")
    asked = box.say("alice", "printer on fire", chat="-777")
    box.say("evan", "/case", chat="-777", reply_to=asked)
    await box.settle()
    box.push(box.api.migrate(-777, -100777))
    # ids clear of the old group's (see test_migrated_message_ids_restart)
    box.say("alice", "still on fire", chat="-100777", message_id=101)
    box.say("evan", "/resolve", chat="-100777", message_id=102)
    await box.settle()
    case = await box.case(1)
    assert case["chat"] == "telegram:-100777"
    assert case["status"] == "resolved"
    assert any("resolved" in m["text"] for m in box.sent(-100777))


async def test_migrated_message_ids_restart(make_box: Make) -> None:
    box = await make_box(accounts=accounts())
    box.api.add_chat(-777, type="group", title="Initech")
    box.say("alice", "printer on fire", chat="-777")
    await box.settle()
    box.push(box.api.migrate(-777, -100777))
    box.say("alice", "still on fire", chat="-100777")  # message id 1 in the supergroup
    await box.settle()
    assert [m.text for m in await box.messages()] == ["printer on fire", "still on fire"]
    # a restart with the config still naming the old id keeps the chat with its account
    await box.app.prepare()
    box.say("alice", "/new the scanner too", chat="-100777")
    await box.settle()
    opened = await box.case(1)  # tag intake: the first message opened nothing
    assert opened["title"] == "the scanner too"
    assert opened["account"] == "Initech" and opened["chat"] == "telegram:-100777"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_secret_and_commit(make_box: Make) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    box = await make_box(
        web=True,
        http={"enabled": True, "port": port},
        telegram={"mode": "webhook", "webhook_url": url, "secret_token": "s3cret-Token"},
    )
    assert box.api.webhook is not None and box.api.webhook["secret_token"] == "s3cret-Token"
    assert "message_reaction" in box.api.webhook["allowed_updates"]
    update = {"update_id": 999, **box.api.message(CHATS["acme"], 5001, "forged")}
    async with aiohttp.ClientSession() as client:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            async with client.post(url, json=update, headers=headers) as response:
                assert response.status == 401
        async with client.post(
            url, data=b"not json", headers={SECRET: "s3cret-Token"}
        ) as response:
            assert response.status == 400
        async with client.post(
            url, json={"hello": "world"}, headers={SECRET: "s3cret-Token"}
        ) as response:
            assert response.status == 200, "not an update: skipped, not retried forever"
    assert await box.messages() == []
    assert box.adapter.stats["malformed"] == 1

    failing = {"left": 1}
    real = box.app.ingestor.handle_batch

    async def flaky(events: Any) -> Any:
        if failing["left"]:
            failing["left"] -= 1
            raise OperationalError("COMMIT", {}, Exception("database is locked"))
        return await real(events)

    box.app.ingestor.handle_batch = flaky  # type: ignore[method-assign]
    box.say("alice", "via webhook")
    await box.settle()
    statuses = [d["status"] for d in box.api.webhook_deliveries]
    assert statuses == [500, 200], "500 while not stored, 200 after commit"
    assert [m.text for m in await box.messages()] == ["via webhook"]


async def test_polling_does_not_acknowledge_a_failed_commit(box: TgBox) -> None:
    failing = {"left": 1}
    real = box.app.ingestor.handle_batch

    async def flaky(events: Any) -> Any:
        if failing["left"]:
            failing["left"] -= 1
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))
        return await real(events)

    box.app.ingestor.handle_batch = flaky  # type: ignore[method-assign]
    box.say("alice", "one")
    box.say("alice", "two")
    await box.settle(timeout=10)
    assert [m.text for m in await box.messages()] == ["one", "two"]
    assert box.adapter.stats["refetch"] == 1


async def test_hostile_updates_are_logged_and_skipped(
    box: TgBox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="adapters.telegram")
    acme = {"id": CHATS["acme"], "type": "supergroup", "title": "Acme support"}
    no_sender = box.api.message(CHATS["acme"], 5001, "who am I")
    del no_sender["message"]["from"]
    box.push(no_sender)
    box.push({"message": {"message_id": 900, "chat": acme}})  # no date: unreadable
    box.push({"message": "garbage"})
    box.push({"poll": {"id": "1", "question": "?", "options": []}})  # not subscribed
    box.push({"business_message": {"message_id": 1}})  # unknown to casebot
    box.push({"callback_query": {"id": "x", "from": {"id": 5001}, "chat_instance": "c"}})
    box.say("alice", "A" * 20_000)
    box.say("alice", "bad\x00 chars\x07 \u202eevil\u202c title\u200f ok")
    box.say("alice", "hello from nowhere", chat="-100404")
    box.say("alice", "still here")
    await box.settle()
    texts = [m.text for m in await box.messages()]
    assert texts[0] == "A" * 20_000, "oversized text is stored whole"
    assert texts[1] == "bad chars evil title\u200f ok"
    assert texts[-1] == "still here"
    assert len(texts) == 3, "no sender and unknown group stored nothing"
    assert "malformed" in caplog.text
    assert box.adapter.stats["malformed"] >= 2
    chats = {c.chat: c.kind for c in await box.rows(Chat)}
    assert chats["-100404"] == "unknown"
    box.say("bob", "/new printer")
    await box.settle()
    assert (await box.case(1))["title"] == "printer"


async def test_unreachable_api_at_start_is_retried(make_box: Make, api: Any) -> None:
    api.fail_next("getMe", 502)
    box = await make_box()
    box.say("alice", "anyone there?")
    await box.settle(timeout=10)
    assert [m.text for m in await box.messages()] == ["anyone there?"]


async def test_rejected_token_is_a_config_error(api: Any, sqlite_url: str) -> None:
    from adapters.base import AdapterConfigError

    box = TgBox(api, sqlite_url, telegram={"token": "999:wrong"})
    with pytest.raises(AdapterConfigError, match="telegram.token"):
        await box.start()
    await box.stop()
