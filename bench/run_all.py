"""Every benchmark, each in its own subprocess with a time bound, then one table.

    python bench/run_all.py [--quick] [--only ingest,latency,peer,latency-pg,...]

ingest   bench/ingest.py: the engine's ingest against raw sqlite3 inserts of the same rows
latency  bench/latency.py: `casebot run` against the fake Bot API, offered update to reply
peer     bench/peer_ptb.py: a python-telegram-bot Application that only replies, same fake
         and load; with latency in the same run, a row per rate compares casebot with it
latency-pg     the same on PostgreSQL (when one answers on 127.0.0.1:5432)
latency-2proc  two `casebot run` processes in webhook mode on one PostgreSQL database
sweeper  bench/sweeper.py: one tick over a million stored cases (SQLite, and PostgreSQL
         when one answers on 127.0.0.1:5432)
memory   bench/memory.py: RSS of a process that has stored a million messages
incident bench/incident.py: one incident's notices to 2,000 groups on two platforms
claim    bench/claim.py: one outbox claim behind 50,000 pending rows (SQLite)

`--quick` runs each with small counts (a smoke run in a couple of minutes; its figures
are not the published ones). Each bench's own output is passed through as it runs; a
bench that fails or runs out of time shows as such in the table and the exit code is 1.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def postgres_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Bench:
    name: str
    script: str
    full: list[str]
    quick: list[str]
    timeout: float
    rows: Callable[[str, str], list[tuple[str, str, str]]]  # (last line, all output) -> rows


def _fields(line: str) -> dict[str, str]:
    return dict(re.findall(r"(\w+)=(\S+?)(?=[\s;]|$)", line))


def ingest_rows(last: str, _out: str) -> list[tuple[str, str, str]]:
    f = _fields(last)
    return [
        (
            "ingest (SQLite)",
            f"engine {int(f['engine_msgs_per_s']):,} msgs/s; raw sqlite3 "
            f"{int(f['raw_msgs_per_s']):,} msgs/s",
            f"ratio engine/raw {f['ratio']}",
        )
    ]


def _ms(value: str) -> str:
    return "> drain window" if value == "unanswered" else f"{value} ms"


def latency_parts(last: str) -> list[dict[str, str]]:
    return [f for f in map(_fields, last.removeprefix("latency_ms").split(";")) if f]


def latency_rows(last: str, _out: str, who: str = "end-to-end") -> list[tuple[str, str, str]]:
    rows = []
    for f in latency_parts(last):
        answered, offered = f["answered"].split("/")
        rows.append(
            (
                f"{who} @ {f['rate']}/s offered",
                f"p50 {_ms(f['p50'])}, p95 {_ms(f['p95'])}, p99 {_ms(f['p99'])}",
                f"{offered} updates at {f['achieved']}/s achieved, {answered} answered"
                f" ({f.get('throughput', '?')}/s)",
            )
        )
    return rows


def peer_rows(last: str, out: str) -> list[tuple[str, str, str]]:
    return latency_rows(last, out, "peer (python-telegram-bot)")


def latency_pg_rows(last: str, out: str) -> list[tuple[str, str, str]]:
    return latency_rows(last, out, "end-to-end, PostgreSQL")


def latency_two_rows(last: str, out: str) -> list[tuple[str, str, str]]:
    return latency_rows(last, out, "end-to-end, 2 webhook processes, PostgreSQL")


def _ratio(a: str, b: str) -> str:
    try:
        return f"{float(a) / float(b):.1f}x"
    except (ValueError, ZeroDivisionError):
        return "n/a"


def compare_rows(casebot: str, peer: str) -> list[tuple[str, str, str]]:
    """casebot against the peer at each rate both ran, from this run's two last lines."""
    by_rate = {f["rate"]: f for f in latency_parts(peer)}
    rows = []
    for f in latency_parts(casebot):
        p = by_rate.get(f["rate"])
        if p is None:
            continue
        rows.append(
            (
                f"casebot / peer @ {f['rate']}/s",
                f"p50 {_ratio(f['p50'], p['p50'])}, p99 {_ratio(f['p99'], p['p99'])}",
                f"throughput {f.get('throughput', '?')}/s vs {p.get('throughput', '?')}/s"
                f" ({_ratio(f.get('throughput', ''), p.get('throughput', ''))})",
            )
        )
    return rows


def sweeper_rows(last: str, out: str) -> list[tuple[str, str, str]]:
    rows = []
    cases = re.search(r"built ([\d,]+) cases", out)
    pattern = r"^(sqlite|postgres): tick (\d+) ms for (\d+) due cases .*?due query ([\d.]+) ms"
    for m in re.finditer(pattern, out, re.M):
        db, tick, due, query = m.groups()
        rows.append(
            (
                f"sweeper ({db}, {cases.group(1) if cases else '?'} cases)",
                f"tick {tick} ms for {due} due; due query {query} ms",
                f"{int(tick) / 1000:.2f} of 1 s; {float(query) / 10:.2f} of 10 ms",
            )
        )
    return rows or [("sweeper", last, "")]


