"""change-feed positions in commit order

Confirmed choice events get a per-board feed position taken from feed_counters (whose row
stays locked until the confirming transaction ends), so the change feed can never pass a
change that commits late. Existing confirmed events take their id as position, which keeps
every cursor a client already holds (`e<id>`) meaning the same thing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_counters",
        sa.Column("board_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["board_id"], ["boards.id"], name=op.f("fk_feed_counters_board_id_boards"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("board_id", name=op.f("pk_feed_counters")),
    )
    with op.batch_alter_table("choice_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("feed_position", sa.BigInteger(), nullable=True))
        batch_op.create_index(
            "uq_choice_events_board_feed_position", ["board_id", "feed_position"], unique=True
        )
    # A one-off backfill by the schema change itself (the table is otherwise append-only).
    op.execute("UPDATE choice_events SET feed_position = id WHERE kind = 'confirmed'")
    op.execute(
        "INSERT INTO feed_counters (board_id, position) "
        "SELECT board_id, MAX(id) FROM choice_events WHERE kind = 'confirmed' GROUP BY board_id"
    )


def downgrade() -> None:
    with op.batch_alter_table("choice_events", schema=None) as batch_op:
        batch_op.drop_index("uq_choice_events_board_feed_position")
        batch_op.drop_column("feed_position")
    op.drop_table("feed_counters")
