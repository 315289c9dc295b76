"""Sign-in for every page, who is signed in, and the one choice an admin must make before anyone starts.

Only the username lives in this browser session's `st.session_state`; the user's
row is read again on every run, so deactivating someone (or changing their role)
takes effect at their next click, and a session idle longer than
`RAPPORT_SESSION_IDLE_MINUTES` is signed out.

A refresh or a new tab is a new Streamlit session, so sign-in also leaves a signed,
expiring cookie (`SESSION_COOKIE`: the username and the time it was issued, signed
with itsdangerous; Streamlit 1.67's `st.login` is OpenID Connect only and
`st.context.cookies` can only read). It lives as long as the idle limit and is
re-issued while the user is active, so an idle browser is signed out whether or not
it is refreshed. The key is `RAPPORT_SESSION_SECRET`, else one made once under the
data folder. Sign-out deletes the cookie, empties the address (no call id is left for
the next person) and opens the calls list. Sign-in and sign-out show nothing else until the
browser reports the cookie written or deleted, so a refresh right after finds it. A sign-out also
ends, on the server, every session and cookie of that user begun before it (`User.signed_out_at`):
other tabs, other browsers, a copied cookie. Every page starts with `require_user()`, and
nothing of a page renders before it returns. Passwords are checked by
`access.users.authenticate` (argon2id), which audits every attempt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import time
from dataclasses import dataclass, replace

import streamlit as st
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from access import audit, policy, users, workspace
from config import SESSION_KEY_FILE, get_settings
from dashboard import ui
from db.models import RETENTION_DEFAULTS, AuditEvent, User
from db.session import session_scope

SESSION_KEY = "signed_in_user"
SIGNED_IN_AT_KEY = "_signed_in_at"  # time.time() of this session's sign-in (or its cookie's issue): a sign-out ends it
LAST_SEEN_KEY = "_last_seen"  # time.time() of this session's latest run
IDLE_NOTICE_KEY = "_signed_out_idle"
SESSION_COOKIE = "rapport_session"
COOKIE_REISSUE_FRACTION = 0.25  # re-issue the cookie once this share of its lifetime has passed (a few times an hour)
COOKIE_STATE_KEY = "_cookie"  # a _CookiePlan: what this browser's session cookie should be


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as pages need them: hashable, so cached reads can be keyed on who may see what."""

    username: str
    display_name: str
    role: str
    team: str | None
    rep_id: int | None

    @property
    def can_change(self) -> bool:
        return policy.can_change(self)

    @property
    def is_admin(self) -> bool:
        return policy.can_administer(self)


@dataclass(frozen=True)
class _CookiePlan:
    """What this browser's session cookie should be, and whether the browser has said it is so."""

    token: str
    """The signed token to keep; "" deletes the cookie (after a sign-out)."""
    confirmed_at: float | None
    """When the browser reported it wrote `token` (time.time()), or None while that report is awaited."""
    wait: bool
    """Nothing of the page renders until the browser confirms: at sign-in and sign-out, where a refresh or a link
    opened right after must find the new cookie (a trial signed in, navigated within a second and met the sign-in
    form again), not while an active user's cookie is re-issued (the old one is still valid)."""


@dataclass(frozen=True)
class _Gate:
    viewer: Viewer | None
    any_user: bool
    workspace_ready: bool


def require_user(*, admin: bool = False) -> Viewer:
    """The signed-in user; otherwise the sign-in form (or the first-run screen) and nothing else: the page stops."""
    gate = _gate(_signed_in_username())
    if not _sync_cookie(gate.viewer.username if gate.viewer else None):
        st.caption("Signing in…" if gate.viewer else "Signing out…")
        st.stop()  # the browser's report of the written cookie reruns the page
    if gate.viewer is None:
        st.session_state.pop(SESSION_KEY, None)
        with st.columns([1, 2, 1])[1]:  # a narrow form in the middle
            _sign_in_form(gate.any_user)
        st.stop()
    viewer = gate.viewer
    if not gate.workspace_ready:
        account_sidebar(viewer)  # who is signed in, and the way out, from the first screen on
        if viewer.is_admin:
            _first_run(viewer)
        else:
            st.title("Rapport")
            st.info("The workspace is being set up: an admin is choosing its privacy settings. Please come back soon.",
                    icon=":material/hourglass_top:")
        st.stop()
    if admin and not viewer.is_admin:
        st.title("Settings")
        st.error("Only admins can open this page.")
        st.stop()
    return viewer


