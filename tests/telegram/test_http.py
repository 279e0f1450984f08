"""casebot's PTB transport (adapters/telegram_http.py), through a real `telegram.Bot`
against small local servers: PTB's errors for a slow answer, a refused connection and
an answer that is not JSON, as PTB's own httpx transport raises them; a file upload as
multipart; and its own connections: kept alive, answers by length or in chunks, a
connection the server closed never used again, the pool's size and its timeout."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
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
        assert "cannot connect to 127.0.0.1" in str(raised.value)
        assert "ConnectionRefusedError" in str(raised.value)
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
        assert "closed the connection before its answer ended" in str(raised.value)
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


ME_ANSWER = json.dumps({"ok": True, "result": ME}).encode()


@contextlib.asynccontextmanager
async def raw_api(
    answer: Callable[[int], Awaitable[tuple[bytes, bool]]],
) -> AsyncIterator[tuple[str, dict[str, int]]]:
    """A Bot API on a bare socket: `answer(call number)` gives the bytes of each answer and
    whether to close the connection after it. Yields the base URL and counts: connections
    opened, and the most open at once."""
    counts = {"opened": 0, "open": 0, "most": 0, "calls": 0}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counts["opened"] += 1
        counts["open"] += 1
        counts["most"] = max(counts["most"], counts["open"])
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                counts["calls"] += 1
                data, close = await answer(counts["calls"])
                writer.write(data)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            counts["open"] -= 1
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/bot", counts
    finally:
        server.close()
        await server.wait_closed()


def _answer(body: bytes, *headers: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in headers)
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body


async def _me(base_url: str, request: AiohttpRequest) -> str | None:
    bot = telegram.Bot(TOKEN, base_url=base_url, request=request)
    return (await bot.get_me()).username


async def test_calls_share_one_kept_alive_connection() -> None:
    async def answer(_: int) -> tuple[bytes, bool]:
        return _answer(ME_ANSWER), False

    request = AiohttpRequest(connection_pool_size=4)
    async with raw_api(answer) as (base_url, counts):
        await request.initialize()
        try:
            for _ in range(5):
                assert await _me(base_url, request) == "casebot"
        finally:
            await request.shutdown()
    assert counts["calls"] == 5 and counts["opened"] == 1


async def test_a_chunked_answer_is_read_whole() -> None:
    async def answer(_: int) -> tuple[bytes, bool]:
        cut = [ME_ANSWER[:7], ME_ANSWER[7:30], ME_ANSWER[30:]]
        chunks = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(c), c) for c in cut)
        head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        return head + chunks + b"0\r\nX-Trailer: 1\r\n\r\n", False

    request = AiohttpRequest()
    async with raw_api(answer) as (base_url, counts):
        await request.initialize()
        try:
            assert await _me(base_url, request) == "casebot"
            assert await _me(base_url, request) == "casebot"  # and the connection goes on
        finally:
            await request.shutdown()
    assert counts["opened"] == 1


async def test_a_connection_the_server_closed_is_not_used_again() -> None:
    """A server that ends a kept-alive connection after an answer (an idle timeout, a
    restart, or `Connection: close`): the next call opens a new one and goes through,
    rather than fail on the dead one."""

    async def answer(call: int) -> tuple[bytes, bool]:
        headers = ("Connection: close",) if call == 2 else ()
        return _answer(ME_ANSWER, *headers), call == 1

    request = AiohttpRequest()
    async with raw_api(answer) as (base_url, counts):
        await request.initialize()
        try:
            assert await _me(base_url, request) == "casebot"
            await asyncio.sleep(0.1)  # the server's close reaches the idle connection
            assert await _me(base_url, request) == "casebot"
            assert await _me(base_url, request) == "casebot"
        finally:
            await request.shutdown()
    assert counts["calls"] == 3 and counts["opened"] == 3


async def test_the_pool_holds_its_size_and_a_call_waits_for_a_connection() -> None:
    async def answer(_: int) -> tuple[bytes, bool]:
        await asyncio.sleep(0.1)
        return _answer(ME_ANSWER), False

    request = AiohttpRequest(connection_pool_size=2)
    async with raw_api(answer) as (base_url, counts):
        await request.initialize()
        try:
            names = await asyncio.gather(*(_me(base_url, request) for _ in range(6)))
        finally:
            await request.shutdown()
    assert names == ["casebot"] * 6
    assert counts["most"] == 2 and counts["opened"] == 2


async def test_waiting_too_long_for_a_pooled_connection_is_timed_out() -> None:
    async def answer(_: int) -> tuple[bytes, bool]:
        await asyncio.sleep(0.5)
        return _answer(ME_ANSWER), False

    request = AiohttpRequest(connection_pool_size=1, pool_timeout=0.1)
    async with raw_api(answer) as (base_url, _):
        await request.initialize()
        try:
            first = asyncio.create_task(_me(base_url, request))
            await asyncio.sleep(0.05)
            with pytest.raises(tg_error.TimedOut):
                await _me(base_url, request)
            assert await first == "casebot"
        finally:
            await request.shutdown()
