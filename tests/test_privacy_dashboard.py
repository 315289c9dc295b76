"""Sign-in, roles, the first-run choice, rep analysis off, deletion and the audit trail, through the dashboard's pages.

Pages run with Streamlit's AppTest against a seeded store; users come from
`tools.seed.USERS`: ada (admin), mo (manager of the seeded reps' team "Mid-market"),
dana (rep user of Dana Whitfield) and erin (manager of "Enterprise").
"""

from __future__ import annotations

import hashlib
import io
import time

import pytest
from pypdf import PdfReader
import streamlit as st
from sqlalchemy import delete, func, select
from streamlit.testing.v1 import AppTest

from config import REPO_ROOT, get_settings
from db.models import AuditEvent, Call, EmotionSecond, Rep, Snapshot, Track, TrackSecond, User, Workspace
from db.session import session_scope
from pipeline.errors import NotFound
from reports import exports, report
from reports.csv_export import export_csv
from reports.summary import REP_ANALYSIS_OFF
from tests.test_dashboard_pages import texts
from tools.seed import PASSWORD, TEAM, seed_call, seed_team, seed_users, sign_in

APP = REPO_ROOT / "dashboard" / "app.py"
PAGES = REPO_ROOT / "dashboard" / "views"


@pytest.fixture
def seeded(store, monkeypatch, videos):
    """The Mid-market team's calls (Dana's among them, one with a recording), one Enterprise call, and the users."""
    monkeypatch.setenv("RAPPORT_LOCAL_WORKER", "0")
    get_settings.cache_clear()  # read after the store fixture: the app must not start a worker of its own
    st.cache_data.clear()
    st.cache_resource.clear()
    team = seed_team(days=1)
    dana = seed_call(title="Dana's Acme call", rep="Dana Whitfield", duration_s=60, seed=1, video=videos["gallery.mp4"])
    marcus = seed_call(title="Marcus's Globex call", rep="Marcus Chen", duration_s=60, seed=2)
    enterprise = seed_call(title="Hooli enterprise deal", rep="Zed Ortiz", team="Enterprise", duration_s=60, seed=3)
    seed_users()
    yield {"team": team, "dana": dana, "marcus": marcus, "enterprise": enterprise}
    st.cache_data.clear()
    st.cache_resource.clear()


def run(page: str, user: str | None, call: int | None = None, **state) -> AppTest:
    """One page (or the whole app: page="app"), signed in as `user` (None: not signed in), `?call=` if given."""
    at = AppTest.from_file(str(APP if page == "app" else PAGES / f"{page}.py"), default_timeout=60)
    if user is not None:
        sign_in(at, user)
    if call is not None:
        at.query_params["call"] = str(call)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def browser_reports_cookie(at: AppTest) -> AppTest:
    """What the browser does when the page asks it to write the session cookie (AppTest runs no JavaScript):
    the cookie component reports the token it wrote, which reruns the page."""
    from dashboard.auth import COOKIE_STATE_KEY, cookie_writer_key

    token = at.session_state[COOKIE_STATE_KEY].token
    at.session_state[cookie_writer_key(token)] = {"written": token}
    return at.run()


def audit_rows(action: str) -> list[tuple[str | None, str | None]]:
    with session_scope() as session:
        rows = session.execute(select(AuditEvent.username, AuditEvent.target).where(AuditEvent.action == action)
                               .order_by(AuditEvent.id))
        return [tuple(row) for row in rows]


def call_titles() -> set[str]:
    with session_scope() as session:
        return set(session.scalars(select(Call.title)))


# ----------------------------------------------------------------------------- sign-in
def test_every_page_asks_for_sign_in_and_shows_no_data_before_it(seeded):
    titles = call_titles()
    for page in ("app", "calls", "review", "reps", "upload", "settings"):
        at = run(page, None, call=seeded["dana"].call_id)
        assert not at.exception, page
        assert at.title[0].value == "Sign in to Rapport", page
        shown = texts(at)
        assert not any(title in shown for title in titles), page
        assert not at.dataframe and not at.metric and not at.download_button and not at.get("plotly_chart"), page


