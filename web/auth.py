"""Staff sign-in for the dashboard: password hashes, signed session cookies, CSRF
tokens, and the sign-in routes (password form, one-time link behind a "Sign in"
button, sign-out).

Imports aiohttp, the standard library, `storage` and `web.guard`. Session cookies
are signed with HMAC-SHA256 under `http.session_secret` (without one a random secret
is made per process, so sessions end when the process restarts) and name a session
recorded in the database, so that signing out ends it on every process. Passwords
are hashed in a small thread pool, never on the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import json
import logging
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from urllib.parse import quote, unquote

from aiohttp import web

from storage.stats import (
    begin_login_attempt,
    consume_login_token,
    forget_login_attempt,
    login_token_usable,
    person_role,
    revoke_staff_sessions,
    staff_person,
    staff_session_live,
    start_staff_session,
)
from web.context import NONCE_KEY, SECRET_KEY, STAFF_KEY, casebot
from web.guard import GUARD_KEY, TrustedProxies, client_address, throttle_key
from web.locale import page_locale

log = logging.getLogger(__name__)

SESSION_COOKIE = "cb_session"
NONCE_COOKIE = "cb_nonce"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
PBKDF2_ITERATIONS = 240_000


# ------------------------------------------------------------ passwords


def hash_password(password: str, *, iterations: int = PBKDF2_ITERATIONS) -> str:
    """`pbkdf2_sha256$<iterations>$<salt>$<hash>`, the format `http.users` take."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return "$".join(["pbkdf2_sha256", str(iterations), _b64(salt), _b64(digest)])


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, iterations, salt, expected = encoded.split("$")
        rounds = int(iterations)
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256" or not 1 <= rounds <= 10_000_000:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), _unb64(salt), rounds)
    return hmac.compare_digest(digest, _unb64(expected))


@functools.cache
def _dummy_hash() -> str:
    """A hash to check against when the name is unknown, so timing does not tell
    which names exist."""
    return hash_password("not a password")


class PasswordChecks:
    """PBKDF2 takes about 0.1 s of CPU a try: on the event loop, a flood of wrong
    passwords stalled every request. Here it runs on a few threads (hashlib lets go of
    the GIL while it hashes); at most `queue` tries wait for one, and beyond that the
    answer is "busy" at once, so a flood queues briefly instead of piling up."""

    def __init__(self, threads: int = 2, queue: int = 32) -> None:
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="password-hash")
        self.queue = queue
        self.pending = 0

    async def verify(self, password: str, encoded: str) -> bool | None:
        """Whether `password` matches, or None when too many checks are waiting."""
        if self.pending >= self.queue:
            return None
        self.pending += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self.pool, verify_password, password, encoded)
        finally:
            self.pending -= 1

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


PASSWORDS_KEY = web.AppKey("password_checks", PasswordChecks)


async def close_password_checks(web_app: web.Application) -> None:
    web_app[PASSWORDS_KEY].close()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ------------------------------------------------------------ sessions


@dataclass(frozen=True)
class StaffSession:
    person: str  # "telegram:1001"
    name: str
    expires: float
    sid: str = ""  # the session's id; the database keeps its hash (`staff_sessions`)
    role: str = ""  # filled in from the database on each request, never from the cookie


def _sign(secret: bytes, payload: bytes) -> str:
    return _b64(hmac.new(secret, payload, hashlib.sha256).digest())


def _bytes(value: str) -> bytes:
    """A cookie, header or path value as bytes: aiohttp keeps bytes that are not UTF-8
    as lone surrogates, which plain `.encode()` refuses (a 500 for a forged value)."""
    return value.encode("utf-8", "surrogateescape")


def _same(given: str, expected: str) -> bool:
    # compare_digest refuses str with non-ASCII characters; bytes it always takes
    return hmac.compare_digest(_bytes(given), _bytes(expected))


def encode_session(secret: bytes, session: StaffSession) -> str:
    payload = json.dumps(
        {"p": session.person, "n": session.name, "e": session.expires, "s": session.sid},
        separators=(",", ":"),
    ).encode()
    return f"{_b64(payload)}.{_sign(secret, b'session|' + payload)}"


def decode_session(secret: bytes, value: str, now: float) -> StaffSession | None:
    body, _, signature = value.partition(".")
    try:
        payload = _unb64(body)
    except ValueError:
        return None
    if not _same(signature, _sign(secret, b"session|" + payload)):
        return None
    try:
        data = json.loads(payload)
        session = StaffSession(
            str(data["p"]), str(data["n"]), float(data["e"]), str(data.get("s", ""))
        )
    except (ValueError, KeyError, TypeError):
        return None
    return session if session.expires > now else None


def csrf_token(request: web.Request) -> str:
    """The token forms carry: an HMAC of the browser's nonce cookie."""
    nonce = request.get(NONCE_KEY) or request.cookies.get(NONCE_COOKIE, "")
    return _sign(request.app[SECRET_KEY], b"csrf|" + _bytes(nonce)) if nonce else ""


