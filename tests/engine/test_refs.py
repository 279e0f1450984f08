"""Every bot message about a case names it as `#N`: replies, acknowledgements, cards,
boards, CSAT prompts, triage notes and topics, through a whole case life."""

from __future__ import annotations

from datetime import timedelta

from tests.engine.kit import open_case
from tests.harness import GLOBEX, TRIAGE, Harness, base_config

# kinds that carry no text of their own
TEXTLESS = {"answer", "topic_close", "topic_reopen", "pin"}


async def test_every_text_about_a_case_names_it(db_url: str) -> None:
    raw = base_config()
    raw["accounts"][0]["topics"] = "per_case"
    async with Harness(db_url, accounts=raw["accounts"]) as h:
        await open_case(h, "VM down", who="alice")
        await open_case(h, "billing", who="bob")
        await h.say("alice", "more detail", reply_to="1")
        script = [
            ("evan", "/assign #1 me"),
            ("evan", "/assign #2 @erin"),
            ("evan", "/priority #1 P1"),
            ("evan", "/followup #1 2d @erin call back"),
            ("erin", "/done #1"),
            ("evan", "/note #1 internal remark"),
            ("evan", "/hold #2"),
            ("evan", "/status #1"),
            ("evan", "/resolve #1"),
            ("evan", "/resolve #1"),
            ("evan", "/reopen #1"),
            ("evan", "/reopen #1"),
        ]
        for who, text in script:
            await h.say(who, text)
        await h.say("evan", "/move #2", reply_to="5")
        await h.say("evan", "/merge #1", reply_to="3")
        await h.say("carol", "数据库超时", chat=GLOBEX)
        await h.say("evan", "/resolve", chat=GLOBEX, advance=timedelta(minutes=1))
        await h.say("lena", "/note #3 看一下", chat=TRIAGE)

        rows = await h.outbox()
        purposes = {r.purpose for r in rows}
        assert {"ack", "card", "board", "topic", "reply", "csat", "note", "status"} <= purposes
        for row in rows:
            text = row.payload.get("text", "")
            if row.kind in TEXTLESS:
                continue
            if row.case_id is not None:
                assert f"#{row.case_id}" in text, (row.purpose, text)
            elif row.purpose == "board":
                # a board names each open case it lists
                assert "#" in text or "no open cases" in text or "没有未结工单" in text
            else:
                assert "#" in text, (row.purpose, text)
