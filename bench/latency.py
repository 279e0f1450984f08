"""End-to-end latency: a real `casebot run` (polling, SQLite) against the standalone fake
Bot API, each its own process, 100 customer chats.

    python bench/latency.py [--rates 50,200,1000] [--seconds 10] [--chats 100]

Each offered update is a customer's `/new <text>` in one of the chats, so each has
exactly one acknowledgement to observe (the bot's reply to that message, naming `#N`;
triage cards and status boards are sent too, as in production). Updates are offered
to the fake on a fixed schedule (open loop: a late reply never delays the next offer)
and latency is the time from offering the update to the fake recording the bot's
`sendMessage` of the acknowledgement, both wall-clock on this machine; throughput is
answers per second from the first offer to the last answer. The bot's
Telegram rate limits are raised for the run: this measures casebot, not Telegram's
flood control. The last line is `latency_ms rate=<r> p50=.. p95=.. p99=.. answered=<n>/<offered>
achieved=<offered per s> throughput=<answered per s>;` per rate (milliseconds, or `unanswered`).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.procs import (  # noqa: E402
    FakeApiProcess,
    percentile,
    start_casebot,
    stop_process,
    to_toml,
)

TOKEN = "123456:BENCH-token"
TRIAGE = -100_500
CUSTOMER = 70_000  # customers are user ids from here on, three per chat


# starts the bot under test: (config file, log file, the fake) -> its process
Launcher = Callable[[Path, Path, "FakeApiProcess"], Awaitable[asyncio.subprocess.Process]]


async def launch_casebot(
    config: Path, log: Path, _fake: FakeApiProcess
) -> asyncio.subprocess.Process:
    return await start_casebot(config, log)


def chat_id(c: int) -> int:
    return -1_000_000 - c


def bench_config(db: Path, base_url: str, chats: int, extra: dict[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "storage": {"url": f"sqlite+aiosqlite:///{db}"},
        "http": {"enabled": False},
        "scheduler": {"enabled": False},
        "telegram": {
            "token": TOKEN,
            "base_url": base_url,
            "poll_timeout": "10s",
            # far above Telegram's own limits: the figure is casebot's, not flood control's
            "rate_per_second": 100_000.0,
            "rate_per_group_minute": 1_000_000,
        },
        "staff": {
            "engineers": ["telegram:1001", "telegram:1002"],
            "leads": ["telegram:2001"],
            "triage_chat": f"telegram:{TRIAGE}",
        },
        "accounts": [
            {
                "name": f"Customer {c}",
                "tier": "premium",
                "intake": "tag",
                "chats": [f"telegram:{chat_id(c)}"],
            }
            for c in range(chats)
        ],  # fmt: skip
        "sla": {"premium": {"P3": {"first_response": "1h", "resolution": "2d"}}},
        # every offered update opens a case: the flood limits (on by default) would refuse
        # most of them past the first few per chat, and this measures opening cases
        "cases": {"open_per_customer": 0, "open_per_chat": 0},
    }
    for section, values in extra.items():
        raw[section] = {**raw.get(section, {}), **values}
    return raw


@dataclass
class Phase:
    rate: int
    offered: dict[tuple[int, int], float] = field(default_factory=dict)  # (chat, msg) -> at
    replied: dict[tuple[int, int], float] = field(default_factory=dict)
    first_offer: float = 0.0
    last_offer: float = 0.0
    errors: int = 0

    def latencies_ms(self) -> list[float]:
        return [
            (self.replied[k] - at) * 1000 for k, at in self.offered.items() if k in self.replied
        ]


class Watcher:
    """Follows the fake's send log and matches each reply to the update it answers."""

    def __init__(self, fake: FakeApiProcess) -> None:
        self.fake = fake
        self.seen = 0
        self.phase: Phase | None = None

    async def poll(self) -> None:
        log = await self.fake.get("sent_log", since=self.seen)
        self.seen += len(log)
        phase = self.phase
        for entry in log:
            key = (entry["chat_id"], entry["reply_to"])
            if phase is not None and key in phase.offered and key not in phase.replied:
                phase.replied[key] = entry["at"]


async def offer(
    fake: FakeApiProcess, phase: Phase, count: int, chats: int, seq: list[int]
) -> None:
    """Offer `count` updates at `phase.rate` per second, round robin over the chats."""
    interval = 1.0 / phase.rate
    gate = asyncio.Semaphore(200)  # bounded in-flight requests; the schedule stays fixed
    start = time.perf_counter()
    wall = time.time()

    async def one(i: int) -> None:
        c = (seq[0] + i) % chats
        body = {
            "chat_id": chat_id(c),
            "user_id": CUSTOMER + c * 3 + i % 3,
            "text": f"/new request {seq[0] + i}: the export job in region {c % 7} stalls",
            "first_name": f"Customer{c}",
        }
        async with gate:
            at = time.time()
            try:
                result = await fake.post("send_text", body)
            except Exception:
                phase.errors += 1
                return
        message_id = result["result"]["message"]["message_id"]
        phase.offered[(chat_id(c), message_id)] = at

    tasks = []
    for i in range(count):
        delay = start + i * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    seq[0] += count
    phase.first_offer = wall
    phase.last_offer = max(phase.offered.values(), default=wall)


