"""issues in engineering trackers, the cases linked to them, and tracker webhook deliveries

Revision ID: 0020
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0018"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "issues",
        sa.Column("id", Id, primary_key=True),
        sa.Column("tracker", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("tracker", "key", name="uq_issues_tracker_key"),
    )
    op.create_index("ix_issues_state", "issues", ["state"])
    op.create_table(
        "issue_links",
        sa.Column("id", Id, primary_key=True),
        sa.Column("case_id", Id, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("issue_id", Id, sa.ForeignKey("issues.id"), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("linked_by", sa.String(length=200), nullable=True),
        sa.Column("draft", sa.Text(), nullable=True),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("draft_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("case_id", "issue_id", name="uq_issue_links_case_issue"),
    )
    op.create_index("ix_issue_links_case_id", "issue_links", ["case_id"])
    op.create_index("ix_issue_links_issue_id", "issue_links", ["issue_id"])
    op.create_table(
        "tracker_deliveries",
        sa.Column("tracker", sa.String(length=16), primary_key=True),
        sa.Column("delivery_id", sa.String(length=200), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tracker_deliveries")
    op.drop_index("ix_issue_links_issue_id", table_name="issue_links")
    op.drop_index("ix_issue_links_case_id", table_name="issue_links")
    op.drop_table("issue_links")
    op.drop_index("ix_issues_state", table_name="issues")
    op.drop_table("issues")
