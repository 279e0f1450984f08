"""Staff actions from outside chat (`Engine.act`) keep the chat's rules: a follow-up
owner must be staff, a no-op is refused with its reason instead of "done", and a
reply, a finished follow-up, a move or a merge do what the chat would."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cases.context import ActionConflict, ActionRejected
from cases.model import ActionKind, Actor, StaffAction
from tests.engine.kit import (
    act,
    events,
    followups,
    mark,
    open_case,
    rows_after,
    status_changes,
)
from tests.harness import ACME, GLOBEX, TRIAGE, Harness

LENA = Actor("telegram", "2001", "Lena", "lena")


def action(h: Harness, kind: ActionKind, case_id: int = 1, **fields: object) -> StaffAction:
    return StaffAction(kind, case_id, LENA, h.clock.now(), **fields)  # type: ignore[arg-type]


async def test_a_follow_up_owner_must_be_staff(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        for owner in ("telegram:5001", "telegram:999999", "garbage"):
            followup = action(
                h, ActionKind.FOLLOWUP, value="call", owner=owner, due_in=timedelta(days=1)
            )
            with pytest.raises(ActionRejected, match="not on the team"):
                await act(h, followup)
        assert await followups(h) == []
        await act(
            h,
            action(
                h,
                ActionKind.FOLLOWUP,
                value="call",
                owner="telegram:1002",
                due_in=timedelta(days=1),
            ),
        )
        assert [f.owner for f in await followups(h)] == ["telegram:1002"]


async def test_an_action_that_changes_nothing_is_refused_with_the_reason(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await act(h, action(h, ActionKind.ASSIGN, value="telegram:1001"))
        await act(h, action(h, ActionKind.STATUS, value="resolved"))
        before = await h.case(1)
        since = await mark(h)
        refusals = [
            (action(h, ActionKind.STATUS, value="resolved"), "Case #1 is already resolved."),
            (action(h, ActionKind.ASSIGN, value="telegram:1001"), "already with Evan"),
            (action(h, ActionKind.PRIORITY, value="P3"), "Case #1 is already P3."),
            (action(h, ActionKind.STATUS, value="on_hold"), "reopen it first"),
        ]
        for refused, reason in refusals:
            with pytest.raises(ActionConflict, match=reason):
                await act(h, refused)
        assert await rows_after(h, since) == []
        assert (await h.case(1))["events"] == before["events"]
        await act(h, action(h, ActionKind.STATUS, value="open"))
        with pytest.raises(ActionConflict, match="already open"):
            await act(h, action(h, ActionKind.STATUS, value="open"))
        # chat keeps its manners: a second /resolve is answered, a second Take is quiet
        await h.say("evan", "/resolve #1", chat=TRIAGE)
        await h.sent()
        await h.say("evan", "/resolve #1", chat=TRIAGE)
        assert await h.sent(TRIAGE) == ["Case #1 is already resolved."]


async def test_a_reply_from_the_web_is_a_staff_reply_in_the_chat(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.say("lena", "I'll take the VM one", chat=TRIAGE)  # her name as Telegram has it
        h.clock.advance(timedelta(minutes=10))
        since = await mark(h)
        outcome = await act(h, action(h, ActionKind.REPLY, value="Rebooting vm-3 now."))
        rows = await rows_after(h, since)
        [sent] = [r for r in rows if r.purpose == "staff_reply"]
        assert (sent.kind, sent.chat, sent.case_id) == ("send", ACME, 1)
        assert sent.payload["text"] == "Lena (#1): Rebooting vm-3 now."
        assert sent.payload["reply_to"] == "1"  # the case's first message
        assert {r.purpose for r in rows} >= {"card", "board"}
        case = await h.case(1)
        [reply] = [m for m in case["messages"] if m["text"] == "Rebooting vm-3 now."]
        assert (reply["role"], reply["sender"], reply["internal"]) == (
            "staff",
            "telegram:2001",
            False,
        )
        assert reply["id"] == outcome.message_id
        assert case["first_response_at"] == h.clock.now().isoformat().replace("+00:00", "Z")
        assert status_changes(case)[-1] == ("new", "waiting_on_customer", "staff_reply")
        assert [e["data"]["via"] for e in events(case, "staff_reply")] == ["web"]
        assert [e["type"] for e in events(case, "sla_met")] == ["sla_met"]

        await act(h, action(h, ActionKind.STATUS, value="resolved"))
        with pytest.raises(ActionConflict, match="reopen it before replying"):
            await act(h, action(h, ActionKind.REPLY, value="one more thing"))
        with pytest.raises(ActionRejected, match="needs text"):
            await act(h, action(h, ActionKind.REPLY, value="  "))


async def test_follow_up_done_move_and_merge_from_the_web(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h, "VM down")
        await open_case(h, "VM still down", who="bob")
        await h.say("carol", "数据库超时", chat=GLOBEX)
        await act(
            h,
            action(h, ActionKind.FOLLOWUP, value="call", due_in=timedelta(days=1)),
        )
        [pending] = await followups(h)
        await act(h, action(h, ActionKind.FOLLOWUP_DONE, target=pending.id))
        assert (await followups(h))[0].done_at is not None
        with pytest.raises(ActionConflict, match="already done"):
            await act(h, action(h, ActionKind.FOLLOWUP_DONE, target=pending.id))
        with pytest.raises(ActionRejected, match="no follow-up 99"):
            await act(h, action(h, ActionKind.FOLLOWUP_DONE, target=99))

        first = (await h.case(1))["messages"][0]
        await act(h, action(h, ActionKind.MOVE, target=first["id"], into=2))
        assert "VM down" in [m["text"] for m in (await h.case(2))["messages"]]
        with pytest.raises(ActionRejected, match="no message"):
            await act(h, action(h, ActionKind.MOVE, target=first["id"], into=2))
        bob_first = (await h.case(2))["messages"][0]
        with pytest.raises(ActionConflict, match="another chat"):
            await act(h, action(h, ActionKind.MOVE, case_id=2, target=bob_first["id"], into=3))

        with pytest.raises(ActionConflict, match="different customers"):
            await act(h, action(h, ActionKind.MERGE, into=3))
        with pytest.raises(ActionConflict, match="into itself"):
            await act(h, action(h, ActionKind.MERGE, into=1))
        await act(h, action(h, ActionKind.MERGE, into=2))
        merged = await h.case(1)
        assert merged["status"] == "closed" and merged["merged_into"] == 2
        assert [e["data"] for e in events(await h.case(2), "merged_from")] == [{"from": 1}]
