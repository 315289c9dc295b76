"""Rapport's store: SQLAlchemy 2 typed models.

One call owns everything derived from it (tracks, per-second rows, shifts,
snapshots, jobs, notes, stages); deleting the call cascades to all of them.
Per-second data is kept twice on purpose:
  * `TrackSecond` - raw per-track means, the analysis result of the video;
  * `EmotionSecond` - per-role rows derived from tracks + roles (smoothed).
Reassigning roles re-derives `EmotionSecond` and `Shift` from `TrackSecond`
without touching the video.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import (JSON, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, false, true)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class CallStatus:
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Rep(Base):
    __tablename__ = "reps"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    team: Mapped[Optional[str]] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    calls: Mapped[list["Call"]] = relationship(back_populates="rep", cascade="all, delete-orphan", passive_deletes=True)


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = {"sqlite_autoincrement": True}  # a deleted call's id never comes back (PostgreSQL: serial)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    rep_id: Mapped[Optional[int]] = mapped_column(ForeignKey("reps.id", ondelete="CASCADE"), index=True)
    prospect_name: Mapped[Optional[str]] = mapped_column(String(200))
    prospect_company: Mapped[Optional[str]] = mapped_column(String(200))
    call_date: Mapped[Optional[dt.date]] = mapped_column()
    source_path: Mapped[Optional[str]] = mapped_column(String(1000))  # relative to the data folder
    original_filename: Mapped[Optional[str]] = mapped_column(String(300))  # display only, never a path
    # SHA-256 (hex) of the uploaded bytes: the same recording uploaded again is told, whatever its name
    # (`calls.intake.earlier_copies`). None: stored before migration 0018 (hashed when first compared).
    content_sha256: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    duration_s: Mapped[Optional[float]] = mapped_column(Float)
    fps: Mapped[Optional[float]] = mapped_column(Float)
    width: Mapped[Optional[int]] = mapped_column(Integer)
    height: Mapped[Optional[int]] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=CallStatus.QUEUED, index=True)
    error: Mapped[Optional[str]] = mapped_column(Text)
    # What a done call's recording lacked ("the file ends at 0:12 of 0:20; damaged at 0:08 for 0.1 s"): the
    # readable part was analysed. None: the whole recording was read.
    partial_note: Mapped[Optional[str]] = mapped_column(Text)
    # what the analysis could not square about roles (the rep position against the video), shown on the review page
    roles_note: Mapped[Optional[str]] = mapped_column(Text)
    # who the prospect is rests on a guess (`pipeline.roles.RoleDecision.guessed`): the Calls list and the Reps page hold
    # the call's prospect figures back until someone confirms or fixes the roles (`calls.roles`)
    roles_guessed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # the roles as the analysis left them: {"roles": {track_no: role}, "note": roles_note, "guessed": roles_guessed}; a
    # role change that comes back to them brings the note and the guess back (`calls.roles`). None: analysed before 0021
    analysed_roles: Mapped[Optional[dict]] = mapped_column(JSON)
    # roles a manager set by hand that the call's next analysis is to keep (`calls.roles.HandRoles`): {role: {second:
    # [x1, y1, x2, y2]}}, written when that analysis is asked for, cleared once it has kept them; None: none pending
    hand_roles: Mapped[Optional[dict]] = mapped_column(JSON)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)  # analysis settings used
    model_version: Mapped[Optional[str]] = mapped_column(String(100))
    code_version: Mapped[Optional[str]] = mapped_column(String(40))  # config.CODE_VERSION of the analysis that wrote it
    faces_found: Mapped[Optional[int]] = mapped_column(Integer)
    consent_confirmed_by: Mapped[Optional[str]] = mapped_column(String(200))  # who said participants were told
    consent_confirmed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    consent_note: Mapped[Optional[str]] = mapped_column(Text)
    media_purged_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)  # video and stills removed by retention
    # Analyses started on this call; only the one holding the latest number may write results (pipeline.liveness).
    attempt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    heartbeat_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)  # while running: the analysis last alive
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    analyzed_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)

    rep: Mapped[Optional[Rep]] = relationship(back_populates="calls")
    tracks: Mapped[list["Track"]] = relationship(back_populates="call", cascade="all, delete-orphan", passive_deletes=True)
    seconds: Mapped[list["EmotionSecond"]] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    shifts: Mapped[list["Shift"]] = relationship(cascade="all, delete-orphan", passive_deletes=True, order_by="Shift.t_s")
    snapshots: Mapped[list["Snapshot"]] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    jobs: Mapped[list["Job"]] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    stages: Mapped[list["ScriptStage"]] = relationship(cascade="all, delete-orphan", passive_deletes=True, order_by="ScriptStage.start_s")
    notes: Mapped[list["CoachingNote"]] = relationship(cascade="all, delete-orphan", passive_deletes=True, order_by="CoachingNote.t_s")


class Track(Base):
    """One face followed through the call, with the role it plays."""

    __tablename__ = "tracks"
    __table_args__ = (UniqueConstraint("call_id", "track_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    track_no: Mapped[int] = mapped_column(Integer)  # the tracker's id, stable within the call
    person_no: Mapped[Optional[int]] = mapped_column(Integer)  # the tracks of one person share it (one track, one person until grouped)
    role: Mapped[str] = mapped_column(String(30))  # rep | prospect | participant-N
    role_source: Mapped[str] = mapped_column(String(10), default="auto")  # auto | manual
    first_s: Mapped[float] = mapped_column(Float)
    last_s: Mapped[float] = mapped_column(Float)
    n_frames: Mapped[int] = mapped_column(Integer)
    mean_box: Mapped[list] = mapped_column(JSON)  # [x1, y1, x2, y2] as fractions of the frame
    thumbnail_path: Mapped[Optional[str]] = mapped_column(String(1000))

    call: Mapped[Call] = relationship(back_populates="tracks")
    seconds: Mapped[list["TrackSecond"]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class TrackSecond(Base):
    """Raw per-track, per-second mean probabilities: what the video analysis produced."""

    __tablename__ = "track_seconds"
    __table_args__ = (UniqueConstraint("track_id", "second"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    second: Mapped[int] = mapped_column(Integer)
    n_frames: Mapped[int] = mapped_column(Integer)
    # of those, frames whose face was poor (frozen, small, turned away, blurred: pipeline.uncertainty); None before
    # migration 0008
    n_poor_frames: Mapped[Optional[int]] = mapped_column(Integer)
    # of those, frames whose face was small; None before migration 0014
    n_small_frames: Mapped[Optional[int]] = mapped_column(Integer)
    # of those, frames whose face was turned away, and whose video was frozen (the rest were blurred); None before
    # migration 0016
    n_turned_frames: Mapped[Optional[int]] = mapped_column(Integer)
    n_frozen_frames: Mapped[Optional[int]] = mapped_column(Integer)
    probs: Mapped[Optional[list]] = mapped_column(JSON)  # 7 floats, EMOTIONS order; None if not classified
    box: Mapped[list] = mapped_column(JSON)  # mean [x1, y1, x2, y2] as fractions of the frame
    # Mean face quality over the second's frames (model.quality.face_quality); None where unknown
    # (e.g. pose from a detector without landmarks, or rows stored before quality was measured).
    face_px: Mapped[Optional[float]] = mapped_column(Float)  # face box's longer side, source-video pixels
    sharpness: Mapped[Optional[float]] = mapped_column(Float)  # model.quality.contrast_free_sharpness of the 48x48 crop
    roll_deg: Mapped[Optional[float]] = mapped_column(Float)  # eye line's angle, degrees
    yaw_deg: Mapped[Optional[float]] = mapped_column(Float)  # head turn from landmarks, degrees
    detector_score: Mapped[Optional[float]] = mapped_column(Float)  # detector confidence, 0..1
    # peak mouth motion of the second's frames (model.mouth.mouth_motion); None where not measured
    mouth_motion: Mapped[Optional[float]] = mapped_column(Float)


class EmotionSecond(Base):
    """One row per second and role: the timeline length always equals the call length."""

    __tablename__ = "emotion_seconds"
    __table_args__ = (UniqueConstraint("call_id", "role", "second"), Index("ix_emotion_seconds_call_role", "call_id", "role"))

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(30))
    second: Mapped[int] = mapped_column(Integer)
    face_present: Mapped[bool] = mapped_column(Boolean)
    video_present: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())  # False: "no video" (not "face not seen")
    n_frames: Mapped[int] = mapped_column(Integer, default=0)
    angry: Mapped[Optional[float]] = mapped_column(Float)
    disgust: Mapped[Optional[float]] = mapped_column(Float)
    fear: Mapped[Optional[float]] = mapped_column(Float)
    happy: Mapped[Optional[float]] = mapped_column(Float)
    sad: Mapped[Optional[float]] = mapped_column(Float)
    surprise: Mapped[Optional[float]] = mapped_column(Float)
    neutral: Mapped[Optional[float]] = mapped_column(Float)
    # what the second shows: the likely emotion, "uncertain" (config.UNCERTAIN), or None when no face was read
    dominant: Mapped[Optional[str]] = mapped_column(String(10))
    confidence: Mapped[Optional[float]] = mapped_column(Float)
    # why `dominant` is "uncertain" (pipeline.uncertainty: frozen video, small face, turned away, blurred face,
    # open mouth while talking, no clear expression); else None.
    # None on uncertain rows stored before migration 0014.
    uncertain_reason: Mapped[Optional[str]] = mapped_column(String(40))
    # Who is talking (pipeline.speech): a property of the call's second, the same on every role's row, kept here
    # beside video_present so per-second readers get it with the emotions and role changes rewrite it with them.
    speech: Mapped[Optional[float]] = mapped_column(Float)  # fraction of the second holding speech; None: no audio
    speaking: Mapped[Optional[str]] = mapped_column(String(12))  # pipeline.speech.SPEAKING_VALUES; None: before migration 0010


class Shift(Base):
    """A sustained change of one role's dominant emotion."""

    __tablename__ = "shifts"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    t_s: Mapped[float] = mapped_column(Float)
    from_emotion: Mapped[str] = mapped_column(String(10))
    to_emotion: Mapped[str] = mapped_column(String(10))
    direction: Mapped[str] = mapped_column(String(10))  # positive | negative | neutral
    strength: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float)


