"""A chat in a box for engine tests: real storage, real engine, a frozen clock.

`await h.say("alice", "my VM is down")` pushes a message as the named person;
`h.sent()` pops what the bot would send. People and chats come from a small
config that tests may extend.

The platform is an axis: `Harness(url, platform="wecom")` puts the same people and
chats on a bridge (see `PLATFORMS`), and `use_platform()` sets the default for the
harnesses a test builds (the `platform` fixture of the engine suites).
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.config import parse_config
from bot.texts import Catalogue
from bot.wiring import account_specs, engine_settings, staff_people, staff_roles
from cases.clock import FrozenClock
from cases.engine import Engine, Outcome
from cases.model import Actor, Attachment, ChatKey, Inbound, InboundKind
from storage.db import make_engine, make_sessions
from storage.directory import sync_directory
from storage.ingest import Ingestor
from storage.models import OutboxRow
from storage.queries import get_case

PEOPLE = {
    "evan": ("1001", "Evan", "evan"),
    "erin": ("1002", "Erin", "erin"),
    "lena": ("2001", "Lena", "lena"),
    "alice": ("5001", "Alice", "alice"),
    "bob": ("5002", "Bob", "bob"),
    "carol": ("6001", "Carol", "carol"),
}
ACME = "-100100"
GLOBEX = "-100200"
TRIAGE = "-100500"

# the platforms the engine suites run on, with the config section that makes each one;
# Slack joins here
BRIDGE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PLATFORMS: dict[str, dict[str, Any]] = {
    "telegram": {},
    "wecom": {
        "bridges": [
            {
                "name": "wecom",
                "secret": BRIDGE_SECRET,
                "url": "http://127.0.0.1:9",
                "capabilities": {"threads": True, "buttons": True, "edits": True, "pins": False},
            }
        ]
    },
    "slack": {"slack": {"bot_token": "xoxb-test", "signing_secret": "unused-in-engine-tests"}},
    "feishu": {
        "feishu": {
            "app_id": "cli_harness",
            "app_secret": "secret",
            "encrypt_key": "key",
            "verification_token": "token",
            "base_url": "http://127.0.0.1:9",
        }
    },
}
_platform = ["telegram"]


@contextlib.contextmanager
def use_platform(platform: str) -> Iterator[None]:
    """Harnesses built inside run on `platform` unless told otherwise."""
    before = _platform[0]
    _platform[0] = platform
    try:
        yield
    finally:
        _platform[0] = before


def on_platform(raw: dict[str, Any], platform: str) -> dict[str, Any]:
    """The config with every telegram key (staff, chats, triage) moved to `platform`."""
    if platform == "telegram":
        return raw
    moved = json.loads(json.dumps(raw).replace('"telegram:', f'"{platform}:'))
    moved.update(copy.deepcopy(PLATFORMS[platform]))
    return dict(moved)


def base_config(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "storage": {"url": "sqlite+aiosqlite:///unused.db"},
        "staff": {
            "engineers": ["telegram:1001", "telegram:1002"],
            "leads": ["telegram:2001"],
            "triage_chat": f"telegram:{TRIAGE}",
            "names": {
                "telegram:1001": "@evan",
                "telegram:1002": "@erin",
                "telegram:2001": "@lena",
            },
        },
        "accounts": [
            {"name": "Acme", "tier": "premium", "chats": [f"telegram:{ACME}"], "intake": "tag"},
            {
                "name": "Globex",
                "tier": "standard",
                "chats": [f"telegram:{GLOBEX}"],
                "intake": "auto",
                "locale": "zh",
            },
        ],
        "sla": {
            "premium": {
                "P1": {"first_response": "15m", "resolution": "4h"},
                "P3": {"first_response": "1h", "next_response": "2h", "resolution": "2d"},
            },
            "standard": {"P3": {"first_response": "4h", "resolution": "5d"}},
        },
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return raw


class Harness:
    def __init__(self, url: str, platform: str | None = None, **overrides: Any) -> None:
        self.url = url
        self.platform = platform or _platform[0]
        self.raw = on_platform(base_config(**overrides), self.platform)
        self.config = parse_config(self.raw, env={})
        self.clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # a Monday
        self.texts = Catalogue()
        self._ids = itertools.count(1)
        self._msg_ids: dict[str, itertools.count[int]] = {}

    async def __aenter__(self) -> Harness:
        self.db = make_engine(self.url)
        self.sessions = make_sessions(self.db)
        self.engine = Engine(engine_settings(self.config), self.texts)
        self.ingestor = Ingestor(self.sessions, self.engine)
        async with self.sessions() as session, session.begin():
            await sync_directory(
                session,
                account_specs(self.config),
                staff_roles(self.config),
                self.config.staff.names,
                self.engine.settings.triage_chat,
                self.clock.now(),
                staff_people(self.config),
            )
        self._seen_outbox = 0
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.db.dispose()

    # ------------------------------------------------------------ events

    def actor(self, who: str) -> Actor:
        user_id, name, username = PEOPLE[who]
        return Actor(self.platform, user_id, name, username)

    def key(self, user_or_chat: str) -> str:
        """A person's or chat's key on this harness's platform ("telegram:1001")."""
        return f"{self.platform}:{user_or_chat}"

    def next_message_id(self, chat: str) -> str:
        counter = self._msg_ids.setdefault(chat, itertools.count(1))
        return str(next(counter))

    async def push(self, event: Inbound) -> Outcome:
        return await self.ingestor.handle(event)

    async def say(
        self,
        who: str,
        text: str,
        *,
        chat: str = ACME,
        reply_to: str | None = None,
        thread: str | None = None,
        message_id: str | None = None,
        attachments: tuple[Attachment, ...] = (),
        advance: timedelta | None = timedelta(seconds=30),
        mentions: tuple[str, ...] = (),
    ) -> Outcome:
        if advance:
            self.clock.advance(advance)
        mid = message_id or self.next_message_id(chat)
        self.last_message_id = mid
        return await self.push(
            Inbound(
                InboundKind.MESSAGE,
                f"u{next(self._ids)}",
                ChatKey(self.platform, chat, thread),
                self.clock.now(),
                self.actor(who),
                message_id=mid,
                reply_to=reply_to,
                text=text,
                attachments=attachments,
                mentions=mentions,
            )
        )

    async def edit(self, who: str, message_id: str, text: str, chat: str = ACME) -> Outcome:
        return await self.push(
            Inbound(
                InboundKind.EDIT,
                f"u{next(self._ids)}",
                ChatKey(self.platform, chat),
                self.clock.now(),
                self.actor(who),
                message_id=message_id,
                text=text,
            )
        )

    async def react(
        self, who: str, message_id: str, emoji: str = "🎫", chat: str = ACME
    ) -> Outcome:
        return await self.push(
            Inbound(
                InboundKind.REACTION,
                f"u{next(self._ids)}",
                ChatKey(self.platform, chat),
                self.clock.now(),
                self.actor(who),
                message_id=message_id,
                emoji=emoji,
            )
        )

    async def press(self, who: str, data: str, chat: str = TRIAGE) -> Outcome:
        return await self.push(
            Inbound(
                InboundKind.BUTTON,
                f"u{next(self._ids)}",
                ChatKey(self.platform, chat),
                self.clock.now(),
                self.actor(who),
                data=data,
                callback_id=f"cb{next(self._ids)}",
            )
        )

    # ------------------------------------------------------------ reading

    async def outbox(self) -> list[OutboxRow]:
        async with self.sessions() as session:
            return list(
                (await session.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars()
            )

    async def sent(self, chat: str | None = None, purpose: str | None = None) -> list[str]:
        """Texts enqueued since the last call (optionally for one chat or purpose)."""
        rows = await self.outbox()
        new = rows[self._seen_outbox :]
        self._seen_outbox = len(rows)
        return [
            r.payload.get("text", "")
            for r in new
            if (chat is None or r.chat == chat) and (purpose is None or r.purpose == purpose)
        ]

    async def case(self, case_id: int) -> dict[str, Any]:
        async with self.sessions() as session:
            result = await get_case(session, case_id)
        assert result is not None, f"no case {case_id}"
        return result
