"""Settings (admins only): rep analysis, retention and purge, users, reps, and the audit log.

Every change here is audited by the backend function that makes it (`access`)
or, for a deleted or merged rep, right after it; the audit log at the bottom shows them all.
"""

from __future__ import annotations

import streamlit as st

from access.audit import record
from access.retention import purge
from access.users import MIN_PASSWORD_LENGTH, ROLES, add_user, set_password, set_rep_team, set_user_active
from access.workspace import forced_rep_analysis, set_workspace
from calls.details import merge_reps
from calls.enrolment import list_enrolments, withdraw_enrolment
from calls.lifecycle import delete_rep
from dashboard import auth, data, ui
from pipeline.errors import NotFound
from reports.talk import AUDIO_NOT_KEPT, TALK_TIME_NOT_EMOTION

MAX_RETENTION_DAYS = 3650

viewer = auth.require_user(admin=True)
workspace = data.workspace()
st.title("Settings")

# ----------------------------------------------------------------------------- privacy
st.subheader("Rep analysis")
st.markdown(ui.REP_ANALYSIS_EXPLAINED)
forced = forced_rep_analysis()
current = bool(workspace.rep_analysis if forced is None else forced)
choice = st.radio("Rep analysis", list(ui.REP_ANALYSIS_CHOICES), index=int(current),
                  format_func=ui.REP_ANALYSIS_CHOICES.get, disabled=forced is not None,
                  help="Applies to calls uploaded from now on; each call keeps the choice it was analysed with.")
if forced is not None:
    st.caption(f"Set on the server with `RAPPORT_REP_ANALYSIS={'on' if forced else 'off'}`; change it there.")
elif st.button("Save rep analysis", icon=":material/save:", disabled=choice == current):
    set_workspace(viewer.username, rep_analysis=choice)
    st.toast(f"Rep analysis is now {'on' if choice else 'off'} for new calls.", icon=":material/privacy_tip:")
    st.rerun()
if workspace.updated_by and workspace.updated_at:
    st.caption(f"Last changed by {ui.literal(workspace.updated_by)} on {workspace.updated_at:%Y-%m-%d %H:%M} UTC.")
st.caption(f":material/record_voice_over: {TALK_TIME_NOT_EMOTION} {AUDIO_NOT_KEPT}")

st.subheader("Rep recognition")
st.markdown(ui.REP_RECOGNITION_EXPLAINED)
recognition = st.toggle("Recognise enrolled reps on their calls", value=workspace.rep_recognition)
if recognition != workspace.rep_recognition and st.button("Save rep recognition", icon=":material/save:"):
    set_workspace(viewer.username, rep_recognition=recognition)
    st.toast(f"Rep recognition is now {'on' if recognition else 'off'}.", icon=":material/privacy_tip:")
    st.rerun()
enrolments = list_enrolments()
if not enrolments:
    st.caption("No rep is enrolled.")
else:
    st.dataframe([{"rep": e.rep_name, "call": e.source_call_id, "person": e.person_no, "consent": e.consent_statement,
                   "by": e.confirmed_by, "at": e.confirmed_at} for e in enrolments], hide_index=True, width="stretch",
                 column_config={"rep": "Rep", "call": "From call", "person": "Person", "consent": "Their consent",
                                "by": "Recorded by", "at": st.column_config.DatetimeColumn("When (UTC)",
                                                                                           format="YYYY-MM-DD HH:mm")})
    enrolled = {e.rep_id: e.rep_name for e in enrolments}
    with st.container(horizontal=True, vertical_alignment="bottom"):
        withdrawn = st.selectbox("Enrolled rep", list(enrolled), format_func=enrolled.get, key="withdraw_rep")
        if st.button("Withdraw consent…", icon=":material/person_cancel:"):
            st.session_state.confirm_withdraw = withdrawn
    if st.session_state.get("confirm_withdraw") == withdrawn and ui.confirmed(
            "confirm_withdraw", f"Delete the face signature of **{ui.literal(enrolled[withdrawn])}**? Their later calls "
            "are no longer recognised (the rep position decides again).", "Yes, withdraw"):
        withdraw_enrolment(withdrawn, user=viewer, username=viewer.username)
        del st.session_state.confirm_withdraw
        st.toast(f"Withdrawn: {ui.literal(enrolled[withdrawn])}'s face signature is deleted.", icon=":material/delete:")
        st.rerun()

