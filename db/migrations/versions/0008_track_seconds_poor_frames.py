"""face quality per second: track_seconds.n_poor_frames (frames whose face was small or blurred)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 20:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('track_seconds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('n_poor_frames', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('track_seconds', schema=None) as batch_op:
        batch_op.drop_column('n_poor_frames')
