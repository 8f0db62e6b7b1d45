"""rotation checkpoints: the replay's standing after the meetings that have started, so views of a
series with years of history replay only the weeks since (issue 13, item 4)

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rotationcheckpoint",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("through_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["series_id"], ["series.id"]),
        sa.PrimaryKeyConstraint("series_id", "through_at"),
    )


def downgrade() -> None:
    op.drop_table("rotationcheckpoint")
