"""The manager's annotations of a call: script stages (non-overlapping spans) and coaching notes at moments.

Errors are `ValueError`s with a message for the page (empty name or note, a stage that ends before it
starts, overlaps another or starts after the call ends, a note after the call's end); a missing call is
`NotFound`.
"""

from __future__ import annotations

from sqlalchemy import delete

from db.models import CoachingNote, ScriptStage
from db.session import session_scope
from pipeline.store import get_call
from pipeline.timeline import clock


def add_stage(call_id: int, name: str, start_s: float, end_s: float) -> int:
    """Mark [start_s, end_s) as one stage of the sales script; stages may not overlap."""
    name = name.strip().lower()
    if not name:
        raise ValueError("give the stage a name, e.g. discovery")
    if not 0 <= start_s < end_s:
        raise ValueError("a stage must end after it starts")
    with session_scope() as session:
        call = get_call(session, call_id)
        if call.duration_s and start_s >= call.duration_s:
            raise ValueError(f"the call is only {clock(call.duration_s)} long")
        end_s = min(end_s, call.duration_s or end_s)
        for other in call.stages:
            if start_s < other.end_s and other.start_s < end_s:
                raise ValueError(f"overlaps {other.name} ({clock(other.start_s)}-{clock(other.end_s)})")
        stage = ScriptStage(call_id=call_id, name=name[:60], start_s=float(start_s), end_s=float(end_s))
        session.add(stage)
        session.flush()
        return stage.id



def delete_stage(stage_id: int) -> None:
    with session_scope() as session:
        session.execute(delete(ScriptStage).where(ScriptStage.id == stage_id))



def add_note(call_id: int, t_s: float, text: str, author: str | None = None) -> int:
    """Attach a coaching note at any second `t_s` of the call (ValueError: empty, or after the call's end)."""
    text = text.strip()
    if not text:
        raise ValueError("the note is empty")
    with session_scope() as session:
        call = get_call(session, call_id)
        if call.duration_s and t_s > call.duration_s:
            raise ValueError(f"{clock(t_s)} is after the end of the call ({clock(call.duration_s)})")
        note = CoachingNote(call_id=call_id, t_s=float(max(0.0, t_s)), text=text, author=(author or "").strip()[:200] or None)
        session.add(note)
        session.flush()
        return note.id



def delete_note(note_id: int) -> None:
    with session_scope() as session:
        session.execute(delete(CoachingNote).where(CoachingNote.id == note_id))
