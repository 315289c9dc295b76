"""Recognising an enrolled rep across calls (issue 21, optional part, with consent): enrolment through the real
CLI on a generated call, recognition on another call of a different layout with a wrong rep position, the
workspace switch, who may enrol, and every way the stored signature is deleted."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from access.retention import purge
from access.users import add_user
from access.workspace import set_workspace
from calls.enrolment import RECOGNITION_OFF
from calls.intake import create_call
from calls.lifecycle import delete_rep
from calls.roles import list_people
from cli.main import main
from cli.options import command_line_user
from db.models import AuditEvent, Call, Rep, RepEnrolment, Workspace, utcnow
from db.session import session_scope
from pipeline.analyze import AnalysisSettings
from pipeline.store import analyze_call
from tests.test_dashboard_pages import seeded  # noqa: F401  (a fixture)
from tests.test_people import FPS, UniformClassifier, check_every_second
from tools.synthetic import CallScript, write_call_video

CONSENT = "I, Dana, agree that Rapport keeps my face signature to find me on my calls."


def cli(capsys, *argv) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def signatures(rep_id: int) -> list[RepEnrolment]:
    with session_scope() as session:
        return session.scalars(select(RepEnrolment).where(RepEnrolment.rep_id == rep_id)).all()


def test_an_enrolled_rep_is_found_on_a_call_of_another_layout_with_the_wrong_rep_position(store, tmp_path, capsys):
    # Call A: a gallery, the rep (Grace Hopper) on the left, as the rep position says.
    a = create_call(write_call_video(tmp_path / "a.mp4", CallScript(duration_s=4, motion_px=10)), title="A",
                    rep="Dana", analysis=AnalysisSettings(fps=FPS, rep_position="left"))
    analyze_call(a, UniformClassifier())
    rep_person = next(p.number for p in list_people(a) if p.role == "rep")

    # Off by default: enrolment is refused with a clear message, and nothing is stored.
    code, out = cli(capsys, "enrol-rep", str(a), "--person", str(rep_person), "--consent", CONSENT)
    assert code == 2 and out["error"] == {"kind": "recognition_off", "message": RECOGNITION_OFF}
    with session_scope() as session:
        rep_id = session.get(Call, a).rep_id
    assert signatures(rep_id) == []

    set_workspace("admin", rep_recognition=True)
    add_user("dana", "a long enough password", "rep", rep_name="Dana")
    code, out = cli(capsys, "enrol-rep", str(a), "--person", str(rep_person), "--consent", CONSENT, "--as", "dana")
    assert code == 2 and out["error"]["kind"] == "not_allowed"  # a rep cannot enrol (themselves or anyone)
    code, out = cli(capsys, "enrol-rep", str(a), "--person", str(rep_person), "--consent", CONSENT)
    assert code == 0
    (stored,) = signatures(rep_id)
    assert len(stored.embedding) == 128 and stored.consent_statement == CONSENT and stored.confirmed_by == command_line_user()

    # Call B of the same rep: stacked, the rep at the bottom, uploaded with "left" (reads as top: wrong).
    script = CallScript(duration_s=4, layout="stacked", rep_position="bottom", motion_px=10, seed=3)
    b = create_call(write_call_video(tmp_path / "b.mp4", script), title="B", rep="Dana",
                    analysis=AnalysisSettings(fps=FPS, rep_position="left"))
    result = analyze_call(b, UniformClassifier())
    check_every_second(result, script, min_share=1.0)  # the rep is right every second
    assert "recognised from enrolment" in result.roles_note
    rep_boxes = [s.mean_box for s in result.tracks if result.roles[s.track_id] == "rep"]
    assert rep_boxes and all(box[1] > 0.4 for box in rep_boxes)  # the bottom tile, against the rep position

    # Switched off, the signature is not used: the rep position decides (wrongly) again.
    set_workspace("admin", rep_recognition=False)
    result = analyze_call(b, UniformClassifier())
    assert "recognised" not in (result.roles_note or "")
    assert all(s.mean_box[1] < 0.4 for s in result.tracks if result.roles[s.track_id] == "rep")

    # Withdrawing consent deletes the signature; both steps are audited.
    code, out = cli(capsys, "withdraw-rep", str(rep_id))
    assert code == 0 and out["signatures_deleted"] == 1 and signatures(rep_id) == []
    with session_scope() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions.count("rep_enrol") == 1 and actions.count("rep_withdraw") == 1


def _enrol_directly(rep_name: str, at: dt.datetime) -> int:
    with session_scope() as session:
        rep = session.scalar(select(Rep).where(Rep.name == rep_name)) or Rep(name=rep_name)
        session.add(rep)
        session.flush()
        session.add(RepEnrolment(rep_id=rep.id, embedding=[0.0] * 128, person_no=1, consent_statement=CONSENT,
                                 confirmed_by="admin", confirmed_at=at))
        return rep.id


def test_deleting_the_rep_or_the_retention_purge_deletes_the_signature(store):
    gone = _enrol_directly("Leaver", utcnow())
    delete_rep(gone)
    assert signatures(gone) == []
    old = _enrol_directly("Old", utcnow() - dt.timedelta(days=400))  # past the 365-day data retention
    recent = _enrol_directly("Recent", utcnow() - dt.timedelta(days=10))
    assert purge(dry_run=True).enrolments_deleted == 1 and len(signatures(old)) == 1
    report = purge()
    assert report.enrolments_deleted == 1 and signatures(old) == [] and len(signatures(recent)) == 1


def test_a_manager_of_another_team_cannot_withdraw_and_a_rep_may_withdraw_their_own(store, capsys):
    rep_id = _enrol_directly("Dana", utcnow())
    add_user("dana", "a long enough password", "rep", rep_name="Dana")
    add_user("boss", "a long enough password", "manager", team="north")
    code, out = cli(capsys, "withdraw-rep", str(rep_id), "--as", "boss")
    assert code == 3 and len(signatures(rep_id)) == 1
    code, out = cli(capsys, "withdraw-rep", str(rep_id), "--as", "dana")
    assert code == 0 and signatures(rep_id) == []


# ----------------------------------------------------------------------------- the pages (AppTest, seeded store)
def test_settings_turns_recognition_on_lists_an_enrolment_and_withdraws_it_after_a_confirmation(seeded):
    from tests.test_dashboard_pages import page, texts

    at = page("settings")
    assert "128 numbers" in texts(at) and "never a photo" in texts(at) and "No rep is enrolled." in texts(at)
    at = next(t for t in at.toggle if t.label == "Recognise enrolled reps on their calls").set_value(True).run()
    at = next(b for b in at.button if b.label == "Save rep recognition").click().run()
    assert not at.exception
    with session_scope() as session:
        assert session.scalar(select(Workspace.rep_recognition)) is True
    rep_id = _enrol_directly("Dana Whitfield", utcnow())
    at = page("settings")
    at = next(b for b in at.button if b.label == "Withdraw consent…").click().run()
    at = next(b for b in at.button if b.label == "Yes, withdraw").click().run()
    assert not at.exception and signatures(rep_id) == []
    with session_scope() as session:
        assert session.scalar(select(AuditEvent.username).where(AuditEvent.action == "rep_withdraw")) == "ada"


def test_the_fix_roles_tab_offers_enrolment_only_when_recognition_is_on_and_asks_for_consent(seeded):
    from tests.test_dashboard_pages import page

    call_id = seeded["main"].call_id
    at = page("review", call_id=call_id)
    assert any(RECOGNITION_OFF in c.value for c in at.caption) and not any(b.label == "Enrol the rep" for b in at.button)
    set_workspace("ada", rep_recognition=True)
    at = page("review", call_id=call_id)
    at = next(b for b in at.button if b.label == "Enrol the rep").click().run()  # no consent statement typed
    assert not at.exception and any("consent statement" in e.value for e in at.error)
    with session_scope() as session:
        assert session.scalar(select(RepEnrolment)) is None
