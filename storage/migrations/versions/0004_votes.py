"""votes: vote, vote_electorate, ballot, vote_event

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('vote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('binding_role', sa.String(length=100), nullable=False),
    sa.Column('opened_by', sa.String(length=120), nullable=False),
    sa.Column('opened_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('closes_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('short_forced', sa.Boolean(), nullable=False),
    sa.Column('channel_id', sa.String(length=120), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('closed_at', storage.types.UTCDateTime(), nullable=True),
    sa.Column('closed_by', sa.String(length=120), nullable=True),
    sa.Column('close_forced', sa.Boolean(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('explanation', sa.Text(), nullable=True),
    sa.Column('head_digest', sa.String(length=64), nullable=False),
    sa.Column('electorate_digest', sa.String(length=64), nullable=False),
    sa.Column('electorate_size', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('vote', schema=None) as batch_op:
        batch_op.create_index('ix_vote_status_closes_at', ['status', 'closes_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_vote_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('vote_electorate',
    sa.Column('vote_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.String(length=120), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['vote_id'], ['vote.id'], ),
    sa.PrimaryKeyConstraint('vote_id', 'member_id')
    )
    op.create_table('ballot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vote_id', sa.Integer(), nullable=False),
    sa.Column('voter', sa.String(length=120), nullable=False),
    sa.Column('voter_name', sa.String(length=200), nullable=False),
    sa.Column('value', sa.String(length=2), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('binding', sa.Boolean(), nullable=False),
    sa.Column('cast_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('changes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['vote_id'], ['vote.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('vote_id', 'voter', name='uq_ballot_vote_voter')
    )
    op.create_table('vote_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vote_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['vote_id'], ['vote.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('vote_id', 'seq', name='uq_vote_event_seq')
    )


def downgrade() -> None:
    op.drop_table('vote_event')
    op.drop_table('ballot')
    op.drop_table('vote_electorate')
    with op.batch_alter_table('vote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vote_workspace_id'))
        batch_op.drop_index('ix_vote_status_closes_at')
    op.drop_table('vote')
