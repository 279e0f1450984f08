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
from tests.telegram.kit import CHATS, TOKEN, TgBox, telegram_config, web_server


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


async def _doctor_cli(config: Path) -> tuple[int | None, list[str]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "doctor",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, (out + err).decode().strip().splitlines()


async def test_doctor_cli_unreachable_api_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "casebot.toml"
    config.write_text(
        '[telegram]\ntoken = "1:x"\nbase_url = "http://127.0.0.1:9/bot"\n', encoding="utf-8"
    )
    code, lines = await _doctor_cli(config)
    assert code == 2, lines
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


def problems(out: str) -> dict[str, str]:
    """Each printed problem with the fix printed under it."""
    lines = out.split("problem(s):", 1)[-1].splitlines()
    found: dict[str, str] = {}
    for line, after in zip(lines, [*lines[1:], ""], strict=True):
        if line.startswith("PROBLEM: "):
            assert after.startswith("  fix: "), f"no fix under {line!r}"
            found[line.removeprefix("PROBLEM: ")] = after.removeprefix("  fix: ")
    return found


def fix_for(found: dict[str, str], starts: str) -> str:
    [fix] = [fix for what, fix in found.items() if what.startswith(starts)] or [None]
    assert fix is not None, f"no problem starting {starts!r} in {list(found)}"
    return fix


async def test_doctor_configured_chats_the_bot_is_not_in(api: FakeBotApi, sqlite_url: str) -> None:
    # acme never had the bot, globex removed it, the bot left triage
    api.add_chat(CHATS["globex"], title="Globex", bot_status="kicked")
    api.add_chat(CHATS["triage"], title="Triage", bot_status="left")
    code, out = await doctor(config_for(api, sqlite_url))
    assert code == 1, out
    found = problems(out)
    assert len(found) == 3, found
    for where in (f"account Acme ({CHATS['acme']})", f"triage chat ({CHATS['triage']})"):
        fix = fix_for(found, f"{where}: the bot is not in this chat")
        assert "Add members" in fix and "check the id" in fix
    assert "(Forbidden: bot is not a member of the supergroup chat)" in out, "Telegram's reason"
    # Telegram answers a removed bot with 403 before getChatMember could say "kicked"
    globex = f"account Globex ({CHATS['globex']})"
    fix = fix_for(found, f"{globex}: the bot was removed from this chat (kicked)")
    assert "Add members" in fix and "Removed users" in fix and "check the id" not in fix
    assert not any("admin" in what or "pin" in what for what in found), "no rights asked of it"


def per_case_topics(acme_topics: str = "per_case") -> list[dict[str, Any]]:
    accounts = base_config()["accounts"]
    accounts[0] = {**accounts[0], "topics": acme_topics}
    return list(accounts)


async def test_doctor_topics_need_manage_topics(api: FakeBotApi, sqlite_url: str) -> None:
    api.add_chat(CHATS["acme"], title="Acme", is_forum=True, can_manage_topics=False)
    api.add_chat(CHATS["globex"], title="Globex", is_forum=True, can_manage_topics=False)
    api.add_chat(CHATS["triage"], title="Triage")
    code, out = await doctor(config_for(api, sqlite_url, accounts=per_case_topics()))
    assert code == 1, out
    found = problems(out)
    where = f"account Acme ({CHATS['acme']})"
    fix = fix_for(found, f"{where}: topics = per_case, but the bot may not manage topics")
    assert "enable 'Manage topics'" in fix
    assert len(found) == 1, "Globex has topics off, so the right is not asked for there"


async def test_doctor_topics_right_asked_with_admin(api: FakeBotApi, sqlite_url: str) -> None:
    api.add_chat(CHATS["acme"], title="Acme", is_forum=True, bot_status="member")
    api.add_chat(CHATS["globex"], title="Globex", bot_status="member")
    api.add_chat(CHATS["triage"], title="Triage")
    code, out = await doctor(config_for(api, sqlite_url, accounts=per_case_topics()))
    assert code == 1, out
    found = problems(out)
    acme = fix_for(found, f"account Acme ({CHATS['acme']}): the bot is not an admin")
    globex = fix_for(found, f"account Globex ({CHATS['globex']}): the bot is not an admin")
    assert "'Pin messages' and 'Manage topics'" in acme
    assert "'Pin messages'" in globex and "Manage topics" not in globex


async def test_doctor_topics_all_good(api: FakeBotApi, sqlite_url: str) -> None:
    api.add_chat(CHATS["acme"], title="Acme", is_forum=True)
    api.add_chat(CHATS["globex"], title="Globex")
    api.add_chat(CHATS["triage"], title="Triage")
    code, out = await doctor(config_for(api, sqlite_url, accounts=per_case_topics()))
    assert code == 0, out
    assert "no problems found" in out


@pytest.mark.parametrize("status", [200, 404, 500])
async def test_doctor_cli_against_a_server_that_is_not_the_bot_api(
    tmp_path: Path, status: int
) -> None:
    """Any web server: it answers 200, or 404 for a path it does not know (which PTB
    reads as a rejected token), or 500, and never in JSON as the Bot API always does."""
    from aiohttp import web

    page = web.Response(
        status=status, text="<html><body>It works!</body></html>", content_type="text/html"
    )
    async with web_server(page) as base_url:
        config = tmp_path / "casebot.toml"
        config.write_text(
            f'[telegram]\ntoken = "1:x"\nbase_url = "{base_url}"\n', encoding="utf-8"
        )
        code, lines = await _doctor_cli(config)
    assert code == 2, lines
    assert len(lines) == 1 and "answers, but not as the Telegram Bot API" in lines[0], lines


async def test_doctor_cli_names_an_answer_ptb_cannot_read(tmp_path: Path) -> None:
    """An independent Bot API implementation leaves `can_post_stories` out of an
    administrator: PTB's ChatMemberAdministrator cannot be built without it."""
    async with FakeBotApi(token=TOKEN, can_read_all_group_messages=True) as api:
        for chat_id in CHATS.values():
            api.add_chat(chat_id, title=str(chat_id))
        api.omit_admin_fields = {"can_post_stories"}
        config = tmp_path / "casebot.toml"
        config.write_text(
            f'[storage]\nurl = "sqlite+aiosqlite:///{tmp_path / "c.db"}"\n'
            f'[telegram]\ntoken = "{TOKEN}"\nbase_url = "{api.base_url}"\n'
            f'[[accounts]]\nname = "Acme"\nchats = ["telegram:{CHATS["acme"]}"]\n',
            encoding="utf-8",
        )
        code, lines = await _doctor_cli(config)
    assert code == 2, lines
    assert not any("Traceback" in line for line in lines), lines
    assert "cannot read (TypeError" in lines[-1], lines
