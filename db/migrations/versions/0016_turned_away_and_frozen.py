"""faces turned away and frozen video are reasons a second is uncertain: track_seconds.n_turned_frames, n_frozen_frames

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
        batch_op.add_column(sa.Column('n_frozen_frames', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('track_seconds', schema=None) as batch_op:
        batch_op.drop_column('n_frozen_frames')
        batch_op.drop_column('n_turned_frames')
