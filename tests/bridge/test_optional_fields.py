"""Events a real bridge may send that are within the contract: RFC 3339 times in any
of their spellings, and optional fields sent as null rather than left out."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from storage.models import MessageRow
from tests.bridge.kit import BridgeBox
from tests.fakes.bridge_peer import check


async def test_rfc_3339_times_with_lowercase_t_and_z_are_read(box: BridgeBox) -> None:
    body = box.message("alice", "the VPN drops every hour")
    body["occurred_at"] = "2026-03-02t09:00:00z"  # RFC 3339 allows either case
    status, answer = await box.post(body)
    assert status == 202, answer
    async with box.app.sessions() as session:
        at = (await session.execute(select(MessageRow.at))).scalar_one()
    assert at.replace(tzinfo=UTC) == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def test_optional_fields_sent_as_null_mean_their_default(box: BridgeBox) -> None:
    # a bridge that serialises every field, null when unset, as casebot's commands do
    body = box.message("alice", "printing is slow")
    body["chat"].update(kind=None, title=None)
    body["actor"].update(name=None, is_bot=None)
    body["message"]["attachments"] = None
    check("event", body)
    status, answer = await box.post(body)
    assert status == 202, answer
    async with box.app.sessions() as session:
        texts = (await session.execute(select(MessageRow.text))).scalars().all()
    assert texts == ["printing is slow"]
