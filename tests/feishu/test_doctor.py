"""`casebot doctor` against the fake Open API: a missing scope, an app version not
allowed in external groups, a chat in confidential mode and a chat the bot is not in
are each named with their fix; a healthy setup has none."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from tests.chaos.kit import to_toml
from tests.fakes.feishu_api import FakeFeishu
from tests.feishu.kit import ACME, GLOBEX, TRIAGE, feishu_config


def write(tmp_path: Path, api: FakeFeishu) -> str:
    raw = feishu_config(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", api.url)
    path = tmp_path / "casebot.toml"
    path.write_text(to_toml(raw), encoding="utf-8")
    return str(path)


def chats(api: FakeFeishu) -> None:
    api.chats[ACME] = {"name": "Acme support", "external": False}
    api.chats[GLOBEX] = {"name": "Globex 外部群", "external": True}
    api.chats[TRIAGE] = {"name": "Triage", "external": False}


async def run(config: str) -> int:
    import asyncio

    return await asyncio.to_thread(main, ["doctor", "--config", config])


async def test_a_healthy_setup_has_no_problems(
    tmp_path: Path, api: FakeFeishu, capsys: pytest.CaptureFixture[str]
) -> None:
    chats(api)
    assert await run(write(tmp_path, api)) == 0
    out = capsys.readouterr().out
    assert "no problems found" in out and "external" in out


async def test_each_problem_is_named_with_its_fix(
    tmp_path: Path, api: FakeFeishu, capsys: pytest.CaptureFixture[str]
) -> None:
    chats(api)
    api.scopes.remove("im:message.group_msg")
    api.external_allowed = False
    api.chats[ACME]["restricted_mode_setting"] = {"status": True}
    del api.chats[TRIAGE]
    assert await run(write(tmp_path, api)) == 1
    out = capsys.readouterr().out
    assert "im:message.group_msg is not granted" in out
    assert "external groups" in out and "Globex" in out
    assert "confidential mode" in out and "no longer" in out
    assert f"chat {TRIAGE} cannot be read" in out
    assert out.count("fix:") == 5


async def test_a_wrong_secret_is_one_problem(
    tmp_path: Path, api: FakeFeishu, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = feishu_config(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", api.url)
    raw["feishu"]["app_secret"] = "wrong"
    path = tmp_path / "casebot.toml"
    path.write_text(to_toml(raw), encoding="utf-8")
    assert await run(str(path)) == 1
    assert "feishu.app_secret" in capsys.readouterr().out
