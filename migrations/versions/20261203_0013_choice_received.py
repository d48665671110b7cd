"""choice events remember when and how the school received a carried-over choice

choice_events.received_on / received_by: for a choice carried over from before Tobira, the day
the school received it and how (paper, email, phone, in_person), shown to the guardian on the
history and the receipt. Empty for every other event.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("choice_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("received_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("received_by", sa.String(length=12), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("choice_events", schema=None) as batch_op:
        batch_op.drop_column("received_by")
        batch_op.drop_column("received_on")
