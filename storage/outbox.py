"""The outbox on the storage side: writing rows, claiming due ones, recording results.

Imports SQLAlchemy and `cases`. This is the one place that knows a row's payload
layout: `outbox_values` writes an `Outbound`, `to_delivery` reads it back typed.
Claims are leases (`claimed_until`) taken with `FOR UPDATE SKIP LOCKED` on PostgreSQL
(SQLite serialises writers anyway), so two processes never send the same row; a
crashed claimer's lease simply runs out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from cases.delivery import Delivery, Receipt
from cases.model import Button, Outbound
from storage.models import Anchor, CaseEvent, CaseRow, Chat, MessageRow, OutboxRow, Person

# the tables themselves: Core statements on them skip the ORM's bookkeeping on hot paths
ANCHORS = cast(Table, Anchor.__table__)
OUTBOX = cast(Table, OutboxRow.__table__)
MESSAGES = cast(Table, MessageRow.__table__)
EVENTS = cast(Table, CaseEvent.__table__)
CASES = cast(Table, CaseRow.__table__)
PEOPLE = cast(Table, Person.__table__)
CHATS = cast(Table, Chat.__table__)


def _many(name: str) -> Any:
    """An IN list's parameter: the statements of the dispatcher's hot path are built once
    (see `_hot`) and take their lists at execution."""
    return bindparam(name, expanding=True)


class _Hot:
    """The dispatcher's statements, built once. Building a statement and its cache key
    each time cost more than running it: a claim's statements were about 40 % of its
    time at 50 updates a second (py-spy), each send's record about as much."""

    def __init__(self) -> None:
        o = OUTBOX.c
        self.anchors = select(ANCHORS.c.key, ANCHORS.c.platform_message_id).where(
            ANCHORS.c.key.in_(_many("keys"))
        )
        self.threads = select(CASES.c.id, CASES.c.thread).where(CASES.c.id.in_(_many("ids")))
        self.direct = select(PEOPLE.c.key, PEOPLE.c.direct_chat).where(
            PEOPLE.c.key.in_(_many("keys"))
        )
        newer = OUTBOX.alias("newer")
        # an edit is needless once a newer version of its anchor is pending (it goes
        # instead) or sent (an older one retried after it would put stale text back); a
        # newer one that died (its own content refused) leaves the older to go, or a card
        # whose first post timed out would never be posted
        self.superseded = select(o.id).where(
            o.id.in_(_many("ids")),
            select(newer.c.id)
            .where(
                newer.c.anchor == o.anchor,
                newer.c.id > o.id,
                newer.c.status.in_(("pending", "sent")),
            )
            .exists(),
        )
        waiting = (
            select(o.platform, o.chat, func.count())
            .where(o.status == "pending", o.chat.in_(_many("chats")))
            .group_by(o.platform, o.chat)
        )
        self.waiting = {True: waiting, False: waiting.where(o.kind != "upsert")}
        self.skip = (
            update(OUTBOX)
            .where(o.id.in_(_many("ids")), o.status != "sent")
            .values(
                status="skipped",
                sent_at=bindparam("now"),
                platform_message_id=None,
                claimed_until=None,
                last_error="superseded",
                attempts=o.attempts + 1,
            )
        )
        self.lease = (
            update(OUTBOX).where(o.id.in_(_many("ids"))).values(claimed_until=bindparam("until"))
        )
        self.release = update(OUTBOX).where(o.id.in_(_many("ids"))).values(claimed_until=None)
        self.defer = (
            update(OUTBOX)
            .where(o.id == bindparam("row_id"))
            .values(claimed_until=None, next_attempt_at=bindparam("until"))
        )
        statuses = select(o.id, o.status).where(o.id.in_(_many("ids")))
        self.statuses = {
            False: statuses,
            True: statuses.order_by(o.id).with_for_update(),  # PostgreSQL: see mark_many_sent
        }
        self.sent = (
            update(OUTBOX)
            .where(o.id == bindparam("row_id"), o.status != "sent")
            .values(
                status="sent",
                sent_at=bindparam("now"),
                platform_message_id=bindparam("message_id"),
                claimed_until=None,
                last_error=bindparam("note"),
                attempts=o.attempts + 1,
            )
        )
        self.drop_anchors = delete(ANCHORS).where(ANCHORS.c.key.in_(_many("keys")))
        self.add_anchors = insert(ANCHORS)
        self.add_events = insert(EVENTS)
        self.add_messages = insert(MESSAGES)
        self.chats = select(CHATS.c.id, CHATS.c.kind, CHATS.c.platform, CHATS.c.chat).where(
            tuple_(CHATS.c.platform, CHATS.c.chat).in_(_many("chats"))
        )
        self.cases = select(CASES.c.id).where(CASES.c.id.in_(_many("ids")))
        failed = dict(attempts=o.attempts + 1, last_error=bindparam("error"), claimed_until=None)
        self.retry = (
            update(OUTBOX)
            .where(o.id == bindparam("row_id"))
            .values(**failed, next_attempt_at=bindparam("retry_at"))
        )
        self.dead = (
            update(OUTBOX).where(o.id == bindparam("row_id")).values(**failed, status="dead")
        )


