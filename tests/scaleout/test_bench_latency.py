"""The end-to-end latency benchmark runs against a real `casebot run` with small counts, and
the table of bench/run_all.py reads each bench's last line (figures come from the full run)."""

from __future__ import annotations

import math

import pytest

from bench import latency, peer_ptb, run_all


@pytest.mark.slow
async def test_latency_bench_small() -> None:
    results = await latency.run([20], 1.0, chats=5, drain=30, extra={})
    (result,) = results
    assert result["offered"] == 20 and result["answered"] == 20
    assert 0 < result["p50"] <= result["p99"] < math.inf


@pytest.mark.slow
async def test_peer_bench_small() -> None:
    results = await latency.run(
        [20], 1.0, chats=5, drain=30, extra={}, launch=peer_ptb.launch_peer
    )
    (result,) = results
    assert result["offered"] == 20 and result["answered"] == 20 and result["throughput"] > 0


def test_run_all_compares_casebot_with_the_peer() -> None:
    casebot = (
        "latency_ms rate=50 p50=200 p95=300 p99=400 answered=250/250 achieved=50 throughput=40; "
        "rate=200 p50=unanswered p95=unanswered p99=unanswered answered=9/1000 achieved=199 "
        "throughput=3;"
    )
    peer = (
        "latency_ms rate=50 p50=20 p95=30 p99=50 answered=250/250 achieved=50 throughput=50; "
        "rate=200 p50=25 p95=40 p99=60 answered=1000/1000 achieved=200 throughput=199;"
    )
    (row,) = run_all.peer_rows(peer, "")[:1]
    assert row[0] == "peer (python-telegram-bot) @ 50/s offered" and "(50/s)" in row[2]
    fifty, two_hundred = run_all.compare_rows(casebot, peer)
    assert fifty[0] == "casebot / peer @ 50/s"
    assert fifty[1] == "p50 10.0x, p99 8.0x" and "40/s vs 50/s (0.8x)" in fifty[2]
    assert two_hundred[1] == "p50 n/a, p99 n/a"


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
