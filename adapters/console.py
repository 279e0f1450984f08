"""The console adapter: a chat printed to a terminal, for the demo. Imports `cases` only.

What the bot sends is printed as `casebot> ...`; message ids follow the same
per-chat counter the demo uses for people, so replies to bot messages work.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from adapters.base import Delivery, Receipt, Sink


class ConsoleAdapter:
    platform = "console"

    def __init__(self, write: Callable[[str], None] = print) -> None:
        self.write = write
        self._ids: dict[str, itertools.count[int]] = {}
        self.sink: Sink | None = None

    def next_id(self, chat: str) -> str:
        return str(next(self._ids.setdefault(chat, itertools.count(1))))

    async def start(self, sink: Sink) -> None:
        self.sink = sink

    async def stop(self) -> None:
        self.sink = None

    async def deliver(self, delivery: Delivery) -> Receipt:
        text = delivery.text
        if delivery.kind == "answer":
            self.write(f"  (button answered: {text})")
            return Receipt()
        if delivery.kind in ("topic_create", "topic_close", "topic_reopen", "pin"):
            return Receipt()
        where = "triage" if delivery.purpose in ("card", "note", "nudge", "digest") else "chat"
        if delivery.kind == "dm":
            where = f"dm {delivery.payload.get('person', '')}"
        if delivery.kind == "upsert" and delivery.anchor_message_id:
            self.write(self._format(f"casebot [{where}, edited]", text))
            return Receipt(message_id=delivery.anchor_message_id)
        buttons = delivery.payload.get("buttons") or []
        if buttons:
            text += "\n" + "  ".join(f"[{label}]" for row in buttons for label, _ in row)
        self.write(self._format(f"casebot [{where}]", text))
        return Receipt(message_id=self.next_id(delivery.chat))

    @staticmethod
    def _format(who: str, text: str) -> str:
        lines = text.splitlines() or [""]
        pad = " " * (len(who) + 2)
        return f"{who}> {lines[0]}" + "".join(f"\n{pad}{line}" for line in lines[1:])
