"""The Feishu/Lark Open API over aiohttp: the app's `tenant_access_token`, refreshed
before it expires, calls answered as data or as a DeliveryError the dispatcher
understands, and Feishu's send limits. Imports aiohttp, `adapters.base` and
`adapters.pacing`.

No SDK: lark-oapi's clients are not needed for a dozen REST calls, and its WebSocket
client has event-loop and reconnect bugs casebot must not inherit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any

import aiohttp

from adapters.base import DeliveryError
from adapters.pacing import Gate, Gates, release

log = logging.getLogger(__name__)

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
# a token is fetched anew this long before it runs out (Feishu hands out a new one in
# the last 30 minutes of the old one's two hours)
REFRESH_BEFORE = 300.0
# the codes that mean the token went stale (revoked, rotated, or past its time:
# 99991677), as does a bare HTTP 401: fetch, call again
TOKEN_CODES = frozenset({99991661, 99991663, 99991664, 99991668, 99991677})
# "too many requests" said in the body rather than with 429
RATE_CODES = frozenset({99991400, 230020, 11232})
# codes worth retrying: Feishu's own internal errors
RETRY_CODES = frozenset({1000004, 1000005, 99991672, 230006})


class FeishuRefused(Exception):
    """The API refused the app itself (bad app_id or app_secret): a config mistake."""


class SendLimit:
    """Feishu's send limits, as this process can keep them: at most `per_chat` messages
    a second to one group (a budget Feishu shares between every bot in the group, so
    429s still come and are honoured) and `per_app` a second in all. `reserve` answers
    how long to wait; a wait longer than `max_wait` is raised as a retry instead, so a
    busy group never holds a dispatcher task."""

    def __init__(
        self, per_chat: float, per_app: float, max_wait: float = 2.0, window: float = 1.0
    ) -> None:
        self.per_chat = per_chat
        self.per_app = per_app
        self.max_wait = max_wait
        self.window = window  # Feishu counts per second; tests count in less
        self._chats: dict[str, deque[float]] = {}
        self._app: deque[float] = deque()
        self._chat_gates = Gates(max(1, int(per_chat)), window)
        self._app_gate = Gate(max(1, int(per_app)), window)

    def _slot(self, times: deque[float], rate: float, now: float) -> float:
        """When the next send fits in a window of `rate` sends."""
        while times and times[0] <= now - self.window:
            times.popleft()
        allowed = max(1, int(rate))
        if len(times) < allowed:
            return now
        return times[-allowed] + self.window

    def reserve(self, chat: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        times = self._chats.setdefault(chat, deque())
        at = max(self._slot(times, self.per_chat, now), self._slot(self._app, self.per_app, now))
        wait = at - now
        if wait > self.max_wait:
            raise DeliveryError(f"{chat}: over Feishu's send rate", retry_after=wait)
        times.append(at)
        self._app.append(at)
        if len(self._chats) > 10_000:  # forget quiet chats
            for key in [k for k, t in self._chats.items() if not t or t[-1] < now - self.window]:
                del self._chats[key]
        return wait

    async def pace(self, chat: str) -> None:
        """Wait for a slot (`reserve`, which may raise), then go out within both rates in
        real time as well: sends whose slots a busy event loop let pass would otherwise
        go out together."""
        wait = self.reserve(chat)
        if wait > 0:
            await asyncio.sleep(wait)
        await release(self._chat_gates[chat], self._app_gate)


def reset_seconds(value: str | None) -> float:
    """`x-ogw-ratelimit-reset`: seconds until the limit's window opens again."""
    with contextlib.suppress(TypeError, ValueError):
        return max(0.0, float(value or ""))
    return 1.0


class FeishuApi:
    def __init__(self, app_id: str, app_secret: str, base_url: str, timeout: float) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._expires = 0.0  # monotonic time
        self._token_lock = asyncio.Lock()
        self.calls = 0

    async def open(self) -> None:
        if self.http is None:
            self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()
            self.http = None

    async def token(self, *, fresh: bool = False) -> str:
        async with self._token_lock:
            if not fresh and self._token and time.monotonic() < self._expires - REFRESH_BEFORE:
                return self._token
            assert self.http is not None, "FeishuApi.open() first"
            body = {"app_id": self.app_id, "app_secret": self.app_secret}
            try:
                async with self.http.post(self.base_url + TOKEN_PATH, json=body) as response:
                    status = response.status
                    answer = await _json(response)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise DeliveryError(f"tenant_access_token: {type(exc).__name__}: {exc}") from exc
            code = answer.get("code")
            if status >= 500 or status == 429:
                raise DeliveryError(f"tenant_access_token: Feishu answered {status}")
            if code != 0 or not answer.get("tenant_access_token"):
                raise FeishuRefused(
                    f"Feishu refused app {self.app_id}: {code} {answer.get('msg')}"
                )
            self._token = str(answer["tenant_access_token"])
            self._expires = time.monotonic() + float(answer.get("expire") or 7200)
            return self._token

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        what: str = "",
    ) -> dict[str, Any]:
        """One API call; its `data`. A stale token is fetched anew once; 429 and the
        rate codes retry after `x-ogw-ratelimit-reset`; 5xx and network errors retry;
        any other refusal is permanent."""
        what = what or f"{method} {path}"
        for attempt in (1, 2):
            try:
                token = await self.token(fresh=attempt == 2)
            except FeishuRefused as exc:
                raise DeliveryError(f"{what}: {exc}", permanent=True) from exc
            assert self.http is not None
            headers = {"Authorization": f"Bearer {token}"}
            try:
                async with self.http.request(
                    method, self.base_url + path, json=json_body, params=params, headers=headers
                ) as response:
                    status = response.status
                    reset = response.headers.get("x-ogw-ratelimit-reset")
                    answer = await _json(response)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise DeliveryError(f"{what}: {type(exc).__name__}: {exc}") from exc
            self.calls += 1
            code = answer.get("code")
            if status == 429 or code in RATE_CODES:
                seconds = reset_seconds(reset)
                raise DeliveryError(
                    f"{what}: rate limited, retry after {seconds:g}s", retry_after=seconds
                )
            if (code in TOKEN_CODES or status == 401) and attempt == 1:
                log.info("feishu: token refused (%s); fetching a new one", code)
                continue
            if status >= 500 or code in RETRY_CODES:
                raise DeliveryError(f"{what}: Feishu answered {status} (code {code})")
            if code != 0:
                raise FeishuError(what, status, code, str(answer.get("msg") or ""))
            data = answer.get("data")
            # a few calls (bot info) answer beside `data` rather than in it
            return data if isinstance(data, dict) else answer
        raise DeliveryError(f"{what}: the token was refused twice")


class FeishuError(DeliveryError):
    """A permanent refusal, with Feishu's code (230002: the bot is not in the chat)."""

    def __init__(self, what: str, status: int, code: Any, msg: str) -> None:
        super().__init__(
            f"{what}: Feishu answered {status}, code {code}: {msg[:200]}", permanent=True
        )
        self.code = code
        self.msg = msg


async def _json(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        answer = await response.json(content_type=None)
    except ValueError:
        return {"code": -1, "msg": f"not JSON (HTTP {response.status})"}
    return answer if isinstance(answer, dict) else {"code": -1, "msg": "not a JSON object"}
