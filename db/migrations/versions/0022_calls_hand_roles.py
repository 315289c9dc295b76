"""calls.hand_roles: roles set by hand that the next analysis is to keep, stored when that analysis is asked for

A re-analysis read the hand-set roles from the rows it was about to replace; a worker that died after the new rows
were committed and before the roles were set on them lost the manager's roles on its retry, silently (session 44's
note). Stored on the call with the request, they outlive the rows until the analysis that keeps them is done.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 00:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hand_roles', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('hand_roles')
