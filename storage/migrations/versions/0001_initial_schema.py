"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 02:19:05.950148
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("tier", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("intake", sa.String(length=16), nullable=False),
        sa.Column("acknowledge", sa.Boolean(), nullable=False),
        sa.Column("topics", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("backup", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "anchors",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("chat", sa.String(length=128), nullable=False),
        sa.Column("platform_message_id", sa.String(length=64), nullable=False),
        sa.Column("updated_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("chat", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("anchor", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("platform_message_id", sa.String(length=64), nullable=True),
        sa.Column("sent_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_anchor"), ["anchor"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_outbox_status_next", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "people",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_people_username"), ["username"], unique=False)

    op.create_table(
        "processed_events",
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("platform", "event_id"),
    )
    op.create_table(
        "chats",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("chat", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("status_token", sa.String(length=64), nullable=True),
        sa.Column("created_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "chat"),
        sa.UniqueConstraint("status_token"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("chat_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("thread", sa.String(length=64), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=4), nullable=False),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("opened_by", sa.String(length=200), nullable=True),
        sa.Column("source_message_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_customer_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_staff_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("status_changed_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("first_response_due", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("next_response_due", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("resolution_due", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("next_due_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("sla", sa.JSON(), nullable=False),
        sa.Column(
            "merged_into", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chats.id"],
        ),
        sa.ForeignKeyConstraint(
            ["merged_into"],
            ["cases.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cases_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_assignee"), ["assignee"], unique=False)
        batch_op.create_index("ix_cases_chat_status", ["chat_id", "status"], unique=False)
        batch_op.create_index("ix_cases_chat_thread", ["chat_id", "thread"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_created_at"), ["created_at"], unique=False)
        batch_op.create_index("ix_cases_next_due_at", ["next_due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_status"), ["status"], unique=False)

    op.create_table(
        "case_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_events_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_events_type"), ["type"], unique=False)

    op.create_table(
        "followups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("done_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("nudged_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_followups_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_followups_pending_due", ["done_at", "due_at"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("chat_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("platform_message_id", sa.String(length=64), nullable=True),
        sa.Column("thread", sa.String(length=64), nullable=True),
        sa.Column("reply_to", sa.String(length=64), nullable=True),
        sa.Column("sender", sa.String(length=200), nullable=False),
        sa.Column("sender_name", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.Column("edited_at", storage.models.UtcDateTime(timezone=True), nullable=True),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("attachments", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chats.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id", "platform_message_id"),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_case", ["case_id", "at"], unique=False)
        batch_op.create_index("ix_messages_chat_at", ["chat_id", "at"], unique=False)

    op.create_table(
        "message_edits",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("replaced_at", storage.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("message_edits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_message_edits_message_id"), ["message_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("message_edits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_edits_message_id"))

    op.drop_table("message_edits")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_chat_at")
        batch_op.drop_index("ix_messages_case")

    op.drop_table("messages")
    with op.batch_alter_table("followups", schema=None) as batch_op:
        batch_op.drop_index("ix_followups_pending_due")
        batch_op.drop_index(batch_op.f("ix_followups_case_id"))

    op.drop_table("followups")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_events_type"))
        batch_op.drop_index(batch_op.f("ix_case_events_case_id"))

    op.drop_table("case_events")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_status"))
        batch_op.drop_index("ix_cases_next_due_at")
        batch_op.drop_index(batch_op.f("ix_cases_created_at"))
        batch_op.drop_index("ix_cases_chat_thread")
        batch_op.drop_index("ix_cases_chat_status")
        batch_op.drop_index(batch_op.f("ix_cases_assignee"))
        batch_op.drop_index(batch_op.f("ix_cases_account_id"))

    op.drop_table("cases")
    op.drop_table("chats")
    op.drop_table("processed_events")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_username"))

    op.drop_table("people")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_next")
        batch_op.drop_index(batch_op.f("ix_outbox_case_id"))
        batch_op.drop_index(batch_op.f("ix_outbox_anchor"))

    op.drop_table("outbox")
    op.drop_table("anchors")
    op.drop_table("accounts")
