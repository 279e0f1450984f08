"""outbox: the due-rows index covers what a claim ranks them by

A claim ranks every due row by chat and account, and its "oldest pending message of
each chat" and "chats with rows left" checks read every pending row's kind and chat.
Through an index on (status, next_attempt_at) alone, SQLite read each pending row
from the table, past its payload (a triage card's overflows its page): 2,000 cards
pending made a claim cost 4-6 ms. This index carries those columns, so the ranking
reads the index only and the table for the rows it takes; it replaces the old one,
whose queries (by status, then next_attempt_at) it serves as well.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

COLUMNS = ["status", "next_attempt_at", "claimed_until", "kind", "platform", "chat", "case_id"]


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.create_index("ix_outbox_due", COLUMNS, unique=False)
        batch_op.drop_index("ix_outbox_status_next")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.create_index("ix_outbox_status_next", ["status", "next_attempt_at"], unique=False)
        batch_op.drop_index("ix_outbox_due")
