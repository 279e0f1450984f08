"""Similar past cases: a resolved case enters the local index with the answer that
resolved it; a new case like it shows it on its triage card, in English and Chinese."""

from __future__ import annotations

import pytest

from storage import similar
from storage.fastpath import raw_sqlite
from tests.engine.kit import open_case
from tests.harness import GLOBEX, TRIAGE, Harness

pytestmark = pytest.mark.usefixtures("platform")


def test_terms_split_chinese_into_bigrams_and_latin_into_words() -> None:
    assert similar.terms("Disks FULL") == ["disk", "full"]
    bigrams = similar.terms("磁盘满了")
    assert len(bigrams) == 3 and all(t.isascii() and t.startswith("c") for t in bigrams)
    assert similar.terms("磁盘")[0] in similar.terms("云服务器磁盘满了")
    assert similar.terms("the and of") == []


async def resolve(h: Harness, question: str, answer: str, who: str = "alice") -> int:
    await h.say(who, question)
    asked = h.last_message_id
    out = await h.say("evan", "/case", reply_to=asked)
    assert out.case_id is not None
    case_id = out.case_id
    await h.say("evan", answer, reply_to=asked)
    await h.say("evan", f"/resolve #{case_id}", chat=TRIAGE)
    return case_id


async def test_a_new_case_shows_the_resolved_cases_like_it(db_url: str) -> None:
    async with Harness(db_url) as h:
        disk = await resolve(h, "The disk on my VM is full", "Grow the volume in the console.")
        await resolve(h, "Billing invoice is wrong", "Refund issued.")
        await resolve(h, "Login page times out", "Cleared the session cache.")
        await h.sent()
        new = await open_case(h, "VM disk full again, cannot write")
        card = [t for t in await h.sent(chat=TRIAGE) if t.startswith(f"#{new} ")][-1]
        similar_part = card.split(h.texts.render("card_similar", "en"))[1]
        # the best match first, with what resolved it; never the case itself
        first = similar_part.strip().splitlines()[0]
        assert first.startswith(f"• #{disk} ") and "Grow the volume" in first
        assert f"#{new} " not in similar_part


async def test_chinese_cases_are_found_by_their_words(db_url: str) -> None:
    async with Harness(db_url) as h:
        first = await h.say("carol", "云服务器磁盘满了，无法写入", chat=GLOBEX)
        assert first.case_id is not None
        await h.say("evan", "请在控制台扩容云盘。", chat=GLOBEX, reply_to=h.last_message_id)
        await h.say("evan", f"/resolve #{first.case_id}", chat=TRIAGE)
        h.clock.advance(h.engine.settings.conversation_window * 2)
        other = await h.say("carol", "发票金额不对", chat=GLOBEX)
        assert other.case_id is not None
        await h.say("evan", f"/resolve #{other.case_id}", chat=TRIAGE)
        await h.sent()
        h.clock.advance(h.engine.settings.conversation_window * 2)
        new = await h.say("carol", "磁盘又满了", chat=GLOBEX)
        assert new.case_id is not None and new.opened
        found = [t for t in await h.sent(chat=TRIAGE) if f"#{first.case_id} " in t]
        assert found and "请在控制台扩容云盘。" in found[-1]


async def test_empty_punctuation_and_brace_titles_neither_fail_nor_match(db_url: str) -> None:
    async with Harness(db_url) as h:
        await resolve(h, "??? !!!", "Set {customer} to {0} and }{ it.")
        done = await resolve(h, "quota {region} exceeded", "Raised the {quota}.")
        await h.sent()
        for question in ("？？？。。。", "...", "{ }", "AND OR NOT NEAR"):
            h.clock.advance(h.engine.settings.conversation_window * 2)
            out = await h.say("alice", question)
            await h.say("evan", "/case", reply_to=h.last_message_id)
            assert (await h.case(out.case_id or 1))["title"] is not None
        h.clock.advance(h.engine.settings.conversation_window * 2)
        new = await open_case(h, "region quota exceeded again")
        card = [t for t in await h.sent(chat=TRIAGE) if t.startswith(f"#{new} ")][-1]
        assert f"#{done} " in card and "Raised the {quota}." in card


async def test_openings_do_not_count_every_resolved_case_each(db_url: str) -> None:
    """Each case opened counted the stored resolved cases (a scan of them all: 30 ms at
    300,000) to tell common terms from rare ones; a count serves for a minute now."""
    if not db_url.startswith("sqlite"):
        pytest.skip("the term counts are SQLite's (FTS5); PostgreSQL ranks with ts_rank")
    async with Harness(db_url) as h:
        await resolve(h, "The disk on my VM is full", "Grow the volume in the console.")
        async with h.sessions() as session:
            raw = await raw_sqlite(session)
        assert raw is not None
        statements: list[str] = []
        raw.set_trace_callback(statements.append)
        try:
            for i in range(3):
                h.clock.advance(h.engine.settings.conversation_window * 2)
                await open_case(h, f"VM disk full again, cannot write ({i})")
        finally:
            raw.set_trace_callback(None)
        counts = [s for s in statements if "count(*) FROM similar_docs" in s]
        assert len(counts) <= 1, f"{len(counts)} counts of similar_docs for 3 openings"


async def _statements_of_openings(h: Harness, n: int) -> tuple[list[str], list[str]]:
    """The statements run while `n` cases open, and the last triage card of each."""
    async with h.sessions() as session:
        raw = await raw_sqlite(session)
    assert raw is not None
    statements: list[str] = []
    opened = []
    raw.set_trace_callback(statements.append)
    try:
        for i in range(n):
            h.clock.advance(h.engine.settings.conversation_window * 2)
            opened.append(await open_case(h, f"VM disk full again, cannot write ({i})"))
    finally:
        raw.set_trace_callback(None)
    cards = await h.sent(chat=TRIAGE)
    return statements, [[t for t in cards if t.startswith(f"#{new} ")][-1] for new in opened]


async def test_a_case_opening_asks_for_its_terms_counts_at_once(db_url: str) -> None:
    """Each term's count was a statement of its own (eight for a short title), each
    reading the index's structure again."""
    if not db_url.startswith("sqlite"):
        pytest.skip("the term counts are SQLite's (FTS5); PostgreSQL ranks with ts_rank")
    async with Harness(db_url) as h:
        await resolve(h, "The disk on my VM is full", "Grow the volume in the console.")
        statements, (card,) = await _statements_of_openings(h, 1)
        assert len([s for s in statements if "FROM similar_vocab" in s]) == 1
        assert "Grow the volume" in card, "the resolved case is still found"


async def test_a_desk_with_nothing_resolved_looks_nothing_up(db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the term counts are SQLite's (FTS5); PostgreSQL ranks with ts_rank")
    async with Harness(db_url) as h:
        statements, _ = await _statements_of_openings(h, 2)
        assert not [s for s in statements if "similar_vocab" in s or "similar_fts" in s]
        # the first resolved case is found by the next opening, within the count's minute
        await resolve(h, "The disk on my VM is full", "Grow the volume in the console.")
        _, (card,) = await _statements_of_openings(h, 1)
        assert "Grow the volume" in card
