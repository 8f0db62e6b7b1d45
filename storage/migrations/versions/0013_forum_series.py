"""forum: series.forum_category and series.published_before_minutes (docs/forum.md)

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("series") as batch:
        batch.add_column(sa.Column("forum_category", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("published_before_minutes", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("series") as batch:
        batch.drop_column("published_before_minutes")
        batch.drop_column("forum_category")
