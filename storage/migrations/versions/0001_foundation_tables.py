"""foundation tables

Revision ID: 0001
Revises:
Create Date: 2026-11-22 01:48:38.883575
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('processedrequest',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('workspace',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('member',
    sa.Column('workspace_id', sa.String(length=100), nullable=False),
    sa.Column('id', sa.String(length=120), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('reminder_offsets', sa.String(length=100), nullable=True),
    sa.Column('updated_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], ),
    sa.PrimaryKeyConstraint('workspace_id', 'id')
    )
    op.create_table('rolegrant',
    sa.Column('workspace_id', sa.String(length=100), nullable=False),
    sa.Column('member_id', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=100), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('seen_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], ),
    sa.PrimaryKeyConstraint('workspace_id', 'member_id', 'role', 'source')
    )
    op.create_table('series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.String(length=100), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('local_time', sa.String(length=5), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('deadline_minutes', sa.Integer(), nullable=False),
    sa.Column('display_zones', sa.Text(), nullable=False),
    sa.Column('link_hosts', sa.Text(), nullable=False),
    sa.Column('channel', sa.String(length=120), nullable=True),
    sa.Column('feed_token', sa.String(length=80), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slug', name='uq_series_slug')
    )
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_series_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.String(length=100), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('occurrence_key', sa.String(length=60), nullable=False),
    sa.Column('starts_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_reason', sa.String(length=200), nullable=True),
    sa.Column('status_changed_by', sa.String(length=120), nullable=True),
    sa.Column('host', sa.String(length=120), nullable=True),
    sa.Column('note_taker', sa.String(length=120), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], ),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('series_id', 'occurrence_key', name='uq_meeting_occurrence')
    )
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_series_id'), ['series_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_workspace_id'), ['workspace_id'], unique=False)

    op.create_table('subscription',
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.String(length=120), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], ),
    sa.PrimaryKeyConstraint('series_id', 'member_id')
    )
    op.create_table('agendaitem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=False),
    sa.Column('link_key', sa.String(length=500), nullable=False),
    sa.Column('author', sa.String(length=120), nullable=False),
    sa.Column('author_name', sa.String(length=200), nullable=False),
    sa.Column('added_at', storage.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'link_key', name='uq_agenda_link')
    )
    with op.batch_alter_table('agendaitem', schema=None) as batch_op:
        batch_op.create_index('ix_agenda_meeting_position', ['meeting_id', 'position'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('agendaitem', schema=None) as batch_op:
        batch_op.drop_index('ix_agenda_meeting_position')

    op.drop_table('agendaitem')
    op.drop_table('subscription')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_workspace_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_series_id'))

    op.drop_table('meeting')
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_series_workspace_id'))

    op.drop_table('series')
    op.drop_table('rolegrant')
    op.drop_table('member')
    op.drop_table('workspace')
    op.drop_table('processedrequest')