def csrf_ok(request: web.Request, given: str) -> bool:
    nonce = request.cookies.get(NONCE_COOKIE, "")
    if not nonce or not given:
        return False
    expected = _sign(request.app[SECRET_KEY], b"csrf|" + _bytes(nonce))
    return _same(given, expected)


def cookies_secure(request: web.Request) -> bool:
    """Whether cookies carry `Secure`: `http.cookie_secure`, or an https `public_url`."""
    http = casebot(request).config.http
    if http.cookie_secure is not None:
        return bool(http.cookie_secure)
    return bool(http.public_url and http.public_url.startswith("https://"))


def ensure_nonce(request: web.Request, response: web.StreamResponse) -> None:
    """Give a browser its CSRF nonce cookie if it has none yet."""
    if request.cookies.get(NONCE_COOKIE):
        return
    nonce = request.get(NONCE_KEY) or secrets.token_urlsafe(24)
    _set_cookie(request, response, NONCE_COOKIE, nonce, max_age=None)


def _set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    max_age: int | None,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=cookies_secure(request),
    )


def _session_hash(sid: str) -> str:
    return hashlib.sha256(_bytes(sid)).hexdigest()


def _cookie_session(request: web.Request) -> StaffSession | None:
    """The session the cookie names, if its signature holds; not yet checked against
    the database."""
    app = casebot(request)
    value = request.cookies.get(SESSION_COOKIE, "")
    return decode_session(request.app[SECRET_KEY], value, app.clock.now().timestamp())


async def current_staff(request: web.Request) -> StaffSession | None:
    """The signed-in staff person, or None. The session must be recorded and not
    revoked, and the person must still be staff."""
    if STAFF_KEY in request:
        cached: StaffSession | None = request[STAFF_KEY]
        return cached
    app = casebot(request)
    session = _cookie_session(request)
    if session is not None:
        async with app.sessions() as db:
            live = session.sid and await staff_session_live(
                db, _session_hash(session.sid), session.person, app.clock.now()
            )
            role = await person_role(db, session.person) if live else None
        session = None if role is None or role == "customer" else replace(session, role=role)
    request[STAFF_KEY] = session
    return session


async def require_staff(request: web.Request) -> StaffSession:
    session = await current_staff(request)
    if session is None:
        raise web.HTTPSeeOther(f"/login?next={quote(safe_next(request.path_qs), safe='/')}")
    return session


