"""Routing (`[[routing]]`): a new case goes to the owner, the next in turn or the least
loaded person on duty; nobody taking it in time passes it on (the sweeper's timer);
/take and the card's Take win; every assignment is audited with its reason."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from scheduler.sweeper import Sweeper
from tests.engine.kit import events, open_case
from tests.harness import ACME, TRIAGE, Harness

pytestmark = pytest.mark.usefixtures("platform")

EVAN, ERIN = "telegram:1001", "telegram:1002"


def routed(policy: str, **route: Any) -> dict[str, Any]:
    return {"routing": [{"account": "Acme", "policy": policy, **route}]}


def acme(**extra: Any) -> dict[str, Any]:
    return {
        "accounts": [
            {"name": "Acme", "tier": "premium", "chats": [f"telegram:{ACME}"], "intake": "tag"}
            | extra
        ]
    }


def assignments(case: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    return [(e["data"]["to"], e["data"].get("reason")) for e in events(case, "assigned")]


async def test_round_robin_takes_turns_and_says_why(db_url: str) -> None:
    async with Harness(db_url, **routed("round_robin")) as h:
        ids = [await open_case(h, f"question {n}") for n in range(3)]
        got = [(await h.case(i))["assignee"] for i in ids]
        assert got == [h.key("1001"), h.key("1002"), h.key("1001")]
        case = await h.case(ids[1])
        assert assignments(case) == [(h.key("1002"), "round_robin")]
        [event] = events(case, "assigned")
        assert event["actor"] is None and event["data"]["route"] == "account:Acme"
        # routed is not taken: the case stays new until someone takes it
        assert case["status"] == "new"
        said = await h.sent(chat=TRIAGE, purpose="routing")
        reason = h.texts.render("route_reason_round_robin", "en")
        assert h.texts.render("routed", "en", ref="#3", name="Evan", reason=reason) in said


async def test_least_loaded_picks_who_has_fewest_active_cases(db_url: str) -> None:
    async with Harness(db_url, **routed("least_loaded")) as h:
        first = await open_case(h, "one")
        assert (await h.case(first))["assignee"] == h.key("1001")
        second = await open_case(h, "two")
        assert (await h.case(second))["assignee"] == h.key("1002")
        await h.say("erin", f"/assign #{first} @erin", chat=TRIAGE)
        third = await open_case(h, "three")
        # Erin holds two now, Evan none
        assert assignments(await h.case(third)) == [(h.key("1001"), "least_loaded")]


@pytest.mark.parametrize(
    ("away", "expected"), [([], ("1002", "owner")), ([ERIN], ("1001", "backup"))]
)
async def test_owner_then_backup_while_the_owner_is_off_duty(
    db_url: str, away: list[str], expected: tuple[str, str]
) -> None:
    setup = {**routed("owner"), **acme(owner=ERIN, backup=EVAN), "escalation": {"away": away}}
    async with Harness(db_url, **setup) as h:
        case_id = await open_case(h)
        assert assignments(await h.case(case_id)) == [(h.key(expected[0]), expected[1])]


async def test_only_people_on_duty_are_chosen(db_url: str) -> None:
    # Evan works 09:00-12:00 on weekdays; the harness's clock starts Monday 09:00
    duty = {"escalation": {"duty": {EVAN: {"mon-fri": "09:00-12:00"}}}}
    async with Harness(db_url, **routed("round_robin"), **duty) as h:
        morning = await open_case(h, "morning")
        assert (await h.case(morning))["assignee"] == h.key("1001")
        h.clock.advance(timedelta(hours=4))
        late = [await open_case(h, f"afternoon {n}") for n in range(2)]
        assert [(await h.case(i))["assignee"] for i in late] == [h.key("1002")] * 2


async def test_nobody_taking_it_passes_it_on_then_triage_keeps_it(db_url: str) -> None:
    async with Harness(db_url, **routed("round_robin", pass_after="15m")) as h:
        sweeper = Sweeper(h.sessions, h.engine, batch=50)
        case_id = await open_case(h)
        assert (await h.case(case_id))["assignee"] == h.key("1001")
        h.clock.advance(timedelta(minutes=10))
        await sweeper.tick(h.clock.now())
        assert (await h.case(case_id))["assignee"] == h.key("1001")  # not yet
        h.clock.advance(timedelta(minutes=6))
        await sweeper.tick(h.clock.now())
        case = await h.case(case_id)
        assert assignments(case)[-1] == (h.key("1002"), "passed_on")
        assert events(case, "assigned")[-1]["data"]["from"] == h.key("1001")
        await h.sent()
        h.clock.advance(timedelta(minutes=16))
        await sweeper.tick(h.clock.now())
        # both tried: it stays with the last one, and triage hears nobody else is left
        case = await h.case(case_id)
        assert case["assignee"] == h.key("1002") and len(assignments(case)) == 2
        said = await h.sent(chat=TRIAGE, purpose="routing")
        assert said == [h.texts.render("routed_nobody", "en", ref="#1", title=case["title"])]
        h.clock.advance(timedelta(hours=1))
        await sweeper.tick(h.clock.now())
        assert len(assignments(await h.case(case_id))) == 2


async def test_take_wins_over_routing(db_url: str) -> None:
    async with Harness(db_url, **routed("round_robin", pass_after="15m")) as h:
        sweeper = Sweeper(h.sessions, h.engine, batch=50)
        pressed = await open_case(h, "pressed")
        await h.press("erin", f"take:{pressed}")
        typed = await open_case(h, "typed")  # Erin's turn by rotation
        assert (await h.case(typed))["assignee"] == h.key("1002")
        await h.say("erin", f"/take #{typed}", chat=TRIAGE)
        h.clock.advance(timedelta(minutes=30))
        await sweeper.tick(h.clock.now())
        for case_id in (pressed, typed):
            case = await h.case(case_id)
            assert case["assignee"] == h.key("1002")
            assert assignments(case)[-1] == (h.key("1002"), "take")
            assert case["status"] == "open"


async def test_the_routed_persons_own_answer_is_taking_it(db_url: str) -> None:
    async with Harness(db_url, **routed("round_robin", pass_after="15m")) as h:
        sweeper = Sweeper(h.sessions, h.engine, batch=50)
        case_id = await open_case(h)
        await h.say("evan", "Looking at it now", reply_to="1")
        h.clock.advance(timedelta(minutes=30))
        await sweeper.tick(h.clock.now())
        case = await h.case(case_id)
        assert case["assignee"] == h.key("1001") and len(assignments(case)) == 1


async def test_an_account_without_a_route_is_not_routed(db_url: str) -> None:
    async with Harness(db_url, **routed("round_robin")) as h:
        out = await h.say("carol", "你好，数据库连不上", chat="-100200")  # Globex: auto intake
        assert out.opened and out.case_id is not None
        assert (await h.case(out.case_id))["assignee"] is None


async def test_a_category_route_wins_over_the_accounts(db_url: str) -> None:
    setup = {
        "routing": [
            {"account": "Acme", "policy": "round_robin", "people": [EVAN]},
            {"category": "billing", "policy": "round_robin", "people": [ERIN]},
        ],
        "intake": {"categories": [{"name": "billing", "keywords": ["invoice"]}]},
    }
    async with Harness(db_url, **setup) as h:
        case_id = await open_case(h, "our invoice is wrong")
        case = await h.case(case_id)
        assert case["assignee"] == h.key("1002")
        assert events(case, "assigned")[-1]["data"]["route"] == "category:billing"
        other = await open_case(h, "the VM is slow")
        assert (await h.case(other))["assignee"] == h.key("1001")