st.subheader("Retention")
with st.form("retention", border=True):
    left, middle, right = st.columns(3)
    video_days = left.number_input("Keep recordings and stills (days)", 1, MAX_RETENTION_DAYS,
                                   workspace.video_retention_days,
                                   help="Then the video and the annotated stills go; the per-second results stay.")
    data_days = middle.number_input("Keep per-second results and the whole call (days)", 1, MAX_RETENTION_DAYS,
                                   workspace.data_retention_days, help="Then the whole call goes, with every row.")
    audit_days = right.number_input("Keep the audit log (days)", 30, MAX_RETENTION_DAYS, workspace.audit_retention_days,
                                    help="Who signed in, viewed, exported or deleted what; older events go.")
    if st.form_submit_button("Save retention", icon=":material/save:"):
        if data_days < video_days:
            st.error("Results cannot be kept for less time than the recordings they come from.")
        else:
            set_workspace(viewer.username, video_retention_days=int(video_days), data_retention_days=int(data_days),
                          audit_retention_days=int(audit_days))
            st.rerun()
st.caption("Workers delete what is due once a day. Deleted files and rows cannot be recovered.")
if st.button("Run purge now", icon=":material/delete_sweep:"):
    report = purge(username=viewer.username)
    data.forget_cached()
    st.success(f"Deleted {report.videos_deleted} recording(s), {report.snapshot_files_deleted} still(s) and "
               f"{report.calls_deleted} whole call(s), {report.audit_events_deleted} old audit event(s) and "
               f"{report.enrolments_deleted} rep face signature(s).",
               icon=":material/delete_sweep:")

# ----------------------------------------------------------------------------- users
st.subheader("Users")
users, reps = data.users(viewer), data.reps(viewer)
st.dataframe(users.fillna({"team": "—", "rep": "—"}), hide_index=True, width="stretch", column_config={
    "username": "Username", "display_name": "Name", "role": "Role", "team": "Team", "rep": "Rep", "active": "Active",
    "created_at": st.column_config.DatetimeColumn("Added", format="D MMM YYYY")})
add_col, active_col = st.columns([3, 2])
with add_col.form("add-user", clear_on_submit=True, border=True):
    st.markdown("**Add a user**")
    a, b = st.columns(2)
    username = a.text_input("Username", max_chars=100)
    display_name = b.text_input("Name", max_chars=200)
    role = a.selectbox("Role", ROLES, index=ROLES.index("manager"))
    team = b.text_input("Team", help="A manager sees the calls of their team's reps; a new rep joins this team.")
    rep_name = a.selectbox("Rep (for a rep user)", list(reps["name"]), index=None,
                           accept_new_options=True, help="Whose calls a rep user may see.")
    password = b.text_input(f"First password ({MIN_PASSWORD_LENGTH}+ characters)", type="password", autocomplete="new-password",
                            help="Hand it over in person or by phone, never in the same message as the username.")
    if st.form_submit_button("Add user", icon=":material/person_add:"):
        try:
            if role == "manager" and not team.strip():
                raise ValueError("a manager needs a team: the team whose calls they see")
            add_user(username.strip(), password, role, team=team.strip() or None,
                     rep_name=rep_name if role == "rep" else None, display_name=display_name.strip() or None,
                     by=viewer.username)
        except ValueError as error:
            st.error(ui.literal(error))
        else:
            st.rerun()
with active_col.container(border=True):
    st.markdown("**Deactivate, reactivate or reset a password**")
    status = dict(zip(users["username"], users["active"]))
    who = st.selectbox("User", list(status), format_func=lambda u: u + ("" if status[u] else " (inactive)"))
    if who is not None and st.button("Reactivate" if not status[who] else "Deactivate",
                                     icon=":material/person_off:" if status[who] else ":material/person_check:"):
        try:
            set_user_active(who, not status[who], by=viewer.username)
        except ValueError as error:
            st.error(ui.literal(error))
        else:
            st.rerun()
    st.caption("A deactivated user is signed out at their next click and cannot sign in; their audit trail stays.")
    if who is not None:
        with st.form("reset-password", clear_on_submit=True, border=False):
            new_password = st.text_input(f"New password for {who} ({MIN_PASSWORD_LENGTH}+ characters)", type="password",
                                         autocomplete="new-password")
            if st.form_submit_button("Reset password", icon=":material/lock_reset:"):
                try:
                    set_password(who, new_password, by=viewer.username)
                except ValueError as error:
                    st.error(ui.literal(error))
                else:
                    st.success(f"Password of {ui.literal(who)} reset: hand it over in person or by phone.")

