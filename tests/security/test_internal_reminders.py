"""Follow-up reminders carry internal text, so only staff ever own one or hear one: a
customer named as owner in chat is refused (the rule the API applies), and a follow-up
whose owner is no longer staff reminds the triage chat instead of the person."""

from __future__ import annotations

from sqlalchemy import select

from bot.config import parse_config
from bot.wiring import account_specs, staff_roles
from cases.model import Actor, ChatKey, Inbound, InboundKind
from storage.directory import sync_directory
from storage.models import FollowUp
from tests.engine.kit import message
from tests.harness import ACME, TRIAGE
from tests.sla.kit import SlaHarness, accounts

INTERNAL = "refund approved internally"


async def _sync_staff(h: SlaHarness) -> None:
    """What the next start does with a changed staff list."""
    config = parse_config(h.raw, env={})
    async with h.sessions() as session, session.begin():
        await sync_directory(
            session,
            account_specs(config),
            staff_roles(config),
            config.staff.names,
            h.engine.settings.triage_chat,
            h.clock.now(),
        )


async def test_a_customer_cannot_be_made_owner_in_chat(db_url: str) -> None:
    async with SlaHarness(db_url) as h:
        case_id = await h.open_case()
        for chat in (TRIAGE, ACME):
            await h.say("evan", f"/followup #{case_id} 2s @alice {INTERNAL}", chat=chat)
            assert await h.sent() == [h.texts.render("person_unknown", "en", name="@alice")]
            kept = await message(h, h.last_message_id, chat=chat)
            assert INTERNAL in kept["text"], "the staff message stays in the transcript"
        assert await h.followup_rows() == []
        h.clock.advance(minutes=5)
        await h.tick()
        assert [n for n in await h.nudges() if INTERNAL in n["text"]] == []


async def test_an_owner_no_longer_staff_is_not_reminded(db_url: str) -> None:
    async with SlaHarness(db_url, accounts=accounts()) as h:
        case_id = await h.open_case()
        await h.say("evan", f"/followup #{case_id} 2h @erin {INTERNAL}", chat=TRIAGE)
        [row] = await h.followup_rows()
        assert row.owner == "telegram:1002"
        # Erin leaves the team: the config without her is synced at the next start
        h.raw["staff"]["engineers"] = ["telegram:1001"]
        h.raw["accounts"][0]["backup"] = "telegram:1001"
        await _sync_staff(h)
        async with h.sessions() as session:
            owner = (await session.execute(select(FollowUp.owner))).scalar_one()
        assert owner == "telegram:1002"
        await h.nudges()
        h.clock.advance(hours=2, minutes=1)
        await h.tick()
        sent = [n for n in await h.nudges() if INTERNAL in n["text"]]
        assert [(n["kind"], n["chat"], n["person"]) for n in sent] == [("send", TRIAGE, None)]
        h.clock.advance(hours=1)
        await h.tick()
        sent = [n for n in await h.nudges() if INTERNAL in n["text"]]
        assert [n["person"] for n in sent] == ["telegram:2001"], "the lead still hears it"


async def test_a_staff_username_a_customer_also_has_names_the_staff_member(
    db_url: str,
) -> None:
    async with SlaHarness(db_url) as h:
        case_id = await h.open_case()
        # a customer seen with a username first; then an engineer who has it now joins
        await h.push(
            Inbound(
                InboundKind.MESSAGE,
                "stale-username",
                ChatKey("telegram", ACME),
                h.clock.now(),
                Actor("telegram", "5009", "Mallory", "newbie"),
                message_id="stale-1",
                text="hello",
            )
        )
        h.raw["staff"]["engineers"].append("telegram:1003")
        h.raw["staff"]["names"]["telegram:1003"] = "@newbie"
        await _sync_staff(h)
        await h.say("evan", f"/followup #{case_id} 2h @newbie {INTERNAL}", chat=TRIAGE)
        await h.say("evan", f"/assign #{case_id} @newbie", chat=TRIAGE)
        assert [row.owner for row in await h.followup_rows()] == ["telegram:1003"]
        assert (await h.case(case_id))["assignee"] == "telegram:1003"
