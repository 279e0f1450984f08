"""Slow and greedy HTTP clients against a real `casebot run` whose open-files limit is
lowered to 256: hundreds of connections that never finish their headers neither take
`/healthz` down nor flood the log, and a request whose headers or body trickle in is
cut once its deadline passes."""

from __future__ import annotations

import asyncio
import os
import resource
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.badinput.live import free_port
from tests.chaos.kit import to_toml
from tests.harness import base_config

NOFILE = 256


def _low_nofile() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


class WebProcess:
    """`casebot run` with only its HTTP server, under RLIMIT_NOFILE = 256."""

    def __init__(self, workdir: Path, **http: Any) -> None:
        self.port = free_port()
        raw = base_config()
        raw["storage"] = {"url": f"sqlite+aiosqlite:///{workdir / 'casebot.db'}"}
        raw["http"] = {"port": self.port, "api_token": "slow-clients-token", **http}
        raw["scheduler"] = {"enabled": False}
        self.config = workdir / "casebot.toml"
        self.config.write_text(to_toml(raw), encoding="utf-8")
        self.log = workdir / "casebot.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("casebot")),
            "run",
            "--config",
            str(self.config),
            stdout=self.log.open("ab"),
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=_low_nofile,
        )
        deadline = time.monotonic() + 30
        while await self.health() != 200:
            assert self.proc.returncode is None, self.output()[-3000:]
            assert time.monotonic() < deadline, self.output()[-3000:]
            await asyncio.sleep(0.1)

    async def health(self, timeout: float = 5.0) -> int | None:
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http,
                http.get(f"http://127.0.0.1:{self.port}/healthz") as response,
            ):
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.terminate()
            await asyncio.wait_for(self.proc.wait(), 20)
        return int(self.proc.returncode or 0)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


async def _bot(tmp_path: Path, **http: Any) -> AsyncIterator[WebProcess]:
    bot = WebProcess(tmp_path, **http)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


async def _slow_connection(port: int, source: str) -> asyncio.StreamWriter | None:
    """A connection that starts a request and never finishes its headers."""
    try:
        async with asyncio.timeout(2):
            _reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(source, 0)
            )
            writer.write(b"GET /login HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            await writer.drain()
    except (OSError, TimeoutError):
        return None
    return writer


@pytest.fixture
async def flooded(tmp_path: Path) -> AsyncIterator[WebProcess]:
    # deadlines far away: what holds here is the connection bound, not the timeouts
    async for bot in _bot(
        tmp_path, header_timeout="60s", body_timeout="60s", max_connections_per_client=16
    ):
        yield bot


@pytest.mark.slow
async def test_a_thousand_slow_connections_leave_healthz_and_the_log_alone(
    flooded: WebProcess,
) -> None:
    bot = flooded
    size_before = bot.log.stat().st_size
    # 1,100 connections from 50 addresses (22 each), four times the open-files limit
    sources = [f"127.0.0.{2 + i % 50}" for i in range(1100)]
    writers: list[asyncio.StreamWriter] = []
    health: list[int | None] = []
    slowest = 0.0
    for start in range(0, len(sources), 100):
        batch = sources[start : start + 100]
        opened = await asyncio.gather(*(_slow_connection(bot.port, s) for s in batch))
        writers.extend(w for w in opened if w is not None)
        began = time.monotonic()
        health.append(await bot.health())
        slowest = max(slowest, time.monotonic() - began)
    await asyncio.sleep(1.0)  # a second of accept retries, if the server were out of files
    health.append(await bot.health())
    grown = bot.log.stat().st_size - size_before
    for writer in writers:
        writer.close()
    print(
        f"\nslow clients: {len(writers)} of {len(sources)} connections opened against "
        f"RLIMIT_NOFILE={NOFILE}; /healthz {health}, slowest {slowest * 1000:.0f} ms; "
        f"log grew {grown} bytes"
    )
    assert health == [200] * len(health), bot.output()[-3000:]
    assert slowest < 2.0
    assert grown < 20_000, bot.output()[-3000:]
    assert "Too many open files" not in bot.output()


@pytest.fixture
async def strict(tmp_path: Path) -> AsyncIterator[WebProcess]:
    async for bot in _bot(tmp_path, header_timeout="1s", body_timeout="1s"):
        yield bot


async def _closed_after(reader: asyncio.StreamReader, limit: float) -> tuple[float, bytes]:
    began = time.monotonic()
    answer = await asyncio.wait_for(reader.read(), limit)
    return time.monotonic() - began, answer


@pytest.mark.slow
async def test_partial_headers_and_a_trickling_body_are_cut(strict: WebProcess) -> None:
    port = strict.port
    # headers that never end: 408 once header_timeout has passed
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    waited, answer = await _closed_after(reader, 10)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert 0.8 < waited < 3.0, waited

    # headers a byte a second: the deadline counts from the start, not the last byte
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    began = time.monotonic()
    sent = 0
    with pytest.raises(ConnectionError):
        for byte in b"GET /healthz HTTP/1.1\r\nHost: slow-loris.example\r\n":
            writer.write(bytes([byte]))
            await writer.drain()
            sent += 1
            await asyncio.sleep(0.25)
            if reader.at_eof():
                raise ConnectionResetError
    assert time.monotonic() - began < 3.0 and sent < 12, sent
    writer.close()

    # a body at a byte every quarter second: cut once body_timeout has passed
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /login HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n"
    )
    await writer.drain()
    began = time.monotonic()
    while not reader.at_eof() and time.monotonic() - began < 10:
        try:
            writer.write(b"a")
            await writer.drain()
        except ConnectionError:
            break
        try:
            await asyncio.wait_for(reader.read(1024), 0.25)
        except TimeoutError:
            continue
    cut = time.monotonic() - began
    writer.close()
    assert 0.8 < cut < 3.0, cut

    # and a request that arrives in time is served as before
    assert await strict.health() == 200


