"""End to end through the real python-telegram-bot and the fake Bot API: cases from
messages, commands, cards, the pinned board, buttons, CSAT, edits, reactions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tests.telegram.kit import CHATS, TgBox


async def open_case(box: TgBox, text: str = "Our VM is down") -> int:
    """alice asks, evan tags it with /case in reply; returns alice's message id."""
    asked = box.say("alice", text)
    box.say("evan", "/case", reply_to=asked)
    await box.settle()
    return asked


async def test_case_reply_acks_cards_and_pins_board(box: TgBox) -> None:
    asked = await open_case(box)
    acme = box.sent("acme")
    ack = [m for m in acme if "#1" in m["text"] and m.get("reply_to_message")]
    assert len(ack) == 1, acme
    assert ack[0]["reply_to_message"]["message_id"] == asked
    assert any(e["type"] == "bold" for e in ack[0].get("entities", [])), "ref in bold via HTML"
    card = box.current("triage", box.card_id(1))
    assert "Our VM is down" in card["text"] and "Acme" in card["text"]
    labels = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["Take", "Resolve", "P1", "P2", "P3", "P4"]
    assert f"https://t.me/c/100/{asked}" in card["text"]
    pinned = box.api.pinned(CHATS["acme"])
    assert len(pinned) == 1
    assert "#1" in box.current("acme", pinned[0])["text"]
    case = await box.case(1)
    assert case["title"] == "Our VM is down" and case["status"] == "new"


@pytest.mark.parametrize("command", ["/case@casebot", "/case@CaseBot Disk full"])
async def test_command_with_our_username(box: TgBox, command: str) -> None:
    asked = box.say("alice", "disk is full")
    box.say("evan", command, reply_to=asked)
    await box.settle()
    assert (await box.case(1))["status"] == "new"


async def test_command_for_another_bot_is_plain_chat(box: TgBox) -> None:
    asked = box.say("alice", "disk is full")
    box.say("evan", "/case@otherbot", reply_to=asked)
    await box.settle()
    assert not any("#1" in t for t in box.texts("acme"))
    stored = [m.text for m in await box.messages()]
    assert any(t.endswith("/case@otherbot") for t in stored)


async def test_customer_staff_command_is_refused(box: TgBox) -> None:
    asked = box.say("alice", "help")
    box.say("bob", "/case", reply_to=asked)
    box.say("bob", "/resolve")
    await box.settle()
    texts = box.texts("acme")
    assert any("/case is for the support team" in t for t in texts), texts
    assert any("/resolve is for the support team" in t for t in texts), texts
    assert await box.rows(__import__("storage.models", fromlist=["CaseRow"]).CaseRow) == []


async def test_status_answers_in_chat(box: TgBox) -> None:
    await open_case(box)
    box.say("alice", "/status")
    await box.settle()
    assert any(t.startswith("Open cases (1)") for t in box.texts("acme")), box.texts("acme")


async def test_board_and_card_edited_in_place(box: TgBox) -> None:
    await open_case(box)
    board = box.api.pinned(CHATS["acme"])[0]
    card = box.card_id(1)
    box.say("evan", "/assign me")
    box.say("evan", "/priority P1")
    await box.settle()
    assert (
        "Evan" in box.current("triage", card)["text"]
        or "evan" in box.current("triage", card)["text"]
    )
    assert "P1" in box.current("triage", card)["text"]
    # the board names the owner as people know them, not by user id
    board_text = box.current("acme", board)["text"]
    assert "· open · " in board_text and "1001" not in board_text
    assert box.api.pinned(CHATS["acme"]) == [board], "no second board"
    cards = [m for m in box.sent("triage") if m["text"].startswith("#1 ")]
    assert len(cards) == 1, "the card is edited, never sent again"


async def test_card_buttons_take_priority_resolve(box: TgBox) -> None:
    await open_case(box)
    card = box.card_id(1)
    refused = box.press("alice", card, "take:1")
    taken = box.press("evan", card, "take:1")
    prio = box.press("erin", card, "prio:1:P1")
    await box.settle()
    assert "support team" in box.api.callback_answers[refused]["text"]
    assert box.api.callback_answers[taken]["text"] == "Done."
    assert box.api.callback_answers[prio]["text"] == "Done."
    case = await box.case(1)
    assert case["assignee"] == "telegram:1001" and case["priority"] == "P1"
    resolved = box.press("evan", card, "resolve:1")
    await box.settle()
    assert box.api.callback_answers[resolved]["text"] == "Done."
    assert (await box.case(1))["status"] == "resolved"
    assert "reply_markup" not in box.current("triage", card), "no buttons on a resolved card"


async def test_csat_only_customers_of_the_chat(box: TgBox) -> None:
    await open_case(box)
    box.say("evan", "/resolve")
    await box.settle()
    csat = [m for m in box.sent("acme") if "resolved" in m["text"]]
    assert len(csat) == 1
    keys = csat[0]["reply_markup"]["inline_keyboard"][0]
    assert [b["callback_data"] for b in keys] == [f"csat:1:{n}" for n in range(1, 6)]
    staff = box.press("evan", csat[0]["message_id"], "csat:1:5", chat="acme")
    customer = box.press("alice", csat[0]["message_id"], "csat:1:4", chat="acme")
    await box.settle()
    assert "Only the customer" in box.api.callback_answers[staff]["text"]
    assert box.api.callback_answers[customer]["text"] == "Thank you for your rating!"
    ratings = await box.events("csat")
    assert [(e.actor, e.data["score"]) for e in ratings] == [("telegram:5001", 4)]


