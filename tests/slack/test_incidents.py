"""Incident mode on Slack: `casebot run` on an emulated workspace fans an incident out
to every affected Slack channel once per step, in the account's locale, and the
Slack adapter paces the notices by `slack.channel_interval` (a channel's start and
update, queued back to back, go out at least an interval apart)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.fakes.emulate import free_port
from tests.slack.conftest import Running
from tests.slack.kit import Emulator, slack_config

Make = Callable[..., Awaitable[Running]]
API_TOKEN = "incident-api-token"
# the emulator stamps messages to the second (`ts` is seconds plus a counter): an
# interval of 1.5 s puts a paced second message in a later second, whatever the jitter
INTERVAL = 1.5


async def test_an_incident_reaches_every_slack_channel_once_paced_per_channel(
    emu: Emulator, make_bot: Make, tmp_path: Path
) -> None:
    port = free_port()
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'casebot.db'}"
    raw = slack_config(emu, db_url, port, channel_interval=f"{INTERVAL}s")
    raw["http"]["api_token"] = API_TOKEN
    raw["accounts"][1]["locale"] = "zh"
    bot = await make_bot(raw)
    headers = {
        "Authorization": f"Bearer {API_TOKEN}",
        "X-Casebot-Actor": f"slack:{emu.users['evan']}",
    }
    url = f"{bot.base}/api/v1/incidents"
    async with bot.http.post(url, json={"title": "Login outage"}, headers=headers) as r:
        assert r.status == 200, await r.text()
        room = await r.json()
    async with bot.http.post(f"{url}/1/updates", json={"text": "Rolling back"}, headers=headers):
        pass
    assert {g["chat"] for g in room["groups"]} == {
        f"slack:{emu.channels['acme-shared']}",
        f"slack:{emu.channels['globex']}",
    }

    async def both_told() -> dict[str, list[float]]:
        seen: dict[str, list[float]] = {}
        for name in ("acme-shared", "globex"):
            said = await emu.by_bot(emu.channels[name])
            if len(said) < 2:
                return {}
            seen[name] = [float(m["ts"]) for m in said]
            texts = [m["text"] for m in said]
            start = "Login outage"
            assert sum(start in t and "Rolling back" not in t for t in texts) == 1, texts
            assert sum("Rolling back" in t for t in texts) == 1, texts
        return seen

    seen = await emu.wait_for(both_told, timeout=30)
    assert seen, bot.bot.output()[-3000:]
    for name, stamps in seen.items():
        assert len(stamps) == 2, (name, stamps)
        # Slack stamps each message when it takes it: the second waited its turn
        assert int(stamps[1]) > int(stamps[0]), (name, stamps)
    globex = [m["text"] for m in await emu.by_bot(emu.channels["globex"])]
    assert any("服务故障" in t for t in globex), globex
