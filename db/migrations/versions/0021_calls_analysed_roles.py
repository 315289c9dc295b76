"""calls.analysed_roles: the roles, roles note and guess as the analysis left them

A manager who tried "Also the prospect" and undid it with "Not the prospect" had, without being told, confirmed the
analysis' guess (new-user trial 18): any role change cleared the guess. With the analysis' own roles kept, a change that
comes back to them brings the note and the guess back (`calls.roles`). Calls analysed before it keep NULL: every
change counts as a decision, as before.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 14:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('analysed_roles', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('analysed_roles')
