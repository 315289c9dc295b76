"""The scale-out setup for real: a PostgreSQL store with a Redis queue (and PostgreSQL as the queue too).

Each run starts a throwaway PostgreSQL cluster and redis-server on loopback
(Debian's `postgresql` and `redis-server` packages, which `.ci/run` installs).
"""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import pytest

from config import get_settings
from tests.test_jobs import SILENT_WORKER_S, assert_store_consistent, call, claims_in_logs, job, short_clip, start_worker, wait_for, worker_model
from tools.bench_queue import find_binary, throwaway_postgres, throwaway_redis

__all__ = ["short_clip", "worker_model"]  # fixtures shared with test_jobs.py

MISSING = [name for name in ("initdb", "pg_ctl", "redis-server") if find_binary(name) is None]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"{', '.join(MISSING)} not installed "
                                                      "(apt-get install -y postgresql redis-server)")


@pytest.fixture(scope="module")
def medium_clip(tmp_path_factory) -> Path:
    """Long enough (30 s) that a worker can be caught mid-job."""
    from tools.synthetic import CallScript, write_call_video

    return write_call_video(tmp_path_factory.mktemp("clips") / "medium.mp4", CallScript(duration_s=30))


@pytest.fixture(scope="module")
def pg_server() -> str:
    with throwaway_postgres() as url:
        yield url


@pytest.fixture(scope="module")
def redis_url() -> str:
    with throwaway_redis() as url:
        yield url


@pytest.fixture
def pg_store(pg_server, worker_model, tmp_path, monkeypatch, request) -> Path:
    """A fresh database in the throwaway cluster, migrated; a fresh data folder; fast heartbeats."""
    import psycopg
    from sqlalchemy.engine import make_url

    from db.session import _session_factory, get_engine, init_db

    name = f"t_{request.node.name[:40].lower()}"
    server = make_url(pg_server)
    with psycopg.connect(host=server.host, port=server.port, user=server.username, dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    data = tmp_path / "data"
    for key, value in {"RAPPORT_DATA_DIR": str(data), "RAPPORT_DB_URL": server.set(database=name).render_as_string(False),
                       "RAPPORT_MODEL_PATH": str(worker_model), "RAPPORT_HEARTBEAT_S": "0.5",
                       "RAPPORT_VISIBILITY_TIMEOUT_S": SILENT_WORKER_S}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    init_db()
    yield data
    get_engine(get_settings().db_url).dispose()
    for cache in (get_settings, get_engine, _session_factory):
        cache.cache_clear()


def test_two_workers_on_postgresql_and_redis_finish_six_jobs_once_each_despite_a_sigkill(
        pg_store, redis_url, medium_clip, tmp_path, monkeypatch):
    from jobs import queue as jobs

    monkeypatch.setenv("RAPPORT_QUEUE_URL", redis_url)
    get_settings.cache_clear()
    ids = [jobs.enqueue_call(medium_clip, title=f"call {i}") for i in range(6)]
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    # The victim is held mid-job (tests/gated_worker.py), so it is killed in progress, never after finishing.
    victim, survivor = start_worker(logs[0], gate=tmp_path / "never-opened"), start_worker(logs[1])

    def victims_job_in_progress():
        return next((j for _, job_id in ids if (j := job(job_id)).state == "running" and j.progress > 0
                     and j.worker.endswith(f":{victim.pid}")), None)

    in_progress = wait_for(victims_job_in_progress, 120, "the victim's job in progress", (victim, survivor))
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    killed_job = in_progress.id

    wait_for(lambda: all(job(job_id).state == "done" for _, job_id in ids), 240, "all six jobs done", (survivor,))
    survivor.send_signal(signal.SIGTERM)
    assert survivor.wait(30) == 0

    attempts = {job_id: job(job_id).attempts for _, job_id in ids}
    assert attempts == {job_id: 2 if job_id == killed_job else 1 for _, job_id in ids}
    assert claims_in_logs(*logs) == Counter(attempts)  # each run the store counted, and no other
    assert all(call(call_id).status == "done" for call_id, _ in ids)
    assert_store_consistent(pg_store)
    assert jobs.get_queue().huey.pending_count() == 0


def test_postgresql_alone_can_be_the_queue(pg_store, short_clip, tmp_path, monkeypatch):
    from jobs import queue as jobs

    monkeypatch.setenv("RAPPORT_QUEUE_URL", get_settings().db_url)  # Huey's tables next to the store's
    get_settings.cache_clear()
    call_id, job_id = jobs.enqueue_call(short_clip)
    worker = start_worker(tmp_path / "worker.log", "--burst")
    assert worker.wait(120) == 0, (tmp_path / "worker.log").read_text()
    assert (job(job_id).state, job(job_id).attempts, call(call_id).status) == ("done", 1, "done")
    assert_store_consistent(pg_store)