async def wait_replies(watcher: Watcher, phase: Phase, timeout: float) -> None:
    """Read the send log (replies sent while offering are in it too) until all are in."""
    deadline = time.monotonic() + timeout
    while True:
        await watcher.poll()
        if len(phase.replied) >= len(phase.offered) or time.monotonic() >= deadline:
            return
        await asyncio.sleep(0.25)


def overrides(settings: list[str]) -> dict[str, Any]:
    """`--set telegram.board_min_interval=0s` pairs as config sections (values TOML or text)."""
    extra: dict[str, Any] = {}
    for setting in settings:
        key, _, value = setting.partition("=")
        section, _, name = key.partition(".")
        try:
            parsed = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = value
        extra.setdefault(section, {})[name] = parsed
    return extra


async def run(
    rates: list[int],
    seconds: float,
    chats: int,
    drain: float,
    extra: dict[str, Any],
    workdir: str | None = None,
    launch: Launcher = launch_casebot,
) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        tmp = workdir or scratch
        db = Path(tmp) / "casebot.db"
        config = Path(tmp) / "casebot.toml"
        log = Path(tmp) / "casebot.log"
        async with FakeApiProcess(TOKEN) as fake:
            await fake.post("chat", {"chat_id": TRIAGE, "title": "Triage"})
            for c in range(chats):
                await fake.post("chat", {"chat_id": chat_id(c), "title": f"Customer {c}"})
            config.write_text(
                to_toml(bench_config(db, fake.base_url, chats, extra)), encoding="utf-8"
            )
            bot = await launch(config, log, fake)
            watcher = Watcher(fake)
            seq = [0]
            try:
                # warm-up, not measured: the first case of each chat also posts and pins its
                # status board, and the process fills its caches
                warm = Phase(rate=50)
                watcher.phase = warm
                await offer(fake, warm, chats, chats, seq)
                await wait_replies(watcher, warm, 60)
                if len(warm.replied) < len(warm.offered):
                    raise SystemExit(f"casebot did not answer the warm-up; see {log.read_text()}")
                for rate in rates:
                    phase = Phase(rate=rate)
                    watcher.phase = phase
                    await offer(fake, phase, int(rate * seconds), chats, seq)
                    await wait_replies(watcher, phase, drain)
                    results.append(summary(phase))
                    print(line(results[-1]), flush=True)
            finally:
                code = await stop_process(bot)
            if code != 0:
                print(f"casebot exited with {code}:\n{log.read_text()[-3000:]}", file=sys.stderr)
    return results


def summary(phase: Phase) -> dict[str, Any]:
    answered = phase.latencies_ms()
    # an update never answered within the drain window counts as slower than any answer,
    # so a percentile that lands among them prints as "> window" instead of flattering
    lat = answered + [math.inf] * (len(phase.offered) - len(answered))
    span = max(phase.last_offer - phase.first_offer, 1e-9)
    # answers per second from the first offer to the last answer: what the bot sustained
    answer_span = max(max(phase.replied.values(), default=0.0) - phase.first_offer, 1e-9)
    return {
        "rate": phase.rate,
        "offered": len(phase.offered),
        "achieved_rate": len(phase.offered) / span if len(phase.offered) > 1 else 0.0,
        "answered": len(phase.replied),
        "throughput": len(phase.replied) / answer_span if phase.replied else 0.0,
        "errors": phase.errors,
        "p50": percentile(lat, 50) if lat else float("nan"),
        "p95": percentile(lat, 95) if lat else float("nan"),
        "p99": percentile(lat, 99) if lat else float("nan"),
        "max": max(answered) if answered else float("nan"),
    }


def ms(value: float) -> str:
    return "unanswered" if math.isinf(value) else f"{value:.0f}"


def ms_text(value: float) -> str:
    return "not answered within the window" if math.isinf(value) else f"{value:.0f} ms"


def line(r: dict[str, Any]) -> str:
    return (
        f"offered {r['rate']}/s: {r['offered']} updates at {r['achieved_rate']:.0f}/s achieved, "
        f"{r['answered']} answered within the drain window ({r['throughput']:.0f}/s); "
        f"p50 {ms_text(r['p50'])}, p95 {ms_text(r['p95'])}, p99 {ms_text(r['p99'])}, "
        f"slowest answer {r['max']:.0f} ms"
    )


def arguments(description: str, argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rates", default="50,200,1000")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--drain", type=float, default=60.0, help="max wait for replies")
    parser.add_argument("--set", action="append", default=[], help="section.key=value")
    parser.add_argument("--workdir", help="keep the database and log here")
    return parser.parse_args(argv)


def last_line(results: list[dict[str, Any]]) -> str:
    return "latency_ms " + " ".join(
        f"rate={r['rate']} p50={ms(r['p50'])} p95={ms(r['p95'])} p99={ms(r['p99'])} "
        f"answered={r['answered']}/{r['offered']} achieved={r['achieved_rate']:.0f} "
        f"throughput={r['throughput']:.0f};"
        for r in results
    )


def main(argv: list[str] | None = None) -> None:
    args = arguments(__doc__.split("\n")[0], argv)
    rates = [int(r) for r in args.rates.split(",")]
    extra = overrides(args.set)
    results = asyncio.run(run(rates, args.seconds, args.chats, args.drain, extra, args.workdir))
    print(last_line(results))


if __name__ == "__main__":
    main()
