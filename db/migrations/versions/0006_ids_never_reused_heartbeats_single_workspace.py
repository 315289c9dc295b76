"""audit: call and job ids never reused, a heartbeat and attempt counter per call, one workspace row

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 20:40:00

* `calls` and `jobs` become AUTOINCREMENT tables on SQLite (a deleted call's id, or its job's, is never handed
  to a new upload; PostgreSQL's serial sequences never hand an id out twice already);
* `calls.attempt` counts analyses started (results are written only by the attempt that holds it) and
  `calls.heartbeat_at` is when that analysis last said it was alive (a silent one is failed as interrupted);
* `workspace` may hold one row only (id 1): the admin's settings cannot depend on row order.

SQLite rebuilds `calls` and `jobs` to declare AUTOINCREMENT. Dropping the old `calls` table with foreign keys on
would cascade-delete every child row, so foreign keys are switched off for the rebuild (checked, not assumed).
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def _foreign_keys(on: bool) -> None:
    """Switch SQLite's foreign keys. Inside an open transaction (a fresh store migrated in one go) SQLite ignores
    the switch: harmless while `calls` is empty, refused otherwise (rows would be cascade-deleted)."""
    bind = op.get_bind()
    bind.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    if (not on and bind.exec_driver_sql("PRAGMA foreign_keys").scalar()
            and bind.exec_driver_sql("SELECT 1 FROM calls LIMIT 1").first()):
        raise RuntimeError("migration 0006 must rebuild tables with SQLite foreign keys off, but a transaction "
                           "is open; run it on its own (`alembic upgrade 0006`)")


def _one_workspace_row() -> None:
    """Keep the row an admin last changed (else the first), as id 1; drop the others."""
    bind = op.get_bind()
    keep = bind.execute(sa.text("SELECT id FROM workspace ORDER BY updated_at IS NULL, updated_at DESC, id LIMIT 1")).scalar()
    if keep is None:
        return
    bind.execute(sa.text("DELETE FROM workspace WHERE id != :keep"), {"keep": keep})
    bind.execute(sa.text("UPDATE workspace SET id = 1"))


def upgrade() -> None:
    sqlite = _sqlite()
    if sqlite:
        _foreign_keys(False)
    kwargs = {"recreate": "always", "table_kwargs": {"sqlite_autoincrement": True}} if sqlite else {}
    with op.batch_alter_table('calls', schema=None, **kwargs) as batch_op:
        batch_op.add_column(sa.Column('attempt', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('jobs', schema=None, **kwargs) as batch_op:
        pass
    _one_workspace_row()
    with op.batch_alter_table('workspace', schema=None) as batch_op:
        batch_op.create_check_constraint('ck_workspace_single_row', 'id = 1')
    if sqlite:
        problems = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"migration 0006 left rows pointing at missing parents: {problems[:5]}")
        _foreign_keys(True)


def downgrade() -> None:
    sqlite = _sqlite()
    if sqlite:
        _foreign_keys(False)
    with op.batch_alter_table('workspace', schema=None) as batch_op:
        batch_op.drop_constraint('ck_workspace_single_row', type_='check')
    kwargs = {"recreate": "always", "table_kwargs": {"sqlite_autoincrement": False}} if sqlite else {}
    with op.batch_alter_table('jobs', schema=None, **kwargs) as batch_op:
        pass
    with op.batch_alter_table('calls', schema=None, **kwargs) as batch_op:
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('attempt')
    if sqlite:
        _foreign_keys(True)
