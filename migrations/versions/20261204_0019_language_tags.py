"""language tags up to 20 characters: zh-Hans, ja-x-easy (ADR 0101)

The language columns were sized for "ja" and "en". PostgreSQL widens them in place. SQLite
never enforces a VARCHAR length and rebuilding these tables would cascade deletes through
their foreign keys, so there only the declared type is rewritten in the schema, the
procedure SQLite documents for changes that leave the stored rows as they are.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("accounts", "preferred_language"),
    ("guardians", "preferred_language"),
    ("email_outbox", "language"),
)
REWRITE = "UPDATE sqlite_master SET sql = replace(sql, :old, :new) WHERE type = 'table' AND name = :table"


def _sqlite_declared(width_from: int, width_to: int) -> None:
    op.execute("PRAGMA writable_schema=ON")
    for table, column in COLUMNS:
        old, new = f"{column} VARCHAR({width_from})", f"{column} VARCHAR({width_to})"
        op.execute(sa.text(REWRITE).bindparams(old=old, new=new, table=table))
    version = op.get_bind().exec_driver_sql("PRAGMA schema_version").scalar()
    op.execute(f"PRAGMA schema_version={int(version or 0) + 1}")
    op.execute("PRAGMA writable_schema=OFF")


def _resize(width_from: int, width_to: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_declared(width_from, width_to)
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=sa.String(width_to), existing_type=sa.String(width_from))


def upgrade() -> None:
    _resize(5, 20)


def downgrade() -> None:
    _resize(20, 5)
