"""Case fields and tags from chat: /tag, /untag, /field, checked by their [[fields]]
declaration, audited, shown on the triage card, and required before /resolve."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.kit import events, open_case
from tests.harness import ACME, TRIAGE, Harness

pytestmark = pytest.mark.usefixtures("platform")

FIELDS: list[dict[str, Any]] = [
    {"name": "instance", "type": "pattern", "pattern": "i-[0-9a-f]+", "required": True},
    {"name": "region", "type": "choice", "choices": ["eu-west", "cn-north"]},
    {"name": "seats", "type": "number", "accounts": ["Globex"]},
]


async def test_tag_and_untag_are_audited_and_on_the_card(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.sent()
        await h.say("evan", "/tag billing Urgent")
        case = await h.case(1)
        assert case["tags"] == ["billing", "urgent"]
        # the desk's own words about a case: confirmed in triage, not to the customer
        told = h.texts.render("tags_set", "en", ref="#1", tags="#billing #urgent")
        assert [r.chat for r in await h.outbox() if r.payload["text"] == told] == [TRIAGE]
        await h.say("evan", "/untag urgent")
        case = await h.case(1)
        assert case["tags"] == ["billing"]
        assert [e["data"]["tags"] for e in events(case, "tagged")] == [["billing", "urgent"]]
        assert [e["data"]["tags"] for e in events(case, "untagged")] == [["urgent"]]
        assert events(case, "untagged")[0]["actor"] == h.key("1001")
        cards = await h.sent(chat=TRIAGE, purpose="card")
        assert cards and cards[-1].endswith("#billing")


async def test_a_customer_cannot_tag(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        await h.sent()
        await h.say("alice", "/tag vip")
        assert (await h.case(1))["tags"] == []
        assert await h.sent(chat=ACME) == [
            h.texts.render("refused_staff_only", "en", command="tag")
        ]


async def test_field_checks_its_declaration(db_url: str) -> None:
    async with Harness(db_url, fields=FIELDS) as h:
        await open_case(h)
        await h.sent()
        await h.say("evan", "/field instance vm-7")
        hint = h.texts.render("field_hint_pattern", "en")
        assert await h.sent(chat=ACME) == [
            h.texts.render("field_invalid", "en", field="instance", hint=hint)
        ]
        await h.say("evan", "/field instance i-7f3")
        await h.say("evan", "/field region CN-NORTH")
        await h.say("evan", "/field note free text is kept")
        case = await h.case(1)
        assert case["fields"] == {
            "instance": "i-7f3",
            "region": "cn-north",
            "note": "free text is kept",
        }
        set_ = events(case, "field_set")
        assert set_[0]["data"] == {"field": "instance", "from": None, "to": "i-7f3", "via": "chat"}
        await h.say("evan", "/field note")
        assert "note" not in (await h.case(1))["fields"]
        card = (await h.sent(chat=TRIAGE, purpose="card"))[-1]
        assert "instance: i-7f3" in card and "region: cn-north" in card


async def test_resolve_refuses_until_required_fields_are_set(db_url: str) -> None:
    async with Harness(db_url, fields=FIELDS) as h:
        await open_case(h)
        await h.sent()
        await h.say("evan", "/resolve")
        assert (await h.case(1))["status"] != "resolved"
        assert await h.sent(chat=ACME) == [
            h.texts.render("resolve_fields_missing", "en", ref="#1", fields="instance")
        ]
        await h.say("evan", "/field instance i-1")
        await h.say("evan", "/resolve")
        assert (await h.case(1))["status"] == "resolved"


async def test_a_field_declared_for_another_account_is_free_text_here(db_url: str) -> None:
    # `seats` is a number for Globex only: Acme's desk may write what it likes there
    async with Harness(db_url, fields=FIELDS) as h:
        await open_case(h)
        await h.say("evan", "/field seats about ten")
        assert (await h.case(1))["fields"] == {"seats": "about ten"}
        await h.say("evan", "/field seats #1 twelve or so", chat=TRIAGE)
        assert (await h.case(1))["fields"] == {"seats": "twelve or so"}


async def test_full_width_spaces_and_signs_from_a_chinese_keyboard(db_url: str) -> None:
    async with Harness(db_url, fields=FIELDS) as h:
        await open_case(h)
        await h.say("evan", "/field instance\u3000i-7f3")
        await h.say("evan", "/field ｒｅｇｉｏｎ ｃｎ－ｎｏｒｔｈ")
        await h.say("evan", "/tag ＃vip，billing")
        case = await h.case(1)
        assert case["fields"] == {"instance": "i-7f3", "region": "cn-north"}
        assert case["tags"] == ["vip", "billing"]
