"""The SLA results the engine audits as it handles messages (the clocks themselves are
tested in tests/sla): a staff answer in time is `sla_met`, a late one `sla_breached`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.engine.kit import events, open_case
from tests.harness import Harness

pytestmark = pytest.mark.usefixtures("platform")


async def test_a_first_answer_in_time_is_met(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        case = await h.case(1)
        # Acme is premium: a P3 first response within 1h of the customer's message
        assert case["sla"]["first_response_due"] == "2026-03-02T10:00:30Z"
        await h.say("erin", "looking", advance=timedelta(minutes=5))
        case = await h.case(1)
        [met] = events(case, "sla_met")
        assert met["actor"] == h.key("1002")
        assert met["data"] == {"clock": "first_response", "due": "2026-03-02T10:00:30+00:00"}
        assert events(case, "sla_breached") == []
        # a second answer is not a first response again
        await h.say("erin", "found it")
        assert len(events(await h.case(1), "sla_met")) == 1


async def test_a_late_first_answer_is_breached_once(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("alice", "hello?", reply_to="1", advance=timedelta(minutes=30))
        await h.say("erin", "sorry, looking", reply_to="1", advance=timedelta(hours=2))
        case = await h.case(1)
        breached = events(case, "sla_breached")
        assert [e["data"]["clock"] for e in breached] == ["first_response"]
        assert events(case, "sla_met") == []


async def test_resolving_in_time_meets_the_resolution_clock(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("evan", "/resolve", advance=timedelta(hours=1))
        met = [e["data"]["clock"] for e in events(await h.case(1), "sla_met")]
        assert met == ["resolution"]


async def test_resolving_while_waiting_on_the_customer_still_judges_resolution(
    db_url: str,
) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        # the answer pauses the resolution clock (waiting on the customer)...
        await h.say("erin", "try restarting it", advance=timedelta(minutes=5))
        assert (await h.case(1))["status"] == "waiting_on_customer"
        # ...and resolving days later, with the customer silent, is still in time: the
        # paused days do not count (premium P3: resolution within 2d)
        await h.say("evan", "/resolve", advance=timedelta(days=5))
        case = await h.case(1)
        clocks = [e["data"]["clock"] for e in events(case, "sla_met")]
        assert clocks == ["first_response", "resolution"]
        assert events(case, "sla_breached") == []


async def test_resolving_while_paused_after_running_too_long_is_breached(
    db_url: str,
) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        # three days of open time (over the 2d target), then an answer pauses the clock
        await h.say("alice", "still down", reply_to="1", advance=timedelta(days=3))
        await h.say("erin", "try restarting it", advance=timedelta(minutes=5))
        await h.say("evan", "/resolve", advance=timedelta(hours=1))
        case = await h.case(1)
        resolution = [
            e
            for e in events(case, "sla_met") + events(case, "sla_breached")
            if e["data"]["clock"] == "resolution"
        ]
        assert [e["type"] for e in resolution] == ["sla_breached"]


async def test_each_change_of_a_due_time_is_audited(db_url: str) -> None:
    """The timeline tells when each promise was set and moved: the opening records the
    due times, a new priority and a staff answer that stops a clock each record the
    ones that now hold; a message that moves nothing records nothing."""
    async with Harness(db_url) as h:
        await open_case(h)
        opened = events(await h.case(1), "opened")[0]["data"]["due"]
        assert opened["first_response"] == "2026-03-02T10:00:30+00:00"
        await h.say("alice", "it is still down", reply_to="1")  # the clock runs on as it was
        assert events(await h.case(1), "sla_due") == []
        await h.say("evan", "/priority P1", reply_to="1")  # premium P1: 15 min, 4 h
        [moved] = events(await h.case(1), "sla_due")
        assert moved["actor"] == h.key("1001")
        assert moved["data"]["first_response"] == "2026-03-02T09:15:30+00:00"
        assert moved["data"]["resolution"] == "2026-03-02T13:00:30+00:00"
        await h.say("erin", "looking", reply_to="1")  # answered: no first-response due
        last = events(await h.case(1), "sla_due")[-1]["data"]
        assert last["first_response"] is None
