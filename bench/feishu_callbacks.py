"""Feishu callbacks end to end: encrypted, signed message events POSTed to
`/feishu/events` of an in-process casebot (SQLite, the fake Open API on 127.0.0.1),
each answered 200 only after its commit, 16 in flight at a time.

    python bench/feishu_callbacks.py [--events 2000]

It prints the events per second through the route and, measured in the same run, how
many callbacks per second the checks alone (signature, AES-CBC decryption, JSON) take,
and the share of each event's time those checks are. The last line is
`feishu_callbacks events=<n> route_per_s=.. checks_per_s=.. checks_share=..`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.feishu_events import open_callback  # noqa: E402
from tests.fakes.feishu_api import (  # noqa: E402
    ENCRYPT_KEY,
    VERIFICATION_TOKEN,
    FakeFeishu,
)
from tests.feishu.kit import ACME, ALICE, FeishuBox  # noqa: E402


async def run(events: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        async with FakeFeishu(per_chat=100_000) as api:
            box = FeishuBox(api, db_url, dispatcher={"enabled": False})
            await box.start()
            try:
                sealed = [
                    box.feishu.seal(box.feishu.message(ALICE, ACME, f"message {i}"))
                    for i in range(events)
                ]
                gate = asyncio.Semaphore(16)

                async def one(i: int) -> int:
                    async with gate:
                        return (await box.post_raw(*sealed[i]))[0]

                started = time.perf_counter()
                statuses = await asyncio.gather(*(one(i) for i in range(events)))
                route = time.perf_counter() - started
                assert set(statuses) == {200}, set(statuses)
            finally:
                await box.stop()
        started = time.perf_counter()
        for body, headers in sealed:
            open_callback(body, headers, ENCRYPT_KEY, VERIFICATION_TOKEN)
        checks = time.perf_counter() - started
    route_rate, checks_rate = events / route, events / checks
    return (
        f"feishu_callbacks events={events} route_per_s={route_rate:.0f} "
        f"checks_per_s={checks_rate:.0f} checks_share={route_rate / checks_rate:.3f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.events)), flush=True)


if __name__ == "__main__":
    main()
