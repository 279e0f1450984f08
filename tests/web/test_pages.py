"""Dashboard, sign-in, CSRF, escaping, headers, status pages, reports and the
operations endpoints, through aiohttp's test client."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select

from storage.models import Chat, OutboxRow
from tests.web.conftest import ACME, ENGINEER, GLOBEX, LEAD, PASSWORD, Site, make_site

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


async def _status_token(site: Site, chat: str) -> str:
    async with site.app.sessions() as session:
        row = await session.execute(select(Chat.status_token).where(Chat.chat == chat))
        return str(row.scalar_one())


async def test_pages_need_sign_in_and_password_sign_in_works(lite: Site) -> None:
    r = await lite.client.get("/queue/mine", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/login?next=/queue/mine"
    token = await lite.csrf()
    r = await lite.client.post(
        "/login", data={"csrf": token, "name": "lena", "password": "nope"}, allow_redirects=False
    )
    assert r.status == 401 and "Wrong name or password" in await r.text()
    # a user who is not staff cannot be configured (check-config names http.users[i].person)
    r = await lite.client.post(
        "/login",
        data={"csrf": token, "name": "lena", "password": PASSWORD, "next": "//evil.example/"},
        allow_redirects=False,
    )
    assert r.status == 303 and r.headers["Location"] == "/"
    cookie = r.headers.getall("Set-Cookie")
    session_cookie = next(c for c in cookie if c.startswith("cb_session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    r = await lite.client.get("/queue/mine")
    assert r.status == 200 and "Sign out" in await r.text()


async def _use_link(site: Site, token: str) -> Any:
    """What a person does with the DM'd link: open it, press "Sign in"."""
    csrf = await site.csrf(f"/login/{token}")
    return await site.client.post(f"/login/{token}", data={"csrf": csrf}, allow_redirects=False)


async def test_login_link_is_single_use_and_expires(lite: Site) -> None:
    await lite.add_login_token(ENGINEER, "good-token")
    await lite.add_login_token(ENGINEER, "old-token")
    await lite.add_login_token("telegram:5001", "customer-token")
    r = await _use_link(lite, "good-token")
    assert r.status == 303 and "cb_session=" in r.headers.get("Set-Cookie", "")
    assert (await lite.client.get("/queue/mine")).status == 200
    lite.client.session.cookie_jar.clear()
    r = await _use_link(lite, "good-token")
    assert r.status == 403 and "not valid" in await r.text()
    lite.clock.advance(timedelta(minutes=16))
    assert (await _use_link(lite, "old-token")).status == 403
    assert (await _use_link(lite, "customer-token")).status == 403
    assert (await _use_link(lite, "never-issued")).status == 403
    assert (await lite.client.get("/queue/mine", allow_redirects=False)).status == 303


async def test_forms_without_the_csrf_token_are_refused(lite: Site) -> None:
    case_id = await lite.open_case("VM down")
    await lite.sign_in()
    for data in ({"kind": "priority", "priority": "P1"},
                 {"kind": "priority", "priority": "P1", "csrf": "forged"}):  # fmt: skip
        r = await lite.client.post(f"/cases/{case_id}/act", data=data, allow_redirects=False)
        assert r.status == 403
    r = await lite.client.post("/login", data={"name": "lena", "password": PASSWORD})
    assert r.status == 403
    # a token from another browser (another nonce) does not fit this one
    other = await make_site_token(lite)
    r = await lite.client.post(
        f"/cases/{case_id}/act", data={"kind": "priority", "priority": "P1", "csrf": other}
    )
    assert r.status == 403
    case = await (
        await lite.client.get(f"/api/v1/cases/{case_id}", headers=lite.api_headers())
    ).json()
    assert case["priority"] == "P3"


async def make_site_token(site: Site) -> str:
    from aiohttp import ClientSession

    async with ClientSession() as other:
        page = await (await other.get(site.client.make_url("/login"))).text()
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match
    return match.group(1)