HOT = _Hot()


@cache
def _claim_query(postgres: bool, exclude: bool, platforms: bool, after: bool) -> Any:
    """`claim_due`'s query for one combination of its options, built once."""
    # each chat's oldest pending message, in one pass: a per-row "is an older message
    # pending?" check over every due row (the turn-taking below ranks them all, not the
    # first `limit`) took seconds per claim at 50,000 pending rows on PostgreSQL
    older = aliased(OutboxRow)
    first_of_chat = (
        select(func.min(older.id))
        .where(older.status == "pending", older.kind != "upsert")
        .group_by(older.platform, older.chat)
    )
    now: Any = bindparam("now")
    free = (
        OutboxRow.status == "pending",
        OutboxRow.next_attempt_at <= now,
        or_(OutboxRow.claimed_until.is_(None), OutboxRow.claimed_until < now),
    )
    account = func.coalesce(CaseRow.account_id, 0)
    due = (
        select(
            OutboxRow.id,
            func.row_number()
            .over(
                partition_by=(OutboxRow.platform, OutboxRow.chat, account), order_by=OutboxRow.id
            )
            .label("turn"),
        )
        .outerjoin(CaseRow, CaseRow.id == OutboxRow.case_id)
        .where(*free, or_(OutboxRow.kind == "upsert", OutboxRow.id.in_(first_of_chat)))
    )
    if exclude:
        due = due.where(tuple_(OutboxRow.platform, OutboxRow.chat).not_in(_many("exclude")))
    if platforms:
        due = due.where(OutboxRow.platform.in_(_many("platforms")))
    if after:
        handed_out = or_(OutboxRow.claimed_until.is_not(None), OutboxRow.attempts > 0)
        due = due.where(or_(OutboxRow.id > bindparam("after"), handed_out))
    turns = due.subquery()
    query = (
        select(OutboxRow)
        .join(turns, turns.c.id == OutboxRow.id)
        # again on the row itself: PostgreSQL re-checks these on a row another claimer
        # has just leased and committed, where the ranking's snapshot still saw it free
        .where(*free)
        .order_by(turns.c.turn, OutboxRow.id)
        .limit(bindparam("limit"))
    )
    if postgres:
        query = query.with_for_update(skip_locked=True, of=OutboxRow)
    return query


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def outbox_values(action: Outbound, at: datetime) -> dict[str, Any]:
    payload: dict[str, Any] = {"text": action.text}
    if action.thread:
        payload["thread"] = action.thread
    if action.reply_to:
        payload["reply_to"] = action.reply_to
    if action.buttons:
        payload["buttons"] = [[[b.text, b.data] for b in row] for row in action.buttons]
    if action.person:
        payload["person"] = action.person
    if action.fallback_chat:
        payload["fallback_chat"] = action.fallback_chat
    if action.callback_id:
        payload["callback_id"] = action.callback_id
    if action.pin:
        payload["pin"] = True
    if action.extra:
        payload["extra"] = dict(action.extra)
    return {
        "created_at": at,
        "platform": action.platform,
        "chat": action.chat,
        "kind": action.kind.value,
        "purpose": action.purpose,
        "case_id": action.case_id,
        "anchor": action.anchor,
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": at,
    }


