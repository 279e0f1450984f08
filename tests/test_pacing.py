"""The gates every platform's pacer shares: a chat's gate is forgotten only once nobody
waits at it and its last send is out of its period, so a send that looked its gate up
never shares the chat with a second gate."""

from __future__ import annotations

import asyncio

from adapters.pacing import Gates, release


async def test_a_gate_in_use_or_in_its_period_is_kept() -> None:
    now = [100.0]
    gates = Gates(1, 0.05, now=lambda: now[0], keep=1)
    first = gates["-1"]
    await release(first)
    gates["-2"]  # over `keep`: the first gate's send is still within its period
    assert gates["-1"] is first
    waiting = asyncio.create_task(release(first))
    await asyncio.sleep(0)  # at the gate, for the rest of its period
    now[0] += 1.0
    gates["-3"]
    assert gates["-1"] is first, "a gate with a send waiting at it was forgotten"
    await waiting
    now[0] += 1.0
    gates["-4"]
    assert gates["-1"] is not first, "an idle gate was kept past `keep`"
