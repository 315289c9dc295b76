"""Privacy and access: workspace settings, retention purge, users, roles, audit log.

Rapport processes faces (biometric data). Three rules live here so that every
entry point (CLI, worker, dashboard) applies them the same way:

* the rep-analysis switch (EU AI Act Art. 5(1)(f): no emotion inference on
  people at their workplace): `RAPPORT_REP_ANALYSIS` when set, else the admin's
  workspace choice; recorded on every call;
* retention: source videos and stills after `video_retention_days`, whole calls
  after `data_retention_days`, audit events after `audit_retention_days`; files go
  first, then rows;
* who may see what: admin everything, manager their team's reps, rep their own
  calls (read-only); anything else is "not found", never "forbidden".
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from config import get_settings
from db.models import AuditEvent, Call, CallStatus, Rep, Snapshot, Track, User, Workspace, utcnow
from db.session import session_scope

ROLES = ("admin", "manager", "rep")
_hasher = PasswordHasher()  # argon2id with the library's current recommended cost
#: Failed sign-ins of one username within the window before further attempts are refused (slows guessing).
MAX_FAILED_SIGN_INS, SIGN_IN_WINDOW = 5, dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
ANALYSING = (CallStatus.QUEUED, CallStatus.RUNNING)  # calls retention leaves alone until their analysis ends


# ----------------------------------------------------------------------------- workspace
WORKSPACE_ID = 1  # the one row the schema allows (ck_workspace_single_row)


def get_workspace(session: Session) -> Workspace:
    """The workspace row, made on first use. Two processes starting on a fresh store both try; the schema lets
    one insert win and the other reads the winner's row."""
    workspace = session.get(Workspace, WORKSPACE_ID)
    if workspace is not None:
        return workspace
    insert = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}[session.get_bind().dialect.name]
    session.execute(insert(Workspace).values(id=WORKSPACE_ID, video_retention_days=30, data_retention_days=365,
                                             audit_retention_days=730).on_conflict_do_nothing(index_elements=["id"]))
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


# ----------------------------------------------------------------------------- retention
@dataclass
class PurgeReport:
    videos_deleted: int = 0
    snapshot_files_deleted: int = 0
    calls_deleted: int = 0
    call_ids: list[int] = field(default_factory=list)
    audit_events_deleted: int = 0


def purge(dry_run: bool = False, now: dt.datetime | None = None, username: str = "retention") -> PurgeReport:
    """Delete what retention says is due: media of old calls, whole calls past data retention, old audit events."""
    settings = get_settings()
    now = now or utcnow()
    report = PurgeReport()
    with session_scope() as session:
        workspace = get_workspace(session)
        media_cutoff = now - dt.timedelta(days=workspace.video_retention_days)
        data_cutoff = now - dt.timedelta(days=workspace.data_retention_days)
        audit_cutoff = now - dt.timedelta(days=workspace.audit_retention_days)
        idle = Call.status.not_in(ANALYSING)  # a call being analysed (or retried) waits for the next purge
        media_due = session.scalars(select(Call).where(Call.created_at < media_cutoff, Call.media_purged_at.is_(None),
                                                       idle)).all()
        calls_due = session.scalars(select(Call).where(Call.created_at < data_cutoff, idle)).all()
        for call in media_due:
            source = settings.data_dir / call.source_path if call.source_path else None
            stills = sorted((settings.data_dir / "snapshots" / str(call.id)).rglob("*.jpg"))
            if not dry_run:
                # Fenced: a retry that queued the call since it was read keeps its recording.
                if not session.execute(update(Call).where(Call.id == call.id, idle)
                                       .values(source_path=None, media_purged_at=now)).rowcount:
                    continue
            report.videos_deleted += int(bool(source and source.exists()))
            report.snapshot_files_deleted += len(stills)
            if dry_run:
                continue
            if source:
                source.unlink(missing_ok=True)
            for folder in ("snapshots", "renders"):  # stills, and the playable copy of the recording
                shutil.rmtree(settings.data_dir / folder / str(call.id), ignore_errors=True)
            session.execute(delete(Snapshot).where(Snapshot.call_id == call.id))
            session.execute(update(Track).where(Track.call_id == call.id).values(thumbnail_path=None))
        for call in calls_due:
            if not dry_run:
                # Fenced: a retry that queued the call since it was read keeps it (and its files).
                if not session.execute(delete(Call).where(Call.id == call.id, idle)).rowcount:
                    continue
                delete_call_files(call.id, call.source_path)
            report.calls_deleted += 1
            report.call_ids.append(call.id)
        report.audit_events_deleted = session.scalar(select(func.count()).where(AuditEvent.at < audit_cutoff))
        if not dry_run:
            session.execute(delete(AuditEvent).where(AuditEvent.at < audit_cutoff))
            audit(session, username, "purge", None, videos=report.videos_deleted, calls=report.calls_deleted,
                  snapshots=report.snapshot_files_deleted, audit_events=report.audit_events_deleted)
        else:
            session.rollback()
    return report


