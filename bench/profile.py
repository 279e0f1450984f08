"""Where casebot's time goes: pyinstrument profiles of the case-opening path and the ingest
path, each under the load its benchmark offers, printed as the top functions by cumulative
time. Needs the `bench` extra (`pip install -e ".[bench]"`).

    python bench/profile.py [--paths open,ingest] [--rate 100] [--seconds 5] [--events 20000]
                            [--top 15] [--out DIR] [--load DIR]

open    `casebot run` started under `python -m pyinstrument` by bench/latency.py's machinery
        (fake Bot API, 100 chats, a warm-up of one case per chat, then `/new` at --rate)
ingest  bench/ingest.py's conversation mix through the real engine and group commit,
        profiled in this process

pyinstrument samples the main thread only, by wall clock. casebot runs SQLite inline on
that thread (storage/sqlite_inline.py), so SQLite's own calls are in the table (as
`Connection.execute` / `Cursor.execute`, built-in); waiting for the network shows as the
`idle` line (the event loop in select). asyncio, runpy and
pyinstrument frames, the entry points and this file are left out of the table (they
enclose everything). Each path's
session is saved in --out as a .pyisession (`pyinstrument --load FILE` renders it again).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyinstrument import Profiler  # noqa: E402
from pyinstrument.frame import Frame  # noqa: E402
from pyinstrument.session import Session  # noqa: E402

from bench import ingest  # noqa: E402
from bench.latency import FakeApiProcess, run  # noqa: E402
from bench.procs import ROOT  # noqa: E402

PLUMBING = (
    "/asyncio/", "runpy", "<frozen", "/pyinstrument/", "/selectors.py", "/threading.py",
    "<thread>", "<string>", "bench/", "__main__.py", "bot/cli.py",
)  # fmt: skip


def cumulative(session: Session) -> tuple[list[tuple[float, str]], float, float]:
    """(cumulative seconds, function) best first; total seconds; seconds idle in select.

    A function counts once per stack, so recursion is not counted twice."""
    root = session.root_frame()
    totals: dict[str, float] = defaultdict(float)
    idle = 0.0
    if root is None:
        return [], 0.0, 0.0

    def walk(frame: Frame, above: frozenset[str]) -> None:
        nonlocal idle
        path = frame.file_path or ""
        if frame.function in {"select", "poll"} and "selectors" in path:
            idle += frame.time
        name = f"{frame.function}  {frame.file_path_short or path}:{frame.line_no}"
        inner = above
        plumbing = any(p in path for p in PLUMBING) or frame.function == "<module>"
        if not plumbing and not frame.is_synthetic:
            if name not in above:
                totals[name] += frame.time
            inner = above | {name}
        for child in frame.children:
            walk(child, inner)

    walk(root, frozenset())
    ranked = sorted(((t, n) for n, t in totals.items()), reverse=True)
    return ranked, root.time, idle


def report(title: str, session: Session, top: int) -> str:
    ranked, total, idle = cumulative(session)
    lines = [
        f"{title}: {total:.1f} s sampled on the main thread, of it {idle:.1f} s "
        f"({idle / max(total, 1e-9):.0%}) idle in the event loop's select",
        f"{'cum s':>7} {'of all':>6}  function  file:line",
    ]
    for seconds, name in ranked[:top]:
        lines.append(f"{seconds:7.2f} {seconds / max(total, 1e-9):6.1%}  {name}")
    return "\n".join(lines)


async def profile_open(out: Path, rate: int, seconds: float) -> list[dict[str, Any]]:
    session = out / "open.pyisession"

    async def launch(config: Path, log: Path, _fake: FakeApiProcess) -> Any:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "pyinstrument", "-r", "pyisession", "-o", str(session),
            "-m", "bot", "run", "--config", str(config), "--log-level", "warning",
            cwd=ROOT, stdout=log.open("ab"), stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip

    return await run([rate], seconds, 100, 60.0, {}, str(out), launch=launch)


def profile_ingest(out: Path, events: int) -> float:
    evs = ingest.make_events(events, 200)
    profiler = Profiler(interval=0.001, async_mode="disabled")
    with tempfile.TemporaryDirectory() as tmp:
        profiler.start()
        elapsed, _index = asyncio.run(ingest.run_engine(Path(tmp) / "engine.db", evs, 200, 200))
        profiler.stop()
    assert profiler.last_session is not None
    profiler.last_session.save(str(out / "ingest.pyisession"))
    return events / elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paths", default="open,ingest")
    parser.add_argument("--rate", type=int, default=100, help="case-opening updates per s")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--events", type=int, default=20_000, help="ingest events")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--out", help="keep sessions, database and log here")
    parser.add_argument("--load", help="only print the tables of the sessions saved in DIR")
    args = parser.parse_args(argv)
    paths = set(args.paths.split(","))
    if args.load:
        for path in sorted(paths):
            session = Session.load(str(Path(args.load) / f"{path}.pyisession"))
            print(report(path, session, args.top))
        return
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(args.out or scratch)
        out.mkdir(parents=True, exist_ok=True)
        print(f"profiled {time.strftime('%Y-%m-%d %H:%M')}", flush=True)
        if "open" in paths:
            (r,) = asyncio.run(profile_open(out, args.rate, args.seconds))
            print(
                f"case opening at {args.rate}/s for {args.seconds:g} s (after a warm-up of "
                f"100): {r['answered']}/{r['offered']} answered, p50 {r['p50']:.0f} ms, "
                f"{r['throughput']:.0f}/s; the profile spans the whole process, start-up "
                "and warm-up included",
                flush=True,
            )
            print(report("case opening", Session.load(str(out / "open.pyisession")), args.top))
        if "ingest" in paths:
            rate = profile_ingest(out, args.events)
            print(f"ingest: {args.events} events, {rate:,.0f} msgs/s under the profiler")
            print(report("ingest", Session.load(str(out / "ingest.pyisession")), args.top))


if __name__ == "__main__":
    main()