async def delivery_for(session: AsyncSession, row: OutboxRow) -> Delivery:
    """A claimed row as the adapter carries it out, with what it refers to looked up:
    the message an upsert edits, the direct chat a DM goes to, the card whose thread
    a triage message joins."""
    anchor = await anchor_message(session, row.anchor) if row.anchor else None
    thread = None
    thread_of = (row.payload.get("extra") or {}).get("thread_of")
    if thread_of and not row.payload.get("thread"):
        # a triage message about a case, into its card's reply thread once it exists
        thread = await anchor_message(session, str(thread_of))
    topic = await case_thread(session, row)
    direct = None
    person = row.payload.get("person")
    if row.kind == "dm" and person:
        direct = (
            await session.execute(select(Person.direct_chat).where(Person.key == str(person)))
        ).scalar_one_or_none()
    delivery = to_delivery(row, anchor, direct, thread or topic)
    # the case's first message is in the chat's main thread: no reply across threads
    return replace(delivery, reply_to=None) if topic else delivery


@dataclass
class Lookups:
    """What a claim's deliveries refer to, read for all its rows at once: the message
    each anchor names, each case's topic, each person's direct chat. Kept up to date
    by `learn` as sends of the claim are recorded, so a later row of the same chat sees
    what an earlier one made (a card's first message, then an edit of it)."""

    anchors: dict[str, str] = field(default_factory=dict)
    threads: dict[int, str | None] = field(default_factory=dict)
    direct: dict[str, str | None] = field(default_factory=dict)

    def learn(self, row: OutboxRow, receipt: Receipt) -> None:
        if row.anchor and receipt.message_id:
            self.anchors[row.anchor] = receipt.message_id
        if receipt.thread and row.case_id is not None:
            self.threads[row.case_id] = receipt.thread

    def delivery(self, row: OutboxRow) -> Delivery:
        """`delivery_for`, from what was read."""
        anchor = self.anchors.get(row.anchor) if row.anchor else None
        thread = None
        thread_of = (row.payload.get("extra") or {}).get("thread_of")
        if thread_of and not row.payload.get("thread"):
            thread = self.anchors.get(str(thread_of))
        topic = None
        if row.case_id is not None and _wants_case_thread(row):
            topic = self.threads.get(row.case_id)
        person = row.payload.get("person")
        direct = self.direct.get(str(person)) if row.kind == "dm" and person else None
        delivery = to_delivery(row, anchor, direct, thread or topic)
        return replace(delivery, reply_to=None) if topic else delivery


async def lookups_for(session: AsyncSession, rows: Sequence[OutboxRow]) -> Lookups:
    """Everything `Lookups.delivery` needs for these rows, in at most three queries."""
    keys = {r.anchor for r in rows if r.anchor}
    keys |= {
        str(t)
        for r in rows
        if (t := (r.payload.get("extra") or {}).get("thread_of")) and not r.payload.get("thread")
    }
    found = Lookups()
    if keys:
        anchors = await session.execute(HOT.anchors, {"keys": sorted(keys)})
        found.anchors = {k: m for k, m in anchors.all()}
    case_ids = {r.case_id for r in rows if r.case_id is not None and _wants_case_thread(r)}
    if case_ids:
        threads = await session.execute(HOT.threads, {"ids": sorted(case_ids)})
        found.threads = {i: t for i, t in threads.all()}
    people = {str(r.payload["person"]) for r in rows if r.kind == "dm" and r.payload.get("person")}
    if people:
        direct = await session.execute(HOT.direct, {"keys": sorted(people)})
        found.direct = {k: d for k, d in direct.all()}
    return found


