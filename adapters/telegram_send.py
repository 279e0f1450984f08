"""Sending helpers for the Telegram adapter: HTML, splitting, rate limits. Standard library
and `adapters.pacing` only.

Catalogue texts are plain; they are escaped here and case refs (`#12`) are set in
bold. Telegram counts its 4096-character limit in UTF-16 code units after entity
parsing, so texts are split on the plain text and each part escaped afterwards.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections import deque
from collections.abc import Callable

from adapters.pacing import Gate, release

MAX_TEXT = 4096
_REF = re.compile(r"(?<![\w#&])#\d+\b")


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def to_html(text: str) -> str:
    return _REF.sub(lambda m: f"<b>{m.group(0)}</b>", html.escape(text, quote=False))


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Parts of at most `limit` UTF-16 units, cut at a line break or space where one is
    near the end, never inside a surrogate pair."""
    parts: list[str] = []
    rest = text
    while utf16_units(rest) > limit:
        units = 0
        cut = 0
        for i, ch in enumerate(rest):
            units += 2 if ord(ch) > 0xFFFF else 1
            if units > limit:
                cut = i
                break
        window = rest[:cut]
        soft = max(window.rfind("\n"), window.rfind(" "))
        if soft > cut // 2:
            cut = soft + 1
        parts.append(rest[:cut].rstrip("\n") or rest[:cut])
        rest = rest[cut:]
    if rest or not parts:
        parts.append(rest)
    return parts


def truncate(text: str, limit: int = MAX_TEXT) -> str:
    """One part only (edits cannot be split), marked as cut."""
    if utf16_units(text) <= limit:
        return text
    return split_text(text, limit - 1)[0] + "…"


class RateLimited(Exception):
    """Sending now would exceed a limit for longer than the caller wants to wait."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"rate limit: next slot in {wait:.1f}s")
        self.wait = wait


class RateLimiter:
    """A global pace (messages per second) and a sliding minute per group chat.

    `reserve(chat)` books the next free slot and returns how long to wait for it, or
    raises RateLimited (booking nothing) when that is longer than `max_wait`; the
    caller then hands the delay to the dispatcher instead of holding a connection.
    Works within one process, like Telegram's own accounting per bot token.
    """

    def __init__(
        self,
        per_second: float,
        per_group_minute: int,
        max_wait: float = 5.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spacing = 1.0 / per_second
        self.per_group_minute = per_group_minute
        self.max_wait = max_wait
        self.now = now
        self._next_free = 0.0
        self._groups: dict[str, deque[float]] = {}
        self._gate = Gate(1, self.spacing, now)

    def reserve(self, chat: str) -> float:
        now = self.now()
        start = max(now, self._next_free)
        window = self._groups.get(chat) if chat.startswith("-") else None
        if window is not None:
            while window and window[0] <= now - 60.0:
                window.popleft()
            if len(window) >= self.per_group_minute:
                start = max(start, window[-self.per_group_minute] + 60.0)
        wait = start - now
        if wait > self.max_wait:
            raise RateLimited(wait)
        self._next_free = start + self.spacing
        if chat.startswith("-"):
            self._groups.setdefault(chat, deque()).append(start)
        return wait

    async def pace(self, chat: str) -> None:
        """Wait for a slot (`reserve`, which may raise RateLimited), then go out no sooner
        than one spacing after the send before. Slots are booked ahead, so sends whose
        slots passed while the event loop was busy (a large claim, a burst of updates)
        would otherwise all go at once: 122 in one second against a pace of 100 at the
        platform, where the platform counts."""
        wait = self.reserve(chat)
        if wait > 0:
            await asyncio.sleep(wait)
        await release(self._gate)
