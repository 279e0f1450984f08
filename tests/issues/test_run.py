"""Issue links in the running program: `casebot run` against the fake Bot API, a case
linked and waiting from chat, a signed GitLab webhook to the running HTTP server, and
the draft in triage, sent to the customer only by /send_draft."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fakes.emulate import free_port
from tests.fakes.telegram_api import FakeBotApi
from tests.test_contract import _until

CUSTOMER, ENGINEER = 5001, 1001
ACME, TRIAGE = -100100, -100500
SECRET = "gitlab-hook-secret"

CONFIG = """
[storage]
url = "sqlite+aiosqlite:///./casebot.db"
[http]
host = "127.0.0.1"
port = {port}
api_token = "run-api-token"
[telegram]
token = "123456:ABC-issues"
base_url = "{bot_api}"
poll_timeout = "1s"
[staff]
engineers = ["telegram:1001"]
triage_chat = "telegram:-100500"
[[accounts]]
name = "Acme"
chats = ["telegram:-100100"]
[trackers.gitlab]
webhook_secret = "{secret}"
"""


@pytest.mark.slow
async def test_link_wait_close_and_send_through_casebot_run(tmp_path: Path) -> None:
    port = free_port()
    async with FakeBotApi(token="123456:ABC-issues") as api:
        api.add_chat(ACME, title="Acme support")
        api.add_chat(TRIAGE, title="Triage")
        config = tmp_path / "casebot.toml"
        config.write_text(CONFIG.format(port=port, bot_api=api.base_url, secret=SECRET))
        log = (tmp_path / "run.log").open("wb")
        proc = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("casebot")),
            "run",
            "--config",
            str(config),
            cwd=tmp_path,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        root = f"http://127.0.0.1:{port}"
        token = {"Authorization": "Bearer run-api-token"}
        try:
            async with aiohttp.ClientSession() as http:

                async def up() -> bool:
                    try:
                        async with http.get(f"{root}/healthz") as r:
                            return r.status == 200
                    except aiohttp.ClientError:
                        return False

                async def case() -> dict[str, Any]:
                    async with http.get(f"{root}/api/v1/cases/1", headers=token) as r:
                        return dict(await r.json()) if r.status == 200 else {}

                await _until(up, 30)
                asked = api.send_text(ACME, CUSTOMER, "exports time out", first_name="Alice")
                mid = asked["message"]["message_id"]
                api.send_text(ACME, ENGINEER, "/case", first_name="Evan", reply_to=mid)
                api.send_text(
                    ACME,
                    ENGINEER,
                    "/link https://gitlab.com/acme/api/-/issues/5 wait",
                    first_name="Evan",
                    reply_to=mid,
                )

                async def waiting() -> bool:
                    return (await case()).get("status") == "waiting_on_issue"

                await _until(waiting)
                body = (
                    b'{"object_kind": "issue", "project": {"path_with_namespace": "acme/api"},'
                    b' "object_attributes": {"iid": 5, "title": "Export timeouts",'
                    b' "state": "closed"}}'
                )
                hook = f"{root}/trackers/gitlab/webhook"
                async with http.post(hook, data=body, headers={"X-Gitlab-Token": "wrong"}) as r:
                    assert r.status == 401
                async with http.post(hook, data=body, headers={"X-Gitlab-Token": SECRET}) as r:
                    assert r.status == 202, await r.text()

                async def reopened() -> bool:
                    return (await case()).get("status") == "open"

                await _until(reopened)
                before = len(api.sent_to(ACME))

                async def drafted() -> bool:
                    return any("Draft:" in m.get("text", "") for m in api.sent_to(TRIAGE))

                await _until(drafted)
                assert not any("has been fixed" in m.get("text", "") for m in api.sent_to(ACME))
                api.send_text(TRIAGE, ENGINEER, "/send_draft #1", first_name="Evan")

                async def told() -> bool:
                    sent = api.sent_to(ACME)[before:]
                    return any("has been fixed" in m.get("text", "") for m in sent)

                await _until(told)
                found = await case()
                assert found["issues"][0]["state"] == "closed"
                assert found["issues"][0]["title"] == "Export timeouts"
        finally:
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 30)
            log.close()
        output = (tmp_path / "run.log").read_text()
        assert code == 0, output[-2000:]
        assert "Traceback" not in output, output[-2000:]
