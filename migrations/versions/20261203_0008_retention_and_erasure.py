"""retention and erasure: board retention policies, audit chain checkpoints, erasure certificates

retention_policies holds how long a board keeps what (ADR 0087); audit_chain_checkpoints where a
board's hash chain starts after the retention run removed its oldest events (append-only: on
PostgreSQL the triggers of the event logs refuse UPDATE and DELETE outside the removal path);
erasure_certificates the vendors' certificates a board recorded.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "retention_policies",
        sa.Column("board_id", ID, nullable=False),
        sa.Column("student_years", sa.Integer(), nullable=False),
        sa.Column("audit_years", sa.Integer(), nullable=False),
        sa.Column("mail_body_days", sa.Integer(), nullable=True),
        sa.Column("upload_days", sa.Integer(), nullable=False),
        sa.Column("certificate_due_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["board_id"], ["boards.id"], name=op.f("fk_retention_policies_board_id_boards"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("board_id", name=op.f("pk_retention_policies")),
    )
    op.create_table(
        "audit_chain_checkpoints",
        sa.Column("id", ID, nullable=False),
        sa.Column("board_key", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("removed", sa.BigInteger(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_checkpoints")),
        sa.UniqueConstraint("board_key", "seq", name=op.f("uq_audit_chain_checkpoints_board_key_seq")),
    )
    op.create_table(
        "erasure_certificates",
        sa.Column("id", ID, nullable=False),
        sa.Column("board_id", ID, nullable=False),
        sa.Column("service_id", ID, nullable=False),
        sa.Column("cohort_kind", sa.String(length=20), nullable=False),
        sa.Column("cohort_year", sa.Integer(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("vendor_reference", sa.String(length=200), nullable=False),
        sa.Column("stored_name", sa.String(length=80), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("recorded_by_account_id", ID, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["board_id"], ["boards.id"], name=op.f("fk_erasure_certificates_board_id_boards"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_erasure_certificates_recorded_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_erasure_certificates_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_certificates")),
    )
    op.create_index(
        "ix_erasure_certificates_board_service", "erasure_certificates", ["board_id", "service_id"], unique=False
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_chain_checkpoints_append_only BEFORE UPDATE OR DELETE ON "
            "audit_chain_checkpoints FOR EACH ROW EXECUTE FUNCTION tobira_refuse_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_chain_checkpoints_append_only ON audit_chain_checkpoints")
    op.drop_index("ix_erasure_certificates_board_service", table_name="erasure_certificates")
    op.drop_table("erasure_certificates")
    op.drop_table("audit_chain_checkpoints")
    op.drop_table("retention_policies")