def delete_call_files(call_id: int, source_path: str | None) -> None:
    """Every file a call owns: its upload and its per-call folders (stills, thumbnails, reports, renders)."""
    data_dir = get_settings().data_dir
    if source_path:
        (data_dir / source_path).unlink(missing_ok=True)
    for folder in ("snapshots", "reports", "renders"):
        shutil.rmtree(data_dir / folder / str(call_id), ignore_errors=True)


# ----------------------------------------------------------------------------- users and access
def add_user(username: str, password: str, role: str, *, team: str | None = None, rep_name: str | None = None,
             display_name: str | None = None, by: str = "cli") -> int:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    _check_password(password)
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


def sign_in_blocked(username: str, now: dt.datetime | None = None) -> bool:
    """Too many recent failed sign-ins for this username: refuse more tries for a while (password guessing)."""
    since = (now or utcnow()) - SIGN_IN_WINDOW
    with session_scope() as session:
        failures = session.scalars(select(AuditEvent.id).where(
            AuditEvent.username == username, AuditEvent.action == "sign_in_failed", AuditEvent.at >= since)).all()
    return len(failures) >= MAX_FAILED_SIGN_INS


def authenticate(username: str, password: str) -> User | None:
    """The active user with that password, or None; every attempt is audited."""
    with session_scope() as session:
        user = active_user(session, username)
        stored = user.password_hash if user is not None else _unknown_user_hash()
        # an unknown name costs the same hashing as a known one: timing does not tell which names exist
        ok = _verifies(stored, password) and user is not None
        if ok and user is not None and _hasher.check_needs_rehash(stored):
            user.password_hash = _hasher.hash(password)
        audit(session, username, "sign_in" if ok else "sign_in_failed", None)
        return user if ok else None


def set_password(username: str, new_password: str, *, by: str, current_password: str | None = None) -> None:
    """Change a password: the user themself gives the current one; an admin (or the server CLI) resets without it."""
    _check_password(new_password)
    with session_scope() as session:
        user = active_user(session, username)
        if user is None:
            raise ValueError(f"no active user {username!r}")
        if current_password is None or _verifies(user.password_hash, current_password):
            user.password_hash = _hasher.hash(new_password)
            audit(session, by, "password_change" if current_password is not None else "password_reset", username)
            return
        audit(session, username, "password_change_failed", username)  # committed: this scope ends without an error
    raise ValueError("the current password is wrong")


def _verifies(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except VerificationError:
        return False


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")


@cache
def _unknown_user_hash() -> str:
    return _hasher.hash(secrets.token_hex(16))


def active_user(session: Session, username: str) -> User | None:
    """Looked up on every use, so deactivating a user takes effect at their next click."""
    return session.scalar(select(User).where(User.username == username, User.active.is_(True)))


def set_user_active(username: str, active: bool, by: str) -> None:
    """Deactivate (or reactivate) a user; the last active admin cannot be deactivated (nobody could sign in to fix it)."""
    with session_scope() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise ValueError(f"no user {username!r}")
        if not active and user.role == "admin" and user.active:
            admins = session.scalars(select(User.id).where(User.role == "admin", User.active.is_(True))).all()
            if len(admins) == 1:
                raise ValueError("this is the last active admin: add another admin first")
        user.active = active
        audit(session, by, "user_activate" if active else "user_deactivate", username)


def set_rep_team(rep_id: int, team: str | None, by: str) -> None:
    """Move a rep to a team: from then on that team's managers (and no other's) see the rep's calls."""
    with session_scope() as session:
        rep = session.get(Rep, rep_id)
        if rep is None:
            raise ValueError(f"no rep {rep_id}")
        audit(session, by, "rep_team_change", f"rep {rep_id}", old=rep.team or "", new=team or "")
        rep.team = team


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


def audit(session: Session, username: str | None, action: str, target: str | None, **detail) -> None:
    session.add(AuditEvent(username=username, action=action, target=target, detail=detail))


def record(username: str | None, action: str, target: str | None, **detail) -> None:
    """`audit` in a unit of work of its own: for actions whose own work is done elsewhere (a view, an export)."""
    with session_scope() as session:
        audit(session, username, action, target, **detail)
