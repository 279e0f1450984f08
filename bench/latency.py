"""End-to-end latency: a real `casebot run` (polling, SQLite) against the standalone fake
Bot API, each its own process, 100 customer chats.

    python bench/latency.py [--rates 50,200,1000] [--seconds 10] [--chats 100]
                            [--db sqlite|postgres] [--processes N]

`--db postgres` runs casebot on a fresh database on the PostgreSQL server at
127.0.0.1:5432 (dropped afterwards). `--processes N` (N > 1 needs PostgreSQL) runs N
`casebot run` processes in webhook mode on that one database: the benchmark then does
what Telegram does for a webhook, posting each update to a process's
`/telegram/webhook` (round robin, up to 40 at once to each, Telegram's default) and
counting it offered when it is due, so time waiting for a connection counts; the fake
still takes every Bot API call and records the replies.

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
import itertools
import math
import os
import sys
import tempfile
import time
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.procs import (  # noqa: E402
    FakeApiProcess,
    free_port,
    fresh_postgres,
    percentile,
    start_casebot,
    stop_process,
    to_toml,
)

TOKEN = "123456:BENCH-token"
SECRET = "bench-webhook-secret"
PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"
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


def bench_config(db: str, base_url: str, chats: int, extra: dict[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "storage": {"url": db},
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
    cpu: float = 0.0  # the bots' CPU seconds from the first offer until the drain ended

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


class Webhooks:
    """Telegram's side of webhook mode for the benchmark: each update goes to the next
    process's webhook route, and counts as offered when that post begins."""

    def __init__(self, fake: FakeApiProcess, ports: list[int]) -> None:
        self.fake = fake
        self.urls = itertools.cycle(f"http://127.0.0.1:{p}/telegram/webhook" for p in ports)
        # Telegram's own default for a webhook: at most 40 connections to it at once
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit_per_host=40),
            timeout=aiohttp.ClientTimeout(total=60),
        )

    async def offer(self, body: dict[str, Any]) -> tuple[float, int]:
        update = (await self.fake.post("observe_text", body))["result"]
        at = time.time()
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with self.http.post(next(self.urls), json=update, headers=headers) as response:
            response.raise_for_status()
        return at, int(update["message"]["message_id"])


async def offer(
    fake: FakeApiProcess,
    phase: Phase,
    count: int,
    chats: int,
    seq: list[int],
    webhooks: Webhooks | None = None,
) -> None:
    """Offer `count` updates at `phase.rate` per second, round robin over the chats."""
    interval = 1.0 / phase.rate
    # bounded in-flight requests to the fake; the schedule stays fixed (webhook posts
    # queue for a connection instead, as updates queue at Telegram)
    gate = asyncio.Semaphore(200 if webhooks is None else 1_000_000)
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
                if webhooks is not None:
                    at, message_id = await webhooks.offer(body)
                else:
                    result = await fake.post("send_text", body)
                    message_id = result["result"]["message"]["message_id"]
            except Exception:
                phase.errors += 1
                return
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


def webhook_config(raw: dict[str, Any], port: int) -> dict[str, Any]:
    """One of several processes behind the webhook route: its own HTTP port."""
    return {
        **raw,
        "http": {"host": "127.0.0.1", "port": port, "api_token": "bench-api-token"},
        "telegram": {
            **raw["telegram"],
            "mode": "webhook",
            "webhook_url": f"http://127.0.0.1:{port}/telegram/webhook",
            "secret_token": SECRET,
        },
    }


async def wait_listening(ports: list[int], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"casebot did not listen on {port}") from None
                await asyncio.sleep(0.2)


