"""outbox: index (anchor, id), for "is there a newer version of this edit?"

An edit is needless once a newer row of its anchor is pending or sent: the check
seeks the anchor's rows above the edit's id, which an index on the anchor alone could
not do on PostgreSQL (every row of a long-lived board read per claimed edit).

Revision ID: 0022
Revises: 0014
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.create_index("ix_outbox_anchor_id", ["anchor", "id"], unique=False)
        batch_op.drop_index("ix_outbox_anchor")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.create_index("ix_outbox_anchor", ["anchor"], unique=False)
        batch_op.drop_index("ix_outbox_anchor_id")
