"""An external group (外部群) through the real `casebot run`: a customer of another
tenant asks, a case opens with its acknowledgement in the thread, an engineer answers
and resolves there, and the customer rates the help on the CSAT card, answered in
the card callback's own response; the API shows the rating."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.bridge.test_kill import free_port
from tests.chaos.burst import wait_up
from tests.chaos.kit import BotProcess
from tests.fakes.feishu_api import CUSTOMER_TENANT, FakeFeishu, Injector
from tests.feishu.kit import EVAN, GLOBEX, TRIAGE, WANG, feishu_config

TOKEN = "feishu-token"


@pytest.mark.slow
async def test_an_external_group_case_rated_on_its_card(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with FakeFeishu() as api, aiohttp.ClientSession() as http:
        raw = feishu_config(f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", api.url)
        raw["http"] = {"host": "127.0.0.1", "port": port, "api_token": TOKEN}
        bot = BotProcess(tmp_path, raw)
        await bot.start()
        feishu = Injector(api=api)
        try:
            await wait_up(http, base)

            async def post(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
                body, headers = feishu.seal(event)
                async with http.post(f"{base}/feishu/events", data=body, headers=headers) as r:
                    return r.status, await r.json(content_type=None)

            async def case() -> dict[str, Any]:
                async with http.get(
                    f"{base}/api/v1/cases/1", headers={"Authorization": f"Bearer {TOKEN}"}
                ) as response:
                    assert response.status == 200
                    return dict(await response.json())

            asked = feishu.message(WANG, GLOBEX, "数据导出一直失败", tenant=CUSTOMER_TENANT)
            first = asked["event"]["message"]["message_id"]
            assert (await post(asked))[0] == 200
            await api.wait_for(lambda: any("#1" in t for t in api.texts(GLOBEX)))
            ack = next(m for m in api.in_chat(GLOBEX) if "#1" in m["text"])
            assert ack["parent_id"] == first and ack["reply_in_thread"]
            await api.wait_for(lambda: bool(api.in_chat(TRIAGE)))

            answer = feishu.message(
                EVAN, GLOBEX, "已修复，请再试一次", thread_root=first, parent=first
            )
            assert (await post(answer))[0] == 200
            resolve = feishu.message(EVAN, GLOBEX, "/resolve", thread_root=first, parent=first)
            assert (await post(resolve))[0] == 200

            def csat_card() -> dict[str, Any] | None:
                return next(
                    (
                        m
                        for m in api.in_chat(GLOBEX)
                        if any(b["value"].startswith("csat:") for b in m["buttons"])
                    ),
                    None,
                )

            await api.wait_for(lambda: csat_card() is not None)
            rating = csat_card()
            assert rating is not None and rating["msg_type"] == "interactive"
            assert rating["root_id"] == first  # in the case's thread
            five = next(b["value"] for b in rating["buttons"] if b["value"].endswith(":5"))
            press = feishu.press(WANG, GLOBEX, rating["message_id"], five)
            press["event"]["operator"]["tenant_key"] = CUSTOMER_TENANT
            status, body = await post(press)
            assert status == 200 and body["toast"]["content"]

            found = await case()
            for _ in range(50):
                if found["status"] == "resolved":
                    break
                await asyncio.sleep(0.1)
                found = await case()
            assert found["chat"] == f"feishu:{GLOBEX}" and found["account"] == "Globex"
            assert found["status"] == "resolved"
            csat = [e for e in found["events"] if e["type"] == "csat"]
            assert [e["data"]["score"] for e in csat] == [5]
            assert csat[0]["actor"] == f"feishu:{WANG}"
            roles = {m["sender"]: m["role"] for m in found["messages"]}
            assert roles[f"feishu:{WANG}"] == "customer" and roles[f"feishu:{EVAN}"] == "staff"
        finally:
            assert await bot.stop() == 0, bot.output()[-3000:]
    assert "Traceback" not in bot.output()
