"""the messages that show a vote, redrawn as its result when it closes

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vote_message",
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("message_ref", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["vote_id"], ["vote.id"]),
        sa.PrimaryKeyConstraint("vote_id", "message_ref"),
    )


def downgrade() -> None:
    op.drop_table("vote_message")
