"""how each message joined its case (opened it, reply, thread, window, moved), so /case can
split off a message that only the conversation window put on a case

Revision ID: 0010
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # rows from before are NULL: how they joined is unknown, so /case never splits them
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("joined", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("joined")
