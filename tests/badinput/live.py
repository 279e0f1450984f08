"""A live casebot for the bad-input suite: the fake Bot API and a real `bot.app.App` in
webhook mode with its HTTP server, running on an event loop in a background thread.

Hypothesis and schemathesis drive tests synchronously, example by example; with the
server on its own loop they can make plain blocking HTTP calls to 127.0.0.1, and the
test reads the database through `call()`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Coroutine
from typing import Any, TypeVar

from bot.app import App
from bot.config import parse_config
from tests.fakes.telegram_api import FakeBotApi
from tests.harness import ACME, GLOBEX, TRIAGE, base_config

T = TypeVar("T")

TOKEN = "123456:BADINPUT-token"
SECRET = "fuzz-Secret_0123456789"
API_TOKEN = "fuzz-api-token-0123456789"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 262_144  # Telegram's updates are far smaller; the fuzz's huge texts are not


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveCasebot:
    def __init__(self, db_url: str, **sections: dict[str, Any]) -> None:
        self.db_url = db_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.webhook = f"{self.url}/telegram/webhook"
        self.sections = sections
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.api: FakeBotApi
        self.app: App

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run a coroutine on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __enter__(self) -> LiveCasebot:
        self.thread.start()
        self.call(self._start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    async def _start(self) -> None:
        self.api = FakeBotApi(token=TOKEN, can_read_all_group_messages=True)
        await self.api.start()
        self.api.add_chat(int(ACME), title="Acme support")
        self.api.add_chat(int(GLOBEX), title="Globex 支持")
        self.api.add_chat(int(TRIAGE), title="Triage")
        raw = base_config()
        raw["storage"] = {"url": self.db_url}
        raw["http"] = {
            "port": self.port,
            "api_token": API_TOKEN,
            "max_body": MAX_BODY,
            "session_secret": "fuzz-session-secret",
        }
        raw["scheduler"] = {"enabled": False}
        raw["dispatcher"] = {"idle_poll": "50ms", "base_delay": "200ms"}
        raw["telegram"] = {
            "token": TOKEN,
            "base_url": self.api.base_url,
            "mode": "webhook",
            "webhook_url": self.webhook,
            "secret_token": SECRET,
            "rate_per_second": 1000.0,
            "rate_per_group_minute": 1000,
            "board_min_interval": "0s",
        }
        for name, body in self.sections.items():
            raw[name] = {**raw.get(name, {}), **body}
        self.app = App(parse_config(raw, env={}))
        await self.app.start(web=True, scheduler=False)

    async def _stop(self) -> None:
        await self.app.stop()
        await self.api.stop()

    # ------------------------------------------------------------ HTTP, blocking

    def post(
        self, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        request = urllib.request.Request(
            self.url + path, data=body, headers=headers or {}, method="POST"
        )
        return self._send(request)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        return self._send(urllib.request.Request(self.url + path, headers=headers or {}))

    @staticmethod
    def _send(request: urllib.request.Request) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return int(response.status), response.read()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read()

    def hook(self, update: Any, secret: str | None = SECRET) -> int:
        """POST one body to the Telegram webhook (JSON-encoded unless bytes)."""
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        status, _ = self.post("/telegram/webhook", body, headers)
        return status
