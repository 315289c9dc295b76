"""Privacy backend: retention purge, users and roles, audit log (the dashboard's sign-in builds on these)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from access import policy, retention, users
from calls import intake
from cli.options import command_line_user
from db.models import AuditEvent, Call, EmotionSecond, Snapshot, User, utcnow
from db.session import session_scope
from pipeline.analyze import AnalysisSettings
from pipeline.store import analyze_call
from tests.helpers import run_cli


def analysed_call(videos, classifier, name="gallery.mp4", rep="Dana", age_days=0) -> int:
    call_id = intake.create_call(videos[name], title=f"{name} {age_days}d", rep=rep, analysis=AnalysisSettings())
    analyze_call(call_id, classifier)
    with session_scope() as s:
        s.get(Call, call_id).created_at -= dt.timedelta(days=age_days)
    return call_id


def files_of(store, call_id) -> list:
    with session_scope() as s:
        source = s.get(Call, call_id).source_path
    stills = list((store / "snapshots" / str(call_id)).rglob("*.jpg"))
    return ([store / source] if source and (store / source).exists() else []) + stills


def test_purge_removes_exactly_what_is_due(store, videos, classifier):
    fresh = analysed_call(videos, classifier, age_days=1)
    old_media = analysed_call(videos, classifier, age_days=40)
    ancient = analysed_call(videos, classifier, age_days=400)
    assert all(files_of(store, c) for c in (fresh, old_media, ancient))
    with session_scope() as s:  # audit log retention defaults to 730 days
        s.add_all([AuditEvent(at=utcnow() - dt.timedelta(days=days), username="old", action="sign_in")
                   for days in (800, 731, 700)])

    dry = retention.purge(dry_run=True)
    assert (dry.videos_deleted, dry.calls_deleted, dry.audit_events_deleted) == (2, 1, 2)  # media of the 40- and 400-day calls; the 400-day call
    assert all(files_of(store, c) for c in (fresh, old_media, ancient))  # a dry run touches nothing

    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.username == "old")) == 3
    report = retention.purge()
    assert (report.videos_deleted, report.calls_deleted, report.call_ids) == (2, 1, [ancient])
    assert files_of(store, fresh) and not files_of(store, old_media)
    with session_scope() as s:
        assert s.get(Call, ancient) is None
        assert s.scalar(select(func.count()).select_from(EmotionSecond).where(EmotionSecond.call_id == ancient)) == 0
        kept = s.get(Call, old_media)
        assert kept.media_purged_at is not None and kept.source_path is None
        assert s.scalar(select(func.count()).select_from(EmotionSecond).where(EmotionSecond.call_id == old_media)) > 0
        assert s.scalar(select(func.count()).select_from(Snapshot).where(Snapshot.call_id == old_media)) == 0
        assert s.scalar(select(func.count()).select_from(EmotionSecond).where(EmotionSecond.call_id == fresh)) > 0
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "purge")).detail["calls"] == 1
        assert s.scalars(select(AuditEvent.at).where(AuditEvent.username == "old")).one() > utcnow() - dt.timedelta(days=701)
    assert retention.purge().calls_deleted == 0  # nothing left that is due


def test_users_roles_and_audit(store, videos, classifier):
    mine = analysed_call(videos, classifier, rep="Dana")
    with session_scope() as s:
        s.get(Call, mine).rep.team = "East"
    other = analysed_call(videos, classifier, rep="Eve")
    users.add_user("boss", "correct horse battery", "admin")
    users.add_user("mgr", "correct horse battery", "manager", team="East")
    users.add_user("dana", "correct horse battery", "rep", rep_name="Dana")
    with pytest.raises(ValueError, match="at least 10"):
        users.add_user("short", "abc", "admin")
    with pytest.raises(ValueError, match="role must be"):
        users.add_user("x", "correct horse battery", "owner")
    assert users.authenticate("dana", "wrong password") is None
    signed_in = {u: users.authenticate(u, "correct horse battery") for u in ("boss", "mgr", "dana")}
    with session_scope() as s:
        seen = {u: sorted(c.id for c in s.scalars(policy.visible_calls(s, user))) for u, user in signed_in.items()}
        assert seen == {"boss": [mine, other], "mgr": [mine], "dana": [mine]}
        assert not policy.can_see_call(s, signed_in["dana"], other)
        assert policy.can_change(signed_in["mgr"]) and not policy.can_change(signed_in["dana"])
        actions = [(e.username, e.action) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert ("dana", "sign_in_failed") in actions and ("dana", "sign_in") in actions and ("cli", "user_added") in actions
    with session_scope() as s:
        stored = s.scalar(select(User.password_hash).where(User.username == "boss"))
    assert stored.startswith("$argon2id$") and "correct horse" not in stored


def test_cli_add_user_and_purge(store):
    env = {"RAPPORT_DATA_DIR": str(store), "RAPPORT_DB_URL": f"sqlite:///{store / 'rapport.db'}"}
    import subprocess
    import sys

    from config import REPO_ROOT

    added = subprocess.run([sys.executable, "-m", "pipeline", "add-user", "root", "--role", "admin", "--password-stdin"],
                           input="a long enough password\n", capture_output=True, text=True, cwd=REPO_ROOT,
                           env={**__import__("os").environ, **env})
    assert added.returncode == 0 and "added as admin" in added.stdout
    reset = subprocess.run([sys.executable, "-m", "pipeline", "set-password", "root", "--password-stdin"],
                           input="another long password\n", capture_output=True, text=True, cwd=REPO_ROOT,
                           env={**__import__("os").environ, **env})
    assert reset.returncode == 0 and "password of root reset" in reset.stdout
    short = subprocess.run([sys.executable, "-m", "pipeline", "set-password", "root", "--password-stdin"],
                           input="short\n", capture_output=True, text=True, cwd=REPO_ROOT,
                           env={**__import__("os").environ, **env})
    assert short.returncode != 0 and "at least 10 characters" in short.stderr
    with session_scope() as s:  # audited under the login name, as the consent line names it (a trial saw "cli" there)
        events = [(e.username, e.action) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert events[-2:] == [(command_line_user(), "user_added"), (command_line_user(), "password_reset")]
    again = run_cli("purge", "--dry-run", env_overrides=env)
    assert again.returncode == 0 and "would delete: 0 source video(s)" in again.stdout


def test_rep_analysis_off_in_the_cli_keeps_presence_but_no_rep_emotions(store, videos):
    import csv
    import io

    env = {"RAPPORT_DATA_DIR": str(store), "RAPPORT_DB_URL": f"sqlite:///{store / 'rapport.db'}", "RAPPORT_REP_ANALYSIS": "off"}
    done = run_cli("analyze", str(videos["gallery.mp4"]), env_overrides=env)
    assert done.returncode == 0 and "the rep's emotions are not analysed" in done.stderr
    rows = list(csv.DictReader(io.StringIO(run_cli("export", "1", env_overrides=env).stdout)))
    rep = [r for r in rows if r["role"] == "rep"]
    assert len(rep) == 8 and sum(r["face_present"] == "1" for r in rep) >= 7
    assert all(r[e] == "" for r in rep for e in ("angry", "happy", "neutral", "dominant"))
    assert {r["status"] for r in rep} == {"not analysed (rep analysis off)"}  # the CSV says why they are empty
    assert all(r["happy"] != "" for r in rows if r["role"] == "prospect" and r["face_present"] == "1")
    with session_scope() as s:
        assert s.get(Call, 1).settings["rep_analysis"] is False  # the choice is recorded on the call


def test_cli_export_as_a_user_checks_access_and_is_audited(store):
    from tools.seed import seed_call, seed_users

    env = {"RAPPORT_DATA_DIR": str(store), "RAPPORT_DB_URL": f"sqlite:///{store / 'rapport.db'}"}
    mine = seed_call(title="Dana's call", rep="Dana Whitfield", duration_s=20, seed=1).call_id
    other = seed_call(title="Marcus's call", rep="Marcus Chen", duration_s=20, seed=2).call_id
    seed_users()
    denied = run_cli("export", str(other), "--as", "dana", env_overrides=env)
    assert denied.returncode == 3 and f"call {other} not found" in denied.stderr and denied.stdout == ""
    allowed = run_cli("export", str(mine), "--as", "dana", env_overrides=env)
    assert allowed.returncode == 0 and allowed.stdout.startswith("second,role,")
    assert run_cli("export", str(other), env_overrides=env).returncode == 0  # operators at the server, no --as
    unknown = run_cli("export", str(mine), "--as", "nobody", env_overrides=env)
    assert unknown.returncode == 2 and "no active user 'nobody'" in unknown.stderr
    with session_scope() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "export"))
        exported = [(e.username, e.target, e.detail["via"]) for e in events]
    assert exported == [("dana", f"call {mine}", "cli"), (command_line_user(), f"call {other}", "cli")]
