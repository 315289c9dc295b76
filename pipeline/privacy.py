"""Privacy and access: workspace settings, retention purge, users, roles, audit log.

Rapport processes faces (biometric data). Three rules live here so that every
entry point (CLI, worker, dashboard) applies them the same way:

* the rep-analysis switch (EU AI Act Art. 5(1)(f): no emotion inference on
  people at their workplace): `RAPPORT_REP_ANALYSIS` when set, else the admin's
  workspace choice; recorded on every call;
* retention: source videos and stills after `video_retention_days`, whole calls
  after `data_retention_days`; files go first, then rows;
* who may see what: admin everything, manager their team's reps, rep their own
  calls (read-only); anything else is "not found", never "forbidden".
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from config import get_settings
from db.models import AuditEvent, Call, Rep, Snapshot, User, Workspace, utcnow
from db.session import session_scope

ROLES = ("admin", "manager", "rep")
_hasher = PasswordHasher()  # argon2id with the library's current recommended cost


# ----------------------------------------------------------------------------- workspace
def get_workspace(session: Session) -> Workspace:
    workspace = session.scalar(select(Workspace).limit(1))
    if workspace is None:
        workspace = Workspace(video_retention_days=30, data_retention_days=365)
        session.add(workspace)
        session.flush()
    return workspace


def rep_analysis_enabled(session: Session) -> bool:
    """The environment overrides the workspace; until the admin chooses, the rep is not analysed."""
    forced = os.environ.get("RAPPORT_REP_ANALYSIS")
    if forced is not None:
        return get_settings().rep_analysis
    return bool(get_workspace(session).rep_analysis)


def set_workspace(username: str, **changes) -> None:
    with session_scope() as session:
        workspace = get_workspace(session)
        for key, value in changes.items():
            if not hasattr(Workspace, key) or key in ("id", "updated_by", "updated_at"):
                raise ValueError(f"unknown workspace setting {key!r}")
            setattr(workspace, key, value)
        workspace.updated_by, workspace.updated_at = username, utcnow()
        audit(session, username, "settings_change", "workspace", **{k: str(v) for k, v in changes.items()})


# ----------------------------------------------------------------------------- retention
@dataclass
class PurgeReport:
    videos_deleted: int = 0
    snapshot_files_deleted: int = 0
    calls_deleted: int = 0
    call_ids: list[int] = field(default_factory=list)


def purge(dry_run: bool = False, now: dt.datetime | None = None, username: str = "retention") -> PurgeReport:
    """Delete what retention says is due: media of old calls, then whole calls past data retention."""
    settings = get_settings()
    now = now or utcnow()
    report = PurgeReport()
    with session_scope() as session:
        workspace = get_workspace(session)
        media_cutoff = now - dt.timedelta(days=workspace.video_retention_days)
        data_cutoff = now - dt.timedelta(days=workspace.data_retention_days)
        media_due = session.scalars(select(Call).where(Call.created_at < media_cutoff, Call.media_purged_at.is_(None))).all()
        calls_due = session.scalars(select(Call).where(Call.created_at < data_cutoff)).all()
        for call in media_due:
            source = settings.data_dir / call.source_path if call.source_path else None
            stills = sorted((settings.data_dir / "snapshots" / str(call.id)).rglob("*.jpg"))
            report.videos_deleted += int(bool(source and source.exists()))
            report.snapshot_files_deleted += len(stills)
            if dry_run:
                continue
            if source:
                source.unlink(missing_ok=True)
            shutil.rmtree(settings.data_dir / "snapshots" / str(call.id), ignore_errors=True)
            session.execute(delete(Snapshot).where(Snapshot.call_id == call.id))
            call.source_path, call.media_purged_at = None, now
        for call in calls_due:
            report.calls_deleted += 1
            report.call_ids.append(call.id)
            if not dry_run:
                _delete_call_files(call)
                session.delete(call)
        if not dry_run:
            audit(session, username, "purge", None, videos=report.videos_deleted, calls=report.calls_deleted,
                  snapshots=report.snapshot_files_deleted)
        else:
            session.rollback()
    return report


def _delete_call_files(call: Call) -> None:
    data_dir = get_settings().data_dir
    if call.source_path:
        (data_dir / call.source_path).unlink(missing_ok=True)
    for folder in ("snapshots", "reports", "renders"):
        shutil.rmtree(data_dir / folder / str(call.id), ignore_errors=True)


# ----------------------------------------------------------------------------- users and access
def add_user(username: str, password: str, role: str, *, team: str | None = None, rep_name: str | None = None,
             display_name: str | None = None, by: str = "cli") -> int:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if len(password) < 10:
        raise ValueError("passwords need at least 10 characters")
    if role == "rep" and not rep_name:
        raise ValueError("a rep user needs --rep NAME: the rep whose calls they may see")
    with session_scope() as session:
        if session.scalar(select(User).where(User.username == username)):
            raise ValueError(f"user {username!r} already exists")
        rep = None
        if rep_name:
            rep = session.scalar(select(Rep).where(Rep.name == rep_name)) or Rep(name=rep_name, team=team)
            session.add(rep)
            session.flush()
        user = User(username=username, display_name=display_name or username, password_hash=_hasher.hash(password),
                    role=role, team=team, rep_id=rep.id if rep else None)
        session.add(user)
        session.flush()
        audit(session, by, "user_added", username, role=role, team=team or "")
        return user.id


def authenticate(username: str, password: str) -> User | None:
    """The active user with that password, or None; every attempt is audited."""
    with session_scope() as session:
        user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
        ok = False
        if user is not None:
            try:
                ok = _hasher.verify(user.password_hash, password)
            except VerificationError:
                ok = False
            if ok and _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(password)
        audit(session, username, "sign_in" if ok else "sign_in_failed", None)
        return user if ok else None


def visible_calls(session: Session, user: User):
    """A select() of the calls this user may see."""
    query = select(Call)
    if user.role == "manager":
        query = query.join(Rep, Call.rep_id == Rep.id).where(Rep.team == user.team)
    elif user.role == "rep":
        query = query.where(Call.rep_id == user.rep_id) if user.rep_id else query.where(False)
    return query


def can_see_call(session: Session, user: User, call_id: int) -> bool:
    return session.scalar(visible_calls(session, user).where(Call.id == call_id).limit(1)) is not None


def can_change(user: User) -> bool:
    """Reps read; managers and admins change calls (roles, notes, stages, deletion)."""
    return user.role in ("admin", "manager")


def audit(session: Session, username: str | None, action: str, target: str | None, **detail) -> None:
    session.add(AuditEvent(username=username, action=action, target=target, detail=detail))