async def test_customer_reply_reopens_resolved_case(box: TgBox) -> None:
    asked = await open_case(box)
    box.say("evan", "/resolve")
    await box.settle()
    box.say("alice", "still broken", reply_to=asked)
    await box.settle()
    assert (await box.case(1))["status"] == "open"


async def test_edits_keep_history(box: TgBox) -> None:
    asked = await open_case(box, "VM down since 9")
    box.push(box.api.edited_message(CHATS["acme"], 5001, asked, "VM down since 8"))
    await box.settle()
    case = await box.case(1)
    first = [m for m in case["messages"] if m["platform_message_id"] == str(asked)][0]
    assert first["text"] == "VM down since 8"
    assert [e["type"] for e in case["events"]].count("message_edited") == 1
    from storage.models import MessageEdit

    edits = await box.rows(MessageEdit)
    assert len(edits) == 1


async def test_reaction_opens_case(box: TgBox) -> None:
    asked = box.say("alice", "login fails")
    box.react("bob", asked)  # a customer's reaction opens nothing
    box.react("evan", asked, emoji="👍")  # nor another emoji
    await box.settle()
    assert not any("#1" in t for t in box.texts("acme"))
    box.react("evan", asked)
    await box.settle()
    case = await box.case(1)
    assert case["title"] == "login fails"
    assert box.api.last_allowed_updates is not None
    assert "message_reaction" in box.api.last_allowed_updates


async def test_photo_alone_opens_case_in_auto_chat(box: TgBox) -> None:
    box.say("carol", None, chat="globex", photo=True)
    await box.settle()
    case = await box.case(1)
    assert case["title"] == "[photo]"
    messages = await box.messages()
    assert messages[0].attachments[0]["kind"] == "photo"
    assert messages[0].attachments[0]["file_id"].endswith("-800")
    assert any("#1" in t for t in box.texts("globex")), "acknowledged in Chinese chat"
    assert any("工单" in t for t in box.texts("globex"))


async def test_document_with_caption_stored(box: TgBox) -> None:
    box.say("carol", None, chat="globex", document="trace.log", caption="see log")
    await box.settle()
    messages = await box.messages()
    att = messages[0].attachments[0]
    assert (att["kind"], att["name"], att["caption"]) == ("document", "trace.log", "see log")
    assert (await box.case(1))["title"] == "see log"


@pytest.mark.parametrize(
    ("caption", "title"),
    [
        ("/new VM console shows a kernel panic", "VM console shows a kernel panic"),
        ("/new", "[photo]"),
    ],
)
async def test_new_in_a_photo_caption_opens_case_with_the_photo(
    box: TgBox, caption: str, title: str
) -> None:
    # a customer pastes a screenshot and types the command as its caption
    sent = box.say("alice", None, photo=True, caption=caption)
    await box.settle()
    case = await box.case(1)
    assert case["title"] == title
    first = (await box.messages())[0]
    assert (first.platform_message_id, first.case_id) == (str(sent), 1)
    assert first.attachments[0]["kind"] == "photo"
    acks = [m for m in box.sent("acme") if "#1" in m["text"] and m.get("reply_to_message")]
    assert [a["reply_to_message"]["message_id"] for a in acks] == [sent]


async def test_command_in_caption_for_another_bot_is_chat(box: TgBox) -> None:
    box.say("alice", None, photo=True, caption="/new@otherbot see screenshot")
    await box.settle()
    assert box.sent("acme") == []
    [stored] = await box.messages()
    assert stored.case_id is None and stored.text.endswith("/new@otherbot see screenshot")


async def test_caption_edit_keeps_the_text(box: TgBox) -> None:
    sent = box.say("carol", None, chat="globex", document="trace.log", caption="see log")
    await box.settle()
    update = box.api.edited_message(CHATS["globex"], 6001, sent, "see log, line 40")
    edited = update["edited_message"]
    edited["caption"] = edited.pop("text")  # Telegram edits a caption as the caption
    box.push(update)
    await box.settle()
    [stored] = [m for m in await box.messages() if m.platform_message_id == str(sent)]
    assert stored.text == "see log, line 40"
    assert stored.attachments[0]["name"] == "trace.log"


async def test_replayed_update_changes_nothing(
    make_box: Callable[..., Awaitable[TgBox]],
) -> None:
    box = await make_box()
    update = box.api.message(CHATS["acme"], 5001, "hello", first_name="Alice")
    first = box.push(update)
    await box.settle()
    # Telegram resends an update it believes unacknowledged with the same update_id
    box.api._queue.append({"update_id": first, **update})
    box.api._notify()
    box.say("alice", "second")
    await box.settle()
    assert [m.text for m in await box.messages()] == ["hello", "second"]


async def test_end_to_end_on_sqlite_and_postgres(
    make_box: Callable[..., Awaitable[TgBox]], db_url: str
) -> None:
    box = await make_box(db_url=db_url)
    asked = await open_case(box, "Backups failing")
    card = box.card_id(1)
    box.press("evan", card, "take:1")
    box.say("evan", "Looking into it", reply_to=asked)
    box.push(box.api.edited_message(CHATS["acme"], 5001, asked, "Backups failing since Monday"))
    box.say("evan", "/resolve")
    await box.settle()
    csat = [m for m in box.sent("acme") if "resolved" in m["text"]][0]
    box.press("alice", csat["message_id"], "csat:1:5", chat="acme")
    await box.settle()
    case = await box.case(1)
    assert (case["status"], case["assignee"]) == ("resolved", "telegram:1001")
    assert case["first_response_at"] is not None
    texts = [m["text"] for m in case["messages"]]
    assert "Backups failing since Monday" in texts and "Looking into it" in texts
    assert {"opened", "assigned", "csat", "message_edited"} <= {e["type"] for e in case["events"]}
