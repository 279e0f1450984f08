"""The acceptance contract of DESIGN.md, run the way a user runs casebot: the
contract's example config as written (only the addresses point at loopback),
`casebot run` as a subprocess against the fake Bot API, then the API and
`casebot export`, then a clean SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.contract import CASE_FIELDS, CONTRACT_CONFIG, EVENT_FIELDS, MESSAGE_FIELDS
from tests.fakes.telegram_api import FakeBotApi

CUSTOMER, ENGINEER = 5001, 1001
ACME = -100100


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _casebot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("casebot")), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


async def _until(check: Any, timeout: float = 15.0) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = await check()
        if found:
            return found
        if loop.time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


def _assert_contract_case(case: dict[str, Any]) -> None:
    assert set(case) >= CASE_FIELDS, CASE_FIELDS - set(case)
    assert case["ref"] == f"#{case['id']}"
    for message in case["messages"]:
        assert set(message) >= MESSAGE_FIELDS
        assert message["role"] in ("customer", "staff", "bot")
    for event in case["events"]:
        assert set(event) >= EVENT_FIELDS
    for key in ("created_at", "first_response_at", "resolved_at"):
        assert case[key].endswith(("Z", "+00:00")), (key, case[key])


@pytest.mark.slow
async def test_the_contract_end_to_end(tmp_path: Path) -> None:
    port = _free_port()
    async with FakeBotApi(token="123456:ABC-contract") as api:
        api.add_chat(ACME, title="Acme support")
        api.add_chat(-100500, title="Triage")
        config = tmp_path / "casebot.toml"
        # the contract's example as written; only its addresses point at loopback
        config.write_text(
            CONTRACT_CONFIG.replace("port = 8080", f"port = {port}")
            .replace('api_token = "..."', 'api_token = "contract-api-token"')
            .replace('token = "123456:ABC..."', 'token = "123456:ABC-contract"')
            .replace("https://api.telegram.org/bot", api.base_url)
        )
        assert _casebot("check-config", "--config", str(config), cwd=tmp_path).returncode == 0
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
        base = f"http://127.0.0.1:{port}/api/v1"
        token = {"Authorization": "Bearer contract-api-token"}
        try:
            async with aiohttp.ClientSession() as http:

                async def up() -> bool:
                    try:
                        async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                            return r.status == 200
                    except aiohttp.ClientError:
                        return False

                await _until(up, 30)
                asked = api.send_text(ACME, CUSTOMER, "our VM is down", first_name="Alice")
                asked_id = asked["message"]["message_id"]
                api.send_text(
                    ACME, ENGINEER, "/case VM down", first_name="Evan", reply_to=asked_id
                )
                await api.wait_sent(1, ACME, timeout=15)
                api.send_text(ACME, ENGINEER, "Looking now", first_name="Evan", reply_to=asked_id)
                api.send_text(ACME, ENGINEER, "/resolve", first_name="Evan", reply_to=asked_id)

                async def resolved() -> list[dict[str, Any]]:
                    query = {"status": "resolved", "account": "Acme"}
                    async with http.get(f"{base}/cases", params=query, headers=token) as r:
                        assert r.status == 200
                        body = await r.json()
                    items = body["items"] if isinstance(body, dict) else body
                    return list(items)

                (listed,) = await _until(resolved)
                async with http.get(f"{base}/cases") as r:
                    assert r.status == 401
                async with http.get(f"{base}/cases/{listed['id']}", headers=token) as r:
                    assert r.status == 200
                    case = await r.json()
                _assert_contract_case(case)
                assert case["account"] == "Acme" and case["title"] == "VM down"
                assert case["status"] == "resolved"
                texts = [(m["role"], m["text"]) for m in case["messages"]]
                assert ("customer", "our VM is down") in texts
                assert ("staff", "Looking now") in texts
                types = [e["type"] for e in case["events"]]
                assert types[0] == "opened", types
                assert any(
                    e["type"] == "status_changed" and e["data"].get("to") == "resolved"
                    for e in case["events"]
                ), case["events"]
        finally:
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 30)
            log.close()
        output = (tmp_path / "run.log").read_text()
        assert code == 0, output[-2000:]
        assert "Traceback" not in output, output[-2000:]

    exported = _casebot("export", "--config", str(config), "--format", "json", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    (case,) = json.loads(exported.stdout)
    _assert_contract_case(case)
    assert case["id"] == listed["id"]
