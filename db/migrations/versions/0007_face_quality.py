"""face quality per face-second: track_seconds.face_px, sharpness, roll_deg, yaw_deg, detector_score

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 20:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

COLUMNS = ('face_px', 'sharpness', 'roll_deg', 'yaw_deg', 'detector_score')


def upgrade() -> None:
    with op.batch_alter_table('track_seconds', schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('track_seconds', schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
