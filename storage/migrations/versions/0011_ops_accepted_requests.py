"""accepted platform requests kept until they have run: processedrequest state, payload, lease, runs, replica

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Keys claimed before this release were handled by then: "done".
    with op.batch_alter_table("processedrequest") as batch:
        batch.add_column(sa.Column("state", sa.String(length=10), nullable=False, server_default="done"))
        batch.add_column(sa.Column("payload", sa.Text(), nullable=True))
        batch.add_column(sa.Column("lease_until", storage.types.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("accepted_by", sa.String(length=200), nullable=True))
    op.create_index("ix_processedrequest_accepted", "processedrequest", ["lease_until"], unique=False,
                    postgresql_where=sa.text("state = 'accepted'"), sqlite_where=sa.text("state = 'accepted'"))


def downgrade() -> None:
    op.drop_index("ix_processedrequest_accepted", table_name="processedrequest")
    with op.batch_alter_table("processedrequest") as batch:
        batch.drop_column("accepted_by")
        batch.drop_column("attempts")
        batch.drop_column("lease_until")
        batch.drop_column("payload")
        batch.drop_column("state")
