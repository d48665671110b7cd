"""coverage is part of the service version

service_versions.coverage keeps, with every published version, who the service covered: the
rules by school code, grade range, homeroom title and roster id. Changing the coverage publishes
a new version; guardians a new rule brings in are told (choices.announce_coverage job).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 12:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coverage", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("service_versions", schema=None) as batch_op:
        batch_op.drop_column("coverage")
