"""Each Feishu event casebot reads, through the real App and the fake Open API:
mentions (`@_user_N`, the bot's mention as a command), post content, reactions,
recalls, the bot added to a group, and a card button answered in its own callback."""

from __future__ import annotations

import json
from typing import Any

from adapters.base import Delivery
from adapters.feishu_send import TEXT_LIMIT
from storage.queries import get_case
from tests.fakes.feishu_api import BOT_OPEN_ID
from tests.feishu.kit import ACME, ALICE, ERIN, EVAN, TRIAGE, FeishuBox


def mention(n: int, open_id: str, name: str) -> dict[str, Any]:
    return {
        "key": f"@_user_{n}",
        "id": {"open_id": open_id, "union_id": "", "user_id": ""},
        "name": name,
        "tenant_key": "",
    }


async def case(box: FeishuBox, case_id: int) -> dict[str, Any] | None:
    async with box.app.sessions() as session:
        return await get_case(session, case_id)


async def test_a_mention_of_the_bot_is_a_command_and_people_are_named(box: FeishuBox) -> None:
    await box.say(ALICE, ACME, "login page is blank")
    first = box.last_message_id
    status, _ = await box.say(
        EVAN,
        ACME,
        "@_user_1 case Blank login",
        parent=first,
        mentions=[mention(1, BOT_OPEN_ID, "casebot")],
    )
    assert status == 200
    found = await case(box, 1)
    assert found is not None and found["title"] == "Blank login"
    # /assign with a person picked from Feishu's @ list (by open_id: the name shown is
    # no username casebot knows), in a thread reply
    status, _ = await box.say(
        EVAN,
        ACME,
        "@_user_1 assign @_user_2",
        parent=first,
        thread_root=first,
        mentions=[mention(1, BOT_OPEN_ID, "casebot"), mention(2, ERIN, "陈二 Chen")],
    )
    assert status == 200
    found = await case(box, 1)
    assert found is not None and found["assignee"] == f"feishu:{ERIN}"


async def test_post_content_is_read_as_text(box: FeishuBox) -> None:
    post = [
        [
            {"tag": "text", "text": "export fails: "},
            {"tag": "a", "text": "log", "href": "https://x"},
        ],
        [{"tag": "img", "image_key": "img_v2_1"}],
    ]
    await box.say(ALICE, ACME, "", post=post)
    first = box.last_message_id
    await box.say(EVAN, ACME, "/case", parent=first)
    found = await case(box, 1)
    assert found is not None
    assert found["messages"][0]["text"] == "export fails: log"


async def test_a_staff_reaction_opens_a_case_and_a_recall_is_noted(box: FeishuBox) -> None:
    await box.say(ALICE, ACME, "billing is wrong")
    first = box.last_message_id
    status, _ = await box.post(box.feishu.reaction(EVAN, first, "Pin"))
    assert status == 200
    assert (await case(box, 1)) is not None
    status, _ = await box.post(box.feishu.recalled(ACME, first))
    assert status == 200
    found = await case(box, 1)
    assert found is not None and "message_deleted" in [e["type"] for e in found["events"]]


async def test_the_bot_added_to_a_group_is_told_to_triage(box: FeishuBox) -> None:
    status, _ = await box.post(box.feishu.bot_added("oc_new", "New customer group"))
    assert status == 200
    api = box.api
    await api.wait_for(lambda: any("oc_new" in t for t in api.texts(TRIAGE)))


async def test_take_on_the_triage_card_is_answered_in_the_callback(box: FeishuBox) -> None:
    await box.say(ALICE, ACME, "VPN drops")
    await box.say(EVAN, ACME, "/case", parent=box.last_message_id)
    api = box.api
    await api.wait_for(lambda: bool(api.in_chat(TRIAGE)))
    card = api.in_chat(TRIAGE)[0]
    take = next(b["value"] for b in card["buttons"] if b["value"].startswith("take:"))
    status, answer = await box.post(box.feishu.press(ERIN, TRIAGE, card["message_id"], take))
    assert status == 200
    assert answer["toast"]["content"]
    updated = answer["card"]["data"]
    assert "erin" in str(updated).lower()
    found = await case(box, 1)
    assert found is not None and found["assignee"] == f"feishu:{ERIN}"
    # the outbox edits the card in place too (PATCH), and the answer row sends nothing
    await box.drained()
    assert card["message_id"] in [e["message_id"] for e in api.edits]


async def test_429_is_honoured_and_a_stale_token_fetched_again(make_box: Any) -> None:
    box = await make_box(feishu={"rate_per_chat": 1000.0})
    api = box.api
    api.fail_next(429, 99991400, **{"x-ogw-ratelimit-reset": "0.2"})
    await box.say(ALICE, ACME, "first")
    await box.say(EVAN, ACME, "/case", parent=box.last_message_id)
    await api.wait_for(lambda: any("#1" in t for t in api.texts(ACME)))
    api.revoke_tokens()  # a token gone stale early is fetched again
    await box.say(EVAN, ACME, "/resolve", parent=box.last_message_id)
    await box.drained()
    assert api.tokens_issued >= 2
    rows = await box.outbox()
    assert {r.status for r in rows} <= {"sent", "skipped"}
    assert rows[0].attempts >= 1  # the ack waited out the 429, then went


async def test_long_text_is_split_at_feishus_limit_and_nothing_is_lost(box: FeishuBox) -> None:
    long = "\n".join(f"第{i}行 日志 {'x' * 40}" for i in range(4000))  # ~250 KB
    adapter = box.app.adapters["feishu"]
    row = Delivery(
        id=999, kind="send", platform="feishu", chat=ACME, purpose="reply", payload={"text": long}
    )
    receipt = await adapter.deliver(row)
    parts = box.api.in_chat(ACME)
    assert len(parts) >= 2 and receipt.notes == ("split",)
    assert "".join(p["text"] for p in parts) == long
    assert all(len(json.dumps(p["text"]).encode()) <= TEXT_LIMIT for p in parts)
    # the same row again (a retry after a crash): Feishu drops each part by its uuid
    await adapter.deliver(row)
    assert len(box.api.in_chat(ACME)) == len(parts)
