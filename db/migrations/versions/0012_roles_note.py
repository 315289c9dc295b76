"""roles: calls.roles_note (what the review page says when the video and the rep position disagree)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 00:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('roles_note', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('roles_note')