async def run(
    rates: list[int],
    seconds: float,
    chats: int,
    drain: float,
    extra: dict[str, Any],
    workdir: str | None = None,
    launch: Launcher = launch_casebot,
    db: str = "sqlite",
    processes: int = 1,
) -> list[dict[str, Any]]:
    if processes > 1 and db != "postgres":
        raise SystemExit("--processes above 1 needs --db postgres (one shared database)")
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(workdir or scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        if db == "postgres":
            async with fresh_postgres(f"{PG_SERVER}/postgres", "casebot_bench") as url:
                return await run_on(
                    rates, seconds, chats, drain, extra, tmp, launch, url, processes
                )
        url = f"sqlite+aiosqlite:///{tmp / 'casebot.db'}"
        return await run_on(rates, seconds, chats, drain, extra, tmp, launch, url, processes)


async def run_on(
    rates: list[int],
    seconds: float,
    chats: int,
    drain: float,
    extra: dict[str, Any],
    tmp: Path,
    launch: Launcher,
    url: str,
    processes: int,
) -> list[dict[str, Any]]:
    results = []
    log = tmp / "casebot.log"
    async with FakeApiProcess(TOKEN) as fake:
        await fake.post("chat", {"chat_id": TRIAGE, "title": "Triage"})
        for c in range(chats):
            await fake.post("chat", {"chat_id": chat_id(c), "title": f"Customer {c}"})
        raw = bench_config(url, fake.base_url, chats, extra)
        ports = [free_port() for _ in range(processes)] if processes > 1 else []
        bots = []
        for n in range(max(1, processes)):
            config = tmp / f"casebot{n or ''}.toml"
            body = webhook_config(raw, ports[n]) if ports else raw
            config.write_text(to_toml(body), encoding="utf-8")
            bots.append(await launch(config, log, fake))
            if n == 0 and ports:
                await wait_listening(ports[:1])  # the first migrates; the others find it done
        webhooks = None
        watcher = Watcher(fake)
        seq = [0]
        try:
            if ports:
                await wait_listening(ports)
                webhooks = Webhooks(fake, ports)
            # warm-up, not measured: the first case of each chat also posts and pins its
            # status board, and the process fills its caches
            warm = Phase(rate=50)
            watcher.phase = warm
            await offer(fake, warm, chats, chats, seq, webhooks)
            await wait_replies(watcher, warm, 60)
            if len(warm.replied) < len(warm.offered):
                raise SystemExit(f"casebot did not answer the warm-up; see {log.read_text()}")
            for rate in rates:
                phase = Phase(rate=rate)
                watcher.phase = phase
                before = cpu_seconds(bots)
                await offer(fake, phase, int(rate * seconds), chats, seq, webhooks)
                await wait_replies(watcher, phase, drain)
                phase.cpu = cpu_seconds(bots) - before
                results.append(summary(phase))
                print(line(results[-1]), flush=True)
        finally:
            if webhooks is not None:
                await webhooks.http.close()
            codes = [await stop_process(bot) for bot in bots]
        if any(codes):
            print(f"casebot exited with {codes}:\n{log.read_text()[-3000:]}", file=sys.stderr)
    return results


def cpu_seconds(procs: list[asyncio.subprocess.Process]) -> float:
    """User and system CPU the processes have used so far (Linux /proc; 0 elsewhere)."""
    total = 0.0
    for proc in procs:
        try:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


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
        "cpu": phase.cpu,
        "cpu_ms_per_case": phase.cpu * 1000 / len(phase.replied) if phase.replied else 0.0,
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
        f"slowest answer {r['max']:.0f} ms; the bot's CPU {r['cpu']:.1f} s, "
        f"{r['cpu_ms_per_case']:.1f} ms per answer"
        + (f"; {r['errors']} offers failed" if r["errors"] else "")
    )


def arguments(description: str, argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rates", default="50,200,1000")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--drain", type=float, default=60.0, help="max wait for replies")
    parser.add_argument("--set", action="append", default=[], help="section.key=value")
    parser.add_argument("--workdir", help="keep the database and log here")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--processes", type=int, default=1, help="casebot processes behind the webhook route"
    )
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
    results = asyncio.run(
        run(
            rates, args.seconds, args.chats, args.drain, extra, args.workdir,
            db=args.db, processes=args.processes,
        )
    )  # fmt: skip
    print(last_line(results))


if __name__ == "__main__":
    main()