# browsers drop tabs and newlines anywhere in a URL, and read a backslash as a slash
_UNSAFE_IN_NEXT = re.compile(r"[\x00-\x1f\x7f\\]")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: `target` when it is a path on this site, else "/".

    A browser would make "/\t/evil.example" or "/\\evil.example" into "//evil.example",
    another site; so would a server that decodes "%09" once more. So the target, and
    every percent-decoding of it, must be free of control characters and backslashes,
    start with one "/" and not two."""
    if not target:
        return "/"
    seen = target
    for _ in range(4):  # each round peels one layer of percent-encoding
        if _UNSAFE_IN_NEXT.search(seen) or not seen.startswith("/") or seen.startswith("//"):
            return "/"
        decoded = unquote(seen)
        if decoded == seen:
            return target
        seen = decoded
    return "/"  # encoded more deeply than any link of ours


async def start_session(
    request: web.Request, response: web.StreamResponse, person: str, name: str
) -> None:
    app = casebot(request)
    ttl = app.config.http.session_ttl
    now = app.clock.now()
    sid = secrets.token_urlsafe(24)
    async with app.sessions() as db, db.begin():
        await start_staff_session(db, _session_hash(sid), person, now, now + ttl)
    expires = now.timestamp() + ttl.total_seconds()
    value = encode_session(request.app[SECRET_KEY], StaffSession(person, name, expires, sid))
    _set_cookie(request, response, SESSION_COOKIE, value, max_age=int(ttl.total_seconds()))
    # a fresh nonce at sign-in, so a nonce planted before cannot forge forms after
    _set_cookie(request, response, NONCE_COOKIE, secrets.token_urlsafe(24), max_age=None)


# ------------------------------------------------------------ routes


async def login_form(request: web.Request) -> web.StreamResponse:
    from web.render import render

    if await current_staff(request) is not None:
        raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    return render(request, "login.html", {"next": safe_next(request.query.get("next"))})


# password guessing: after this many wrong tries for one name within the window, that
# name is refused (429) until the window has passed; after `http.login_failures_per_
# address` from one client address, so is that address (random names pass the first).
# The tries are kept in the database, so every process behind a load balancer counts
# the same ones.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=5)


def _trusted(request: web.Request) -> TrustedProxies:
    guard = request.app.get(GUARD_KEY)
    return guard.trusted if guard is not None else TrustedProxies([])


async def login_submit(request: web.Request) -> web.StreamResponse:
    from web.render import render

    app = casebot(request)
    form = await request.post()
    name = str(form.get("name", ""))
    password = str(form.get("password", ""))
    target = safe_next(str(form.get("next", "/")))
    now = app.clock.now()
    address = throttle_key(client_address(request, _trusted(request)))
    async with app.sessions() as db, db.begin():
        attempt = await begin_login_attempt(
            db,
            name,
            now,
            FAILURE_WINDOW,
            MAX_FAILURES,
            address=address or None,
            address_limit=app.config.http.login_failures_per_address,
        )
    if not attempt.allowed:
        assert attempt.locked_since is not None
        wait = int((FAILURE_WINDOW - (now - attempt.locked_since)).total_seconds()) // 60 + 1
        return render(
            request,
            "login.html",
            {
                "next": target,
                "name": name,
                "error": _t(request, "desk_login_locked", wait=wait),
            },
            status=429,
        )
    user = next((u for u in app.config.http.users if u.name == name), None)
    ok = await request.app[PASSWORDS_KEY].verify(
        password, user.password_hash if user else _dummy_hash()
    )
    if ok is None:
        # not checked is not wrong: a flood must not lock the names of those it delays
        if attempt.attempt_id is not None:
            async with app.sessions() as db, db.begin():
                await forget_login_attempt(db, attempt.attempt_id)
        return render(
            request,
            "login.html",
            {"next": target, "name": name, "error": _t(request, "desk_login_busy")},
            status=503,
        )
    if ok and attempt.attempt_id is not None:
        async with app.sessions() as db, db.begin():
            await forget_login_attempt(db, attempt.attempt_id)
    if user is not None and ok:
        async with app.sessions() as db:
            # `person` may name a staff person or any of their keys: the session is theirs
            staff = await staff_person(db, user.person)
        if staff is not None:
            response = web.HTTPSeeOther(target)
            await start_session(request, response, staff[0], user.name)
            raise response
    return render(
        request,
        "login.html",
        {"next": target, "error": _t(request, "desk_login_wrong"), "name": name},
        status=401,
    )


async def login_link_confirm(request: web.Request) -> web.StreamResponse:
    """`GET /login/{token}`: the one-time link the bot DMs on /login. It only shows a
    "Sign in" button: chat apps fetch links to draw previews, and a GET that spent the
    token would let that fetch burn the link before the person clicks it."""
    from web.render import render

    app = casebot(request)
    digest = hashlib.sha256(_bytes(request.match_info["token"])).hexdigest()
    async with app.sessions() as db:
        usable = await login_token_usable(db, digest, app.clock.now())
    if not usable:  # say so now, not after a press that cannot work
        return render(request, "login.html", {"next": "/", "link_error": True}, status=403)
    return render(request, "login_link.html", {})


async def login_link(request: web.Request) -> web.StreamResponse:
    """`POST /login/{token}` (the button, CSRF-checked): spends the token, signs in."""
    app = casebot(request)
    digest = hashlib.sha256(_bytes(request.match_info["token"])).hexdigest()
    async with app.sessions() as db, db.begin():
        person = await consume_login_token(db, digest, app.clock.now())
        staff = await staff_person(db, person) if person else None
    if person is None or staff is None:
        from web.render import render

        return render(request, "login.html", {"next": "/", "link_error": True}, status=403)
    # a person known under several keys is shown by their name
    name = app.config.staff.names.get(person) or staff[1]
    response = web.HTTPSeeOther("/")
    await start_session(request, response, person, name)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    """Ends this browser's session in the database, not only its cookie: a copy of the
    cookie is refused from now on."""
    app = casebot(request)
    session = _cookie_session(request)
    if session is not None and session.sid:
        async with app.sessions() as db, db.begin():
            await revoke_staff_sessions(db, app.clock.now(), _session_hash(session.sid))
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def logout_everywhere(request: web.Request) -> web.StreamResponse:
    """A lead ends every dashboard session, their own and everyone else's (a lost
    laptop, a leaked cookie); everyone signs in again."""
    app = casebot(request)
    session = await require_staff(request)
    if session.role != "lead":
        raise web.HTTPForbidden(reason=_t(request, "desk_err_lead_only"))
    async with app.sessions() as db, db.begin():
        ended = await revoke_staff_sessions(db, app.clock.now())
    log.warning("dashboard: %s signed out every session (%d ended)", session.person, ended)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


def _t(request: web.Request, key: str, **params: object) -> str:
    """A text of the sign-in pages in the request's locale (`web.locale`)."""
    return str(casebot(request).engine.texts.render(key, page_locale(request), **params))


def routes() -> list[web.RouteDef]:
    return [
        web.get("/login", login_form),
        web.post("/login", login_submit),
        web.get("/login/{token}", login_link_confirm),
        web.post("/login/{token}", login_link),
        web.post("/logout", logout),
        web.post("/logout/everywhere", logout_everywhere),
    ]
