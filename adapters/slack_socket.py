"""Socket Mode: Slack's payloads over a WebSocket casebot opens, for a team without a
public URL. Imports slack_sdk's aiohttp Socket Mode client and `cases`.

Each envelope is acknowledged only after the engine committed it; one that could not
be stored is left unacknowledged, so Slack sends it again (under the same event_id,
which makes it a duplicate if it was stored after all).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.base import AdapterConfigError
from adapters.slack_events import NotStored

if TYPE_CHECKING:
    from adapters.slack import SlackAdapter

log = logging.getLogger(__name__)


class SocketLink:
    def __init__(self, adapter: SlackAdapter) -> None:
        self.adapter = adapter
        self.client: SocketModeClient | None = None
        self.acknowledged = 0

    async def start(self) -> None:
        config = self.adapter.config
        assert config.app_token is not None
        self.client = SocketModeClient(
            app_token=config.app_token,
            web_client=AsyncWebClient(base_url=config.base_url),
            logger=log,
        )
        self.client.socket_mode_request_listeners.append(self._on_request)  # type: ignore[arg-type]
        try:
            await self.client.connect()  # type: ignore[no-untyped-call]
        except Exception as exc:
            await self.stop()
            raise AdapterConfigError(
                f"slack.app_token: Socket Mode could not connect ({type(exc).__name__}: {exc})"
            ) from None

    async def stop(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            await client.close()  # type: ignore[no-untyped-call]

    async def _on_request(self, client: SocketModeClient, request: SocketModeRequest) -> None:
        if request.retry_attempt:
            self.adapter.stats["retries"] += 1
        try:
            answer = await self.adapter.inbox.take(request.type, request.payload)
        except NotStored as exc:
            log.warning(
                "slack: envelope %s not stored (%s); Slack sends it again",
                request.envelope_id,
                exc,
            )
            return
        await client.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload=answer)
        )
        self.acknowledged += 1
