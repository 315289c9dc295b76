"""calls.roles_guessed: who the prospect is rests on a guess (`pipeline.roles.RoleDecision.guessed`)

Calls analysed before it are marked from their roles note, whose wording for the three guesses
(`pipeline.roles.prospect_guessed`) was fixed when this revision was written: no rep told among several people,
a prospect picked among people seen nearly as long, and the rep position against the self-view.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 23:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

GUESS_WORDING = ("%does not show which person is the rep%", "%Rapport guessed person%", "%where a self-view thumbnail "
                 "does for%")


def upgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        # a literal default: an expression one (sa.false()) makes SQLite's batch mode rebuild the table, which loses
        # AUTOINCREMENT (migration 0006) and would let a deleted call's id come back
        batch_op.add_column(sa.Column('roles_guessed', sa.Boolean(), server_default='0', nullable=False))
    calls = sa.table('calls', sa.column('roles_note', sa.Text()), sa.column('roles_guessed', sa.Boolean()))
    op.execute(calls.update().where(sa.or_(*(calls.c.roles_note.like(w) for w in GUESS_WORDING)))
               .values(roles_guessed=True))


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_column('roles_guessed')
