"""Bad input at the bridge's door gets the status the contract names, and nothing
that was answered 202 (or kept with 422) is lost: bad and missing signatures, stale
timestamps, unknown bridges, unreadable bodies, huge texts, repeats, a locked
database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cases.delivery import Delivery
from storage import failed
from storage.models import MessageRow, ProcessedEvent
from tests.bridge.kit import ROOM, BridgeBox
from tests.chaos.kit import to_toml
from tests.chaos.test_sqlite_locked import hold_write_lock
from tests.fakes.bridge_peer import dumps, signed, stale


async def stored_messages(box: BridgeBox) -> int:
    async with box.app.sessions() as session:
        return int((await session.execute(select(func.count(MessageRow.id)))).scalar_one())


async def test_bad_missing_and_stale_signatures_get_401_and_store_nothing(box: BridgeBox) -> None:
    body = dumps(box.message("alice", "hello"))
    wrong = signed(body, secret="whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB")
    assert (await box.post(None, raw=body.encode(), headers=wrong))[0] == 401
    assert (await box.post(None, raw=body.encode(), headers={}))[0] == 401
    old = signed(body, at=stale(6 * 60))
    assert (await box.post(None, raw=body.encode(), headers=old))[0] == 401
    future = signed(body, at=stale(-6 * 60))
    assert (await box.post(None, raw=body.encode(), headers=future))[0] == 401
    tampered = signed(body)
    assert (await box.post(None, raw=body.replace("hello", "HELLO").encode(), headers=tampered))[
        0
    ] == 401
    garbled = {**signed(body), "webhook-signature": "v1"}
    assert (await box.post(None, raw=body.encode(), headers=garbled))[0] == 401
    assert await stored_messages(box) == 0
    # within five minutes is fine
    assert (await box.post(None, raw=body.encode(), headers=signed(body, at=stale(240))))[0] == 202
    assert await stored_messages(box) == 1


async def test_unknown_bridge_is_404(box: BridgeBox) -> None:
    status, _ = await box.post(box.message("alice", "hello"), bridge="nosuch")
    assert status == 404


async def test_unreadable_bodies_get_422_and_are_kept_for_casebot_failed(
    box: BridgeBox, tmp_path: Path
) -> None:
    not_json = b"{this is not json"
    assert (await box.post(None, raw=not_json))[0] == 422
    no_chat = box.message("alice", "hello")
    del no_chat["chat"]
    status, answer = await box.post(no_chat)
    assert status == 422 and "chat" in answer["error"]
    wrong_spec = {**box.message("alice", "hello"), "spec": "other/v9"}
    assert (await box.post(wrong_spec))[0] == 422
    long_id = box.message("alice", "hello")
    long_id["message"]["id"] = "x" * 65
    assert (await box.post(long_id))[0] == 422
    async with box.app.sessions() as session:
        kept = await failed.pending(session)
    assert [r.kind for r in kept] == ["unreadable"] * 4
    assert not_json.decode() in kept[0].payload["text"]
    assert kept[1].event_id == no_chat["id"]
    config = tmp_path / "casebot.toml"
    config.write_text(to_toml(box.raw), encoding="utf-8")
    casebot = Path(sys.executable).with_name("casebot")
    listing = subprocess.run(  # noqa: ASYNC221 - the CLI as a user runs it
        [str(casebot), "failed", "--config", str(config)], capture_output=True, text=True
    )
    assert listing.returncode == 0, listing.stderr
    assert "4 inbound event(s)" in listing.stdout and "not JSON" in listing.stdout
    retry = subprocess.run(  # noqa: ASYNC221
        [str(casebot), "failed", "--config", str(config), "--retry"],
        capture_output=True,
        text=True,
    )
    assert retry.returncode == 0 and "4 unreadable" in retry.stdout, retry.stdout


async def test_a_repeated_event_is_202_and_stored_once(box: BridgeBox) -> None:
    body = box.message("alice", "is anyone there?", event_id="same-id")
    assert (await box.post(body))[0] == 202
    status, answer = await box.post(body)
    assert status == 202 and answer["duplicate"] is True
    async with box.app.sessions() as session:
        keys = (await session.execute(select(ProcessedEvent.event_id))).scalars().all()
    assert list(keys).count("same-id") == 1
    assert await stored_messages(box) == 1


async def test_huge_text_is_stored_whole_and_trimmed_on_send(box: BridgeBox) -> None:
    text = "word " * 40_000  # 200 000 characters
    assert (await box.say("alice", text, message_id="m-huge"))[0] == 202
    async with box.app.sessions() as session:
        stored = (await session.execute(select(MessageRow.text))).scalar_one()
    assert stored == text
    adapter = box.app.adapters["wecom"]
    delivery = Delivery(
        id=99, kind="send", platform="wecom", chat=ROOM, purpose="reply", payload={"text": text}
    )
    receipt = await adapter.deliver(delivery)
    sent = box.peer.sent(chat=ROOM)[-1]
    assert len(sent["text"]) == 4000 and sent["text"].endswith("…")
    assert receipt.message_id and "trimmed" in receipt.notes


@pytest.mark.slow
async def test_a_locked_database_gets_503_and_the_retry_is_stored(
    make_box: object, tmp_path: Path, sqlite_url: str
) -> None:
    box: BridgeBox = await make_box()  # type: ignore[operator]
    path = Path(sqlite_url.removeprefix("sqlite+aiosqlite:///"))
    body = box.message("alice", "are you there?")
    # SQLite waits out a lock inline (busy_timeout), so the dispatcher and the search
    # indexer may each wait first: hold it until the answer came, however long
    holder = await hold_write_lock(path, 120.0)
    status, _ = await box.post(body)
    assert status == 503
    holder.kill()
    await holder.wait()
    status, _ = await box.post(body)
    assert status == 202
    assert await stored_messages(box) == 1
    assert json.loads(dumps(body))["id"]