class Snapshot(Base):
    """An annotated still of a key moment (a shift, or one of the strongest moments)."""

    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    shift_id: Mapped[Optional[int]] = mapped_column(ForeignKey("shifts.id", ondelete="SET NULL"))
    t_s: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(20))  # shift | peak
    caption: Mapped[str] = mapped_column(String(300))
    path: Mapped[str] = mapped_column(String(1000))  # relative to the data folder


class Job(Base):
    """One analysis of one call: what a worker is doing and how far it got."""

    __tablename__ = "jobs"
    __table_args__ = {"sqlite_autoincrement": True}  # a deleted job's id never comes back

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(20), default=CallStatus.QUEUED, index=True)
    stage: Mapped[Optional[str]] = mapped_column(String(40))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[Optional[str]] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[Optional[str]] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    heartbeat_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    # The track numbers this job re-reads (classifies) after a role fix, keeping every other stored row;
    # None: the whole analysis (see calls.roles.reread_tracks).
    classify_tracks: Mapped[Optional[list]] = mapped_column(JSON)


class ScriptStage(Base):
    """A segment of the call the manager marked as one stage of the sales script."""

    __tablename__ = "script_stages"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))  # intro, discovery, demo, pricing, close, or the manager's own
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)


class CoachingNote(Base):
    """A manager's note attached to a moment of the call."""

    __tablename__ = "coaching_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    t_s: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[Optional[str]] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