async def superseded_rows(session: AsyncSession, rows: Sequence[OutboxRow]) -> set[int]:
    """The upserts among `rows` that a newer upsert of the same anchor, pending or sent,
    makes needless (`superseded`, for a whole claim in one query)."""
    ids = sorted(r.id for r in rows if r.kind == "upsert" and r.anchor)
    if not ids:
        return set()
    found = await session.execute(HOT.superseded, {"ids": ids})
    return set(found.scalars())


async def chats_waiting(
    session: AsyncSession,
    claimed: Mapping[tuple[str, str], Sequence[OutboxRow]],
    edits: bool = False,
) -> set[tuple[str, str]]:
    """The chats of a claim with a pending message it did not take: a chat's messages go
    out one at a time (`claim_due`), so its next is due once the one claimed is sent.
    With `edits`, a pending edit it did not take counts too: a claim cut short by its
    limit may have left some of a chat's edits, all of which were due at once."""
    taken = {key: sum(edits or r.kind != "upsert" for r in rows) for key, rows in claimed.items()}
    # by chat alone, the platform checked here: a (platform, chat) IN list of a claim's
    # 200 chats was tested row by row on PostgreSQL, 95 ms at 20,000 pending rows
    # (the claim itself took 55 ms) against 10 ms
    chats = sorted({chat for _, chat in taken})
    found = await session.execute(HOT.waiting[edits], {"chats": chats})
    return {
        (platform, chat)
        for platform, chat, pending in found.all()
        if (platform, chat) in taken and pending > taken[(platform, chat)]
    }


async def skip_superseded(session: AsyncSession, row_ids: Collection[int], now: datetime) -> None:
    """Settle needless upserts as `mark_sent(..., note="superseded", status="skipped")`
    does one by one."""
    if row_ids:
        await session.execute(HOT.skip, {"ids": sorted(row_ids), "now": now})


def _wants_case_thread(row: OutboxRow) -> bool:
    extra = row.payload.get("extra") or {}
    return (
        row.case_id is not None
        and not row.payload.get("thread")
        and bool(extra.get("case_thread"))
    )


def to_delivery(
    row: OutboxRow,
    anchor_message_id: str | None = None,
    direct_chat: str | None = None,
    thread: str | None = None,
) -> Delivery:
    """A claimed row as the adapter carries it out."""
    payload = dict(row.payload)
    buttons = tuple(
        tuple(Button(str(label), str(data)) for label, data in line)
        for line in payload.get("buttons") or ()
    )
    extra = payload.get("extra") or {}
    return Delivery(
        id=row.id,
        kind=row.kind,
        platform=row.platform,
        chat=row.chat,
        purpose=row.purpose,
        payload=payload,
        case_id=row.case_id,
        anchor=row.anchor,
        anchor_message_id=anchor_message_id,
        attempts=row.attempts,
        thread=payload.get("thread") or thread,
        reply_to=payload.get("reply_to"),
        buttons=buttons,
        pin=bool(payload.get("pin")),
        person=payload.get("person"),
        fallback_chat=payload.get("fallback_chat"),
        direct_chat=direct_chat,
        callback_id=payload.get("callback_id"),
        extra={str(k): str(v) for k, v in extra.items()},
    )


