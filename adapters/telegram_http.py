"""python-telegram-bot's HTTP transport, on aiohttp instead of httpx.

Imports python-telegram-bot and aiohttp. Why: PTB's default `HTTPXRequest` spends
3 ms of CPU per Bot API call sent one at a time and 9 ms each with 64 under way
(httpcore matches every queued request against every pooled connection on each
change), which capped casebot's deliveries near 100 calls a second on 2 cores. This
one keeps the same calls, bodies and error mapping (form-encoded POSTs, multipart for
files; a timeout is `TimedOut`, any other transport failure `NetworkError`) over
aiohttp's keep-alive pool, at about 0.9 ms a call whether 1 or 64 are under way
(bench/latency.py; the README's Performance section has the figures).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

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


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` over one aiohttp session: at most `connection_pool_size`
    connections, kept alive between calls. Timeouts as PTB's HTTPXRequest has them
    (read and connect 5 s, 1 s to get a pooled connection). aiohttp has no write
    timeout: `write_timeout` is taken and not used; casebot's calls are small forms
    that leave in one write."""

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

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

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
                # the form aiohttp would build from the dict, without its FormData and
                # multipart writer (a uuid4 each) for a body that is never multipart
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