def memory_rows(last: str, out: str) -> list[tuple[str, str, str]]:
    f = _fields(last)
    note = "EXTRAPOLATED size in output" if "EXTRAPOLATED" in out else "measured"
    return [
        (
            f"memory ({int(f['messages']):,} messages stored)",
            f"peak RSS {f['peak_rss_mb']} MB; database {f['db_mb']} MB",
            f"{int(f['msgs_per_s']):,} msgs/s through ingest; {note}",
        )
    ]


def incident_rows(last: str, _out: str) -> list[tuple[str, str, str]]:
    f = _fields(last)
    return [
        (
            f"incident fan-out ({int(f['groups']):,} groups, 2 platforms)",
            f"every group told in {f['seconds']} s; API call {f['call_ms']} ms",
            f"{f['ratio']}x the floor {f['floor_s']} s at {f['rate']}/s per platform",
        )
    ]


def claim_rows(last: str, _out: str) -> list[tuple[str, str, str]]:
    f = _fields(last)
    return [
        (
            f"outbox claim ({f['db']}, {int(f['rows']):,} pending)",
            f"best of 3: {f['claim_ms']} ms",
            f"{int(f['claim_ms']) / 750:.2f} of 0.75 s",
        )
    ]


def benches(quick: bool) -> list[Bench]:
    dbs = "sqlite,postgres" if postgres_available() else "sqlite"
    return [
        Bench("ingest", "ingest.py", [], ["--events", "4000"], 600, ingest_rows),
        Bench(
            "latency", "latency.py", [],
            ["--rates", "50,200", "--seconds", "2", "--drain", "30"], 900, latency_rows,
        ),
        Bench(
            "peer", "peer_ptb.py", [],
            ["--rates", "50,200", "--seconds", "2", "--drain", "30"], 900, peer_rows,
        ),
        *(
            [
                Bench(
                    "latency-pg", "latency.py", ["--db", "postgres"],
                    ["--db", "postgres", "--rates", "50,200", "--seconds", "2", "--drain", "30"],
                    900, latency_pg_rows,
                ),
                Bench(
                    "latency-2proc", "latency.py", ["--db", "postgres", "--processes", "2"],
                    ["--db", "postgres", "--processes", "2", "--rates", "50,200",
                     "--seconds", "2", "--drain", "30"],
                    900, latency_two_rows,
                ),
            ]
            if postgres_available()
            else []
        ),
        Bench(
            "sweeper", "sweeper.py", ["--db", dbs],
            ["--cases", "100000", "--due", "500", "--db", dbs], 1200, sweeper_rows,
        ),
        Bench("memory", "memory.py", [], ["--messages", "30000"], 720, memory_rows),
        Bench("incident", "incident.py", [], ["--groups", "500"], 900, incident_rows),
        Bench("claim", "claim.py", [], ["--rows", "10000"], 300, claim_rows),
    ]  # fmt: skip


def run(bench: Bench, quick: bool) -> tuple[list[tuple[str, str, str]], float, str]:
    args = bench.quick if quick else bench.full
    command = [sys.executable, str(ROOT / "bench" / bench.script), *args]
    print(f"== {bench.name}: {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    lines: list[str] = []
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as proc:  # fmt: skip
        assert proc.stdout is not None
        # a bench that hangs is killed when its time is up, printing or not
        watchdog = threading.Timer(bench.timeout, proc.kill)
        watchdog.start()
        try:
            for line in proc.stdout:
                print(f"   {line}", end="", flush=True)
                lines.append(line.rstrip("\n"))
            code = proc.wait()
        finally:
            watchdog.cancel()
    elapsed = time.monotonic() - started
    last = next((line for line in reversed(lines) if line.strip()), "")
    if code != 0:
        what = "timed out" if elapsed > bench.timeout else f"failed (exit {code})"
        return [(bench.name, what, last[:80])], elapsed, ""
    try:
        return bench.rows(last, "\n".join(lines)), elapsed, last
    except (KeyError, ValueError) as exc:
        return [(bench.name, f"unreadable output ({exc})", last[:80])], elapsed, ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts, a smoke run")
    parser.add_argument(
        "--only",
        help="comma-separated subset: ingest,latency,peer,latency-pg,latency-2proc,sweeper,"
        "memory,incident,claim",
    )
    args = parser.parse_args(argv)
    chosen = benches(args.quick)
    if args.only:
        wanted = set(args.only.split(","))
        chosen = [b for b in chosen if b.name in wanted]
    table: list[tuple[str, str, str]] = []
    failed = False
    lasts: dict[str, str] = {}
    for bench in chosen:
        rows, elapsed, lasts[bench.name] = run(bench, args.quick)
        failed |= any(r[1].startswith(("failed", "timed out", "unreadable")) for r in rows)
        table.extend(rows)
        print(f"   ({elapsed:.0f} s)", flush=True)
    if lasts.get("latency") and lasts.get("peer"):
        table.extend(compare_rows(lasts["latency"], lasts["peer"]))
    cores = os.cpu_count()
    print()
    print(
        f"casebot benchmarks{' (--quick)' if args.quick else ''}: {platform.python_version()}, "
        f"{cores} cores, {platform.machine()}, {time.strftime('%Y-%m-%d %H:%M')}"
    )
    widths = [max(len(r[i]) for r in [("bench", "figures", "context"), *table]) for i in range(3)]
    header = ("bench", "figures", "context")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in table:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
