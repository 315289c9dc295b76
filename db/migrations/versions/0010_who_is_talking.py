"""who is talking: emotion_seconds.speech and .speaking, track_seconds.mouth_motion

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 00:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('emotion_seconds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('speech', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('speaking', sa.String(length=12), nullable=True))
    with op.batch_alter_table('track_seconds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mouth_motion', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('track_seconds', schema=None) as batch_op:
        batch_op.drop_column('mouth_motion')
    with op.batch_alter_table('emotion_seconds', schema=None) as batch_op:
        batch_op.drop_column('speaking')
        batch_op.drop_column('speech')
