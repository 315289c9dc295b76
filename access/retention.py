"""Retention: delete what the workspace says is due, and every file a call owns.

Source videos, stills and the playable copy after `video_retention_days` (the call's rows stay); whole
calls after `data_retention_days`; audit events after `audit_retention_days`. Files go first, then rows.
A rep's face signature (`rep_enrolments`, rep recognition) is call data about the rep taken from a call: it
goes `data_retention_days` after the consent was recorded, as the call it came from would (re-enrol to renew).
Workers run `purge` daily; `python -m pipeline purge [--dry-run]` runs it by hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, update

from access.audit import audit
from access.workspace import get_workspace
from config import SNAPSHOTS, get_settings
from db.models import AuditEvent, Call, CallStatus, RepEnrolment, Snapshot, Track, utcnow
from db.session import session_scope
from pipeline.store import delete_media_folders

ANALYSING = (CallStatus.QUEUED, CallStatus.RUNNING)  # calls retention leaves alone until their analysis ends

@dataclass
class PurgeReport:
    videos_deleted: int = 0
    snapshot_files_deleted: int = 0
    calls_deleted: int = 0
    call_ids: list[int] = field(default_factory=list)
    audit_events_deleted: int = 0
    enrolments_deleted: int = 0


def purge(dry_run: bool = False, now: dt.datetime | None = None, username: str = "retention") -> PurgeReport:
    """Delete what retention says is due: media of old calls, whole calls past data retention, old audit events."""
    settings = get_settings()
    now = now or utcnow()
    report = PurgeReport()
    with session_scope() as session:
        workspace = get_workspace(session)
        media_cutoff = now - dt.timedelta(days=workspace.video_retention_days)
        data_cutoff = now - dt.timedelta(days=workspace.data_retention_days)
        audit_cutoff = now - dt.timedelta(days=workspace.audit_retention_days)
        idle = Call.status.not_in(ANALYSING)  # a call being analysed (or retried) waits for the next purge
        media_due = session.scalars(select(Call).where(Call.created_at < media_cutoff, Call.media_purged_at.is_(None),
                                                       idle)).all()
        calls_due = session.scalars(select(Call).where(Call.created_at < data_cutoff, idle)).all()
        for call in media_due:
            source = settings.data_dir / call.source_path if call.source_path else None
            stills = sorted((settings.data_dir / SNAPSHOTS / str(call.id)).rglob("*.jpg"))
            if not dry_run:
                # Fenced: a retry that queued the call since it was read keeps its recording.
                if not session.execute(update(Call).where(Call.id == call.id, idle)
                                       .values(source_path=None, media_purged_at=now)).rowcount:
                    continue
            report.videos_deleted += int(bool(source and source.exists()))
            report.snapshot_files_deleted += len(stills)
            if dry_run:
                continue
            if source:
                source.unlink(missing_ok=True)
            delete_media_folders(call.id, settings.data_dir)  # stills, and the playable copy of the recording
            session.execute(delete(Snapshot).where(Snapshot.call_id == call.id))
            session.execute(update(Track).where(Track.call_id == call.id).values(thumbnail_path=None))
        for call in calls_due:
            if not dry_run:
                # Fenced: a retry that queued the call since it was read keeps it (and its files).
                if not session.execute(delete(Call).where(Call.id == call.id, idle)).rowcount:
                    continue
                delete_call_files(call.id, call.source_path)
            report.calls_deleted += 1
            report.call_ids.append(call.id)
        enrolments_due = RepEnrolment.confirmed_at < data_cutoff
        report.enrolments_deleted = session.scalar(select(func.count()).where(enrolments_due))
        if not dry_run:
            session.execute(delete(RepEnrolment).where(enrolments_due))
        report.audit_events_deleted = session.scalar(select(func.count()).where(AuditEvent.at < audit_cutoff))
        if not dry_run:
            session.execute(delete(AuditEvent).where(AuditEvent.at < audit_cutoff))
            audit(session, username, "purge", None, videos=report.videos_deleted, calls=report.calls_deleted,
                  snapshots=report.snapshot_files_deleted, audit_events=report.audit_events_deleted,
                  face_signatures=report.enrolments_deleted)
        else:
            session.rollback()
    return report


def delete_call_files(call_id: int, source_path: str | None) -> None:
    """Every file a call owns: its upload and its per-call folders (stills, thumbnails, the playable copy)."""
    data_dir = get_settings().data_dir
    if source_path:
        (data_dir / source_path).unlink(missing_ok=True)
    delete_media_folders(call_id, data_dir)
