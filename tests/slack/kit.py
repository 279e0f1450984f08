"""A Slack workspace in a box: the `emulate` npm package (pinned 0.10.0) as the Web
API, started per test on a free loopback port with a seed of people and channels,
and Events API requests signed the way Slack signs them.

emulate knows no Slack Connect: the customer org's people are only ids in the
signed events (with `user_team` set to their own team), which is all casebot sees
of them on real Slack too.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from tests.fakes.emulate import ensure_installed, free_port
from tests.harness import base_config

SECRET = "8f742231b10e8888abcd99aaabbb85a5"
TOKEN = "xoxb-casebot-test"
VENDOR_TEAM = "T000000001"  # emulate's own team: the vendor
CUSTOMER_TEAM = "TCUSTOMER1"  # the customer's org in a Slack Connect channel
STAFF = ("evan", "erin", "lena")
# the customer org's people: ids only, as Slack Connect shows them to the vendor
CUSTOMERS = {"alice": "UACME0001", "bob": "UACME0002"}


def sign(body: bytes, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    """Slack's request signature: `v0=` HMAC-SHA256 over `v0:{timestamp}:{body}`."""
    ts = str(int(time.time()) if at is None else at)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


class Emulator:
    """One emulate process with the vendor's workspace: the bot user `casebot`, the
    staff, a shared channel with the customer and the vendor's own triage channel."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: asyncio.subprocess.Process | None = None
        self.users: dict[str, str] = {}
        self.channels: dict[str, str] = {}

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/"

    async def __aenter__(self) -> Emulator:
        entry = ensure_installed()
        seed = {
            "slack": {
                "team": {"name": "Vendor", "domain": "vendor"},
                "users": [{"name": n, "real_name": n.title()} for n in ("casebot", *STAFF)],
                "channels": [{"name": "acme-shared"}, {"name": "globex"}, {"name": "triage"}],
                "tokens": [{"token": TOKEN, "user": "casebot"}],
            }
        }
        path = self.workdir / "emulate.json"
        path.write_text(json.dumps(seed), encoding="utf-8")
        self.log = (self.workdir / "emulate.log").open("wb")
        # a port picked free can be taken before node binds it: then start again elsewhere
        for _ in range(3):
            users = await self._start(entry, path)
            if users is not None:
                break
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
        else:
            raise AssertionError("emulate did not start")
        self.users = {u["name"]: u["id"] for u in users["members"]}
        found = await self.call("conversations.list")
        self.channels = {c["name"]: c["id"] for c in found["channels"]}
        return self

    async def _start(self, entry: Path, seed: Path) -> Any:
        self.proc = await asyncio.create_subprocess_exec(
            "node",
            str(entry),
            "--service",
            "slack",
            "--port",
            str(self.port),
            "--seed",
            str(seed),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                return await self.call("users.list")
            except (aiohttp.ClientError, OSError):
                if self.proc.returncode is not None:
                    return None
                if time.monotonic() > deadline:
                    raise AssertionError("emulate did not start") from None
                await asyncio.sleep(0.1)

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self.log.close()

    async def call(self, method: str, **params: Any) -> Any:
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.base_url}{method}",
                json=params,
                headers={"Authorization": f"Bearer {TOKEN}"},
            ) as response,
        ):
            return await response.json()

    async def history(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages, oldest first."""
        found = await self.call("conversations.history", channel=channel, limit=1000)
        return list(reversed(found["messages"]))

    async def replies(self, channel: str, ts: str) -> list[dict[str, Any]]:
        found = await self.call("conversations.replies", channel=channel, ts=ts, limit=1000)
        return [m for m in found.get("messages", []) if m.get("ts") != ts]

    async def by_bot(self, channel: str) -> list[dict[str, Any]]:
        return [m for m in await self.history(channel) if m.get("user") == self.users["casebot"]]

    async def wait_for(self, probe: Any, timeout: float = 20) -> Any:
        """Poll `probe()` (async) until it returns something truthy."""
        deadline = time.monotonic() + timeout
        while True:
            found = await probe()
            if found or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.1)


def slack_config(emu: Emulator, db_url: str, port: int, **slack: Any) -> dict[str, Any]:
    """casebot on the emulated workspace: Acme is a Slack Connect channel shared with
    the customer's org, triage is the vendor's own channel."""
    raw = base_config()
    u, c = emu.users, emu.channels
    raw["storage"] = {"url": db_url}
    raw["http"] = {"host": "127.0.0.1", "port": port}
    raw["scheduler"] = {"enabled": False}
    raw["dispatcher"] = {"idle_poll": "50ms", "base_delay": "200ms", "claim_for": "3s"}
    raw["cases"] = {"open_per_customer": 0, "open_per_chat": 0}
    raw["staff"] = {
        "engineers": [f"slack:{u['evan']}", f"slack:{u['erin']}"],
        "leads": [f"slack:{u['lena']}"],
        "triage_chat": f"slack:{c['triage']}",
        "names": {f"slack:{u['evan']}": "@evan"},
    }
    raw["accounts"] = [
        {
            "name": "Acme",
            "tier": "premium",
            "chats": [f"slack:{c['acme-shared']}"],
            "intake": "tag",
        },
        {
            "name": "Globex",
            "tier": "standard",
            "chats": [f"slack:{c['globex']}"],
            "intake": "auto",
        },
    ]
    raw["slack"] = {
        "bot_token": TOKEN,
        "signing_secret": SECRET,
        "base_url": emu.base_url,
        "channel_interval": "0s",
        "board_min_interval": "0s",
        **slack,
    }
    return raw


_ts = itertools.count(1)


def next_ts() -> str:
    """A customer message's ts. A day behind the clock, because emulate numbers the bot's
    own posts from now: the same ts in one channel would be one message to casebot."""
    return f"{int(time.time()) - 86_400}.{next(_ts):06d}"


def message_event(
    channel: str,
    user: str,
    text: str,
    *,
    ts: str | None = None,
    thread_ts: str | None = None,
    user_team: str = CUSTOMER_TEAM,
    event_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    ts = ts or next_ts()
    event: dict[str, Any] = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "team": user_team,
        "user_team": user_team,
        "source_team": user_team,
        "channel_type": "channel",
        "event_ts": ts,
        **extra,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return callback(event, event_id)


def callback(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "unused",
        "team_id": VENDOR_TEAM,
        "api_app_id": "A0CASEBOT",
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ts):010d}",
        "event_time": int(time.time()),
        "is_ext_shared_channel": True,
        "event": event,
    }


async def post_event(
    http: aiohttp.ClientSession,
    url: str,
    payload: dict[str, Any],
    *,
    secret: str = SECRET,
    retry: int | None = None,
) -> int:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **sign(body, secret)}
    if retry:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    try:
        async with http.post(url, data=body, headers=headers) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


async def post_form(
    http: aiohttp.ClientSession, url: str, form: dict[str, str]
) -> tuple[int, bytes]:
    body = urlencode(form).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    async with http.post(url, data=body, headers=headers) as response:
        return response.status, await response.read()


async def query(db_url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows from casebot's database (the test reads what `casebot run` committed)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(text(sql))).all()]
    finally:
        await engine.dispose()
