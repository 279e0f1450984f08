"""login tokens for one-time sign-in links

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("person", sa.String(length=200), nullable=False),
        sa.Column("created_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("used_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )


def downgrade() -> None:
    op.drop_table("login_tokens")
