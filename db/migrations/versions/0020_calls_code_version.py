"""calls.code_version: which code analysed the call (`config.CODE_VERSION`, a git commit)

Calls analysed before it keep NULL: not recorded.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 07:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code_version', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('code_version')
