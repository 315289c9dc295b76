"""Analysis jobs: Huey carries them, the store's `jobs` table decides what happens to them.

Huey moves "analyse job N" messages from whoever enqueues (CLI, dashboard) to the
workers: from a SQLite file in the data folder by default (one machine, no server),
from Redis with `RAPPORT_QUEUE_URL=redis://...`, or from the PostgreSQL store itself
with `RAPPORT_QUEUE_URL=postgresql://...` (many worker hosts). Huey forgets a message
once a worker has taken it, so a worker killed mid-job would lose the job; crash
safety therefore lives in the `jobs` table, which every worker shares:

* claim     - queued -> running in one conditional UPDATE (attempts + 1, worker, heartbeat):
              of two deliveries of one message only one wins, and a job that is done never runs again;
* heartbeat - while a worker runs a job it refreshes `heartbeat_at` every few seconds;
* reap      - every worker, every few seconds, puts back a running job whose heartbeat is older than
              the visibility timeout (at most MAX_ATTEMPTS runs in all, then the job and its call fail
              with the reason), re-sends the message of a queued job the queue has lost, and fails calls
              whose `pipeline analyze` process died (pipeline.liveness.recover_interrupted).

`heartbeat_at` means "worker last seen alive" while a job runs and "message last sent" while it waits.
All times are the hosts' UTC clocks: keep worker hosts NTP-synced (skew must stay far below the timeout).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey
from huey.api import TaskWrapper
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from access.policy import Principal
from calls.intake import create_call
from calls.roles import RoleChange, prepare_reanalysis
from config import QUEUE_FILE, REPO_ROOT, Settings, get_settings
from db.models import Call, CallStatus, Job, utcnow
from db.session import session_scope
from pipeline.analyze import AnalysisSettings
from pipeline.errors import NotFound
from pipeline.liveness import recover_interrupted

log = logging.getLogger(__name__)

#: Runs of one job in all: the first plus two re-queues after a lost worker or an unexpected error.
MAX_ATTEMPTS = 3
QUEUE_NAME = "rapport"
ACTIVE = (CallStatus.QUEUED, CallStatus.RUNNING)


# ----------------------------------------------------------------------------- the queue
@dataclass(frozen=True)
class Queue:
    huey: Huey
    analyse: TaskWrapper  # the one task: `analyse(job_id)`


def queue_url(settings: Settings | None = None) -> str:
    """RAPPORT_QUEUE_URL, or the embedded default: a SQLite file next to the store."""
    settings = settings or get_settings()
    return settings.queue_url or f"sqlite:///{settings.data_dir / QUEUE_FILE}"


def get_queue() -> Queue:
    return _queue_at(queue_url())


@lru_cache(maxsize=4)
def _queue_at(url: str) -> Queue:
    # results=False: outcomes live in the jobs table, so Huey keeps no result keys to expire.
    if url.startswith(("redis://", "rediss://", "unix://")):
        huey: Huey = RedisHuey(QUEUE_NAME, url=url, results=False)
    elif url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        huey = PostgresHuey(QUEUE_NAME, dsn=url.replace("+psycopg", "", 1), results=False)
    elif url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey(QUEUE_NAME, filename=str(path), results=False)
    else:
        raise ValueError(f"RAPPORT_QUEUE_URL must start with redis://, postgresql:// or sqlite:///, not {url!r}")
    return Queue(huey, huey.task(name="analyse")(_analyse))


#: What runs a claimed job in this process: set by the worker (`jobs.worker.serve`), which owns the model
#: and the heartbeat. The queue never imports the worker, so the dependency runs one way (worker -> queue).
_runner: Callable[[int], None] | None = None


def set_runner(run: Callable[[int], None] | None) -> None:
    """Make `run(job_id)` the handler of this process's analysis messages (None: this process runs no jobs)."""
    global _runner
    _runner = run


def _analyse(job_id: int) -> None:
    """The Huey task. It runs inside `python -m pipeline worker` (see `set_runner`)."""
    if _runner is None:
        raise RuntimeError("analysis jobs run inside `python -m pipeline worker`")
    _runner(job_id)


