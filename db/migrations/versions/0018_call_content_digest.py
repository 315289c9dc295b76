"""calls.content_sha256: the uploaded bytes' SHA-256, so the same recording uploaded again is told

Calls stored before it have none until `calls.intake.earlier_copies` first compares them (it hashes a stored
file only when its size matches the new upload's).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 15:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_sha256', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_calls_content_sha256'), ['content_sha256'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calls_content_sha256'))
        batch_op.drop_column('content_sha256')
