"""Every store read the pages make. Heavy reads are cached per call and keyed on a version stamp.

The stamp is cheap (one call row plus its track roles) and changes whenever the
derived rows do: a re-analysis sets a new `analyzed_at`, a role fix changes the
track roles. Small, often-edited things (stages, notes, stills) are read fresh on
every run; they cost a few milliseconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from sqlalchemy import func, select

from config import EMOTIONS, get_settings
from dashboard.charts import timeline_figure
from db.models import Call, CallStatus, EmotionSecond, Rep, Shift, Track
from db.session import session_scope
from pipeline.jobs import latest_job
from pipeline.report import (CallSummary, Stage, Timeline, load_timeline, mood_of, shares_from_counts, summarize_timeline)
from pipeline.roles import PROSPECT, REP

VIDEO_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/mp4", ".webm": "video/webm", ".mkv": "video/webm"}


# ----------------------------------------------------------------------------- version stamps
def call_version(call_id: int) -> str | None:
    """What the cached per-call data depends on; None if the call is gone."""
    with session_scope() as session:
        row = session.execute(select(Call.status, Call.analyzed_at).where(Call.id == call_id)).first()
        if row is None:
            return None
        roles = session.execute(select(Track.track_no, Track.role).where(Track.call_id == call_id).order_by(Track.track_no)).all()
    return f"{row.status}|{row.analyzed_at}|{roles}"


def store_version() -> str:
    """Stamp of every call at once, for the cross-call tables (calls list, reps)."""
    with session_scope() as session:
        calls = session.execute(select(Call.id, Call.status, Call.analyzed_at, Call.rep_id, Call.title).order_by(Call.id)).all()
        roles = session.execute(select(Track.call_id, Track.track_no, Track.role).order_by(Track.id)).all()
    return hashlib.sha1(repr((calls, roles)).encode()).hexdigest()


# ----------------------------------------------------------------------------- one call
@st.cache_data(max_entries=8, show_spinner=False)
def timeline(call_id: int, version: str) -> Timeline:
    return load_timeline(call_id)


@st.cache_data(max_entries=32, show_spinner=False)
def summary(call_id: int, version: str, stages: tuple[Stage, ...]) -> CallSummary:
    return summarize_timeline(timeline(call_id, version), stages)


@st.cache_resource(max_entries=8, show_spinner=False)
def timeline_chart(call_id: int, version: str, stages: tuple[Stage, ...]) -> go.Figure:
    """Shared, never mutated by callers (st.plotly_chart copies it): no pickling of ~25k points per run."""
    data = timeline(call_id, version)
    return timeline_figure(data.seconds, data.shifts, [(s.name, s.start_s, s.end_s) for s in stages])


@st.cache_resource(max_entries=2, show_spinner=False)
def _video_bytes(path: str, mtime: float) -> bytes:
    return Path(path).read_bytes()


@dataclass(frozen=True)
class Video:
    data: bytes
    mime: str


def video(source_path: str | None) -> Video | None:
    """The recording for the player, read once per file (st.video would re-read it on every run)."""
    if not source_path:
        return None
    path = get_settings().data_dir / source_path
    mime = VIDEO_TYPES.get(path.suffix.lower())
    if mime is None or not path.is_file():
        return None
    return Video(_video_bytes(str(path), path.stat().st_mtime), mime)


# ----------------------------------------------------------------------------- all calls
@st.cache_data(max_entries=4, show_spinner=False)
def call_stats(version: str) -> pd.DataFrame:
    """One row per call: facts, status and headline numbers (likely-emotion shares per role, shifts)."""
    with session_scope() as session:
        calls = pd.read_sql(
            select(Call.id, Call.title, Rep.name.label("rep"), Call.prospect_name.label("prospect"),
                   Call.prospect_company.label("company"), Call.call_date, Call.created_at, Call.duration_s, Call.status,
                   Call.error).outerjoin(Rep, Call.rep_id == Rep.id), session.connection())
        counts = session.execute(select(EmotionSecond.call_id, EmotionSecond.role, EmotionSecond.dominant, func.count())
                                 .where(EmotionSecond.dominant.is_not(None))
                                 .group_by(EmotionSecond.call_id, EmotionSecond.role, EmotionSecond.dominant)).all()
        shifts = session.execute(select(Shift.call_id, Shift.role, Shift.direction, func.count())
                                 .group_by(Shift.call_id, Shift.role, Shift.direction)).all()
    by_call: dict[tuple[int, str], dict[str, int]] = {}
    for call_id, role, dominant, n in counts:
        by_call.setdefault((call_id, role), {})[dominant] = n
    rows = []
    for call_id in calls["id"]:
        row: dict = {"id": call_id}
        for role in (REP, PROSPECT):
            shares = shares_from_counts(by_call.get((call_id, role), {}))
            row.update({f"{role}_{e}": shares[e] for e in EMOTIONS})
            mood = mood_of(shares)
            row[f"{role}_positive"], row[f"{role}_negative"] = mood.positive, mood.negative
        row["shifts"] = sum(n for c, _, _, n in shifts if c == call_id)
        row["negative_shifts"] = sum(n for c, r, d, n in shifts if c == call_id and r == PROSPECT and d == "negative")
        rows.append(row)
    if not rows:
        return calls.assign(when=pd.Series(dtype="datetime64[ns]"))
    out = calls.merge(pd.DataFrame(rows), on="id", how="left")
    out["when"] = pd.to_datetime(out["call_date"].fillna(out["created_at"].dt.date))
    return out.sort_values(["when", "id"], ascending=False).reset_index(drop=True)


def done_calls() -> list[tuple[int, str]]:
    """(id, label) of analysed calls, newest first: the review page's picker."""
    with session_scope() as session:
        rows = session.execute(select(Call.id, Call.title, Call.call_date).where(Call.status == CallStatus.DONE)
                               .order_by(Call.call_date.desc(), Call.id.desc())).all()
    return [(r.id, f"{r.title} · {r.call_date:%d %b %Y}" if r.call_date else r.title) for r in rows]


def rep_names() -> list[str]:
    with session_scope() as session:
        return list(session.scalars(select(Rep.name).order_by(Rep.name)))


# ----------------------------------------------------------------------------- the queue
@dataclass(frozen=True)
class Progress:
    call_id: int
    title: str
    status: str
    stage: str | None
    progress: float
    error: str | None
    queued_at: dt.datetime


def progress(call_ids: list[int] | None = None) -> list[Progress]:
    """Calls still queued or running, plus `call_ids` whatever their state, with their latest job."""
    with session_scope() as session:
        query = select(Call).where(Call.status.in_((CallStatus.QUEUED, CallStatus.RUNNING)))
        if call_ids:
            query = select(Call).where(Call.status.in_((CallStatus.QUEUED, CallStatus.RUNNING)) | Call.id.in_(call_ids))
        out = []
        for call in session.scalars(query.order_by(Call.id)):
            job = latest_job(session, call.id)
            out.append(Progress(call.id, call.title, call.status, job.stage if job else None,
                                job.progress if job else 0.0, call.error or (job.error if job else None), call.created_at))
        return out
