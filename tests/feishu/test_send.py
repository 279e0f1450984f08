"""Feishu's send limits and what the adapter does with an outbox row it cannot carry
out as asked: the per-group rate (pure, with the time handed in), a DM to a person the
app cannot reach, the board pinned, a card whose message is gone sent anew."""

from __future__ import annotations

import asyncio

import pytest

from adapters.base import AdapterConfigError, Delivery, DeliveryError
from adapters.feishu_api import SendLimit
from tests.fakes.feishu_api import FakeFeishu
from tests.feishu.kit import ACME, ALICE, EVAN, TRIAGE, FeishuBox
from tests.stalled_loop import most_within, released_after_a_stall


def test_five_a_second_per_group_and_a_long_wait_goes_back_to_the_outbox() -> None:
    limit = SendLimit(per_chat=5, per_app=50, max_wait=2.0)
    waits = [limit.reserve("oc_a", now=100.0) for _ in range(5)]
    assert waits == [0.0] * 5
    assert limit.reserve("oc_a", now=100.0) == pytest.approx(1.0)  # the sixth: next second
    assert limit.reserve("oc_b", now=100.0) == 0.0  # another group has its own budget
    for _ in range(9):
        limit.reserve("oc_a", now=100.0)
    with pytest.raises(DeliveryError) as raised:
        limit.reserve("oc_a", now=100.0)
    assert raised.value.retry_after is not None and raised.value.retry_after > 2.0


def test_the_app_wide_rate_holds_across_groups() -> None:
    limit = SendLimit(per_chat=5, per_app=10, max_wait=5.0)
    waits = [limit.reserve(f"oc_{i}", now=0.0) for i in range(11)]
    assert waits[:10] == [0.0] * 10 and waits[10] == pytest.approx(1.0)


async def test_sends_whose_slots_a_stalled_loop_let_pass_still_keep_both_rates() -> None:
    """Slots are booked ahead: after the event loop was busy past the windows of the
    waiting sends, they all went out at once, over the group's rate and the app's."""
    limit = SendLimit(per_chat=2, per_app=3, window=0.1)
    released = await released_after_a_stall(limit.pace, ["oc_a", "oc_b"] * 6)
    # the windows of 0.1 s, less a margin for the timer
    for chat, times in released.items():
        assert most_within(times, 0.09) <= 2, f"over the group's rate in {chat}: {times}"
    every = [t for times in released.values() for t in times]
    assert most_within(every, 0.09) <= 3, f"over the app's rate: {sorted(every)}"
    # a group waits for its own sends only
    slow = SendLimit(per_chat=1, per_app=50, window=5.0)
    await slow.pace("oc_a")
    await asyncio.wait_for(slow.pace("oc_b"), 1.0)


async def test_a_dm_the_app_cannot_deliver_is_named_in_triage(box: FeishuBox) -> None:
    box.api.chats["ou_ext"] = {"unreachable": True}
    adapter = box.app.adapters["feishu"]
    receipt = await adapter.deliver(
        Delivery(
            id=7,
            kind="dm",
            platform="feishu",
            chat="ou_ext",
            purpose="nudge",
            payload={"text": "case #4 is waiting"},
            person="feishu:ou_ext",
        )
    )
    assert receipt.chat == TRIAGE and receipt.notes == ("dm_fallback",)
    assert "case #4 is waiting" in box.api.texts(TRIAGE)[-1]
    with pytest.raises(DeliveryError) as raised:
        await adapter.deliver(
            Delivery(
                id=8,
                kind="dm",
                platform="feishu",
                chat="ou_ext",
                purpose="login",
                payload={"text": "sign-in link"},
            )
        )
    assert raised.value.permanent and "sign-in link" not in box.api.texts(TRIAGE)[-1]


async def test_the_board_is_a_pinned_card_edited_in_place(box: FeishuBox) -> None:
    await box.say(ALICE, ACME, "printer offline")
    await box.say(EVAN, ACME, "/case", parent=box.last_message_id)
    api = box.api
    await box.drained()
    boards = [m for m in api.in_chat(ACME) if m["msg_type"] == "interactive"]
    assert boards and boards[0]["message_id"] in api.pins
    await box.say(EVAN, ACME, "/resolve", parent=box.last_message_id)
    await box.drained()
    assert boards[0]["message_id"] in [e["message_id"] for e in api.edits]
    assert len([m for m in api.in_chat(ACME) if m["message_id"] in api.pins]) == 1


async def test_a_card_whose_message_is_gone_is_sent_anew(box: FeishuBox) -> None:
    adapter = box.app.adapters["feishu"]
    receipt = await adapter.deliver(
        Delivery(
            id=9,
            kind="upsert",
            platform="feishu",
            chat=TRIAGE,
            purpose="card",
            payload={"text": "#1 card"},
            anchor="card:1",
            anchor_message_id="om_recalled",
        )
    )
    assert receipt.message_id and receipt.message_id != "om_recalled"
    assert box.api.texts(TRIAGE) == ["#1 card"]


async def test_a_refused_app_secret_stops_start_up_naming_the_key(
    api: FakeFeishu, sqlite_url: str
) -> None:
    box = FeishuBox(api, sqlite_url, feishu={"app_secret": "wrong"})
    with pytest.raises(AdapterConfigError, match=r"^feishu\.app_secret: "):
        await box.start()
    await box.app.stop()


async def test_an_expired_token_answered_with_401_is_fetched_again(box: FeishuBox) -> None:
    # Feishu answers a token past its time with 99991677 ("Authentication token
    # expired"), and some gateways with a bare HTTP 401: either is a token to renew,
    # not a message to give up on
    adapter = box.app.adapters["feishu"]
    for status, code in ((400, 99991677), (401, 0)):
        box.api.fail_next(status, code)
        row = Delivery(
            id=status,
            kind="send",
            platform="feishu",
            chat=ACME,
            purpose="reply",
            payload={"text": f"after {status}"},
        )
        receipt = await adapter.deliver(row)
        assert receipt.message_id and f"after {status}" in box.api.texts(ACME)
