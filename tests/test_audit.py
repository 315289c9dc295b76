"""Holes a reliability and access audit found (issue 23), each driven the way it was found.

A call deleted mid-analysis, a killed `pipeline analyze`, stray files of dead attempts, a retention purge racing a
retry, a manager without a team, a disk filling up during an upload, two processes making the workspace row,
face pictures after a media purge, a worker supervisor losing children, markdown in user text.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import streamlit as st
from markdown_it import MarkdownIt
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from streamlit.testing.v1 import AppTest

from access.policy import visible_calls
from access.retention import purge
from access.users import active_user, add_user
from access.workspace import get_workspace
from calls.intake import create_call
from calls.lifecycle import delete_call
from cli.main import main
from config import REPO_ROOT, get_settings
from db.models import Call, EmotionSecond, Snapshot, Track, Workspace, utcnow
from db.session import session_scope
from jobs import queue as jobs
from pipeline.liveness import INTERRUPTED, AttemptLost, recover_interrupted
from pipeline.store import analyze_call
from tests.test_jobs import (assert_store_consistent, call, queue_env, running_with_progress,  # noqa: F401
                             short_clip, start_worker, wait_for, worker_model)
from tools.seed import PASSWORD, seed_call, seed_users, sign_in

BEACON = "![x](http://127.0.0.1:9/beacon.png)"  # markdown that, if interpreted, makes every viewer fetch an address


def rows_of(call_id: int) -> dict[str, int]:
    with session_scope() as session:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model)
                                                    .where(model.call_id == call_id))
                for model in (EmotionSecond, Track, Snapshot)}


def files_of(data_dir: Path, call_id: int) -> list[Path]:
    return [p for folder in ("snapshots", "renders") for p in (data_dir / folder / str(call_id)).rglob("*")]


# ----------------------------------------------------------------------------- 1: deleted mid-analysis
def test_a_call_deleted_while_analysed_writes_nothing_anywhere_and_its_ids_are_never_reused(store, videos, classifier):
    old_call, old_job = jobs.enqueue_call(videos["away.mp4"], title="deleted mid-analysis")  # 12 s
    new = {}

    def delete_then_upload(stage: str, fraction: float) -> None:
        if not new:  # the manager deletes the call being analysed, then uploads the next one
            delete_call(old_call)
            new["ids"] = jobs.enqueue_call(videos["gallery.mp4"], title="the next upload")  # 8 s

    with pytest.raises(AttemptLost):
        analyze_call(old_call, classifier, progress=delete_then_upload)
    new_call, new_job = new["ids"]
    assert new_call > old_call and new_job > old_job  # SQLite handed the freed ids out again before
    assert rows_of(new_call) == {"emotion_seconds": 0, "tracks": 0, "snapshots": 0}
    assert call(new_call).status == "queued"
    assert files_of(store, old_call) == [] and files_of(store, new_call) == []

    analyze_call(new_call, classifier)  # the next upload gets its own analysis: 8 s, both roles
    assert rows_of(new_call)["emotion_seconds"] == 2 * 8 and call(new_call).status == "done"


def test_deleting_a_running_call_from_the_cli_stops_its_worker_job_and_the_next_upload_is_analysed(
        queue_env, short_clip, tmp_path):
    old_call, old_job = jobs.enqueue_call(short_clip)
    log, gate = tmp_path / "worker.log", tmp_path / "gate"
    worker = start_worker(log, gate=gate)  # held mid-analysis until `gate` exists (tests/gated_worker.py)
    try:
        wait_for(lambda: running_with_progress(old_job), 120, "the worker to make progress", (worker,))
        assert main(["delete", str(old_call)]) == 0
        wait_for(lambda: f"call {old_call} was deleted" in log.read_text(), 60, "the held analysis to stop",
                 (worker,))
        gate.touch()  # the next analysis runs through
        new_call, _ = jobs.enqueue_call(short_clip)
        assert new_call != old_call
        wait_for(lambda: call(new_call).status == "done", 180, "the next upload to be analysed", (worker,))
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
    assert f"call {old_call} was deleted" in log.read_text()
    assert rows_of(new_call)["emotion_seconds"] == 2 * 5
    assert files_of(queue_env, old_call) == []
    assert_store_consistent(queue_env)


def test_retention_never_purges_a_call_that_is_queued_or_being_analysed(store, videos):
    queued = create_call(videos["gallery.mp4"], title="queued")
    running = create_call(videos["gallery.mp4"], title="running")
    with session_scope() as session:
        session.execute(update(Call).values(created_at=utcnow() - dt.timedelta(days=400)))
        session.execute(update(Call).where(Call.id == running).values(status="running"))
    report = purge()
    assert (report.calls_deleted, report.videos_deleted) == (0, 0)
    for call_id in (queued, running):
        assert (store / call(call_id).source_path).is_file()


# ----------------------------------------------------------------------------- 3, 8: interrupted analyses
def test_a_killed_analyze_process_leaves_a_failed_call_that_can_be_retried_and_no_stray_stills(store, short_clip,
                                                                                               monkeypatch, tmp_path):
    # `pipeline analyze`, held mid-analysis by a gate that never opens (tests/gated_worker.py): it cannot finish first.
    env = {**os.environ, "RAPPORT_HEARTBEAT_S": "0.5", "RAPPORT_TEST_GATE": str(tmp_path / "never")}
    process = subprocess.Popen([sys.executable, "-m", "tests.gated_worker", "analyze", str(short_clip)], cwd=REPO_ROOT,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def beating() -> Call | None:
        with session_scope() as session:
            found = session.scalar(select(Call).where(Call.status == "running", Call.heartbeat_at.is_not(None)))
        assert process.poll() is None, "the analysis ended before it could be killed"
        return found

    running = wait_for(beating, 120, "the analysis to run and heartbeat")
    process.kill()
    process.wait(10)
    stray = store / "snapshots" / str(running.id) / "deadbeef" / "shift-00003-0.jpg"  # what it had drawn so far
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"\xff\xd8 half a still")
    assert recover_interrupted(call_id=running.id) == []  # its heartbeat is fresh: still counts as running

    monkeypatch.setenv("RAPPORT_VISIBILITY_TIMEOUT_S", "1")
    get_settings.cache_clear()
    assert wait_for(lambda: recover_interrupted(), 30, "the silent analysis to be noticed") == [running.id]
    assert (call(running.id).status, call(running.id).error) == ("failed", INTERRUPTED)
    assert not stray.parent.exists()
    job_id = jobs.retry_call(running.id)
    assert call(running.id).status == "queued" and job_id is not None


def test_each_attempt_starts_by_removing_what_an_earlier_attempt_left(store, videos, classifier):
    call_id = create_call(videos["gallery.mp4"])
    stray_still = store / "snapshots" / str(call_id) / "0ldattmp" / "peak-00002-0.jpg"
    stray_copy = store / "renders" / str(call_id) / "review.partial.mp4"  # a killed worker's half transcode
    for stray in (stray_still, stray_copy):
        stray.parent.mkdir(parents=True, exist_ok=True)
        stray.write_bytes(b"left by a killed attempt")
    seen = []
    analyze_call(call_id, classifier, progress=lambda *_: seen.append(stray_still.exists() or stray_copy.exists()))
    assert seen and not seen[0]  # gone before the first progress step, not only after a success
    with session_scope() as session:
        kept = {Path(p).parent for p in session.scalars(select(Snapshot.path).where(Snapshot.call_id == call_id))}
    assert {p.parent.relative_to(store) for p in files_of(store, call_id) if p.is_file()} <= kept


# ----------------------------------------------------------------------------- 9: one workspace row
def test_the_schema_holds_one_workspace_row_however_many_processes_start_at_once(store):
    script = "from access.workspace import get_workspace\nfrom db.session import session_scope\n" \
             "with session_scope() as s:\n    get_workspace(s)\n"
    starters = [subprocess.Popen([sys.executable, "-c", script], cwd=REPO_ROOT) for _ in range(4)]
    assert [p.wait(60) for p in starters] == [0] * 4
    with session_scope() as session:
        assert session.scalars(select(Workspace.id)).all() == [1]
    with pytest.raises(IntegrityError, match="CHECK constraint"):
        with session_scope() as session:
            session.add(Workspace(id=2, video_retention_days=1, data_retention_days=1, audit_retention_days=1))
    with session_scope() as session:
        assert get_workspace(session).id == 1


# ----------------------------------------------------------------------------- 2: managers without a team
def test_a_manager_without_a_team_sees_no_call_and_the_dashboard_says_why(store, monkeypatch):
    monkeypatch.setenv("RAPPORT_LOCAL_WORKER", "0")
    get_settings.cache_clear()
    st.cache_data.clear()
    teamless = seed_call(title="A CLI upload (rep with no team)", rep="Ola Nobody", team=None, duration_s=30)
    add_user("nate", PASSWORD, "manager")  # `add-user --role manager` without --team
    with session_scope() as session:
        assert session.scalars(visible_calls(session, active_user(session, "nate"))).all() == []
    for page in ("calls", "reps", "upload"):
        at = sign_in(AppTest.from_file(str(REPO_ROOT / "dashboard" / "views" / f"{page}.py"), default_timeout=60),
                     "nate").run()
        assert not at.exception
        assert any("not in a team yet" in i.value for i in at.info), page
        assert teamless.title not in str([e.value for e in at.dataframe]) + str([e.value for e in at.markdown])
    at = sign_in(AppTest.from_file(str(REPO_ROOT / "dashboard" / "views" / "review.py"), default_timeout=60), "nate")
    at.query_params["call"] = str(teamless.call_id)
    at.run()
    assert [e.value for e in at.error] == ["Call not found."]
    st.cache_data.clear()


# ----------------------------------------------------------------------------- 4: disk full while storing
def test_a_full_disk_while_storing_an_upload_names_the_file_and_keeps_nothing(store, videos, monkeypatch, capsys):
    import calls.intake

    def fill_the_disk(source, out, length=0):
        out.write(source.read(64 * 1024))  # the first bytes fit
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(calls.intake.shutil, "copyfileobj", fill_the_disk)
    assert main(["enqueue", str(videos["gallery.mp4"])]) == 2
    err = capsys.readouterr().err
    assert "gallery.mp4: could not be stored: the server's disk is full" in err
    assert str(store) not in err and "Traceback" not in err
    assert list((store / "uploads").iterdir()) == []  # no half-written file
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 0


# ----------------------------------------------------------------------------- 10: purged face pictures
def test_a_media_purge_clears_face_picture_paths_and_the_page_says_they_were_removed(store, videos, monkeypatch):
    monkeypatch.setenv("RAPPORT_LOCAL_WORKER", "0")
    get_settings.cache_clear()
    st.cache_data.clear()
    seeded = seed_call(title="Old call", video=videos["gallery.mp4"], duration_s=30)
    seed_users()
    with session_scope() as session:
        session.execute(update(Call).values(created_at=utcnow() - dt.timedelta(days=40)))
    assert purge().videos_deleted == 1
    with session_scope() as session:
        assert session.scalars(select(Track.thumbnail_path).where(Track.call_id == seeded.call_id)).all() == [None] * 2
    at = sign_in(AppTest.from_file(str(REPO_ROOT / "dashboard" / "views" / "review.py"), default_timeout=60), "ada")
    at.query_params["call"] = str(seeded.call_id)
    at.run()
    assert not at.exception
    assert [c.value for c in at.caption].count(":material/hide_image: Face picture removed by retention") == 2
    st.cache_data.clear()


# ----------------------------------------------------------------------------- 5: every worker child supervised
def test_worker_concurrency_reaps_and_replaces_every_killed_child(queue_env, tmp_path):
    log = tmp_path / "supervisor.log"
    supervisor = start_worker(log, "--concurrency", "2")

    def children() -> dict[int, int] | None:
        """slot -> pid of each slot's newest process, once every one of them says it is taking jobs."""
        text = log.read_text()
        newest = {int(slot): int(pid) for slot, pid in re.findall(r"worker slot (\d): started process (\d+)", text)}
        ready = {int(pid) for pid in re.findall(r"worker \S+:(\d+) taking jobs", text)}
        return newest if len(newest) == 2 and set(newest.values()) <= ready else None

    try:
        first = wait_for(children, 120, "two workers taking jobs", (supervisor,))
        for slot in (1, 0):  # the second child first: the one nobody replaced before
            killed = first[slot]
            os.kill(killed, signal.SIGKILL)
            wait_for(lambda: f"worker slot {slot}: process {killed} was killed by signal 9; starting a new one"
                     in log.read_text(), 30, f"slot {slot}'s replacement", (supervisor,))
            replaced = wait_for(lambda: (c := children()) and c[slot] != killed and c, 120,
                                f"slot {slot}'s new worker to take jobs", (supervisor,))
            assert not Path(f"/proc/{killed}").exists()  # reaped, not a zombie
            first = replaced
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(60) == 0, log.read_text()
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
    assert all(not Path(f"/proc/{pid}").exists() for pid in first.values())


