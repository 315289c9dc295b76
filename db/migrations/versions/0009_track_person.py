"""people: tracks.person_no (the tracks of one person share it; roles belong to people)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 23:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_no', sa.Integer(), nullable=True))
    op.execute("UPDATE tracks SET person_no = track_no")


def downgrade() -> None:
    with op.batch_alter_table('tracks', schema=None) as batch_op:
        batch_op.drop_column('person_no')
