"""Dashboard users: accounts (argon2id passwords), sign-in with a brake on guessing, activation, reps' teams.

Roles are `ROLES`; what each may see and change is `access.policy`. Every change is audited
(`access.audit`) in the same unit of work as the change itself.
"""

from __future__ import annotations

import datetime as dt
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from access.audit import audit
from db.models import AuditEvent, Rep, User, utcnow
from db.session import session_scope


ROLES = ("admin", "manager", "rep")
_hasher = PasswordHasher()  # argon2id with the library's current recommended cost
#: Failed sign-ins of one username within the window before further attempts are refused (slows guessing).
MAX_FAILED_SIGN_INS, SIGN_IN_WINDOW = 5, dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10


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


def sign_out_everywhere(username: str) -> None:
    """End every session of `username`, in any browser, and every session cookie issued so far (a copied one too)."""
    with session_scope() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is not None:
            user.signed_out_at = utcnow()


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
