"""Operations and read-side pages with real numbers: the at-risk, breached and waiting
queues (dashboard and API) on the frozen clock with the real sweeper, /metrics
counting exactly, /healthz when the database is gone, the account page's charts."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cases.model import Actor, ChatKey, Inbound, InboundKind
from scheduler.sweeper import Sweeper
from storage.db import make_engine, make_sessions
from storage.models import OutboxRow
from tests.harness import PEOPLE
from tests.web.conftest import ACME, GLOBEX, Site


async def _sweep(site: Site) -> None:
    await Sweeper(site.app.sessions, site.app.engine, site.app.caches).tick(site.clock.now())


async def _api_queue(site: Site, name: str) -> set[int]:
    r = await site.client.get(f"/api/v1/queues/{name}", headers=site.api_headers())
    assert r.status == 200, await r.text()
    body = await r.json()
    cases = body["data"] if isinstance(body, dict) else body
    return {c["id"] for c in cases}


async def _page_queue(site: Site, name: str) -> set[int]:
    r = await site.client.get(f"/queue/{name}")
    assert r.status == 200
    return {int(n) for n in re.findall(r'<td><a href="/cases/(\d+)">', await r.text())}


async def test_at_risk_breached_and_waiting_queues(site: Site) -> None:
    # Acme is premium: a P3 case owes its first answer within 1 h
    late = await site.open_case("nobody answered this")
    site.clock.advance(timedelta(minutes=61))
    await _sweep(site)
    asked, _ = await site.say("bob", "the export hangs")
    _, opened = await site.say("evan", "/case", reply_to=asked)
    waiting = opened.case_id
    await site.say("evan", "which browser do you use?", reply_to=asked)
    relaxed = await site.open_case("Globex has 4 h to answer", chat=GLOBEX, who="carol")
    soon = await site.open_case("due within the hour")  # opened last: an hour after Globex
    await _sweep(site)
    await site.sign_in()
    for queue in (_api_queue, _page_queue):
        assert await queue(site, "breached") == {late}, queue
        assert await queue(site, "waiting") == {waiting}, queue
        at_risk = await queue(site, "at_risk")
        assert soon in at_risk and waiting not in at_risk and relaxed not in at_risk, queue


async def _press(site: Site, who: str, data: str) -> None:
    user_id, name, username = PEOPLE[who]
    site.clock.advance(timedelta(seconds=30))
    await site.app.ingestor.handle(
        Inbound(
            InboundKind.BUTTON,
            f"press-{data}-{who}",
            ChatKey("telegram", ACME),
            site.clock.now(),
            Actor("telegram", user_id, name, username),
            data=data,
            callback_id=f"cb-{data}",
        )
    )


async def _account_story(site: Site) -> tuple[int, int]:
    """Acme (premium, first answer due in 1 h): one case answered in 2 minutes,
    resolved and rated 5; one answered after its first-response SLA breached."""
    site.clock.advance(timedelta(hours=1))
    asked, _ = await site.say("alice", "VPN drops every hour")
    _, opened = await site.say("evan", "/case", reply_to=asked)
    quick = opened.case_id
    assert quick is not None
    site.clock.advance(timedelta(minutes=1))
    await site.say("evan", "fixed on our side, please retry", reply_to=asked)
    await site.say("evan", f"/resolve #{quick}")
    await _press(site, "alice", f"csat:{quick}:5")
    site.clock.advance(timedelta(hours=1))
    asked, _ = await site.say("bob", "invoices are missing")
    _, opened = await site.say("evan", "/case", reply_to=asked)
    slow = opened.case_id
    assert slow is not None
    site.clock.advance(timedelta(minutes=61))
    await Sweeper(site.app.sessions, site.app.engine, site.app.caches).tick(site.clock.now())
    site.clock.advance(timedelta(hours=1))
    await site.say("evan", "looking into the invoices", reply_to=asked)
    site.clock.advance(timedelta(minutes=1))  # the live page counts up to now, exclusive
    return quick, slow


async def test_account_page_draws_its_four_charts_with_the_numbers(site: Site) -> None:
    await _account_story(site)
    await site.sign_in()
    page = await (await site.client.get("/accounts/Acme")).text()
    charts = re.findall(r'<svg class="(?:chart|gauge)"[^>]*aria-label="([^"]+)"', page)
    assert charts == ["Cases per week", "First response times", "SLA compliance", "CSAT ratings"]
    titles = re.findall(r"<title>([^<]*)</title>", page)
    for drawn in (
        "opened 03-02: 2",
        "resolved 03-02: 1",
        "opened 02-23: 0",
        "cases &lt; 5m: 1",
        "cases &lt; 4h: 1",
        "cases &lt; 1h: 0",
        "SLA compliance: 66.7%",
        "ratings 5★: 1",
        "ratings 1★: 0",
    ):
        assert drawn in titles, (drawn, titles)
    # bars carry their values as visible text too: 2 opened, one 5-star rating
    assert '<text class="val"' in page and re.search(r'<text class="val"[^>]*>2</text>', page)
    assert "2 of 3 SLA clocks met their targets; 1 breached." in page
    assert "average 5.0 / 5 from 1 ratings" in page


def _samples(text: str) -> dict[str, float]:
    """Prometheus text as {"name{labels}": value}; comment lines skipped."""
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            samples[key] = float(value)
    return samples


async def test_metrics_count_exactly(site: Site) -> None:
    await _account_story(site)
    r = await site.client.get("/metrics")
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    m = _samples(await r.text())
    # 2 cases: one resolved, one waiting on the customer after the late answer
    assert {k: v for k, v in m.items() if k.startswith("casebot_cases{")} == {
        'casebot_cases{status="new"}': 0,
        'casebot_cases{status="open"}': 0,
        'casebot_cases{status="waiting_on_customer"}': 1,
        'casebot_cases{status="on_hold"}': 0,
        'casebot_cases{status="waiting_on_issue"}': 0,
        'casebot_cases{status="resolved"}': 1,
        'casebot_cases{status="closed"}': 0,
    }
    assert m["casebot_sla_breaches_total"] == 1
    # alice, bob, the rating, and evan's tag, answer, /resolve, tag, late answer
    assert m['casebot_events_total{result="ingested"}'] == 8
    assert m['casebot_events_total{result="duplicate"}'] == 0
    assert m['casebot_event_handling_seconds_bucket{le="+Inf"}'] == 8
    assert m["casebot_event_handling_seconds_count"] == 8
    async with site.app.sessions() as session:
        pending = await session.scalar(
            select(func.count(OutboxRow.id)).where(OutboxRow.status == "pending")
        )
    assert pending and m["casebot_outbox_pending"] == pending
    assert m['casebot_outbox_rows{status="pending"}'] == pending
    assert m["casebot_outbox_dead"] == 0 and m['casebot_outbox_rows{status="sent"}'] == 0


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_healthz_is_503_when_the_database_is_gone(
    lite: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    r = await lite.client.get("/healthz")
    assert r.status == 200 and (await r.json())["database"] == "ok"
    if kind == "sqlite":
        gone = tmp_path / "gone"
        gone.mkdir()
        url = f"sqlite+aiosqlite:///{gone}/casebot.db"
    else:
        url = "postgresql+asyncpg://casebot:x@127.0.0.1:9/casebot"  # nothing listens there
    engine = make_engine(url)
    if kind == "sqlite":
        gone.rmdir()  # the database's directory vanished (unmounted volume)
    monkeypatch.setattr(lite.app, "sessions", make_sessions(engine))
    try:
        r = await lite.client.get("/healthz")
        body = await r.json()
        assert r.status == 503 and body["ok"] is False
        assert body["database"].startswith("unreachable: "), body
    finally:
        await engine.dispose()
