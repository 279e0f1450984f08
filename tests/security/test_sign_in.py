"""Sign-in against an attacker, through the real HTTP server: `next=` never leads off
the site, every cookie is `Secure` under an https public_url, sign-out (and a lead's
"sign out everywhere") ends sessions in the database, a flood of wrong passwords does
not slow other requests, and one client address gets a bounded number of tries."""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import example, given
from hypothesis import strategies as st

from bot.app import App
from bot.config import parse_config
from cases.clock import FrozenClock
from tests.web.conftest import PASSWORD, Site, make_site, web_config
from web.auth import PASSWORDS_KEY, SESSION_COOKIE, safe_next
from web.server import build_web_app

# ------------------------------------------------------------ open redirect


def _as_a_browser_reads_it(url: str) -> tuple[str, str]:
    """(scheme, host) of `url` the way a browser's URL parser resolves it: tabs and
    newlines dropped anywhere, C0 controls and spaces trimmed, backslashes as slashes."""
    url = re.sub(r"[\t\n\r]", "", url).strip("".join(map(chr, range(0x21))))
    parts = urlsplit(url.replace("\\", "/"))
    return parts.scheme, parts.netloc


TRICKY = st.lists(
    st.sampled_from(list("/\\.:@%?#abAB09 \t\n\r\x00\x1f\x7f") + ["%09", "%0a", "%2f", "%25"]),
    max_size=16,
).map("".join)


@given(st.one_of(st.text(max_size=40), TRICKY, TRICKY.map(lambda t: "/" + t)))
@example("/%09/evil.example/path")
@example("/%0a/evil.example")
@example("/%0d/evil.example")
@example("/%2509/evil.example")
@example("/\\evil.example")
@example("/\t/evil.example")
@example("https://evil.example/")
@example("/%2F/evil.example")
def test_next_is_always_a_path_on_this_site(target: str) -> None:
    chosen = safe_next(target)
    assert chosen in (target, "/")
    seen = chosen
    for _ in range(5):  # however often a server or browser decodes it
        assert seen.startswith("/") and not seen.startswith("//"), (target, seen)
        assert _as_a_browser_reads_it(seen) == ("", ""), (target, seen)
        seen = unquote(seen)


def test_ordinary_paths_are_kept() -> None:
    for path in ("/", "/queue/mine", "/cases/12?tab=notes", "/search?q=a%20b", "/a//b"):
        assert safe_next(path) == path


@pytest.fixture
async def lite(sqlite_url: str) -> AsyncIterator[Site]:
    async for site in make_site(sqlite_url):
        yield site


