"""rep recognition: rep_enrolments (a consented 128-number face signature per rep) and workspace.rep_recognition

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 01:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rep_enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rep_id', sa.Integer(), nullable=False),
    sa.Column('embedding', sa.JSON(), nullable=False),
    sa.Column('source_call_id', sa.Integer(), nullable=True),
    sa.Column('person_no', sa.Integer(), nullable=False),
    sa.Column('consent_statement', sa.Text(), nullable=False),
    sa.Column('confirmed_by', sa.String(length=100), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['rep_id'], ['reps.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_call_id'], ['calls.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rep_enrolments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rep_enrolments_rep_id'), ['rep_id'], unique=False)
    with op.batch_alter_table('workspace', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rep_recognition', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('workspace', schema=None) as batch_op:
        batch_op.drop_column('rep_recognition')
    with op.batch_alter_table('rep_enrolments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rep_enrolments_rep_id'))
    op.drop_table('rep_enrolments')