async def claim_due(
    session: AsyncSession,
    now: datetime,
    limit: int,
    lease: timedelta,
    exclude: Collection[tuple[str, str]] = (),
    platforms: Collection[str] | None = None,
    after: int = 0,
) -> list[OutboxRow]:
    """Lease up to `limit` due rows, taking turns between chats and, within a chat,
    between accounts: each chat's oldest row of each account first, then each one's
    second, and so on (rows of no case form one more turn-taker in each chat). Caller
    commits.

    A message is claimable only when no older message of its chat is still pending
    (messages of a chat go out in order); edits in place (cards, boards) always are.
    Chats in `exclude` (being sent to right now) are left alone entirely. Taking turns
    keeps one account's burst (a flood of cases, each with its triage card) from
    holding back every other account's cards in the shared triage chat, and a backlog in
    the customer chats (each case's acknowledgement and board) from holding back the
    triage chat. `platforms`
    limits the claim to those platforms; `after` leaves out rows up to that id that
    were never handed out (a puller's cursor; one handed out and not settled, its lease
    run out or its attempt failed, is due again)."""
    query = _claim_query(_postgres(session), bool(exclude), platforms is not None, bool(after))
    params: dict[str, Any] = {"now": now, "limit": limit}
    if exclude:
        params["exclude"] = sorted(exclude)
    if platforms is not None:
        params["platforms"] = sorted(platforms)
    if after:
        params["after"] = after
    rows = list((await session.execute(query, params)).scalars())
    if rows:
        until = now + lease
        await session.execute(HOT.lease, {"ids": [r.id for r in rows], "until": until})
        for row in rows:
            # as stored: set plainly, the ORM would write every row once more at commit
            set_committed_value(row, "claimed_until", until)
    return rows


async def record_sent(
    session: AsyncSession, row: OutboxRow, receipt: Receipt, now: datetime
) -> None:
    """Record a done delivery and what follows from it: the anchor of an edited-in-place
    message, a case's new topic, the bot's message in the transcript, the receipt's
    notes on the case. Writes nothing twice when the row was recorded already."""
    await record_many(session, [(row, receipt)], now)


async def record_many(
    session: AsyncSession, items: Sequence[tuple[OutboxRow, Receipt]], now: datetime
) -> None:
    """`record_sent` for many done deliveries (of different chats) in a few statements,
    whatever their number: the dispatcher's group commit. Caller commits."""
    fresh = await mark_many_sent(session, items, now)
    done = [(row, receipt) for row, receipt in items if row.id in fresh]
    if not done:
        return  # retries after a commit whose answer was lost: recorded already
    anchors = {
        row.anchor: (row.platform, receipt.chat or row.chat, receipt.message_id)
        for row, receipt in done
        if row.anchor and receipt.message_id
    }
    if anchors:
        await session.execute(HOT.drop_anchors, {"keys": sorted(anchors)})
        await session.execute(
            HOT.add_anchors,
            [
                {"key": k, "platform": p, "chat": c, "platform_message_id": m, "updated_at": now}
                for k, (p, c, m) in anchors.items()
            ],
        )
    for row, receipt in done:
        if receipt.thread and row.case_id is not None:
            await set_case_thread(session, row.case_id, receipt.thread)
    transcript = []
    for row, receipt in done:
        relayed = (row.payload.get("extra") or {}).get("message")
        if relayed and receipt.message_id:
            await link_relayed_message(session, int(relayed), receipt.message_id)
        elif row.kind in ("send", "dm") and receipt.message_id:
            transcript.append((row, receipt.chat or row.chat, receipt.message_id))
    await record_bot_messages(session, transcript, now)
    events = [
        {
            "case_id": row.case_id,
            "type": note_text,
            "at": now,
            "actor": None,
            "data": {"outbox": row.id, "purpose": row.purpose},
        }
        for row, receipt in done
        if row.case_id is not None
        for note_text in receipt.notes
    ]
    if events:
        await session.execute(HOT.add_events, events)