#: What a new workspace keeps, in days, until an admin changes it on Settings: recordings and stills
#: (the biometric data) a month, per-second results a year, the audit log two years.
RETENTION_DEFAULTS = {"video_retention_days": 30, "data_retention_days": 365, "audit_retention_days": 730}


class Workspace(Base):
    """Workspace-wide privacy settings: one row (id 1, enforced). `rep_analysis` None means the admin has not chosen yet."""

    __tablename__ = "workspace"
    __table_args__ = (CheckConstraint("id = 1", name="ck_workspace_single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rep_analysis: Mapped[Optional[bool]] = mapped_column(Boolean)
    video_retention_days: Mapped[int] = mapped_column(Integer, default=RETENTION_DEFAULTS["video_retention_days"])
    data_retention_days: Mapped[int] = mapped_column(Integer, default=RETENTION_DEFAULTS["data_retention_days"])
    # Who did what is personal data too: kept long enough to answer an access question, then purged.
    audit_retention_days: Mapped[int] = mapped_column(Integer, default=RETENTION_DEFAULTS["audit_retention_days"],
                                                      server_default=str(RETENTION_DEFAULTS["audit_retention_days"]))
    # Recognise enrolled reps across calls by a stored face signature (`rep_enrolments`); off until an admin turns it on.
    rep_recognition: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_by: Mapped[Optional[str]] = mapped_column(String(200))
    updated_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)


class RepEnrolment(Base):
    """A rep's consented face signature (`pipeline.enrolment`): 128 numbers, never a picture. Deleted with the rep,
    when consent is withdrawn, and by the retention purge (`data_retention_days` after `confirmed_at`)."""

    __tablename__ = "rep_enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("reps.id", ondelete="CASCADE"), index=True)
    embedding: Mapped[list] = mapped_column(JSON)  # 128 floats (model.identity), the mean of a few frames' embeddings
    source_call_id: Mapped[Optional[int]] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    person_no: Mapped[int] = mapped_column(Integer)  # the person picked on that call
    consent_statement: Mapped[str] = mapped_column(Text)  # the rep's own words, as recorded
    confirmed_by: Mapped[str] = mapped_column(String(100))  # who recorded the consent and picked the person
    confirmed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class User(Base):
    """A dashboard user. admin: everything; manager: their team's reps; rep: their own calls, read-only."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[Optional[str]] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))  # argon2id
    role: Mapped[str] = mapped_column(String(20))
    team: Mapped[Optional[str]] = mapped_column(String(200))  # a manager sees reps of this team
    rep_id: Mapped[Optional[int]] = mapped_column(ForeignKey("reps.id", ondelete="SET NULL"))  # a rep user's own rep
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    signed_out_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    """The user's latest sign-out (UTC): every session and session cookie begun before it is over (`dashboard.auth`)."""


class AuditEvent(Base):
    """Who did what, when: sign-ins, call views, exports, role changes, deletions, settings, purges."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    username: Mapped[Optional[str]] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[Optional[str]] = mapped_column(String(200))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
