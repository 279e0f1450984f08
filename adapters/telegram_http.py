"""python-telegram-bot's HTTP transport, on asyncio's own sockets instead of httpx.

Imports python-telegram-bot and aiohttp. Why: PTB's default `HTTPXRequest` spends
3 ms of CPU per Bot API call sent one at a time and 9 ms each with 64 under way
(httpcore matches every queued request against every pooled connection on each
change), which capped casebot's deliveries near 100 calls a second on 2 cores. This
one keeps the same calls, bodies and error mapping (form-encoded POSTs, multipart for
files; a timeout is `TimedOut`, any other transport failure `NetworkError`). A form
goes out on a kept-alive HTTP/1.1 connection of its own pool (`_Connection`): about
70 us of CPU a call with PTB's part, where aiohttp's request machinery took 170-240
(bench/latency.py; the README's Performance section has the figures). Uploads and
calls through a proxy go through aiohttp, which does multipart and proxies.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import zlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from telegram import error as tg_error
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, RequestData

INVALID_RESPONSE = "Invalid server response"

# urlencode's quoting (quote_plus: the unreserved characters kept, a space as "+", every
# other byte of the UTF-8 as %XX) as a table for str.translate: urlencode loops over each
# byte of each value in Python, half the cost of encoding a message's form
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")
_QUOTED = [chr(b) if b in _UNRESERVED else "+" if b == 0x20 else f"%{b:02X}" for b in range(256)]


def form_body(params: Mapping[str, str]) -> bytes:
    """`urlencode(params).encode()` for text keys and values, the same bytes."""
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in params.items()).encode("ascii")


def _quote(text: str) -> str:
    # each UTF-8 byte as the character of that code, for the table to map one by one
    return text.encode("utf-8").decode("latin-1").translate(_QUOTED)


def _seconds(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


# an answer's head at most: the Bot API's are a few hundred bytes
MAX_HEAD = 64 * 1024


class _Cut(ConnectionError):
    """The peer closed the connection before its answer ended."""


class _Target(NamedTuple):
    """Where a URL's calls go, read from it once."""

    origin: tuple[str, str, int]
    tls: bool
    path: str  # as sent on the request line (yarl's, as aiohttp sends it)
    host: str  # the Host header


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection, kept alive between calls: a request written whole, its
    answer read by Content-Length, chunks, or to the close."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buffer = bytearray()
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._wake()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def _more(self) -> None:
        if self.closed:
            raise _Cut("the server closed the connection before its answer ended")
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    async def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        """Write `request` and read its answer: status, body, and whether the connection
        may carry another call."""
        assert self.transport is not None
        self.transport.write(request)
        while True:
            version, status, headers = await self._head()
            if not 100 <= status < 200:
                break  # an interim answer (100 Continue) is followed by the real one
        keep = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
        if status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._chunked()
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise _Cut("the answer's Content-Length is not a number") from None
            body = await self._exactly(length)
        else:
            while not self.closed:
                await self._more()
            body, keep = bytes(self._buffer), False
            self._buffer.clear()
        coding = headers.get("content-encoding", "identity").lower()
        if coding in ("gzip", "x-gzip", "deflate"):
            # none is asked for; a server that compresses anyway is understood
            try:
                body = zlib.decompress(body, 47 if coding != "deflate" else zlib.MAX_WBITS)
            except zlib.error as exc:
                raise _Cut(f"the answer's {coding} body is broken: {exc}") from None
        return status, body, keep and not self._buffer and not self.closed

    async def _head(self) -> tuple[str, int, dict[str, str]]:
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            if len(self._buffer) > MAX_HEAD:
                raise _Cut("the answer's head is too long")
            await self._more()
        head = self._buffer[:end].decode("latin-1")
        del self._buffer[: end + 4]
        first, *lines = head.split("\r\n")
        version, _, rest = first.partition(" ")
        try:
            status = int(rest[:3])
        except ValueError:
            raise _Cut(f"not an HTTP answer: {first[:80]!r}") from None
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return version, status, headers

    async def _exactly(self, length: int) -> bytes:
        while len(self._buffer) < length:
            await self._more()
        body = bytes(self._buffer[:length])
        del self._buffer[:length]
        return body

    async def _line(self) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            if len(self._buffer) > MAX_HEAD:
                raise _Cut("a chunk's size line is too long")
            await self._more()
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    async def _chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            line = await self._line()
            try:
                size = int(line.split(b";")[0], 16)
            except ValueError:
                raise _Cut("a chunk's size is not a number") from None
            if size == 0:
                while await self._line():
                    pass  # trailers, up to the empty line
                return b"".join(parts)
            parts.append(await self._exactly(size))
            if await self._exactly(2) != b"\r\n":
                raise _Cut("a chunk does not end where its size says")


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` of at most `connection_pool_size` connections at once, kept
    alive between calls (`_Connection`; aiohttp's session for uploads and proxies).
    Timeouts as PTB's HTTPXRequest has them (read and connect 5 s, 1 s to get a pooled
    connection); the read timeout covers the whole answer. `write_timeout` is taken and
    not used: casebot's calls are small forms that leave in one write."""

    def __init__(
        self,
        connection_pool_size: int = 1,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._session: aiohttp.ClientSession | None = None
        # the proxy for each origin, read from the environment once (see initialize)
        self._proxies: dict[tuple[str, str | None, int | None], Any] = {}
        # each URL's target, parsed once (PTB asks for a handful of endpoints)
        self._targets: dict[str, _Target] = {}
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._slots = asyncio.Semaphore(connection_pool_size)  # again on each initialize
        self._tls: ssl.SSLContext | None = None
        self._headers = {"User-Agent": self.USER_AGENT}
        self._form_headers = {
            "User-Agent": self.USER_AGENT,
            "Content-Type": "application/x-www-form-urlencoded",
        }

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                # PTB's own User-Agent goes with each call; none of aiohttp's
                skip_auto_headers=("User-Agent",),
                # the Bot API sets no cookies, and matching a jar costs every call
                cookie_jar=aiohttp.DummyCookieJar(),
                # HTTPS_PROXY / HTTP_PROXY and NO_PROXY are honoured (aiohttp reads no
                # ALL_PROXY), looked up once per origin (_proxy): aiohttp's trust_env
                # reads them and ~/.netrc on a worker thread for every call, two thread
                # hops that cost more than the call itself
                trust_env=False,
            )
            self._proxies.clear()
            # a semaphore belongs to the loop it first waited on
            self._slots = asyncio.Semaphore(self._pool_size)

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()

    def _proxy(self, url: str) -> tuple[Any, Any]:
        """(proxy URL, its credentials) for the url's origin, or (None, None)."""
        parsed = aiohttp.client.URL(url)  # yarl's, as aiohttp takes it
        key = (parsed.scheme, parsed.host, parsed.port)
        found = self._proxies.get(key)
        if found is None:
            try:
                found = get_env_proxy_for_url(parsed)
            except LookupError:
                found = (None, None)
            self._proxies[key] = found
        return found

    def _target(self, url: str) -> _Target | None:
        """Where `url`'s calls go on a connection of this pool; None for aiohttp's (a
        proxy's origin, a scheme other than http and https)."""
        target = self._targets.get(url)
        if target is None:
            parsed = aiohttp.client.URL(url)
            host = parsed.raw_host
            port = parsed.port
            if parsed.scheme not in ("http", "https") or not host or port is None:
                return None
            if self._proxy(url) != (None, None):
                return None
            name = f"[{host}]" if ":" in host else host
            target = _Target(
                origin=(parsed.scheme, host, port),
                tls=parsed.scheme == "https",
                path=parsed.raw_path_qs,
                host=name if parsed.is_default_port() else f"{name}:{port}",
            )
            if len(self._targets) > 256:
                self._targets.clear()
            self._targets[url] = target
        return target

    def parse_json_payload(self, payload: bytes) -> Any:
        # PTB's own logs a traceback for an answer that is not JSON; the error it
        # raises says so already, and start-up turns it into one line about base_url
        try:
            return json.loads(payload.decode("utf-8", "replace"))
        except ValueError:
            raise tg_error.TelegramError(INVALID_RESPONSE) from None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        read = _seconds(read_timeout, self._read)
        connect = _seconds(connect_timeout, self._connect)
        pool = _seconds(pool_timeout, self._pool)
        if request_data is None or not request_data.multipart_data:
            target = self._target(url)
            if target is not None:
                body = form_body(request_data.json_parameters) if request_data else b""
                return await self._call(target, method, body, read, connect, pool)
        return await self._aiohttp(session, url, method, request_data, read, connect, pool)

    async def _call(
        self,
        target: _Target,
        method: str,
        body: bytes,
        read: float | None,
        connect: float | None,
        pool: float | None,
    ) -> tuple[int, bytes]:
        head = (
            f"{method} {target.path} HTTP/1.1\r\nHost: {target.host}\r\n"
            f"User-Agent: {self.USER_AGENT}\r\nAccept: */*\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        request = head.encode("latin-1") + body
        slots = self._slots
        if slots.locked():
            try:
                async with asyncio.timeout(pool):
                    await slots.acquire()
            except TimeoutError as exc:
                raise tg_error.TimedOut(
                    "Pool timeout: all connections of the pool are in use"
                ) from exc
        else:
            await slots.acquire()  # free: taken at once
        try:
            idle = self._idle.setdefault(target.origin, [])
            conn = None
            while idle:
                conn = idle.pop()
                if not conn.closed:
                    break  # else the server ended it while it waited
                conn = None
            if conn is None:
                conn = await self._open(target, connect)
            try:
                async with asyncio.timeout(read):
                    status, answer, keep = await conn.exchange(request)
            except TimeoutError as exc:
                conn.close()
                raise tg_error.TimedOut from exc
            except OSError as exc:  # _Cut, a reset, a broken pipe
                conn.close()
                reason = str(exc) if isinstance(exc, _Cut) else f"{type(exc).__name__}: {exc}"
                raise tg_error.NetworkError(reason) from exc
            except BaseException:  # cancelled: the answer may still come, on nothing
                conn.close()
                raise
            if keep and self._session is not None:
                idle.append(conn)
            else:
                conn.close()
            return status, answer
        finally:
            slots.release()

    async def _open(self, target: _Target, connect: float | None) -> _Connection:
        _, host, port = target.origin
        tls = None
        if target.tls:
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(connect):
                _, conn = await loop.create_connection(_Connection, host, port, ssl=tls)
        except TimeoutError as exc:
            raise tg_error.TimedOut from exc
        except OSError as exc:
            raise tg_error.NetworkError(
                f"cannot connect to {host}:{port}: {type(exc).__name__}: {exc}"
            ) from exc
        return conn

    async def _aiohttp(
        self,
        session: aiohttp.ClientSession,
        url: str,
        method: str,
        request_data: RequestData | None,
        read: float | None,
        connect: float | None,
        pool: float | None,
    ) -> tuple[int, bytes]:
        timeout = aiohttp.ClientTimeout(
            total=None,
            # aiohttp's `connect` covers waiting for a pooled connection and opening one
            connect=None if pool is None or connect is None else pool + connect,
            sock_connect=connect,
            sock_read=read,
        )
        data: Any = None
        headers = self._headers
        if request_data is not None:
            files = request_data.multipart_data
            if files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mime) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mime)
                data = form
            else:
                data = form_body(request_data.json_parameters)
                headers = self._form_headers
        proxy, proxy_auth = self._proxy(url)
        try:
            async with session.request(
                method,
                url,
                data=data,
                headers=headers,
                proxy=proxy,
                proxy_auth=proxy_auth,
                timeout=timeout,
                # as httpx: a redirect is the answer (PTB reports it), never followed
                allow_redirects=False,
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's ServerTimeoutError is one too
            raise tg_error.TimedOut from exc
        except aiohttp.ClientError as exc:
            raise tg_error.NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
