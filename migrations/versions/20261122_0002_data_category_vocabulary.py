"""data category vocabulary

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 13:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.domain.catalog.vocabulary import CATEGORIES

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

data_categories = sa.table(
    "data_categories",
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("name_en", sa.String),
    sa.column("description", sa.Text),
    sa.column("description_en", sa.Text),
    sa.column("sort_order", sa.Integer),
    sa.column("sensitive", sa.Boolean),
)


def upgrade() -> None:
    op.bulk_insert(
        data_categories,
        [{**category._asdict(), "sort_order": index * 10} for index, category in enumerate(CATEGORIES)],
    )


def downgrade() -> None:
    op.execute(data_categories.delete())