def _send(job_ids: Iterable[int]) -> None:
    """Put messages on the queue. A failed send is only logged: the job row stays queued and the
    workers' reaper re-sends it once the queue is reachable again."""
    for job_id in job_ids:
        try:
            get_queue().analyse(job_id)
        except Exception:  # noqa: BLE001 - the reaper is the fallback, see above
            log.exception("could not send job %s to the queue; a worker's reaper will re-send it", job_id)


# ----------------------------------------------------------------------------- public API (CLI, dashboard)
def enqueue_call(video: Path, *, title: str | None = None, rep: str | None = None, prospect_name: str | None = None,
                 prospect_company: str | None = None, call_date: dt.date | None = None,
                 original_filename: str | None = None, analysis: AnalysisSettings = AnalysisSettings(),
                 team: str | None = None, consent_confirmed_by: str | None = None,
                 consent_note: str | None = None) -> tuple[int, int]:
    """Store the upload and a queued call (a bad file raises `InputError` here), queue its analysis.

    Returns (call_id, job_id). The keywords after `analysis` go to `create_call` (a new rep's team, consent).
    """
    call_id = create_call(video, title=title, rep=rep, prospect_name=prospect_name, prospect_company=prospect_company,
                          call_date=call_date, original_filename=original_filename, analysis=analysis, team=team,
                          consent_confirmed_by=consent_confirmed_by, consent_note=consent_note)
    return call_id, _add_job(call_id, from_status=CallStatus.QUEUED)


def retry_call(call_id: int) -> int:
    """Queue a new analysis of a failed call (e.g. after a model or settings fix); returns the job id.

    A call whose analysis process died (no heartbeat) counts as failed: see pipeline.liveness. A failed re-read
    of some faces (`queue_reread`) is retried as that re-read again, so the manager's role fix is kept."""
    recover_interrupted(call_id=call_id)
    with session_scope() as session:
        call = session.get(Call, call_id)
        if call is None:
            raise NotFound(f"call {call_id} not found")
        if call.status != CallStatus.FAILED:
            raise ValueError(f"call {call_id} is {call.status}; only a failed call can be retried")
        last = latest_job(session, call_id)
        tracks = last.classify_tracks if last is not None and last.state == CallStatus.FAILED else None
    return _add_job(call_id, from_status=CallStatus.FAILED, classify_tracks=tracks)


def queue_reread(call_id: int, change: RoleChange) -> int | None:
    """After a role fix: queue a re-read of the faces no analysis read (`change.unread`, rep analysis off);
    the job id, or None when there is nothing to read. The call shows as queued, then running, until then."""
    if not change.unread:
        return None
    return _add_job(call_id, from_status=CallStatus.DONE, classify_tracks=list(change.unread))


def queue_reanalysis(call_id: int, *, user: Principal | None = None, username: str | None = None, **changes) -> int:
    """Queue a new analysis of a done or failed call with other settings (`calls.roles.prepare_reanalysis`);
    its old rows stay until the new analysis commits. Returns the job id."""
    prepare_reanalysis(call_id, user=user, username=username, **changes)
    return _add_job(call_id, from_status=(CallStatus.DONE, CallStatus.FAILED))


def latest_job(session: Session, call_id: int) -> Job | None:
    return session.scalar(select(Job).where(Job.call_id == call_id).order_by(Job.id.desc()).limit(1))


def list_jobs(state: str | None = None, limit: int = 50) -> list[dict]:
    """Newest first: what `python -m pipeline jobs` prints."""
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if state:
        query = query.where(Job.state == state)
    with session_scope() as session:
        return [{"id": j.id, "call_id": j.call_id, "state": j.state, "stage": j.stage, "progress": j.progress,
                 "attempts": j.attempts, "worker": j.worker, "error": j.error} for j in session.scalars(query)]


def start_local_worker() -> subprocess.Popen:
    """One `python -m pipeline worker` child with this process's settings (the dashboard launcher's worker).

    Stop it with `.terminate()` (SIGTERM): it hands back the job in hand and exits. It also stops by itself once this
    process is gone (`--parent`), as a server stopped by a signal runs no exit handler.
    """
    return subprocess.Popen([sys.executable, "-m", "pipeline", "worker", "--parent", str(os.getpid())], cwd=REPO_ROOT,
                            env=os.environ.copy())