def current_viewer() -> Viewer | None:
    """The signed-in user once the workspace is set up, else None; renders nothing (the app's navigation asks)."""
    gate = _gate(_signed_in_username())
    return gate.viewer if gate.workspace_ready else None


def _ended(user: User, signed_in_at: float) -> bool:
    """Whether the user signed out (anywhere) after this session or cookie began (whole seconds: a cookie's issue
    time is kept in seconds)."""
    if user.signed_out_at is None:
        return False
    return int(signed_in_at) < int(user.signed_out_at.replace(tzinfo=dt.timezone.utc).timestamp())


def _signed_in_username() -> str | None:
    """This session's user, unless idle past the limit: then it is signed out (a shared or unlocked screen)."""
    username, now = st.session_state.get(SESSION_KEY), time.time()
    if username is None:
        username = _resume_from_cookie()
    idle_s = now - st.session_state.get(LAST_SEEN_KEY, now)
    if username and idle_s > get_settings().session_idle_minutes * 60:
        audit.record(username, "sign_out", None, reason="idle", idle_minutes=round(idle_s / 60))
        _forget_session(wait=False)  # the cookie expired in the browser already: it lives the idle limit from its issue
        st.session_state[IDLE_NOTICE_KEY] = True
        return None
    st.session_state[LAST_SEEN_KEY] = now
    return username


def media_viewer(state) -> str | None:
    """The username a session's state is signed in as, if still valid (active user, not idle past the limit):
    what `dashboard.media_gate` asks before it hands that session's browser a recording, still or report."""
    username = state[SESSION_KEY] if SESSION_KEY in state else None
    last_seen = state[LAST_SEEN_KEY] if LAST_SEEN_KEY in state else None
    if not username or last_seen is None or time.time() - last_seen > get_settings().session_idle_minutes * 60:
        return None
    with session_scope() as session:
        return username if users.active_user(session, username) is not None else None


# ----------------------------------------------------------------------------- the session cookie
def _serializer() -> URLSafeTimedSerializer:
    settings = get_settings()
    secret = settings.session_secret
    if not secret:
        path = settings.data_dir / SESSION_KEY_FILE
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
        secret = path.read_text().strip()
    return URLSafeTimedSerializer(secret, salt="rapport-session")


def _cookie_lifetime_s() -> float:
    return get_settings().session_idle_minutes * 60


def _resume_from_cookie() -> str | None:
    """The user a valid, unexpired session cookie names (a refresh or a new tab), or None. Never after a sign-out
    in this session: the cookie Streamlit read when the page loaded is stale then."""
    plan = st.session_state.get(COOKIE_STATE_KEY)
    if plan is not None and not plan.token:
        return None
    token = st.context.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        username, issued = _serializer().loads(token, max_age=_cookie_lifetime_s(), return_timestamp=True)
    except BadSignature:  # tampered, another server's key, or expired (SignatureExpired is a BadSignature)
        return None
    with session_scope() as session:
        user = users.active_user(session, username)
        if user is None or _ended(user, issued.timestamp()):  # signed out since (a copied cookie, another tab)
            return None
    st.session_state[SESSION_KEY] = username
    st.session_state[SIGNED_IN_AT_KEY] = issued.timestamp()
    st.session_state[COOKIE_STATE_KEY] = _CookiePlan(token, time.time(), wait=False)  # this browser has it already
    _audit_resume(username, issued.timestamp())
    return username


