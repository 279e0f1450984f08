"""`casebot run` pointed at an address that is not the Bot API, or at a Bot API whose
getMe python-telegram-bot cannot read: one line naming telegram.base_url, exit 2."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.telegram.kit import web_server

ANSWERS = {
    # a web server that knows no /bot<token>/getMe path
    "html 404": web.Response(status=404, text="<html>Not Found</html>", content_type="text/html"),
    # an independent Bot API implementation whose getMe lacks fields PTB requires
    "partial getMe": web.json_response({"ok": True, "result": {"id": 1}}),
}


@pytest.fixture
async def server(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    async with web_server(ANSWERS[request.param]) as base_url:
        yield base_url


@pytest.mark.parametrize("server", list(ANSWERS), indirect=True)
async def test_run_against_what_is_not_a_readable_bot_api_is_one_line(
    tmp_path: Path, server: str
) -> None:
    config = tmp_path / "casebot.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite+aiosqlite:///{tmp_path / "c.db"}"\n'
        f'[http]\nenabled = false\n[telegram]\ntoken = "1:x"\nbase_url = "{server}"\n',
        encoding="utf-8",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    stderr = err.decode()
    assert proc.returncode == 2, stderr
    assert "Traceback" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("config error: telegram.base_url: "), stderr
    assert server in last, stderr
