"""Processes for the end-to-end benchmarks and the scale-out test: the standalone fake Bot
API (`python -m tests.fakes.telegram_api`) and `casebot run`, each a real subprocess on
127.0.0.1, plus a small TOML writer for their config, a free port and a fresh PostgreSQL
database for them.

Imports only the standard library and aiohttp (SQLAlchemy for the database, when asked);
nothing of casebot runs in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
        )
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def to_toml(raw: dict[str, Any]) -> str:
    """Top-level dicts become [sections], lists of dicts [[arrays]]; deeper dicts are inline."""
    parts = []
    for section, body in raw.items():
        if isinstance(body, list):
            for item in body:
                lines = [f"{k} = {toml_value(v)}" for k, v in item.items()]
                parts.append(f"[[{section}]]\n" + "\n".join(lines))
        else:
            lines = [f"{json.dumps(k)} = {toml_value(v)}" for k, v in body.items()]
            parts.append(f"[{section}]\n" + "\n".join(lines))
    return "\n\n".join(parts) + "\n"


class FakeApiProcess:
    """The fake Bot API in its own process, driven over its `/_fake/...` control routes."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.proc: asyncio.subprocess.Process | None = None
        self.base_url = ""  # ".../bot", what casebot's telegram.base_url takes
        self.url = ""  # the root, where the control routes live
        self.http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> FakeApiProcess:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.fakes.telegram_api", "--port", "0",
            "--token", self.token, "--can-read-all-group-messages",
            cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        self.base_url = line.decode().strip()
        if not self.base_url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"fake Bot API did not start: {line!r}")
        self.url = self.base_url.removesuffix("/bot")
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=64), timeout=aiohttp.ClientTimeout(total=60)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.http is not None:
            await self.http.close()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    async def post(self, route: str, body: dict[str, Any]) -> Any:
        assert self.http is not None
        async with self.http.post(f"{self.url}/_fake/{route}", json=body) as response:
            response.raise_for_status()
            return await response.json()

    async def get(self, route: str, **query: Any) -> Any:
        assert self.http is not None
        params = {k: str(v) for k, v in query.items()}
        async with self.http.get(f"{self.url}/_fake/{route}", params=params) as response:
            response.raise_for_status()
            return await response.json()


async def start_casebot(
    config: Path, log: Path, level: str = "warning"
) -> asyncio.subprocess.Process:
    """`casebot run --config FILE` (as `python -m bot`, this interpreter), output appended
    to `log`."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--config", str(config), "--log-level", level,
        cwd=ROOT, stdout=log.open("ab"), stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


async def stop_process(proc: asyncio.subprocess.Process, timeout: float = 20.0) -> int:
    """SIGTERM (casebot's clean shutdown), SIGKILL if it does not end in time."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def fresh_postgres(server_url: str, prefix: str) -> AsyncIterator[str]:
    """A new, empty database on the server `server_url` (any of its databases) names,
    its URL for the caller, dropped afterwards."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