@pytest.mark.parametrize("escape", ["%09", "%0a", "%0d", "%5c", "%2509"])
async def test_a_signed_in_user_is_not_sent_to_another_site(lite: Site, escape: str) -> None:
    await lite.sign_in()
    r = await lite.client.get(f"/login?next=/{escape}/evil.example/path", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/"
    token = await lite.csrf("/outbox")
    await lite.client.post("/logout", data={"csrf": token}, allow_redirects=False)
    r = await lite.client.post(
        "/login",
        data={
            "csrf": await lite.csrf(),
            "name": "lena",
            "password": PASSWORD,
            "next": f"/{unquote(escape)}/evil.example",
        },  # fmt: skip
        allow_redirects=False,
    )
    assert r.status == 303 and r.headers["Location"] == "/"


# ------------------------------------------------------------ cookies


class Browser:
    """A client that keeps cookies itself, Secure ones included (aiohttp's jar would
    not send those over the test server's plain http), and records every Set-Cookie."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.cookies: dict[str, str] = {}
        self.set_cookies: list[str] = []

    async def request(self, method: str, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        r = await self.client.request(
            method, path, headers=headers, allow_redirects=False, **kwargs
        )
        for header in r.headers.getall("Set-Cookie", []):
            self.set_cookies.append(header)
            name, _, rest = header.partition("=")
            value = rest.split(";")[0]
            if value in ("", '""'):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        await r.read()
        return r

    async def csrf(self, path: str = "/login") -> str:
        r = await self.request("GET", path)
        match = re.search(r'name="csrf" value="([^"]+)"', await r.text())
        assert match, await r.text()
        return match.group(1)

    async def sign_in(self, name: str = "lena") -> None:
        token = await self.csrf()
        data = {"csrf": token, "name": name, "password": PASSWORD, "next": "/"}
        assert (await self.request("POST", "/login", data=data)).status == 303


async def _site(url: str, **http: Any) -> AsyncIterator[tuple[App, TestClient]]:
    config = parse_config(web_config(url, **http), env={})
    app = App(config, FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)))
    await app.prepare()
    client = TestClient(TestServer(build_web_app(app)), cookie_jar=aiohttp.DummyCookieJar())
    await client.start_server()
    try:
        yield app, client
    finally:
        await client.close()
        await app.db.dispose()


async def _every_cookie(url: str, public_url: str) -> list[str]:
    """Each Set-Cookie of a visit: first page, sign-in, a form with a flash message, the
    page that shows it, sign-out."""
    async for _app, client in _site(url, public_url=public_url):
        browser = Browser(client)
        await browser.sign_in()
        token = await browser.csrf("/outbox")
        r = await browser.request("POST", "/outbox/retry", data={"csrf": token, "all": "1"})
        assert r.status == 303
        await browser.request("GET", "/outbox")
        await browser.request("POST", "/logout", data={"csrf": await browser.csrf("/outbox")})
        return browser.set_cookies
    raise AssertionError("no site")


async def test_every_cookie_is_secure_under_an_https_public_url(sqlite_url: str) -> None:
    cookies = await _every_cookie(sqlite_url, "https://support.example.com")
    names = {c.partition("=")[0] for c in cookies}
    assert names >= {"cb_nonce", "cb_session", "cb_flash"}, names
    plain = [c for c in cookies if "secure" not in c.lower().replace(" ", "").split(";")]
    assert plain == [], plain
    # the flash and the sign-out's expiry were among them: set and deleted both
    assert sum(c.startswith("cb_flash=") for c in cookies) >= 2


async def test_cookies_are_not_secure_under_an_http_public_url(sqlite_url: str) -> None:
    cookies = await _every_cookie(sqlite_url, "http://127.0.0.1:8080")
    assert cookies and not any("secure" in c.lower() for c in cookies)


# ------------------------------------------------------------ revocable sessions


async def test_the_cookie_is_refused_after_sign_out(sqlite_url: str) -> None:
    async for _app, client in _site(sqlite_url):
        browser = Browser(client)
        await browser.sign_in()
        stolen = dict(browser.cookies)  # a copy of the cookie, kept by someone else
        assert (await browser.request("GET", "/outbox")).status == 200
        r = await browser.request("POST", "/logout", data={"csrf": await browser.csrf("/outbox")})
        assert r.status == 303 and SESSION_COOKIE not in browser.cookies
        thief = Browser(client)
        thief.cookies = stolen
        r = await thief.request("GET", "/outbox")
        assert r.status == 303 and r.headers["Location"].startswith("/login")


async def test_a_lead_signs_out_every_session_on_every_process(sqlite_url: str) -> None:
    first, second = _site(sqlite_url), _site(sqlite_url)
    (_, one), (_, other) = await anext(first), await anext(second)
    try:
        lead, lead_elsewhere, engineer = Browser(one), Browser(other), Browser(other)
        await lead.sign_in("lena")
        await lead_elsewhere.sign_in("lena")
        await engineer.sign_in("evan")
        page = await (await lead.request("GET", "/outbox")).text()
        assert 'action="/logout/everywhere"' in page
        page = await (await engineer.request("GET", "/outbox")).text()
        assert 'action="/logout/everywhere"' not in page
        # an engineer may not
        token = await engineer.csrf("/outbox")
        r = await engineer.request("POST", "/logout/everywhere", data={"csrf": token})
        assert r.status == 403
        assert (await lead_elsewhere.request("GET", "/outbox")).status == 200
        token = await lead.csrf("/outbox")
        r = await lead.request("POST", "/logout/everywhere", data={"csrf": token})
        assert r.status == 303
        for browser in (lead, lead_elsewhere, engineer):  # the others are on another process
            r = await browser.request("GET", "/outbox")
            assert r.status == 303 and r.headers["Location"].startswith("/login")
        await lead.sign_in("lena")  # and signing in again works
        assert (await lead.request("GET", "/outbox")).status == 200
    finally:
        for gen in (first, second):
            await gen.aclose()


# ------------------------------------------------------------ password floods


@pytest.fixture
async def flood_site(sqlite_url: str) -> AsyncIterator[Site]:
    async for s in make_site(sqlite_url, login_failures_per_address=100_000):
        yield s


async def test_a_password_flood_does_not_slow_healthz(flood_site: Site) -> None:
    """Eight clients post wrong passwords under random names (each checked against the
    full-strength dummy hash) while /healthz is timed."""
    site = flood_site
    token = await site.csrf()
    stop = asyncio.Event()
    posted = 0

    async def flood(n: int) -> None:
        nonlocal posted
        i = 0
        while not stop.is_set():
            i += 1
            data = {"csrf": token, "name": f"nobody-{n}-{i}", "password": "wrong"}
            r = await site.client.post("/login", data=data, allow_redirects=False)
            assert r.status in (401, 503), r.status
            posted += 1

    floods = [asyncio.create_task(flood(n)) for n in range(8)]
    await asyncio.sleep(0.3)
    latencies = []
    for _ in range(20):
        began = time.perf_counter()
        r = await site.client.get("/healthz")
        latencies.append(time.perf_counter() - began)
        assert r.status == 200
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*floods)
    print(
        f"\npassword flood: {posted} wrong passwords from 8 clients; /healthz median "
        f"{statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )
    assert statistics.median(latencies) < 0.1, latencies
    assert max(latencies) < 1.0, latencies


async def _try(site: Site, token: str, name: str, **headers: str) -> int:
    r = await site.client.post(
        "/login",
        data={"csrf": token, "name": name, "password": "wrong"},
        headers=headers,
        allow_redirects=False,
    )
    return r.status


@pytest.fixture
async def throttled(sqlite_url: str) -> AsyncIterator[Site]:
    async for s in make_site(sqlite_url, login_failures_per_address=3):
        yield s


async def test_one_address_gets_a_bounded_number_of_tries(throttled: Site) -> None:
    site = throttled
    token = await site.csrf()
    # random names, and a made-up X-Forwarded-For each time: no proxy is trusted,
    # so the peer address is what counts
    tries = [await _try(site, token, f"n{i}", **{"X-Forwarded-For": f"10.0.0.{i}"})
             for i in range(5)]  # fmt: skip
    assert tries == [401, 401, 401, 429, 429]


@pytest.fixture
async def proxied(sqlite_url: str) -> AsyncIterator[Site]:
    async for s in make_site(
        sqlite_url, login_failures_per_address=2, trusted_proxies=["127.0.0.0/8"]
    ):
        yield s


async def test_behind_a_trusted_proxy_the_forwarded_address_counts(proxied: Site) -> None:
    token = await proxied.csrf()

    async def from_(client: str, name: str) -> int:
        # the client may write anything left of the proxy's own entry
        return await _try(proxied, token, name, **{"X-Forwarded-For": f"6.6.6.6, {client}"})

    assert [await from_("203.0.113.7", f"a{i}") for i in range(3)] == [401, 401, 429]
    assert await from_("203.0.113.8", "b") == 401


async def test_an_ipv6_client_cannot_rotate_addresses_past_the_throttle(proxied: Site) -> None:
    """One IPv6 client holds a /64 (2^64 addresses) and may use a new one for every try;
    an IPv4 client seen as IPv4-mapped IPv6 (a dual-stack listener) is the same client."""
    token = await proxied.csrf()

    async def from_(client: str, name: str) -> int:
        return await _try(proxied, token, name, **{"X-Forwarded-For": client})

    rotating = [await from_(f"2001:db8:1:2::{i + 1:x}", f"v6-{i}") for i in range(3)]
    assert rotating == [401, 401, 429]
    assert await from_("2001:db8:1:3::1", "next-door") == 401  # another /64, another client
    mapped = [await from_(a, f"v4-{i}") for i, a in enumerate(["::ffff:198.51.100.9"] * 2)]
    assert mapped == [401, 401]
    assert await from_("198.51.100.9", "same-client") == 429


async def test_a_busy_answer_does_not_count_as_a_wrong_password(lite: Site) -> None:
    """While the password checks are saturated (a flood), a person's correct password
    is answered "busy"; those tries must not lock their name once the flood is over."""
    checks = lite.client.app[PASSWORDS_KEY]
    token = await lite.csrf()
    queue, checks.queue = checks.queue, 0  # every check waiting slot is taken
    try:
        data = {"csrf": token, "name": "lena", "password": PASSWORD}
        busy = [
            (await lite.client.post("/login", data=data, allow_redirects=False)).status
            for _ in range(6)
        ]
    finally:
        checks.queue = queue
    assert busy == [503] * 6
    r = await lite.client.post("/login", data=data, allow_redirects=False)
    assert r.status == 303, r.status