def test_sign_in_with_the_form_then_sign_out(seeded):
    at = run("app", None)
    username, password = at.text_input
    username.input("mo")
    password.input("not the password")
    at = at.button[0].click().run()
    assert any("Wrong username or password" in e.value for e in at.error)
    assert at.title[0].value == "Sign in to Rapport"

    username, password = at.text_input
    assert (username.value, password.value) == ("mo", "")  # the username kept for a second try, the password not
    password.input(PASSWORD)
    at = at.button[0].click().run()
    assert [c.value for c in at.caption] == ["Signing in…"] and not at.title  # nothing until the browser has the cookie
    at = browser_reports_cookie(at)
    assert not at.exception
    assert at.title[0].value == "Calls"
    assert "Signed in as **Mo Manager** · manager" in [c.value for c in at.sidebar.caption]

    from dashboard.auth import cookie_writer_key

    # a token may end in "__", which Streamlit refuses in an element key (a trial's sign-in died on one)
    assert cookie_writer_key("Im1vIg.aw8MZw.pi74ze3j0Xi__B25OW0A").replace("cookie-", "").isalnum()
    other_tab = run("calls", "mo", _signed_in_at=time.time() - 60)  # another tab (or browser) of hers, signed in before
    assert other_tab.title[0].value == "Calls"
    at = next(b for b in at.sidebar.button if b.label == "Sign out").click().run()
    assert [c.value for c in at.caption] == ["Signing out…"] and not at.title  # a refresh now must not sign her in
    at = browser_reports_cookie(at)
    assert at.title[0].value == "Sign in to Rapport"
    assert other_tab.run().title[0].value == "Sign in to Rapport"  # the sign-out ends her every session
    with session_scope() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.username == "mo").order_by(AuditEvent.id)))
    assert actions == ["sign_in_failed", "sign_in", "sign_out"]


def test_repeated_wrong_passwords_lock_the_username_for_a_while(seeded):
    from access.users import MAX_FAILED_SIGN_INS, authenticate

    for _ in range(MAX_FAILED_SIGN_INS):
        assert authenticate("mo", "guess guess guess") is None
    at = run("app", None)
    username, password = at.text_input
    username.input("mo")
    password.input(PASSWORD)  # even the right password waits now
    at = at.button[0].click().run()
    assert any("Too many failed attempts" in e.value for e in at.error)
    assert at.title[0].value == "Sign in to Rapport"


def test_an_empty_store_says_how_to_create_the_first_admin(store):
    at = run("app", None)
    assert not at.exception
    assert "python -m pipeline add-user NAME --role admin" in texts(at)
    assert not at.text_input  # no web sign-up


def test_a_deactivated_user_is_signed_out_at_their_next_click(seeded):
    from access.users import set_user_active

    at = run("calls", "mo")
    assert at.title[0].value == "Calls"
    set_user_active("mo", False, by="ada")
    assert at.run().title[0].value == "Sign in to Rapport"
    with pytest.raises(ValueError, match="last active admin"):
        set_user_active("ada", False, by="ada")  # nobody could sign in to undo it


def test_an_idle_session_is_signed_out_at_its_next_click(seeded):
    import time

    from dashboard.auth import LAST_SEEN_KEY

    at = run("calls", "mo")
    assert at.title[0].value == "Calls"
    at.session_state[LAST_SEEN_KEY] = time.time() - 59 * 60  # under the default 60 minutes: still signed in
    assert at.run().title[0].value == "Calls"
    at.session_state[LAST_SEEN_KEY] = time.time() - 61 * 60
    at = at.run()
    assert at.title[0].value == "Sign in to Rapport"
    assert any("signed out after 60 minutes without activity" in i.value for i in at.info)
    assert audit_rows("sign_out") == [("mo", None)]


