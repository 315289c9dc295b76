"""faces turned away are a reason a second is uncertain: track_seconds.n_turned_frames

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('track_seconds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('n_turned_frames', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('track_seconds', schema=None) as batch_op:
        batch_op.drop_column('n_turned_frames')
