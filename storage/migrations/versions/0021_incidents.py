"""incident mode: incidents, the accounts they affect, their updates, who was told, linked cases

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, storage.models.UtcDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", Id, primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        _at("started_at"),
        sa.Column("started_by", sa.String(length=200), nullable=True),
        _at("resolved_at", nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
    )
    op.create_index("ix_incidents_status", "incidents", ["status"])
    op.create_index("ix_incidents_started_at", "incidents", ["started_at"])
    op.create_table(
        "incident_accounts",
        sa.Column("incident_id", Id, sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("account_id", Id, sa.ForeignKey("accounts.id"), primary_key=True),
    )
    op.create_index("ix_incident_accounts_account_id", "incident_accounts", ["account_id"])
    op.create_table(
        "incident_updates",
        sa.Column("id", Id, primary_key=True),
        sa.Column("incident_id", Id, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _at("at"),
        sa.Column("actor", sa.String(length=200), nullable=True),
    )
    op.create_index("ix_incident_updates_incident_id", "incident_updates", ["incident_id"])
    op.create_table(
        "incident_notices",
        sa.Column("id", Id, primary_key=True),
        sa.Column("incident_id", Id, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("update_id", Id, sa.ForeignKey("incident_updates.id"), nullable=False),
        sa.Column("chat_id", Id, sa.ForeignKey("chats.id"), nullable=False),
        sa.Column("outbox_id", Id, nullable=True),
        sa.UniqueConstraint("update_id", "chat_id"),
    )
    op.create_index("ix_incident_notices_incident_id", "incident_notices", ["incident_id"])
    op.create_index("ix_incident_notices_outbox_id", "incident_notices", ["outbox_id"])
    op.create_table(
        "incident_cases",
        sa.Column("incident_id", Id, sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("case_id", Id, sa.ForeignKey("cases.id"), primary_key=True),
        _at("linked_at"),
    )
    op.create_index("ix_incident_cases_case_id", "incident_cases", ["case_id"])


def downgrade() -> None:
    op.drop_table("incident_cases")
    op.drop_table("incident_notices")
    op.drop_table("incident_updates")
    op.drop_table("incident_accounts")
    op.drop_table("incidents")
