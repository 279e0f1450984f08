"""Where the bot can DM a person comes from the adapters' `direct` capability, once:
Telegram can when it is configured, a bridge never opens direct chats."""

from __future__ import annotations

import copy

from bot.config import parse_config
from bot.wiring import capabilities, engine_settings
from tests.bridge.kit import BRIDGE, bridge_config


def test_direct_platforms_follow_the_capabilities() -> None:
    bridge_only = parse_config(bridge_config("sqlite+aiosqlite://", None), env={})
    assert engine_settings(bridge_only).direct == frozenset()
    assert capabilities(bridge_only)[BRIDGE].direct is False

    raw = bridge_config("sqlite+aiosqlite://", None, telegram={"token": "1:x"})
    both = parse_config(copy.deepcopy(raw), env={})
    assert engine_settings(both).direct == frozenset({"telegram"})
    assert engine_settings(both).direct == frozenset(
        p for p, c in capabilities(both).items() if c.direct
    )