async def mark_many_sent(
    session: AsyncSession, items: Sequence[tuple[OutboxRow, Receipt]], now: datetime
) -> set[int]:
    """Mark done deliveries sent; the ids this marked, leaving out any recorded sent
    already (a retry after a commit whose answer was lost). One statement run for all
    of them (a prepared one, whatever their number) after one read of their statuses,
    which on PostgreSQL locks the rows so that the two agree. Every row is read and
    locked, not only those sent already: a row that another process is marking sent
    at this moment passes that filter on its old version without waiting for the lock,
    and was then taken as fresh (its transcript message and notes written twice). In
    id order, so two group commits lock their common rows in the same order."""
    if not items:
        return set()
    ids = sorted(row.id for row, _ in items)
    statuses = await session.execute(HOT.statuses[_postgres(session)], {"ids": ids})
    already = {i for i, status in statuses.all() if status == "sent"}
    fresh = [(row, receipt) for row, receipt in items if row.id not in already]
    if fresh:
        await session.execute(
            HOT.sent,
            [
                {
                    "now": now,
                    "row_id": row.id,
                    "message_id": receipt.message_id,
                    "note": ", ".join(receipt.notes) or None,
                }
                for row, receipt in fresh
            ],
        )
    return {row.id for row, _ in fresh}


async def row_by_id(session: AsyncSession, row_id: int) -> OutboxRow | None:
    return await session.get(OutboxRow, row_id)


async def choices(session: AsyncSession, platform: str, chat: str, message_id: str) -> list[str]:
    """The button values of a message the bot sent, as its newest row (an edit in place
    keeps the message's id) has them: for platforms where a choice is answered by its
    number."""
    query = select(OutboxRow.payload).where(
        OutboxRow.platform == platform,
        OutboxRow.chat == chat,
        OutboxRow.platform_message_id == message_id,
        OutboxRow.status == "sent",
    )
    payload = (await session.execute(query.order_by(OutboxRow.id.desc()).limit(1))).scalar()
    if not payload:
        return []
    return [str(data) for line in payload.get("buttons") or () for _, data in line]


async def superseded(session: AsyncSession, row: OutboxRow) -> bool:
    """An upsert with a newer upsert of the same anchor (see `superseded_rows`) need not
    be sent."""
    return row.id in await superseded_rows(session, [row])


async def case_thread(session: AsyncSession, row: OutboxRow) -> str | None:
    """The thread a row marked `extra.case_thread` goes to: its case's topic, which the
    chat's earlier topic_create row (delivered first: one chat's rows go in order) has
    recorded by now. None for any other row, or while the case has no topic."""
    extra = row.payload.get("extra") or {}
    if row.case_id is None or row.payload.get("thread") or not extra.get("case_thread"):
        return None
    query = select(CaseRow.thread).where(CaseRow.id == row.case_id)
    return (await session.execute(query)).scalar_one_or_none()


async def anchor_message(session: AsyncSession, key: str) -> str | None:
    return (
        await session.execute(select(Anchor.platform_message_id).where(Anchor.key == key))
    ).scalar_one_or_none()


