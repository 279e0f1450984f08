"""The HTTP link to casebot: signed events in, pulled commands and their results.

Every request is signed with Standard Webhooks (`standardwebhooks`, not hand-made
HMAC); the same secret verifies casebot's pushed commands in `bridges.matrix.bridge`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from standardwebhooks.webhooks import Webhook

log = logging.getLogger("bridges.matrix")

# 422: casebot kept the body as a failed event (`casebot failed`), so it is not lost.
SETTLED = {202, 422}
# A result casebot cannot take (no such command, already settled): retrying cannot help.
GONE = {404, 409, 410, 422}


def sign(webhook: Webhook, message_id: str, body: bytes) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": webhook.sign(message_id, now, body.decode()),
        "content-type": "application/json",
    }


def retry_after(response: aiohttp.ClientResponse) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


class CasebotLink:
    """Talks to one casebot bridge endpoint, `{url}/v1/bridges/{name}/...`."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        bridge: str,
        secret: str,
        retry_max: timedelta = timedelta(seconds=30),
    ) -> None:
        self._session = session
        self._base = f"{url.rstrip('/')}/v1/bridges/{bridge}"
        self._secret = secret
        self.webhook = Webhook(secret)
        self._retry_max = retry_max.total_seconds()

    async def deliver(self, event: dict[str, Any]) -> int:
        """Post one event until casebot settles it (202, or 422 kept as failed).

        Never gives up: while casebot is down, refuses the signature (a config
        mistake an operator fixes) or sheds load, the event waits here, so the sync
        token after it is not stored and nothing is lost.
        """
        body = json.dumps(event, ensure_ascii=False).encode()
        delay = 0.2
        while True:
            try:
                headers = sign(self.webhook, event["id"], body)
                async with self._session.post(
                    f"{self._base}/events", data=body, headers=headers
                ) as response:
                    if response.status in SETTLED:
                        if response.status == 422:
                            log.warning("casebot kept event %s as failed", event["id"])
                        return response.status
                    wait = retry_after(response)
                    log.warning("casebot answered %s to event %s", response.status, event["id"])
            except (aiohttp.ClientError, TimeoutError) as exc:
                wait = None
                log.warning("casebot unreachable for event %s: %s", event["id"], exc)
            await asyncio.sleep(min(wait if wait is not None else delay, self._retry_max))
            delay = min(delay * 2, self._retry_max)

    async def pull(self, after: str | None, wait: timedelta) -> tuple[list[dict[str, Any]], str]:
        """One long poll; returns the commands and the cursor to pass next time."""
        params = {"wait": str(int(wait.total_seconds()))}
        if after:
            params["after"] = after
        timeout = aiohttp.ClientTimeout(total=wait.total_seconds() + 30)
        async with self._session.get(
            f"{self._base}/commands",
            params=params,
            headers={"Authorization": f"Bearer {self._secret}"},
            timeout=timeout,
        ) as response:
            response.raise_for_status()
            answer = await response.json()
        commands = list(answer.get("commands") or [])
        return commands, str(answer.get("cursor") or after or "")

    async def report(self, command_id: str, result: dict[str, Any]) -> None:
        """Post a pulled command's result, retrying until casebot has it."""
        body = json.dumps(result).encode()
        url = f"{self._base}/commands/{command_id}/result"
        delay = 0.2
        while True:
            try:
                headers = sign(self.webhook, f"result_{uuid.uuid4().hex}", body)
                async with self._session.post(url, data=body, headers=headers) as response:
                    if response.status < 300:
                        return
                    if response.status in GONE:
                        log.warning(
                            "casebot answered %s to result of %s", response.status, command_id
                        )
                        return
                    wait = retry_after(response)
            except (aiohttp.ClientError, TimeoutError):
                wait = None
            await asyncio.sleep(min(wait if wait is not None else delay, self._retry_max))
            delay = min(delay * 2, self._retry_max)
