"""casebot's PTB transport on aiohttp (adapters/telegram_http.py), through a real
`telegram.Bot` against small local servers: PTB's errors for a slow answer, a refused
connection and an answer that is not JSON, as PTB's own httpx transport raises them,
and a file upload as multipart."""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import telegram
from aiohttp import web
from telegram import error as tg_error

from adapters.telegram_http import INVALID_RESPONSE, AiohttpRequest
from tests.telegram.kit import serving

TOKEN = "123456:HTTP-test"
ME = {"id": 1, "is_bot": True, "first_name": "casebot", "username": "casebot"}


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, dict[str, object]]]:
    """A Bot API of three methods; `seen` keeps the last upload's form."""
    seen: dict[str, object] = {}

    async def handle(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "getMe":
            return web.json_response({"ok": True, "result": ME})
        if method == "slow":
            await asyncio.sleep(5)
        if method == "html":
            return web.Response(text="<html>not the Bot API</html>", content_type="text/html")
        if method == "sendDocument":
            form = await request.post()
            upload = form["document"]
            assert isinstance(upload, web.FileField)
            seen.update(chat_id=form["chat_id"], name=upload.filename, body=upload.file.read())
            message = {"message_id": 7, "date": 0, "chat": {"id": -100500, "type": "group"}}
            return web.json_response({"ok": True, "result": message})
        return web.json_response({"ok": False, "description": "Not Found"}, status=404)

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/bot", seen
    finally:
        await runner.cleanup()


async def test_a_slow_answer_is_timed_out_and_the_bot_goes_on(
    server: tuple[str, dict[str, object]],
) -> None:
    base_url, _ = server
    bot = telegram.Bot(TOKEN, base_url=base_url, request=AiohttpRequest(read_timeout=0.3))
    await bot.initialize()
    try:
        with pytest.raises(tg_error.TimedOut):
            await bot.do_api_request("slow")
        assert (await bot.get_me()).username == "casebot", "the pool survived the timeout"
    finally:
        await bot.shutdown()


async def test_a_refused_connection_is_a_network_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once closed
    bot = telegram.Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=AiohttpRequest())
    await bot._request[1].initialize()
    try:
        with pytest.raises(tg_error.NetworkError) as raised:
            await bot.get_me()
        assert not isinstance(raised.value, tg_error.TimedOut)
        assert "aiohttp.ClientConnectorError" in str(raised.value)
    finally:
        await bot._request[1].shutdown()


async def test_an_answer_that_is_not_json_is_one_error_without_a_traceback(
    server: tuple[str, dict[str, object]], caplog: pytest.LogCaptureFixture
) -> None:
    base_url, _ = server
    bot = telegram.Bot(TOKEN, base_url=base_url, request=AiohttpRequest())
    await bot.initialize()
    try:
        with pytest.raises(tg_error.TelegramError) as raised:
            await bot.do_api_request("html")
        assert raised.value.message == INVALID_RESPONSE
        assert "Traceback" not in caplog.text
    finally:
        await bot.shutdown()


async def test_a_file_goes_as_multipart(server: tuple[str, dict[str, object]]) -> None:
    base_url, seen = server
    bot = telegram.Bot(TOKEN, base_url=base_url, request=AiohttpRequest())
    await bot.initialize()
    try:
        sent = await bot.send_document(-100500, b"export,ok\n", filename="export.csv")
        assert sent.message_id == 7
    finally:
        await bot.shutdown()
    assert seen == {"chat_id": "-100500", "name": "export.csv", "body": b"export,ok\n"}


async def test_a_connection_reset_mid_answer_is_a_network_error_and_the_bot_goes_on(
    server: tuple[str, dict[str, object]],
) -> None:
    """An answer cut off halfway (the peer closed the connection): a NetworkError, not a
    timeout nor an unknown error, and the next call goes through on a new connection."""

    async def cut_off(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n{"ok": true, "re')
        await writer.drain()
        writer.close()

    cutter = await asyncio.start_server(cut_off, "127.0.0.1", 0)
    port = cutter.sockets[0].getsockname()[1]
    request = AiohttpRequest()
    bot = telegram.Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
    await request.initialize()
    try:
        with pytest.raises(tg_error.NetworkError) as raised:
            await bot.get_me()
        assert not isinstance(raised.value, tg_error.TimedOut)
        assert "aiohttp." in str(raised.value)
        base_url, _ = server
        good = telegram.Bot(TOKEN, base_url=base_url, request=request)
        assert (await good.get_me()).username == "casebot"
    finally:
        await request.shutdown()
        cutter.close()
        await cutter.wait_closed()


async def test_a_redirect_is_not_followed(server: tuple[str, dict[str, object]]) -> None:
    """As PTB's httpx transport: a redirect is an answer (not JSON: not the Bot API, as
    start-up says), not a call to send on, token and all, to wherever it points."""
    base_url, _ = server

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{base_url}{TOKEN}/getMe")

    request = AiohttpRequest()
    async with serving(moved) as port:
        bot = telegram.Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
        await request.initialize()
        try:
            with pytest.raises(tg_error.NetworkError) as raised:
                await bot.get_me()
            assert "(302)" in raised.value.message, raised.value.message
        finally:
            await request.shutdown()


async def test_the_environment_proxy_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """As PTB's httpx transport (httpx trusts HTTPS_PROXY / HTTP_PROXY / ALL_PROXY): a
    deployment that reaches Telegram only through its proxy keeps doing so."""
    asked: list[str] = []

    async def proxy(request: web.Request) -> web.Response:
        asked.append(str(request.url))
        return web.json_response({"ok": True, "result": ME})

    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    request = AiohttpRequest()
    async with serving(proxy) as port:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{port}")
        # a name that resolves nowhere: only the proxy can answer for it
        bot = telegram.Bot(TOKEN, base_url="http://bot-api.invalid/bot", request=request)
        await request.initialize()
        try:
            assert (await bot.get_me()).username == "casebot"
        finally:
            await request.shutdown()
    assert asked and "bot-api.invalid" in asked[0]


async def test_a_call_takes_no_worker_thread(server: tuple[str, dict[str, object]]) -> None:
    """aiohttp's trust_env looked up the proxy and ~/.netrc on the default executor for
    every call: two thread hops per Bot API call, each a wait for the GIL behind
    whatever else runs. The proxy is read once per origin instead."""
    base, _ = server
    hops = 0

    class Counting(concurrent.futures.ThreadPoolExecutor):
        def submit(self, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
            nonlocal hops
            hops += 1
            return super().submit(*args, **kwargs)

    loop = asyncio.get_running_loop()
    loop.set_default_executor(Counting(max_workers=1))
    request = AiohttpRequest(connection_pool_size=4)
    bot = telegram.Bot(TOKEN, base_url=base, request=request)
    await request.initialize()
    try:
        for _ in range(5):
            assert (await bot.get_me()).username == "casebot"
        await asyncio.gather(*(bot.get_me() for _ in range(5)))
    finally:
        await request.shutdown()
    assert hops == 0
