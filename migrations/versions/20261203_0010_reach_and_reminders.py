"""reach and reminders: a board's reminder setting, and the reminders sent

board_reminder_settings holds, per board, after how many days a family that has not answered
is reminded and how many reminders it gets at most (no row: 2 days, 2 reminders). reminders
keeps one row per reminder about one child — a request waiting for confirmation or a service
change not yet looked at — so that the job never sends more than the board allows (ADR 0084).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "board_reminder_settings",
        sa.Column("board_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("delay_days", sa.Integer(), nullable=False),
        sa.Column("max_reminders", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["board_id"],
            ["boards.id"],
            name=op.f("fk_board_reminder_settings_board_id_boards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("board_id", name=op.f("pk_board_reminder_settings")),
    )
    op.create_table(
        "reminders",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("board_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("guardian_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("student_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("choice_event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("service_version_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("via", sa.String(length=10), nullable=False),
        sa.Column("actor_account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_account_id"],
            ["accounts.id"],
            name=op.f("fk_reminders_actor_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["board_id"], ["boards.id"], name=op.f("fk_reminders_board_id_boards"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["choice_event_id"],
            ["choice_events.id"],
            name=op.f("fk_reminders_choice_event_id_choice_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["guardian_id"],
            ["guardians.id"],
            name=op.f("fk_reminders_guardian_id_guardians"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_version_id"],
            ["service_versions.id"],
            name=op.f("fk_reminders_service_version_id_service_versions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_reminders_student_id_students"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
    )
    op.create_index("ix_reminders_board_id", "reminders", ["board_id"], unique=False)
    op.create_index(
        "ix_reminders_guardian_version", "reminders", ["guardian_id", "service_version_id"], unique=False
    )
    op.create_index("ix_reminders_request", "reminders", ["choice_event_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_reminders_request", table_name="reminders")
    op.drop_index("ix_reminders_guardian_version", table_name="reminders")
    op.drop_index("ix_reminders_board_id", table_name="reminders")
    op.drop_table("reminders")
    op.drop_table("board_reminder_settings")
