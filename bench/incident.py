"""Incident fan-out: how long one incident update takes to reach every customer group.

    python bench/incident.py [--groups 2000] [--rate 100] [--workdir DIR]

A real `casebot run` (SQLite) with `--groups` customer groups, half on the fake
Telegram Bot API and half on a fake bridge (both in this process, 127.0.0.1), paced at
`--rate` messages a second per platform. It starts an incident, posts an update and
resolves it through the HTTP API, and times each step from the API call to the last
group's notice arriving at the fakes (wall clock). The floor is what the configured
pace allows: groups per platform / rate; the ratio is measured / floor (1.0 would be
sending at exactly the limit). The last line is
`incident groups=<n> rate=<r> call_ms=<API call> seconds=<slowest step> floor_s=<floor>
ratio=<seconds/floor> msgs_per_s=<notices per second, both platforms>`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.bridge_peer import FakeBridge  # noqa: E402
from tests.fakes.telegram_api import FakeBotApi  # noqa: E402
from tests.incidents.rig import TOKEN, FanoutRig, Limits  # noqa: E402


async def step(
    rig: FanoutRig, path: str, body: dict[str, str], marker: str
) -> tuple[float, float]:
    """(API call seconds, seconds until every group has the notice)."""
    started = time.time()
    await rig.call(path, body)
    called = time.time() - started
    await rig.wait_told(rig.groups, *marker.split("|"), timeout=3600)
    last = max(
        [at for m, at in zip(rig.api.sent, rig.api.sent_at, strict=True) if marker_in(m, marker)]
        + [
            at
            for c, at in zip(rig.peer.commands, rig.peer.arrived_at, strict=True)
            if marker_in(c, marker)
        ]
    )
    return called, last - started


def marker_in(message: dict[str, object], marker: str) -> bool:
    said = str(message.get("text") or "")
    return any(k in said for k in marker.split("|"))


async def run(groups: int, rate: float, workdir: Path) -> None:
    limits = Limits(telegram_per_second=rate, bridge_per_second=rate)
    async with (
        FakeBotApi(token=TOKEN, can_read_all_group_messages=True) as api,
        FakeBridge() as peer,
    ):
        rig = FanoutRig(workdir, api, peer, groups, limits)
        try:
            await rig.start(timeout=300)
            steps = [
                (
                    "start",
                    "/api/v1/incidents",
                    {"title": "Bench outage"},
                    "Service incident|服务故障",
                ),
                ("update", "/api/v1/incidents/1/updates", {"text": "Halfway"}, "Halfway"),
                ("resolve", "/api/v1/incidents/1/resolve", {"text": "Fixed now"}, "Fixed now"),
            ]
            results = []
            for name, path, body, marker in steps:
                called, took = await step(rig, path, body, marker)
                results.append((called, took))
                print(
                    f"{name}: API call {called * 1000:.0f} ms, every group told in {took:.2f} s "
                    f"({groups / took:.0f} notices/s)",
                    flush=True,
                )
                await rig.drained(timeout=600)
        finally:
            await rig.close()
    floor = (groups / 2) / rate
    slowest = max(took for _, took in results)
    call_ms = max(called for called, _ in results) * 1000
    print(
        f"incident groups={groups} rate={rate:g} call_ms={call_ms:.0f} seconds={slowest:.2f} "
        f"floor_s={floor:.2f} ratio={slowest / floor:.2f} msgs_per_s={groups / slowest:.0f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groups", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100.0, help="per platform, per second")
    parser.add_argument("--workdir", help="keep the database and log here")
    args = parser.parse_args(argv)
    if args.workdir:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
        asyncio.run(run(args.groups, args.rate, Path(args.workdir)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.groups, args.rate, Path(tmp)))


if __name__ == "__main__":
    main()
