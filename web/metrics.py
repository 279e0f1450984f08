"""Operations endpoints: `/healthz` (database reachable, commits succeeding, adapters
running) and `/metrics` in the Prometheus text format.

Imports aiohttp, SQLAlchemy and `storage`. Counters and the handling-latency
histogram live in the process (`app.metrics`); outbox, case and breach counts
are read from the database on each scrape.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from storage.db import ping
from storage.outbox import counts as outbox_counts
from storage.stats import cases_by_status, sla_breaches
from web.context import casebot

HEALTH_TIMEOUT = 5.0
# ingest batches in a row that failed to commit before /healthz says so: one may be a
# passing lock; three mean nothing customers write is being kept
FAILED_COMMITS_UNHEALTHY = 3


def adapter_states(app: Any) -> dict[str, bool]:
    """Adapters say whether they take updates through `running` (Telegram's is False
    until connected and once its polling task has ended); an adapter without one, such
    as a test double, counts as running once the app has started it."""
    return {
        name: bool(getattr(adapter, "running", True)) for name, adapter in app.adapters.items()
    }


def commit_health(app: Any) -> str:
    """ "ok", or why the last commits of ingest or of the dispatcher failed (until one
    succeeds again): either side alone may be the only one writing."""
    for side in (app.ingestor, app.dispatcher):
        failed = side.failed_commits
        if failed >= FAILED_COMMITS_UNHEALTHY:
            return f"failing: the last {failed} commits failed ({side.commit_error})"
    return "ok"


async def healthz(request: web.Request) -> web.Response:
    app = casebot(request)
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT), app.sessions() as session:
            await ping(session)
    except Exception as exc:
        return web.json_response(
            {"ok": False, "database": f"unreachable: {type(exc).__name__}"}, status=503
        )
    adapters = adapter_states(app)
    commits = commit_health(app)
    ok = all(adapters.values()) and commits == "ok"
    return web.json_response(
        {"ok": ok, "database": "ok", "adapters": adapters, "commits": commits},
        status=200 if ok else 503,
    )


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _family(lines: list[str], name: str, kind: str, help_text: str) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")


async def metrics(request: web.Request) -> web.Response:
    app = casebot(request)
    async with app.sessions() as session:
        outbox = await outbox_counts(session)
        statuses = await cases_by_status(session)
        breaches = await sla_breaches(session)
    m = app.metrics
    lines: list[str] = []
    _family(lines, "casebot_events_total", "counter", "Inbound events by result.")
    for result in ("ingested", "duplicate", "failed"):
        lines.append(f'casebot_events_total{{result="{result}"}} {m.events.get(result, 0)}')
    _family(lines, "casebot_outbox_deliveries_total", "counter", "Dispatcher outcomes.")
    for what, n in sorted(m.outbox.items()):
        lines.append(f'casebot_outbox_deliveries_total{{outcome="{_escape(what)}"}} {n}')
    _family(lines, "casebot_outbox_rows", "gauge", "Outbox rows by status.")
    for status in sorted({"pending", "dead", "sent", *outbox}):
        lines.append(f'casebot_outbox_rows{{status="{_escape(status)}"}} {outbox.get(status, 0)}')
    _family(lines, "casebot_outbox_pending", "gauge", "Outbox rows waiting to be sent.")
    lines.append(f"casebot_outbox_pending {outbox.get('pending', 0)}")
    _family(lines, "casebot_outbox_dead", "gauge", "Outbox rows given up on (dead letters).")
    lines.append(f"casebot_outbox_dead {outbox.get('dead', 0)}")
    _family(lines, "casebot_cases", "gauge", "Cases by status.")
    for status, n in statuses.items():
        lines.append(f'casebot_cases{{status="{_escape(status)}"}} {n}')
    _family(lines, "casebot_sla_breaches_total", "counter", "SLA breaches recorded.")
    lines.append(f"casebot_sla_breaches_total {breaches}")
    h = m.handling
    name = "casebot_event_handling_seconds"
    _family(lines, name, "histogram", "Time to handle one inbound event, commit included.")
    cumulative = 0
    for bound, count in zip(h.buckets, h.counts, strict=False):
        cumulative += count
        lines.append(f'{name}_bucket{{le="{bound:g}"}} {cumulative}')
    lines.append(f'{name}_bucket{{le="+Inf"}} {h.n}')
    lines.append(f"{name}_sum {h.total:.6f}")
    lines.append(f"{name}_count {h.n}")
    return web.Response(
        body=("\n".join(lines) + "\n").encode(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )


def routes() -> list[web.RouteDef]:
    return [web.get("/healthz", healthz), web.get("/metrics", metrics)]
