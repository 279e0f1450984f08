"""a platform identity knows the staff person it belongs to ([[staff.people]])

Revision ID: 0013
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("person", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("person_name", sa.String(length=300), nullable=True))
        batch.create_index("ix_people_person", ["person"])


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_index("ix_people_person")
        batch.drop_column("person_name")
        batch.drop_column("person")
