"""Connection limits aiohttp's server lacks: a deadline for a request's headers and one
for its body, a bound on open connections per client address and in all (kept below
the open-files limit), and a rate-limited log of accept errors.

Imports aiohttp and the standard library. aiohttp itself closes idle keep-alive
connections (`keepalive_timeout`) and cancels a handler whose client went away
(`handler_cancellation`); what it cannot see from a handler is a client that never
finishes its request, so this sits one level down, as the connection's protocol: a
thin wrapper around aiohttp's own `RequestHandler` that it forwards everything to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import resource
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger(__name__)

REFUSED = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
    b"Retry-After: 5\r\nConnection: close\r\n\r\n"
)
TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
ACCEPT_ERROR = "socket.accept() out of system resource"
ACCEPT_LOG_EVERY = 60.0


# connections asyncio may accept in one go, before the ones closed meanwhile free
# their descriptors: the open-files limit must leave room for them
BACKLOG = 128
RESERVE = 64


def default_max_connections() -> int:
    """What the open-files limit allows: three quarters of it, and at most what leaves
    one accept burst and a reserve for the database, the platforms' HTTP clients and log
    files, so accepting never runs out of descriptors."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft <= 0:
        soft = 65_536
    return max(8, min(soft * 3 // 4, soft - BACKLOG - RESERVE))


class TrustedProxies:
    """The peers allowed to say who the client is (X-Forwarded-For)."""

    def __init__(self, networks: Iterable[str]) -> None:
        self.networks = [ipaddress.ip_network(n, strict=False) for n in networks]

    def __contains__(self, address: object) -> bool:
        if not self.networks or not isinstance(address, str):
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)


def client_address(request: web.Request, trusted: TrustedProxies) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy; then the
    right-most X-Forwarded-For entry that is not itself a trusted proxy (entries further
    left were written by the client and prove nothing)."""
    peer = request.remote or ""
    if peer not in trusted:
        return peer
    hops = [
        hop.strip()
        for header in request.headers.getall("X-Forwarded-For", [])
        for hop in header.split(",")
    ]
    for hop in reversed(hops):
        if not hop:
            continue
        if hop not in trusted:
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage from a proxy we trust: count it as the proxy
    return peer


def throttle_key(address: str) -> str:
    """What a per-client throttle counts for `address`: an IPv4 address (also one seen
    mapped into IPv6 by a dual-stack listener), or an IPv6 address's /64, which one
    client holds whole and could otherwise walk through a new address per try."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class Connection(asyncio.Protocol):
    """One client connection: aiohttp's handler does the HTTP; this adds the deadlines
    and frees the connection's place in the guard when it closes."""

    def __init__(self, guard: ConnectionGuard, make_handler: Callable[[], RequestHandler]):
        self.guard = guard
        self.make_handler = make_handler
        self.handler: RequestHandler | None = None
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        # "headers" until a request's headers arrived, "body" until its body did,
        # "busy" while the handler works on it, "idle" between keep-alive requests
        self.phase = "headers"
        self.body: Any = None
        self.deadline: asyncio.TimerHandle | None = None
        self.admitted = False

    # ---------------------------------------------------------------- asyncio

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peername = transport.get_extra_info("peername")
        self.peer = str(peername[0]) if isinstance(peername, tuple) else str(peername)
        if not self.guard.admit(self):
            self.guard.refused += 1
            transport.write(REFUSED)
            transport.close()
            return
        self.handler = self.make_handler()
        self.guard.connections[self.handler] = self
        self.handler.connection_made(transport)
        self._arm(self.guard.header_timeout)

    def data_received(self, data: bytes) -> None:
        if self.handler is None:
            return
        if self.phase == "idle":  # the next keep-alive request has begun
            self.phase = "headers"
            self.guard.waiting[self] = None
            self._arm(self.guard.header_timeout)
        self.handler.data_received(data)
        if self.phase == "body" and self.body is not None and self.body.is_eof():
            self._body_done()

    def eof_received(self) -> bool | None:
        return self.handler.eof_received() if self.handler is not None else None

    def pause_writing(self) -> None:
        if self.handler is not None:
            self.handler.pause_writing()

    def resume_writing(self) -> None:
        if self.handler is not None:
            self.handler.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.guard.release(self)
        if self.handler is not None:
            self.handler.connection_lost(exc)
            self.handler = None

    # ---------------------------------------------------------------- phases

    def request_started(self, request: web.BaseRequest) -> None:
        """The headers are in (called by the guard's middleware)."""
        self.guard.waiting.pop(self, None)
        if request.content.is_eof():
            self._body_done()
        else:
            self.phase, self.body = "body", request.content
            self._arm(self.guard.body_timeout)

    def request_finished(self) -> None:
        self._disarm()
        self.phase, self.body = "idle", None
        if self.admitted:  # an idle keep-alive connection may make room too
            self.guard.waiting[self] = None

    def _body_done(self) -> None:
        # from here the handler may take its time (a long poll): no deadline
        self._disarm()
        self.phase, self.body = "busy", None

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self.deadline = asyncio.get_running_loop().call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _expired(self) -> None:
        self.deadline = None
        self.guard.timed_out += 1
        self.close(timed_out=True)

    def close(self, *, timed_out: bool = False) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if self.phase == "headers" and timed_out:
            self.transport.write(TIMED_OUT)
        if self.handler is not None:
            self.handler.force_close()
        else:
            self.transport.close()


class ConnectionGuard:
    """The open connections of one server, by client address, in admission order."""

    def __init__(
        self,
        *,
        header_timeout: float,
        body_timeout: float,
        per_client: int,
        total: int,
        trusted: TrustedProxies,
    ) -> None:
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.per_client = per_client
        self.total = total or default_max_connections()
        self.trusted = trusted
        self.by_peer: dict[str, int] = {}
        self.connections: dict[RequestHandler, Connection] = {}
        self.waiting: OrderedDict[Connection, None] = OrderedDict()
        self.open = 0
        self.refused = 0
        self.timed_out = 0
        self.evicted = 0

    def admit(self, connection: Connection) -> bool:
        peer = connection.peer
        if self.by_peer.get(peer, 0) >= self.per_client and peer not in self.trusted:
            return False
        if self.open >= self.total:
            # full: the oldest connection that has not finished its request makes room
            # (a slow client loses its place, a working one keeps it)
            if not self.waiting:
                return False
            oldest = next(iter(self.waiting))
            self.waiting.pop(oldest)
            self.evicted += 1
            oldest.close()
            self.release(oldest)
        self.by_peer[peer] = self.by_peer.get(peer, 0) + 1
        self.open += 1
        self.waiting[connection] = None
        connection.admitted = True
        return True

    def release(self, connection: Connection) -> None:
        if not connection.admitted:
            return
        connection.admitted = False
        if connection.handler is not None:
            self.connections.pop(connection.handler, None)
        self.waiting.pop(connection, None)
        left = self.by_peer.get(connection.peer, 1) - 1
        if left > 0:
            self.by_peer[connection.peer] = left
        else:
            self.by_peer.pop(connection.peer, None)
        self.open -= 1


GUARD_KEY = web.AppKey("connection_guard", ConnectionGuard)


@web.middleware
async def deadlines(request: web.Request, handler: Any) -> web.StreamResponse:
    """Tells the request's connection that its headers are in, and that it is done."""
    guard = request.app.get(GUARD_KEY)
    protocol = request.protocol
    connection = guard.connections.get(protocol) if guard is not None else None
    if connection is None:  # served by a test server, not through the guard
        return await handler(request)
    connection.request_started(request)
    try:
        return await handler(request)
    finally:
        connection.request_finished()


class GuardedSite(web.BaseSite):
    """`web.TCPSite`, with every connection going through the guard."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, guard: ConnectionGuard):
        super().__init__(runner)
        self.host, self.port, self.guard = host, port, guard

    @property
    def name(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            lambda: Connection(self.guard, server),
            self.host,
            self.port,
            reuse_address=True,
            backlog=BACKLOG,
        )


class AcceptErrorLog:
    """asyncio reports every failed accept (out of descriptors) through the loop's
    exception handler, once a second per socket with a traceback; this lets the first
    through and then one summary a minute, and passes everything else on."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.previous = loop.get_exception_handler()
        self.last = 0.0
        self.suppressed = 0

    def install(self) -> None:
        self.loop.set_exception_handler(self)

    def uninstall(self) -> None:
        if self.loop.get_exception_handler() is self:
            self.loop.set_exception_handler(self.previous)

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if str(context.get("message", "")).startswith(ACCEPT_ERROR):
            now = time.monotonic()
            if self.last and now - self.last < ACCEPT_LOG_EVERY:
                self.suppressed += 1
                return
            self.last = now
            exc = context.get("exception")
            log.error(
                "HTTP server cannot accept connections: %s (%d like it in the last %.0fs "
                "not logged); raise the open-files limit or lower http.max_connections",
                exc,
                self.suppressed,
                ACCEPT_LOG_EVERY,
            )
            self.suppressed = 0
            return
        if self.previous is not None:
            self.previous(loop, context)
        else:
            loop.default_exception_handler(context)