# ----------------------------------------------------------------------------- 7: user text is text
def test_user_text_with_markdown_renders_as_text_on_every_page(store, videos, monkeypatch):
    """Every markdown-rendering element of the pages, parsed as CommonMark: no image, link or HTML from user text."""
    from calls.annotations import add_note, add_stage

    monkeypatch.setenv("RAPPORT_LOCAL_WORKER", "0")
    get_settings.cache_clear()
    st.cache_data.clear()
    seeded = seed_call(title=f"Acme {BEACON}", prospect_name=f"Sam {BEACON}", duration_s=60, stages=False)
    with session_scope() as session:
        session.execute(update(Call).values(consent_note=f"told {BEACON} <img src=http://127.0.0.1:9/x.png>",
                                            error=f"call {BEACON}.mp4: no faces"))
    add_note(seeded.call_id, 5, f"note {BEACON}", f"Mo {BEACON}")
    add_stage(seeded.call_id, f"pitch {BEACON}", 40, 50)
    seed_users()
    parser = MarkdownIt("commonmark")
    for page in ("review", "calls"):
        if page == "calls":  # a failed call's message names the uploaded file: the Calls page shows it
            with session_scope() as session:
                session.execute(update(Call).values(status="failed"))
        at = sign_in(AppTest.from_file(str(REPO_ROOT / "dashboard" / "views" / f"{page}.py"), default_timeout=60), "mo")
        at.query_params["call"] = str(seeded.call_id)
        at.run()
        assert not at.exception
        shown = [e.value for kind in ("title", "markdown", "caption", "info", "warning", "error", "success")
                 for e in getattr(at, kind)]
        assert any("beacon" in text for text in shown), page
        for text in shown:
            tokens = [t for block in parser.parse(text) for t in (block.children or [block])]
            assert not [t.type for t in tokens if t.type in ("image", "link_open", "html_inline", "html_block")], text
    st.cache_data.clear()


def test_a_full_disk_on_the_upload_page_names_the_file_and_keeps_nothing(store, videos, monkeypatch):
    import calls.intake

    def fill_the_disk(source, out, length=0):
        out.write(source.read(64 * 1024))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setenv("RAPPORT_LOCAL_WORKER", "0")
    get_settings.cache_clear()
    seed_users()
    monkeypatch.setattr(calls.intake.shutil, "copyfileobj", fill_the_disk)
    at = sign_in(AppTest.from_file(str(REPO_ROOT / "dashboard" / "views" / "upload.py"), default_timeout=60), "ada").run()
    at.file_uploader[0].upload("acme call.mp4", videos["gallery.mp4"].read_bytes(), "video/mp4")
    at.checkbox[0].set_value(True)
    at = next(b for b in at.button if b.label == "Analyse call").click().run()
    assert not at.exception
    assert [e.value.replace("\\", "") for e in at.error] == [  # shown as text: markdown-escaped
        "acme call.mp4: could not be stored: the server's disk is full. Nothing was kept; ask an admin to free some "
        "space, then upload it again."]
    assert [p for p in store.rglob("*") if p.is_file() and p.parent.name in ("incoming", "uploads")] == []
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 0