async def test_dashboard_actions_and_hostile_text(site: Site) -> None:
    case_id = await site.open_case(HOSTILE)
    await site.sign_in()
    token = await site.csrf(f"/cases/{case_id}")
    for data in (
        {"kind": "assign", "assignee": ENGINEER},
        {"kind": "priority", "priority": "P2"},
        {"kind": "note", "text": "</textarea><script>bad()</script>"},
        {"kind": "followup", "due_in": "1d", "owner": "", "text": "ring them"},
    ):
        r = await site.client.post(f"/cases/{case_id}/act", data={**data, "csrf": token})
        assert r.status == 200
        assert "Done." in await r.text(), data
    r = await site.client.post(
        f"/cases/{case_id}/act", data={"kind": "priority", "priority": "P7", "csrf": token}
    )
    assert "Not done: priority must be P1" in await r.text()
    r = await site.client.post(
        f"/cases/{case_id}/act", data={"kind": "followup", "due_in": "soon", "text": "x",
                                       "csrf": token},
    )  # fmt: skip
    assert "Not done: due_in must be a duration" in await r.text()
    page = await (await site.client.get(f"/cases/{case_id}")).text()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "&lt;script&gt;bad()" in page and "internal note" in page
    assert "ring them" in page
    for path in ("/queue/active", "/search?q=alert", "/accounts/Acme/review?week=2026-03-02"):
        text = await (await site.client.get(path)).text()
        assert "<script>alert" not in text and "&lt;script&gt;" in text, path
    case = await (
        await site.client.get(f"/api/v1/cases/{case_id}", headers=site.api_headers())
    ).json()
    assert case["assignee"] == ENGINEER and case["priority"] == "P2"


async def test_queues_and_csv_export(site: Site) -> None:
    mine = await site.open_case("mine")
    await site.open_case('=HYPERLINK("http://x")')
    await site.sign_in("evan")
    token = await site.csrf(f"/cases/{mine}")
    await site.client.post(
        f"/cases/{mine}/act", data={"kind": "assign", "assignee": ENGINEER, "csrf": token}
    )
    text = await (await site.client.get("/queue/mine")).text()
    assert f"/cases/{mine}" in text and "HYPERLINK" not in text
    text = await (await site.client.get("/queue/unassigned")).text()
    assert "HYPERLINK" in text and f'href="/cases/{mine}"' not in text
    r = await site.client.get("/queue/active?format=csv")
    assert r.headers["Content-Type"].startswith("text/csv")
    rows = (await r.text()).splitlines()
    assert rows[0].startswith("ref,account,chat,title,status")
    assert len(rows) == 3 and any("'=HYPERLINK" in row for row in rows)
    assert (await site.client.get("/queue/nope")).status == 404


async def test_status_page_shows_only_its_own_chat(site: Site) -> None:
    acme_case = await site.open_case("acme VM down")
    globex_case = await site.open_case("globex 网络很慢", chat=GLOBEX, who="carol")
    h = site.api_headers(LEAD)
    await site.client.post(f"/api/v1/cases/{acme_case}/notes", json={"text": "SECRET-NOTE"},
                           headers=h)  # fmt: skip
    await site.client.post(f"/api/v1/cases/{acme_case}/assign", json={"assignee": ENGINEER},
                           headers=h)  # fmt: skip
    acme = await _status_token(site, ACME)
    globex = await _status_token(site, GLOBEX)
    assert len(acme) >= 32 and acme != globex
    r = await site.client.get(f"/status/{acme}")
    page = await r.text()
    assert r.status == 200 and "Set-Cookie" not in r.headers
    assert f"#{acme_case}" in page and "acme VM down" in page
    assert f"#{globex_case}" not in page and "globex" not in page
    assert "SECRET-NOTE" not in page and "Evan" not in page and ENGINEER not in page
    assert '<html lang="en">' in page and "Open requests" in page
    page = await (await site.client.get(f"/status/{globex}")).text()
    assert f"#{globex_case}" in page and "acme" not in page
    # Globex's account speaks Chinese: so does its customers' page
    assert '<html lang="zh-CN">' in page and "处理中的请求" in page and "Open requests" not in page
    assert (await site.client.get("/status/guess")).status == 404
    # revoking: the old link stops working, the new one works
    await site.sign_in()
    token = await site.csrf("/accounts/Acme")
    async with site.app.sessions() as session:
        chat_id = (await session.execute(select(Chat.id).where(Chat.chat == ACME))).scalar_one()
    r = await site.client.post(f"/chats/{chat_id}/rotate-status", data={"csrf": token})
    assert "old one no longer works" in await r.text()
    assert (await site.client.get(f"/status/{acme}")).status == 404
    renewed = await _status_token(site, ACME)
    assert renewed != acme and (await site.client.get(f"/status/{renewed}")).status == 200


async def test_outbox_page_retries_dead_letters(site: Site) -> None:
    await site.open_case("VM down")
    async with site.app.sessions() as session, session.begin():
        rows = list((await session.execute(select(OutboxRow))).scalars())
        assert rows
        rows[0].status, rows[0].last_error = "dead", "<b>chat not found</b>"
        dead_id = rows[0].id
    await site.sign_in()
    page = await (await site.client.get("/outbox")).text()
    assert "&lt;b&gt;chat not found" in page
    token = await site.csrf("/outbox")
    r = await site.client.post("/outbox/retry", data={"csrf": token, "id": str(dead_id)})
    assert "1 row(s) queued again" in await r.text()
    async with site.app.sessions() as session:
        assert (await session.get(OutboxRow, dead_id)).status == "pending"  # type: ignore[union-attr]


