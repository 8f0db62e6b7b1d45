"""rotation rosters, skips, swaps, chair assignments and meeting notes

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assigned_at', storage.types.UTCDateTime(), nullable=True))

    op.create_table('rotationmember',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('duty', sa.String(length=10), nullable=False),
    sa.Column('member_id', sa.String(length=120), nullable=False),
    sa.Column('joined_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('left_at', storage.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rotationmember', schema=None) as batch_op:
        batch_op.create_index('ix_rotationmember_series_duty', ['series_id', 'duty'], unique=False)

    op.create_table('rotationskip',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.String(length=120), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'member_id', name='uq_rotationskip_member')
    )
    with op.batch_alter_table('rotationskip', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rotationskip_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('rotationswap',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('duty', sa.String(length=10), nullable=False),
    sa.Column('from_member', sa.String(length=120), nullable=False),
    sa.Column('to_member', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('decided_at', storage.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rotationswap', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rotationswap_series_id'), ['series_id'], unique=False)

    op.create_table('rotationassignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('duty', sa.String(length=10), nullable=False),
    sa.Column('member_id', sa.String(length=120), nullable=False),
    sa.Column('assigned_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'duty', name='uq_rotationassignment_duty')
    )

    op.create_table('meetingnote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('owner', sa.String(length=120), nullable=True),
    sa.Column('author', sa.String(length=120), nullable=False),
    sa.Column('author_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['agendaitem.id'], ),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('meetingnote', schema=None) as batch_op:
        batch_op.create_index('ix_meetingnote_meeting', ['meeting_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('meetingnote', schema=None) as batch_op:
        batch_op.drop_index('ix_meetingnote_meeting')
    op.drop_table('meetingnote')
    op.drop_table('rotationassignment')
    with op.batch_alter_table('rotationswap', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rotationswap_series_id'))
    op.drop_table('rotationswap')
    with op.batch_alter_table('rotationskip', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rotationskip_meeting_id'))
    op.drop_table('rotationskip')
    with op.batch_alter_table('rotationmember', schema=None) as batch_op:
        batch_op.drop_index('ix_rotationmember_series_duty')
    op.drop_table('rotationmember')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_column('assigned_at')
