"""catalogue version: a counter on the board, moved by every change to its published catalogue

boards.catalogue_version keys the in-process cache of a board's catalogue (ADR 0095): a page
reads it in its own transaction, so a change committed by any process is seen on the next load.
Translations (content_translations, 0016) are part of what it keys. The column is added and
dropped in place, never by copying `boards` (see 0016).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("boards", sa.Column("catalogue_version", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("boards", "catalogue_version")
