"""The end of a call's life, and the list: delete a call (or a rep with all their calls), list calls.

Deleting cascades to every row and removes every file the call owns (`access.retention.delete_call_files`).
Create is `calls.intake`, analysis `pipeline.store`, role fixes `calls.roles`, annotations `calls.annotations`.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from access.retention import delete_call_files
from db.models import Call, Rep, RepEnrolment, User
from db.session import session_scope
from pipeline.errors import NotFound
from pipeline.store import get_call


def delete_call(call_id: int) -> None:
    """Delete a call with every row (cascade) and every file it owns.

    A queued or running call may be deleted: its job goes with it (so no worker starts it), and an analysis in
    progress finds its heartbeat refused, stops at its next step and writes nothing (pipeline.liveness).
    """
    with session_scope() as session:
        call = get_call(session, call_id)
        source = call.source_path
        session.delete(call)
    delete_call_files(call_id, source)



def delete_rep(rep_id: int) -> int:
    """Delete a rep (someone who left): every call of theirs with its rows and files, their sign-in, their face
    signature (rep recognition), then the rep.

    Returns how many calls went. Calls go one by one, so a failure part-way leaves whole calls, never half ones;
    analyses in progress are cancelled as `delete_call` says.
    """
    with session_scope() as session:
        if session.get(Rep, rep_id) is None:
            raise NotFound(f"rep {rep_id} not found")
        call_ids = list(session.scalars(select(Call.id).where(Call.rep_id == rep_id)))
    for call_id in call_ids:
        delete_call(call_id)
    with session_scope() as session:
        session.execute(delete(User).where(User.rep_id == rep_id))
        session.execute(delete(RepEnrolment).where(RepEnrolment.rep_id == rep_id))
        session.execute(delete(Rep).where(Rep.id == rep_id))
    return len(call_ids)



def list_calls() -> list[dict]:
    with session_scope() as session:
        calls = session.scalars(select(Call).order_by(Call.created_at.desc(), Call.id.desc())).all()
        return [
            {"id": c.id, "title": c.title, "rep": c.rep.name if c.rep else None, "prospect": c.prospect_name,
             "date": c.call_date.isoformat() if c.call_date else None, "duration_s": c.duration_s, "status": c.status,
             "error": c.error, "partial": c.partial_note, "roles_guessed": c.roles_guessed, "shifts": len(c.shifts)}
            for c in calls
        ]
