"""jobs.classify_tracks: a job that re-reads only some tracks' faces (a role fix with rep analysis off)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 23:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('classify_tracks', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('classify_tracks')
