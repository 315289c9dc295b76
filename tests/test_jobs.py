"""The analysis queue on the embedded default (Huey's SQLite queue + SQLite store).

Fast tests drive claim/heartbeat/reap in-process; the slow ones run real
`python -m pipeline worker` processes, kill them, and check what the store says.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from config import REPO_ROOT, SHIPPED_MODEL_PATH, get_settings
from db.models import Call, EmotionSecond, Job, Shift, Snapshot, Track, TrackSecond, utcnow
from db.session import session_scope
from jobs import queue as jobs
from pipeline.errors import InputError

SHORT_S = 5
SILENT_WORKER_S = "10"
"""`RAPPORT_VISIBILITY_TIMEOUT_S` of the tests that kill a worker: its job is re-queued after this much silence.
Short, so those tests wait little; long, so a live worker (heartbeat every 0.5 s) is never taken for dead on a
busy 2-core machine running two test processes (at 3 s, a PostgreSQL run at load 9 re-queued two live jobs)."""


# ----------------------------------------------------------------------------- fixtures and helpers
@pytest.fixture(scope="session")
def worker_model(tmp_path_factory) -> Path:
    """The shipped classifier, or (in a checkout without it) an untrained one exported once per session."""
    if SHIPPED_MODEL_PATH.is_file():
        return SHIPPED_MODEL_PATH
    from model.export import export_tflite
    from model.train import build_model

    folder = tmp_path_factory.mktemp("model")
    build_model().save(folder / "untrained.keras")
    return export_tflite(folder / "untrained.keras", folder / "untrained.tflite")


@pytest.fixture(scope="session")
def short_clip(tmp_path_factory) -> Path:
    from tools.synthetic import CallScript, write_call_video

    return write_call_video(tmp_path_factory.mktemp("clips") / "short.mp4", CallScript(duration_s=SHORT_S))


@pytest.fixture
def queue_env(store, worker_model, monkeypatch) -> Path:
    """The `store` fixture plus the embedded queue, fast heartbeats, and the model workers load."""
    monkeypatch.delenv("RAPPORT_QUEUE_URL", raising=False)
    monkeypatch.setenv("RAPPORT_MODEL_PATH", str(worker_model))
    monkeypatch.setenv("RAPPORT_HEARTBEAT_S", "0.5")
    monkeypatch.setenv("RAPPORT_VISIBILITY_TIMEOUT_S", "60")
    get_settings.cache_clear()
    yield store
    get_settings.cache_clear()


def start_worker(log: Path, *args: str, gate: Path | None = None, **env: str) -> subprocess.Popen:
    """A real `python -m pipeline worker` with the test's environment; its output goes to `log`.

    With `gate`, the worker's analysis holds at its first progress past 0 % until that file exists
    (tests/gated_worker.py): a test can kill or stop it mid-job knowing it cannot have finished."""
    module, extra = ("tests.gated_worker", {"RAPPORT_TEST_GATE": str(gate)}) if gate else ("pipeline", {})
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", module, "worker", *args], cwd=REPO_ROOT,
                                env={**os.environ, **env, **extra}, stdout=out, stderr=subprocess.STDOUT)


def wait_for(condition, timeout: float, what: str, workers: tuple[subprocess.Popen, ...] = ()):
    """Poll until `condition()` is truthy; fail early if a worker that should still run has exited."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        dead = [w.args for w in workers if w.poll() is not None]
        assert not dead, f"a worker exited while waiting for {what}: {dead}"
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.2)
    return value


def job(job_id: int) -> Job:
    with session_scope() as session:
        return session.get(Job, job_id)


def call(call_id: int) -> Call:
    with session_scope() as session:
        return session.get(Call, call_id)


def running_with_progress(job_id: int) -> Job | None:
    j = job(job_id)
    return j if j.state == "running" and j.progress > 0 else None


def backdate_heartbeat(job_id: int, seconds: float = 3600) -> None:
    with session_scope() as session:
        session.execute(update(Job).where(Job.id == job_id)
                        .values(heartbeat_at=utcnow() - dt.timedelta(seconds=seconds)))


