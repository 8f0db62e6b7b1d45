"""GitHub: members' logins, and the labellings that became agenda items

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "github_login",
        sa.Column("workspace_id", sa.String(length=100), nullable=False),
        sa.Column("member_id", sa.String(length=120), nullable=False),
        sa.Column("login", sa.String(length=40), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "member_id"),
        sa.UniqueConstraint("workspace_id", "login", name="uq_github_login"),
    )
    op.create_table(
        "github_label_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("repo", sa.String(length=140), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("labelled_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["series_id"], ["series.id"]),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("series_id", "repo", "number", "labelled_at", name="uq_github_label_item"),
    )
    op.create_index("ix_github_label_item_repo", "github_label_item", ["repo", "number"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_github_label_item_repo", table_name="github_label_item")
    op.drop_table("github_label_item")
    op.drop_table("github_login")
