"""Memory of a casebot process that has stored a million messages.

    python bench/memory.py [--messages 1000000] [--chats 200] [--batch 200] [--max-seconds 540]

Builds a real `App` on SQLite (no adapters, web, dispatcher or scheduler) and feeds
`bench/ingest.py`'s conversation mix through the engine's ingest path in batches,
generated one event at a time so the benchmark itself holds no backlog. Prints the
resident set size (VmRSS) at checkpoints, the peak (ru_maxrss) and the database size.
If the time bound runs out first, it stops there and prints the count it reached and a
clearly labelled linear extrapolation of the database size; RSS is not extrapolated
(the checkpoints show whether it still grows). The last line is
`messages=<n> peak_rss_mb=<n> db_mb=<n> msgs_per_s=<n>`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import config_for, iter_events  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import parse_config  # noqa: E402
from cases.clock import FrozenClock  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def db_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6


async def fill(path: Path, messages: int, chats: int, batch: int, max_seconds: float) -> None:
    raw = config_for(f"sqlite+aiosqlite:///{path}", chats)
    raw["http"] = {"enabled": False}
    raw["dispatcher"] = {"enabled": False}
    raw["scheduler"] = {"enabled": False}
    events = iter_events(messages, chats)
    first = next(events)
    app = App(parse_config(raw, env={}), FrozenClock(first.at))
    await app.prepare()
    print(f"start: rss {rss_mb():.0f} MB (interpreter, casebot imported, database migrated)")
    checkpoints = {messages * k // 10 for k in range(1, 11)}
    stored = 0
    started = time.perf_counter()
    stream = itertools.chain([first], events)
    while True:
        chunk = list(itertools.islice(stream, batch))
        if not chunk:
            break
        results = await app.ingestor.handle_batch(chunk)
        failed = [r for r in results if isinstance(r, Exception)]
        if failed:
            raise SystemExit(f"engine rejected events: {failed[:3]}")
        stored += len(chunk)
        elapsed = time.perf_counter() - started
        if any(stored - len(chunk) < c <= stored for c in checkpoints):
            print(
                f"{stored:>9,} stored: rss {rss_mb():.0f} MB, database {db_mb(path):.0f} MB, "
                f"{elapsed:.0f} s",
                flush=True,
            )
        if elapsed > max_seconds:
            print(f"time bound of {max_seconds:.0f} s reached at {stored:,} messages")
            break
    elapsed = time.perf_counter() - started
    await app.stop()
    size = db_mb(path)
    rate = stored / elapsed
    print(f"stored {stored:,} messages in {elapsed:.0f} s ({rate:,.0f} msgs/s)")
    print(f"rss now {rss_mb():.0f} MB, peak {peak_mb():.0f} MB; database {size:.0f} MB")
    if stored < messages:
        print(
            f"EXTRAPOLATED to {messages:,} messages (linear in count): database "
            f"{size * messages / stored:.0f} MB, {messages / rate:.0f} s"
        )
    print(f"messages={stored} peak_rss_mb={peak_mb():.0f} db_mb={size:.0f} msgs_per_s={rate:.0f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--max-seconds", type=float, default=540.0)
    parser.add_argument("--dir", help="keep the database here (default: a temporary directory)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.dir or tmp) / "memory.db"
        asyncio.run(fill(path, args.messages, args.chats, args.batch, args.max_seconds))


if __name__ == "__main__":
    main()
