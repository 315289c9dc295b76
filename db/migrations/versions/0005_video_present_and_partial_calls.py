"""recordings: emotion_seconds.video_present ("no video" apart from "face not seen"), calls.partial_note

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 21:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('emotion_seconds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('video_present', sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partial_note', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('partial_note')
    with op.batch_alter_table('emotion_seconds', schema=None) as batch_op:
        batch_op.drop_column('video_present')
