"""The audit log: who did what to which call, user or setting, and when (`audit_events`).

`audit` adds an event to the caller's unit of work (it commits or rolls back with the change it records);
`record` writes one on its own, for actions whose work is done elsewhere (a view, an export). Admins read
the log on Settings; retention (`access.retention`) deletes events older than the workspace keeps them.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from db.models import AuditEvent
from db.session import session_scope


def audit(session: Session, username: str | None, action: str, target: str | None, **detail) -> None:
    session.add(AuditEvent(username=username, action=action, target=target, detail=detail))


def record(username: str | None, action: str, target: str | None, **detail) -> None:
    """`audit` in a unit of work of its own: for actions whose own work is done elsewhere (a view, an export)."""
    with session_scope() as session:
        audit(session, username, action, target, **detail)
