"""An analysis in progress: which attempt holds the call, how it shows it is alive, what an interrupted one leaves.

Every analysis of a call (the CLI's `analyze`, a worker's job, a retry) is one *attempt*:

* start    - `start_attempt` bumps `calls.attempt` and marks the call running in one UPDATE, and removes the
             files earlier attempts left behind (stills of an attempt that died, a half-written playable copy);
* alive    - a `Heartbeat` thread refreshes `calls.heartbeat_at` every `heartbeat_s` while the attempt runs;
             it stops refreshing (and the attempt stops at its next progress step) once the call was deleted
             or another attempt took it;
* write    - results are written only by an UPDATE fenced on (call id, same upload, same attempt, running), in the
             transaction that writes the rows (pipeline.store): a deleted call's analysis never lands anywhere;
* recover  - `recover_interrupted` fails a running call whose heartbeat is older than the visibility timeout and
             that no queued or running job owns (the process was killed): "analysis was interrupted", and retry
             works. Jobs whose worker died are the job reaper's (jobs.queue), which runs this too.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import exists, select, update

from config import RENDERS, SNAPSHOTS, Settings, get_settings
from db.models import Call, CallStatus, Job, Snapshot, Track, utcnow
from db.session import session_scope

log = logging.getLogger(__name__)

INTERRUPTED = "analysis was interrupted (its process stopped without finishing); retry it"
PARTIAL_INFIX = ".partial"  # review.partial.mp4 / .webm: what pipeline.review_copy writes before renaming


class AttemptLost(LookupError):
    """The call was deleted, or another attempt took it, while this one ran: this attempt writes nothing."""


@dataclass(frozen=True)
class Attempt:
    """The analysis holding a call: results are written only while the call still has this upload and number."""

    call_id: int
    number: int
    source_path: str | None

    def fence(self) -> tuple:
        """WHERE clauses of every write this attempt makes to its call."""
        return (Call.id == self.call_id, Call.attempt == self.number, Call.source_path == self.source_path,
                Call.status == CallStatus.RUNNING)


def start_attempt(call_id: int, settings: Settings | None = None) -> Attempt:
    """Take the call for a new analysis (AttemptLost if it is gone) and clear what earlier attempts left."""
    with session_scope() as session:
        moved = session.execute(update(Call).where(Call.id == call_id).values(
            attempt=Call.attempt + 1, status=CallStatus.RUNNING, error=None, heartbeat_at=utcnow())).rowcount
        if not moved:
            raise AttemptLost(f"call {call_id} not found")
        number, source_path = session.execute(select(Call.attempt, Call.source_path).where(Call.id == call_id)).one()
    remove_stray_files(call_id, settings)
    return Attempt(call_id, number, source_path)


def beat(attempt: Attempt) -> bool:
    """Say this attempt is alive; False once the call is gone or taken by another attempt."""
    with session_scope() as session:
        return session.execute(update(Call).where(*attempt.fence()).values(heartbeat_at=utcnow())).rowcount == 1


class Heartbeat:
    """`with Heartbeat(attempt):` refreshes the call's heartbeat in a thread; `.lost` once `beat` was refused."""

    def __init__(self, attempt: Attempt, settings: Settings | None = None):
        self.attempt = attempt
        self.every_s = (settings or get_settings()).heartbeat_s
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"call-{attempt.call_id}-heartbeat")

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()

    def check(self) -> None:
        """Raise AttemptLost once the heartbeat was refused (called at every progress step)."""
        if self.lost.is_set():
            raise AttemptLost(f"call {self.attempt.call_id} was deleted or taken by another analysis")

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                if not beat(self.attempt):
                    self.lost.set()
                    return
            except Exception:  # noqa: BLE001 - a store hiccup: the next beat tries again
                log.exception("call %s: heartbeat failed; retrying", self.attempt.call_id)


def recover_interrupted(settings: Settings | None = None, call_id: int | None = None) -> list[int]:
    """Fail running calls whose analysis stopped showing signs of life and that no job owns; returns their ids."""
    settings = settings or get_settings()
    cutoff = utcnow() - dt.timedelta(seconds=settings.visibility_timeout_s)
    silent = (Call.status == CallStatus.RUNNING, (Call.heartbeat_at < cutoff) | Call.heartbeat_at.is_(None),
              ~exists().where(Job.call_id == Call.id, Job.state.in_((CallStatus.QUEUED, CallStatus.RUNNING))))
    recovered = []
    with session_scope() as session:
        query = select(Call.id, Call.attempt).where(*silent)
        if call_id is not None:
            query = query.where(Call.id == call_id)
        for found_id, attempt in session.execute(query).all():
            if session.execute(update(Call).where(Call.id == found_id, Call.attempt == attempt, *silent)
                               .values(status=CallStatus.FAILED, error=INTERRUPTED)).rowcount:
                recovered.append(found_id)
    for found_id in recovered:
        log.warning("call %s: %s", found_id, INTERRUPTED)
        remove_stray_files(found_id, settings)
    return recovered


def remove_stray_files(call_id: int, settings: Settings | None = None) -> None:
    """Delete a call's still folders that no stored row points at, and half-written playable copies."""
    data_dir = (settings or get_settings()).data_dir
    with session_scope() as session:
        paths = [*session.scalars(select(Snapshot.path).where(Snapshot.call_id == call_id)),
                 *session.scalars(select(Track.thumbnail_path).where(Track.call_id == call_id,
                                                                     Track.thumbnail_path.is_not(None)))]
    kept = {Path(p).parent.name for p in paths}
    stills = data_dir / SNAPSHOTS / str(call_id)
    if stills.is_dir():
        for folder in stills.iterdir():
            if folder.name not in kept:
                shutil.rmtree(folder, ignore_errors=True) if folder.is_dir() else folder.unlink(missing_ok=True)
    renders = data_dir / RENDERS / str(call_id)
    if renders.is_dir():
        for partial in renders.glob(f"*{PARTIAL_INFIX}.*"):
            partial.unlink(missing_ok=True)
