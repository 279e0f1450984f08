"""a person's direct chat with the bot on a bridge; a sent message found by its id

`people.direct_chat`: the chat id a bridge gave when the person wrote to the bot in
a direct chat (`chat.kind = "direct"`), where DMs to them go. The index serves the
typed-number choice lookup (a customer answering "5" finds the sent message's
buttons), which went through every sent row before.

Revision ID: 0014
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("direct_chat", sa.String(length=128), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.create_index(
            "ix_outbox_sent_message", ["platform_message_id", "chat", "platform"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_sent_message")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("direct_chat")
