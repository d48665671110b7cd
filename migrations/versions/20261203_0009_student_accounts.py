"""student accounts and their messages to the school

student_accounts binds a student provider's account to the roster student it was matched to
at sign-in (ADR 0085); student_messages keeps what students asked their school to look at.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 11:35:53
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('student_accounts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('board_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('student_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('matched_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_student_accounts_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['board_id'], ['boards.id'], name=op.f('fk_student_accounts_board_id_boards'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_student_accounts_student_id_students'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_student_accounts')),
    sa.UniqueConstraint('account_id', name=op.f('uq_student_accounts_account_id'))
    )
    with op.batch_alter_table('student_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_student_accounts_board_id'), ['board_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_student_accounts_student_id'), ['student_id'], unique=False)

    op.create_table('student_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('board_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('school_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('student_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('service_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('handled_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('handled_by_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_student_messages_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['board_id'], ['boards.id'], name=op.f('fk_student_messages_board_id_boards'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['handled_by_account_id'], ['accounts.id'], name=op.f('fk_student_messages_handled_by_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_student_messages_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_student_messages_service_id_services'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_student_messages_student_id_students'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_student_messages'))
    )
    with op.batch_alter_table('student_messages', schema=None) as batch_op:
        batch_op.create_index('ix_student_messages_board_school_id', ['board_id', 'school_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_student_messages_student_id'), ['student_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('student_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_student_messages_student_id'))
        batch_op.drop_index('ix_student_messages_board_school_id')

    op.drop_table('student_messages')
    with op.batch_alter_table('student_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_student_accounts_student_id'))
        batch_op.drop_index(batch_op.f('ix_student_accounts_board_id'))

    op.drop_table('student_accounts')
