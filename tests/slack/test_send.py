"""The Slack adapter's sending against a small fake Web API: 429 with Retry-After is
handed to the dispatcher with its wait, Slack's refusals are permanent, an edited
board whose message is gone is posted anew and pinned, and a channel is paced."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web

from adapters.base import DeliveryError
from adapters.slack import SlackAdapter
from adapters.slack_config import SlackConfig
from adapters.slack_send import ChannelPacer
from bot.texts import Catalogue
from cases.clock import FrozenClock
from cases.delivery import Delivery
from cases.model import Button
from tests.stalled_loop import released_after_a_stall


class FakeWebApi:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.script: dict[str, list[web.Response]] = {}

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls.append((method, await request.json() if request.can_read_body else {}))
        queued = self.script.get(method)
        if queued:
            return queued.pop(0)
        if method == "conversations.open":
            return web.json_response({"ok": True, "channel": {"id": "D1"}})
        return web.json_response({"ok": True, "channel": "C1", "ts": f"1.{len(self.calls):06d}"})


@pytest.fixture
async def api() -> AsyncIterator[tuple[FakeWebApi, str]]:
    fake = FakeWebApi()
    app = web.Application()
    app.router.add_post("/api/{method}", fake.handle)
    app.router.add_post("/hook/{method}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield fake, f"http://127.0.0.1:{port}/api/"
    await runner.cleanup()


def adapter(base_url: str) -> SlackAdapter:
    config = SlackConfig(
        bot_token="xoxb-1", signing_secret="s", base_url=base_url, channel_interval="0s"
    )
    return SlackAdapter(config, FrozenClock(datetime(2026, 3, 2, tzinfo=UTC)), texts=Catalogue())


def delivery(kind: str = "send", **values: Any) -> Delivery:
    text = values.pop("text", "case #12 opened")
    return Delivery(1, kind, "slack", "C1", "ack", {"text": text}, **values)


async def test_429_hands_its_retry_after_to_the_dispatcher(api: tuple[FakeWebApi, str]) -> None:
    fake, url = api
    fake.script["chat.postMessage"] = [
        web.json_response(
            {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "7"}
        )
    ]
    slack = adapter(url)
    with pytest.raises(DeliveryError) as caught:
        await slack.deliver(delivery(thread="1.5"))
    assert caught.value.retry_after == 7 and not caught.value.permanent
    receipt = await slack.deliver(delivery(thread="1.5"))
    assert receipt.message_id
    method, body = fake.calls[-1]
    assert method == "chat.postMessage" and body["thread_ts"] == "1.5"
    assert body["text"] == "case *#12* opened"


async def test_slacks_refusals_are_permanent(api: tuple[FakeWebApi, str]) -> None:
    fake, url = api
    fake.script["chat.postMessage"] = [web.json_response({"ok": False, "error": "not_in_channel"})]
    with pytest.raises(DeliveryError) as caught:
        await adapter(url).deliver(delivery())
    assert caught.value.permanent


async def test_a_board_whose_message_is_gone_is_posted_anew_and_pinned(
    api: tuple[FakeWebApi, str],
) -> None:
    fake, url = api
    fake.script["chat.update"] = [web.json_response({"ok": False, "error": "message_not_found"})]
    board = delivery(
        "upsert",
        text="open cases",
        anchor="board:1",
        anchor_message_id="1.000001",
        pin=True,
        buttons=((Button("Take", "take:1"),),),
    )
    receipt = await adapter(url).deliver(board)
    assert [m for m, _ in fake.calls] == ["chat.update", "chat.postMessage", "pins.add"]
    assert "pinned" in receipt.notes
    posted = fake.calls[1][1]
    assert posted["blocks"][-1]["elements"][0]["value"] == "take:1"


def test_the_pacer_spaces_a_channel_and_hands_long_waits_back() -> None:
    pacer = ChannelPacer(interval=1.0, longest_wait=2.5)
    assert pacer.reserve("C1") == 0
    assert 0 < pacer.reserve("C1") <= 1.0
    assert pacer.reserve("C2") == 0  # another channel has its own turn
    assert pacer.reserve("C1") <= 2.0
    with pytest.raises(DeliveryError) as caught:
        pacer.reserve("C1")
    assert caught.value.retry_after is not None and caught.value.retry_after > 2.5


async def test_sends_whose_slots_a_stalled_loop_let_pass_still_go_out_paced_per_channel() -> None:
    """A channel's slots are booked ahead: after the event loop was busy past the slots of
    its waiting sends, they all went out at once, above the pace Slack asks."""
    pacer = ChannelPacer(interval=0.02)
    released = await released_after_a_stall(pacer.pace, ["C1", "C2"] * 10)
    for channel, times in released.items():
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert min(gaps) >= 0.019, f"{sum(g < 0.019 for g in gaps)} sends in {channel} together"
    # a channel waits for its own sends only
    slow = ChannelPacer(interval=5.0)
    await slow.pace("C1")
    await asyncio.wait_for(slow.pace("C2"), 1.0)


async def test_a_press_is_answered_ephemerally_through_its_response_url(
    api: tuple[FakeWebApi, str],
) -> None:
    fake, url = api
    hook = url.replace("/api/", "/hook/") + "T1-B1-x"
    receipt = await adapter(url).deliver(delivery("answer", text="Taken", callback_id=hook))
    assert receipt.notes == ()
    assert fake.calls == [
        ("T1-B1-x", {"text": "Taken", "response_type": "ephemeral", "replace_original": False})
    ]


async def test_a_dm_nobody_can_receive_goes_to_the_fallback_chat(
    api: tuple[FakeWebApi, str],
) -> None:
    fake, url = api
    slack = adapter(url)
    receipt = await slack.deliver(delivery("dm", text="nudge #3", person="slack:U7"))
    assert [m for m, _ in fake.calls] == ["conversations.open", "chat.postMessage"]
    fake.calls.clear()
    fake.script["conversations.open"] = [
        web.json_response({"ok": False, "error": "user_not_found"})
    ]
    dm = Delivery(
        2,
        "dm",
        "slack",
        "U9",
        "nudge",
        {"text": "nudge #3"},
        person="slack:U9",
        fallback_chat="slack:CTRIAGE",
    )
    receipt = await slack.deliver(dm)
    assert receipt.chat == "CTRIAGE" and receipt.notes == ("dm_fallback",)
    posted = fake.calls[-1][1]
    assert posted["channel"] == "CTRIAGE" and "nudge *#3*" in posted["text"]
    login = Delivery(
        3, "dm", "slack", "U8", "login", {"text": "link"}, fallback_chat="slack:CTRIAGE"
    )
    fake.script["conversations.open"] = [
        web.json_response({"ok": False, "error": "user_not_found"})
    ]
    with pytest.raises(DeliveryError) as caught:
        await slack.deliver(login)
    assert caught.value.permanent