def _add_job(call_id: int, *, from_status: str | tuple[str, ...], classify_tracks: list[int] | None = None) -> int:
    """A queued job for a call in `from_status` (checked in the UPDATE itself, so two retries make one job);
    `classify_tracks`: only re-read those tracks' faces (see `Job.classify_tracks`)."""
    statuses = (from_status,) if isinstance(from_status, str) else from_status
    with session_scope() as session:
        moved = session.execute(update(Call).where(Call.id == call_id, Call.status.in_(statuses))
                                .values(status=CallStatus.QUEUED, error=None)).rowcount
        if not moved or session.scalar(select(Job.id).where(Job.call_id == call_id, Job.state.in_(ACTIVE))):
            raise ValueError(f"call {call_id} is already queued or being analysed")
        job = Job(call_id=call_id, state=CallStatus.QUEUED, heartbeat_at=utcnow(), classify_tracks=classify_tracks)
        session.add(job)
        session.flush()
        job_id = job.id
    _send([job_id])
    return job_id


# ----------------------------------------------------------------------------- the worker's side
@dataclass(frozen=True)
class Claim:
    """A job this worker holds: every later write is fenced on (job id, worker, state running)."""

    job_id: int
    call_id: int
    attempt: int
    worker: str
    classify_tracks: tuple[int, ...] | None = None  # only re-read these tracks' faces (None: the whole analysis)


def claim(job_id: int, worker: str) -> Claim | None:
    """Take a queued job, or None if it is not queued any more (done, taken, deleted)."""
    now = utcnow()
    with session_scope() as session:
        taken = session.execute(
            update(Job).where(Job.id == job_id, Job.state == CallStatus.QUEUED)
            .values(state=CallStatus.RUNNING, attempts=Job.attempts + 1, worker=worker, started_at=now,
                    heartbeat_at=now, finished_at=None, stage="starting", progress=0.0)
        ).rowcount == 1
        if not taken:
            return None
        job = session.get(Job, job_id)
        if _results_stored(session, job):  # an earlier run finished, then lost its job row update
            job.state, job.stage, job.progress, job.finished_at, job.error = CallStatus.DONE, "done", 100.0, now, None
            return None
        return Claim(job.id, job.call_id, job.attempts, worker,
                     None if job.classify_tracks is None else tuple(job.classify_tracks))


def touch(claim: Claim, stage: str | None = None, progress: float | None = None) -> bool:
    """Heartbeat (and progress, 0-100). False: this worker no longer holds the job (the reaper gave it away)."""
    values: dict = {"heartbeat_at": utcnow()}
    if stage is not None:
        values.update(stage=stage[:40], progress=progress)
    with session_scope() as session:
        return session.execute(update(Job).where(*_held(claim)).values(**values)).rowcount == 1


def mark_done(claim: Claim) -> None:
    with session_scope() as session:
        if session.execute(update(Job).where(*_held(claim)).values(
                state=CallStatus.DONE, stage="done", progress=100.0, error=None, finished_at=utcnow())).rowcount:
            return
    log.warning("job %s finished on %s after the reaper had given it away", claim.job_id, claim.worker)


def mark_failed(claim: Claim, message: str) -> None:
    """A failure no retry can fix (a bad file): the job and its call fail once, with this message."""
    with session_scope() as session:
        _end(session, claim.job_id, claim.call_id, _held(claim), CallStatus.FAILED, message)


def release(claim: Claim, reason: str, *, counts: bool) -> None:
    """Hand a job back to the queue. `counts=False` (the worker was asked to stop) does not use up an attempt;
    otherwise the job is re-queued while attempts are left and fails with `reason` after that."""
    with session_scope() as session:
        if counts:
            requeued = _retry_or_fail(session, claim.job_id, claim.call_id, claim.attempt, _held(claim), reason)
        else:
            requeued = _requeue(session, claim.job_id, claim.call_id, _held(claim), reason, attempts=Job.attempts - 1)
    if requeued:
        _send([claim.job_id])


def call_exists(call_id: int) -> bool:
    with session_scope() as session:
        return session.get(Call, call_id) is not None


