"""an index for searching message text: FTS5 trigrams on SQLite, pg_trgm on PostgreSQL

Both match any substring of three characters or more, in any script, without case,
as the search always has; they spare it reading every message. Where the database
lacks them (an SQLite built without FTS5's trigram tokenizer, a PostgreSQL role that
may not create the pg_trgm extension) nothing is created and search reads every row,
as before.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Messages join the SQLite index in batches after they are stored (storage.search_index:
# a trigger per insert cost ingest about 14 %); `search_index.indexed_upto` is the last
# message id indexed, and search reads the newer tail row by row. Edits and deletes of
# indexed messages keep the index in step at once.
SQLITE_UP = [
    "CREATE VIRTUAL TABLE messages_fts USING fts5("
    "text, content='messages', content_rowid='id', tokenize='trigram')",
    "CREATE TABLE search_index (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "indexed_upto INTEGER NOT NULL)",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
    "INSERT INTO search_index VALUES (1, COALESCE((SELECT max(id) FROM messages), 0))",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages "
    "WHEN old.id <= (SELECT indexed_upto FROM search_index) BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages "
    "WHEN old.id <= (SELECT indexed_upto FROM search_index) BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END",
]


def _sqlite_has_trigrams(bind: sa.Connection) -> bool:
    try:
        with bind.begin_nested():
            bind.exec_driver_sql(
                "CREATE VIRTUAL TABLE temp.probe USING fts5(x, tokenize='trigram')"
            )
            bind.exec_driver_sql("DROP TABLE temp.probe")
        return True
    except sa.exc.DBAPIError:
        return False


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        if _sqlite_has_trigrams(bind):
            for statement in SQLITE_UP:
                op.execute(statement)
        return
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            # the extension may live in a schema outside the search path
            schema = bind.exec_driver_sql(
                "SELECT n.nspname FROM pg_extension e"
                " JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
            ).scalar_one()
            quoted = bind.dialect.identifier_preparer.quote_identifier(schema)
            bind.exec_driver_sql(
                "CREATE INDEX ix_messages_text_trgm ON messages"
                f" USING gin (text {quoted}.gin_trgm_ops)"
            )
    except sa.exc.DBAPIError:
        return  # no index: search reads every row, as before


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS messages_fts_{name}")
        op.execute("DROP TABLE IF EXISTS messages_fts")
        op.execute("DROP TABLE IF EXISTS search_index")
    else:
        op.execute("DROP INDEX IF EXISTS ix_messages_text_trgm")
