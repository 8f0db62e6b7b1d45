"""a vote's running tally, and indexes to read its ballots a page at a time and its binding ones alone

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (column, binding, the values it counts): "+0" and "-0" count as 0 (bot/rules/votes.py).
TALLY = (
    ("tally_binding_plus", True, ("+1",)), ("tally_binding_zero", True, ("0", "+0", "-0")),
    ("tally_binding_minus", True, ("-1",)), ("tally_other_plus", False, ("+1",)),
    ("tally_other_zero", False, ("0", "+0", "-0")), ("tally_other_minus", False, ("-1",)),
)


def upgrade() -> None:
    with op.batch_alter_table("vote") as batch:
        for column, _binding, _values in TALLY:
            batch.add_column(sa.Column(column, sa.Integer(), server_default="0", nullable=False))
    op.create_index("ix_ballot_vote_order", "ballot", ["vote_id", "id"])
    op.create_index("ix_ballot_vote_binding", "ballot", ["vote_id", "binding", "id"])
    # Votes opened before this revision: count their ballots once.
    ballot = sa.table("ballot", sa.column("vote_id"), sa.column("binding"), sa.column("value"))
    vote = sa.table("vote", sa.column("id"), *(sa.column(c) for c, _b, _v in TALLY))
    op.execute(vote.update().values({
        column: sa.select(sa.func.count()).select_from(ballot)
        .where(ballot.c.vote_id == vote.c.id, ballot.c.binding == binding, ballot.c.value.in_(values))
        .scalar_subquery()
        for column, binding, values in TALLY
    }))


def downgrade() -> None:
    op.drop_index("ix_ballot_vote_binding", table_name="ballot")
    op.drop_index("ix_ballot_vote_order", table_name="ballot")
    with op.batch_alter_table("vote") as batch:
        for column, _binding, _values in reversed(TALLY):
            batch.drop_column(column)