def test_a_user_changes_their_own_password_from_the_sidebar(seeded):
    from access.users import authenticate

    def change(at, current, new, again):
        fields = {t.label: t for t in at.sidebar.text_input}
        fields["Current password"].input(current)
        next(t for label, t in fields.items() if label.startswith("New password (")).input(new)
        fields["New password again"].input(again)
        return next(b for b in at.sidebar.button if b.label == "Change password").click().run()

    at = run("app", "dana")  # the sidebar's account box belongs to the app around every page
    at = change(at, PASSWORD, "a new long password", "a different one!")
    assert any("The two new passwords differ" in e.value for e in at.sidebar.error)
    at = change(at, "not my password", "a new long password", "a new long password")
    assert any("The current password is wrong" in e.value for e in at.sidebar.error)
    at = change(at, PASSWORD, "short", "short")
    assert any("at least 10 characters" in e.value for e in at.sidebar.error)
    at = change(at, PASSWORD, "a new long password", "a new long password")
    assert not at.exception and any("Password changed" in s.value for s in at.sidebar.success)
    assert authenticate("dana", PASSWORD) is None and authenticate("dana", "a new long password") is not None
    assert audit_rows("password_change_failed") == [("dana", "dana")]
    assert audit_rows("password_change") == [("dana", "dana")]


def test_an_admin_resets_a_forgotten_password(seeded):
    from access.users import authenticate

    at = run("settings", "ada")
    next(s for s in at.selectbox if s.label == "User").select("mo")
    at = at.run()
    next(t for t in at.text_input if t.label.startswith("New password for mo")).input("reset by the admin")
    at = next(b for b in at.button if b.label == "Reset password").click().run()
    assert not at.exception and any("Password of mo reset" in s.value for s in at.success)
    assert authenticate("mo", "reset by the admin") is not None
    assert audit_rows("password_reset") == [("ada", "mo")]


# ----------------------------------------------------------------------------- roles
def test_a_rep_sees_only_their_own_calls_read_only(seeded):
    at = run("calls", "dana")
    assert not at.exception
    assert set(at.dataframe[0].value["Rep"]) == {"Dana Whitfield"}
    assert not any(b.label in ("Delete…", "Retry analysis") for b in at.button)

    mine = run("review", "dana", call=seeded["dana"].call_id)
    assert mine.title[0].value == "Dana's Acme call"
    assert [d.label for d in mine.download_button] == ["PDF report", "HTML report", "Per-second CSV"]
    labels = {b.label for b in mine.button} | {t.label for t in mine.tabs}
    assert not labels & {"Add stage", "Save note", "Remove", "Swap rep and prospect", "This is the rep",
                          "Re-analyse", "Fix roles"}

    assert "Uploading is for managers and admins" in texts(run("upload", "dana"))
    assert "Only admins can open this page." in texts(run("settings", "dana"))


NOT_FOUND = "It may have been deleted, or the link mistyped. Choose one of your calls in the sidebar.\nCall not found."


def test_another_reps_call_is_not_found_exactly_like_a_missing_one(seeded):
    other = run("review", "dana", call=seeded["marcus"].call_id)
    missing = run("review", "dana", call=999_999)
    assert not other.exception
    assert texts(other) == texts(missing) == "Call review\n" + NOT_FOUND
    assert not other.download_button and not other.metric and not other.get("plotly_chart")
    assert "Marcus" not in str([s.options for s in other.sidebar.selectbox])
    with pytest.raises(NotFound, match="not found"):
        exports.export(seeded["marcus"].call_id, "csv", "dana", via="dashboard")
    assert audit_rows("call_view") == [] and audit_rows("export") == []


