"""routing turns, saved answers (snippets) and the similar-cases index

`route_turns` keeps whose turn a round-robin route gave last. `snippets` holds saved
answers, one row per name and locale, with their use count. `similar_docs` holds one
row per resolved case: its words as search terms (`storage.similar.terms`: Latin
words, and CJK text as character bigrams, each term in ASCII so any full-text parser
takes it whole) and the answer that resolved it. On SQLite an FTS5 table mirrors the
terms; on PostgreSQL a GIN index on `to_tsvector('simple', terms)`.

Revision ID: 0019
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "route_turns",
        sa.Column("route", sa.String(length=200), primary_key=True),
        sa.Column("person", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "snippets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False, server_default="0"),
        sa.UniqueConstraint("name", "locale", name="uq_snippets_name_locale"),
    )
    op.create_table(
        "similar_docs",
        sa.Column(
            "case_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("cases.id"),
            primary_key=True,
        ),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE similar_fts USING fts5(terms, tokenize='ascii')")
        # how many cases hold each term: a lookup leaves out the commonest ones
        op.execute("CREATE VIRTUAL TABLE similar_vocab USING fts5vocab('similar_fts', 'row')")
    else:
        op.execute(
            "CREATE INDEX ix_similar_docs_terms ON similar_docs"
            " USING gin (to_tsvector('simple', terms))"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS similar_vocab")
        op.execute("DROP TABLE IF EXISTS similar_fts")
    op.drop_table("similar_docs")
    op.drop_table("snippets")
    op.drop_table("route_turns")
