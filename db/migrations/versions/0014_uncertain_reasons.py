"""why a second is uncertain: emotion_seconds.uncertain_reason and track_seconds.n_small_frames

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 15:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('emotion_seconds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uncertain_reason', sa.String(length=40), nullable=True))
    with op.batch_alter_table('track_seconds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('n_small_frames', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('track_seconds', schema=None) as batch_op:
        batch_op.drop_column('n_small_frames')
    with op.batch_alter_table('emotion_seconds', schema=None) as batch_op:
        batch_op.drop_column('uncertain_reason')