def test_a_manager_sees_only_their_teams_calls(seeded):
    shown = set(run("calls", "mo").dataframe[0].value["Call"])
    assert "Dana's Acme call" in shown and "Hooli enterprise deal" not in shown
    assert set(run("calls", "erin").dataframe[0].value["Call"]) == {"Hooli enterprise deal"}
    assert texts(run("review", "erin", call=seeded["dana"].call_id)) == "Call review\n" + NOT_FOUND
    reps = run("reps", "erin")
    assert reps.selectbox[0].options == ["Zed Ortiz"]
    upload = run("upload", "erin")
    assert next(s for s in upload.selectbox if s.label == "Rep").options == ["Zed Ortiz"]
    assert "Only admins can open this page." in texts(run("settings", "mo"))
    with session_scope() as session:  # erin's team's only call goes: she is told whose calls she sees, not "No calls yet"
        session.execute(delete(Call).where(Call.title == "Hooli enterprise deal"))
    st.cache_data.clear()
    for page in ("calls", "reps"):
        assert "No calls for your team (Enterprise) yet: you see the calls of its reps." in texts(run(page, "erin"))


def test_the_settings_page_is_for_admins(seeded):
    at = run("settings", "ada")
    assert not at.exception
    assert [h.value for h in at.subheader] == ["Rep analysis", "Rep recognition", "Retention", "Users", "Reps", "Audit log"]
    assert "Art. 5(1)(f)" in texts(at) and "Art. 50(3)" in texts(at)
    assert set(at.dataframe[0].value["username"]) == {"ada", "mo", "dana", "erin"}


# ----------------------------------------------------------------------------- consent
def test_an_upload_stores_who_confirmed_the_participants_were_told(seeded, videos):
    def upload(consent: bool, rep: str | None) -> AppTest:
        at = run("upload", "mo")
        at.file_uploader[0].upload("../../etc/acme call.mp4", videos["gallery_right.mp4"].read_bytes(), "video/mp4")
        if rep:
            next(s for s in at.selectbox if s.label == "Rep").set_value(rep)
        at.checkbox[0].set_value(consent)
        next(t for t in at.text_input if t.label.startswith("How they were told")).input("Said at the start of the call")
        return next(b for b in at.button if b.label == "Analyse call").click().run()

    before = call_titles()
    assert any("Please confirm" in e.value for e in upload(False, "Dana Whitfield").error)
    assert any("Pick the rep" in e.value for e in upload(True, None).error)
    assert call_titles() == before  # nothing stored without consent, or without a rep the manager can see

    at = upload(True, "Dana Whitfield")
    assert not at.exception and not at.error
    with session_scope() as session:
        call = session.scalar(select(Call).where(Call.title == "acme call"))
        stored = (call.consent_confirmed_by, call.consent_note, call.consent_confirmed_at is not None,
                  call.original_filename, call.source_path.startswith("uploads/"), "acme" in call.source_path)
    assert stored == ("mo", "Said at the start of the call", True, "../../etc/acme call.mp4", True, False)
    review = run("review", "mo", call=call.id)
    assert "Participants told the call is analysed: confirmed by mo on" in texts(review)


def test_a_recording_uploaded_again_is_named_before_a_second_call_of_it_is_made(seeded, videos):
    """A new-user trial (28) uploaded one recording twice, then deleted the original by mistake. The same bytes under
    another name are now named as the earlier call (here Dana's, stored before digests were kept: hashed when
    compared) and nothing is queued until the manager ticks the box; a manager who cannot see that call is told
    nothing of it."""
    recording = videos["gallery.mp4"].read_bytes()

    def upload(user: str, rep: str) -> AppTest:
        at = run("upload", user)
        at.file_uploader[0].upload("acme copy.mp4", recording, "video/mp4")
        next(s for s in at.selectbox if s.label == "Rep").set_value(rep)
        next(c for c in at.checkbox if c.label.startswith("Everyone on this call was told")).set_value(True)
        return next(b for b in at.button if b.label == "Analyse call").click().run()

    def copies() -> list[tuple[str, str | None]]:
        with session_scope() as session:
            return list(session.execute(select(Call.title, Call.content_sha256).where(Call.id >= seeded["dana"].call_id)
                                        .where(Call.title.in_(["Dana's Acme call", "acme copy"])).order_by(Call.id)))

    digest = hashlib.sha256(recording).hexdigest()
    at = upload("mo", "Dana Whitfield")
    assert not at.exception and not at.error
    assert [w.value.replace("\\", "") for w in at.warning] == [
        f"**acme copy.mp4** was uploaded before, as #{seeded['dana'].call_id} · Dana's Acme call · 2 Nov 2026 (under "
        "**Calls**). Nothing new was queued: tick the box below and press *Analyse call* to analyse it again."]
    assert copies() == [("Dana's Acme call", digest)]  # nothing queued; the earlier call's digest kept

    next(c for c in at.checkbox if c.label.startswith("Analyse it again anyway")).set_value(True)
    at = next(b for b in at.button if b.label == "Analyse call").click().run()
    assert not at.exception and not at.warning and not at.error
    assert copies() == [("Dana's Acme call", digest), ("acme copy", digest)]

    at = upload("erin", "Zed Ortiz")  # Enterprise's manager: Mid-market's calls are not hers to see or be told of
    assert not at.exception and not at.warning and not at.error
    with session_scope() as session:
        assert session.scalar(select(func.count()).where(Call.content_sha256 == digest)) == 3


