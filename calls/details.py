"""A manager's corrections after upload: a call's details (title, rep, prospect, date), and two reps that are one.

Reps are matched ignoring case and spaces (`calls.intake.find_rep`). Errors are `ValueError`s with a message
for the page (an empty title, a rep merged into itself); a missing call or rep is `NotFound`. The pages audit
each change (`access.audit`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, update

from calls.intake import get_or_create_rep
from db.models import Call, Rep, User
from db.session import session_scope
from pipeline.errors import NotFound
from pipeline.store import get_call


def merge_reps(keep_id: int, merged_id: int) -> int:
    """Make two reps one (the same person typed twice): `merged_id`'s calls and sign-in move to `keep_id`, then the
    merged rep goes. Returns how many calls moved; ValueError for a rep merged into itself, NotFound for a missing one."""
    if keep_id == merged_id:
        raise ValueError("pick two different reps to merge")
    with session_scope() as session:
        for rep_id in (keep_id, merged_id):
            if session.get(Rep, rep_id) is None:
                raise NotFound(f"rep {rep_id} not found")
        moved = session.execute(update(Call).where(Call.rep_id == merged_id).values(rep_id=keep_id)).rowcount
        session.execute(update(User).where(User.rep_id == merged_id).values(rep_id=keep_id))
        session.execute(delete(Rep).where(Rep.id == merged_id))
        return moved


@dataclass(frozen=True)
class CallDetails:
    """What a manager may correct about a call after upload (everything else comes from the recording)."""

    title: str
    rep: str | None
    prospect_name: str | None
    prospect_company: str | None
    call_date: dt.date | None


def update_call_details(call_id: int, details: CallDetails, team: str | None = None) -> dict[str, tuple]:
    """Correct a call's title, rep (matched ignoring case and spaces; a new one joins `team`), prospect, company and
    date. Returns {field: (old, new)} of what changed; ValueError for an empty title, NotFound for a missing call."""
    title = " ".join(details.title.split())
    if not title:
        raise ValueError("the title is empty")
    with session_scope() as session:
        call = get_call(session, call_id)
        rep = get_or_create_rep(session, details.rep, team)
        new = {"title": title[:300], "rep": rep.name if rep else None,
               "prospect_name": (details.prospect_name or "").strip() or None,
               "prospect_company": (details.prospect_company or "").strip() or None, "call_date": details.call_date}
        old = {"title": call.title, "rep": call.rep.name if call.rep else None, "prospect_name": call.prospect_name,
               "prospect_company": call.prospect_company, "call_date": call.call_date}
        call.title, call.rep = new["title"], rep
        call.prospect_name, call.prospect_company, call.call_date = (new["prospect_name"], new["prospect_company"],
                                                                     new["call_date"])
        return {k: (old[k], new[k]) for k in new if old[k] != new[k]}
