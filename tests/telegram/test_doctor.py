"""`casebot doctor` against the fake Bot API: privacy mode, rights, webhook backlog, ids."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.telegram_doctor import Doctor
from bot.config import parse_config
from storage.directory import stored_chats
from tests.fakes.telegram_api import FakeBotApi
from tests.harness import base_config
from tests.telegram.kit import CHATS, TOKEN, TgBox, telegram_config


def config_for(api: FakeBotApi, db_url: str, **overrides: Any) -> Any:
    raw = base_config(**overrides)
    raw["storage"] = {"url": db_url}
    raw["telegram"] = telegram_config(api)
    return parse_config(raw, env={})


async def doctor(config: Any) -> tuple[int, str]:
    """As `casebot doctor` runs it: the stored chats come from the database."""
    lines: list[str] = []
    stored = await stored_chats(config.storage.url, "telegram")
    code = await Doctor(config, lines.append, stored).run()
    return code, "\n".join(lines)


async def test_doctor_finds_the_usual_problems(tmp_path: Path) -> None:
    async with FakeBotApi(token=TOKEN, can_read_all_group_messages=False) as api:
        api.add_chat(CHATS["acme"], title="Acme", bot_status="member")
        api.add_chat(CHATS["globex"], title="Globex", can_pin_messages=False)
        api.add_chat(CHATS["triage"], title="Triage")
        for i in range(120):
            api.send_text(CHATS["acme"], 5001, f"m{i}")
        api.webhook_retry_delay = 1.0
        await api._m_setWebhook({"url": "http://127.0.0.1:9/telegram/webhook"})
        await api.wait_for(lambda: api.webhook_deliveries, what="a failed delivery")
        code, out = await doctor(config_for(api, f"sqlite+aiosqlite:///{tmp_path}/none.db"))
    assert code == 1
    assert "privacy mode is on" in out and "/setprivacy" in out
    assert f"account Acme ({CHATS['acme']}): the bot is not an admin" in out
    assert f"account Globex ({CHATS['globex']}): the bot may not pin" in out
    assert "but mode is polling" in out
    assert "last webhook delivery failed" in out
    assert "120 updates are waiting" in out
    assert "triage chat" not in out.split("problem(s):")[1], "the triage chat needs no rights"
    assert not (tmp_path / "none.db").exists(), "doctor creates no database"


async def test_doctor_lists_chat_ids_without_consuming_updates(
    make_box: Callable[..., Awaitable[TgBox]], api: FakeBotApi
) -> None:
    box = await make_box(
        accounts=[
            *base_config()["accounts"][:1],
            {
                "name": "Globex",
                "tier": "standard",
                "chats": ["telegram:-100200"],
                "topics": "per_case",
            },
        ]
    )
    box.say("alice", "hi from an unknown group", chat="-100404")
    await box.settle()
    await box.stop()
    api.add_chat(-100999, title="New customer")
    api.send_text(-100999, 7001, "hello?")
    before = (api.pending_update_count, api.confirmed_update_id)
    code, out = await doctor(box.config)
    assert (api.pending_update_count, api.confirmed_update_id) == before
    assert "-100999" in out and "'New customer'" in out and "NOT in config" in out
    assert "-100404" in out, "chats casebot stored as unknown are listed"
    assert "topics = per_case, but the group has no topics" in out
    assert code == 1


async def test_doctor_all_good(api: FakeBotApi, sqlite_url: str) -> None:
    for chat_id in CHATS.values():
        api.add_chat(chat_id, title=str(chat_id))
    code, out = await doctor(config_for(api, sqlite_url))
    assert code == 0, out
    assert "no problems found" in out and "bot: @casebot" in out


async def test_doctor_cli_unreachable_api_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "casebot.toml"
    config.write_text(
        '[telegram]\ntoken = "1:x"\nbase_url = "http://127.0.0.1:9/bot"\n', encoding="utf-8"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "doctor",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2, out
    lines = out.decode().strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Telegram Bot API" in lines[0]


@pytest.mark.parametrize("secret", ["has space", "x" * 257, "ünïcode", "..."])
def test_secret_token_rules(secret: str) -> None:
    # a local Bot API may take any secret, so the config accepts it; the doctor names
    # what Telegram itself would refuse
    config = parse_config(
        {
            "telegram": {
                "token": "1:x",
                "secret_token": secret,
                "mode": "webhook",
                "webhook_url": "https://bot.example/telegram/webhook",
            }
        },
        env={},
    )
    assert config.telegram is not None and config.telegram.secret_token_problem
    ok = parse_config({"telegram": {"token": "1:x", "secret_token": "s3cret_Token-1"}}, env={})
    assert ok.telegram is not None and ok.telegram.secret_token_problem is None