# ----------------------------------------------------------------------------- reps
st.subheader("Reps")
if reps.empty:
    st.caption("No reps yet: they are added when a call is uploaded for them, or with a rep user.")
else:
    st.dataframe(reps.drop(columns="id").fillna({"team": "—"}), hide_index=True, width="stretch",
                 column_config={"name": "Rep", "team": "Team", "calls": "Calls"})
    names = dict(zip(reps["id"], reps["name"]))
    teams = dict(zip(reps["id"], reps["team"].fillna("")))
    pick_col, team_col = st.columns(2)
    rep_id = pick_col.selectbox("Rep", list(names), format_func=names.get, key="settings_rep")
    new_team = team_col.text_input("Team", value=teams[rep_id], key=f"rep-team-{rep_id}",
                                   help="The team whose managers see this rep's calls.")
    with st.container(horizontal=True):
        if st.button("Save team", icon=":material/groups:", disabled=new_team.strip() == teams[rep_id]):
            set_rep_team(rep_id, new_team.strip() or None, by=viewer.username)
            data.forget_cached()
            st.rerun()
        if st.button("Delete rep…", icon=":material/person_remove:"):
            st.session_state.confirm_rep_delete = rep_id
    others = [i for i in names if i != rep_id]
    if others:
        with st.container(horizontal=True, vertical_alignment="bottom"):
            into = st.selectbox(f"Merge {names[rep_id]} into", others, format_func=names.get, index=None,
                                placeholder="The same person under another name…", key=f"merge-into-{rep_id}")
            if st.button("Merge…", icon=":material/merge:", disabled=into is None):
                st.session_state.confirm_rep_merge = (rep_id, into)
    if st.session_state.get("confirm_rep_merge", (None,))[0] == rep_id:
        merged, kept = st.session_state.confirm_rep_merge
        if ui.confirmed("confirm_rep_merge", f"Move every call and the sign-in of **{names[merged]}** to "
                        f"**{names[kept]}**, then remove **{names[merged]}**?", "Yes, merge"):
            try:
                moved = merge_reps(kept, merged)
            except (ValueError, NotFound) as error:
                st.error(str(error))
            else:
                record(viewer.username, "rep_merge", f"rep {kept}", merged=f"rep {merged} ({names[merged]})", calls=moved)
                data.forget_cached()
                del st.session_state.confirm_rep_merge
                st.toast(f"Merged {names[merged]} into {names[kept]} ({moved} call(s)).", icon=":material/merge:")
                st.rerun()
    if st.session_state.get("confirm_rep_delete") == rep_id and ui.confirmed(
            "confirm_rep_delete", f"Delete **{names[rep_id]}** for good? Every call of theirs goes with it "
            "(recordings, results, stills, notes), and so do their sign-in and any face signature.", "Yes, delete the rep"):
        try:
            n_calls = delete_rep(rep_id)
        except (ValueError, NotFound) as error:
            st.error(ui.literal(error))
        else:
            record(viewer.username, "rep_delete", f"rep {rep_id}", calls=n_calls)
            data.forget_cached()
            del st.session_state.confirm_rep_delete
            st.toast(f"Deleted {ui.literal(names[rep_id])} and {n_calls} call(s).", icon=":material/delete:")
            st.rerun()

# ----------------------------------------------------------------------------- audit log
st.subheader("Audit log")
usernames, actions = data.audit_choices(viewer)
user_col, action_col = st.columns(2)
by = user_col.selectbox("User", usernames, index=None, placeholder="Anyone", key="audit_user")
action = action_col.selectbox("Action", actions, index=None, placeholder="Any action", key="audit_action",
                              format_func=ui.action_words)
log = data.audit_log(viewer, by, action)
log = log.assign(action=log["action"].map(ui.action_words), target=log["target"].fillna("—"))
st.dataframe(log, hide_index=True, width="stretch", column_config={
    "at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"), "user": "User",
    "action": "Action", "target": "Target", "detail": "Detail"})
st.caption(f"The newest {len(log)} event(s){' matching the filters' if by or action else ''}.")