def _audit_resume(username: str, issued: float) -> None:
    """Logs a "session_resume" once per cookie issue, not per page load: every refresh, new tab or typed address
    resumes a session (a new-user trial's log held 31 in 6 minutes, burying the views and exports among them). The
    cookie is re-issued a few times an hour (`COOKIE_REISSUE_FRACTION`), so a browser that keeps coming back is
    still logged about that often."""
    cookie_issued = dt.datetime.fromtimestamp(issued, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    with session_scope() as session:
        last = session.scalar(select(AuditEvent).where(AuditEvent.username == username,
                                                       AuditEvent.action == "session_resume")
                              .order_by(AuditEvent.id.desc()).limit(1))
        if last is None or (last.detail or {}).get("cookie_issued") != cookie_issued:
            audit.audit(session, username, "session_resume", None, cookie_issued=cookie_issued)


def _issue_cookie(username: str, *, wait: bool) -> None:
    st.session_state[COOKIE_STATE_KEY] = _CookiePlan(_serializer().dumps(username), None, wait)


def _forget_session(*, wait: bool) -> None:
    """Sign out this session: forget everything it held and delete the cookie at the next run (`wait`: see
    `_CookiePlan.wait`)."""
    st.session_state.clear()
    st.session_state[COOKIE_STATE_KEY] = _CookiePlan("", None, wait)


_COOKIE_JS = """
export default function({ data, setStateValue }) {
  if (!data || !data.name) return;
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = data.name + '=' + data.value + '; Path=/; Max-Age=' + data.max_age + '; SameSite=Strict' + secure;
  setStateValue('written', data.value);
}
"""
_cookie_writer = st.components.v2.component("rapport_session_cookie", js=_COOKIE_JS)


def _sync_cookie(username: str | None) -> bool:
    """Write what the browser's cookie should be: set at sign-in and re-issued while active; deleted after sign-out.

    Returns False while the page must wait for the browser to confirm (`_CookiePlan.wait`); its report reruns it.
    """
    plan = st.session_state.get(COOKIE_STATE_KEY)
    if plan is None or bool(username) != bool(plan.token):
        return True
    if username and plan.confirmed_at is not None and \
            time.time() - plan.confirmed_at > COOKIE_REISSUE_FRACTION * _cookie_lifetime_s():
        _issue_cookie(username, wait=False)  # still active: a fresh lifetime
        plan = st.session_state[COOKIE_STATE_KEY]
    if plan.confirmed_at is not None:
        return True
    written = _cookie_writer(data={"name": SESSION_COOKIE, "value": plan.token,
                                   "max_age": round(_cookie_lifetime_s()) if plan.token else 0},
                             height=0, key=cookie_writer_key(plan.token), on_written_change=lambda: None)
    if written.written == plan.token or not plan.wait:  # a re-issue is written once: the old cookie is still valid
        st.session_state[COOKIE_STATE_KEY] = replace(plan, confirmed_at=time.time())
        return True
    return False


def cookie_writer_key(token: str) -> str:
    """The cookie writer's element key for `token` ("" deletes): a digest, since a key may not hold the "__" a token
    can (a trial's sign-in failed on one)."""
    return "cookie-" + (hashlib.sha256(token.encode()).hexdigest()[:16] if token else "clear")


def _gate(username: str | None) -> _Gate:
    with session_scope() as session:
        user = users.active_user(session, username) if username else None
        if user is not None and _ended(user, st.session_state.get(SIGNED_IN_AT_KEY, 0.0)):
            user = None  # signed out in another tab or browser since this session began
        any_user = user is not None or session.scalar(select(User.id).limit(1)) is not None
        chosen = workspace.forced_rep_analysis() is not None or workspace.get_workspace(session).rep_analysis is not None
    viewer = None if user is None else Viewer(user.username, user.display_name or user.username, user.role, user.team,
                                               user.rep_id)
    return _Gate(viewer, any_user, chosen)


SIGN_IN_REFUSAL_KEY = "sign_in_refusal"
"""Session-state key of why the last sign-in attempt was refused, shown once under the form drawn again."""
PASSWORD_FIELD_KEY = "sign_in_password"
"""Session-state key of the sign-in form's password field (emptied after a refused attempt)."""


def _sign_in_form(any_user: bool) -> None:
    st.title("Sign in to Rapport")
    if not any_user:
        st.info("No users yet. Create the first admin on the server, then sign in here:\n\n"
                "`python -m pipeline add-user NAME --role admin`", icon=":material/admin_panel_settings:")
        return
    if st.session_state.pop(IDLE_NOTICE_KEY, False):
        st.info(f"You were signed out after {get_settings().session_idle_minutes:g} minutes without activity.",
                icon=":material/timer_off:")
    # A refused attempt keeps the username and empties the password (a trial: both emptied, it retyped the password
    # only and was refused again): the form is drawn again, by a rerun, with the refusal under it.
    refusal = st.session_state.pop(SIGN_IN_REFUSAL_KEY, None)
    if refusal:
        st.session_state[PASSWORD_FIELD_KEY] = ""
    with st.form("sign-in", border=True):
        username = st.text_input("Username", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password", key=PASSWORD_FIELD_KEY)
        submitted = st.form_submit_button("Sign in", type="primary", icon=":material/login:")
    if refusal:
        st.error(refusal)
    st.caption("Rapport reads likely emotions from faces in sales calls. What you see depends on your role, "
               "and sign-ins, views and exports are logged.")
    if not submitted:
        return
    username = username.strip()
    if users.sign_in_blocked(username):
        st.session_state[SIGN_IN_REFUSAL_KEY] = (f"Too many failed attempts for this user: try again in "
                                                 f"{users.SIGN_IN_WINDOW.seconds // 60} minutes.")
        st.rerun()
    elif users.authenticate(username, password) is None:
        st.session_state[SIGN_IN_REFUSAL_KEY] = "Wrong username or password."
        st.rerun()
    else:
        st.session_state[SESSION_KEY] = username
        st.session_state[SIGNED_IN_AT_KEY] = time.time()
        _issue_cookie(username, wait=True)
        st.rerun()


def _first_run(viewer: Viewer) -> None:
    st.title("Welcome to Rapport")
    st.markdown("Before anyone uploads a call, choose whether Rapport may read **your reps'** emotions.")
    st.markdown(ui.REP_ANALYSIS_EXPLAINED)
    choice = st.radio("Rep analysis", list(ui.REP_ANALYSIS_CHOICES), format_func=ui.REP_ANALYSIS_CHOICES.get, index=None)
    st.caption(f"Recordings and stills are kept {RETENTION_DEFAULTS['video_retention_days']} days, per-second results "
               f"{RETENTION_DEFAULTS['data_retention_days']} days; change this, and this choice, "
               "under **Settings**. Each call records the choice in force when it was uploaded.")
    if st.button("Save and continue", type="primary", disabled=choice is None):
        workspace.set_workspace(viewer.username, rep_analysis=choice)
        st.rerun()


def account_sidebar(viewer: Viewer) -> None:
    """Who is signed in, and the way out (which forgets everything this session held)."""
    with st.sidebar:
        st.caption(f"Signed in as **{ui.literal(viewer.display_name)}** · {viewer.role}")
        with st.popover("Change password", icon=":material/key:"):
            _change_password_form(viewer)
        if st.button("Sign out", icon=":material/logout:"):
            audit.record(viewer.username, "sign_out", None)
            users.sign_out_everywhere(viewer.username)
            _forget_session(wait=True)
            st.query_params.clear()  # no call id left in the address for whoever signs in next
            st.switch_page(ui.CALLS_PAGE)


def _change_password_form(viewer: Viewer) -> None:
    with st.form("change-password", clear_on_submit=True, border=False):
        current = st.text_input("Current password", type="password", autocomplete="current-password")
        new = st.text_input(f"New password ({users.MIN_PASSWORD_LENGTH}+ characters)", type="password",
                            autocomplete="new-password")
        again = st.text_input("New password again", type="password", autocomplete="new-password")
        if not st.form_submit_button("Change password"):
            return
    if new != again:
        st.error("The two new passwords differ.")
        return
    try:
        users.set_password(viewer.username, new, by=viewer.username, current_password=current)
    except ValueError as error:
        st.error(f"{str(error)[:1].upper()}{str(error)[1:]}.")
    else:
        st.success("Password changed.")


def record_view(viewer: Viewer, call_id: int) -> None:
    """Audit a user opening a call, once per call per session (a rerun of the page is not a new view)."""
    seen = st.session_state.setdefault("_viewed_calls", set())
    if call_id not in seen:
        audit.record(viewer.username, "call_view", f"call {call_id}")
        seen.add(call_id)
