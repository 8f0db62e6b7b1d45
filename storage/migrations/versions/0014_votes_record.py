"""votes' record (issue 17): the opening event's digest and the opener's and closer's names on the vote,
and where each electorate member's binding status came from

Revision ID: 0014
Revises: 0013
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("vote") as batch:
        batch.add_column(sa.Column("opened_digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("opened_by_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("closed_by_name", sa.String(length=200), nullable=True))
    with op.batch_alter_table("vote_electorate") as batch:
        batch.add_column(sa.Column("source", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("seen_at", UTCDateTime(), nullable=True))
    # Derivable, so backfilled: the opened digest is the hash of the vote's first event, as stored. No
    # event is re-hashed; the source of an old electorate is not in its log, so it stays unknown (NULL).
    event = sa.table("vote_event", sa.column("vote_id"), sa.column("seq"), sa.column("hash"))
    vote = sa.table("vote", sa.column("id"), sa.column("opened_digest"))
    op.execute(vote.update().values(opened_digest=sa.select(event.c.hash).where(
        event.c.vote_id == vote.c.id, event.c.seq == 1).scalar_subquery()))
    # The opener's name is in every opening event's payload: read it from there, one vote at a time (the
    # payload is JSON text; reading it in Python works the same on both databases). A closer's name was
    # not logged before 0014, so it stays NULL and the vote shows the member's current name.
    bind = op.get_bind()
    payloads = sa.table("vote_event", sa.column("vote_id"), sa.column("seq"), sa.column("payload"))
    names = sa.table("vote", sa.column("id"), sa.column("opened_by_name"))
    for vote_id, payload in bind.execute(sa.select(payloads.c.vote_id, payloads.c.payload)
                                         .where(payloads.c.seq == 1)).all():
        try:
            name = json.loads(payload).get("opened_by_name")
        except (ValueError, AttributeError):
            continue  # an unreadable event: quorum verify names it; the name stays unknown
        if isinstance(name, str):
            bind.execute(names.update().where(names.c.id == vote_id).values(opened_by_name=name))


def downgrade() -> None:
    with op.batch_alter_table("vote_electorate") as batch:
        batch.drop_column("seen_at")
        batch.drop_column("source")
    with op.batch_alter_table("vote") as batch:
        batch.drop_column("closed_by_name")
        batch.drop_column("opened_by_name")
        batch.drop_column("opened_digest")
