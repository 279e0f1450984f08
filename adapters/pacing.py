"""Sends let out in real time at the pace a platform counts. Standard library only.

Each adapter's limiter books slots ahead (`reserve`) and a send sleeps to its slot. A
busy event loop (a large claim, a burst of updates) can let many booked slots pass while
their sends sleep; they would then wake together and go out at once, a burst above the
pace where the platform counts (CI saw 122 Telegram sends in one second at a pace of
100). A `Gate` lets such sends out again at the pace, in the order they came.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable


class Gate:
    """At most `count` sends let out in any `period` seconds of `now`, first come first
    out (asyncio.Lock hands itself to its waiters in the order they asked)."""

    def __init__(
        self, count: int, period: float, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.count = max(1, count)
        self.period = period
        self.now = now
        self.users = 0  # sends at or in the gate: a `Gates` keeps it while any are
        self._lock = asyncio.Lock()
        self._out: deque[float] = deque(maxlen=self.count)

    def idle(self) -> bool:
        return self.users == 0 and (not self._out or self._out[-1] <= self.now() - self.period)

    async def _open(self) -> None:
        if len(self._out) == self.count:
            gap = self._out[0] + self.period - self.now()
            if gap > 0:
                await asyncio.sleep(gap)


class Gates:
    """A `Gate` per key (a chat, a channel); idle ones are forgotten once there are many."""

    def __init__(
        self,
        count: int,
        period: float,
        now: Callable[[], float] = time.monotonic,
        keep: int = 10_000,
    ) -> None:
        self.count = count
        self.period = period
        self.now = now
        self.keep = keep
        self._gates: dict[str, Gate] = {}

    def __getitem__(self, key: str) -> Gate:
        gate = self._gates.get(key)
        if gate is None:
            if len(self._gates) >= self.keep:
                for old in [k for k, g in self._gates.items() if g.idle()]:
                    del self._gates[old]
            gate = self._gates[key] = Gate(self.count, self.period, self.now)
        return gate


async def release(*gates: Gate) -> None:
    """Pass every gate in turn, the narrowest first (a chat's, then the bot's), holding
    each until the last one opens, so the send counts in all of them at the moment it
    goes. A send waiting at a wide gate thus holds up only its own chat's next sends.

    Call it straight after looking the gates up (no await in between): a gate counts
    its users from here, and `Gates` forgets only gates nobody uses."""
    for gate in gates:
        gate.users += 1
    try:
        async with contextlib.AsyncExitStack() as held:
            for gate in gates:
                await held.enter_async_context(gate._lock)
                await gate._open()
            for gate in gates:
                gate._out.append(gate.now())
    finally:
        for gate in gates:
            gate.users -= 1
