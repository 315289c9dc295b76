"""Every dashboard page, run on its own with Streamlit's AppTest against a seeded SQLite store, signed in as an admin.

What other roles may see, and sign-in itself, are tested in test_privacy_dashboard.py.
"""

from __future__ import annotations

import io

import pytest
import streamlit as st
from pypdf import PdfReader
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from access.policy import visible_calls
from access.workspace import set_workspace
from calls.intake import create_call
from config import REPO_ROOT, get_settings
from db.models import AuditEvent, Call, CallStatus, CoachingNote, Job, Rep, ScriptStage, Track, User, Workspace
from db.session import session_scope
from pipeline.store import analyze_call
from reports.report import build_html, build_pdf
from reports.summary import summarize
from tools.seed import USERS, seed_call, seed_team, seed_users, sign_in

PAGES = REPO_ROOT / "dashboard" / "views"


@pytest.fixture
def seeded(store, monkeypatch):
    """A team's history plus one richer call; caches start empty so no other test's store leaks in."""
    monkeypatch.setenv("RAPPORT_LOCAL_WORKER", "0")
    get_settings.cache_clear()  # read after the store fixture: the app must not start a worker of its own
    st.cache_data.clear()
    st.cache_resource.clear()
    calls = seed_team(days=2)
    main = seed_call(title="Acme Corp renewal", duration_s=240, seed=3)
    bare = seed_call(title="Initech first call", duration_s=90, seed=4, stages=False, notes=False)
    seed_users()
    yield {"calls": calls, "main": main, "bare": bare}
    st.cache_data.clear()
    st.cache_resource.clear()