async def test_headers_health_and_metrics(lite: Site) -> None:
    await lite.open_case("VM down")
    for path in ("/login", "/healthz", "/metrics", "/api/v1/cases", "/status/x", "/nope"):
        r = await lite.client.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Referrer-Policy"]
    r = await lite.client.get("/healthz")
    assert r.status == 200 and (await r.json())["database"] == "ok"
    text = await (await lite.client.get("/metrics")).text()
    assert 'casebot_events_total{result="ingested"} 2' in text
    # alice's question and evan's /case: one new case, its ack, card and board queued
    assert 'casebot_cases{status="new"} 1' in text and 'casebot_cases{status="open"} 0' in text
    assert "casebot_outbox_pending 3" in text and "casebot_outbox_dead 0" in text
    assert "casebot_sla_breaches_total 0" in text
    assert 'casebot_event_handling_seconds_bucket{le="+Inf"} 2' in text
    r = await lite.client.post("/login", data="x" * 10_000)
    assert r.status == 413


class WebhookAdapter:
    """An adapter that mounts a webhook with its own secret, like Telegram's."""

    platform = "fake"
    running = True

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def web_routes(self) -> list[web.RouteDef]:
        async def hook(request: web.Request) -> web.Response:
            if request.headers.get("X-Secret") != "s3":
                return web.Response(status=401)
            self.seen.append(await request.json())
            return web.Response(text="ok")

        return [web.post("/fake/webhook", hook)]

    async def start(self, sink: Any) -> None: ...
    async def stop(self) -> None: ...
    async def deliver(self, delivery: Any) -> Any: ...


async def test_adapter_webhooks_keep_working(sqlite_url: str) -> None:
    adapter = WebhookAdapter()
    async for s in make_site(sqlite_url, adapters={"fake": adapter}):
        r = await s.client.post("/fake/webhook", json={"u": 1}, headers={"X-Secret": "s3"})
        assert r.status == 200 and adapter.seen == [{"u": 1}]
        r = await s.client.post("/fake/webhook", json={"u": 2})
        assert r.status == 401
        health = await (await s.client.get("/healthz")).json()
        assert health["adapters"] == {"fake": True}
        adapter.running = False
        assert (await s.client.get("/healthz")).status == 503


async def test_password_guessing_is_throttled_per_name(lite: Site) -> None:
    token = await lite.csrf()

    async def attempt(password: str) -> int:
        r = await lite.client.post(
            "/login",
            data={"csrf": token, "name": "lena", "password": password},
            allow_redirects=False,
        )
        return r.status

    assert [await attempt(f"guess {i}") for i in range(5)] == [401] * 5
    # even the right password is refused while the name is locked
    assert await attempt(PASSWORD) == 429
    lite.clock.advance(timedelta(minutes=6))
    assert await attempt(PASSWORD) == 303


async def test_a_burst_of_parallel_guesses_gets_five_tries_and_no_more(site: Site) -> None:
    """Each try is counted before its password is checked, one name at a time: 20
    guesses sent at once used to be checked all 20 (PostgreSQL) or 6 (SQLite)."""
    token = await site.csrf()

    async def attempt(i: int) -> int:
        r = await site.client.post(
            "/login",
            data={"csrf": token, "name": "lena", "password": f"guess {i}"},
            allow_redirects=False,
        )
        return r.status

    statuses = await asyncio.gather(*(attempt(i) for i in range(20)))
    assert sorted(statuses) == [401] * 5 + [429] * 15


async def test_the_throttle_holds_across_processes_on_one_database(sqlite_url: str) -> None:
    """Behind a load balancer each try may reach another process: the wrong tries are
    counted in the database, so the fifth locks the name on every process."""
    first, second = make_site(sqlite_url), make_site(sqlite_url)
    a, b = await anext(first), await anext(second)
    try:
        for i, site in enumerate([a, b, a, b, a]):
            token = await site.csrf()
            r = await site.client.post(
                "/login",
                data={"csrf": token, "name": "lena", "password": f"guess {i}"},
                allow_redirects=False,
            )
            assert r.status == 401
        token = await b.csrf()
        r = await b.client.post(
            "/login", data={"csrf": token, "name": "lena", "password": PASSWORD}
        )
        assert r.status == 429
    finally:
        for gen in (first, second):
            await gen.aclose()
