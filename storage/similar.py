"""Similar past cases, found locally: a resolved case's words are kept as search terms
(`similar_docs`, see migration 0019) and a new case's words look them up.

Imports SQLAlchemy and `cases` only. Nothing leaves the machine. Latin words are
lower-cased, lightly stemmed and stripped of common words; Chinese, Japanese and
Korean text has no spaces between words, so each run of such characters becomes its
character bigrams (a lone character stays a unigram), the usual way to search CJK
without a dictionary. Every term is written in ASCII (a CJK bigram as `c` and its
code points in hex), so SQLite's FTS5 `ascii` tokenizer and PostgreSQL's `simple`
configuration both take it as one word. Ranking is BM25 on SQLite and `ts_rank` on
PostgreSQL.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cases.records import SimilarCase
from storage.fastpath import raw_sqlite

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_PIECES = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)
_IS_CJK = re.compile(rf"[{_CJK}]")
_COMMON = (
    "a an and are as at be but by can do does for from has have hi hello how i if in is it"
    " its me my no not of on or our please so that the their there this to up was we what"
    " when where which who why will with you your thanks thank again still just get got"
    " any some"
)
STOPWORDS = frozenset(_COMMON.split())
# the most terms a lookup asks for: a long first message says enough in its first words
MAX_QUERY_TERMS = 48
# on SQLite a lookup keeps the rarest of them, and none held by more than this share
# of the stored cases: a common term's long list costs the most and tells the least
RAREST_TERMS = 16
# seconds a count of the stored cases serves (per database), see _stored
TOTAL_FOR = 60.0
_TOTALS: dict[str, tuple[float, int, int]] = {}  # url -> (when, count, highest id)
COMMON_SHARE = 0.05
RESOLUTION_CHARS = 300


def _stem(word: str) -> str:
    for suffix, keep in (("ing", 5), ("ed", 4), ("es", 5), ("s", 4)):
        if word.endswith(suffix) and len(word) >= keep + len(suffix) - 1:
            return word[: -len(suffix)]
    return word


def _ascii(term: str, tag: str) -> str:
    if term.isascii():
        return term
    return tag + "".join(f"{ord(ch):x}" for ch in term)


def terms(*texts: str) -> list[str]:
    """The search terms of some text, in order, repeats kept (they weigh in BM25)."""
    found: list[str] = []
    for piece in _PIECES.findall(" ".join(texts).lower()):
        if _IS_CJK.match(piece):
            grams = (
                [piece] if len(piece) == 1 else [piece[i : i + 2] for i in range(len(piece) - 1)]
            )
            found.extend(_ascii(g, "c") for g in grams)
        elif piece not in STOPWORDS and (len(piece) > 1 or piece.isdigit()):
            found.append(_ascii(_stem(piece), "x"))
    return found


def query_terms(*texts: str) -> list[str]:
    unique = list(dict.fromkeys(terms(*texts)))
    return unique[:MAX_QUERY_TERMS]


async def has_fts(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


async def index_case(
    session: AsyncSession, case_id: int, words: Iterable[str], resolution: str, at: datetime
) -> None:
    """Keep (or replace) a resolved case's terms and resolution, in the caller's transaction."""
    joined = " ".join(terms(*words))
    resolution = resolution.strip()[:RESOLUTION_CHARS]
    sqlite = await has_fts(session)
    await session.execute(text("DELETE FROM similar_docs WHERE case_id = :id"), {"id": case_id})
    if sqlite:
        await session.execute(text("DELETE FROM similar_fts WHERE rowid = :id"), {"id": case_id})
    await session.execute(
        text(
            "INSERT INTO similar_docs (case_id, terms, resolution, resolved_at)"
            " VALUES (:id, :terms, :resolution, :at)"
        ),
        {"id": case_id, "terms": joined, "resolution": resolution, "at": _naive(session, at)},
    )
    if sqlite:
        await session.execute(
            text("INSERT INTO similar_fts (rowid, terms) VALUES (:id, :terms)"),
            {"id": case_id, "terms": joined},
        )


def _naive(session: AsyncSession, at: datetime) -> datetime:
    # the same naive-UTC form storage.models.UtcDateTime writes on SQLite
    if session.get_bind().dialect.name == "sqlite":
        from datetime import UTC

        return at.astimezone(UTC).replace(tzinfo=None)
    return at


async def _stored(session: AsyncSession, raw: sqlite3.Connection | None) -> int:
    """How many resolved cases are stored: counted at most `TOTAL_FOR` seconds ago, plus
    the case ids above the highest one then (new cases come in id order). Counting reads
    every row (30 ms at 300,000 resolved cases, for each case opened); the highest id is
    one index lookup, and COMMON_SHARE needs no exact figure."""

    async def one(sql: str) -> int:
        if raw is not None:
            return int(raw.execute(sql).fetchone()[0] or 0)
        return int((await session.execute(text(sql))).scalar_one() or 0)

    key = str(session.get_bind().engine.url)
    now = time.monotonic()
    top = await one("SELECT max(case_id) FROM similar_docs")
    known = _TOTALS.get(key)
    if known is not None and now - known[0] < TOTAL_FOR and top >= known[2]:
        return known[1] + top - known[2]
    total = await one("SELECT count(*) FROM similar_docs")
    _TOTALS[key] = (now, total, top)
    return total


async def _rarest(
    session: AsyncSession, raw: sqlite3.Connection | None, wanted: list[str], total: int
) -> list[str]:
    """The query terms worth asking for, rarest first (see COMMON_SHARE), of `total`
    stored cases."""
    # one statement for all the terms: each lookup of the vocabulary reads the index's
    # structure again, so one per term cost a case opening 8 of them (bench/latency.py)
    sql = "SELECT doc, term FROM similar_vocab WHERE term IN ({})"
    if raw is not None:  # a case opens per lookup: straight on the connection, see fastpath
        found = raw.execute(sql.format(", ".join(["?"] * len(wanted))), wanted).fetchall()
    else:
        named = sql.format(", ".join(f":t{i}" for i in range(len(wanted))))
        params = {f"t{i}": term for i, term in enumerate(wanted)}
        found = list((await session.execute(text(named), params)).all())
    counted = [(int(docs), term) for docs, term in found if docs]
    counted.sort()
    limit = max(50, int(total * COMMON_SHARE))
    kept = [t for docs, t in counted if docs <= limit] or [t for _, t in counted[:3]]
    return kept[:RAREST_TERMS]


_ASK: Any = object()


async def find_similar(
    session: AsyncSession,
    words: Sequence[str],
    exclude: int | None = None,
    limit: int = 3,
    raw: sqlite3.Connection | None = _ASK,
) -> list[SimilarCase]:
    """The resolved cases most like `words`, best first (merged cases left out). `raw`:
    the session's inline SQLite connection or None, when the caller knows it."""
    fts = await has_fts(session)
    total = 0
    if fts:
        raw = await raw_sqlite(session) if raw is _ASK else raw
        total = await _stored(session, raw)
        if total == 0:  # nothing resolved yet: a new desk's openings ask nothing more
            return []
    wanted = query_terms(*words)
    if not wanted:
        return []
    params: dict[str, object] = {"exclude": exclude or 0, "limit": limit, "pool": limit * 8}
    done = "c.status IN ('resolved', 'closed') AND c.merged_into IS NULL AND c.id != :exclude"
    if fts:
        wanted = await _rarest(session, raw, wanted, total)
        if not wanted:
            return []
        sql = (
            "SELECT c.id, c.title, d.resolution FROM (SELECT rowid AS id, bm25(similar_fts) AS"
            " score FROM similar_fts WHERE similar_fts MATCH :q ORDER BY score LIMIT :pool) m"
            " JOIN similar_docs d ON d.case_id = m.id JOIN cases c ON c.id = m.id"
            f" WHERE {done} ORDER BY m.score LIMIT :limit"
        )
        params["q"] = " OR ".join(wanted)
    else:
        sql = (
            "SELECT c.id, c.title, d.resolution FROM similar_docs d JOIN cases c"
            " ON c.id = d.case_id, to_tsquery('simple', :q) q"
            f" WHERE to_tsvector('simple', d.terms) @@ q AND {done}"
            " ORDER BY ts_rank(to_tsvector('simple', d.terms), q) DESC, c.id DESC LIMIT :limit"
        )
        params["q"] = " | ".join(wanted)
    rows = (await session.execute(text(sql), params)).all()
    return [SimilarCase(case_id=r[0], title=r[1], resolution=r[2]) for r in rows]