def page(name: str, user: str = "ada", **state) -> AppTest:
    """Run one page signed in as `user` (the admin by default), with `state` in its session."""
    at = sign_in(AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=60), user)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def texts(at: AppTest) -> str:
    kinds = ("title", "markdown", "caption", "info", "warning", "error", "success")
    parts = [e.value for kind in kinds for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def test_review_page_shows_numbers_talking_points_moments_and_likely_wording(seeded):
    at = page("review", call_id=seeded["main"].call_id)
    assert not at.exception
    assert at.title[0].value == "Acme Corp renewal"
    assert "likely" in texts(at) and "not verdicts" in texts(at) and "accuracy" in texts(at)
    assert [m.label for m in at.metric][:2] == ["Prospect likely positive", "Prospect mood, first → last third"]
    assert "Talking points" in texts(at)
    assert any(tab.label.startswith("Key moments (") for tab in at.tabs)
    assert any(b.label.startswith("Play from") for b in at.button)


def test_review_page_opens_the_call_named_in_the_address(seeded):
    other = seeded["calls"][0]
    at = sign_in(AppTest.from_file(str(PAGES / "review.py"), default_timeout=60), "ada")
    at.query_params["call"] = str(other.call_id)
    at.run()
    assert not at.exception
    assert at.title[0].value == other.title


def test_choosing_a_moment_moves_the_player(seeded):
    at = page("review", call_id=seeded["main"].call_id)
    play = next(b for b in at.button if b.label.startswith("Play from"))
    at = play.click().run()
    assert at.session_state.video_at[1] > 0


def test_marking_a_stage_stores_it_and_shows_the_prospect_per_stage(seeded):
    call_id = seeded["bare"].call_id
    at = page("review", call_id=call_id)
    form_inputs = {t.label: t for t in at.text_input}
    form_inputs["From (m:ss)"].input("0:00")
    form_inputs["To (m:ss)"].input("0:20")
    stage_name = next(s for s in at.selectbox if s.label == "Stage")
    stage_name.set_value("intro")
    at = next(b for b in at.button if b.label == "Add stage").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    with session_scope() as session:
        assert session.scalar(select(ScriptStage).where(ScriptStage.call_id == call_id, ScriptStage.end_s == 20))
    stage_table = at.dataframe[0].value
    assert list(stage_table["Stage"]) == ["intro"] and 0 <= stage_table["Prospect likely positive"][0] <= 100


def test_a_stage_overlapping_another_is_refused_with_a_message(seeded):
    at = page("review", call_id=seeded["main"].call_id)
    inputs = {t.label: t for t in at.text_input}
    inputs["From (m:ss)"].input("1:00")
    inputs["To (m:ss)"].input("1:30")
    at = next(b for b in at.button if b.label == "Add stage").click().run()
    assert any("overlaps" in e.value for e in at.error)


def test_a_coaching_note_is_saved_at_the_chosen_moment(seeded):
    call_id = seeded["main"].call_id
    at = page("review", call_id=call_id)
    at.text_area[0].input("Slow down before the price.")
    at = next(b for b in at.button if b.label == "Save note").click().run()
    assert not at.exception
    with session_scope() as session:
        note = session.scalar(select(CoachingNote).where(CoachingNote.text == "Slow down before the price."))
    assert note is not None and note.author == USERS["ada"][1] and note.t_s == 0  # the signed-in user wrote it
    assert "Slow down before the price." in texts(at)


def test_swapping_roles_rebuilds_the_rows(seeded):
    call_id = seeded["main"].call_id
    at = page("review", call_id=call_id)
    at = next(b for b in at.button if b.label == "Swap rep and prospect").click().run()
    assert not at.exception
    with session_scope() as session:
        roles = dict(session.execute(select(Track.track_no, Track.role).where(Track.call_id == call_id)).all())
    assert roles == {1: "prospect", 2: "rep"}


def test_calls_page_lists_filters_and_deletes_with_confirmation(seeded):
    at = page("calls")
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == len(seeded["calls"]) + 2
    at.multiselect[0].set_value(["Marcus Chen"]).run()
    assert set(at.dataframe[0].value["Rep"]) == {"Marcus Chen"}

    target = seeded["main"]
    at = page("calls", calls_pick=target.call_id)
    at = next(b for b in at.button if b.label == "Delete…").click().run()
    assert any("for good" in w.value for w in at.warning)
    at = next(b for b in at.button if b.label == "Yes, delete").click().run()
    assert not at.exception
    with session_scope() as session:
        assert session.get(Call, target.call_id) is None


def test_calls_page_retries_a_failed_call(seeded):
    failed = next(c for c in seeded["calls"] if "failed" in c.title)
    at = page("calls", calls_pick=failed.call_id)
    assert any("Analysis failed" in w.value for w in at.warning)
    at = next(b for b in at.button if b.label == "Retry analysis").click().run()
    assert not at.exception
    with session_scope() as session:
        assert session.get(Call, failed.call_id).status == CallStatus.QUEUED
        assert session.scalar(select(Job).where(Job.call_id == failed.call_id, Job.state == CallStatus.QUEUED))


def test_upload_page_shows_the_consent_reminder_and_live_progress(seeded):
    running = seed_call(title="Globex demo", status=CallStatus.RUNNING, seed=7)
    at = page("upload")
    assert not at.exception
    assert "Consent first" in texts(at)
    progress = [p for p in at.get("progress")]
    assert progress and "Globex demo" in progress[0].proto.text and "analysing frames" in progress[0].proto.text
    with session_scope() as session:  # the bar is the running call's own job: its stage and percentage
        job = session.scalar(select(Job).where(Job.call_id == running.call_id))
    assert f"{job.stage} · {job.progress:.0f}%" in progress[0].proto.text
    assert progress[0].proto.value == round(job.progress)


def test_upload_page_asks_for_a_file_and_consent(seeded):
    at = page("upload")
    at = next(b for b in at.button if b.label == "Analyse call").click().run()
    assert any("Choose a recording" in e.value for e in at.error)
    assert any(c.label.startswith("Everyone on this call was told") for c in at.checkbox)


def test_reps_page_shows_one_rep_and_the_team(seeded):
    at = page("reps", reps_pick="Priya Natarajan")
    assert not at.exception
    assert at.metric[0].label == "Calls analysed" and int(at.metric[0].value) >= 1
    assert len(at.get("plotly_chart")) == 4


def test_app_navigation_runs_with_every_page(seeded):
    at = sign_in(AppTest.from_file(str(REPO_ROOT / "dashboard" / "app.py"), default_timeout=60), "ada").run()
    assert not at.exception
    assert at.title[0].value == "Calls"
    for view in ("review", "reps", "upload", "settings"):
        at.switch_page(f"views/{view}.py").run()
        assert not at.exception and at.title[0].value, view


def test_settings_saves_the_admins_rep_analysis_choice_when_the_server_does_not_force_it(seeded, monkeypatch, videos):
    """No `RAPPORT_REP_ANALYSIS`: the admin's choice on Settings is stored, audited, and the next upload records it."""
    monkeypatch.delenv("RAPPORT_REP_ANALYSIS")
    get_settings.cache_clear()
    set_workspace("ada", rep_analysis=True)  # the first-run choice
    at = page("settings")
    radio = next(r for r in at.radio if r.label == "Rep analysis")
    assert not radio.disabled and radio.value is True
    at = radio.set_value(False).run()  # the page enables Save once the choice differs
    at = next(b for b in at.button if b.label == "Save rep analysis").click().run()
    assert not at.exception
    with session_scope() as session:
        workspace = session.scalar(select(Workspace))
        assert (workspace.rep_analysis, workspace.updated_by) == (False, "ada")
        latest = session.scalar(select(AuditEvent).where(AuditEvent.action == "settings_change")
                                .order_by(AuditEvent.id.desc()).limit(1))
        assert (latest.username, latest.detail) == ("ada", {"rep_analysis": "False"})
    call_id = create_call(videos["gallery.mp4"], rep="Dana Whitfield")
    with session_scope() as session:
        assert session.get(Call, call_id).settings["rep_analysis"] is False


def test_settings_moves_a_rep_to_another_team_and_their_calls_with_them(seeded):
    """Dana's calls leave Mo's team view and join Erin's once an admin changes Dana's team on Settings."""
    with session_scope() as session:
        dana = session.scalar(select(Rep).where(Rep.name == "Dana Whitfield"))
        danas_calls = set(session.scalars(select(Call.id).where(Call.rep_id == dana.id)))
        managers = {u.username: u for u in session.scalars(select(User).where(User.role == "manager"))}
        assert danas_calls <= set(session.scalars(visible_calls(session, managers["mo"]).with_only_columns(Call.id)))
    at = page("settings", settings_rep=dana.id)
    team = next(t for t in at.text_input if t.key == f"rep-team-{dana.id}")
    at = team.set_value("Enterprise").run()
    at = next(b for b in at.button if b.label == "Save team").click().run()
    assert not at.exception
    with session_scope() as session:
        assert session.get(Rep, dana.id).team == "Enterprise"
        seen = {name: set(session.scalars(visible_calls(session, user).with_only_columns(Call.id)))
                for name, user in managers.items()}
        assert danas_calls <= seen["erin"] and not danas_calls & seen["mo"]
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "rep_team_change"))
        assert (event.username, event.target, event.detail) == ("ada", f"rep {dana.id}", {"old": "Mid-market",
                                                                                          "new": "Enterprise"})