def sync_call_status(call_id: int) -> None:
    """Make the call's status match its latest job again (after an abandoned run wrote `failed` over it)."""
    with session_scope() as session:
        job, call = latest_job(session, call_id), session.get(Call, call_id)
        if job is not None and call is not None and job.state in ACTIVE:
            call.status, call.error = job.state, None


def reap(settings: Settings | None = None) -> list[int]:
    """Put back running jobs whose worker went silent; re-send queued jobs the queue lost. Returns re-sent job ids.

    Safe to run from every worker at once: each change is a conditional UPDATE only one of them wins.
    """
    settings = settings or get_settings()
    timeout = settings.visibility_timeout_s
    cutoff = utcnow() - dt.timedelta(seconds=timeout)
    resend = []
    with session_scope() as session:
        stale = session.scalars(select(Job).where(Job.state == CallStatus.RUNNING, Job.heartbeat_at < cutoff)).all()
        for job in stale:
            job_id, worker = job.id, job.worker
            still_stale = (Job.id == job_id, Job.state == CallStatus.RUNNING, Job.heartbeat_at < cutoff)
            if _results_stored(session, job):
                session.execute(update(Job).where(*still_stale).values(
                    state=CallStatus.DONE, stage="done", progress=100.0, error=None, finished_at=utcnow()))
            elif _retry_or_fail(session, job_id, job.call_id, job.attempts, still_stale,
                                f"worker {worker} stopped responding (no heartbeat for {timeout:g} s)"):
                log.warning("job %s: worker %s stopped responding; re-queued", job_id, worker)
                resend.append(job_id)
        waiting = set(session.scalars(select(Job.id).where(Job.state == CallStatus.QUEUED, Job.heartbeat_at < cutoff)))
    if waiting:
        lost = waiting - {task.args[0] for task in get_queue().huey.pending()}
        with session_scope() as session:
            for job_id in lost:
                if session.execute(update(Job).where(Job.id == job_id, Job.state == CallStatus.QUEUED,
                                                     Job.heartbeat_at < cutoff).values(heartbeat_at=utcnow())).rowcount:
                    log.warning("job %s: its queue message was lost; re-sent", job_id)
                    resend.append(job_id)
    _send(resend)
    recover_interrupted(settings)  # calls analysed outside the queue (`pipeline analyze`) whose process died
    return resend


def _held(claim: Claim) -> tuple:
    return Job.id == claim.job_id, Job.worker == claim.worker, Job.state == CallStatus.RUNNING


def _results_stored(session: Session, job: Job) -> bool:
    """The call was analysed after this job was queued and keeps no roles set by hand still to be set on the new rows
    (`calls.roles.HandRoles.pending`): this job's work is in the store already."""
    call = session.get(Call, job.call_id)
    return (call is not None and call.status == CallStatus.DONE and call.analyzed_at is not None
            and call.analyzed_at >= job.created_at and call.hand_roles is None)


def _retry_or_fail(session: Session, job_id: int, call_id: int, attempts: int, fence: tuple, reason: str) -> bool:
    """Re-queue while attempts are left (True), else fail the job and the call with the reason (False)."""
    if attempts >= MAX_ATTEMPTS:
        _end(session, job_id, call_id, fence, CallStatus.FAILED, f"{reason}; gave up after {attempts} attempts")
        return False
    return _requeue(session, job_id, call_id, fence, f"attempt {attempts}: {reason}")


def _requeue(session: Session, job_id: int, call_id: int, fence: tuple, reason: str, **values) -> bool:
    moved = session.execute(update(Job).where(*fence).values(
        state=CallStatus.QUEUED, worker=None, stage=None, progress=0.0, error=reason, heartbeat_at=utcnow(), **values)
    ).rowcount == 1
    if moved:
        session.execute(update(Call).where(Call.id == call_id).values(status=CallStatus.QUEUED, error=None))
    return moved


def _end(session: Session, job_id: int, call_id: int, fence: tuple, state: str, message: str) -> None:
    if session.execute(update(Job).where(*fence).values(state=state, error=message, finished_at=utcnow())).rowcount:
        session.execute(update(Call).where(Call.id == call_id).values(status=state, error=message))