@pytest.fixture
async def misconfigured(tmp_path: Path) -> AsyncIterator[WebProcess]:
    # max_connections set above the open-files limit: accepting does run out
    async for bot in _bot(
        tmp_path,
        header_timeout="60s",
        max_connections=100_000,
        max_connections_per_client=100_000,
    ):
        yield bot


@pytest.mark.slow
async def test_running_out_of_files_is_logged_once_not_per_accept(
    misconfigured: WebProcess,
) -> None:
    bot = misconfigured
    size_before = bot.log.stat().st_size
    opened = await asyncio.gather(
        *(_slow_connection(bot.port, f"127.0.0.{2 + i % 10}") for i in range(400))
    )
    await asyncio.sleep(3.0)  # three seconds of asyncio retrying the accept
    grown = bot.log.stat().st_size - size_before
    for writer in opened:
        if writer is not None:
            writer.close()
    output = bot.output()
    print(f"\nout of files: log grew {grown} bytes in 3 s")
    assert output.count("HTTP server cannot accept connections") == 1, output[-3000:]
    assert grown < 5_000, output[-3000:]


@pytest.fixture
async def capped(tmp_path: Path) -> AsyncIterator[WebProcess]:
    async for bot in _bot(tmp_path, header_timeout="60s", max_connections_per_client=8):
        yield bot


@pytest.mark.slow
async def test_one_address_holds_a_bounded_number_of_connections(capped: WebProcess) -> None:
    """The ninth connection from one address is refused at once with 503; another
    address, and the first one once a connection of it closed, are served."""
    writers = [await _slow_connection(capped.port, "127.0.0.9") for _ in range(8)]
    assert all(w is not None for w in writers)
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", capped.port, local_addr=("127.0.0.9", 0)
    )
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 503"), answer
    assert await capped.health() == 200  # from 127.0.0.1
    first = writers[0]
    assert first is not None
    first.close()
    await first.wait_closed()
    await asyncio.sleep(0.2)
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", capped.port, local_addr=("127.0.0.9", 0)
    )
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    for w in writers[1:]:
        assert w is not None
        w.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer
