"""meetings are found by series and start time

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The composite index serves every lookup the series-only index served, and the time ranges too.
    op.create_index("ix_meeting_series_starts", "meeting", ["series_id", "starts_at"])
    op.drop_index("ix_meeting_series_id", table_name="meeting")


def downgrade() -> None:
    op.create_index("ix_meeting_series_id", "meeting", ["series_id"])
    op.drop_index("ix_meeting_series_starts", table_name="meeting")