def claims_in_logs(*logs: Path) -> Counter:
    """How many times any worker started each job id, from the workers' own log lines."""
    return Counter(int(m) for log in logs for m in re.findall(r"job (\d+) \(call \d+\): attempt", log.read_text()))


def assert_store_consistent(data_dir: Path) -> None:
    """Integrity checks: every done call has exactly one row per second for rep and prospect, one set of
    tracks and snapshots (files on disk, one snapshot folder); nothing points at a missing parent."""
    with session_scope() as session:
        for c in session.scalars(select(Call).where(Call.status == "done")):
            n_seconds = max(1, int(-(-c.duration_s // 1)))
            for role in ("rep", "prospect"):
                seconds = session.scalars(select(EmotionSecond.second).where(
                    EmotionSecond.call_id == c.id, EmotionSecond.role == role).order_by(EmotionSecond.second)).all()
                assert seconds == list(range(n_seconds)), f"call {c.id} {role}: seconds {seconds}"
            track_nos = session.scalars(select(Track.track_no).where(Track.call_id == c.id)).all()
            assert len(track_nos) == len(set(track_nos)) >= 2
            folders = list((data_dir / "snapshots" / str(c.id)).iterdir())
            assert len(folders) == 1, f"call {c.id}: snapshot folders {folders}"
            for snap in session.scalars(select(Snapshot).where(Snapshot.call_id == c.id)):
                assert (data_dir / snap.path).is_file() and Path(snap.path).parent.name == folders[0].name
        call_ids = select(Call.id)
        for model in (EmotionSecond, Track, Shift, Snapshot, Job):
            orphans = session.scalar(select(func.count()).select_from(model).where(model.call_id.not_in(call_ids)))
            assert orphans == 0, f"{model.__tablename__}: {orphans} rows of deleted calls"
        assert session.scalar(select(func.count()).select_from(TrackSecond)
                              .where(TrackSecond.track_id.not_in(select(Track.id)))) == 0
        not_done = select(Call.id).where(Call.status != "done")
        assert session.scalar(select(func.count()).select_from(EmotionSecond).where(EmotionSecond.call_id.in_(not_done))) == 0


# ----------------------------------------------------------------------------- claim, heartbeat, reap (in-process)
def test_enqueue_stores_a_queued_call_and_job_and_rejects_a_bad_file_up_front(queue_env, short_clip, tmp_path):
    call_id, job_id = jobs.enqueue_call(short_clip, title="Intro", rep="Ann")
    with session_scope() as session:
        assert jobs.latest_job(session, call_id).id == job_id
    assert (call(call_id).status, job(job_id).state, job(job_id).attempts) == ("queued", "queued", 0)
    assert [t.args for t in jobs.get_queue().huey.pending()] == [(job_id,)]

    garbage = tmp_path / "call.mp4"
    garbage.write_bytes(b"this is not a video " * 100)
    with pytest.raises(InputError, match="not a video"):
        jobs.enqueue_call(garbage)
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Call)) == 1
    assert jobs.get_queue().huey.pending_count() == 1


def test_a_job_is_claimed_once_and_never_again_once_done(queue_env, short_clip):
    _, job_id = jobs.enqueue_call(short_clip)
    first = jobs.claim(job_id, "host-a:1")
    assert first is not None and first.attempt == 1
    assert jobs.claim(job_id, "host-b:2") is None  # a duplicate delivery of the same message
    assert jobs.touch(first, "analysing frames", 40.0)
    jobs.mark_done(first)
    assert jobs.claim(job_id, "host-b:2") is None
    backdate_heartbeat(job_id)
    assert jobs.reap() == []
    j = job(job_id)
    assert (j.state, j.attempts, j.progress, j.worker) == ("done", 1, 100.0, "host-a:1")


def test_the_reaper_requeues_a_silent_worker_job_twice_then_fails_it_with_the_reason(queue_env, short_clip):
    call_id, job_id = jobs.enqueue_call(short_clip)
    jobs.get_queue().huey.flush()
    for attempt in (1, 2, 3):
        claim = jobs.claim(job_id, f"host:{attempt}")
        assert claim.attempt == attempt
        assert jobs.reap() == []  # heartbeat still fresh: left alone
        backdate_heartbeat(job_id)
        assert not jobs.touch(jobs.Claim(job_id, call_id, attempt, "host:other"))  # only the holder may heartbeat
        resent = jobs.reap()
        j = job(job_id)
        if attempt < 3:
            assert resent == [job_id] and (j.state, j.worker, call(call_id).status) == ("queued", None, "queued")
            assert j.error == f"attempt {attempt}: worker host:{attempt} stopped responding (no heartbeat for 60 s)"
            assert jobs.get_queue().huey.dequeue().args == (job_id,)
            assert not jobs.touch(claim)  # the old holder learns it lost the job
    assert resent == [] and j.state == "failed" and j.attempts == 3
    assert j.error == "worker host:3 stopped responding (no heartbeat for 60 s); gave up after 3 attempts"
    assert (call(call_id).status, call(call_id).error) == ("failed", j.error)
    assert jobs.get_queue().huey.pending_count() == 0


def test_the_reaper_resends_a_waiting_job_whose_message_was_lost(queue_env, short_clip):
    _, job_id = jobs.enqueue_call(short_clip)
    _, waiting_id = jobs.enqueue_call(short_clip)
    backdate_heartbeat(job_id)
    backdate_heartbeat(waiting_id)
    jobs.get_queue().huey.dequeue()  # a worker took the first message and died before claiming it
    assert jobs.reap() == [job_id]  # the second job's message is still in the queue: not duplicated
    assert sorted(t.args[0] for t in jobs.get_queue().huey.pending()) == [job_id, waiting_id]
    assert jobs.reap() == []


def test_a_run_that_stored_its_results_but_died_before_marking_the_job_is_not_repeated(queue_env, short_clip):
    call_id, job_id = jobs.enqueue_call(short_clip)
    jobs.claim(job_id, "host:1")
    with session_scope() as session:  # what analyze_call's final transaction leaves behind
        session.execute(update(Call).where(Call.id == call_id).values(status="done", analyzed_at=utcnow()))
    backdate_heartbeat(job_id)
    assert jobs.reap() == []
    assert (job(job_id).state, job(job_id).attempts) == ("done", 1)


def test_retry_queues_a_new_job_for_a_failed_call_only(queue_env, short_clip):
    call_id, job_id = jobs.enqueue_call(short_clip)
    with pytest.raises(ValueError, match="only a failed call"):
        jobs.retry_call(call_id)
    jobs.mark_failed(jobs.claim(job_id, "host:1"), "x.mp4: not a video")
    assert (call(call_id).status, call(call_id).error) == ("failed", "x.mp4: not a video")
    new_id = jobs.retry_call(call_id)
    assert new_id != job_id and (job(new_id).state, call(call_id).status, call(call_id).error) == ("queued", "queued", None)
    with pytest.raises(ValueError, match="only a failed call"):  # a second click makes no second job
        jobs.retry_call(call_id)
    with pytest.raises(jobs.NotFound):
        jobs.retry_call(call_id + 100)


# ----------------------------------------------------------------------------- real worker processes
def test_two_burst_workers_share_the_queue_and_a_bad_file_fails_once(queue_env, short_clip, tmp_path):
    ids = [jobs.enqueue_call(short_clip, title=f"call {i}") for i in range(4)]
    # create_call probes every upload, so a corrupt upload never gets this far (see the first test);
    # the worker still meets bad files: one damaged on (shared) storage after it was queued.
    damaged_call = ids[3][0]
    (queue_env / call(damaged_call).source_path).write_bytes(b"\x00garbage" * 1000)

    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers = [start_worker(log, "--burst") for log in logs]
    for w, log in zip(workers, logs):
        assert w.wait(timeout=150) == 0, log.read_text()

    states = {call_id: (call(call_id).status, job(job_id).state, job(job_id).attempts) for call_id, job_id in ids}
    assert list(states.values()) == [("done", "done", 1)] * 3 + [("failed", "failed", 1)]
    assert re.fullmatch(r".*\.mp4: not a video file Rapport can read.*", job(ids[3][1]).error)
    assert call(damaged_call).error == job(ids[3][1]).error
    assert claims_in_logs(*logs) == Counter(job_id for _, job_id in ids)  # each job started exactly once
    assert_store_consistent(queue_env)
    assert jobs.get_queue().huey.pending_count() == 0


def test_a_killed_worker_job_is_picked_up_again_and_a_stopped_worker_hands_its_job_back(queue_env, short_clip, tmp_path):
    fast = {"RAPPORT_VISIBILITY_TIMEOUT_S": SILENT_WORKER_S}
    call_id, job_id = jobs.enqueue_call(short_clip)
    never = tmp_path / "never-opened"  # the first two workers are held mid-job: neither can finish it

    first = start_worker(tmp_path / "first.log", gate=never, **fast)
    running = wait_for(lambda: running_with_progress(job_id), 90, "the first worker to make progress", (first,))
    assert running.worker.endswith(f":{first.pid}")
    first.send_signal(signal.SIGKILL)
    first.wait(10)

    second = start_worker(tmp_path / "second.log", gate=never, **fast)
    wait_for(lambda: (j := running_with_progress(job_id)) and j.worker.endswith(f":{second.pid}"), 90,
             "the second worker to reap the job and make progress", (second,))
    assert job(job_id).attempts == 2
    second.send_signal(signal.SIGTERM)  # mid-job: hand the job back without using up an attempt
    assert second.wait(30) == 0
    j = job(job_id)
    assert (j.state, j.attempts, j.worker, call(call_id).status) == ("queued", 1, None, "queued")

    third = start_worker(tmp_path / "third.log", "--burst", **fast)
    assert third.wait(150) == 0, (tmp_path / "third.log").read_text()
    j = job(job_id)
    assert (j.state, j.attempts, j.error) == ("done", 2, None) and j.worker.endswith(f":{third.pid}")
    assert call(call_id).status == "done"
    assert_store_consistent(queue_env)


def test_jobs_command_lists_state_progress_and_error(queue_env, short_clip, capsys):
    from cli.main import main

    _, job_id = jobs.enqueue_call(short_clip)
    jobs.mark_failed(jobs.claim(job_id, "host:1"), "short.mp4: the file is empty (0 bytes)")
    assert main(["jobs"]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"\b{job_id}\s+\d+\s+failed\s+starting\s+0%\s+1\s+short.mp4: the file is empty", out), out


def test_the_dashboards_worker_stops_once_the_dashboard_is_gone(queue_env, tmp_path):
    """A new-user trial (13) stopped the dashboard with SIGTERM twice: no exit handler ran, and its worker went on
    taking jobs. Here the dashboard's stand-in starts its worker (`start_local_worker`) and dies without stopping it."""
    log = tmp_path / "dashboard.log"
    with open(log, "w") as out:  # not a pipe: the worker inherits it, and a pipe's reader would wait for the worker
        subprocess.run([sys.executable, "-c", "import os; from jobs.queue import start_local_worker; "
                        "print('worker', start_local_worker().pid, flush=True); os._exit(0)"],
                       cwd=REPO_ROOT, env=dict(os.environ), stdout=out, stderr=subprocess.STDOUT, timeout=60)
    worker_pid = int(re.search(r"^worker (\d+)$", log.read_text(), re.M).group(1))

    def gone() -> bool:  # exited (a zombie no one has reaped yet counts as gone)
        try:
            return Path(f"/proc/{worker_pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except FileNotFoundError:
            return True

    assert not gone()  # it started, and outlived the dashboard
    wait_for(gone, 60, "the orphaned worker to stop")
    assert "the dashboard that started it" in log.read_text() and "stopped" in log.read_text()
