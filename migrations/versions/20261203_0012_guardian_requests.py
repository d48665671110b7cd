"""guardians' requests (disclosure, correction, stop of use, portability) and the answer period

guardian_requests holds each request with its due date (original and, after an extension with a
reason, the new one), the answer and when it was closed. boards.request_answer_days is the period
a request is answered within, from the day of receipt: 30 days, the statutory period for a public
body, for existing boards.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 11:35:40
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('guardian_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('board_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('school_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('student_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('guardian_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('received_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('original_due_on', sa.Date(), nullable=False),
    sa.Column('extended_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('extension_reason', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_by_account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('closed_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_guardian_requests_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['answered_by_account_id'], ['accounts.id'], name=op.f('fk_guardian_requests_answered_by_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['board_id'], ['boards.id'], name=op.f('fk_guardian_requests_board_id_boards'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['guardian_id'], ['guardians.id'], name=op.f('fk_guardian_requests_guardian_id_guardians'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_guardian_requests_school_id_schools'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_guardian_requests_student_id_students'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guardian_requests'))
    )
    with op.batch_alter_table('guardian_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guardian_requests_board_id'), ['board_id'], unique=False)
        batch_op.create_index('ix_guardian_requests_board_status_due', ['board_id', 'status', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_guardian_requests_guardian_id'), ['guardian_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_guardian_requests_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_guardian_requests_student_id'), ['student_id'], unique=False)

    with op.batch_alter_table('boards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_answer_days', sa.Integer(), nullable=False, server_default='30'))



def downgrade() -> None:
    with op.batch_alter_table('boards', schema=None) as batch_op:
        batch_op.drop_column('request_answer_days')

    with op.batch_alter_table('guardian_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guardian_requests_student_id'))
        batch_op.drop_index(batch_op.f('ix_guardian_requests_school_id'))
        batch_op.drop_index(batch_op.f('ix_guardian_requests_guardian_id'))
        batch_op.drop_index('ix_guardian_requests_board_status_due')
        batch_op.drop_index(batch_op.f('ix_guardian_requests_board_id'))

    op.drop_table('guardian_requests')
