"""service reviews: a material change asks covered guardians to look at their choice again

service_versions.asks_review marks a version whose change widens what happens to a child's
data (app/domain/catalog/changes.py MATERIAL); service_reviews holds one row per covered
guardian and child for such a version, with when and how the guardian reviewed it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("service_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("asks_review", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "service_reviews",
        sa.Column("id", ID, nullable=False),
        sa.Column("board_id", ID, nullable=False),
        sa.Column("guardian_id", ID, nullable=False),
        sa.Column("student_id", ID, nullable=False),
        sa.Column("service_id", ID, nullable=False),
        sa.Column("service_version_id", ID, nullable=False),
        sa.Column("previous_version_id", ID, nullable=True),
        sa.Column("requested_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(["board_id"], ["boards.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["guardian_id"], ["guardians.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["service_version_id"], ["service_versions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["previous_version_id"], ["service_versions.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("guardian_id", "student_id", "service_version_id"),
    )
    op.create_index(
        "ix_service_reviews_version_reviewed", "service_reviews", ["service_version_id", "reviewed_at"]
    )
    op.create_index("ix_service_reviews_guardian_student", "service_reviews", ["guardian_id", "student_id"])


def downgrade() -> None:
    op.drop_index("ix_service_reviews_guardian_student", table_name="service_reviews")
    op.drop_index("ix_service_reviews_version_reviewed", table_name="service_reviews")
    op.drop_table("service_reviews")
    with op.batch_alter_table("service_versions", schema=None) as batch_op:
        batch_op.drop_column("asks_review")
