"""content translations: board content per language in one table (ADR 0101)

Creates content_translations (board, entity kind = the model's table, entity id, field,
language, text; unique per entity, field and language), moves the English of every `*_en`
column into it as rows in "en", and drops the columns. The downgrade brings the columns
back with the English rows (other languages are lost).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (the SQL giving each row's board, [(field, column type)])
_BOARD_OF = {
    "boards": "t.id",
    "schools": "t.board_id",
    "data_categories": "NULL",
    "service_versions": "(SELECT s.board_id FROM services s WHERE s.id = t.service_id)",
    "service_version_categories": (
        "(SELECT s.board_id FROM service_versions v JOIN services s ON s.id = v.service_id"
        " WHERE v.id = t.service_version_id)"
    ),
    "service_purposes": (
        "(SELECT s.board_id FROM service_versions v JOIN services s ON s.id = v.service_id"
        " WHERE v.id = t.service_version_id)"
    ),
    "subcontractors": (
        "(SELECT s.board_id FROM service_versions v JOIN services s ON s.id = v.service_id"
        " WHERE v.id = t.service_version_id)"
    ),
    "notice_versions": "t.board_id",
    "choice_definitions": "t.board_id",
    "choice_definition_versions": "(SELECT d.board_id FROM choice_definitions d WHERE d.id = t.definition_id)",
    "incidents": "t.board_id",
}
_COLUMNS: dict[str, list[tuple[str, sa.types.TypeEngine[str], str]]] = {
    "boards": [("name", sa.String(200), "")],
    "schools": [("name", sa.String(200), "")],
    "data_categories": [("name", sa.String(200), ""), ("description", sa.Text(), "")],
    "service_versions": [
        ("name", sa.String(200), ""),
        ("description", sa.Text(), ""),
        ("vendor_name", sa.String(200), ""),
        ("governing_law", sa.String(100), "Japanese law"),
        ("court", sa.String(200), ""),
    ],
    "service_version_categories": [("items", sa.Text(), "")],
    "service_purposes": [("text", sa.Text(), "")],
    "subcontractors": [("name", sa.String(200), ""), ("task", sa.Text(), ""), ("data_items", sa.Text(), "")],
    "notice_versions": [("title", sa.String(300), ""), ("body", sa.Text(), "")],
    "choice_definitions": [("label", sa.String(300), ""), ("explanation", sa.Text(), "")],
    # The wording of earlier versions keeps its Japanese; their English is not carried over
    # (a receipt shows the English of the choice as it reads now, when the words are the same).
    "choice_definition_versions": [("label", sa.String(300), ""), ("explanation", sa.Text(), "")],
    "incidents": [("title", sa.String(200), ""), ("body", sa.Text(), ""), ("vendor_action", sa.Text(), "")],
}
_MOVED = {table: cols for table, cols in _COLUMNS.items() if table != "choice_definition_versions"}


def upgrade() -> None:
    op.create_table(
        "content_translations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("board_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("entity_kind", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["board_id"], ["boards.id"], name=op.f("fk_content_translations_board_id_boards"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_translations")),
        sa.UniqueConstraint(
            "entity_kind",
            "entity_id",
            "field",
            "language",
            name=op.f("uq_content_translations_entity_kind_entity_id_field_language"),
        ),
    )
    op.create_index(
        "ix_content_translations_board_language", "content_translations", ["board_id", "language"], unique=False
    )
    for table, columns in _MOVED.items():
        for field, _type, _default in columns:
            op.execute(
                f"INSERT INTO content_translations"  # noqa: S608 (names from this file only)
                f" (board_id, entity_kind, entity_id, field, language, text, updated_at)"
                f" SELECT {_BOARD_OF[table]}, '{table}', t.id, '{field}', 'en', t.{field}_en, CURRENT_TIMESTAMP"
                f" FROM {table} t WHERE t.{field}_en IS NOT NULL AND t.{field}_en <> ''"
            )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, columns in _COLUMNS.items():
        for field, _type, _default in columns:
            if sqlite:
                # SQLite (3.35+) drops a column in place: no copy of the table, whose drop
                # would cascade to every row that refers to it (schools, services …).
                op.execute(f"ALTER TABLE {table} DROP COLUMN {field}_en")
            else:
                op.drop_column(table, f"{field}_en")


def downgrade() -> None:
    for table, columns in _COLUMNS.items():
        for field, type_, default in columns:
            op.add_column(table, sa.Column(f"{field}_en", type_, nullable=False, server_default=default))
    for table, columns in _MOVED.items():
        for field, _type, _default in columns:
            op.execute(
                f"UPDATE {table} SET {field}_en = COALESCE((SELECT c.text FROM content_translations c"  # noqa: S608
                f" WHERE c.entity_kind = '{table}' AND c.entity_id = {table}.id AND c.field = '{field}'"
                f" AND c.language = 'en'), '')"
            )
    op.drop_index("ix_content_translations_board_language", table_name="content_translations")
    op.drop_table("content_translations")
