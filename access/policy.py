"""Who may see and change what: the one access policy every entry point (CLI, exports, dashboard) applies.

Admin: everything; manager: their team's reps' calls; rep: their own calls, read-only. A call someone
may not see is "not found", never "forbidden" (it does not confirm that the call exists).
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Call, Rep


class Principal(Protocol):
    """Whatever the access checks need of a user: a `User` row, or the dashboard's signed-in `Viewer`."""

    @property
    def role(self) -> str: ...

    @property
    def team(self) -> str | None: ...

    @property
    def rep_id(self) -> int | None: ...


def visible_calls(session: Session, user: Principal):
    """A select() of the calls this user may see."""
    query = select(Call)
    if user.role == "manager":
        # No team is no one's team: a manager without one sees nothing (not every rep without a team).
        query = query.join(Rep, Call.rep_id == Rep.id).where(Rep.team == user.team) if user.team else query.where(False)
    elif user.role == "rep":
        query = query.where(Call.rep_id == user.rep_id) if user.rep_id else query.where(False)
    return query


def can_see_call(session: Session, user: Principal, call_id: int) -> bool:
    return session.scalar(visible_calls(session, user).where(Call.id == call_id).limit(1)) is not None


def without_team(user: Principal) -> bool:
    """A manager who is in no team yet: they see no calls until an admin gives them one."""
    return user.role == "manager" and not user.team


def can_change(user: Principal) -> bool:
    """Reps read; managers and admins change calls (roles, notes, stages, deletion)."""
    return user.role in ("admin", "manager")


def can_administer(user: Principal) -> bool:
    """Only admins read and change workspace settings, users, reps' teams and the audit log."""
    return user.role == "admin"


def uploadable_reps(user: Principal):
    """A select() of the reps this user may upload calls for: all for an admin, their team's for a manager,
    none for a rep (reps read only)."""
    query = select(Rep)
    if user.role == "manager":
        return query.where(Rep.team == user.team) if user.team else query.where(False)  # no team is no one's team
    return query if can_administer(user) else query.where(False)
