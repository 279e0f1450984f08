"""In-process counters and a latency histogram, rendered by web's /metrics.

Part of `bot`. Plain Python: a Prometheus client library would be one more
dependency for a dozen numbers.
"""

from __future__ import annotations

import bisect
from collections import Counter
from typing import Any

from cases.engine import Outcome
from cases.model import Inbound

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Histogram:
    def __init__(self, buckets: tuple[float, ...] = BUCKETS) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0
        self.n = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value
        self.n += 1


class Metrics:
    def __init__(self) -> None:
        self.events: Counter[str] = Counter()
        self.outbox: Counter[str] = Counter()
        self.handling = Histogram()

    def observe_event(self, event: Inbound, result: Outcome | Exception, seconds: float) -> None:
        if isinstance(result, Exception):
            self.events["failed"] += 1
        elif result.duplicate:
            self.events["duplicate"] += 1
        else:
            self.events["ingested"] += 1
        self.handling.observe(seconds)

    def observe_outbox(self, what: str, row: Any) -> None:
        self.outbox[what] += 1
