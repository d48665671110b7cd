"""tamper-evident audit: a hash chain per board, append-only tables on PostgreSQL

audit_events gets seq / prev_hash / hash (chain.py) and audit_chain_heads the last link of each
board's chain; existing events are chained in id order here. Nothing cascades into the
append-only tables any more (boards, students and choice definitions with events cannot be
deleted), and on PostgreSQL triggers refuse UPDATE and DELETE on audit_events and
choice_events unless the transaction has set `tobira.removal = on` — the one documented path
for retention (docs/architecture.md).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("audit_events", "choice_events")
CHOICE_FKS = (
    ("fk_choice_events_board_id_boards", "boards", "board_id"),
    ("fk_choice_events_student_id_students", "students", "student_id"),
    ("fk_choice_events_definition_id_choice_definitions", "choice_definitions", "definition_id"),
)
REQUEST_FK = ("fk_choice_events_request_id_choice_events", "choice_events", "request_id")

REFUSE = """
CREATE OR REPLACE FUNCTION tobira_refuse_change() RETURNS trigger AS $$
BEGIN
  IF coalesce(current_setting('tobira.removal', true), '') = 'on' THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def _retarget(table: str, fks: Sequence[tuple[str, str, str]], ondelete: str | None) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name, target, column in fks:
            batch_op.drop_constraint(name, type_="foreignkey")
            batch_op.create_foreign_key(name, target, [column], ["id"], ondelete=ondelete)


def _chain_existing() -> None:
    """Chain the events written before this revision, per board in id order."""
    from app.db import UTCDateTime
    from app.domain.audit.chain import board_key, digest

    bind = op.get_bind()
    events = sa.table(
        "audit_events",
        sa.column("id", sa.BigInteger()),
        sa.column("occurred_at", UTCDateTime()),
        sa.column("board_id", sa.BigInteger()),
        sa.column("actor_type", sa.String()),
        sa.column("actor_id", sa.BigInteger()),
        sa.column("action", sa.String()),
        sa.column("target_type", sa.String()),
        sa.column("target_id", sa.String()),
        sa.column("outcome", sa.String()),
        sa.column("request_id", sa.String()),
        sa.column("details", sa.JSON()),
        sa.column("seq", sa.BigInteger()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )
    heads: dict[int, tuple[int, str]] = {}
    rows = bind.execute(sa.select(events).order_by(events.c.id)).mappings().all()
    for row in rows:
        key = board_key(row["board_id"])
        seq, previous = heads.get(key, (0, ""))
        link = digest({**row, "seq": seq + 1, "prev_hash": previous})
        bind.execute(
            events.update().where(events.c.id == row["id"]).values(seq=seq + 1, prev_hash=previous, hash=link)
        )
        heads[key] = (seq + 1, link)
    if heads:
        op.bulk_insert(
            sa.table("audit_chain_heads", sa.column("board_key"), sa.column("seq"), sa.column("hash")),
            [{"board_key": key, "seq": seq, "hash": link} for key, (seq, link) in heads.items()],
        )


def upgrade() -> None:
    op.create_table(
        "audit_chain_heads",
        sa.Column("board_key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("board_key", name=op.f("pk_audit_chain_heads")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=False, server_default=""))
        batch_op.create_index("uq_audit_events_board_seq", ["board_id", "seq"], unique=True)
    _retarget("audit_events", [("fk_audit_events_board_id_boards", "boards", "board_id")], "RESTRICT")
    _retarget("choice_events", CHOICE_FKS, "RESTRICT")
    _retarget("choice_events", [REQUEST_FK], None)
    _chain_existing()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(REFUSE)
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION tobira_refuse_change()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS tobira_refuse_change()")
        op.execute("SET LOCAL tobira.removal = 'on'")
    _retarget("choice_events", [*CHOICE_FKS, REQUEST_FK], "CASCADE")
    _retarget("audit_events", [("fk_audit_events_board_id_boards", "boards", "board_id")], "CASCADE")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("uq_audit_events_board_seq")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
    op.drop_table("audit_chain_heads")