async def mark_sent(
    session: AsyncSession,
    row_id: int,
    now: datetime,
    message_id: str | None,
    note: str | None = None,
    status: str = "sent",
) -> bool:
    """Record a row's outcome; False when it was recorded sent already (a retry after
    a commit whose answer was lost), so the caller writes nothing twice."""
    result = await session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == row_id, OutboxRow.status != "sent")
        .values(
            status=status,
            sent_at=now,
            platform_message_id=message_id,
            claimed_until=None,
            last_error=note,
            attempts=OutboxRow.attempts + 1,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_failed(
    session: AsyncSession, row_id: int, now: datetime, error: str, retry_at: datetime | None
) -> None:
    """Schedule a retry at `retry_at`, or make the row dead when it is None."""
    # on the table, not the entity: a throttled board edit comes here every few seconds
    # per busy chat, and the ORM's bookkeeping of an UPDATE costs more than the UPDATE
    if retry_at is None:
        await session.execute(HOT.dead, {"row_id": row_id, "error": error[:2000]})
    else:
        params = {"row_id": row_id, "error": error[:2000], "retry_at": retry_at}
        await session.execute(HOT.retry, params)


async def release(session: AsyncSession, row_ids: Sequence[int]) -> None:
    """Give leased rows back to the queue at once."""
    if row_ids:
        await session.execute(HOT.release, {"ids": list(row_ids)})


async def defer(session: AsyncSession, until: Mapping[int, datetime]) -> None:
    """Give leased rows back, each due again at its time (not an attempt: none was made)."""
    if until:
        params = [{"row_id": i, "until": at} for i, at in sorted(until.items())]
        await session.execute(HOT.defer, params)


async def record_bot_messages(
    session: AsyncSession, sent: Sequence[tuple[OutboxRow, str, str]], now: datetime
) -> None:
    """Keep what the bot said (row, chat, message id) in the transcript, so replies to
    it find their case."""
    if not sent:
        return
    chats = {(row.platform, chat) for row, chat, _ in sent}
    found = await session.execute(HOT.chats, {"chats": sorted(chats)})
    known = {(r.platform, r.chat): (r.id, r.kind) for r in found.all()}
    case_ids = {row.case_id for row, _, _ in sent if row.case_id is not None}
    cases = (
        set((await session.execute(HOT.cases, {"ids": sorted(case_ids)})).scalars())
        if case_ids
        else set()
    )
    messages = []
    for row, chat, message_id in sent:
        chat_id, kind = known.get((row.platform, chat), (None, None))
        # only support chats have transcripts: a private chat's DMs (nudges, sign-in
        # links, whose token must never be stored readable) are kept nowhere
        if chat_id is None or kind not in ("customer", "triage"):
            continue
        customer = kind == "customer"
        messages.append(
            {
                "chat_id": chat_id,
                "platform_message_id": message_id,
                "thread": row.payload.get("thread"),
                "reply_to": row.payload.get("reply_to"),
                "sender": f"{row.platform}:bot",
                "sender_name": "casebot",
                "role": "bot",
                "text": row.payload.get("text", ""),
                "at": now,
                "internal": not customer,
                "case_id": row.case_id if customer and row.case_id in cases else None,
            }
        )
    if messages:
        await session.execute(HOT.add_messages, messages)


async def record_bot_message(
    session: AsyncSession, row: OutboxRow, chat: str, message_id: str, now: datetime
) -> None:
    await record_bot_messages(session, [(row, chat, message_id)], now)


async def link_relayed_message(session: AsyncSession, message_id: int, sent_id: str) -> None:
    """A staff message the bot relayed (a reply from the web) is the message the chat
    saw: it takes the sent message's platform id instead of a second, bot copy."""
    await session.execute(
        update(MessageRow)
        .where(MessageRow.id == message_id, MessageRow.platform_message_id.is_(None))
        .values(platform_message_id=sent_id)
    )


async def set_case_thread(session: AsyncSession, case_id: int, thread: str) -> None:
    await session.execute(update(CaseRow).where(CaseRow.id == case_id).values(thread=thread))


async def list_rows(
    session: AsyncSession, statuses: Sequence[str], limit: int = 200
) -> list[OutboxRow]:
    rows = await session.execute(
        select(OutboxRow)
        .where(OutboxRow.status.in_(list(statuses)))
        .order_by(OutboxRow.id)
        .limit(limit)
    )
    return list(rows.scalars())


async def retry_rows(session: AsyncSession, row_ids: Sequence[int] | None, now: datetime) -> int:
    """Put dead rows (all, or the given ids) back in the queue."""
    query = update(OutboxRow).where(OutboxRow.status == "dead")
    if row_ids is not None:
        query = query.where(OutboxRow.id.in_(list(row_ids)))
    result = await session.execute(
        query.values(status="pending", next_attempt_at=now, claimed_until=None, attempts=0)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(OutboxRow.status, func.count(OutboxRow.id)).group_by(OutboxRow.status)
    )
    return {status: int(n) for status, n in rows.all()}