def test_review_page_and_reports_on_a_really_analysed_call(store, videos, classifier, monkeypatch):
    """No seeded rows: the gallery recording analysed end to end, then the review page, the PDF and the HTML
    report read it and agree with the summary computed from the stored rows."""
    monkeypatch.setenv("RAPPORT_LOCAL_WORKER", "0")
    get_settings.cache_clear()
    st.cache_data.clear()
    seed_users()
    call_id = create_call(videos["gallery.mp4"], title="Gallery call", rep="Dana Whitfield")
    analyze_call(call_id, classifier)
    summary = summarize(call_id)
    assert summary.seen["prospect"] > 0.9  # the prospect's face is read nearly all the call
    at = page("review", call_id=call_id)
    assert not at.exception and at.title[0].value == "Gallery call"
    positive = next(m for m in at.metric if m.label == "Prospect likely positive")
    assert positive.value == f"{summary.mood['prospect'].positive:.0%}"
    assert at.get("plotly_chart")
    pdf_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(build_pdf(call_id))).pages)
    assert "Gallery call" in pdf_text and f"{summary.mood['prospect'].positive:.0%} of seen time" in pdf_text
    page_html = build_html(call_id)
    assert "Gallery call" in page_html and "prospect most likely" in page_html
    st.cache_data.clear()
