"""Isolation and permissions on the chat surface, through the real Telegram adapter and
the fake Bot API: every command naming another chat's case, from a customer and from
staff, every card button on another chat's case, and every staff-only command and
button from a customer, change nothing and reveal nothing of the other chat."""

from __future__ import annotations

from typing import Any

from cases.commands import CUSTOMER_COMMANDS, STAFF_COMMANDS
from tests.telegram.kit import TgBox

SECRET_TITLE = "globex-SECRET-title"

# every command with a #ref (and what it needs after it), so no handler is left out
WITH_REF = {
    "case": "#1 stolen",
    "assign": "#1 me",
    "priority": "#1 P1",
    "resolve": "#1",
    "reopen": "#1",
    "followup": "#1 1d call them",
    "note": "#1 a note",
    "move": "#1",
    "merge": "#1",
    "done": "#1",
    "hold": "#1",
    "login": "#1",
    "incident": "start #1 outage",
    "tag": "#1 vip",
    "untag": "#1 vip",
    "field": "#1 instance i-1",
    "link": "#1 https://github.com/acme/api/issues/1",
    "unlink": "#1",
    "wait": "#1",
    "send_draft": "#1",
    "take": "#1",
    "save": "#1",
    "snip": "#1 restart",
    "new": "#1 look",
    "status": "#1",
    "help": "#1",
    "start": "#1",
}


async def _two_chats(box: TgBox) -> tuple[dict[str, Any], int]:
    """Case #1 in Globex (automatic intake), case #2 in Acme; returns #1 as stored and
    the id of an Acme message of case #2 that commands can reply to."""
    box.say("carol", f"{SECRET_TITLE}: database timeouts", chat="globex")
    await box.settle()
    first = box.say("alice", "acme printer jammed")
    box.say("evan", "/case printer", reply_to=first)
    await box.settle()
    return await box.case(1), first


def _leaks(texts: list[str]) -> list[str]:
    return [t for t in texts if SECRET_TITLE in t or "database timeouts" in t]


async def test_every_command_naming_another_chats_case(box: TgBox) -> None:
    assert set(WITH_REF) == STAFF_COMMANDS | CUSTOMER_COMMANDS
    before, first = await _two_chats(box)
    globex_sent = len(box.sent("globex"))
    for who in ("alice", "evan"):
        for name, args in WITH_REF.items():
            box.say(who, f"/{name} {args}", reply_to=first)
            await box.settle()
    after = await box.case(1)
    assert after == before, "the other chat's case is untouched"
    assert _leaks(box.texts("acme")) == [], "no reply in Acme names Globex's case"
    assert len(box.sent("globex")) == globex_sent, "nothing went to the other chat"
    acme_case = await box.case(2)
    assert [m["text"] for m in acme_case["messages"] if m["role"] == "customer"][:1] == [
        "acme printer jammed"
    ], "the message was not moved or merged away"
    # the control: the same staff command on this chat's own case does act
    box.say("evan", "/priority #2 P1")
    await box.settle()
    assert (await box.case(2))["priority"] == "P1"


async def test_buttons_on_another_chats_case(box: TgBox) -> None:
    before, first = await _two_chats(box)
    acme_before = await box.case(2)
    presses = []
    for who in ("alice", "evan"):
        for data in ("take:1", "resolve:1", "prio:1:P1", "csat:1:1", "csat:1:5", "bogus:1"):
            presses.append(box.press(who, first, data, chat="acme"))
    # a customer pressing the triage card of their own case: staff only
    card = box.card_id(2)
    for data in ("take:2", "resolve:2", "prio:2:P1"):
        presses.append(box.press("alice", card, data, chat="triage"))
    await box.settle()
    assert await box.case(1) == before
    after = await box.case(2)
    assert (after["assignee"], after["status"], after["priority"]) == (
        acme_before["assignee"],
        acme_before["status"],
        acme_before["priority"],
    )
    answers = [box.api.callback_answers.get(p, {}).get("text", "") for p in presses]
    assert all(answers), "every press is answered"
    assert not any(a.startswith(("Done", "Thanks")) for a in answers), answers
    assert _leaks(answers) == []
    # the control: staff pressing a button of this chat's own case in triage does act
    answered = box.press("evan", card, "prio:2:P2", chat="triage")
    await box.settle()
    assert (await box.case(2))["priority"] == "P2"
    assert box.api.callback_answers[answered]["text"].startswith("Done")


async def test_staff_only_commands_from_a_customer(box: TgBox) -> None:
    first = box.say("alice", "acme printer jammed")
    box.say("evan", "/case printer", reply_to=first)
    await box.settle()
    before = await box.case(1)
    for name in sorted(STAFF_COMMANDS):
        sent = len(box.sent("acme"))
        box.say("bob", f"/{name} {WITH_REF[name]}", reply_to=first)
        await box.settle()
        replies = box.texts("acme")[sent:]
        assert replies == [f"Sorry, /{name} is for the support team."], (name, replies)
    after = await box.case(1)
    assert after["status"] == before["status"] and after["assignee"] == before["assignee"]
    assert after["priority"] == before["priority"]
    assert [e["type"] for e in after["events"]] == [e["type"] for e in before["events"]]
    assert all(not m["internal"] for m in after["messages"]), "no note got in"


async def test_staff_in_the_group_reveal_nothing_internal(box: TgBox) -> None:
    """Staff /status in a customer group printed an internal follow-up into it; a
    follow-up's confirmation, a note and a mistyped command must not leak either."""
    first = box.say("alice", "acme printer jammed")
    box.say("evan", "/case printer", reply_to=first)
    await box.settle()
    before = len(box.texts("acme"))
    box.say("evan", "/followup 1d @erin check logs on node 7")
    box.say("evan", "/note the customer runs an unsupported firmware")
    box.say("evan", "/status")
    box.say("evan", "/reslove")
    await box.settle()
    seen = box.texts("acme")[before:]
    assert not [t for t in seen if "check logs" in t or "follow-up" in t or "firmware" in t]
    assert not [t for t in seen if "telegram:" in t]
    assert "Open cases (1):\n#1 printer · new · P3" in seen, "the customer's view of /status"
    assert "Unknown command /reslove; see /help." in seen
    triage = "\n".join(box.texts("triage"))
    assert "Follow-up 1 on case #1" in triage and "firmware" in triage
    case = await box.case(1)
    assert case["status"] == "new" and case["first_response_at"] is None
