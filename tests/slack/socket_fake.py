"""A small fake of Slack's Socket Mode end: `apps.connections.open` hands out a
WebSocket URL on 127.0.0.1, the socket says hello and pushes envelopes, and the
acknowledgements that come back are recorded. Every other Web API method is passed
on to the emulator, which lacks Socket Mode."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aiohttp
from aiohttp import web


class FakeSocketMode:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")  # the emulator's http://host:port
        self.acks: list[dict[str, Any]] = []
        self.sockets: list[web.WebSocketResponse] = []
        self.connected = asyncio.Event()
        self.acked = asyncio.Condition()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> FakeSocketMode:
        app = web.Application()
        app.router.add_post("/api/apps.connections.open", self._open)
        app.router.add_get("/link", self._link)
        app.router.add_route("*", "/api/{method}", self._proxy)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self.http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in self.sockets:
            await ws.close()
        await self.http.close()
        assert self.runner is not None
        await self.runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/"

    async def _open(self, request: web.Request) -> web.Response:
        if not request.headers.get("Authorization", "").startswith("Bearer xapp-"):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response({"ok": True, "url": f"ws{self.url[4:]}/link"})

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        self.connected.set()
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                body = json.loads(message.data)
                if "envelope_id" in body:
                    async with self.acked:
                        self.acks.append(body)
                        self.acked.notify_all()
        return ws

    async def _proxy(self, request: web.Request) -> web.Response:
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in ("authorization", "content-type")
        }
        async with self.http.request(
            request.method,
            f"{self.upstream}/api/{request.match_info['method']}",
            data=await request.read(),
            headers=headers,
        ) as answer:
            return web.Response(
                body=await answer.read(), status=answer.status, content_type="application/json"
            )

    async def push(self, kind: str, payload: dict[str, Any], retry: int = 0) -> str:
        """Send one envelope on the newest socket; returns its envelope_id."""
        await asyncio.wait_for(self.connected.wait(), 10)
        envelope = str(uuid.uuid4())
        await self.sockets[-1].send_str(
            json.dumps(
                {
                    "envelope_id": envelope,
                    "type": kind,
                    "payload": payload,
                    "accepts_response_payload": kind != "events_api",
                    "retry_attempt": retry,
                    "retry_reason": "timeout" if retry else "",
                }
            )
        )
        return envelope

    async def wait_ack(self, envelope: str, timeout: float = 10) -> dict[str, Any]:
        async with self.acked:
            await asyncio.wait_for(
                self.acked.wait_for(lambda: any(a["envelope_id"] == envelope for a in self.acks)),
                timeout,
            )
        return next(a for a in self.acks if a["envelope_id"] == envelope)
