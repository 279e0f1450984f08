"""What `POST /feishu/events` accepts before anything is stored: the url_verification
challenge (plain or encrypted), and events only with a good signature and token; a bad
signature is 401 with nothing stored."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from storage.models import FailedEvent, MessageRow
from tests.fakes.feishu_api import Injector
from tests.feishu.kit import ACME, ALICE, FeishuBox


async def stored(box: FeishuBox) -> int:
    async with box.app.sessions() as session:
        return int((await session.execute(select(func.count(MessageRow.id)))).scalar_one())


async def test_url_verification_is_answered_plain_and_encrypted(box: FeishuBox) -> None:
    for encrypted in (False, True):
        body = box.feishu.challenge("ch-42", encrypted=encrypted)
        status, answer = await box.post_raw(body, {"content-type": "application/json"})
        assert (status, answer) == (200, {"challenge": "ch-42"})


async def test_a_challenge_with_the_wrong_token_is_refused(box: FeishuBox) -> None:
    body = Injector(token="not-ours").challenge("ch-1", encrypted=False)
    status, answer = await box.post_raw(body, {"content-type": "application/json"})
    assert status == 401 and "challenge" not in answer


async def test_a_bad_signature_is_401_and_nothing_is_stored(box: FeishuBox) -> None:
    event = box.feishu.message(ALICE, ACME, "hello")
    body, headers = box.feishu.seal(event, sign_with="another-key")
    assert (await box.post_raw(body, headers))[0] == 401
    # a body changed after signing
    body, headers = box.feishu.seal(event)
    assert (await box.post_raw(body.replace(b'"}', b' "}'), headers))[0] == 401
    # no signature at all
    body, headers = box.feishu.seal(event)
    unsigned = {k: v for k, v in headers.items() if k != "X-Lark-Signature"}
    assert (await box.post_raw(body, unsigned))[0] == 401
    assert await stored(box) == 0
    # the same event, signed as Feishu signs it, is taken
    assert (await box.post(event))[0] == 200
    assert await stored(box) == 1


async def test_the_wrong_verification_token_or_key_is_refused(box: FeishuBox) -> None:
    wrong_token = Injector(token="not-ours")
    assert (await box.post_raw(*wrong_token.seal(wrong_token.message(ALICE, ACME, "x"))))[0] == 401
    wrong_key = Injector(encrypt_key="not-our-key")
    assert (await box.post_raw(*wrong_key.seal(wrong_key.message(ALICE, ACME, "x"))))[0] == 401
    assert await stored(box) == 0


async def test_a_repeated_event_or_message_is_stored_once(box: FeishuBox) -> None:
    event = box.feishu.message(ALICE, ACME, "hello", message_id="om_once")
    assert (await box.post(event))[0] == 200
    assert (await box.post(event))[0] == 200  # Feishu's retry: the same event_id
    again = box.feishu.message(ALICE, ACME, "hello", message_id="om_once")
    assert again["header"]["event_id"] != event["header"]["event_id"]
    assert (await box.post(again))[0] == 200  # the same message under a new event_id
    assert await stored(box) == 1


async def test_an_unreadable_event_is_kept_as_failed_and_answered(box: FeishuBox) -> None:
    event = box.feishu.message(ALICE, ACME, "hello")
    event["event"]["message"]["content"] = "{not json"
    assert (await box.post(event))[0] == 200  # Feishu must not send it for hours
    async with box.app.sessions() as session:
        rows = list((await session.execute(select(FailedEvent))).scalars())
    assert [(r.platform, r.chat) for r in rows] == [("feishu", f"feishu:{ACME}")]
    assert "test-verification-token" not in rows[0].error
    assert "content" in rows[0].error and json.dumps(rows[0].payload)


async def test_a_schema_1_event_is_kept_by_its_uuid_saying_what_to_subscribe(
    box: FeishuBox,
) -> None:
    # an app subscribed to the old (1.0) version of an event gets Feishu's v1 envelope:
    # no header, the id in `uuid`, the type in `event.type`
    legacy = {
        "uuid": "v1-uuid-1",
        "ts": "1700000000.0",
        "token": "test-verification-token",
        "type": "event_callback",
        "event": {"type": "message", "open_chat_id": ACME, "open_id": ALICE, "text": "hi"},
    }
    assert (await box.post(legacy))[0] == 200
    assert (await box.post(legacy))[0] == 200  # Feishu's repeat
    async with box.app.sessions() as session:
        rows = list((await session.execute(select(FailedEvent))).scalars())
    assert {r.event_id for r in rows} == {"v1-uuid-1"}
    assert "schema 2.0" in rows[0].error and "im.message.receive_v1" in rows[0].error
    assert await stored(box) == 0