# ----------------------------------------------------------------------------- first start
def test_first_start_asks_the_admin_to_choose_and_everyone_else_to_wait(seeded, monkeypatch):
    monkeypatch.delenv("RAPPORT_REP_ANALYSIS")  # the server does not decide: the admin must
    waiting = run("calls", "mo")
    assert "being set up" in texts(waiting) and "Sign out" in [b.label for b in waiting.sidebar.button]
    at = run("app", "ada")
    assert at.title[0].value == "Welcome to Rapport" and "EU AI Act" in texts(at)
    assert "Signed in as **Ada" in " ".join(c.value for c in at.sidebar.caption)  # and a way out (new-user trial 11)
    save = next(b for b in at.button if b.label == "Save and continue")
    assert save.disabled  # no default: the admin makes the choice
    at.radio[0].set_value(False)
    at = next(b for b in at.run().button if b.label == "Save and continue").click().run()
    assert not at.exception
    assert at.title[0].value == "Calls"
    with session_scope() as session:
        assert session.scalar(select(Workspace.rep_analysis)) is False
    assert audit_rows("settings_change")[-1] == ("ada", "workspace")
    assert run("calls", "mo").title[0].value == "Calls"


# ----------------------------------------------------------------------------- rep analysis off
def test_a_call_without_rep_analysis_shows_why_instead_of_the_rep(seeded):
    off = seed_call(title="Initech, rep not analysed", rep="Dana Whitfield", duration_s=60, seed=8, rep_analysis=False)
    at = run("review", "mo", call=off.call_id)
    assert not at.exception
    assert REP_ANALYSIS_OFF in [i.value for i in at.info]
    charts = " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert "prospect most likely" in charts and "rep most likely" not in charts and '"y":["Rep"' not in charts
    assert [m.label for m in at.metric][3] == "Negative shifts · prospect"

    html = report.build_html(off.call_id)
    assert REP_ANALYSIS_OFF in html.replace("&#x27;", "'") and "rep most likely" not in html
    pdf = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(report.build_pdf(off.call_id))).pages).split())
    assert REP_ANALYSIS_OFF in pdf and "Faces read prospect" in pdf and "Rep 0%" not in pdf
    rep_rows = [r for r in export_csv(off.call_id).splitlines()[1:] if ",rep," in r]
    assert rep_rows and all(r.split(",")[2:10] == [""] * 8 for r in rep_rows)  # emotions and dominant empty
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(EmotionSecond).where(
            EmotionSecond.call_id == off.call_id, EmotionSecond.role == "rep", EmotionSecond.happy.is_not(None))) == 0


