"""The end-to-end latency benchmark runs against a real `casebot run` with small counts, and
the table of bench/run_all.py reads each bench's last line (figures come from the full run)."""

from __future__ import annotations

import math

import pytest

from bench import latency, run_all


@pytest.mark.slow
async def test_latency_bench_small() -> None:
    results = await latency.run([20], 1.0, chats=5, drain=30, extra={})
    (result,) = results
    assert result["offered"] == 20 and result["answered"] == 20
    assert 0 < result["p50"] <= result["p99"] < math.inf


def test_run_all_reads_last_lines() -> None:
    rows = run_all.latency_rows(
        "latency_ms rate=50 p50=22 p95=51 p99=77 answered=250/250 achieved=50; "
        "rate=1000 p50=unanswered p95=unanswered p99=unanswered answered=10/5000 achieved=812;",
        "",
    )
    assert [r[0] for r in rows] == ["end-to-end @ 50/s offered", "end-to-end @ 1000/s offered"]
    assert "p99 > drain window" in rows[1][1] and "10 answered" in rows[1][2]
    (ingest,) = run_all.ingest_rows("engine_msgs_per_s=2658 raw_msgs_per_s=70733 ratio=0.038", "")
    assert "2,658" in ingest[1] and "0.038" in ingest[2]
    memory = run_all.memory_rows(
        "messages=500000 peak_rss_mb=80 db_mb=300 msgs_per_s=1000", "EXTRAPOLATED to 1,000,000"
    )
    assert "500,000" in memory[0][0] and "EXTRAPOLATED" in memory[0][2]
