"""What an acceptance test of its own would try: `casebot run` with nothing but
`[slack]` (no Telegram at all, every Slack setting at its default), fed the message
shapes Slack really sends: other channels, other bots, joins, files, Block Kit text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tests.fakes.emulate import free_port
from tests.slack.conftest import Running
from tests.slack.kit import (
    CUSTOMERS,
    SECRET,
    TOKEN,
    VENDOR_TEAM,
    Emulator,
    callback,
    message_event,
    next_ts,
    post_event,
    query,
)

Make = Callable[..., Awaitable[Running]]


def slack_only(emu: Emulator, db_url: str) -> dict[str, Any]:
    u, c = emu.users, emu.channels
    return {
        "storage": {"url": db_url},
        "http": {"host": "127.0.0.1", "port": free_port()},
        "slack": {"bot_token": TOKEN, "signing_secret": SECRET, "base_url": emu.base_url},
        "staff": {"engineers": [f"slack:{u['evan']}"], "triage_chat": f"slack:{c['triage']}"},
        "accounts": [
            {"name": "Acme", "chats": [f"slack:{c['acme-shared']}"], "intake": "tag"},
            {"name": "Globex", "chats": [f"slack:{c['globex']}"], "intake": "auto"},
        ],
    }


def rich_text(*parts: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "type": "rich_text",
            "block_id": "b1",
            "elements": [{"type": "rich_text_section", "elements": list(parts)}],
        }
    ]


async def test_a_slack_only_config_serves_what_slack_sends(
    emu: Emulator, make_bot: Make, tmp_path: Path
) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'casebot.db'}"
    bot = await make_bot(slack_only(emu, db))
    acme, globex = emu.channels["acme-shared"], emu.channels["globex"]
    alice, bob = CUSTOMERS["alice"], CUSTOMERS["bob"]

    async def send(payload: dict[str, Any]) -> None:
        assert await post_event(bot.http, bot.events, payload) == 200

    # a channel in no account, another app's post and a join: stored or not, no case
    await send(message_event("CNOACCOUNT", alice, "hello?"))
    bot_post = {"type": "message", "subtype": "bot_message", "bot_id": "B0OTHER", "text": "ok"}
    await send(callback({**bot_post, "channel": globex, "ts": next_ts()}))
    await send(message_event(globex, "UJOINER01", "joined", subtype="channel_join"))
    # a message whose words are only in its Block Kit rich text (auto intake: a case)
    blocks_only = message_event(globex, bob, "", ts=next_ts())
    del blocks_only["event"]["text"]
    blocks_only["event"]["blocks"] = rich_text(
        {"type": "text", "text": "billing page "}, {"type": "text", "text": "returns 500"}
    )
    await send(blocks_only)
    # a file with a comment is someone writing
    files = [{"id": "F0001", "name": "error.png", "mimetype": "image/png"}]
    shot = next_ts()
    await send(
        message_event(globex, alice, "screenshot", ts=shot, subtype="file_share", files=files)
    )
    # :ticket: on a reply inside a thread (tag intake): the case keeps to that thread
    root, reply = next_ts(), next_ts()
    await send(message_event(acme, alice, "a question", ts=root))
    await send(message_event(acme, alice, "exports fail", ts=reply, thread_ts=root))
    ticket = {"type": "reaction_added", "user": emu.users["evan"], "reaction": "ticket"}
    await send(callback({**ticket, "item": {"type": "message", "channel": acme, "ts": reply}}))

    async def three() -> Any:
        rows = await query(db, "SELECT title, thread, source_message_id FROM cases ORDER BY id")
        return rows if len(rows) >= 3 else None

    cases = await emu.wait_for(three)
    assert cases, bot.bot.output()[-3000:]
    assert len(cases) == 3
    titles = {title: (thread, source) for title, thread, source in cases}
    assert titles.get("billing page returns 500"), cases
    assert titles["screenshot"] == (shot, shot)
    assert titles["exports fail"] == (root, reply)
    acks = await emu.wait_for(lambda: emu.replies(acme, root))
    assert acks and acks[0]["thread_ts"] == root
    kept = await query(
        db, f"SELECT attachments FROM messages WHERE platform_message_id = '{shot}'"
    )
    assert "F0001" in str(kept), kept


async def test_a_mention_in_a_thread_opens_the_case_of_its_root(
    emu: Emulator, make_bot: Make, tmp_path: Path
) -> None:
    """Slack has no reply to one message but the thread: `@casebot case Title` typed in
    the thread of a customer's untracked message opens the case of that message, as
    `/case` in reply to it does on Telegram."""
    db = f"sqlite+aiosqlite:///{tmp_path / 'casebot.db'}"
    bot = await make_bot(slack_only(emu, db))
    acme, evan, me = emu.channels["acme-shared"], emu.users["evan"], emu.users["casebot"]
    root = next_ts()
    question = message_event(acme, CUSTOMERS["alice"], "exports fail", ts=root)
    assert await post_event(bot.http, bot.events, question) == 200
    command = message_event(
        acme, evan, f"<@{me}> case Exports broken", thread_ts=root, user_team=VENDOR_TEAM
    )
    assert await post_event(bot.http, bot.events, command) == 200

    acks = await emu.wait_for(lambda: emu.replies(acme, root))
    assert acks, bot.bot.output()[-3000:]
    rows = await query(db, "SELECT title, thread, source_message_id, last_customer_at FROM cases")
    assert [r[:3] for r in rows] == [("Exports broken", root, root)]
    assert rows[0][3] is not None  # the customer's question is the case's first message
