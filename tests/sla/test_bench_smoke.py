"""The sweeper benchmark runs end to end with a small N (figures come from the full run)."""

from __future__ import annotations

import pytest

from bench import sweeper as bench
from tests.conftest import PG_AVAILABLE


async def test_bench_small(capsys: pytest.CaptureFixture[str]) -> None:
    dbs = "sqlite,postgres" if PG_AVAILABLE else "sqlite"
    await bench.main(["--cases", "3000", "--due", "50", "--db", dbs])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("tick_ms=") and " due_query_ms=" in last