# ----------------------------------------------------------------------------- audit and deletion
def test_views_exports_deletions_and_settings_are_audited(seeded):
    call_id = seeded["dana"].call_id
    at = run("review", "mo", call=call_id)
    at.run()  # a rerun is not a second view
    assert audit_rows("call_view") == [("mo", f"call {call_id}")]

    assert exports.export(call_id, "csv", "dana", via="dashboard").startswith("second,role,")
    assert audit_rows("export") == [("dana", f"call {call_id}")]

    at = next(b for b in at.button if b.label == "Swap rep and prospect").click().run()
    assert audit_rows("role_change") == [("mo", f"call {call_id}")]

    at = run("calls", "mo", calls_pick=seeded["marcus"].call_id)
    at = next(b for b in at.button if b.label == "Delete…").click().run()
    next(b for b in at.button if b.label == "Yes, delete").click().run()
    assert audit_rows("call_delete") == [("mo", f"call {seeded['marcus'].call_id}")]

    at = run("settings", "ada")
    at.number_input[0].set_value(14)
    next(b for b in at.button if b.label == "Save retention").click().run()
    assert audit_rows("settings_change")[-1] == ("ada", "workspace")

    at = run("settings", "ada")
    at.selectbox(key="audit_action").set_value("call_delete")
    log = at.run().dataframe[-1].value
    assert list(log["action"]) == ["Call delete"] and list(log["user"]) == ["mo"]  # the stored code, in words


def files_in(store) -> set:
    return {p.relative_to(store) for p in store.rglob("*") if p.is_file() and not p.name.startswith(("rapport.db", "queue.db"))}


def test_deleting_a_rep_removes_every_call_row_and_file_and_their_sign_in(seeded, store):
    with session_scope() as session:
        rep_id = session.scalar(select(Rep.id).where(Rep.name == "Dana Whitfield"))
        dana_calls = list(session.scalars(select(Call.id).where(Call.rep_id == rep_id)))
    before = files_in(store)
    dana_files = {f for f in before if f.parts[:2] in {("snapshots", str(c)) for c in dana_calls}
                  or f.parts[0] == "uploads"}  # only Dana's call has a recording
    assert len(dana_calls) >= 2 and any(f.parts[0] == "uploads" for f in dana_files)

    at = run("settings", "ada", settings_rep=rep_id)
    at = next(b for b in at.button if b.label == "Delete rep…").click().run()
    at = next(b for b in at.button if b.label == "Yes, delete the rep").click().run()
    assert not at.exception

    assert files_in(store) == before - dana_files  # hers all gone, everyone else's all kept
    with session_scope() as session:
        assert session.get(Rep, rep_id) is None
        assert session.scalar(select(User).where(User.username == "dana")) is None
        assert session.scalar(select(func.count()).select_from(Call).where(Call.id.in_(dana_calls))) == 0
        for model in (EmotionSecond, Snapshot, Track):
            assert session.scalar(select(func.count()).select_from(model).where(model.call_id.in_(dana_calls))) == 0
        orphans = select(func.count()).select_from(TrackSecond).where(TrackSecond.track_id.not_in(select(Track.id)))
        assert session.scalar(orphans) == 0 and session.scalar(select(func.count()).select_from(TrackSecond)) > 0
        assert session.scalar(select(func.count()).select_from(Rep).where(Rep.team == TEAM)) > 0
    assert audit_rows("rep_delete") == [("ada", f"rep {rep_id}")]


def test_an_error_no_page_catches_shows_no_traceback_or_server_path(seeded, monkeypatch):
    """New-user trial 42: a dashboard left running while the code changed under it printed an ImportError, its
    traceback and /work/main/... paths on the review page. The page says only that something went wrong."""
    from dashboard import data

    def broken(*args, **kwargs):
        raise RuntimeError(f"cannot read {REPO_ROOT / 'data' / 'rapport.db'}")

    monkeypatch.setattr(data, "call_stats", broken)
    at = run("app", "ada")  # the Calls page, the app's default, reads `call_stats` first
    assert len(at.exception) == 1 and not at.exception[0].stack_trace
    assert str(REPO_ROOT) not in at.exception[0].message and "encountered an error" in at.exception[0].message
    assert st.get_option("client.showErrorDetails") == "none"
