"""names per workspace (issue 16, item 4): series slugs unique within one workspace only; the numbers
members type (#3 for a meeting, an agenda item, a vote, a swap) counted per workspace, with a counter row
per (workspace, kind) that allocates them; and a workspace's default series (item 3).

The global ids stay (the export's stable ids); ``number`` is added beside them. Existing rows keep the
number members already saw and typed: their id (``#12`` in last month's minutes, forum posts, vote
buttons and threads still means the same vote or item), and each workspace's counter continues from its
highest. A workspace created after this migration counts from 1.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> how its rows find their workspace when the table has no workspace_id of its own yet
_NUMBERED = ("meeting", "agendaitem", "vote", "rotationswap")
_WORKSPACE_OF = {
    "agendaitem": "SELECT m.workspace_id FROM meeting m WHERE m.id = agendaitem.meeting_id",
    "rotationswap": "SELECT s.workspace_id FROM series s WHERE s.id = rotationswap.series_id",
}


def _sqlite_foreign_keys_off() -> None:
    """SQLite changes a table's constraints by rebuilding it (Alembic's batch mode: copy, drop, rename),
    and with ``foreign_keys=ON`` dropping the series table, which meetings reference, fails. The pragma
    is ignored inside a transaction, so, as SQLite's own procedure for altering a table says, the work so
    far is committed (the earlier migrations and their alembic_version: a consistent state), the pragma
    set, and a new write transaction begun; ``_sqlite_check_references`` checks the references before the
    commit. On the driver's connection: through SQLAlchemy these would be wrapped in its transaction.
    The migration's engine is disposed afterwards, so no application connection runs with the pragma off."""
    if op.get_bind().dialect.name != "sqlite":
        return
    cursor = op.get_bind().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    for statement in ("COMMIT", "PRAGMA foreign_keys = OFF", "BEGIN IMMEDIATE"):
        cursor.execute(statement)
    cursor.close()


def _sqlite_check_references() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    broken = op.get_bind().execute(sa.text("PRAGMA foreign_key_check")).fetchall()
    if broken:
        raise RuntimeError(f"migration 0015 would leave broken references: {broken[:5]}")


def upgrade() -> None:
    _sqlite_foreign_keys_off()
    op.create_table(
        "workspace_counter",
        sa.Column("workspace_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "kind"),
    )
    with op.batch_alter_table("workspace") as batch:
        batch.add_column(sa.Column("default_series_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("series") as batch:
        batch.add_column(sa.Column("feed_name", sa.String(length=60), nullable=True))
    # Slugs were unique across workspaces until now: every existing feed URL and event UID stays as it was.
    op.execute("UPDATE series SET feed_name = slug")
    with op.batch_alter_table("series") as batch:
        batch.alter_column("feed_name", existing_type=sa.String(length=60), nullable=False)
        batch.drop_constraint("uq_series_slug", type_="unique")
        batch.create_unique_constraint("uq_series_workspace_slug", ["workspace_id", "slug"])
        batch.create_unique_constraint("uq_series_feed_name", ["feed_name"])
    for table in _NUMBERED:
        # Added in place (ALTER TABLE ADD COLUMN), never by rebuilding the table: these tables are referenced
        # by others, and SQLite cannot drop a referenced table inside the migration's transaction. NOT NULL
        # needs a default to add a column there; the backfill replaces it at once.
        with op.batch_alter_table(table) as batch:
            if table in _WORKSPACE_OF:
                batch.add_column(sa.Column("workspace_id", sa.String(length=100), nullable=False, server_default=""))
            batch.add_column(sa.Column("number", sa.Integer(), nullable=False, server_default="0"))
        if table in _WORKSPACE_OF:
            op.execute(f"UPDATE {table} SET workspace_id = ({_WORKSPACE_OF[table]})")
        # What members have seen and typed until now was the id: it stays their number (unique per workspace,
        # since unique at all). Renumbering would silently repoint every "#12" already written down.
        op.execute(f"UPDATE {table} SET number = id")
        op.execute(
            f"INSERT INTO workspace_counter (workspace_id, kind, last_number) "
            f"SELECT workspace_id, '{table}', MAX(number) FROM {table} GROUP BY workspace_id"
        )
        op.create_index(f"uq_{table}_workspace_number", table, ["workspace_id", "number"], unique=True)
    _sqlite_check_references()


def downgrade() -> None:
    _sqlite_foreign_keys_off()
    for table in reversed(_NUMBERED):
        op.drop_index(f"uq_{table}_workspace_number", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("number")
            if table in _WORKSPACE_OF:
                batch.drop_column("workspace_id")
    with op.batch_alter_table("series") as batch:
        batch.drop_constraint("uq_series_feed_name", type_="unique")
        batch.drop_constraint("uq_series_workspace_slug", type_="unique")
        batch.create_unique_constraint("uq_series_slug", ["slug"])
        batch.drop_column("feed_name")
    with op.batch_alter_table("workspace") as batch:
        batch.drop_column("default_series_id")
    op.drop_table("workspace_counter")
    _sqlite_check_references()
