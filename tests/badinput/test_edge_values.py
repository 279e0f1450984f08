"""Edge values (a duration past any calendar, a twenty-digit ref, "²" as a number, the
last week of year 9999, a NUL in a search) get a clear answer in chat, over the API and
on the dashboard, never a 500, a failed event or an ERROR line; the staff message that
carried one stays in the transcript."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from cases.commands import MAX_NUMBER, parse_command, parse_number
from cases.durations import parse_duration
from tests.engine.kit import message, open_case
from tests.harness import ACME, Harness
from tests.web.conftest import LEAD, Site, site

__all__ = ["site"]  # the web suite's fixture

HUGE_REF = "9" * 20


def test_parsers_refuse_edge_values() -> None:
    with pytest.raises(ValueError, match="too long"):
        parse_duration("99999999999w")
    with pytest.raises(ValueError):
        parse_duration("²w")
    assert parse_duration("36600d") == timedelta(days=36600)
    assert [parse_number(t) for t in ("12", "²", "٣", HUGE_REF, str(MAX_NUMBER))] == [
        12,
        None,
        None,
        None,
        MAX_NUMBER,
    ]
    command = parse_command(f"/status #{HUGE_REF}")
    assert command is not None and command.case_ref == 0 and command.ref_text == f"#{HUGE_REF}"


async def _no_failure(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    assert h.ingestor.stats.failed == 0
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_edge_values_in_chat_get_short_answers(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.sent()
        await h.say("evan", "/followup 99999999999w ring them")
        followup_mid = h.last_message_id
        # follow-ups are internal: their answers may go to triage rather than the group
        assert await h.sent() == [h.texts.render("usage_followup", "en")]
        await h.say("evan", f"/move #{HUGE_REF}", reply_to="1")
        move_mid = h.last_message_id
        assert await h.sent(chat=ACME) == [
            h.texts.render("case_unknown", "en", ref=f"#{HUGE_REF}")
        ]
        await h.say("evan", "/done ²")
        assert await h.sent() == [h.texts.render("followup_none", "en", ref="#1")]
        await h.press("evan", f"take:{HUGE_REF}")
        assert await h.sent() == [h.texts.render("button_unknown", "en")]
        for mid, text in ((followup_mid, "/followup 99999999999w"), (move_mid, "/move #")):
            kept = await message(h, mid)
            assert kept["text"].startswith(text) and kept["role"] == "staff"
        assert (await h.case(1))["followups"] == []
        # a customer naming a case past any id: "no such case", no failed event
        await h.say("alice", f"/status #{HUGE_REF}")
        assert await h.sent(chat=ACME) == [
            h.texts.render("case_unknown", "en", ref=f"#{HUGE_REF}")
        ]
        await _no_failure(h, caplog)


async def test_api_edge_values_get_4xx_with_the_reason(site: Site) -> None:
    case_id = await site.open_case("VM down")
    h = site.api_headers(LEAD)
    url = f"/api/v1/cases/{case_id}"
    r = await site.client.post(
        f"{url}/followups", json={"due_in": "99999999999w", "text": "x"}, headers=h
    )
    assert r.status == 422 and "due_in must be a duration" in (await r.json())["error"]
    for field, body in (("to", {"message": "1", "to": f"#{HUGE_REF}"}), ("to", {"to": "²"})):
        r = await site.client.post(f"{url}/move", json=body, headers=h)
        assert r.status == 422 and f"{field} must be a number" in (await r.json())["error"]
    r = await site.client.post(f"{url}/followups/²/done", headers=h)
    assert r.status == 400
    for path in (f"/api/v1/cases/{HUGE_REF}", "/api/v1/cases?limit=²"):
        r = await site.client.get(path, headers=h)
        assert r.status == 400, path
    r = await site.client.get("/api/v1/accounts/Acme/review?week=9999-12-31", headers=h)
    assert r.status == 400 and "week must be a date" in (await r.json())["error"]
    r = await site.client.get("/api/v1/accounts/Acme/review?week=0001-01-01", headers=h)
    assert r.status == 400
    for q in ("VM\x00", "\x00\x00", 'V"M\x00down'):
        r = await site.client.get("/api/v1/search", params={"q": q}, headers=h)
        assert r.status in (200, 400), (q, r.status, await r.text())
    r = await site.client.get("/api/v1/search", params={"q": "VM\x00"}, headers=h)
    assert [hit["text"] for hit in await r.json()] == ["VM down"]


async def test_dashboard_edge_values(site: Site) -> None:
    case_id = await site.open_case("VM down")
    await site.sign_in()
    token = await site.csrf(f"/cases/{case_id}")
    r = await site.client.post(
        f"/cases/{case_id}/act",
        data={"kind": "followup", "due_in": "99999999999w", "text": "x", "csrf": token},
    )
    assert "Not done: due_in must be a duration" in await r.text()
    r = await site.client.post(
        f"/cases/{case_id}/act",
        data={"kind": "merge", "into": HUGE_REF, "csrf": token},
    )
    assert "Not done: into must be a number" in await r.text()
    r = await site.client.post(
        f"/cases/{HUGE_REF}/act", data={"kind": "priority", "priority": "P1", "csrf": token}
    )
    assert r.status == 404
    assert (await site.client.get(f"/cases/{HUGE_REF}")).status == 404
    assert (await site.client.get("/accounts/Acme?weeks=²")).status == 200
    assert (await site.client.get("/accounts/Acme/review?week=9999-12-31")).status == 400
    r = await site.client.get("/search", params={"q": "VM\x00"})
    assert r.status == 200 and "VM down" in await r.text()
