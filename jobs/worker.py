"""The worker: `python -m pipeline worker [--concurrency N] [--burst]`.

One process runs one analysis at a time (an analysis already keeps two cores busy
with decoding and inference); `--concurrency N` starts N such processes and
replaces one the kernel kills (e.g. out of memory). Each process:

* loads the model before taking any job, so a broken install fails no jobs;
* takes messages off the Huey queue and claims the job in the store (jobs.queue);
* runs `calls.roles.reanalyze_call` (the analysis, keeping roles a manager set by hand; after a role fix, `calls.roles.reread_tracks`), writing stage and progress to the job row at most once a second;
* keeps a housekeeping thread that heartbeats the job in hand and runs the reaper;
* on SIGTERM or SIGINT hands the job in hand back to the queue (without using up an
  attempt) at the next progress step and exits 0: a deploy or the dashboard closing
  never waits minutes for an analysis, and the analysis writes nothing until its end.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from access.retention import purge
from calls.roles import reanalyze_call, reread_tracks
from config import get_settings
from jobs import queue as jobs
from pipeline.errors import InputError, NotFound
from pipeline.liveness import AttemptLost

log = logging.getLogger(__name__)

IDLE_POLL_S = 1.0  # how often an idle worker looks at a queue that cannot block (SQLite)
PROGRESS_EVERY_S = 1.0
PARENT_POLL_S = 1.0  # how often a dashboard's worker (`--parent`) checks that the dashboard still runs
PURGE_FIRST_AFTER_S = 60.0  # every worker purges; purging twice is harmless (the second finds nothing due)
PURGE_EVERY_S = 24 * 3600.0
SUPERVISE_POLL_S = 0.5  # how often `--concurrency N` checks on its children
STARTUP_S = 30.0  # a child failing this soon after its start is a broken install, not bad luck: not replaced



class StopRequested(Exception):
    """SIGTERM/SIGINT arrived: give the job back and exit."""


class LeaseLost(Exception):
    """The reaper gave this job to another worker (this one was silent too long)."""


def serve(concurrency: int = 1, burst: bool = False, parent: int | None = None) -> int:
    """Run until stopped (or, with `burst`, until the queue is empty, or once process `parent` is gone); the process
    exit status."""
    if concurrency > 1:
        return _supervise(concurrency, burst)
    from model.classifier import load_classifier

    worker = Worker(load_classifier(), burst, parent)
    jobs.set_runner(worker.run)
    return worker.serve()


class Worker:
    def __init__(self, classifier, burst: bool, parent: int | None = None):
        self.classifier = classifier
        self.burst = burst
        self.parent = parent  # the dashboard's pid for its local worker: this worker stops once it is gone
        self.id = f"{socket.gethostname()}:{os.getpid()}"
        self.settings = get_settings()
        self.stopping = threading.Event()
        self._job: jobs.Claim | None = None  # the job in hand, read by the housekeeping thread
        self._lost: jobs.Claim | None = None  # set by the housekeeping thread when its heartbeat was refused

    def serve(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)
        queue = jobs.get_queue()
        jobs.reap(self.settings)  # a worker that died while no other was running left its job behind
        threading.Thread(target=self._housekeeping, daemon=True, name="heartbeat").start()
        if self.parent is not None:
            threading.Thread(target=self._watch_parent, daemon=True, name="parent").start()
        log.info("worker %s taking jobs from %s%s", self.id, _redacted(jobs.queue_url(self.settings)),
                 " until the queue is empty" if self.burst else "")
        while not self.stopping.is_set():
            task = queue.huey.dequeue()
            if task is not None:
                queue.huey.execute(task)
            elif self.burst:
                break
            elif not queue.huey.storage.blocking:
                self.stopping.wait(IDLE_POLL_S)
        log.info("worker %s stopped", self.id)
        return 0

    def run(self, job_id: int) -> None:
        """Claim and analyse one job; every outcome ends in the jobs table."""
        claim = jobs.claim(job_id, self.id)
        if claim is None:
            log.info("job %s is not queued any more (done, taken or deleted): skipped", job_id)
            return
        log.info("job %s (call %s): attempt %s", claim.job_id, claim.call_id, claim.attempt)
        started = time.monotonic()
        self._job = claim
        try:
            if claim.classify_tracks is not None:  # a role fix's re-read of some faces
                reread_tracks(claim.call_id, list(claim.classify_tracks), self.classifier,
                              progress=self._progress_writer(claim))
            else:
                # keeps roles a manager set by hand on a call analysed again (`calls.roles.HandRoles`)
                reanalyze_call(claim.call_id, self.classifier, progress=self._progress_writer(claim),
                               username=f"reanalysis@{self.id}")
        except StopRequested:
            jobs.release(claim, f"worker {self.id} was stopped", counts=False)
            log.info("job %s handed back to the queue", claim.job_id)
        except LeaseLost:
            if not jobs.call_exists(claim.call_id):  # the job went with its deleted call
                log.info("job %s: call %s was deleted during its analysis; stopped, nothing written", claim.job_id,
                         claim.call_id)
            else:
                jobs.sync_call_status(claim.call_id)
                log.warning("job %s was given to another worker; abandoned", claim.job_id)
        except InputError as error:
            jobs.mark_failed(claim, str(error))
            log.info("job %s failed: %s", claim.job_id, error)
        except (NotFound, AttemptLost):
            log.info("job %s: call %s was deleted (or taken by another analysis) during its analysis; stopped, "
                     "nothing written", claim.job_id, claim.call_id)
        except Exception as error:  # noqa: BLE001 - any other failure is retried a bounded number of times
            log.exception("job %s: analysis failed", claim.job_id)
            jobs.release(claim, f"{type(error).__name__}: {error}", counts=True)
        else:
            jobs.mark_done(claim)
            log.info("job %s done in %.1f s", claim.job_id, time.monotonic() - started)
        finally:
            self._job = None

    def _progress_writer(self, claim: jobs.Claim):
        """The progress callback: writes stage/progress (throttled) and is where a stop or a lost lease interrupts."""
        last = {"stage": None, "at": 0.0}

        def report(stage: str, fraction: float) -> None:
            if self.stopping.is_set():
                raise StopRequested(f"worker {self.id} is stopping")
            if self._lost is claim:
                raise LeaseLost(f"job {claim.job_id} was given to another worker")
            now = time.monotonic()
            if stage != last["stage"] or now - last["at"] >= PROGRESS_EVERY_S:
                if not jobs.touch(claim, stage, round(100 * fraction, 1)):
                    raise LeaseLost(f"job {claim.job_id} was given to another worker")
                last.update(stage=stage, at=now)

        return report

    def _housekeeping(self) -> None:
        """Heartbeat the job in hand every `heartbeat_s`; run the reaper every quarter of the visibility
        timeout, and the retention purge once a day (the first time a minute after start)."""
        reap_every = max(self.settings.heartbeat_s, self.settings.visibility_timeout_s / 4)
        next_reap = time.monotonic() + reap_every
        next_purge = time.monotonic() + PURGE_FIRST_AFTER_S
        while not self.stopping.wait(self.settings.heartbeat_s):
            try:
                claim = self._job
                if claim is not None and not jobs.touch(claim):
                    self._lost = claim
                if time.monotonic() >= next_reap:
                    jobs.reap(self.settings)
                    next_reap = time.monotonic() + reap_every
                if time.monotonic() >= next_purge:
                    report = purge(username=f"retention@{self.id}")
                    log.info("retention purge: %s video(s), %s call(s) deleted", report.videos_deleted, report.calls_deleted)
                    next_purge = time.monotonic() + PURGE_EVERY_S
            except Exception:  # noqa: BLE001 - a store or queue hiccup must not kill the heartbeat
                log.exception("heartbeat/reaper round failed; retrying")

    def _watch_parent(self) -> None:
        """Stop once the process that started this worker is gone (its parent changes: a dashboard stopped by SIGTERM
        ran no exit handler, and its worker went on taking jobs; a new-user trial, 13)."""
        while not self.stopping.wait(PARENT_POLL_S):
            if os.getppid() != self.parent:
                log.info("worker %s: the dashboard that started it (process %s) is gone; stopping", self.id, self.parent)
                self.stopping.set()

    def _stop(self, signum: int, _frame) -> None:
        log.info("worker %s: %s received, stopping", self.id, signal.Signals(signum).name)
        self.stopping.set()


def _supervise(concurrency: int, burst: bool) -> int:
    """N single-job worker processes, each watched every SUPERVISE_POLL_S: one that dies (killed by a signal, e.g.
    out of memory, or exiting with an error) is reaped and replaced, with a log line. A child that fails within
    STARTUP_S of starting (a broken install: it will not get better) stops them all instead. SIGTERM/SIGINT are
    passed on; with `burst`, children that exit 0 (queue empty) are not replaced. Returns once every child has
    exited: 0, or the first error status among the last children."""
    command = [sys.executable, "-m", "pipeline", "worker", "--concurrency", "1", *(["--burst"] if burst else [])]
    stopping = threading.Event()
    children: list[subprocess.Popen] = []
    started: list[float] = []

    def start(slot: int) -> None:
        child = subprocess.Popen(command)
        log.info("worker slot %s: started process %s", slot, child.pid)
        if slot < len(children):
            children[slot], started[slot] = child, time.monotonic()
        else:
            children.append(child)
            started.append(time.monotonic())

    def stop(signum: int, _frame) -> None:
        stopping.set()
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    for slot in range(concurrency):
        start(slot)
    while True:
        states = [child.poll() for child in children]  # every child, every round: none is left a zombie
        if all(code is not None for code in states):
            return next((code if code > 0 else 128 - code for code in states if code), 0)
        for slot, (child, code) in enumerate(zip(children, states)):
            if code is None or stopping.is_set() or (burst and code == 0):
                continue
            how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            if code > 0 and time.monotonic() - started[slot] < STARTUP_S:
                log.error("worker slot %s: process %s %s while starting; stopping all workers", slot, child.pid, how)
                stop(signal.SIGTERM, None)
                continue
            log.warning("worker slot %s: process %s %s; starting a new one", slot, child.pid, how)
            start(slot)
        stopping.wait(SUPERVISE_POLL_S)


def _redacted(url: str) -> str:
    """The queue URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    return f"{scheme}{sep}{credentials.split(':')[0]}:***@{host}" if at else url
