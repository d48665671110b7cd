"""who received a child's entry, propagation receipts and incident notices

export_records/export_students: each export and the students in it (one INSERT ... SELECT);
api_pickups: one row per API response with the range it covered; feed_acknowledgements: what
a downstream system says it applied; incidents: notices to the families of a service's
students; boards.show_staff_names: whether guardians see staff names (default off). ADR 0086.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 11:34:18
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('export_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('board_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('actor_type', sa.String(length=20), nullable=False),
    sa.Column('actor_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('format', sa.String(length=10), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_account_id'], ['accounts.id'], name=op.f('fk_export_records_actor_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['board_id'], ['boards.id'], name=op.f('fk_export_records_board_id_boards'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_records'))
    )
    with op.batch_alter_table('export_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_records_board_id'), ['board_id'], unique=False)

    op.create_table('feed_acknowledgements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('board_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('api_key_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('acknowledged_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_feed_acknowledgements_api_key_id_api_keys'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['board_id'], ['boards.id'], name=op.f('fk_feed_acknowledgements_board_id_boards'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_acknowledgements')),
    sa.UniqueConstraint('api_key_id', 'position', name=op.f('uq_feed_acknowledgements_api_key_id_position'))
    )
    with op.batch_alter_table('feed_acknowledgements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feed_acknowledgements_board_id'), ['board_id'], unique=False)

    op.create_table('incidents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('board_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('service_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('body_en', sa.Text(), nullable=False),
    sa.Column('vendor_action', sa.Text(), nullable=False),
    sa.Column('vendor_action_en', sa.Text(), nullable=False),
    sa.Column('category_codes', sa.JSON(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('created_by_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('notified_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('emails', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['board_id'], ['boards.id'], name=op.f('fk_incidents_board_id_boards'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_account_id'], ['accounts.id'], name=op.f('fk_incidents_created_by_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_incidents_service_id_services'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incidents_board_id'), ['board_id'], unique=False)
        batch_op.create_index('ix_incidents_service_sent', ['service_id', 'sent_at'], unique=False)

    op.create_table('api_pickups',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('board_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('api_key_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('definition_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('low', sa.BigInteger(), nullable=False),
    sa.Column('high', sa.BigInteger(), nullable=False),
    sa.Column('served_position', sa.BigInteger(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('picked_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_api_pickups_api_key_id_api_keys'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['board_id'], ['boards.id'], name=op.f('fk_api_pickups_board_id_boards'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['definition_id'], ['choice_definitions.id'], name=op.f('fk_api_pickups_definition_id_choice_definitions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_pickups'))
    )
    with op.batch_alter_table('api_pickups', schema=None) as batch_op:
        batch_op.create_index('ix_api_pickups_api_key_served', ['api_key_id', 'served_position'], unique=False)
        batch_op.create_index('ix_api_pickups_board_kind_high', ['board_id', 'kind', 'high'], unique=False)

    op.create_table('export_students',
    sa.Column('export_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('student_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['export_id'], ['export_records.id'], name=op.f('fk_export_students_export_id_export_records'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_export_students_student_id_students'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('export_id', 'student_id', name=op.f('pk_export_students'))
    )
    with op.batch_alter_table('export_students', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_students_student_id'), ['student_id'], unique=False)

    with op.batch_alter_table('boards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('show_staff_names', sa.Boolean(), nullable=False, server_default=sa.false()))



def downgrade() -> None:
    with op.batch_alter_table('boards', schema=None) as batch_op:
        batch_op.drop_column('show_staff_names')

    with op.batch_alter_table('export_students', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_students_student_id'))

    op.drop_table('export_students')
    with op.batch_alter_table('api_pickups', schema=None) as batch_op:
        batch_op.drop_index('ix_api_pickups_board_kind_high')
        batch_op.drop_index('ix_api_pickups_api_key_served')

    op.drop_table('api_pickups')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_service_sent')
        batch_op.drop_index(batch_op.f('ix_incidents_board_id'))

    op.drop_table('incidents')
    with op.batch_alter_table('feed_acknowledgements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_acknowledgements_board_id'))

    op.drop_table('feed_acknowledgements')
    with op.batch_alter_table('export_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_records_board_id'))

    op.drop_table('export_records')
