"""`casebot doctor` on Slack: missing scopes (from auth.test's x-oauth-scopes header),
a configured channel the bot is not in, a signing secret of the wrong form. emulate
sends no scope header, so a small fake Web API answers here."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.chaos.kit import to_toml
from tests.harness import base_config


@pytest.fixture
async def web_api() -> AsyncIterator[str]:
    async def auth_test(request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": True, "user": "casebot", "user_id": "UBOT", "team": "Vendor", "team_id": "T1"},
            headers={"x-oauth-scopes": "channels:history,chat:write,commands"},
        )

    async def info(request: web.Request) -> web.Response:
        channel = request.query.get("channel") or (await request.post()).get("channel")
        if channel == "CGONE":
            return web.json_response({"ok": False, "error": "channel_not_found"})
        return web.json_response(
            {
                "ok": True,
                "channel": {"id": channel, "name": channel.lower(), "is_member": channel == "CIN"},
            }
        )

    async def listing(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "ok": True,
                "channels": [
                    {"id": "CIN", "name": "acme", "is_member": True, "is_ext_shared": True}
                ],
            }
        )

    app = web.Application()
    app.router.add_post("/api/auth.test", auth_test)
    for method in ("GET", "POST"):
        app.router.add_route(method, "/api/conversations.info", info)
        app.router.add_route(method, "/api/conversations.list", listing)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/api/"
    await runner.cleanup()


async def doctor(tmp_path: Path, raw: dict[str, Any]) -> tuple[int, str]:
    path = tmp_path / "casebot.toml"
    path.write_text(to_toml(raw), encoding="utf-8")
    casebot = Path(sys.executable).with_name("casebot")
    proc = await asyncio.create_subprocess_exec(
        str(casebot),
        "doctor",
        "--config",
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return int(proc.returncode or 0), out.decode()


async def test_doctor_names_missing_scopes_and_channels(web_api: str, tmp_path: Path) -> None:
    raw = base_config()
    raw["storage"] = {"url": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"}
    raw["staff"] = {"engineers": ["slack:UEVAN"], "triage_chat": "slack:CGONE"}
    raw["accounts"] = [
        {"name": "Acme", "tier": "premium", "chats": ["slack:CIN"]},
        {"name": "Globex", "tier": "standard", "chats": ["slack:COUT"]},
    ]
    raw["slack"] = {"bot_token": "xoxb-1", "signing_secret": "not-a-secret", "base_url": web_api}
    code, out = await doctor(tmp_path, raw)
    assert code == 1, out
    for scope in ("groups:history", "reactions:read", "pins:write"):
        assert f"lacks the {scope} scope" in out, out
    assert "lacks the chat:write" not in out
    assert "slack:COUT (Globex" in out and "not in it" in out
    assert "slack:CGONE (triage): Slack says channel_not_found" in out
    assert "does not look like a Slack signing secret" in out
    assert "CIN  #acme shared  [configured]" in out
