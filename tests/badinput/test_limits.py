"""Oversized bodies get 413 on every surface that takes a body (webhook, API, sign-in,
dashboard forms), whether they declare their length or stream it chunked; a webhook
call without the right secret gets 401; none of them stores anything, and the server
keeps serving."""

from __future__ import annotations

import http.client
import json
import urllib.request
from collections.abc import Iterator

from sqlalchemy import func, select

from storage.models import MessageRow, ProcessedEvent
from tests.badinput.live import API_TOKEN, MAX_BODY, SECRET, SECRET_HEADER, LiveCasebot
from tests.harness import ACME

SURFACES = {
    "/telegram/webhook": {SECRET_HEADER: SECRET, "Content-Type": "application/json"},
    "/api/v1/cases/1/notes": {
        "Authorization": f"Bearer {API_TOKEN}",
        "X-Casebot-Actor": "telegram:2001",
        "Content-Type": "application/json",
    },
    "/login": {"Content-Type": "application/x-www-form-urlencoded"},
    "/cases/1/act": {"Content-Type": "application/x-www-form-urlencoded"},
}


def _chunks(total: int, size: int = 16_384) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        part = min(size, total - sent)
        sent += part
        yield b"x" * part


def _chunked(bot: LiveCasebot, path: str, headers: dict[str, str], total: int) -> int:
    """POST a body with no Content-Length (Transfer-Encoding: chunked)."""
    request = urllib.request.Request(
        bot.url + path, data=_chunks(total), headers=headers, method="POST"
    )
    status, _ = bot._send(request)
    return status


async def _counts(bot: LiveCasebot) -> tuple[int, int]:
    async with bot.app.sessions() as session:
        messages = await session.execute(select(func.count()).select_from(MessageRow))
        events = await session.execute(select(func.count()).select_from(ProcessedEvent))
        return int(messages.scalar_one()), int(events.scalar_one())


def test_oversized_bodies_get_413(sqlite_url: str) -> None:
    with LiveCasebot(sqlite_url) as bot:
        update = bot.api.message(int(ACME), 5001, "x" * MAX_BODY, first_name="Alice")
        huge_update = json.dumps({"update_id": 1, **update}).encode()
        assert len(huge_update) > MAX_BODY
        for path, headers in SURFACES.items():
            status, _ = bot.post(path, b"x" * (MAX_BODY + 1), headers)
            assert status == 413, (path, "declared length")
            assert _chunked(bot, path, headers, MAX_BODY * 2) == 413, (path, "chunked")
        assert bot.hook(huge_update) == 413
        assert bot.call(_counts(bot)) == (0, 0)
        # just under the limit is taken
        fits = bot.api.message(int(ACME), 5001, "y" * (MAX_BODY - 2048), first_name="Alice")
        assert bot.hook({"update_id": 2, **fits}) == 200
        assert bot.call(_counts(bot)) == (1, 1)
        assert bot.get("/healthz")[0] == 200


def test_webhook_secret_is_required(sqlite_url: str) -> None:
    with LiveCasebot(sqlite_url) as bot:
        update = {"update_id": 5, **bot.api.message(int(ACME), 5001, "forged", first_name="A")}
        for secret in (None, "", "wrong", SECRET.lower(), SECRET[:-1], SECRET + "x", "\u00e9"):
            assert bot.hook(update, secret=secret) == 401, repr(secret)
        # a forged body that is not even JSON is refused for its secret first
        status, _ = bot.post("/telegram/webhook", b"\xff\xfe", {SECRET_HEADER: "wrong"})
        assert status == 401
        assert bot.call(_counts(bot)) == (0, 0)
        assert bot.hook(update) == 200
        assert bot.call(_counts(bot)) == (1, 1)


def _raw(bot: LiveCasebot, method: str, path: str, headers: dict[str, bytes], body: bytes) -> int:
    """A request whose header values are raw bytes (not valid UTF-8, or not ASCII)."""
    conn = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        return int(conn.getresponse().status)
    finally:
        conn.close()


HOSTILE_VALUES = [b"\xff\xfe", b"\xc3\xa9t\xc3\xa9", b"\xe9", b"a\x7fb", b"x" * 8000]


def test_hostile_credentials_never_crash(sqlite_url: str) -> None:
    """Secrets, tokens, cookies and CSRF tokens that are not ASCII or not UTF-8 at all
    are refused (401, 403, a redirect to sign in), never answered with a 500."""
    update = json.dumps({"update_id": 1, "message": {"message_id": 1}}).encode()
    form = b"csrf=%C3%A9%FF&name=lena&password=x"
    with LiveCasebot(sqlite_url) as bot:
        seen: set[int] = set()
        for value in HOSTILE_VALUES:
            calls = [
                ("POST", "/telegram/webhook", {SECRET_HEADER: value}, update),
                ("GET", "/api/v1/cases", {"Authorization": b"Bearer " + value}, b""),
                ("GET", "/queue/mine", {"Cookie": b"cb_session=" + value}, b""),
                ("GET", "/queue/mine", {"Cookie": b"cb_session=e30." + value}, b""),
                ("GET", "/login", {"Cookie": b"cb_nonce=" + value}, b""),
                (
                    "POST",
                    "/login",
                    {
                        "Cookie": b"cb_nonce=" + value,
                        "Content-Type": b"application/x-www-form-urlencoded",
                    },
                    form,
                ),
                (
                    "POST",
                    "/cases/1/act",
                    {"Cookie": b"cb_nonce=abc", "X-CSRF-Token": value},
                    b"kind=note&text=x",
                ),
            ]
            for method, path, headers, body in calls:
                status = _raw(bot, method, path, headers, body)
                seen.add(status)
                assert status < 500, (method, path, headers, status)
        for path in ("/login/%FF%FE", "/login/%C3%A9", "/status/%FF", "/cases/%FF", "/queue/%00"):
            status = _raw(bot, "GET", path, {}, b"")
            seen.add(status)
            assert status < 500, (path, status)
        assert bot.call(_counts(bot)) == (0, 0)
    print(f"\nbadinput credentials: statuses {sorted(seen)}, no 5xx")
