"""a shift's direction names where the mood went (to happy: positive; to angry/disgust/fear/sad: negative; else
neutral), no longer the valence difference alone: stored shifts are re-labelled (data only, no schema change)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 12:30:00

The rule is `pipeline.shifts.direction`; it is written out here as SQL because a migration must keep meaning what it
meant when it was written, whatever the code becomes.
"""
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

_NEGATIVE = "('angry', 'disgust', 'fear', 'sad')"


def _valence(column: str) -> str:
    return f"(CASE WHEN {column} = 'happy' THEN 1 WHEN {column} IN {_NEGATIVE} THEN -1 ELSE 0 END)"


def upgrade() -> None:
    op.execute(f"""UPDATE shifts SET direction = CASE
        WHEN to_emotion = 'happy' AND from_emotion <> 'happy' THEN 'positive'
        WHEN to_emotion IN {_NEGATIVE} AND from_emotion NOT IN {_NEGATIVE} THEN 'negative'
        ELSE 'neutral' END""")


def downgrade() -> None:
    before, after = _valence("from_emotion"), _valence("to_emotion")
    op.execute(f"""UPDATE shifts SET direction = CASE
        WHEN {after} > {before} THEN 'positive' WHEN {after} < {before} THEN 'negative' ELSE 'neutral' END""")
