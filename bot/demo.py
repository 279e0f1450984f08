"""`casebot demo`: a support conversation played through the real engine on a local
SQLite file, printed as it happens; then the case and its timeline; then, given a
terminal, the user goes on typing as a customer or an engineer. With `--web` the
dashboard serves the demo's data on 127.0.0.1 and a one-time sign-in link is printed.

Part of `bot`. Needs no account anywhere: the console adapter prints the bot. The
demo delivers each line's answers itself before reading the next line, so the
background dispatcher stays off (two senders would print a row twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from adapters.console import ConsoleAdapter
from bot.app import App
from bot.config import parse_config
from cases.clock import FrozenClock
from cases.model import Actor, ChatKey, Inbound, InboundKind
from storage.queries import get_case

PEOPLE = {
    "alice": Actor("console", "alice", "Alice (Acme)", "alice"),
    "bob": Actor("console", "bob", "Bob (Acme)", "bob"),
    "evan": Actor("console", "evan", "Evan (support)", "evan"),
    "lena": Actor("console", "lena", "Lena (lead)", "lena"),
}
CHAT = ChatKey("console", "acme")

SCRIPT: list[tuple[str, str, int | None]] = [
    ("alice", "Hi! Our VM web-01 has been down for ten minutes", None),
    ("alice", "All requests return 502", None),
    ("bob", "Lunch at 12 anyone?", None),
    ("evan", "/case VM web-01 down", 1),
    ("evan", "Looking into it now. Can you share the instance id?", None),
    ("alice", "Sure: i-0abc123", None),
    ("evan", "/priority P1", None),
    ("evan", "/note host hv-17 reports a failed disk", None),
    ("evan", "The host had a failed disk; we moved your VM. Can you check?", None),
    ("alice", "It works again, thank you!", None),
    ("evan", "/resolve", None),
]


TRIAGE = ChatKey("console", "triage")
LOGIN_LINK = re.compile(r"https?://\S+/login/\S+")


def demo_config(db: Path, web_port: int | None = None) -> dict[str, Any]:
    http: dict[str, Any] = {"enabled": False}
    if web_port is not None:
        base = f"http://127.0.0.1:{web_port}"
        http = {"enabled": True, "host": "127.0.0.1", "port": web_port, "public_url": base}
    return {
        "storage": {"url": f"sqlite+aiosqlite:///{db}"},
        "http": http,
        "scheduler": {"enabled": False},
        "dispatcher": {"enabled": False},
        "staff": {
            "engineers": ["console:evan"],
            "leads": ["console:lena"],
            "triage_chat": "console:triage",
            "names": {"console:evan": "@evan", "console:lena": "@lena"},
        },
        "accounts": [{"name": "Acme", "tier": "premium", "chats": ["console:acme"]}],
        "sla": {
            "premium": {
                "P1": {"first_response": "15m", "resolution": "4h"},
                "P3": {"first_response": "1h", "resolution": "2d"},
            }
        },
    }


@dataclass
class Demo:
    app: App
    console: ConsoleAdapter
    clock: FrozenClock
    write: Callable[[str], None]

    def __post_init__(self) -> None:
        self._events = itertools.count(1)

    async def say(
        self, who: str, text: str, reply_to: int | None = None, chat: ChatKey = CHAT
    ) -> None:
        actor = PEOPLE.get(who) or Actor("console", who, who.capitalize(), who)
        self.clock.advance(minutes=1)
        mid = self.console.next_id(chat.chat)
        arrow = f" ↩ {reply_to}" if reply_to else ""
        where = "" if chat == CHAT else f"({chat.chat}) "
        self.write(f"{where}[{mid}] {actor.display}{arrow}: {text}")
        await self.app.ingestor.handle(
            Inbound(
                InboundKind.MESSAGE,
                f"demo-{next(self._events)}",
                chat,
                self.clock.now(),
                actor,
                message_id=mid,
                reply_to=str(reply_to) if reply_to else None,
                text=text,
            )
        )
        await self.flush()

    async def press(self, who: str, data: str) -> None:
        self.clock.advance(minutes=1)
        self.write(f"      {PEOPLE[who].display} pressed {data}")
        await self.app.ingestor.handle(
            Inbound(
                InboundKind.BUTTON,
                f"demo-{next(self._events)}",
                CHAT,
                self.clock.now(),
                PEOPLE[who],
                data=data,
                callback_id=f"cb{next(self._events)}",
            )
        )
        await self.flush()

    async def flush(self) -> None:
        while await self.app.dispatcher.run_once():
            pass

    async def show_case(self, case_id: int) -> None:
        async with self.app.sessions() as session:
            case = await get_case(session, case_id)
        if case is None:
            self.write(f"no case #{case_id}")
            return
        self.write("")
        self.write(f"=== Case {case['ref']}: {case['title']} ===")
        self.write(
            f"account {case['account']} · status {case['status']} · {case['priority']} · "
            f"assignee {case['assignee'] or '-'}"
        )
        self.write(
            f"created {case['created_at']} · first response {case['first_response_at'] or '-'} · "
            f"resolved {case['resolved_at'] or '-'}"
        )
        self.write("-- transcript")
        for m in case["messages"]:
            tag = " (internal)" if m["internal"] else ""
            self.write(f"  {m['at'][11:16]} {m['role']:<8} {m['sender_name']}{tag}: {m['text']}")
        self.write("-- timeline")
        for e in case["events"]:
            data = ", ".join(f"{k}={v}" for k, v in e["data"].items() if v is not None)
            if e["type"] == "sla_due" and not data:
                data = "no clock running"  # answered and waiting, paused, or resolved
            self.write(f"  {e['at'][11:16]} {e['type']:<18} {e['actor'] or '-'}  {data}")


async def run_demo(
    db: Path,
    interactive: bool | None = None,
    stdin: TextIO | None = None,
    write: Callable[[str], None] = print,
    web_port: int | None = None,
) -> int:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    config = parse_config(demo_config(db, web_port), env={})
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30))
    console = ConsoleAdapter(write)
    app = App(config, clock, adapters={"console": console})
    await app.start(web=web_port is not None, scheduler=False)
    demo = Demo(app, console, clock, write)
    try:
        write("casebot demo: a customer group (Acme) and a support engineer (Evan).")
        write("Lines are [message id] sender: text; ↩ N marks a reply to message N.\n")
        for who, text, reply_to in SCRIPT:
            await demo.say(who, text, reply_to)
        await demo.press("alice", "csat:1:5")
        await demo.show_case(1)
        if web_port is not None:
            await _serve_dashboard(demo, write)
        stdin = stdin or sys.stdin
        if interactive is None:
            interactive = stdin.isatty()
        if interactive:
            await _interactive(demo, stdin, write)
        elif web_port is not None:
            await asyncio.Event().wait()  # until Ctrl-C
    finally:
        await app.stop()
    write(f"\nThe demo database is {db}; run the demo again to start afresh.")
    return 0


async def _serve_dashboard(demo: Demo, write: Callable[[str], None]) -> None:
    """Lena asks for a sign-in link in the triage chat, as staff do with /login; the
    link it DMs is the one printed for the newcomer."""
    lines: list[str] = []

    def keep(text: str) -> None:
        lines.append(text)
        write(text)

    demo.console.write = keep
    try:
        await demo.say("lena", "/login", chat=TRIAGE)
    finally:
        demo.console.write = write
    link = next((m.group(0) for line in lines if (m := LOGIN_LINK.search(line))), None)
    if link is None:
        raise RuntimeError("the demo's /login sent no sign-in link")
    write(f"\nThe dashboard serves this demo at {demo.app.config.http.public_url}/")
    write(f"Sign in as Lena (lead) with this one-time link: {link}")
    write("Ctrl-C ends the demo.")


async def _lines(stdin: TextIO) -> AsyncIterator[str]:
    """Lines as they are typed, read without blocking the event loop (which delivers
    the answers meanwhile); a stream without a file descriptor is read directly."""
    try:
        fd = stdin.fileno()
    except (AttributeError, OSError, ValueError):
        while line := stdin.readline():
            yield line
        return
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    loop.add_reader(fd, lambda: queue.put_nowait(os.read(fd, 65536)))
    pending = b""
    try:
        while True:
            chunk = await queue.get()
            if not chunk:  # end of input
                if pending:
                    yield pending.decode("utf-8", "replace")
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                yield line.decode("utf-8", "replace") + "\n"
    finally:
        loop.remove_reader(fd)


async def _interactive(demo: Demo, stdin: TextIO, write: Callable[[str], None]) -> None:
    write(
        "\nYour turn. Type `alice> my VM is down` or `evan> /case` (staff: evan, lena;"
        " anyone else is a customer).\n`evan@5> text` replies to message 5; `case 2` shows"
        " case #2; `quit` ends; so does Ctrl-C."
    )
    write("> ")
    async with contextlib.aclosing(_lines(stdin)) as lines:
        async for raw in lines:
            line = raw.strip()
            if line in ("quit", "exit"):
                return
            await _one_line(demo, line, write)
            write("> ")


async def _one_line(demo: Demo, line: str, write: Callable[[str], None]) -> None:
    if not line:
        return
    if line.startswith("case "):
        number = line[5:].strip().lstrip("#")
        if number.isdigit():
            await demo.show_case(int(number))
        return
    who, sep, text = line.partition(">")
    if not sep or not who.strip() or not text.strip():
        write("  format: name> text   or   name@N> text (reply to message N)")
        return
    name, _, reply = who.strip().partition("@")
    reply_to = int(reply) if reply.isdigit() else None
    await demo.say(name.lower(), text.strip(), reply_to)
