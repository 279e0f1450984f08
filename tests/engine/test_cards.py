"""The triage card and the pinned board: refreshed when a reply flips the status, the
card's due line names the SLA clock that matters, its buttons speak the staff locale."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cases import views
from tests.engine.kit import mark, open_case, rows_after
from tests.harness import ACME, TRIAGE, Harness, base_config

pytestmark = pytest.mark.usefixtures("platform")


async def latest(h: Harness, since: int, purpose: str) -> list[str]:
    return [r.payload["text"] for r in await rows_after(h, since) if r.purpose == purpose]


async def test_a_staff_reply_refreshes_the_card_and_the_board(db_url: str) -> None:
    async with Harness(db_url) as h:
        await open_case(h)
        since = await mark(h)
        await h.say("evan", "which VM is it?", reply_to="1")
        assert (await h.case(1))["status"] == "waiting_on_customer"
        [card] = await latest(h, since, "card")
        assert "waiting on you" in card and "First response" not in card
        [board] = await latest(h, since, "board")
        assert "#1" in board and "waiting on you" in board

        since = await mark(h)
        await h.say("alice", "vm-3", reply_to="1")
        assert (await h.case(1))["status"] == "open"
        [card] = await latest(h, since, "card")
        assert "Status: open" in card and "Reply to the customer due" in card
        assert [r.chat for r in await rows_after(h, since) if r.purpose == "board"] == [ACME]

        # nothing shown changed: no new card or board for a second line
        since = await mark(h)
        await h.say("alice", "it is in eu-west", reply_to="1")
        assert [r.purpose for r in await rows_after(h, since)] == []


async def test_the_card_names_the_sla_clock_that_is_due(db_url: str) -> None:
    async with Harness(db_url) as h:
        since = await mark(h)
        await open_case(h)  # premium P3: first response 1h, next response 2h, resolution 2d
        case = await h.case(1)
        [card] = await latest(h, since, "card")
        # the warning timer (at 80% of the hour) comes earlier, but it is no deadline
        assert "First response due 2026-03-02 10:00 UTC" in card, card
        assert case["sla"]["first_response_due"].startswith("2026-03-02T10:00")

        since = await mark(h)
        await h.say("evan", "looking", reply_to="1")
        [card] = await latest(h, since, "card")
        # waiting on the customer: the resolution clock is paused, nobody owes a reply
        assert "No SLA due" in card, card

        since = await mark(h)
        h.clock.advance(timedelta(minutes=5))
        await h.say("alice", "any news?", reply_to="1")
        [card] = await latest(h, since, "card")
        assert "Reply to the customer due 2026-03-02 11:" in card, card


async def test_card_buttons_and_due_speak_the_staff_locale(db_url: str) -> None:
    raw = base_config()
    async with Harness(db_url, staff={**raw["staff"], "locale": "zh"}) as h:
        since = await mark(h)
        await open_case(h)
        [row] = [r for r in await rows_after(h, since) if r.purpose == "card"]
        assert row.chat == TRIAGE
        labels = [b[0] for line in row.payload["buttons"] for b in line]
        assert labels[:2] == ["接手", "解决"]
        assert "首次响应截止" in row.payload["text"]


async def test_the_card_links_the_first_message_as_its_adapter_builds_it(
    db_url: str, platform: str
) -> None:
    async with Harness(db_url) as h:
        since = await mark(h)
        await open_case(h)
        [card] = await latest(h, since, "card")
        if platform == "telegram":
            assert card.endswith("https://t.me/c/100/1"), card
        else:
            # the bridge contract carries no link: the card shows none, and no t.me one
            assert "https://" not in card and "#1" in card, card


def test_the_engine_knows_no_platform_url() -> None:
    from pathlib import Path

    import cases

    root = Path(cases.__file__).parent
    found = [p.name for p in root.glob("*.py") if "t.me/" in p.read_text(encoding="utf-8")]
    assert found == []


async def test_a_board_names_the_oldest_open_cases_then_how_many_more(db_url: str) -> None:
    """A chat with hundreds of open cases had them all on its board: past Telegram's
    4,096 characters, cut mid-line, and rebuilt whole on every change."""
    async with Harness(db_url) as h:
        for i in range(views.BOARD_LINES + 2):
            h.clock.advance(timedelta(hours=1))
            await open_case(h, f"problem number {i}")
        board = (await latest(h, 0, "board"))[-1]
        lines = board.splitlines()
        assert lines[0] == h.texts.render("board_title", "en", count=views.BOARD_LINES + 2)
        assert lines[1].startswith("#1 ") and lines[views.BOARD_LINES].startswith(
            f"#{views.BOARD_LINES} "
        )
        assert lines[-1] == h.texts.render("board_more", "en", more=2)
        assert len(lines) == views.BOARD_LINES + 2


async def test_the_boards_count_is_of_every_open_case_of_the_chat_alone(db_url: str) -> None:
    """`board_lines` (one window over a LIMIT): the count is of all the chat's open cases,
    at and around the limit, after cases leave the board, and never another chat's."""
    from sqlalchemy import text

    from cases.model import ChatKey
    from storage.uow import SqlUnitOfWork
    from tests.harness import GLOBEX

    async with Harness(db_url) as h:

        async def board(limit: int) -> tuple[list[int], int]:
            async with h.sessions() as session, session.begin():
                uow = SqlUnitOfWork(session)
                chat = await uow.chat(ChatKey(h.platform, ACME))
                assert chat is not None
                lines, total = await uow.board_lines(chat.id, limit)
                return [line.id for line in lines], total

        async def set_status(case_id: int, status: str) -> None:
            async with h.sessions() as session, session.begin():
                await session.execute(
                    text("UPDATE cases SET status = :s WHERE id = :id"),
                    {"s": status, "id": case_id},
                )

        await h.say("carol", "the nightly export fails", chat=GLOBEX)  # case 1, elsewhere
        assert await board(30) == ([], 0)
        await open_case(h, "problem number 0")  # case 2
        assert await board(30) == ([2], 1)
        for i in range(1, 31):
            h.clock.advance(timedelta(hours=1))
            await open_case(h, f"problem number {i}")  # cases 3..32
        assert await board(30) == (list(range(2, 32)), 31)
        assert await board(31) == (list(range(2, 33)), 31)
        assert await board(1) == ([2], 31)
        await set_status(2, "resolved")
        assert await board(30) == (list(range(3, 33)), 30)
        await set_status(3, "closed")
        await set_status(4, "waiting_on_customer")
        assert await board(30) == (list(range(4, 33)), 29)
        for case_id in range(4, 33):
            await set_status(case_id, "resolved")
        assert await board(30) == ([], 0)


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_a_boards_count_and_more_under_an_incident_banner(locale: str) -> None:
    """The count given (all open) is the title's, under the banner; "more" is of those
    past the lines shown, in the chat's language; none given, the lines are the count."""
    from bot.texts import Catalogue
    from cases.model import Status
    from cases.records import BoardLine

    texts = Catalogue()
    lines = [BoardLine(i, f"case {i}", Status.OPEN, None) for i in range(1, 31)]
    shown = views.board(texts, locale, lines, {}, banner="INCIDENT", total=45).splitlines()
    assert shown[0] == "INCIDENT"
    assert shown[1] == texts.render("board_title", locale, count=45)
    assert shown[-1] == texts.render("board_more", locale, more=15)
    assert len(shown) == 2 + 30 + 1
    exact = views.board(texts, locale, lines, {}, banner="INCIDENT", total=30)
    assert exact == views.board(texts, locale, lines, {}, banner="INCIDENT")
    assert views.board(texts, locale, [], {}, banner="INCIDENT", total=0).splitlines() == [
        "INCIDENT",
        texts.render("board_empty", locale),
    ]
