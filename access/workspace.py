"""Workspace settings: the rep-analysis switch and the retention periods, one row for the whole install.

The rep-analysis switch (EU AI Act Art. 5(1)(f): no emotion inference on people at their workplace):
`RAPPORT_REP_ANALYSIS` when set, else the admin's workspace choice; until the admin chooses, the rep
is not analysed. Every call records the choice in force when it was uploaded.
"""

from __future__ import annotations

import os

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from access.audit import audit
from config import get_settings
from db.models import RETENTION_DEFAULTS, Workspace, utcnow
from db.session import session_scope


WORKSPACE_ID = 1  # the one row the schema allows (ck_workspace_single_row)


def get_workspace(session: Session) -> Workspace:
    """The workspace row, made on first use. Two processes starting on a fresh store both try; the schema lets
    one insert win and the other reads the winner's row."""
    workspace = session.get(Workspace, WORKSPACE_ID)
    if workspace is not None:
        return workspace
    insert = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}[session.get_bind().dialect.name]
    session.execute(insert(Workspace).values(id=WORKSPACE_ID, **RETENTION_DEFAULTS)
                    .on_conflict_do_nothing(index_elements=["id"]))
    return session.get(Workspace, WORKSPACE_ID, populate_existing=True)


def forced_rep_analysis() -> bool | None:
    """The server's `RAPPORT_REP_ANALYSIS`, when set: it overrides the workspace choice (and the first-run question)."""
    return get_settings().rep_analysis if os.environ.get("RAPPORT_REP_ANALYSIS") is not None else None


def rep_analysis_enabled(session: Session) -> bool:
    """The environment overrides the workspace; until the admin chooses, the rep is not analysed."""
    forced = forced_rep_analysis()
    return forced if forced is not None else bool(get_workspace(session).rep_analysis)


def set_workspace(username: str, **changes) -> None:
    with session_scope() as session:
        workspace = get_workspace(session)
        for key, value in changes.items():
            if not hasattr(Workspace, key) or key in ("id", "updated_by", "updated_at"):
                raise ValueError(f"unknown workspace setting {key!r}")
            setattr(workspace, key, value)
        workspace.updated_by, workspace.updated_at = username, utcnow()
        audit(session, username, "settings_change", "workspace", **{k: str(v) for k, v in changes.items()})
