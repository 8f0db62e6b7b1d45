"""reminder planning by what is due: series.plan_at / plan_version, and the outbox key in pattern order
on PostgreSQL (prefix lookups)

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing series get the epoch: due at once, so the first tick plans them all and stores their next instant.
    with op.batch_alter_table("series") as batch:
        batch.add_column(sa.Column("plan_at", storage.types.UTCDateTime(), nullable=False,
                                   server_default="1970-01-01 00:00:00"))
        batch.add_column(sa.Column("plan_version", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_series_plan_at", "series", ["plan_at"], unique=False)
    op.create_index("ix_outbox_pending", "outbox", ["next_attempt_at"], unique=False,
                    sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))
    if op.get_bind().dialect.name == "postgresql":
        # The unique index on key follows the database's collation, in which a prefix is not a key range
        # (en_US ignores punctuation at first); text_pattern_ops compares bytes, as SQLite's BINARY does.
        op.execute("CREATE INDEX ix_outbox_key_pattern ON outbox (key text_pattern_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_outbox_key_pattern")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_index("ix_series_plan_at", table_name="series")
    with op.batch_alter_table("series") as batch:
        batch.drop_column("plan_version")
        batch.drop_column("plan_at")
